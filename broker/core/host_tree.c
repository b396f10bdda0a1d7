/* Tree host services: what a plugin may ask about the broker's snapshot
 * tree while it works (plugin.h, tree_*).  During an operation they see
 * the store the operation holds; otherwise they open it read-only. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"

/* The store held for the call in progress (the operation's, lent by
 * SB_DOM_DISPATCH, else the one an sb_dom holds), and its domain; NULL
 * when no call holds one. */
static sb_store *held_store(const sb_connection *c, const char **domain)
{
    *domain = c->active_store ? c->active_domain : c->held_domain;
    return c->active_store ? c->active_store : c->held_domain ? c->cache : NULL;
}

/* The store for domain: the one the call in progress holds (borrowed, not
 * caught up: the call works on it as it is), else the connection's cached
 * one.  Opening another domain's store closes the cached one, so while a
 * call holds it another domain is refused: serving it from a second
 * handle would cost a store load per call for a use no plugin has. */
static int store_for(sb_host *h, const char *domain, bool writable, sb_store **s)
{
    sb_connection *c = sb_host_ctx(h);
    const char *held_domain;
    sb_store *held;

    if (!c || !domain)
        return sb_error_set(SB_ERR_INVALID_ARG, "tree service: no connection or domain");
    if (c->tree_barred)
        return sb_error_set(SB_ERR_OPERATION_INVALID, "plugin '%s': tree service called from %s",
                            c->plugin->name, c->tree_barred);
    if (!(held = held_store(c, &held_domain)))
        return sb_conn_store(c, domain, writable, s);
    if (strcmp(held_domain, domain) != 0)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "plugin '%s': tree service on domain '%s' during an operation on '%s'",
                            c->plugin->name, domain, held_domain);
    if (writable && held == c->cache && !c->cache_writable)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "plugin '%s': tree_update_xml on domain '%s' during a call that "
                            "only reads it", c->plugin->name, domain);
    *s = held;
    return 0;
}

static int node_of(sb_host *h, const char *domain, const char *name, const sb_tree_node **n)
{
    sb_store *s;
    int rc = store_for(h, domain, false, &s);
    if (rc < 0)
        return rc;
    return sb_snap_lookup(s, domain, name, n);
}

static int tree_get_xml(sb_host *h, const char *domain, const char *name, char **out_xml)
{
    const sb_tree_node *n;
    int rc = node_of(h, domain, name, &n);
    if (rc == 0)
        rc = sb_snap_node_xml(n, SB_SNAP_FORMAT_SECURE, out_xml);
    return rc;
}

static int tree_parent(sb_host *h, const char *domain, const char *name, char **out_name)
{
    const sb_tree_node *n;
    int rc = node_of(h, domain, name, &n);
    *out_name = NULL;
    if (rc == 0 && sb_tree_node_parent(n))
        rc = sb_strdup_out(out_name, sb_tree_node_name(sb_tree_node_parent(n)));
    return rc;
}

static int tree_children(sb_host *h, const char *domain, const char *name, char ***out_names,
                         size_t *out_n)
{
    const sb_tree_node **nodes = NULL;
    sb_store *s;
    size_t count;
    int rc = store_for(h, domain, false, &s);

    *out_names = NULL;
    *out_n = 0;
    if (rc == 0 && (rc = sb_tree_list(sb_store_tree(s), name, 0, &nodes, &count)) == 0)
        rc = sb_names_from_nodes(out_names, out_n, nodes, count);
    free(nodes);
    return rc;
}

static int tree_current(sb_host *h, const char *domain, char **out_name)
{
    sb_store *s;
    int rc = store_for(h, domain, false, &s);
    *out_name = NULL;
    if (rc == 0) {
        const sb_tree_node *cur = sb_tree_current(sb_store_tree(s));
        if (cur)
            rc = sb_strdup_out(out_name, sb_tree_node_name(cur));
    }
    return rc;
}

