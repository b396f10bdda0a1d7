/* sb_tree_list(): libvirt's virDomainMomentObjListGetNames plus
 * virDomainSnapshotFilter (docs/semantics.md §5.3), with libvirt 9.0's
 * observed behaviour where it differs from a plain reading (tree.h). */
#include "store/tree_internal.h"

#include <stdlib.h>

#include "core/error.h"

#define F_BIT0 SB_SNAPSHOT_LIST_ROOTS /* ROOTS == DESCENDANTS */
#define F_TOPO SB_SNAPSHOT_LIST_TOPOLOGICAL

static bool match(const sb_tree_node *n, unsigned f)
{
    /* Leaves: both bits set removes everything, as libvirt 9.0 does. */
    if ((f & SB_SNAPSHOT_LIST_LEAVES) && n->nchildren)
        return false;
    if ((f & SB_SNAPSHOT_LIST_NO_LEAVES) && !n->nchildren)
        return false;
    if (f & SB_SNAPSHOT_FILTERS_STATUS) {
        if (!(f & SB_SNAPSHOT_LIST_INACTIVE) && n->state == SB_STATE_SHUTOFF)
            return false;
        if (!(f & SB_SNAPSHOT_LIST_DISK_ONLY) && n->state == SB_STATE_DISK_SNAPSHOT)
            return false;
        if (!(f & SB_SNAPSHOT_LIST_ACTIVE) && n->state != SB_STATE_SHUTOFF &&
            n->state != SB_STATE_DISK_SNAPSHOT)
            return false;
    }
    if ((f & SB_SNAPSHOT_FILTERS_LOCATION) != SB_SNAPSHOT_FILTERS_LOCATION) {
        if ((f & SB_SNAPSHOT_LIST_INTERNAL) && n->external)
            return false;
        if ((f & SB_SNAPSHOT_LIST_EXTERNAL) && !n->external)
            return false;
    }
    return true;
}

typedef struct collector {
    const sb_tree_node **v;
    size_t n, cap;
    bool counting; /* out == NULL: count only */
} collector;

static int collect(collector *c, const sb_tree_node *n)
{
    if (!c->counting) {
        if (c->n + 1 >= c->cap) { /* +1 keeps room for the NULL terminator */
            size_t cap = c->cap ? c->cap * 2 : 16;
            const sb_tree_node **v = realloc(c->v, cap * sizeof(*v));
            if (!v)
                return sb_error_oom();
            c->v = v;
            c->cap = cap;
        }
        c->v[c->n] = n;
    }
    c->n++;
    return 0;
}

int sb_tree_list(const sb_tree *t, const char *from, unsigned flags,
                 const sb_tree_node ***out, size_t *n)
{
    if (flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                            flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL, "sb_tree_list");
    const sb_tree_node *top = &t->metaroot;
    bool descend;
    if (from) {
        sb_tree_node *f = NULL;
        int rc = sb_tree_get(t, from, &f);
        if (rc < 0)
            return rc;
        top = f;
        descend = flags & SB_SNAPSHOT_LIST_DESCENDANTS;
    } else {
        /* ROOTS and DESCENDANTS share bit 0 with opposite meaning: a
         * domain-level listing is "descendants of the metaroot" unless
         * ROOTS asks for its children only. */
        descend = !(flags & SB_SNAPSHOT_LIST_ROOTS);
    }
    bool topo = flags & F_TOPO;
    unsigned f = flags & ~(F_BIT0 | F_TOPO);

    collector c = { .counting = (out == NULL) };
    /* size the array once when the source's size is known: no regrowth
     * copies for big listings */
    size_t hint = !descend ? top->nchildren : (top == &t->metaroot ? t->count : 0);
    if (out && hint) {
        c.v = malloc((hint + 1) * sizeof(*c.v));
        if (!c.v)
            return sb_error_oom();
        c.cap = hint + 1;
    }
    *n = 0;
    if (out)
        *out = NULL;

    /* Every snapshot has metadata: NO_METADATA alone matches nothing,
     * METADATA alone or both do not filter. */
    if ((f & SB_SNAPSHOT_FILTERS_METADATA) == SB_SNAPSHOT_LIST_NO_METADATA) {
        c.n = 0;
        goto done;
    }
    f &= ~SB_SNAPSHOT_FILTERS_METADATA;

    int rc = 0;
    if (!descend) {
        if (!f && c.counting) {
            c.n = top->nchildren;
            goto done;
        }
        for (const sb_tree_node *x = top->first_child; x && rc == 0; x = x->next_sibling)
            if (match(x, f))
                rc = collect(&c, x);
    } else if (top == &t->metaroot && !topo) {
        /* "hash walk" in libvirt: no order promised, so use the cheapest
         * source: the leaf list for pure LEAVES listings, else all nodes. */
        if (!f && c.counting) {
            c.n = t->count;
            goto done;
        }
        if ((f & SB_SNAPSHOT_FILTERS_LEAVES) == SB_SNAPSHOT_LIST_LEAVES) {
            if (f == SB_SNAPSHOT_LIST_LEAVES && c.counting) {
                c.n = t->nleaves;
                goto done;
            }
            for (const sb_tree_node *x = t->leaf_head; x && rc == 0; x = x->leaf_next)
                if (match(x, f))
                    rc = collect(&c, x);
        } else {
            for (const sb_tree_node *x = t->all_head; x && rc == 0; x = x->all_next)
                if (match(x, f))
                    rc = collect(&c, x);
        }
    } else {
        /* depth-first, parents before children, newest child first */
        for (const sb_tree_node *x = sb_tree_walk_next(t, top, NULL); x && rc == 0;
             x = sb_tree_walk_next(t, top, x))
            if (match(x, f))
                rc = collect(&c, x);
    }
    if (rc < 0) {
        free(c.v);
        return rc;
    }

done:
    if (out) {
        if (!c.v) {
            c.v = calloc(1, sizeof(*c.v));
            if (!c.v)
                return sb_error_oom();
        } else {
            c.v[c.n] = NULL;
        }
        *out = c.v;
    }
    *n = c.n;
    return 0;
}

int sb_tree_count_descendants(const sb_tree *t, const sb_tree_node *const *nodes, size_t n,
                              size_t *out)
{
    /* In a pre-order walk the descendants of the k-th node are the nodes
     * right after it, up to the first one outside its subtree: keep the
     * path from the top on a stack, and a node's count is known when it
     * is popped.  Each node's scratch mark holds its walk index. */
    size_t total = t->count, k = 0, depth = 0;
    size_t *size = malloc((total + 1) * sizeof(*size));
    sb_tree_node **stack = malloc((total + 1) * sizeof(*stack));
    if (!size || !stack) {
        free(size);
        free(stack);
        return sb_error_oom();
    }
    for (sb_tree_node *x = sb_tree_walk_next(t, NULL, NULL); x && k < total;
         x = sb_tree_walk_next(t, NULL, x), k++) {
        while (depth && stack[depth - 1] != x->parent) {
            sb_tree_node *y = stack[--depth];
            size[y->mark] = k - y->mark - 1;
        }
        x->mark = (uint32_t)k;
        stack[depth++] = x;
    }
    while (depth) {
        sb_tree_node *y = stack[--depth];
        size[y->mark] = k - y->mark - 1;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = size[nodes[i]->mark];
    free(size);
    free(stack);
    return 0;
}
