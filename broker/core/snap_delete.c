/* sb_snap__delete (snap.h): for broker-owned metadata one plugin call and one store commit per snapshot, descendants first, so that an
 * interruption leaves a consistent tree: every snapshot still listed still
 * has its data, and the intent of the one in flight tells the reconciler
 * which to check. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"

/* The snapshots to delete, children before their parents: the reverse of
 * a depth-first (parents first) listing. */
static int delete_order(const sb_store *s, const char *name, unsigned flags, char ***out,
                        size_t *n)
{
    const sb_tree_node **nodes = NULL;
    size_t count = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (flags & (SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY)) {
        rc = sb_tree_list(sb_store_tree(s), name,
                          SB_SNAPSHOT_LIST_DESCENDANTS | SB_SNAPSHOT_LIST_TOPOLOGICAL, &nodes,
                          &count);
        if (rc < 0)
            return rc;
    }
    char **names = calloc(count + 2, sizeof(*names));
    if (!names) {
        free(nodes);
        return sb_error_oom();
    }
    size_t k = 0;
    for (size_t i = count; i > 0; i--)
        if (!(names[k++] = strdup(sb_tree_node_name(nodes[i - 1]))))
            goto oom;
    if (!(flags & SB_SNAPSHOT_DELETE_CHILDREN_ONLY) && !(names[k++] = strdup(name)))
        goto oom;
    free(nodes);
    *out = names;
    *n = k;
    return 0;
oom:
    free(nodes);
    sb_names_free(names, k);
    return sb_error_oom();
}

/* Delete one snapshot's data through the plugin, then its metadata. */
static int delete_one(sb_dom *d, const char *name, unsigned flags)
{
    sb_store *s = d->s;
    const char *domain = d->name;
    const sb_tree_node *n;
    uint64_t intent;
    char *xml = NULL;
    int rc;

    if ((rc = sb_snap_lookup(s, domain, name, &n)) < 0)
        return rc;
    if ((rc = sb_snap_node_xml(n, SB_SNAP_FORMAT_SECURE, &xml)) < 0)
        return rc;
    if ((rc = sb_snap_intent_begin(d, "delete", name, xml, &intent)) < 0)
        goto out;
    SB_DOM_DISPATCH(rc, d, snapshot_delete, d->c->conn, domain, xml, flags);
    if (rc < 0) {
        sb_snap_intent_abandon(s, intent);
        goto out;
    }
    if ((rc = sb_store_begin(s)) == 0 && (rc = sb_store_delete(s, name, 0)) == 0 &&
        (rc = sb_store_intent_end(s, intent)) == 0)
        rc = sb_store_commit(s);
    if (rc < 0 && sb_store_in_transaction(s))
        sb_store_rollback(s);
out:
    free(xml);
    return rc;
}

static int delete_broker(sb_dom *d, const char *name, unsigned flags)
{
    const unsigned tree_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY;
    const sb_tree_node *n;
    char **order = NULL;
    size_t count = 0;
    sb_store *s = d->s;
    int rc;

    if ((rc = sb_snap_lookup(s, d->name, name, &n)) < 0)
        return rc;
    if (flags & SB_SNAPSHOT_DELETE_METADATA_ONLY) {
        if ((rc = sb_store_begin(s)) == 0 &&
            (rc = sb_store_delete(s, name, flags & tree_flags)) == 0)
            rc = sb_store_commit(s);
        return rc;
    }
    if ((rc = delete_order(s, name, flags, &order, &count)) < 0)
        return rc;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = delete_one(d, order[i], flags & ~tree_flags);
    sb_names_free(order, count);
    return rc;
}

int sb_snap__delete(sb_dom *d, const char *name, unsigned flags)
{
    char *xml = NULL;
    int rc;

    if (d->s)
        return delete_broker(d, name, flags);
    if ((rc = sb_snap__xml(d, name, 0, &xml)) == 0)
        SB_DISPATCH(rc, d->c->plugin, snapshot_delete, d->c->conn, d->name, xml, flags);
    free(xml);
    return rc < 0 ? rc : 0;
}
