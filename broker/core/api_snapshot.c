/* The public snapshot calls of snapbroker.h: the thin layer (api.h).
 * Each checks its arguments and flags (libvirt's API-layer rules, §2),
 * opens the domain once, runs one internal operation (snap.h), closes. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"

static int check_args(const sb_connection *c, const char *domain, const char *name,
                      bool need_name, const char *func)
{
    if (!c)
        return sb_error_set(SB_ERR_INVALID_ARG, "%s: no connection", func);
    if (!domain || !*domain)
        return sb_error_set(SB_ERR_INVALID_ARG, "%s: no domain name", func);
    if (need_name && (!name || !*name))
        return sb_error_set(SB_ERR_INVALID_ARG, "%s: no snapshot name", func);
    return 0;
}

/* from: a listing from a snapshot, whose bit 0 is DESCENDANTS (named so
 * in messages). */
static int check_list_flags(const sb_connection *c, const char *from, unsigned flags)
{
    if (flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags 0x%x for snapshot listing",
                            flags & ~(unsigned)SB_SNAPSHOT_LIST_ALL);
    return sb_dispatch_check_flags(c->plugin, c->caps,
                                   from ? SB_VERB_LIST_CHILDREN : SB_VERB_LIST, flags);
}

static int check_create_flags(const sb_connection *c, unsigned flags)
{
    int rc;

    if ((rc = sb_conn_check_writable(c, "creating a snapshot")) < 0)
        return rc;
    if ((flags & SB_SNAPSHOT_CREATE_CURRENT) && !(flags & SB_SNAPSHOT_CREATE_REDEFINE))
        return sb_error_set(SB_ERR_INVALID_ARG, "flag %s requires flag %s",
                            sb_flag_name(SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_CURRENT),
                            sb_flag_name(SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_REDEFINE));
    if ((rc = sb_snap_check_exclusive(flags, SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_REDEFINE,
                                      SB_SNAPSHOT_CREATE_NO_METADATA)) < 0 ||
        (rc = sb_snap_check_exclusive(flags, SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_REDEFINE,
                                      SB_SNAPSHOT_CREATE_HALT)) < 0 ||
        (rc = sb_snap_check_exclusive(flags, SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_REDEFINE,
                                      SB_SNAPSHOT_CREATE_LIVE)) < 0)
        return rc;
    return sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_CREATE, flags);
}

