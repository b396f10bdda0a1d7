/* sb_snapshot_create_xml: the API rules, then one of three paths:
 *   - REDEFINE with broker-owned metadata: metadata only, in the store;
 *   - create with broker-owned metadata: intent, plugin, store;
 *   - hypervisor-owned metadata: normalized XML to the plugin, which is
 *     the source of truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"
#include "plugin/log.h"
#include "store/names.h"

/* §2: the checks libvirt's API layer makes before any driver runs. */
static int check_create_flags(const sb_connection *c, unsigned flags)
{
    int rc;

    if ((rc = sb_conn_check_writable(c, "creating a snapshot")) < 0)
        return rc;
    if ((flags & SB_SNAPSHOT_CREATE_CURRENT) && !(flags & SB_SNAPSHOT_CREATE_REDEFINE))
        return sb_error_set(SB_ERR_INVALID_ARG, "flag 'current' requires flag 'redefine'");
    if ((rc = sb_snap_check_exclusive(flags, SB_SNAPSHOT_CREATE_REDEFINE, "redefine",
                                      SB_SNAPSHOT_CREATE_NO_METADATA, "no-metadata")) < 0 ||
        (rc = sb_snap_check_exclusive(flags, SB_SNAPSHOT_CREATE_REDEFINE, "redefine",
                                      SB_SNAPSHOT_CREATE_HALT, "halt")) < 0 ||
        (rc = sb_snap_check_exclusive(flags, SB_SNAPSHOT_CREATE_REDEFINE, "redefine",
                                      SB_SNAPSHOT_CREATE_LIVE, "live")) < 0)
        return rc;
    return sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_CREATE, flags);
}

/* Name rules of the plugin and of the store (§4.1). */
static int check_name(const sb_connection *c, const char *name, unsigned flags)
{
    /* Names are at most SB_NAME_MAX bytes everywhere in snapbroker (the
     * public sb_snapshot_info holds one); a plugin may only lower that. */
    uint32_t max = c->caps->name_max && c->caps->name_max < SB_NAME_MAX
                       ? c->caps->name_max
                       : SB_NAME_MAX;
    int rc;

    if (strlen(name) > max)
        return sb_error_set(SB_ERR_XML_DETAIL,
                            "snapshot name '%.40s...' is longer than %u bytes (plugin '%s')",
                            name, max, c->plugin->name);
    if (sb_conn_broker_meta(c) && !(flags & SB_SNAPSHOT_CREATE_NO_METADATA) &&
        (rc = sb_name_check_snapshot(name)) < 0)
        return rc;
    return 0;
}

static int check_limits(const sb_connection *c, const sb_tree *t, const char *parent)
{
    const struct sb_plugin_caps *caps = c->caps;

    if (caps->max_snapshots && sb_tree_count(t) >= caps->max_snapshots)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "domain already has %zu snapshots, the most plugin '%s' allows",
                            sb_tree_count(t), c->plugin->name);
    if (caps->max_depth && parent) {
        size_t depth = 1;
        for (const sb_tree_node *n = sb_tree_lookup(t, parent); n; n = sb_tree_node_parent(n))
            depth++;
        if (depth > caps->max_depth)
            return sb_error_set(SB_ERR_OPERATION_INVALID,
                                "snapshot would be %zu deep, deeper than plugin '%s' allows (%u)",
                                depth, c->plugin->name, caps->max_depth);
    }
    return 0;
}

static int redefine_broker(sb_connection *c, sb_store *s, struct sb_snap_request *rq,
                           char **out_name)
{
    sb_snapdef *def = NULL, *old = NULL;
    bool taken = false;
    char *xml = NULL;
    int rc;

    if ((rc = sb_store_begin(s)) < 0)
        return rc;
    /* A first parse for what the tree checks need (name, parent, state):
     * libvirt validates the relation (§5.4 items 1 and 4) before it
     * aligns disks, so its error wins over an alignment error. */
    if ((rc = sb_snapdef_parse(rq->xml, strlen(rq->xml), NULL, SB_SNAP_PARSE_REDEFINE, &def)) < 0)
        goto out;
    sb_tree_snapshot peek = sb_snap_tree_entry(def, NULL);
    if ((rc = sb_tree_redefine_check(sb_store_tree(s), &peek)) < 0)
        goto out;
    const sb_tree_node *existing = sb_tree_lookup(sb_store_tree(s), def->name);
    sb_snapdef_free(def);
    def = NULL;
    if (existing && sb_tree_node_xml(existing)) {
        const char *oxml = sb_tree_node_xml(existing);
        if ((rc = sb_snapdef_parse(oxml, strlen(oxml), "stored snapshot",
                                   SB_SNAP_PARSE_REDEFINE, &old)) < 0)
            goto out;
        rq->stored_domain = old->domain;
    }
    rq->stored_domain_taken = &taken;
    rc = sb_snap_prepare(&def, c, rq);
    /* prepare owns the stored <domain> once it took it, success or not. */
    if (taken)
        old->domain = NULL;
    if (rc < 0)
        goto out;
    if ((rc = check_name(c, def->name, rq->flags)) < 0)
        goto out;
    if ((rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &xml)) < 0)
        goto out;
    sb_tree_snapshot e = sb_snap_tree_entry(def, xml);
    if ((rc = sb_store_redefine(s, &e)) < 0)
        goto out;
    if ((rq->flags & SB_SNAPSHOT_CREATE_CURRENT) && (rc = sb_store_set_current(s, def->name)) < 0)
        goto out;
    if ((rc = sb_store_commit(s)) < 0)
        goto out;
    if (out_name)
        rc = sb_strdup_out(out_name, def->name);
