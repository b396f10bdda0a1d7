/* Helpers shared by the store tests: build snapshots, render listings as
 * comma-separated names so assertions read like the spec's examples. */
#ifndef SB_TESTS_STORE_HELPERS_H
#define SB_TESTS_STORE_HELPERS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/tree.h"

/* The assertions every store test uses (cmocka.h and core/error.h are
 * included by the test before it uses them). */
#define OK(x) assert_int_equal((x), 0)
#define FAILS(x, code) assert_int_equal((x), -(code))
#define MSG_HAS(s) assert_non_null(strstr(sb_error_last()->message, (s)))

static inline sb_tree_snapshot snap(const char *name, const char *parent, int state,
                                    bool external)
{
    sb_tree_snapshot s = { .name = name, .parent = parent, .state = state,
                           .external = external, .creation_time = 1000, .xml = NULL };
    return s;
}

static inline int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names of a listing, in order ("a,b,c"), or sorted when sorted is set.
 * Returns a static buffer; "" for none, "ERR" on failure. */
static inline const char *names(const sb_tree *t, const char *from, unsigned flags, bool sorted)
{
    static char buf[8192];
    const sb_tree_node **v;
    size_t n;
    if (sb_tree_list(t, from, flags, &v, &n) < 0)
        return "ERR";
    const char **s = calloc(n + 1, sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i] = sb_tree_node_name(v[i]);
    if (sorted)
        qsort(s, n, sizeof(*s), cmp_str);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, s[i]);
    }
    if (v[n] != NULL)
        strcpy(buf, "NOT-NULL-TERMINATED");
    free(s);
    free(v);
    return buf;
}

/* The count-only path must agree with the listing. */
static inline long count(const sb_tree *t, const char *from, unsigned flags)
{
    size_t n;
    if (sb_tree_list(t, from, flags, NULL, &n) < 0)
        return -1;
    return (long)n;
}

#endif
