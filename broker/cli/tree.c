/* snapbroker CLI - tree drawing (see tree.h).
 *
 * The layout, described in our own words: a node's line is its prefix,
 * "+- " unless it is a root, and its name.  Its descendants' prefix adds
 * "| " when more siblings follow it and "  " when it is the last (nothing
 * for a root).  A node with children prints that prefix plus "  |" and
 * then its children with two more spaces; a childless node that is the
 * last of its siblings (or a root) prints its descendants' prefix alone,
 * which is what leaves the trailing-space lines and the empty line between
 * root trees.
 *
 * It is iterative, not recursive: a chain of 100k snapshots must not
 * overflow the stack.  Children are found by binary search over the
 * entries sorted by parent name, so drawing is O(n log n). */
#include "tree.h"

#include <stdlib.h>
#include <string.h>

typedef struct tree_ctx {
    FILE *out;
    const char *const *names;
    const char *const *parents;
    size_t *kids;        /* indices of entries with a parent, by parent */
    size_t nkids;
    char *prefix;
    size_t plen, pcap;
    struct frame { size_t cur, end, restore; } *stack;
    size_t depth, scap;
} tree_ctx;

static const char *const *sort_parents; /* qsort has no context argument */

static int by_parent(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int r = strcmp(sort_parents[ia], sort_parents[ib]);
    if (r)
        return r;
    return ia < ib ? -1 : ia > ib; /* keep the caller's sibling order */
}

/* [*start, *end) = range of kids[] whose parent is name. */
static void children_of(const tree_ctx *t, const char *name, size_t *start, size_t *end)
{
    size_t lo = 0, hi = t->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->parents[t->kids[mid]], name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *start = lo;
    while (lo < t->nkids && strcmp(t->parents[t->kids[lo]], name) == 0)
        lo++;
    *end = lo;
}

static int prefix_add(tree_ctx *t, const char *s)
{
    size_t len = strlen(s);
    if (t->plen + len + 1 > t->pcap) {
        size_t cap = (t->pcap + len + 1) * 2;
        char *p = realloc(t->prefix, cap);
        if (!p)
            return -1;
        t->prefix = p;
        t->pcap = cap;
    }
    memcpy(t->prefix + t->plen, s, len + 1);
    t->plen += len;
    return 0;
}

static void prefix_cut(tree_ctx *t, size_t len)
{
    t->plen = len;
    if (t->prefix)
        t->prefix[len] = '\0';
}

static int push(tree_ctx *t, size_t cur, size_t end, size_t restore)
{
    if (t->depth == t->scap) {
        size_t cap = t->scap ? t->scap * 2 : 16;
        struct frame *s = realloc(t->stack, cap * sizeof(*s));
        if (!s)
            return -1;
        t->stack = s;
        t->scap = cap;
    }
    t->stack[t->depth++] = (struct frame){ cur, end, restore };
    return 0;
}

static int draw_node(tree_ctx *t, const char *name, int is_root, int is_last)
{
    size_t orig = t->plen, start, end;

    fprintf(t->out, "%.*s%s%s\n", (int)t->plen, t->prefix ? t->prefix : "",
            is_root ? "" : "+- ", name);
    if (!is_root && prefix_add(t, is_last ? "  " : "| ") < 0)
        return -1;
    children_of(t, name, &start, &end);
    if (start < end) {
        fprintf(t->out, "%.*s  |\n", (int)t->plen, t->prefix ? t->prefix : "");
        if (prefix_add(t, "  ") < 0)
            return -1;
        return push(t, start, end, orig);
    }
    if (is_last)
        fprintf(t->out, "%.*s\n", (int)t->plen, t->prefix ? t->prefix : "");
    prefix_cut(t, orig);
    return 0;
}

static int draw_tree(tree_ctx *t, const char *root)
{
    if (draw_node(t, root, 1, 1) < 0)
        return -1;
    while (t->depth > 0) {
        struct frame *f = &t->stack[t->depth - 1];
        if (f->cur == f->end) {
            prefix_cut(t, f->restore);
            t->depth--;
            continue;
        }
        size_t i = t->kids[f->cur++];
        int last = f->cur == f->end;
        /* draw_node may grow (move) the stack: f is not used after it. */
        if (draw_node(t, t->names[i], 0, last) < 0)
            return -1;
    }
    return 0;
}

int sb_tree_print(FILE *out, size_t n, const char *const *names,
                  const char *const *parents, const char *root)
{
    tree_ctx t = { .out = out, .names = names, .parents = parents };
    int ret = -1;

    t.kids = malloc((n ? n : 1) * sizeof(*t.kids));
    if (!t.kids)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (parents[i])
            t.kids[t.nkids++] = i;
    sort_parents = parents;
    qsort(t.kids, t.nkids, sizeof(*t.kids), by_parent);

    if (root) {
        if (draw_tree(&t, root) < 0)
            goto cleanup;
    } else {
        for (size_t i = 0; i < n; i++)
            if (!parents[i] && draw_tree(&t, names[i]) < 0)
                goto cleanup;
    }
    fputc('\n', out);
    ret = 0;
 cleanup:
    free(t.kids);
    free(t.prefix);
    free(t.stack);
    return ret;
}
