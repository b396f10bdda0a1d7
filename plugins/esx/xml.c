/* Reading vSphere's SOAP answers with libxml2: element lookup by local
 * name, text, xsi:type by namespace URI (the simulator declares the
 * prefix per <val>, real hosts on the envelope), references, times. */
#include "esx.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>

/* ---- parsing: the tree holds only what a reader here looks at ----
 * Most of an answer that reads a VM is its device list (every device's
 * label and summary, video memory, PCI slots...), and only disks and
 * their controllers are read from it (vm.c's esx_device_fields).  The
 * SAX callbacks that build the tree skip the subtrees of a <VirtualDevice>
 * (and of its <backing>) that are not on those lists, so they are
 * neither allocated nor freed; libxml2 still reads and checks the whole
 * answer.  One parser context per connection is reused (its setup and
 * name dictionary cost more than a small answer's parse). */

struct prune {
    int depth;   /* of the element being read */
    int skip;    /* > 0: inside a skipped subtree, its depth in it */
    int device;  /* depth of the <VirtualDevice> being read, 0: none */
    int backing; /* depth of its <backing>, 0: none */
};

static int listed(const char *const *list, const xmlChar *name)
{
    for (; *list; list++)
        if (strcmp(*list, (const char *)name) == 0)
            return 1;
    return 0;
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                     int nb_ns, const xmlChar **ns, int nb_attrs, int nb_defaulted,
                     const xmlChar **attrs)
{
    struct prune *st = ((xmlParserCtxtPtr)ctx)->_private;
    int d = ++st->depth;

    if (st->skip || (st->device && d == st->device + 1 && !listed(esx_device_fields, name)) ||
        (st->backing && d == st->backing + 1 && !listed(esx_backing_fields, name))) {
        st->skip++;
        return;
    }
    if (!st->device && strcmp((const char *)name, "VirtualDevice") == 0)
        st->device = d;
    else if (st->device && d == st->device + 1 && strcmp((const char *)name, "backing") == 0)
        st->backing = d;
    xmlSAX2StartElementNs(ctx, name, prefix, uri, nb_ns, ns, nb_attrs, nb_defaulted, attrs);
}

static void on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    struct prune *st = ((xmlParserCtxtPtr)ctx)->_private;
    int d = st->depth--;

    if (st->skip) {
        st->skip--;
        return;
    }
    if (d == st->backing)
        st->backing = 0;
    if (d == st->device)
        st->device = 0;
    xmlSAX2EndElementNs(ctx, name, prefix, uri);
}

/* Text (and anything else) inside a skipped subtree is dropped. */
static void on_chars(void *ctx, const xmlChar *ch, int len)
{
    if (!((struct prune *)((xmlParserCtxtPtr)ctx)->_private)->skip)
        xmlSAX2Characters(ctx, ch, len);
}

static void on_cdata(void *ctx, const xmlChar *ch, int len)
{
    if (!((struct prune *)((xmlParserCtxtPtr)ctx)->_private)->skip)
        xmlSAX2CDataBlock(ctx, ch, len);
}

static void on_reference(void *ctx, const xmlChar *name)
{
    if (!((struct prune *)((xmlParserCtxtPtr)ctx)->_private)->skip)
        xmlSAX2Reference(ctx, name);
}

static void on_comment(void *ctx, const xmlChar *text)
{
    if (!((struct prune *)((xmlParserCtxtPtr)ctx)->_private)->skip)
        xmlSAX2Comment(ctx, text);
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    if (!((struct prune *)((xmlParserCtxtPtr)ctx)->_private)->skip)
        xmlSAX2ProcessingInstruction(ctx, target, data);
}

static xmlParserCtxtPtr new_parser(void)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return NULL;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->characters = on_chars;
    ctxt->sax->cdataBlock = on_cdata;
    ctxt->sax->reference = on_reference;
    ctxt->sax->comment = on_comment;
    ctxt->sax->processingInstruction = on_pi;
    return ctxt;
}

xmlDoc *ex_parse(const char *data, size_t len, void **reuse)
{
    struct prune st = { 0 };
    xmlParserCtxtPtr ctxt = reuse ? *reuse : NULL;

    if (len > (size_t)64 << 20) /* no vSphere answer we ask for is this big */
        return NULL;
    if (!ctxt && !(ctxt = new_parser()))
        return NULL;
    if (reuse)
        *reuse = ctxt;
    ctxt->_private = &st;
    /* NOBLANKS and COMPACT: fewer and smaller nodes (answers are
     * re-read on every task poll) */
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, data, (int)len, "vsphere-answer.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_HUGE | XML_PARSE_NOBLANKS |
                                        XML_PARSE_COMPACT);
    ctxt->_private = NULL;
    if (!reuse)
        xmlFreeParserCtxt(ctxt);
    return doc;
}

