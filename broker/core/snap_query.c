/* Read-only snapshot calls: XML, listings, current, parent, info.
 * Broker-owned metadata is answered from the store (shared lock);
 * hypervisor-owned metadata by the plugin. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"

int sb_snapshot_get_xml(char **out_xml, sb_connection *c, const char *domain, const char *name,
                        unsigned flags)
{
    sb_store *s = NULL;
    const sb_tree_node *n;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, name, true, "sb_snapshot_get_xml")) < 0)
        return rc;
    if (!out_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_get_xml: NULL output");
    *out_xml = NULL;
    if ((flags & SB_SNAPSHOT_XML_SECURE) &&
        (rc = sb_conn_check_writable(c, "asking for secure information")) < 0)
        return rc;
    if ((rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_XML, flags)) < 0)
        return rc;
    if (!sb_conn_broker_meta(c)) {
        SB_DISPATCH(rc, c->plugin, snapshot_get_xml, out_xml, c->conn, domain, name, flags);
        return rc < 0 ? rc : 0;
    }
    if ((rc = sb_conn_store(c, domain, false, &s)) < 0 ||
        (rc = sb_snap_lookup(s, domain, name, &n)) < 0)
        goto out;
    rc = sb_snap_node_xml(n, (flags & SB_SNAPSHOT_XML_SECURE) ? SB_SNAP_FORMAT_SECURE : 0,
                          out_xml);
out:
    sb_conn_store_release(c, s);
    return rc < 0 ? rc : 0;
}

int sb_snapshot_list(char ***out_names, size_t *out_n, sb_connection *c, const char *domain,
                     const char *from, unsigned flags)
{
    const sb_tree_node **nodes = NULL;
    sb_store *s = NULL;
    size_t n = 0;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, NULL, false, "sb_snapshot_list")) < 0)
        return rc;
    if (!out_names || !out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_list: NULL output");
    *out_names = NULL;
    *out_n = 0;
    if (flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) for snapshot listing",
                            flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL);
    if ((rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_LIST, flags)) < 0)
        return rc;
    if (!sb_conn_broker_meta(c)) {
        SB_DISPATCH(rc, c->plugin, snapshot_list, out_names, out_n, c->conn, domain, from, flags);
        return rc < 0 ? rc : 0;
    }
    if ((rc = sb_conn_store(c, domain, false, &s)) < 0)
        goto out;
    if (from) {
        const sb_tree_node *dummy;
        if ((rc = sb_snap_lookup(s, domain, from, &dummy)) < 0)
            goto out;
    }
    if ((rc = sb_tree_list(sb_store_tree(s), from, flags, &nodes, &n)) < 0)
        goto out;
    rc = sb_names_from_nodes(out_names, out_n, nodes, n);
out:
    free(nodes);
    sb_conn_store_release(c, s);
    return rc < 0 ? rc : 0;
}

int sb_snapshot_count(size_t *out_n, sb_connection *c, const char *domain, const char *from,
                      unsigned flags)
{
    const sb_tree_node *dummy;
    sb_store *s = NULL;
    int rc;

    if (!out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_count: NULL output");
    *out_n = 0;
    if (!c || !sb_conn_broker_meta(c)) {
        char **names = NULL;
        if ((rc = sb_snapshot_list(&names, out_n, c, domain, from, flags)) == 0)
            sb_names_free(names, *out_n);
        return rc;
    }
    if ((rc = sb_snap_check_args(c, domain, NULL, false, "sb_snapshot_count")) < 0)
        return rc;
    if (flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) for snapshot listing",
                            flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL);
    if ((rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_LIST, flags)) < 0 ||
        (rc = sb_conn_store(c, domain, false, &s)) < 0 ||
        (from && (rc = sb_snap_lookup(s, domain, from, &dummy)) < 0))
        return rc;
    /* The tree counts without walking for domain, roots, children and
     * leaves; filtered counts walk, but build nothing. */
    return sb_tree_list(sb_store_tree(s), from, flags, NULL, out_n);
}

int sb_snapshot_current(char **out_name, sb_connection *c, const char *domain)
{
    sb_store *s = NULL;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, NULL, false, "sb_snapshot_current")) < 0)
        return rc;
    if (!out_name)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_current: NULL output");
    *out_name = NULL;
    if (!sb_conn_broker_meta(c)) {
        SB_DISPATCH(rc, c->plugin, snapshot_current, out_name, c->conn, domain);
        return rc < 0 ? rc : 0;
    }
    if ((rc = sb_conn_store(c, domain, false, &s)) < 0)
        return rc;
    const sb_tree_node *cur = sb_tree_current(sb_store_tree(s));
    if (!cur)
        rc = sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT,
                          "the domain '%s' does not have a current snapshot", domain);
    else
        rc = sb_strdup_out(out_name, sb_tree_node_name(cur));
    sb_conn_store_release(c, s);
    return rc;
}