out:
    if (sb_store_in_transaction(s))
        sb_store_rollback(s);
    free(xml);
    sb_snapdef_free(def);
    sb_snapdef_free(old);
    return rc;
}

static int create_broker(sb_connection *c, sb_store *s, struct sb_snap_request *rq,
                         char **out_name)
{
    sb_snapdef *def = NULL, *final_def = NULL;
    char *xml = NULL, *plugin_xml = NULL, *final_xml = NULL;
    uint64_t intent = 0;
    bool have_intent = false, touched = false;
    int rc;

    if ((rc = sb_snap_prepare(&def, c, rq)) < 0)
        goto out;
    if ((rc = check_name(c, def->name, rq->flags)) < 0)
        goto out;
    /* The caller holds the domain's operation lock, so the duplicate check
     * and the parent stay true until the snapshot is recorded. */
    const sb_tree *t = sb_store_tree(s);
    const sb_tree_node *cur = sb_tree_current(t);
    bool no_meta = rq->flags & SB_SNAPSHOT_CREATE_NO_METADATA;
    if (!no_meta) {
        if (sb_tree_lookup(t, def->name)) {
            rc = sb_error_set(SB_ERR_OPERATION_FAILED, "snapshot '%s' already exists in domain '%s'",
                              def->name, rq->domain);
            goto out;
        }
        if ((rc = check_limits(c, t, cur ? sb_tree_node_name(cur) : NULL)) < 0)
            goto out;
    }
    free(def->parent);
    def->parent = NULL;
    if (cur && !(def->parent = strdup(sb_tree_node_name(cur)))) {
        rc = sb_error_oom();
        goto out;
    }
    if ((rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &xml)) < 0)
        goto out;
    /* The intent carries the full definition (parent included), so a
     * reconciler can adopt the snapshot.  NO_METADATA snapshots get none:
     * the metadata is never to know them, crash or not. */
    if (!no_meta) {
        if ((rc = sb_store_intent_begin(s, "create", def->name, xml, &intent)) < 0)
            goto out;
        have_intent = true;
    }

    c->active_store = s;
    c->active_domain = rq->domain;
    SB_DISPATCH(rc, c->plugin, snapshot_create, &plugin_xml, c->conn, rq->domain, xml, rq->flags);
    c->active_store = NULL;
    c->active_domain = NULL;
    if (rc < 0)
        goto out;
    /* The hypervisor has the snapshot now.  If recording it fails below,
     * the intent stays so that `check` can adopt it. */
    touched = true;

    const sb_snapdef *stored = def;
    if (plugin_xml) {
        /* The snapshot exists now: a result we cannot read must not make
         * us forget it, so fall back to what we asked for. */
        if (sb_snap_canonical(plugin_xml, &final_xml, &final_def) == 0 &&
            strcmp(final_def->name, def->name) == 0) {
            stored = final_def;
        } else {
            sb_log_write(SB_LOG_WARN, "broker",
                         "plugin '%s' returned an unusable definition for snapshot '%s' (%s); "
                         "keeping the requested one",
                         c->plugin->name, def->name,
                         sb_error_is_set() ? sb_error_last()->message : "renamed");
            sb_error_clear();
            free(final_xml);
            final_xml = NULL;
        }
    }
    if (!(rq->flags & SB_SNAPSHOT_CREATE_NO_METADATA)) {
        sb_tree_snapshot e = sb_snap_tree_entry(stored, final_xml ? final_xml : xml);
        e.parent = def->parent;
        if ((rc = sb_store_begin(s)) < 0 || (rc = sb_store_add(s, &e)) < 0 ||
            (rc = sb_store_set_current(s, def->name)) < 0 ||
            (rc = sb_store_intent_end(s, intent)) < 0 || (rc = sb_store_commit(s)) < 0)
            goto out;
        have_intent = false;
    }
    if (out_name)
        rc = sb_strdup_out(out_name, def->name);
