/* Disk alignment (libvirt's virDomainSnapshotAlignDisks, §4.3 and §9.6),
 * parametrised by a plugin's policy, plus default external file names. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static const char *plugin_of(const struct sb_align_policy *pol)
{
    return pol->plugin_name ? pol->plugin_name : "this plugin";
}

static const char *loc_name(int loc)
{
    return sb_snap_location_to_string(loc);
}

/* Steps 3.3-3.5 for one listed disk, already matched to dd. */
static int check_listed(sb_snapdisk *sd, const sb_domdisk *dd, const struct sb_align_policy *pol,
                        bool require_match)
{
    if (sd->snapshot == SB_LOCATION_DEFAULT) {
        if (dd->snapshot != SB_LOCATION_DEFAULT &&
            (!require_match || dd->snapshot == SB_LOCATION_NO))
            sd->snapshot = dd->snapshot;
        else
            sd->snapshot = pol->default_location;
    } else {
        if (require_match && sd->snapshot != pol->default_location &&
            !(sd->snapshot == SB_LOCATION_NO && dd->snapshot == SB_LOCATION_NO))
            return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED, "disk '%s' must use snapshot mode '%s'",
                                sd->name, loc_name(pol->default_location));
        /* A plugin that cannot override (ESX) only accepts the mode the
         * domain disk itself declares. */
        if (!pol->allow_override && sd->snapshot != dd->snapshot)
            return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                                "disk '%s': snapshot mode '%s' differs from the domain disk's "
                                "own mode '%s', and %s does not allow per-disk overrides",
                                sd->name, loc_name(sd->snapshot),
                                dd->snapshot ? loc_name(dd->snapshot) : "(none)",
                                plugin_of(pol));
    }
    if (sd->src_path && sd->snapshot != SB_LOCATION_EXTERNAL)
        return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                            "file '%s' for disk '%s' requires use of external snapshot mode",
                            sd->src_path, sd->name);
    return 0;
}

static int fill_unlisted(sb_snapdisk *sd, const sb_domdisk *dd, const struct sb_align_policy *pol)
{
    if (!(sd->name = strdup(dd->target)))
        return sb_error_oom();
    sd->type = SB_SNAPDISK_FILE;
    if (dd->empty)
        sd->snapshot = SB_LOCATION_NO; /* nothing to snapshot in an empty drive */
    else if (dd->readonly && pol->readonly_no)
        sd->snapshot = SB_LOCATION_NO; /* a read-only disk never changes */
    else if (dd->snapshot != SB_LOCATION_DEFAULT && !pol->force_default)
        sd->snapshot = dd->snapshot;
    else
        sd->snapshot = pol->default_location;
    return 0;
}