int sb_snapshot_set_current(sb_connection *c, const char *domain, const char *name)
{
    sb_store *s = NULL;
    const sb_tree_node *n;
    char *xml = NULL;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, name, true, "sb_snapshot_set_current")) < 0)
        return rc;
    if ((rc = sb_conn_check_writable(c, "setting the current snapshot")) < 0)
        return rc;
    if (!sb_conn_broker_meta(c)) {
        /* virsh's way: redefine the snapshot as it is, with CURRENT. */
        if ((rc = sb_snapshot_get_xml(&xml, c, domain, name, 0)) == 0)
            rc = sb_snapshot_create_xml(NULL, c, domain, xml,
                                        SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT);
        free(xml);
        return rc;
    }
    if ((rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_CREATE,
                                      SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT)) < 0)
        return rc;
    if ((rc = sb_conn_store(c, domain, true, &s)) < 0)
        return rc;
    if ((rc = sb_store_begin(s)) == 0 && (rc = sb_snap_lookup(s, domain, name, &n)) == 0 &&
        (rc = sb_store_set_current(s, name)) == 0)
        rc = sb_store_commit(s);
    sb_conn_store_release(c, s);
    return rc;
}

int sb_snapshot_parent(char **out_name, sb_connection *c, const char *domain, const char *name)
{
    const sb_tree_node *n;
    sb_store *s = NULL;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, name, true, "sb_snapshot_parent")) < 0)
        return rc;
    if (!out_name)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_parent: NULL output");
    *out_name = NULL;
    if (!sb_conn_broker_meta(c)) {
        SB_DISPATCH(rc, c->plugin, snapshot_parent, out_name, c->conn, domain, name);
        return rc < 0 ? rc : 0;
    }
    if ((rc = sb_conn_store(c, domain, false, &s)) < 0)
        return rc;
    if ((rc = sb_snap_lookup(s, domain, name, &n)) == 0) {
        const sb_tree_node *p = sb_tree_node_parent(n);
        if (!p)
            rc = sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT, "snapshot '%s' does not have a parent",
                              name);
        else
            rc = sb_strdup_out(out_name, sb_tree_node_name(p));
    }
    sb_conn_store_release(c, s);
    return rc;
}

/* Info for hypervisor-owned metadata, from the plugin's answers. */
static int info_from_plugin(sb_snapshot_info *out, sb_connection *c, const char *domain,
                            const char *name)
{
    char *xml = NULL, *cur = NULL, *parent = NULL, **names = NULL;
    sb_snapdef *def = NULL;
    size_t n = 0;
    int rc;

    if ((rc = sb_snapshot_get_xml(&xml, c, domain, name, 0)) < 0)
        return rc;
    rc = sb_snapdef_parse(xml, strlen(xml), "plugin snapshot XML", SB_SNAP_PARSE_REDEFINE, &def);
    if (rc < 0)
        goto out;
    out->state = def->state;
    out->external = sb_snapdef_is_external(def);
    out->creation_time = def->creation_time;
    out->has_metadata = 0; /* the hypervisor keeps it, not the broker */
    if (sb_snapshot_current(&cur, c, domain) == 0)
        out->is_current = strcmp(cur, name) == 0;
    if (sb_snapshot_parent(&parent, c, domain, name) == 0)
        snprintf(out->parent, sizeof(out->parent), "%s", parent);
    if (sb_snapshot_list(&names, &n, c, domain, name, 0) == 0)
        out->children = n;
    sb_names_free(names, n);
    names = NULL;
    n = 0;
    if (sb_snapshot_list(&names, &n, c, domain, name, SB_SNAPSHOT_LIST_DESCENDANTS) == 0)
        out->descendants = n;
    sb_error_clear(); /* the optional parts above may legitimately fail */
out:
    sb_names_free(names, n);
    sb_snapdef_free(def);
    free(xml);
    free(cur);
    free(parent);
    return rc;
}

/* Info of one node of a loaded tree, descendants left at 0. */
static void node_info_base(sb_snapshot_info *out, const sb_tree *t, const sb_tree_node *n)
{
    const sb_tree_node *p = sb_tree_node_parent(n);

    memset(out, 0, sizeof(*out));
    out->state = sb_tree_node_state(n);
    out->external = sb_tree_node_external(n);
    out->is_current = sb_tree_node_is_current(t, n);
    out->has_metadata = 1;
    out->children = sb_tree_node_num_children(n);
    out->creation_time = sb_tree_node_creation_time(n);
    if (p)
        snprintf(out->parent, sizeof(out->parent), "%s", sb_tree_node_name(p));
}

