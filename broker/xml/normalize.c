/* sb_xml_normalize(): parse -> defaults -> alignment -> canonical format,
 * with the create/redefine rules of §4 and qemu's combination table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "snapbroker/xml.h"
#include "xml/snapdef.h"

static struct sb_align_policy policy_from(const sb_normalize_opts *o, int default_location)
{
    struct sb_align_policy p = {
        .default_location = o->default_location ? o->default_location : default_location,
        .uniform_internal = !o->mixed_locations,
        .force_default = o->force_default,
        .allow_override = !o->no_override,
        .allow_disk_entries = !o->no_disk_entries,
        .readonly_no = o->readonly_no,
        .plugin_name = o->plugin_name,
    };
    return p;
}

/* Create mode: the fields a driver fills in (§4.1, §4.2, §4.4). */
static int create_defaults(sb_snapdef *def, const sb_normalize_opts *o)
{
    def->creation_time = o->creation_time ? o->creation_time : (long long)time(NULL);
    def->has_creation_time = true;
    if (!def->name) {
        char num[32];
        snprintf(num, sizeof(num), "%lld", def->creation_time);
        if (!(def->name = strdup(num)))
            return sb_error_oom();
        def->name_defaulted = true;
    }
    if (o->disk_only)
        def->state = o->offline ? SB_STATE_SHUTOFF : SB_STATE_DISK_SNAPSHOT;
    else
        def->state = o->offline ? SB_STATE_SHUTOFF : SB_STATE_RUNNING;
    /* The parser already refused memory state for offline/disk-only. */
    if (def->memory == SB_LOCATION_DEFAULT)
        def->memory = (o->offline || o->disk_only) ? SB_LOCATION_NO : SB_LOCATION_INTERNAL;
    return 0;
}

int sb_snapdef_normalize(sb_snapdef *def, const sb_normalize_opts *o)
{
    int default_location;
    int rc;

    if (o->redefine) {
        if (o->disk_only && def->state != SB_STATE_DISK_SNAPSHOT)
            return sb_error_set(SB_ERR_INVALID_ARG,
                                "disk-only flag for snapshot '%s' requires disk-snapshot state",
                                def->name);
        default_location = (def->state == SB_STATE_DISK_SNAPSHOT || sb_snapdef_is_external(def))
                               ? SB_LOCATION_EXTERNAL
                               : SB_LOCATION_INTERNAL;
    } else {
        if ((rc = create_defaults(def, o)) < 0)
            return rc;
        default_location = (o->disk_only || def->memory == SB_LOCATION_EXTERNAL)
                               ? SB_LOCATION_EXTERNAL
                               : SB_LOCATION_INTERNAL;
    }

    struct sb_align_policy pol = policy_from(o, default_location);
    if (o->redefine && o->domain_xml) {
        /* the domain the snapshot is redefined for, as snapshot-create
         * --redefine checks it: the snapshot must bring its own <domain>
         * (a new redefine without one fails at alignment, as in libvirt
         * 9.0) with this domain's uuid */
        sb_domdef *dom = NULL;
        if ((rc = sb_domdef_parse(o->domain_xml, strlen(o->domain_xml), &dom)) < 0)
            return rc;
        rc = sb_snapdef_check_domain_uuid(def, dom->name, dom->uuid);
        sb_domdef_free(dom);
        if (rc < 0)
            return rc;
    } else if (!def->domain && o->domain_xml &&
               (rc = sb_snapdef_set_domain(def, o->domain_xml)) < 0) {
        return rc;
    }
    /* A backend without per-disk entries (ESX) decides about every disk
     * itself: only an entry given anyway is the policy's business (refused
     * there); nothing is filled in, no file name generated. */
    if (!pol.allow_disk_entries && def->ndisks == 0)
        return 0;
    /* A create without any domain cannot be aligned: the broker aligns it
     * later against the live definition.  A redefine always needs one. */
    if (!def->domain && !o->redefine) {
        if (def->ndisks && !pol.allow_disk_entries)
            return sb_snapdef_align_disks(def, NULL, &pol);
        return 0;
    }
    return sb_snapdef_align_disks(def, NULL, &pol);
}

int sb_xml_normalize(const char *xml, size_t len, const char *source_name,
                     const sb_normalize_opts *opts, char **out_xml)
{
    static const sb_normalize_opts defaults;
    const sb_normalize_opts *o = opts ? opts : &defaults;
    unsigned pflags = 0;
    sb_snapdef *def = NULL;
    int rc;

    if (!out_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_xml_normalize: out_xml is NULL");
    *out_xml = NULL;
    if (!xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_xml_normalize: no XML given");
    if (o->running && o->offline)
        return sb_error_set(SB_ERR_INVALID_ARG, "'running' and 'offline' are mutually exclusive");

    if (o->validate)
        pflags |= SB_SNAP_PARSE_VALIDATE;
    if (o->redefine)
        pflags |= SB_SNAP_PARSE_REDEFINE;
    else if (o->offline || o->disk_only)
        pflags |= SB_SNAP_PARSE_OFFLINE;

    if ((rc = sb_snapdef_parse(xml, len, source_name, pflags, &def)) < 0)
        return rc;
    if ((rc = sb_snapdef_normalize(def, o)) == 0)
        rc = sb_snapdef_format(def, o->secure ? SB_SNAP_FORMAT_SECURE : 0, out_xml);
    sb_snapdef_free(def);
    return rc;
}
