/* The canonical node printer.  One printer for every subtree snapbroker
 * echoes (embedded domain, inactiveDomain, cookie, disk source) so the whole
 * document has one style: 2-space indent, single-quoted attributes in
 * document order, text-only elements on one line. */
#include "xml/xml_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static bool is_blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

static void add_qname(sb_buf *b, const xmlNode *node)
{
    if (node->ns && node->ns->prefix) {
        sb_buf_add(b, (const char *)node->ns->prefix);
        sb_buf_add(b, ":");
    }
    sb_buf_add(b, (const char *)node->name);
}

static void add_attributes(sb_buf *b, const xmlNode *node, unsigned flags)
{
    for (const xmlNs *ns = node->nsDef; ns; ns = ns->next) {
        sb_buf_add(b, ns->prefix ? " xmlns:" : " xmlns");
        if (ns->prefix)
            sb_buf_add(b, (const char *)ns->prefix);
        sb_buf_add(b, "='");
        sb_buf_escape(b, ns->href ? (const char *)ns->href : "", true);
        sb_buf_add(b, "'");
    }
    for (const xmlAttr *a = node->properties; a; a = a->next) {
        if ((flags & SB_XML_PRINT_STRIP_SECRETS) && sb_xml_secret_attr(node, a))
            continue;
        /* an attribute's value is one text node (no entities: DOCTYPE is
         * refused); libxml2 copies it out only when it is not */
        const xmlChar *one = sb_xml_lone_text((const xmlNode *)a);
        xmlChar *value = one ? NULL : xmlNodeGetContent((const xmlNode *)a);
        sb_buf_add(b, " ");
        if (a->ns && a->ns->prefix) {
            sb_buf_add(b, (const char *)a->ns->prefix);
            sb_buf_add(b, ":");
        }
        sb_buf_add(b, (const char *)a->name);
        sb_buf_add(b, "='");
        sb_buf_escape(b, one ? (const char *)one : value ? (const char *)value : "",
                      true);
        sb_buf_add(b, "'");
        xmlFree(value);
    }
}

static bool printable_child(const xmlNode *c, unsigned flags)
{
    return c->type == XML_ELEMENT_NODE &&
           !((flags & SB_XML_PRINT_STRIP_SECRETS) && sb_xml_secret_element(c));
}

static bool is_text(const xmlNode *c)
{
    return c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE;
}

void sb_xml_print_node(sb_buf *b, const xmlNode *node, int level, unsigned flags)
{
    bool has_elements = false;
    sb_buf text = {0};
    const char *only = NULL; /* the text when it is in one node */
    size_t ntext = 0;

    if (node->type != XML_ELEMENT_NODE)
        return;
    if ((flags & SB_XML_PRINT_STRIP_SECRETS) && sb_xml_secret_element(node))
        return;

    for (const xmlNode *c = node->children; c; c = c->next) {
        if (printable_child(c, flags))
            has_elements = true;
        else if (is_text(c) && c->content && ntext++ == 0)
            only = (const char *)c->content;
    }
    /* text in several nodes (around comments, CDATA) is joined */
    if (!has_elements && ntext > 1) {
        only = NULL;
        for (const xmlNode *c = node->children; c; c = c->next)
            if (is_text(c) && c->content)
                sb_buf_add(&text, (const char *)c->content);
    }

    sb_buf_indent(b, level);
    sb_buf_add(b, "<");
    add_qname(b, node);
    add_attributes(b, node, flags);

    if (!has_elements) {
        /* Text-only element.  Whitespace that contains a line break is
         * layout, not content (e.g. "<devices>\n  </devices>"). */
        const char *t = only ? only : text.data ? text.data : "";
        if (text.oom)
            b->oom = true;
        if (*t == '\0' || (is_blank(t) && strpbrk(t, "\r\n"))) {
            sb_buf_add(b, "/>\n");
        } else {
            sb_buf_add(b, ">");
            sb_buf_escape(b, t, false);
            sb_buf_add(b, "</");
            add_qname(b, node);
            sb_buf_add(b, ">\n");
        }
        sb_buf_clear(&text);
        return;
    }
    sb_buf_clear(&text);

    sb_buf_add(b, ">\n");
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (printable_child(c, flags)) {
            sb_xml_print_node(b, c, level + 1, flags);
        } else if (is_text(c) && c->content && !is_blank((const char *)c->content)) {
            /* Mixed content: the text's own surrounding layout whitespace is
             * normalized away, the text goes on its own line. */
            const char *s = (const char *)c->content;
            size_t lead = strspn(s, " \t\r\n");
            size_t n = strlen(s + lead);
            while (n > 0 && strchr(" \t\r\n", s[lead + n - 1]))
                n--;
            sb_buf_indent(b, level + 1);
            sb_buf t = {0};
            sb_buf_addn(&t, s + lead, n);
            if (t.oom)
                b->oom = true;
            else
                sb_buf_escape(b, t.data ? t.data : "", false);
            sb_buf_clear(&t);
            sb_buf_add(b, "\n");
        }
    }
    sb_buf_indent(b, level);
    sb_buf_add(b, "</");
    add_qname(b, node);
    sb_buf_add(b, ">\n");
}

int sb_xml_reformat(char **xml, const char *what)
{
    xmlDoc *doc = NULL;
    sb_buf b = {0};
    int rc;

    if (!*xml)
        return 0;
    if ((rc = sb_xml_read(*xml, strlen(*xml), NULL, &doc)) < 0) {
        sb_error_prefix("%s", what);
        return rc;
    }
    sb_xml_print_node(&b, xmlDocGetRootElement(doc), 0, 0);
    xmlFreeDoc(doc);
    char *printed = NULL;
    if ((rc = sb_buf_finish(&b, &printed)) < 0)
        return rc;
    free(*xml);
    *xml = printed;
    return 0;
}
