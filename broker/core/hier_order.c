/* Parents before children (hier.h): a name index, child lists in input
 * order and one depth-first walk with an explicit stack, so a 10 000-deep
 * chain costs no C stack and the whole order O(n log n). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hier.h"

#define NONE SB_HIER_NONE

static int by_name(const void *a, const void *b, void *names)
{
    const char *const *v = names;
    return strcmp(v[*(const size_t *)a], v[*(const size_t *)b]);
}

/* Index of name among the sorted indices, NONE when absent. */
static size_t find(const char *const *names, const size_t *sorted, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(names[sorted[mid]], name);
        if (r == 0)
            return sorted[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NONE;
}

int sb_hier_order(const char *const *names, const char *const *parents, size_t n,
                  size_t *order, size_t *out_parent)
{
    size_t *sorted = malloc((n + 1) * sizeof(*sorted));
    size_t *parent = malloc((n + 1) * sizeof(*parent));
    size_t *first = calloc(n + 2, sizeof(*first)); /* child list i: kids[first[i]..first[i+1]) */
    size_t *kids = malloc((n + 1) * sizeof(*kids));
    size_t *stack = malloc((n + 1) * sizeof(*stack));
    size_t done = 0, top = 0;
    int rc = 0;

    if (!sorted || !parent || !first || !kids || !stack) {
        rc = sb_error_oom();
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = i;
    qsort_r(sorted, n, sizeof(*sorted), by_name, (void *)names);
    for (size_t i = 1; i < n && rc == 0; i++)
        if (strcmp(names[sorted[i - 1]], names[sorted[i]]) == 0)
            rc = sb_error_set(SB_ERR_INVALID_ARG, "snapshot '%s' is given more than once",
                              names[sorted[i]]);
    for (size_t i = 0; i < n && rc == 0; i++) {
        parent[i] = parents[i] ? find(names, sorted, n, parents[i]) : NONE;
        if (parent[i] != NONE)
            first[parent[i] + 1]++;
    }
    if (rc < 0)
        goto out;
    /* counts to offsets, then fill each list in input order */
    for (size_t i = 0; i < n; i++)
        first[i + 1] += first[i];
    for (size_t i = 0; i < n; i++)
        if (parent[i] != NONE)
            kids[first[parent[i]]++] = i;
    for (size_t i = n; i > 0; i--) /* first[] moved one list ahead: shift back */
        first[i] = first[i - 1];
    first[0] = 0;

    for (size_t r = n; r > 0; r--) /* roots, the first on top */
        if (parent[r - 1] == NONE)
            stack[top++] = r - 1;
    while (top) {
        size_t i = stack[--top];
        order[done++] = i;
        for (size_t k = first[i + 1]; k > first[i]; k--)
            stack[top++] = kids[k - 1];
    }
    if (out_parent)
        memcpy(out_parent, parent, n * sizeof(*parent));
    if (done < n) {
        /* what the walk never reached hangs off a cycle: from there, n
         * steps up through the parents land on it */
        memset(sorted, 0, n * sizeof(*sorted));
        for (size_t j = 0; j < done; j++)
            sorted[order[j]] = 1;
        size_t i = 0;
        while (sorted[i])
            i++;
        for (size_t step = 0; step < n; step++)
            i = parent[i];
        rc = sb_error_set(SB_ERR_INVALID_ARG,
                          "snapshot '%s' is its own ancestor (its parents form a cycle)",
                          names[i]);
    }
out:
    free(sorted);
    free(parent);
    free(first);
    free(kids);
    free(stack);
    return rc;
}
