/* A growing string buffer for SOAP requests and XML the broker gets. */
#include "esx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eb_add(esx_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void eb_adds(esx_buf *b, const char *s)
{
    eb_add(b, s, strlen(s));
}

void eb_printf(esx_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        eb_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    eb_add(b, big, (size_t)n);
    free(big);
}

/* Text for element content and attribute values alike.  An XML parser
 * turns a raw \r (and \r\n) into \n, and in an attribute value also \n
 * and \t into spaces: a snapshot named "a\rb" was stored as "a\nb" and
 * could not be found by its name again.  Character references keep them. */
void eb_esc(esx_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        case '\n': rep = "&#10;"; break;
        case '\t': rep = "&#9;"; break;
        default: break;
        }
        if (rep) {
            eb_add(b, run, (size_t)(s - run));
            eb_adds(b, rep);
            run = s + 1;
        }
    }
    eb_add(b, run, (size_t)(s - run));
}

void eb_elem(esx_buf *b, const char *tag, const char *text)
{
    eb_printf(b, "<%s>", tag);
    eb_esc(b, text ? text : "");
    eb_printf(b, "</%s>", tag);
}

void eb_ref(esx_buf *b, const char *tag, const char *type, const char *value)
{
    eb_printf(b, "<%s type=\"", tag);
    eb_esc(b, type);
    eb_adds(b, "\">");
    eb_esc(b, value);
    eb_printf(b, "</%s>", tag);
}

void eb_free(esx_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

char *eb_steal(esx_buf *b)
{
    char *p = b->oom ? NULL : b->p;
    if (!p && !b->oom)
        p = calloc(1, 1);
    if (b->oom)
        free(b->p);
    memset(b, 0, sizeof(*b));
    return p;
}

void esx_ref_clear(esx_ref *r)
{
    free(r->type);
    free(r->value);
    r->type = r->value = NULL;
}

int esx_ref_set(esx_ref *r, const char *type, const char *value)
{
    char *t = strdup(type ? type : ""), *v = strdup(value ? value : "");
    if (!t || !v) {
        free(t);
        free(v);
        return -1;
    }
    esx_ref_clear(r);
    r->type = t;
    r->value = v;
    return 0;
}

int esx_ref_eq(const esx_ref *a, const esx_ref *b)
{
    return a->value && b->value && strcmp(a->value, b->value) == 0 &&
           strcmp(a->type ? a->type : "", b->type ? b->type : "") == 0;
}
