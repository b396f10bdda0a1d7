/* Turning a caller's <domainsnapshot> into the normalized definition a
 * plugin receives: parse mode, defaults, state and disk alignment, all
 * parametrised by the plugin's capabilities. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "snapbroker/xml.h"
#include "xml/snapdef.h"

static bool domain_active(int state)
{
    return state != SB_DOMAIN_SHUTOFF && state != SB_DOMAIN_NOSTATE &&
           state != SB_DOMAIN_CRASHED;
}

/* §4.4: a snapshot's state is the guest's state, or disk-snapshot for a
 * disk-only snapshot of an active guest. */
static int snapshot_state_for(int domain_state, bool disk_only)
{
    if (domain_state == SB_DOMAIN_CRASHED)
        return SB_STATE_CRASHED; /* offline, but libvirt keeps the state */
    if (!domain_active(domain_state))
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
    o->plugin_name = p->name;
}

/* The uuid of a domain definition, NULL when it has none. */
static int domain_uuid(const char *domain_xml, char **out)
{
    sb_domdef *dom = NULL;
    int rc;

    *out = NULL;
    if ((rc = sb_domdef_parse(domain_xml, strlen(domain_xml), &dom)) < 0)
        return rc;
    if (dom->uuid && !(*out = strdup(dom->uuid)))
        rc = sb_error_oom();
    sb_domdef_free(dom);
    return rc;
}

/* §5.4 item 3: a redefined snapshot's <domain> must be this domain. */
static int check_same_domain(const sb_snapdef *def, const char *domain, const char *live_xml)
{
    char *live_uuid = NULL;
    sb_domdef *snap_dom = NULL;
    int rc;

    if (!def->domain && !def->domain_uuid)
        return 0;
    if ((rc = domain_uuid(live_xml, &live_uuid)) < 0)
        return rc;
    const char *snap_uuid = def->domain_uuid;
    if (def->domain) {
        if ((rc = sb_domdef_from_node(xmlDocGetRootElement(def->domain), NULL, &snap_dom)) < 0)
            goto out;
        snap_uuid = snap_dom->uuid;
    }
    if (live_uuid && snap_uuid && strcasecmp(live_uuid, snap_uuid) != 0)
        rc = sb_error_set(SB_ERR_INVALID_ARG,
                          "definition for snapshot '%s' must use uuid %s of domain '%s', not %s",
                          def->name, live_uuid, domain, snap_uuid);
out:
    sb_domdef_free(snap_dom);
    free(live_uuid);
    return rc;
}

int sb_snap_prepare(sb_snapdef **out, const sb_connection *c, const struct sb_snap_request *rq)
{
    const struct sb_plugin_caps *caps = c->caps;
    bool redefine = (rq->flags & SB_SNAPSHOT_CREATE_REDEFINE) ||
                    caps->create_parse == SB_CREATE_PARSE_REDEFINE;
    bool disk_only = rq->flags & SB_SNAPSHOT_CREATE_DISK_ONLY;
    bool active = domain_active(rq->domain_state);
    sb_normalize_opts o = { 0 };
    unsigned pflags = 0;
    sb_snapdef *def = NULL;
    int rc;

    *out = NULL;
    if (rq->flags & SB_SNAPSHOT_CREATE_VALIDATE)
        pflags |= SB_SNAP_PARSE_VALIDATE;
    if (redefine)
        pflags |= SB_SNAP_PARSE_REDEFINE | SB_SNAP_PARSE_SCHEMA_AFTER;
    else if (disk_only || !active)
        pflags |= SB_SNAP_PARSE_OFFLINE;
    if ((rc = sb_snapdef_parse(rq->xml, strlen(rq->xml), NULL, pflags, &def)) < 0)
        return rc;

    sb_snap_policy_opts(c->plugin, c->caps, &o);
    o.redefine = redefine;
    o.disk_only = disk_only;
    o.running = active;
    o.offline = !active;
    if (redefine && !(rq->flags & SB_SNAPSHOT_CREATE_REDEFINE)) {
        /* A plugin that parses every create as a redefine (VirtualBox)
         * still takes a new snapshot of the live domain: align with it. */
        o.domain_xml = rq->domain_xml;
        if ((rc = check_same_domain(def, rq->domain, rq->domain_xml)) < 0)
            goto fail;
    } else if (redefine) {
        /* Re-redefining an existing snapshot without <domain> keeps the
         * stored one (§9.2); a new one must bring its own. */
        if (!def->domain && rq->stored_domain) {
            def->domain = rq->stored_domain;
            *rq->stored_domain_taken = true;
        }
        if ((rc = check_same_domain(def, rq->domain, rq->domain_xml)) < 0)
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
    sb_snapdef_free(def);
    return rc;
}