/* Info of one node of a loaded tree. */
static int node_info(sb_snapshot_info *out, const sb_tree *t, const sb_tree_node *n)
{
    size_t count = 0;

    node_info_base(out, t, n);
    int rc = sb_tree_list(t, sb_tree_node_name(n), SB_SNAPSHOT_LIST_DESCENDANTS, NULL, &count);
    out->descendants = count;
    return rc;
}

int sb_snapshot_info_get(sb_snapshot_info *out, sb_connection *c, const char *domain,
                         const char *name)
{
    const sb_tree_node *n;
    sb_store *s = NULL;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, name, true, "sb_snapshot_info_get")) < 0)
        return rc;
    if (!out)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_info_get: NULL output");
    memset(out, 0, sizeof(*out));
    if (!sb_conn_broker_meta(c))
        return info_from_plugin(out, c, domain, name);
    if ((rc = sb_conn_store(c, domain, false, &s)) < 0)
        return rc;
    if ((rc = sb_snap_lookup(s, domain, name, &n)) == 0)
        rc = node_info(out, sb_store_tree(s), n);
    sb_conn_store_release(c, s);
    return rc;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const sb_tree_node *const *)a;
    uintptr_t y = (uintptr_t) * (const sb_tree_node *const *)b;
    return x < y ? -1 : x > y;
}

static size_t index_of(const sb_tree_node **sorted, size_t n, const sb_tree_node *node)
{
    const sb_tree_node **hit = bsearch(&node, sorted, n, sizeof(*sorted), cmp_ptr);
    return hit ? (size_t)(hit - sorted) : n;
}

/* Infos of the named snapshots.  Descendant counts for the whole tree in
 * O(N log N): sum subtree sizes bottom-up over a pre-order walk, instead of
 * one walk per snapshot (O(N^2) for a long chain). */
static int infos_from_tree(sb_snapshot_info *info, const sb_tree *t, char **names, size_t n)
{
    size_t total = sb_tree_count(t), k = 0;
    const sb_tree_node **order = calloc(total + 1, sizeof(*order));
    const sb_tree_node **sorted = calloc(total + 1, sizeof(*sorted));
    size_t *desc = calloc(total + 1, sizeof(*desc));
    int rc = 0;

    if (!order || !sorted || !desc) {
        rc = sb_error_oom();
        goto out;
    }
    for (const sb_tree_node *x = sb_tree_walk_next(t, NULL, NULL); x && k < total;
         x = sb_tree_walk_next(t, NULL, x))
        order[k++] = x;
    memcpy(sorted, order, k * sizeof(*order));
    qsort(sorted, k, sizeof(*sorted), cmp_ptr);
    /* Children come after their parent in pre-order: walking backwards,
     * every node is complete before it is added to its parent. */
    for (size_t i = k; i > 0; i--) {
        const sb_tree_node *p = sb_tree_node_parent(order[i - 1]);
        if (p) {
            size_t me = index_of(sorted, k, order[i - 1]), up = index_of(sorted, k, p);
            if (me < k && up < k)
                desc[up] += desc[me] + 1;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const sb_tree_node *node = sb_tree_lookup(t, names[i]);
        if (!node) {
            rc = sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT, "snapshot '%s' vanished", names[i]);
            break;
        }
        node_info_base(&info[i], t, node);
        size_t at = index_of(sorted, k, node);
        info[i].descendants = at < k ? desc[at] : 0;
    }
out:
    free(order);
    free(sorted);
    free(desc);
    return rc;
}

int sb_snapshot_list_info(char ***out_names, sb_snapshot_info **out_info, size_t *out_n,
                          sb_connection *c, const char *domain, const char *from,
                          unsigned flags)
{
    sb_snapshot_info *info = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc;

    if (!out_names || !out_info || !out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_list_info: NULL output");
    *out_names = NULL;
    *out_info = NULL;
    *out_n = 0;
    /* One listing, then the infos from the store the listing just
     * refreshed (the connection keeps it): no reload per snapshot. */
    if ((rc = sb_snapshot_list(&names, &n, c, domain, from, flags)) < 0)
        return rc;
    if (!(info = calloc(n + 1, sizeof(*info)))) {
        sb_names_free(names, n);
        return sb_error_oom();
    }
    if (sb_conn_broker_meta(c)) {
        rc = infos_from_tree(info, sb_store_tree(c->cache), names, n);
    } else {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = sb_snapshot_info_get(&info[i], c, domain, names[i]);
    }
    if (rc < 0) {
        free(info);
        sb_names_free(names, n);
        return rc;
    }
    *out_names = names;
    *out_info = info;
    *out_n = n;
    return 0;
}

const char *sb_snapshot_state_name(int state)
{
    return sb_snap_state_to_string(state);
}
