/* snapbroker CLI - XPath filtering of XML dumps (see xpath.h). */
#include "xpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

/* libxml2 reports a bad expression through the error handler (it would
 * print "XPath error : ..." on stderr by itself); keep the first message
 * for our one error line. */
typedef struct xp_err {
    char msg[256];
} xp_err;

static void collect(void *opaque, xmlErrorPtr e)
{
    xp_err *x = opaque;

    if (x->msg[0] || !e || !e->message)
        return;
    snprintf(x->msg, sizeof(x->msg), "%s", e->message);
    size_t n = strlen(x->msg);
    while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
        x->msg[--n] = '\0';
}

/* One node as virsh prints it: indented serialization, then a newline. */
static int dump_node(xmlBufferPtr buf, xmlDocPtr doc, xmlNodePtr node)
{
    if (xmlNodeDump(buf, doc, node, 0, 1) < 0)
        return -1;
    return xmlBufferCCat(buf, "\n");
}

static int dump_wrapped(xmlBufferPtr buf, xmlNodeSetPtr set)
{
    xmlDocPtr wdoc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = wdoc ? xmlNewDocNode(wdoc, NULL, BAD_CAST "nodes", NULL) : NULL;
    int rc = -1;

    if (!root)
        goto out;
    xmlDocSetRootElement(wdoc, root);
    for (int i = 0; set && i < set->nodeNr; i++) {
        xmlNodePtr n = set->nodeTab[i];
        /* a document node's copy is its root element */
        if (n->type == XML_DOCUMENT_NODE)
            n = xmlDocGetRootElement((xmlDocPtr)n);
        if (!n)
            continue;
        xmlNodePtr copy = xmlDocCopyNode(n, wdoc, 1);
        /* xmlAddChild adds an attribute as an attribute and merges text */
        if (!copy || !xmlAddChild(root, copy)) {
            xmlFreeNode(copy);
            goto out;
        }
    }
    rc = dump_node(buf, wdoc, root);
out:
    xmlFreeDoc(wdoc);
    return rc;
}

int sb_xpath_format(char **out, const char *xml, const char *expr, int wrap,
                    char *err, size_t errlen)
{
    xmlStructuredErrorFunc saved = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr obj = NULL;
    xmlBufferPtr buf = NULL;
    xp_err x = { { 0 } };
    int rc = -1;

    *out = NULL;
    xmlSetStructuredErrorFunc(&x, collect);
    /* blanks dropped so the dump is indented afresh, as virsh's */
    doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL,
                        XML_PARSE_NOBLANKS | XML_PARSE_NONET | XML_PARSE_NOERROR |
                        XML_PARSE_NOWARNING);
    if (!doc) {
        snprintf(err, errlen, "cannot parse the XML to filter: %s", x.msg[0] ? x.msg : "?");
        goto out;
    }
    if (!(ctx = xmlXPathNewContext(doc)) || !(buf = xmlBufferCreate())) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!(obj = xmlXPathEvalExpression(BAD_CAST expr, ctx))) {
        snprintf(err, errlen, "Invalid xpath '%s': %s", expr,
                 x.msg[0] ? x.msg : "cannot be evaluated");
        goto out;
    }
    if (obj->type != XPATH_NODESET) {
        snprintf(err, errlen, "Incorrect xpath '%s': the result is not a set of nodes", expr);
        goto out;
    }
    if (wrap) {
        rc = dump_wrapped(buf, obj->nodesetval);
    } else {
        rc = 0;
        for (int i = 0; rc >= 0 && obj->nodesetval && i < obj->nodesetval->nodeNr; i++)
            rc = dump_node(buf, doc, obj->nodesetval->nodeTab[i]);
    }
    if (rc < 0 || !(*out = strdup((const char *)xmlBufferContent(buf)))) {
        snprintf(err, errlen, "out of memory formatting the result of xpath '%s'", expr);
        rc = -1;
    }
out:
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    xmlSetStructuredErrorFunc(saved_ctx, saved);
    return rc;
}

char *sb_xpath_string(const char *xml, const char *expr)
{
    xmlStructuredErrorFunc saved = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xp_err x = { { 0 } };
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr obj = NULL;
    char *ret = NULL;

    xmlSetStructuredErrorFunc(&x, collect); /* silent: the caller decides */
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc && (ctx = xmlXPathNewContext(doc)) &&
        (obj = xmlXPathEvalExpression(BAD_CAST expr, ctx)) && obj->type == XPATH_STRING)
        ret = strdup((const char *)obj->stringval);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    xmlSetStructuredErrorFunc(saved_ctx, saved);
    return ret;
}