void ex_parser_free(void **reuse)
{
    if (*reuse)
        xmlFreeParserCtxt(*reuse);
    *reuse = NULL;
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

/* The text of an element (or attribute) that holds one text node, or
 * none (""): what nearly every value of an answer is, read in place.
 * NULL for anything else (entities, mixed content): the caller asks
 * libxml2. */
static const char *plain_text(const xmlNode *node)
{
    const xmlNode *t = node->children;
    if (!t)
        return "";
    if (t->next || t->type != XML_TEXT_NODE || !t->content)
        return NULL;
    return (const char *)t->content;
}

char *ex_text(const xmlNode *node)
{
    if (!node)
        return NULL;
    const char *plain = plain_text(node);
    if (plain)
        return strdup(plain);
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
    const xmlNode *n = ex_child(node, name);
    const char *plain = n ? plain_text(n) : NULL;
    char *t = plain || !n ? NULL : ex_text(n), *end;
    const char *text = plain ? plain : t;
    int ok = 0;
    if (text && *text) {
        errno = 0;
        long long v = strtoll(text, &end, 10);
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
    const char *plain = node ? plain_text(node) : NULL;
    char *t = plain || !node ? NULL : ex_text(node);
    const char *text = plain ? plain : t;
    int yes = text && (strcmp(text, "true") == 0 || strcmp(text, "1") == 0);
    free(t);
    return yes;
}

int ex_child_true(const xmlNode *node, const char *name)
{
    return ex_is_true(ex_child(node, name));
}

/* Attribute `name` in namespace ns (NULL: none) of an element, its text
 * read in place when plain (*plain), else *alloc from libxml2 (caller
 * frees).  0 when the element has no such attribute. */
static int attr_text(const xmlNode *node, const char *name, const char *ns, const char **plain,
                     xmlChar **alloc)
{
    *plain = NULL;
    *alloc = NULL;
    if (node->type != XML_ELEMENT_NODE)
        return 0;
    for (const xmlAttr *a = node->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, name) != 0 ||
            (ns ? !a->ns || strcmp((const char *)a->ns->href, ns) != 0 : a->ns != NULL))
            continue;
        if (!(*plain = plain_text((const xmlNode *)a)))
            *alloc = ns ? xmlGetNsProp(node, (const xmlChar *)name, (const xmlChar *)ns)
                        : xmlGetNoNsProp(node, (const xmlChar *)name);
        return *plain || *alloc;
    }
    return 0;
}

char *ex_xsi_type(const xmlNode *node)
{
    const char *plain;
    xmlChar *alloc;
    if (!node || !attr_text(node, "type", ESX_NS_XSI, &plain, &alloc))
        return NULL;
    const char *t = plain ? plain : (const char *)alloc;
    const char *colon = strchr(t, ':');
    char *s = strdup(colon ? colon + 1 : t);
    xmlFree(alloc);
    return s;
}

int ex_ref(const xmlNode *node, esx_ref *out)
{
    const char *plain;
    xmlChar *alloc;
    if (!node || !attr_text(node, "type", NULL, &plain, &alloc))
        return -1;
    const char *value = plain_text(node);
    char *value_alloc = value ? NULL : ex_text(node);
    int rc = (value || value_alloc)
                 ? esx_ref_set(out, plain ? plain : (const char *)alloc,
                               value ? value : value_alloc)
                 : -1;
    xmlFree(alloc);
    free(value_alloc);
    return rc;
}

/* An answer that is one reference (a *_Task method's) is found by a
 * scan when it has exactly the shape vSphere sends: the response element
 * in the vim25 default namespace holding one <returnval type="T">V
 * </returnval>, V without markup or references.  Anything else is left
 * to the parser. */
int ex_scan_ref(const char *answer, size_t len, const char *method, esx_ref *out)
{
    char open_tag[128];
    const char *end = answer + len, *p;
    int n = snprintf(open_tag, sizeof(open_tag), "<%sResponse xmlns=\"" ESX_NS_VIM "\">", method);

    if (n <= 0 || (size_t)n >= sizeof(open_tag) || !(p = memmem(answer, len, open_tag, (size_t)n)))
        return 0;
    p += n;
    static const char ret[] = "<returnval type=\"";
    if ((size_t)(end - p) < sizeof(ret) - 1 || memcmp(p, ret, sizeof(ret) - 1) != 0)
        return 0;
    const char *type = p + sizeof(ret) - 1, *type_end = type;
    while (type_end < end && (isalnum((unsigned char)*type_end) || *type_end == '_'))
        type_end++;
    if (type_end == type || end - type_end < 2 || memcmp(type_end, "\">", 2) != 0)
        return 0;
    /* a value with markup or a reference in it is read whole */
    const char *value = type_end + 2, *value_end = value;
    while (value_end < end && *value_end != '<' && *value_end != '&')
        value_end++;
    static const char ret_end[] = "</returnval></";
    if (value_end == value || (size_t)(end - value_end) < sizeof(ret_end) - 1 + (size_t)n ||
        memcmp(value_end, ret_end, sizeof(ret_end) - 1) != 0 ||
        strncmp(value_end + sizeof(ret_end) - 1, method, strlen(method)) != 0 ||
        strncmp(value_end + sizeof(ret_end) - 1 + strlen(method), "Response>", 9) != 0)
        return 0;
    char *t = strndup(type, (size_t)(type_end - type));
    char *v = strndup(value, (size_t)(value_end - value));
    int rc = t && v && esx_ref_set(out, t, v) == 0 ? 1 : -1;
    free(t);
    free(v);
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
