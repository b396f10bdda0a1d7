/* The public hierarchy calls of snapbroker.h (export, import): the thin
 * layer (api.h) over hier.h's internal operations. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hier.h"
#include "core/snap.h"
#include "xml/snap_paths.h"

int sb_snapshot_export(char **out_xml, sb_connection *c, const char *domain, const char *from,
                       unsigned flags)
{
    sb_dom d;
    int rc;

    if (!out_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_export: NULL output");
    *out_xml = NULL;
    if (!c)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_export: no connection");
    if (!domain || !*domain)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_export: no domain name");
    if (from && !*from)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_export: empty snapshot name");
    if ((rc = sb_snap_check_xml_flags(c, flags)) < 0 || (rc = sb_snap_check_domain(c, domain)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ | SB_DOM_EXISTS)) == 0)
        rc = sb_snap__export(&d, from, flags, out_xml);
    sb_dom_close(&d);
    return rc;
}

/* The flags a redefine of every entry needs, refused before anything is
 * read when the plugin lacks them (an ESX host cannot redefine at all);
 * undoing a failed import on a hypervisor needs metadata-only deletes. */
static int check_import_plugin(const sb_connection *c, unsigned flags)
{
    unsigned create = SB_SNAPSHOT_CREATE_REDEFINE;
    int rc;

    if (flags & SB_SNAPSHOT_IMPORT_CURRENT)
        create |= SB_SNAPSHOT_CREATE_CURRENT;
    if (flags & SB_SNAPSHOT_IMPORT_VALIDATE)
        create |= SB_SNAPSHOT_CREATE_VALIDATE;
    if ((rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_CREATE, create)) < 0)
        return rc;
    if (!sb_conn_broker_meta(c) &&
        (rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_DELETE,
                                      SB_SNAPSHOT_DELETE_METADATA_ONLY)) < 0) {
        sb_error_prefix("an import could not be undone if an entry failed");
        return rc;
    }
    return 0;
}

int sb_snapshot_import(size_t *out_n, sb_connection *c, const char *domain, const char *xml,
                       size_t len, const char *source, const sb_path_map *maps, size_t nmaps,
                       unsigned flags)
{
    struct sb_import_request rq = {
        .xml = xml, .len = len, .source = source, .maps = maps, .nmaps = nmaps, .flags = flags,
    };
    const unsigned known = SB_SNAPSHOT_IMPORT_CURRENT | SB_SNAPSHOT_IMPORT_VALIDATE;
    char *domain_xml = NULL;
    size_t n = 0;
    sb_dom d = { 0 };
    int rc;

    if (out_n)
        *out_n = 0;
    if (!c)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_import: no connection");
    if (!domain || !*domain)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_import: no domain name");
    if (!xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_import: no XML given");
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                            flags & ~known, "sb_snapshot_import");
    if (nmaps && !maps)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_import: %zu path maps, none given",
                            nmaps);
    if ((rc = sb_path_maps_check(maps, nmaps)) < 0 ||
        (rc = sb_conn_check_writable(c, "importing snapshots")) < 0 ||
        (rc = check_import_plugin(c, flags)) < 0)
        return rc;
    /* the live definition (which also says the domain exists) */
    if ((rc = sb_conn_domain_xml(c, domain, &domain_xml)) < 0)
        return rc;
    rq.domain_xml = domain_xml;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_METADATA_OPERATION | SB_DOM_EXISTS)) == 0)
        rc = sb_snap__import(&d, &rq, &n);
    sb_dom_close(&d);
    free(domain_xml);
    if (rc == 0 && out_n)
        *out_n = n;
    return rc;
}
