/* Reading a <domainsnapshots> document (snapcoll.h). */
#include "xml/snapcoll.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "xml/xml_util.h"

/* ---- pass 1: the hardened streaming parse ---- */

struct scan {
    sb_snapcoll *c;
    const char *source;
    int depth;           /* open elements */
    int parent_depth;    /* depth of the current entry's <parent>, 0 outside it */
    int collect_depth;   /* depth of the <name> being collected, 0 when none */
    char **collect_into; /* where the collected text goes */
    sb_buf text;
};

/* current='yes' / 'no' on an entry; every other attribute is left to the
 * entry's own parse. */
static int entry_attrs(struct scan *s, sb_snapcoll_entry *e, int nattrs, const xmlChar **a,
                       long line)
{
    for (int i = 0; i < nattrs; i++, a += 5) {
        if (a[1] || strcmp((const char *)a[0], "current") != 0)
            continue;
        size_t vlen = (size_t)(a[4] - a[3]);
        if (vlen == 3 && memcmp(a[3], "yes", 3) == 0)
            e->current = true;
        else if (!(vlen == 2 && memcmp(a[3], "no", 2) == 0))
            return sb_xml_error_line(s->source, line, SB_ERR_XML_ERROR,
                                     "attribute current of <domainsnapshot> must be 'yes' or "
                                     "'no'");
    }
    return 0;
}

static int add_entry(struct scan *s, int nattrs, const xmlChar **attrs, long line)
{
    sb_snapcoll *c = s->c;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        sb_snapcoll_entry *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return sb_error_oom();
        c->v = v;
        c->cap = cap;
    }
    sb_snapcoll_entry *e = &c->v[c->n++];
    memset(e, 0, sizeof(*e));
    e->line = line;
    return entry_attrs(s, e, nattrs, attrs, line);
}

static bool has_xml_space(int nattrs, const xmlChar **a)
{
    for (int i = 0; i < nattrs; i++, a += 5)
        if (a[1] && strcmp((const char *)a[1], "xml") == 0 &&
            strcmp((const char *)a[0], "space") == 0)
            return true;
    return false;
}

static int on_start(void *opaque, const char *name, int nattrs, const xmlChar **attrs, long line)
{
    struct scan *s = opaque;
    sb_snapcoll_entry *e = s->c->n ? &s->c->v[s->c->n - 1] : NULL;

    s->depth++;
    if (s->depth == 1) {
        if (strcmp(name, "domainsnapshots") != 0)
            return sb_xml_error_line(s->source, line, SB_ERR_XML_ERROR,
                                     "a snapshot hierarchy has the root element "
                                     "<domainsnapshots>, not <%s>",
                                     name);
        /* it would reach every entry's text in this scan but not in each
         * entry's own parse: their names could differ */
        if (has_xml_space(nattrs, attrs))
            return sb_xml_error_line(s->source, line, SB_ERR_XML_ERROR,
                                     "xml:space is not accepted on <domainsnapshots> (put it "
                                     "on the elements it is for)");
        return 0;
    }
    if (s->depth == 2) {
        if (strcmp(name, "domainsnapshot") != 0)
            return sb_xml_error_line(s->source, line, SB_ERR_XML_ERROR,
                                     "only <domainsnapshot> elements may be inside "
                                     "<domainsnapshots>, not <%s>",
                                     name);
        return add_entry(s, nattrs, attrs, line);
    }
    if (s->collect_depth)
        return 0; /* markup inside a <name>: its text still counts */
    /* the first <name> of the entry and the first of its <parent> */
    if (s->depth == 3 && strcmp(name, "parent") == 0 && !e->parent) {
        s->parent_depth = 3;
    } else if (strcmp(name, "name") == 0 &&
               ((s->depth == 3 && !e->name) ||
                (s->depth == 4 && s->parent_depth == 3 && !e->parent))) {
        s->collect_depth = s->depth;
        s->collect_into = s->depth == 3 ? &e->name : &e->parent;
        sb_buf_clear(&s->text);
        sb_buf_add(&s->text, ""); /* an empty <name/> is "", not NULL */
    }
    return 0;
}

static int on_end(void *opaque)
{
    struct scan *s = opaque;

    if (s->collect_depth == s->depth) {
        s->collect_depth = 0;
        if (s->text.oom)
            return sb_error_oom();
        *s->collect_into = s->text.data;
        s->text = (sb_buf){ 0 };
    }
    if (s->parent_depth == s->depth)
        s->parent_depth = 0;
    s->depth--;
    return 0;
}

