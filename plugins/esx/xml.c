/* Reading vSphere's SOAP answers with libxml2: element lookup by local
 * name, text, xsi:type by namespace URI (the simulator declares the
 * prefix per <val>, real hosts on the envelope), references, times. */
#include "esx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

xmlDoc *ex_parse(const char *data, size_t len)
{
    if (len > (size_t)64 << 20) /* no vSphere answer we ask for is this big */
        return NULL;
    /* NOBLANKS and COMPACT: fewer and smaller nodes (answers are
     * re-read on every task poll) */
    return xmlReadMemory(data, (int)len, "vsphere-answer.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_HUGE | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT);
}

static int named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && (!name || strcmp((const char *)n->name, name) == 0);
}

xmlNode *ex_child(const xmlNode *node, const char *name)
{
    if (!node)
        return NULL;
    for (xmlNode *c = node->children; c; c = c->next)
        if (named(c, name))
            return c;
    return NULL;
}

xmlNode *ex_next(const xmlNode *node)
{
    if (!node)
        return NULL;
    for (xmlNode *c = node->next; c; c = c->next)
        if (named(c, (const char *)node->name))
            return c;
    return NULL;
}

char *ex_text(const xmlNode *node)
{
    if (!node)
        return NULL;
    xmlChar *t = xmlNodeGetContent(node);
    char *s = strdup(t ? (const char *)t : "");
    xmlFree(t);
    return s;
}

char *ex_child_text(const xmlNode *node, const char *name)
{
    return ex_text(ex_child(node, name));
}

int ex_child_ll(const xmlNode *node, const char *name, long long *out)
{
    char *t = ex_child_text(node, name), *end;
    int ok = 0;
    if (t && *t) {
        errno = 0;
        long long v = strtoll(t, &end, 10);
        if (!errno && !*end) {
            *out = v;
            ok = 1;
        }
    }
    free(t);
    return ok;
}

int ex_is_true(const xmlNode *node)
{
    char *t = ex_text(node);
    int yes = t && (strcmp(t, "true") == 0 || strcmp(t, "1") == 0);
    free(t);
    return yes;
}

int ex_child_true(const xmlNode *node, const char *name)
{
    return ex_is_true(ex_child(node, name));
}

char *ex_xsi_type(const xmlNode *node)
{
    if (!node)
        return NULL;
    xmlChar *t = xmlGetNsProp(node, (const xmlChar *)"type", (const xmlChar *)ESX_NS_XSI);
    if (!t)
        return NULL;
    const char *colon = strchr((const char *)t, ':');
    char *s = strdup(colon ? colon + 1 : (const char *)t);
    xmlFree(t);
    return s;
}

int ex_ref(const xmlNode *node, esx_ref *out)
{
    if (!node)
        return -1;
    xmlChar *type = xmlGetNoNsProp(node, (const xmlChar *)"type");
    char *value = ex_text(node);
    int rc = (type && value) ? esx_ref_set(out, (const char *)type, value) : -1;
    xmlFree(type);
    free(value);
    return rc;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int ex_parse_time(const char *s, long long *out)
{
    struct tm tm = { 0 };
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    const char *p = s;

    if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || *p++ != 'T' || digits(&p, 2, &h) || *p++ != ':' ||
        digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            return -1;
    }
    if (*p)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    long long t = (long long)timegm(&tm);
    *out = t - sign * (oh * 3600LL + om * 60LL);
    return 0;
}