int sb_snapshot_create_xml(char **out_name, sb_connection *c, const char *domain,
                           const char *xml, unsigned flags)
{
    struct sb_snap_request rq = { .xml = xml, .flags = flags };
    char *domain_xml = NULL;
    sb_dom d = { 0 };
    int rc;

    if (out_name)
        *out_name = NULL;
    if ((rc = check_args(c, domain, NULL, false, __func__)) < 0)
        return rc;
    if (!xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_create_xml: no XML given");
    if ((rc = check_create_flags(c, flags)) < 0)
        return rc;
    /* The live definition (which also says the domain exists), and its
     * state as far as the request depends on it. */
    if ((rc = sb_conn_domain_xml(c, domain, &domain_xml)) < 0 ||
        (rc = sb_snap_request_state(c, domain, flags, &rq.domain_state)) < 0)
        goto out;
    rq.domain_xml = domain_xml;
    unsigned mode = (flags & SB_SNAPSHOT_CREATE_REDEFINE) ? SB_DOM_METADATA_OPERATION
                                                          : SB_DOM_OPERATION;
    if ((rc = sb_dom_open(&d, c, domain, mode | SB_DOM_EXISTS)) == 0)
        rc = sb_snap__create(&d, &rq, out_name);
    sb_dom_close(&d);
out:
    free(domain_xml);
    return rc < 0 ? rc : 0;
}

int sb_snapshot_get_xml(char **out_xml, sb_connection *c, const char *domain, const char *name,
                        unsigned flags)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0)
        return rc;
    if (!out_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_get_xml: NULL output");
    *out_xml = NULL;
    if ((rc = sb_snap_check_xml_flags(c, flags)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__xml(&d, name, flags, out_xml);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_list(char ***out_names, size_t *out_n, sb_connection *c, const char *domain,
                     const char *from, unsigned flags)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, NULL, false, __func__)) < 0)
        return rc;
    if (!out_names || !out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_list: NULL output");
    *out_names = NULL;
    *out_n = 0;
    if ((rc = check_list_flags(c, from, flags)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__list(&d, from, flags, out_names, out_n);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_count(size_t *out_n, sb_connection *c, const char *domain, const char *from,
                      unsigned flags)
{
    sb_dom d;
    int rc;

    if (!out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_count: NULL output");
    *out_n = 0;
    if ((rc = check_args(c, domain, NULL, false, __func__)) < 0 ||
        (rc = check_list_flags(c, from, flags)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__count(&d, from, flags, out_n);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_current(char **out_name, sb_connection *c, const char *domain)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, NULL, false, __func__)) < 0)
        return rc;
    if (!out_name)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_current: NULL output");
    *out_name = NULL;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__current(&d, out_name);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_set_current(sb_connection *c, const char *domain, const char *name)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0 ||
        (rc = sb_conn_check_writable(c, "setting the current snapshot")) < 0)
        return rc;
    /* A redefine with CURRENT, as far as the plugin's flags go (when the
     * hypervisor keeps the tree, after the snapshot was found: virsh's
     * order, sb_snap__set_current). */
    if (sb_conn_broker_meta(c) &&
        (rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_CREATE,
                                      SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_WRITE)) == 0)
        rc = sb_snap__set_current(&d, name);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_parent(char **out_name, sb_connection *c, const char *domain, const char *name)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0)
        return rc;
    if (!out_name)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_parent: NULL output");
    *out_name = NULL;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__parent(&d, name, out_name);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_revert(sb_connection *c, const char *domain, const char *name, unsigned flags)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0 ||
        (rc = sb_conn_check_writable(c, "reverting to a snapshot")) < 0 ||
        (rc = sb_snap_check_exclusive(flags, SB_FLAGS_REVERT, SB_SNAPSHOT_REVERT_RUNNING,
                                      SB_SNAPSHOT_REVERT_PAUSED)) < 0 ||
        (rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_REVERT, flags)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_OPERATION)) == 0)
        rc = sb_snap__revert(&d, name, flags);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_delete(sb_connection *c, const char *domain, const char *name, unsigned flags)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0 ||
        (rc = sb_conn_check_writable(c, "deleting a snapshot")) < 0 ||
        (rc = sb_snap_check_exclusive(flags, SB_FLAGS_DELETE, SB_SNAPSHOT_DELETE_CHILDREN,
                                      SB_SNAPSHOT_DELETE_CHILDREN_ONLY)) < 0 ||
        (rc = sb_dispatch_check_flags(c->plugin, c->caps, SB_VERB_DELETE, flags)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain,
                          (flags & SB_SNAPSHOT_DELETE_METADATA_ONLY) ? SB_DOM_METADATA_OPERATION
                                                                     : SB_DOM_OPERATION)) == 0)
        rc = sb_snap__delete(&d, name, flags);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_info_get(sb_snapshot_info *out, sb_connection *c, const char *domain,
                         const char *name)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0)
        return rc;
    if (!out)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_info_get: NULL output");
    memset(out, 0, sizeof(*out));
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__info(&d, name, out);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_get_details(sb_snapshot_details **out, sb_connection *c, const char *domain,
                            const char *name)
{
    sb_dom d;
    int rc;

    if ((rc = check_args(c, domain, name, true, __func__)) < 0)
        return rc;
    if (!out)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_get_details: NULL output");
    *out = NULL;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__details(&d, name, out);
    sb_dom_close(&d);
    return rc;
}

int sb_snapshot_list_info(char ***out_names, sb_snapshot_info **out_info, size_t *out_n,
                          sb_connection *c, const char *domain, const char *from,
                          unsigned flags)
{
    sb_dom d;
    int rc;

    if (!out_names || !out_info || !out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_snapshot_list_info: NULL output");
    *out_names = NULL;
    *out_info = NULL;
    *out_n = 0;
    if ((rc = check_args(c, domain, NULL, false, __func__)) < 0 ||
        (rc = check_list_flags(c, from, flags)) < 0)
        return rc;
    if ((rc = sb_dom_open(&d, c, domain, SB_DOM_READ)) == 0)
        rc = sb_snap__list_info(&d, from, flags, out_names, out_info, out_n);
    sb_dom_close(&d);
    return rc;
}

const char *sb_snapshot_state_name(int state)
{
    return sb_snap_state_to_string(state);
}
