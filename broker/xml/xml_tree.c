/* Small tree helpers over libxml2 and located error messages.  Strings
 * handed out are copied into malloc'd memory so that the rest of the code
 * never mixes xmlFree() and free(). */
#include "xml/xml_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int error_line_v(const char *source, long line, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int error_line_v(const char *source, long line, int code, const char *fmt, va_list ap)
{
    char msg[900];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (source && line > 0)
        return sb_error_set(code, "%s:%ld: %s", source, line, msg);
    if (source)
        return sb_error_set(code, "%s: %s", source, msg);
    if (line > 0)
        return sb_error_set(code, "line %ld: %s", line, msg);
    return sb_error_set(code, "%s", msg);
}

int sb_xml_error_line(const char *source, long line, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = error_line_v(source, line, code, fmt, ap);
    va_end(ap);
    return rc;
}

int sb_xml_error_at(const char *source, const xmlNode *node, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = error_line_v(source, node ? xmlGetLineNo(node) : -1, code, fmt, ap);
    va_end(ap);
    return rc;
}

bool sb_xml_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns == NULL &&
           strcmp((const char *)node->name, name) == 0;
}

xmlNode *sb_xml_next_element(xmlNode *node)
{
    for (; node; node = node->next)
        if (node->type == XML_ELEMENT_NODE)
            return node;
    return NULL;
}

xmlNode *sb_xml_child(const xmlNode *parent, const char *name)
{
    if (!parent)
        return NULL;
    for (xmlNode *c = parent->children; c; c = c->next)
        if (sb_xml_is(c, name))
            return c;
    return NULL;
}

size_t sb_xml_count_children(const xmlNode *parent, const char *name)
{
    size_t n = 0;
    if (!parent)
        return 0;
    for (xmlNode *c = parent->children; c; c = c->next)
        if (sb_xml_is(c, name))
            n++;
    return n;
}

static int copy_xml_string(xmlChar *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup((const char *)s);
    xmlFree(s);
    return *out ? 0 : sb_error_oom();
}

const xmlChar *sb_xml_lone_text(const xmlNode *n)
{
    const xmlNode *c = n ? n->children : NULL;
    return c && !c->next && c->type == XML_TEXT_NODE ? c->content : NULL;
}

/* A value in one text node (as the reader builds nearly every value) is
 * copied once, where libxml2's getters copy it and copy_xml_string copies
 * it again into the C allocator. */

static int copy_lone(const xmlChar *s, char **out)
{
    *out = strdup((const char *)s);
    return *out ? 0 : sb_error_oom();
}

int sb_xml_prop(const xmlNode *node, const char *name, char **out)
{
    xmlAttr *a = node ? xmlHasNsProp(node, (const xmlChar *)name, NULL) : NULL;
    const xmlChar *lone = a && a->type == XML_ATTRIBUTE_NODE ? sb_xml_lone_text((xmlNode *)a) : NULL;
    if (lone)
        return copy_lone(lone, out);
    return copy_xml_string(xmlGetNoNsProp(node, (const xmlChar *)name), out);
}

int sb_xml_text(const xmlNode *node, char **out)
{
    const xmlChar *lone = node && node->type == XML_ELEMENT_NODE ? sb_xml_lone_text(node) : NULL;
    if (lone)
        return copy_lone(lone, out);
    return copy_xml_string(xmlNodeGetContent(node), out);
}

xmlDoc *sb_xml_subtree(const xmlNode *node)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *copy;
    if (!doc)
        return NULL;
    if (!(copy = xmlDocCopyNode((xmlNode *)node, doc, 1))) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, copy);
    return doc;
}

static bool same_str(const xmlChar *a, const xmlChar *b)
{
    return a == b || (a && b && strcmp((const char *)a, (const char *)b) == 0);
}

static bool same_ns(const xmlNs *a, const xmlNs *b)
{
    return a == b || (a && b && same_str(a->prefix, b->prefix) && same_str(a->href, b->href));
}

static bool same_ns_list(const xmlNs *a, const xmlNs *b)
{
    for (; a && b; a = a->next, b = b->next)
        if (!same_ns(a, b))
            return false;
    return !a && !b;
}

/* A node's own content: not its children, except an attribute's value. */
static bool same_node(const xmlNode *a, const xmlNode *b, bool ignore_name)
{
    if (a->type != b->type || (!ignore_name && !same_str(a->name, b->name)))
        return false;
    if (a->type != XML_ELEMENT_NODE)
        return same_str(a->content, b->content);
    if (!same_ns(a->ns, b->ns) || !same_ns_list(a->nsDef, b->nsDef))
        return false;
    const xmlAttr *p = a->properties, *q = b->properties;
    for (; p && q; p = p->next, q = q->next) {
        if (!same_str(p->name, q->name) || !same_ns(p->ns, q->ns))
            return false;
        const xmlNode *v = p->children, *w = q->children;
        for (; v && w; v = v->next, w = w->next)
            if (v->type != w->type || !same_str(v->content, w->content))
                return false;
        if (v || w)
            return false;
    }
    return !p && !q;
}

bool sb_xml_same_tree(const xmlNode *a, const xmlNode *b, bool ignore_root_names)
{
    const xmlNode *x = a, *y = b;

    if (!same_node(x, y, ignore_root_names))
        return false;
    /* depth first, both trees in step, without recursion */
    for (;;) {
        if (x->type != XML_ENTITY_REF_NODE && (x->children || y->children)) {
            if (!x->children || !y->children)
                return false;
            x = x->children;
            y = y->children;
        } else {
            while (x != a && !x->next && !y->next) {
                x = x->parent;
                y = y->parent;
            }
            if (x == a)
                return true;
            if (!x->next || !y->next)
                return false;
            x = x->next;
            y = y->next;
        }
        if (!same_node(x, y, false))
            return false;
    }
}
