/* Invariant check of the in-memory tree, for `snapbroker check` and the
 * tests.  Walks are bounded by the node count so even a corrupted link
 * structure cannot loop forever. */
#include "store/tree_internal.h"

#include <stdio.h>

#include "core/error.h"

int sb_tree_verify(const sb_tree *t, FILE *report)
{
    int bad = 0;
    size_t seen = 0, leaves = 0;
    for (const sb_tree_node *n = t->all_head; n; n = n->all_next) {
        if (++seen > t->count) {
            fprintf(report, "node list longer than the count %zu\n", t->count);
            bad++;
            break;
        }
        if (sb_tree_lookup(t, n->name) != n) {
            fprintf(report, "snapshot '%s' is not found by its name\n", n->name);
            bad++;
        }
        if (!n->parent) {
            fprintf(report, "snapshot '%s' has no parent link\n", n->name);
            bad++;
        } else if (n->parent != &t->metaroot && sb_tree_lookup(t, n->parent->name) != n->parent) {
            fprintf(report, "parent of snapshot '%s' does not exist\n", n->name);
            bad++;
        }
        size_t nc = 0;
        for (const sb_tree_node *c = n->first_child; c && nc <= t->count; c = c->next_sibling) {
            nc++;
            if (c->parent != n) {
                fprintf(report, "child '%s' of '%s' points to another parent\n", c->name,
                        n->name);
                bad++;
            }
        }
        if (nc != n->nchildren) {
            fprintf(report, "snapshot '%s' counts %zu children but has %zu\n", n->name,
                    n->nchildren, nc);
            bad++;
        }
        if (n->nchildren == 0)
            leaves++;
    }
    if (seen != t->count) {
        fprintf(report, "%zu snapshots listed, %zu counted\n", seen, t->count);
        bad++;
    }
    if (leaves != t->nleaves) {
        fprintf(report, "%zu leaves, %zu in the leaf list\n", leaves, t->nleaves);
        bad++;
    }
    /* every node reachable from the metaroot exactly once = no cycles */
    size_t reach = 0;
    for (const sb_tree_node *x = sb_tree_walk_next(t, NULL, NULL); x && reach <= t->count;
         x = sb_tree_walk_next(t, NULL, x))
        reach++;
    if (reach != t->count) {
        fprintf(report, "%zu snapshots reachable from the top, %zu stored (cycle or lost "
                        "link)\n", reach, t->count);
        bad++;
    }
    if (t->current && sb_tree_lookup(t, t->current->name) != t->current) {
        fprintf(report, "the current snapshot does not exist\n");
        bad++;
    }
    return bad;
}
