/* Loading stored snapshots: libvirt's load-time rules (tree.h).  Stored
 * data may be damaged, so nothing here refuses a relation: a bad parent is
 * replaced by the metaroot and reported as a warning the caller can read. */
#include "store/tree_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MARK_NONE 0u
#define MARK_REACHABLE 1u
#define MARK_WALKING 2u

int sb_tree_load_put(sb_tree *t, const sb_tree_snapshot *s)
{
    if (!s->name || !*s->name)
        return sb_error_set(SB_ERR_STORE, "stored snapshot without a name");
    sb_tree_node *parent = &t->metaroot;
    int rc = 0;
    if (s->parent) {
        sb_tree_node *p = sb_tree_lookup(t, s->parent);
        if (strcmp(s->parent, s->name) == 0)
            rc = sb_tree__warn(t, "snapshot %s names itself as parent; attached to the top",
                               s->name);
        else if (!p)
            rc = sb_tree__warn(t, "parent %s for snapshot %s not found; attached to the top",
                               s->parent, s->name);
        else
            parent = p;
        if (rc < 0)
            return rc;
    }
    sb_tree_node *n = sb_tree_lookup(t, s->name);
    if (!n) {
        if ((rc = sb_tree__reserve(t)) < 0)
            return rc;
        n = sb_tree__node_new(t, s);
        if (!n)
            return sb_error_oom();
        sb_tree__insert(t, n);
        sb_tree__link(t, n, parent);
        return 0;
    }
    /* unchanged parent: no cycle possible, skip the O(depth) walk */
    if (parent != &t->metaroot && parent != n->parent && sb_tree__is_ancestor(n, parent)) {
        rc = sb_tree__warn(t, "parent %s for snapshot %s would create a cycle; attached "
                              "to the top", s->parent, s->name);
        if (rc < 0)
            return rc;
        parent = &t->metaroot;
    }
    if ((rc = sb_tree__set_data(n, s)) < 0)
        return rc;
    sb_tree__unlink(t, n);
    sb_tree__link(t, n, parent);
    return 0;
}

int sb_tree_load_add(sb_tree *t, const sb_tree_snapshot *s, bool claims_current)
{
    if (!s->name || !*s->name)
        return sb_error_set(SB_ERR_STORE, "stored snapshot without a name");
    if (sb_tree_lookup(t, s->name))
        return sb_error_set(SB_ERR_OPERATION_FAILED, "snapshot '%s' already exists", s->name);
    int rc = sb_tree__reserve(t);
    if (rc < 0)
        return rc;
    sb_tree_node *n = sb_tree__node_new(t, s);
    if (!n)
        return sb_error_oom();
    if (s->parent && !(n->pending_parent = strdup(s->parent))) {
        sb_tree__node_free(t, n);
        return sb_error_oom();
    }
    sb_tree__insert(t, n); /* unlinked (parent NULL) until load_finish */
    t->npending++;
    if (claims_current) {
        if (t->pending_current_set &&
            (rc = sb_tree__warn(t, "more than one current snapshot: '%s' and '%s'; using '%s'",
                                t->pending_current->name, n->name, n->name)) < 0)
            return rc;
        t->pending_current = n;
        t->pending_current_set = true;
    }
    return 0;
}

static void mark_subtree(sb_tree *t, sb_tree_node *top)
{
    top->mark = MARK_REACHABLE;
    for (sb_tree_node *x = sb_tree_walk_next(t, top, NULL); x; x = sb_tree_walk_next(t, top, x))
        x->mark = MARK_REACHABLE;
}

int sb_tree_load_finish(sb_tree *t)
{
    int rc = 0;
    bool bad_relations = false;

    /* 1. link every pending node to its named parent (maybe forming cycles
     *    among pending nodes; step 2 breaks them) */
    for (sb_tree_node *n = t->all_head; n; n = n->all_next) {
        if (n->parent)
            continue;
        sb_tree_node *p = &t->metaroot;
        if (n->pending_parent) {
            sb_tree_node *q = sb_tree_lookup(t, n->pending_parent);
            if (q == n)
                rc = sb_tree__warn(t, "snapshot %s names itself as parent; attached to the top",
                                   n->name);
            else if (!q)
                rc = sb_tree__warn(t, "parent %s for snapshot %s not found; attached to the top",
                                   n->pending_parent, n->name);
            else
                p = q;
            if (p == &t->metaroot)
                bad_relations = true;
            free(n->pending_parent);
            n->pending_parent = NULL;
            if (rc < 0)
                return rc;
        }
        sb_tree__link(t, n, p);
    }
    t->npending = 0;

    /* 2. nodes not reachable from the metaroot sit on or below a cycle:
     *    climb from each until a node repeats, cut that node loose. */
    for (sb_tree_node *n = t->all_head; n; n = n->all_next)
        n->mark = MARK_NONE;
    for (sb_tree_node *x = sb_tree_walk_next(t, NULL, NULL); x; x = sb_tree_walk_next(t, NULL, x))
        x->mark = MARK_REACHABLE;
    for (sb_tree_node *n = t->all_head; n; n = n->all_next) {
        if (n->mark == MARK_REACHABLE)
            continue;
        sb_tree_node *c = n;
        while (c->mark != MARK_WALKING) {
            c->mark = MARK_WALKING;
            c = c->parent;
        }
        rc = sb_tree__warn(t, "parent %s for snapshot %s would create a cycle; attached to "
                              "the top", c->parent->name, c->name);
        bad_relations = true;
        sb_tree__unlink(t, c);
        sb_tree__link(t, c, &t->metaroot);
        mark_subtree(t, c);
        if (rc < 0)
            return rc;
    }

    /* 3. current: the last claim wins; inconsistent relations clear it, as
     *    libvirt does when the relations it loaded do not hold. */
    if (t->pending_current_set) {
        if (bad_relations) {
            rc = sb_tree__warn(t, "inconsistent parent relations: no current snapshot");
            t->current = NULL;
        } else {
            t->current = t->pending_current;
        }
    }
    t->pending_current_set = false;
    t->pending_current = NULL;
    return rc;
}