static int tree_list(sb_host *h, const char *domain, char ***out_names, size_t *out_n)
{
    const sb_tree_node **nodes = NULL;
    sb_store *s;
    size_t count;
    int rc = store_for(h, domain, false, &s);
    if (rc == 0 && (rc = sb_tree_list(sb_store_tree(s), NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL,
                                      &nodes, &count)) == 0)
        rc = sb_names_from_nodes(out_names, out_n, nodes, count);
    free(nodes);
    return rc;
}

static int tree_update_xml(sb_host *h, const char *domain, const char *name, const char *xml)
{
    char *canonical = NULL;
    sb_store *s;
    int rc;

    /* Store only what we can read back. */
    if ((rc = sb_snap_canonical(xml, &canonical, NULL)) < 0)
        return rc;
    if ((rc = store_for(h, domain, true, &s)) == 0)
        rc = sb_store_set_xml(s, name, canonical); /* commits at once */
    free(canonical);
    return rc;
}

/* One walk for tree_each and tree_each_versioned: each snapshot's
 * document lent in turn, the stored text itself wherever tree_get_xml
 * would copy it unchanged; exactly one of fn and fn_v is set. */
static int walk(sb_host *h, const char *domain,
                int (*fn)(void *arg, const char *name, const char *xml, size_t len),
                int (*fn_v)(void *arg, const char *name, uint64_t version, const char *xml),
                void *arg)
{
    const sb_tree_node **nodes = NULL;
    sb_connection *c = sb_host_ctx(h);
    sb_store *s;
    size_t count = 0;
    int rc = store_for(h, domain, false, &s);
    if (rc == 0)
        rc = sb_tree_list(sb_store_tree(s), NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, &nodes, &count);
    bool walking = rc == 0; /* then c is a connection (store_for) */
    if (walking)
        c->tree_barred = "the function of a tree_each walk";
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const char *xml;
        char *owned;
        if ((rc = sb_snap_node_xml_lend(nodes[i], SB_SNAP_FORMAT_SECURE, &xml, &owned)) == 0)
            rc = fn ? fn(arg, sb_tree_node_name(nodes[i]), xml, strlen(xml))
                    : fn_v(arg, sb_tree_node_name(nodes[i]), sb_tree_node_version(nodes[i]), xml);
        free(owned);
    }
    if (walking)
        c->tree_barred = NULL;
    free(nodes);
    return rc;
}

static int tree_each(sb_host *h, const char *domain,
                     int (*fn)(void *arg, const char *name, const char *xml, size_t len),
                     void *arg)
{
    return walk(h, domain, fn, NULL, arg);
}

/* The version is the node's (sb_tree_node_version): it changes with the
 * stored XML and with the parent, the two things the lent document is
 * made of (the format flags are always SB_SNAP_FORMAT_SECURE here). */
static int tree_each_versioned(sb_host *h, const char *domain,
                               int (*fn)(void *arg, const char *name, uint64_t version,
                                         const char *xml),
                               void *arg)
{
    return walk(h, domain, NULL, fn, arg);
}

/* The intent of the operation whose store is lent (SB_DOM_DISPATCH) made
 * durable (sb_snap_intent_begin deferred it); outside one, nothing to do. */
static int intent_durable(sb_host *h)
{
    sb_connection *c = sb_host_ctx(h);
    return c && c->active_store ? sb_store_intent_sync(c->active_store) : 0;
}

/* Whether the create being dispatched (create_hypervisor) had no <name>. */
static int create_name_defaulted(sb_host *h)
{
    sb_connection *c = sb_host_ctx(h);
    return c && c->create_name_defaulted;
}

const struct sb_host_tree_ops sb_api_tree_ops = {
    .tree_get_xml = tree_get_xml,
    .tree_parent = tree_parent,
    .tree_children = tree_children,
    .tree_current = tree_current,
    .tree_list = tree_list,
    .tree_update_xml = tree_update_xml,
    .tree_each = tree_each,
    .tree_each_versioned = tree_each_versioned,
    .intent_durable = intent_durable,
    .create_name_defaulted = create_name_defaulted,
};
