/* sb_snapshot_revert: API rules, the broker's rollback-info rule, then the
 * plugin; the target becomes current (§5.2). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"

static int check_revert_flags(const sb_connection *c, unsigned flags)
{
    int rc;

    if ((rc = sb_conn_check_writable(c, "reverting to a snapshot")) < 0)
        return rc;
    if ((rc = sb_snap_check_exclusive(flags, SB_SNAPSHOT_REVERT_RUNNING, "running",
                                      SB_SNAPSHOT_REVERT_PAUSED, "paused")) < 0)
        return rc;
    return sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_REVERT, flags);
}

/* A revert rebuilds the guest from the snapshot's <domain>; without one
 * it cannot be done safely, and FORCE does not change that (§6.1). */
static int check_rollback_info(const char *xml, const char *domain, const char *name)
{
    sb_snapdef *def = NULL;
    int rc = sb_snapdef_parse(xml, strlen(xml), "stored snapshot", SB_SNAP_PARSE_REDEFINE, &def);
    if (rc == 0 && !def->domain)
        rc = sb_error_set(SB_ERR_SNAPSHOT_REVERT_RISKY,
                          "snapshot '%s' lacks domain '%s' rollback info", name, domain);
    sb_snapdef_free(def);
    return rc;
}

static int revert_broker(sb_connection *c, const char *domain, const char *name, unsigned flags)
{
    char *plugin_xml = NULL, *final_xml = NULL;
    const sb_tree_node *n;
    sb_store *s = NULL;
    uint64_t intent;
    bool have_intent = false;
    int rc;

    if ((rc = sb_conn_store(c, domain, true, &s)) < 0 ||
        (rc = sb_conn_operation_begin(c, domain, s)) < 0 ||
        (rc = sb_snap_lookup(s, domain, name, &n)) < 0)
        goto out;
    const char *xml = sb_tree_node_xml(n);
    if (!xml) {
        rc = sb_error_set(SB_ERR_SNAPSHOT_REVERT_RISKY,
                          "snapshot '%s' lacks domain '%s' rollback info", name, domain);
        goto out;
    }
    if ((rc = check_rollback_info(xml, domain, name)) < 0)
        goto out;
    if ((rc = sb_store_intent_begin(s, "revert", name, xml, &intent)) < 0)
        goto out;
    have_intent = true;
    char *snap_xml;
    if ((rc = sb_snap_node_xml(n, SB_SNAP_FORMAT_SECURE, &snap_xml)) < 0)
        goto out;
    c->active_store = s;
    c->active_domain = domain;
    SB_DISPATCH(rc, c->plugin, snapshot_revert, &plugin_xml, c->conn, domain, snap_xml, flags);
    c->active_store = NULL;
    c->active_domain = NULL;
    free(snap_xml);
    if (rc < 0)
        goto out;
    /* From here on the guest is reverted: if recording that fails, the
     * intent stays for `check` to report. */
    have_intent = false;
    if (plugin_xml && sb_snap_canonical(plugin_xml, &final_xml, NULL) < 0) {
        /* The revert happened; keep the old definition rather than fail. */
        sb_error_clear();
        final_xml = NULL;
    }
    if ((rc = sb_store_begin(s)) < 0 ||
        (final_xml && (rc = sb_store_set_xml(s, name, final_xml)) < 0) ||
        (rc = sb_store_set_current(s, name)) < 0 || (rc = sb_store_intent_end(s, intent)) < 0 ||
        (rc = sb_store_commit(s)) < 0)
        goto out;
out:
    if (s && sb_store_in_transaction(s))
        sb_store_rollback(s);
    if (have_intent)
        sb_snap_intent_abandon(s, intent);
    free(plugin_xml);
    free(final_xml);
    sb_conn_operation_end(s);
    sb_conn_store_release(c, s);
    return rc;
}

int sb_snapshot_revert(sb_connection *c, const char *domain, const char *name, unsigned flags)
{
    char *xml = NULL, *out_xml = NULL;
    int rc;

    if ((rc = sb_snap_check_args(c, domain, name, true, "sb_snapshot_revert")) < 0 ||
        (rc = check_revert_flags(c, flags)) < 0)
        return rc;
    if (sb_conn_broker_meta(c))
        return revert_broker(c, domain, name, flags);
    SB_DISPATCH(rc, c->plugin, snapshot_get_xml, &xml, c->conn, domain, name, 0);
    if (rc >= 0)
        SB_DISPATCH(rc, c->plugin, snapshot_revert, &out_xml, c->conn, domain, xml, flags);
    free(xml);
    free(out_xml);
    return rc < 0 ? rc : 0;
}
