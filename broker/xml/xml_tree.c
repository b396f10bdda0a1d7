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

int sb_xml_prop(const xmlNode *node, const char *name, char **out)
{
    return copy_xml_string(xmlGetNoNsProp(node, (const xmlChar *)name), out);
}

int sb_xml_text(const xmlNode *node, char **out)
{
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
