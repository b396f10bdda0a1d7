/* Turning a caller's <domainsnapshot> into the normalized definition a
 * plugin receives: parse mode, defaults, state and disk alignment, all
 * parametrised by the plugin's capabilities. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "snapbroker/xml.h"
#include "xml/schema.h"
#include "xml/snap_paths.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

/* §4.4: a snapshot's state is the guest's state, or disk-snapshot for a
 * disk-only snapshot of an active guest. */
static int snapshot_state_for(int domain_state, bool disk_only)
{
    if (domain_state == SB_DOMAIN_CRASHED)
        return SB_STATE_CRASHED; /* offline, but libvirt keeps the state */
    if (!sb_domain_state_active(domain_state))
        return SB_STATE_SHUTOFF;
    if (disk_only)
        return SB_STATE_DISK_SNAPSHOT;
    return domain_state; /* the enums share values 1..7 */
}

void sb_snap_policy_opts(const sb_loaded_plugin *p, const struct sb_plugin_caps *caps,
                         sb_normalize_opts *o)
{
    /* Only a plugin whose disks default to external changes the rule;
     * DISK_ONLY and external memory make disks external anyway (§4.3). */
    if (caps->default_location == SB_LOCATION_EXTERNAL)
        o->default_location = SB_LOCATION_EXTERNAL;
    o->mixed_locations = !caps->uniform_internal;
    o->no_override = caps->disk_override == SB_DISK_OVERRIDE_MATCH;
    o->no_disk_entries = caps->disk_override == SB_DISK_OVERRIDE_NONE;
    o->readonly_no = caps->readonly_unlisted_no != 0;
    o->plugin_name = p->name;
}

/* §5.4 item 3: a redefined snapshot's <domain> must be this domain (the
 * rule is the XML engine's, shared with xml-normalize --redefine). */
static int check_same_domain(sb_connection *c, const sb_snapdef *def, const char *domain,
                             const char *live_xml)
{
    const char *live_uuid;
    int rc;

    if (!def->domain && !def->domain_uuid)
        return 0;
    if ((rc = sb_conn_live_uuid(c, domain, live_xml, &live_uuid)) < 0)
        return rc;
    return sb_snapdef_check_domain_uuid(def, domain, live_uuid);
}

/* A redefine (and a plugin that parses every create as one) does not
 * look at the live guest's state.  A disk-only create needs only
 * active-or-not: the parse and the defaults are those of an offline
 * snapshot either way, and the snapshot's state is disk-snapshot for a
 * guest that runs in any form, shutoff otherwise; a plugin of ABI 1.2
 * tells that without a hypervisor round trip (the qemu plugin: its QEMU
 * is alive, where the state query is a second monitor connection beside
 * the create's own).  Any other create records running or paused in the
 * intent's copy of the definition, the one a recovery adopts, so it asks
 * the full state.  A guest that stops or starts right after the answer is
 * the create's business either way: the plugin decides the state again
 * under its own lock, on its own connection, and the qemu plugin returns
 * it in the definition the broker stores. */
int sb_snap_request_state(sb_connection *c, const char *domain, unsigned flags, int *out_state)
{
    int active, rc;

    *out_state = SB_DOMAIN_NOSTATE;
    if ((flags & SB_SNAPSHOT_CREATE_REDEFINE) || c->caps->create_parse == SB_CREATE_PARSE_REDEFINE)
        return 0;
    if (!(flags & SB_SNAPSHOT_CREATE_DISK_ONLY) ||
        !sb_dispatch_has(c->plugin, SB_OP_DOMAIN_IS_ACTIVE))
        return sb_conn_domain_state(c, domain, out_state);
    if ((rc = sb_conn_domain_active(c, domain, &active)) < 0)
        return rc;
    *out_state = active ? SB_DOMAIN_RUNNING : SB_DOMAIN_SHUTOFF;
    return 0;
}

/* Parse rq->xml with pflags; the request's after_parse hook runs on the
 * result: one parse of the document for both. */
static int parse_request(sb_snapdef **out, struct sb_snap_request *rq, unsigned pflags)
{
    xmlDoc *doc = NULL;
    sb_snapdef *def = NULL;
    int rc;

    *out = NULL;
    if ((rc = sb_xml_read(rq->xml, strlen(rq->xml), NULL, &doc)) < 0)
        return rc;
    rc = sb_snapdef_parse_doc(&doc, NULL, pflags, &def);
    if (rc == 0 && rq->after_parse)
        rc = rq->after_parse(rq, def);
    if (rc < 0) {
        sb_snapdef_free(def);
        return rc;
    }
    *out = def;
    return 0;
}

int sb_snap_prepare(sb_snapdef **out, sb_connection *c, const char *domain,
                    struct sb_snap_request *rq)
{
    const struct sb_plugin_caps *caps = c->caps;
    bool redefine = (rq->flags & SB_SNAPSHOT_CREATE_REDEFINE) ||
                    caps->create_parse == SB_CREATE_PARSE_REDEFINE;
    bool disk_only = rq->flags & SB_SNAPSHOT_CREATE_DISK_ONLY;
    bool active = !redefine && sb_domain_state_active(rq->domain_state);
    sb_normalize_opts o = { 0 };
    unsigned pflags = 0;
    sb_snapdef *def = NULL;
    int rc;

    *out = NULL;
    if (rq->flags & SB_SNAPSHOT_CREATE_VALIDATE)
        pflags |= SB_SNAP_PARSE_VALIDATE;
    if (redefine)
        pflags |= SB_SNAP_PARSE_REDEFINE;
    else if (disk_only || !active)
        pflags |= SB_SNAP_PARSE_OFFLINE;
    if ((rc = parse_request(&def, rq, pflags)) < 0 ||
        (rc = sb_snapdef_map_paths(def, rq->maps, rq->nmaps)) < 0)
        goto fail;

    sb_snap_policy_opts(c->plugin, c->caps, &o);
    o.redefine = redefine;
    o.disk_only = disk_only;
    o.running = active;
    o.offline = !active;
    if (redefine && !(rq->flags & SB_SNAPSHOT_CREATE_REDEFINE)) {
        /* A plugin that parses every create as a redefine (VirtualBox)
         * still takes a new snapshot of the live domain: align with it. */
        if ((rc = check_same_domain(c, def, domain, rq->domain_xml)) < 0 ||
            (!def->domain && rq->domain_xml &&
             (rc = sb_snapdef_set_domain(def, rq->domain_xml)) < 0))
            goto fail;
    } else if (redefine) {
        /* Re-redefining an existing snapshot without <domain> keeps the
         * stored one (§9.2); a new one must bring its own. */
        if (!def->domain && rq->stored_domain) {
            def->domain = rq->stored_domain;
            rq->stored_domain = NULL;
        }
        if ((rc = check_same_domain(c, def, domain, rq->domain_xml)) < 0)
            goto fail;
    } else {
        o.domain_xml = rq->domain_xml;
    }
    if ((rc = sb_snapdef_normalize(def, &o)) < 0)
        goto fail;
    if (!redefine)
        def->state = snapshot_state_for(rq->domain_state, disk_only);
    *out = def;
    return 0;
fail:
    xmlFreeDoc(rq->stored_domain);
    rq->stored_domain = NULL;
    sb_snapdef_free(def);
    return rc;
}