/* Step 5: "<base>.<snapshot name>" next to the domain disk's image. */
static int assign_external_names(sb_snapdef *def, const sb_domdef *dom)
{
    int rc;
    for (size_t i = 0; i < def->ndisks; i++) {
        sb_snapdisk *sd = &def->disks[i];
        const sb_domdisk *dd = &dom->disks[i];
        struct stat st;
        char *path;

        if (sd->snapshot != SB_LOCATION_EXTERNAL || sd->src_path)
            continue;
        if (sd->type != SB_SNAPDISK_FILE)
            return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                                "cannot generate external snapshot name for disk '%s' on a '%s' "
                                "device", sd->name, sb_snapdisk_type_to_string(sd->type));
        if (!dd->src_path)
            return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                                "cannot generate external snapshot name for disk '%s' without "
                                "source", sd->name);
        if (stat(dd->src_path, &st) < 0 || !S_ISREG(st.st_mode))
            return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                                "source for disk '%s' is not a regular file; refusing to "
                                "generate external snapshot name", sd->name);
        if (!def->name)
            return sb_error_set(SB_ERR_INTERNAL_ERROR,
                                "cannot generate external snapshot name for disk '%s': the "
                                "snapshot has no name", sd->name);
        if ((rc = sb_snap_default_path(dd->src_path, def->name, &path)) < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (def->disks[j].src_path && strcmp(def->disks[j].src_path, path) == 0) {
                rc = sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                                  "cannot generate external snapshot name for disk '%s': "
                                  "collision with disk '%s'", sd->name, def->disks[j].name);
                free(path);
                return rc;
            }
        }
        rc = sb_snapdisk_set_path(sd, path);
        free(path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int align(sb_snapdef *def, const sb_domdef *dom, const struct sb_align_policy *pol)
{
    bool require_match = pol->uniform_internal && pol->default_location == SB_LOCATION_INTERNAL;
    long *slot_of = NULL; /* snapshot disk i -> domain disk index */
    sb_snapdisk *aligned = NULL;
    int rc = 0;

    /* The count check comes before any lookup (§9.6). */
    if (def->ndisks > dom->ndisks)
        return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                            "too many disk snapshot requests for domain '%s' (%zu given, "
                            "%zu disks)", dom->name, def->ndisks, dom->ndisks);
    if (dom->ndisks == 0)
        return 0;
    if (def->ndisks && !(slot_of = calloc(def->ndisks, sizeof(*slot_of))))
        return sb_error_oom();

    for (size_t i = 0; i < def->ndisks; i++) {
        sb_snapdisk *sd = &def->disks[i];
        long idx = sb_domdef_find_disk(dom, sd->name);
        if (idx == -2) {
            rc = sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                              "disk path '%s' matches more than one disk of domain '%s'",
                              sd->name, dom->name);
            goto out;
        }
        if (idx < 0) {
            rc = sb_error_set(SB_ERR_CONFIG_UNSUPPORTED, "no disk named '%s'", sd->name);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (slot_of[j] == idx) {
                rc = sb_error_set(SB_ERR_CONFIG_UNSUPPORTED, "disk '%s' specified twice",
                                  sd->name);
                goto out;
            }
        }
        slot_of[i] = idx;
        if ((rc = check_listed(sd, &dom->disks[idx], pol, require_match)) < 0)
            goto out;
        if (strcmp(sd->name, dom->disks[idx].target) != 0) {
            char *target = strdup(dom->disks[idx].target);
            if (!target) {
                rc = sb_error_oom();
                goto out;
            }
            free(sd->name);
            sd->name = target;
        }
    }

    /* One entry per domain disk, in domain order. */
    if (!(aligned = calloc(dom->ndisks, sizeof(*aligned)))) {
        rc = sb_error_oom();
        goto out;
    }
    for (size_t k = 0; k < dom->ndisks; k++) {
        size_t i;
        for (i = 0; i < def->ndisks && slot_of[i] != (long)k; i++)
            ;
        if (i < def->ndisks) {
            aligned[k] = def->disks[i];
            memset(&def->disks[i], 0, sizeof(def->disks[i]));
        } else if ((rc = fill_unlisted(&aligned[k], &dom->disks[k], pol)) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < def->ndisks; i++)
        sb_snapdisk_clear(&def->disks[i]);
    free(def->disks);
    def->disks = aligned;
    def->ndisks = dom->ndisks;
    aligned = NULL;
    rc = assign_external_names(def, dom);

out:
    if (aligned) {
        for (size_t k = 0; k < dom->ndisks; k++)
            sb_snapdisk_clear(&aligned[k]);
        free(aligned);
    }
    free(slot_of);
    return rc;
}

int sb_snapdef_align_disks(sb_snapdef *def, const sb_domdef *fallback,
                           const struct sb_align_policy *pol)
{
    sb_domdef *own = NULL;
    int rc;

    if (!def || !pol)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapdef_align_disks: NULL argument");
    /* Policy first: such a plugin refuses the entries whatever the domain. */
    if (def->ndisks > 0 && !pol->allow_disk_entries)
        return sb_error_set(SB_ERR_CONFIG_UNSUPPORTED,
                            "per-disk snapshot entries are not supported by %s (disk '%s')",
                            plugin_of(pol), def->disks[0].name);
    const sb_domdef *dom = fallback;
    if (def->domain && def->domain_view) {
        dom = def->domain_view;
    } else if (def->domain) {
        if ((rc = sb_domdef_from_node(xmlDocGetRootElement(def->domain), NULL, &own)) < 0)
            return rc;
        dom = own;
    } else if (!fallback) {
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "missing domain in snapshot '%s'",
                            def->name ? def->name : "");
    }
    rc = align(def, dom, pol);
    sb_domdef_free(own);
    return rc;
}
