/* vbox plugin - text buffer (buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_n(vb_buf *b, const char *s, size_t n)
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

void vb_buf_add(vb_buf *b, const char *s)
{
    add_n(b, s, strlen(s));
}

void vb_buf_addf(vb_buf *b, const char *fmt, ...)
{
    char small[256], *s = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n >= sizeof small) {
        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
    }
    add_n(b, s, (size_t)n);
    if (s != small)
        free(s);
}

void vb_buf_esc(vb_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\'': rep = "&apos;"; break;
        case '"': rep = "&quot;"; break;
        default: continue;
        }
        add_n(b, run, (size_t)(s - run));
        vb_buf_add(b, rep);
        run = s + 1;
    }
    add_n(b, run, (size_t)(s - run));
}

void vb_buf_elem(vb_buf *b, const char *indent, const char *tag, const char *text)
{
    vb_buf_addf(b, "%s<%s>", indent, tag);
    vb_buf_esc(b, text);
    vb_buf_addf(b, "</%s>\n", tag);
}

char *vb_buf_take(vb_buf *b)
{
    if (b->oom) {
        vb_buf_free(b);
        return NULL;
    }
    if (!b->p)
        add_n(b, "", 0);
    char *p = b->oom ? NULL : b->p;
    if (!p)
        vb_buf_free(b);
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void vb_buf_free(vb_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
