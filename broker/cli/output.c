/* snapbroker CLI - tables, times, XML text (see output.h). */
#include "output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

struct sb_table {
    size_t ncols;
    size_t nrows;     /* rows[0] is the header */
    size_t cap;
    char **cells;     /* nrows * ncols, row-major */
    int oom;          /* a row could not be added */
};

size_t sb_display_width(const char *s)
{
    size_t w = 0, left = strlen(s);
    mbstate_t st;

    memset(&st, 0, sizeof(st));
    while (left > 0) {
        wchar_t wc;
        size_t len = mbrtowc(&wc, s, left, &st);
        if (len == (size_t)-1 || len == (size_t)-2) {
            /* Not a character in this locale (invalid or cut UTF-8, or
             * any byte above 0x7f in an ASCII locale): the terminal shows
             * one cell per byte at most, so each byte counts one and
             * decoding starts afresh at the next one. */
            memset(&st, 0, sizeof(st));
            len = 1;
            w++;
        } else {
            int cw = wcwidth(wc);
            /* Non-printable (-1): counted as one cell, never as a negative
             * width that would underflow the padding. */
            w += cw < 0 ? 1 : (size_t)cw;
        }
        s += len;
        left -= len;
    }
    return w;
}

static int table_grow(sb_table *t)
{
    if (t->nrows < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 8;
    char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
    if (!cells)
        return -1;
    t->cells = cells;
    t->cap = cap;
    return 0;
}

int sb_table_add_row(sb_table *t, const char *const *cells)
{
    if (!t || t->oom)
        return -1;
    if (table_grow(t) < 0) {
        t->oom = 1;
        return -1;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            t->oom = 1;
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

sb_table *sb_table_new(size_t ncols, const char *const *headers)
{
    sb_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    if (sb_table_add_row(t, headers) < 0) {
        sb_table_free(t);
        return NULL;
    }
    return t;
}

void sb_table_free(sb_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

static void pad(FILE *out, size_t n)
{
    while (n-- > 0)
        fputc(' ', out);
}

void sb_table_print(const sb_table *t, FILE *out)
{
    size_t *width = calloc(t->ncols, sizeof(*width));
    size_t total = 0;

    if (!width)
        return;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = sb_display_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        fputc(' ', out);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            fputs(cell, out);
            if (c + 1 < t->ncols) {
                pad(out, width[c] - sb_display_width(cell));
                fputs("   ", out);
            }
        }
        fputc('\n', out);
        if (r == 0) {
            /* virsh's rule is the widest row plus two: the leading
             * space, every column and separator, and two more dashes. */
            total = 3;
            for (size_t c = 0; c < t->ncols; c++)
                total += width[c] + (c + 1 < t->ncols ? 3 : 0);
            for (size_t i = 0; i < total; i++)
                fputc('-', out);
            fputc('\n', out);
        }
    }
    fputc('\n', out);
    free(width);
}

char *sb_format_time(char *buf, size_t len, long long t)
{
    static int tz_done;
    time_t tt = (time_t)t;
    struct tm tm;

    /* localtime_r need not read TZ; do it once, not per row. */
    if (!tz_done) {
        tzset();
        tz_done = 1;
    }

    if (!localtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
        snprintf(buf, len, "%lld", t);
    return buf;
}

void sb_xml_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '\'': fputs("&apos;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

int sb_table_finish(sb_table *t, FILE *out)
{
    int rc = (!t || t->oom) ? -1 : 0;
    if (rc == 0)
        sb_table_print(t, out);
    sb_table_free(t);
    return rc;
}
