#include "core/strlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int sb_strlist_addv(sb_strlist *l, const char *fmt, va_list ap)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return sb_error_oom();
        l->v = v;
        l->cap = cap;
    }
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return sb_error_oom();
    l->v[l->n++] = s;
    return 0;
}

int sb_strlist_addf(sb_strlist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_strlist_addv(l, fmt, ap);
    va_end(ap);
    return rc;
}

void sb_strlist_clear(sb_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

void sb_strlist_free(sb_strlist *l)
{
    sb_strlist_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

int sb_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}
