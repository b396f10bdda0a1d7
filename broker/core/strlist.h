/* A growable list of owned strings (warnings collected while loading). */
#ifndef SB_CORE_STRLIST_H
#define SB_CORE_STRLIST_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sb_strlist {
    char **v;
    size_t n, cap;
} sb_strlist;

/* Append a formatted string; NO_MEMORY on failure (the list is unchanged). */
int sb_strlist_addf(sb_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_strlist_addv(sb_strlist *l, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Free the strings, keep the array for reuse. */
void sb_strlist_clear(sb_strlist *l);
/* Free everything. */
void sb_strlist_free(sb_strlist *l);

/* qsort/bsearch comparator of an array of strings (char *), by strcmp. */
int sb_str_cmp(const void *a, const void *b);

#endif