static int on_text(void *opaque, const char *text, size_t len)
{
    struct scan *s = opaque;
    if (s->collect_depth)
        sb_buf_addn(&s->text, text, len);
    return 0;
}

/* ---- pass 2: each entry's bytes ----
 * Runs only on a document pass 1 found well-formed, so it needs to know
 * just enough XML to keep its depth right: comments, CDATA sections and
 * processing instructions hide markup, attribute values may hold '>' (but
 * never '<'), and an empty-element tag ends in "/>". */

static const char *after(const char *p, const char *end, const char *what)
{
    size_t n = strlen(what);
    for (; p + n <= end; p++)
        if (memcmp(p, what, n) == 0)
            return p + n;
    return NULL;
}

/* lt at '<' of a start tag: the byte after its '>'; *empty for "/>". */
static const char *start_tag_end(const char *lt, const char *end, bool *empty)
{
    char quote = 0;
    for (const char *p = lt + 1; p < end; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            *empty = p[-1] == '/';
            return p + 1;
        }
    }
    return NULL;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Where the current= attribute of the start tag [lt, gt) is. */
static void find_current_attr(sb_snapcoll_entry *e, const char *lt, const char *gt)
{
    const char *p = lt + 1;
    while (p < gt && !is_blank(*p) && *p != '/' && *p != '>')
        p++; /* the element name */
    while (p < gt) {
        const char *blank = p, *name;
        while (p < gt && is_blank(*p))
            p++;
        if (p >= gt || *p == '/' || *p == '>')
            return;
        name = p;
        while (p < gt && *p != '=' && !is_blank(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (p < gt && *p != '\'' && *p != '"')
            p++;
        if (p >= gt)
            return;
        const char *close = memchr(p + 1, *p, (size_t)(gt - p - 1));
        if (!close)
            return;
        p = close + 1;
        if (nlen == strlen("current") && memcmp(name, "current", nlen) == 0) {
            e->attr_off = (size_t)(blank - lt);
            e->attr_len = (size_t)(p - blank);
            return;
        }
    }
}

static int split(sb_snapcoll *c, const char *xml, size_t len)
{
    const char *p = xml, *end = xml + len;
    size_t k = 0;
    int depth = 0;

    while (p && p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
        const char *lt = p;
        if (lt + 1 >= end)
            break;
        if (lt[1] == '!' && lt + 3 < end && lt[2] == '-' && lt[3] == '-') {
            p = after(lt + 4, end, "-->");
        } else if (lt[1] == '!') {
            p = after(lt + 2, end, "]]>"); /* CDATA; a DOCTYPE never got here */
        } else if (lt[1] == '?') {
            p = after(lt + 2, end, "?>");
        } else if (lt[1] == '/') {
            p = memchr(lt, '>', (size_t)(end - lt));
            p = p ? p + 1 : NULL;
            if (--depth == 1 && k < c->n) {
                c->v[k].len = (size_t)(p - xml) - c->v[k].offset;
                k++;
            }
            if (depth == 0)
                break;
        } else {
            bool empty = false;
            if (depth == 1 && k < c->n)
                c->v[k].offset = (size_t)(lt - xml);
            p = start_tag_end(lt, end, &empty);
            if (depth == 1 && k < c->n && p)
                find_current_attr(&c->v[k], lt, p);
            if (!empty)
                depth++;
            else if (depth == 1 && k < c->n) {
                c->v[k].len = (size_t)(p - lt);
                k++;
            }
        }
    }
    if (k != c->n)
        return sb_error_set(SB_ERR_INTERNAL_ERROR,
                            "snapshot hierarchy: found %zu entries, the parser %zu", k, c->n);
    return 0;
}

int sb_snapcoll_read(sb_snapcoll *out, const char *xml, size_t len, const char *source)
{
    struct scan s = { .c = out, .source = source };
    const sb_xml_sax sax = { on_start, on_end, on_text, &s };
    int rc;

    memset(out, 0, sizeof(*out));
    rc = sb_xml_scan(xml, len, SB_SNAPCOLL_MAX_SIZE, source, &sax);
    sb_buf_clear(&s.text);
    if (rc == 0)
        rc = split(out, xml, len);
    if (rc < 0)
        sb_snapcoll_clear(out);
    return rc;
}

void sb_snapcoll_clear(sb_snapcoll *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].parent);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}
