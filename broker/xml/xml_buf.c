/* sb_buf: the growable string every formatter writes into, and escaping. */
#include "xml/xml_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static bool reserve(sb_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sb_buf_addn(sb_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sb_buf_add(sb_buf *b, const char *s)
{
    sb_buf_addn(b, s, strlen(s));
}

void sb_buf_addf(sb_buf *b, const char *fmt, ...)
{
    /* Format straight into the free space; only a result that does not
     * fit is formatted a second time, after the buffer grew. */
    if (b->oom || !reserve(b, 64))
        return;
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->data[b->len] = '\0';
        b->oom = true;
        return;
    }
    if ((size_t)n >= room) {
        b->data[b->len] = '\0';
        if (!reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void sb_buf_indent(sb_buf *b, int level)
{
    for (int i = 0; i < level; i++)
        sb_buf_addn(b, "  ", 2);
}

void sb_buf_escape(sb_buf *b, const char *s, bool attribute)
{
    /* Runs of plain characters are found with strcspn and copied whole:
     * most text (descriptions, paths, names) has nothing to escape. */
    const char *special = attribute ? "&<>\"'\r\t\n" : "&<>\"'\r";
    for (;;) {
        size_t run = strcspn(s, special);
        sb_buf_addn(b, s, run);
        s += run;
        const char *rep;
        switch (*s) {
        case '\0': return;
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        case '\t': rep = "&#9;"; break;
        default: rep = "&#10;"; break; /* '\n', only in an attribute */
        }
        sb_buf_addn(b, rep, strlen(rep));
        s++;
    }
}

void sb_buf_clear(sb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

int sb_buf_finish(sb_buf *b, char **out)
{
    *out = NULL;
    if (b->oom || !reserve(b, 0)) {
        sb_buf_clear(b);
        return sb_error_oom();
    }
    b->data[b->len] = '\0'; /* an empty buffer has never been terminated */
    *out = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return 0;
}
