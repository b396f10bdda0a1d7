/* sb_snap__revert (snap.h): the broker's rollback-info rule, then the
 * plugin; the target becomes current (§5.2). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"

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

static int revert_broker(sb_dom *d, const char *name, unsigned flags)
{
    sb_connection *c = d->c;
    const char *domain = d->name;
    char *plugin_xml = NULL, *final_xml = NULL;
    const sb_tree_node *n;
    sb_store *s = d->s;
    uint64_t intent;
    bool have_intent = false;
    int rc;

    if ((rc = sb_snap_lookup(s, domain, name, &n)) < 0)
        goto out;
    const char *xml = sb_tree_node_xml(n);
    if (!xml) {
        rc = sb_error_set(SB_ERR_SNAPSHOT_REVERT_RISKY,
                          "snapshot '%s' lacks domain '%s' rollback info", name, domain);
        goto out;
    }
    if ((rc = check_rollback_info(xml, domain, name)) < 0)
        goto out;
    if ((rc = sb_snap_intent_begin(d, "revert", name, xml, &intent)) < 0)
        goto out;
    have_intent = true;
    char *snap_xml;
    if ((rc = sb_snap_node_xml(n, SB_SNAP_FORMAT_SECURE, &snap_xml)) < 0)
        goto out;
    SB_DOM_DISPATCH(rc, d, snapshot_revert, &plugin_xml, c->conn, domain, snap_xml, flags);
    free(snap_xml);
    if (rc < 0)
        goto out;
    /* From here on the guest is reverted: if recording that fails, the
     * intent stays for `check` to report. */
    have_intent = false;
    /* The revert happened: an answer we cannot read keeps the old
     * definition rather than fail it. */
    if (plugin_xml)
        (void)sb_snap_plugin_answer(c, "snapshot_revert", name, plugin_xml, &final_xml, NULL);
    if ((rc = sb_store_begin(s)) < 0 ||
        (final_xml && (rc = sb_store_set_xml(s, name, final_xml)) < 0) ||
        (rc = sb_store_set_current(s, name)) < 0 || (rc = sb_store_intent_end(s, intent)) < 0 ||
        (rc = sb_store_commit(s)) < 0)
        goto out;
out:
    if (sb_store_in_transaction(s))
        sb_store_rollback(s);
    if (have_intent)
        sb_snap_intent_abandon(s, intent);
    free(plugin_xml);
    free(final_xml);
    return rc;
}

int sb_snap__revert(sb_dom *d, const char *name, unsigned flags)
{
    char *xml = NULL, *out_xml = NULL;
    int rc;

    if (d->s)
        return revert_broker(d, name, flags);
    if ((rc = sb_snap__xml(d, name, 0, &xml)) == 0)
        SB_DISPATCH(rc, d->c->plugin, snapshot_revert, &out_xml, d->c->conn, d->name, xml, flags);
    free(xml);
    free(out_xml);
    return rc < 0 ? rc : 0;
}