out:
    if (sb_store_in_transaction(s))
        sb_store_rollback(s);
    /* Failed before the hypervisor changed: nothing to reconcile. */
    if (have_intent && !touched)
        sb_snap_intent_abandon(s, intent);
    free(xml);
    free(plugin_xml);
    free(final_xml);
    sb_snapdef_free(def);
    sb_snapdef_free(final_def);
    return rc;
}

/* The plugin's limits when the hypervisor keeps the tree: asked through
 * the plugin's own listing and parent calls. */
static int check_limits_hypervisor(sb_connection *c, const char *domain)
{
    const struct sb_plugin_caps *caps = c->caps;
    char *name = NULL, *parent = NULL;
    size_t n = 0, depth = 1;
    int rc;

    if (caps->max_snapshots) {
        if ((rc = sb_snapshot_count(&n, c, domain, NULL, 0)) < 0)
            return rc;
        if (n >= caps->max_snapshots)
            return sb_error_set(SB_ERR_OPERATION_INVALID,
                                "domain already has %zu snapshots, the most plugin '%s' allows",
                                n, c->plugin->name);
    }
    if (!caps->max_depth || sb_snapshot_current(&name, c, domain) < 0) {
        sb_error_clear(); /* no current snapshot: the new one is a root */
        return 0;
    }
    while (name && depth <= caps->max_depth) {
        depth++;
        if (sb_snapshot_parent(&parent, c, domain, name) < 0)
            parent = NULL;
        free(name);
        name = parent;
    }
    free(name);
    sb_error_clear();
    if (depth > caps->max_depth)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "snapshot would be deeper than plugin '%s' allows (%u)",
                            c->plugin->name, caps->max_depth);
    return 0;
}

/* Hypervisor-owned metadata: the plugin gets the normalized XML. */
static int create_hypervisor(sb_connection *c, struct sb_snap_request *rq, char **out_name)
{
    sb_snapdef *def = NULL;
    char *xml = NULL, *plugin_xml = NULL;
    int rc;

    if ((rc = sb_snap_prepare(&def, c, rq)) < 0)
        return rc;
    if (!(rq->flags & SB_SNAPSHOT_CREATE_REDEFINE) &&
        (rc = check_limits_hypervisor(c, rq->domain)) < 0)
        goto out;
    if ((rc = check_name(c, def->name, rq->flags)) < 0 ||
        (rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &xml)) < 0)
        goto out;
    SB_DISPATCH(rc, c->plugin, snapshot_create, &plugin_xml, c->conn, rq->domain, xml, rq->flags);
    if (rc >= 0 && out_name)
        rc = sb_strdup_out(out_name, def->name);
out:
    free(xml);
    free(plugin_xml);
    sb_snapdef_free(def);
    return rc < 0 ? rc : 0;
}

int sb_snapshot_create_xml(char **out_name, sb_connection *c, const char *domain,
                           const char *xml, unsigned flags)
{
    struct sb_snap_request rq = { .domain = domain, .xml = xml, .flags = flags };
    char *domain_xml = NULL;
    sb_store *s = NULL;
    int rc;

    if (out_name)
        *out_name = NULL;
    if ((rc = sb_snap_check_args(c, domain, NULL, false, "sb_snapshot_create_xml")) < 0)
        return rc;
    if (!xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_create_xml: no XML given");
    if ((rc = check_create_flags(c, flags)) < 0)
        return rc;
    if ((rc = sb_conn_domain_xml(c, domain, &domain_xml)) < 0 ||
        (rc = sb_conn_domain_state(c, domain, &rq.domain_state)) < 0)
        goto out;
    rq.domain_xml = domain_xml;

    if (!sb_conn_broker_meta(c)) {
        rc = create_hypervisor(c, &rq, out_name);
        goto out;
    }
    if ((rc = sb_conn_store(c, domain, true, &s)) < 0 ||
        (rc = sb_conn_operation_begin(c, domain, s)) < 0)
        goto out;
    if (flags & SB_SNAPSHOT_CREATE_REDEFINE)
        rc = redefine_broker(c, s, &rq, out_name);
    else
        rc = create_broker(c, s, &rq, out_name);
out:
    sb_conn_operation_end(s);
    sb_conn_store_release(c, s);
    free(domain_xml);
    return rc < 0 ? rc : 0;
}
