/* Domain calls: argument checks, then straight to the plugin. */
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/snap.h"
#include "core/error.h"
#include "plugin/dispatch.h"
#include "xml/xml_util.h"

#define CHECK_CONN_DOMAIN(c, d)                                                       \
    do {                                                                              \
        if (!(c))                                                                     \
            return sb_error_set(SB_ERR_INVALID_ARG, "%s: no connection", __func__);   \
        if (!(d) || !*(d))                                                            \
            return sb_error_set(SB_ERR_INVALID_ARG, "%s: no domain name", __func__);  \
    } while (0)

int sb_conn_domain_names(sb_connection *c, unsigned flags, char ***out_names, size_t *out_n)
{
    int rc;
    *out_names = NULL;
    *out_n = 0;
    SB_DISPATCH(rc, c->plugin, domain_list, out_names, out_n, c->conn, flags);
    rc = sb_dispatch_out_names(c->plugin, "domain_list", rc, out_names, out_n);
    return rc < 0 ? rc : 0;
}

int sb_domain_list(char ***out_names, size_t *out_n, sb_connection *c, unsigned flags)
{
    const unsigned known = SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE;

    if (!c || !out_names || !out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_list: NULL argument");
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_domain_list",
                            flags & ~known);
    return sb_conn_domain_names(c, flags, out_names, out_n);
}

int sb_conn_domain_xml(sb_connection *c, const char *domain, char **out_xml)
{
    int rc;
    *out_xml = NULL;
    SB_DISPATCH(rc, c->plugin, domain_get_xml, out_xml, c->conn, domain, 0);
    rc = sb_dispatch_out_str(c->plugin, "domain_get_xml", "XML", rc, out_xml);
    return rc < 0 ? rc : 0;
}

/* A state outside enum sb_domain_state is the plugin's bug: refused here,
 * naming it, rather than stored in a snapshot and found missing later. */
static int state_check(const sb_connection *c, const char *operation, int rc, int state)
{
    if (rc < 0 || (state >= SB_DOMAIN_NOSTATE && state <= SB_DOMAIN_PMSUSPENDED))
        return rc;
    return sb_error_set(SB_ERR_INTERNAL_ERROR,
                        "plugin '%s' returned domain state %d from %s (not a domain state)",
                        c->plugin->name, state, operation);
}

int sb_conn_domain_state(sb_connection *c, const char *domain, int *out_state)
{
    int rc;
    *out_state = SB_DOMAIN_NOSTATE; /* what state_check reads if the plugin set none */
    SB_DISPATCH(rc, c->plugin, domain_get_state, out_state, c->conn, domain);
    rc = state_check(c, "domain_get_state", rc, *out_state);
    return rc < 0 ? rc : 0;
}

int sb_conn_domain_active(sb_connection *c, const char *domain, int *out_active)
{
    int rc, state = SB_DOMAIN_NOSTATE;

    *out_active = 0;
    if (sb_dispatch_has(c->plugin, SB_OP_DOMAIN_IS_ACTIVE)) {
        SB_DISPATCH(rc, c->plugin, domain_is_active, out_active, c->conn, domain);
        *out_active = rc >= 0 && *out_active;
        return rc < 0 ? rc : 0;
    }
    if ((rc = sb_conn_domain_state(c, domain, &state)) < 0)
        return rc;
    *out_active = sb_domain_state_active(state);
    return 0;
}

int sb_conn_domain_exists(sb_connection *c, const char *domain)
{
    int active;
    return sb_conn_domain_active(c, domain, &active);
}

bool sb_domain_state_active(int state)
{
    return state != SB_DOMAIN_SHUTOFF && state != SB_DOMAIN_NOSTATE &&
           state != SB_DOMAIN_CRASHED;
}

int sb_domain_get_xml(char **out_xml, sb_connection *c, const char *domain, unsigned flags)
{
    const unsigned known = SB_DOMAIN_XML_SECURE | SB_DOMAIN_XML_INACTIVE;
    int rc;
    CHECK_CONN_DOMAIN(c, domain);
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_domain_get_xml",
                            flags & ~known);
    if ((flags & SB_SNAPSHOT_XML_SECURE) &&
        (rc = sb_conn_check_writable(c, "asking for secure information")) < 0)
        return rc;
    *out_xml = NULL;
    SB_DISPATCH(rc, c->plugin, domain_get_xml, out_xml, c->conn, domain, flags);
    rc = sb_dispatch_out_str(c->plugin, "domain_get_xml", "XML", rc, out_xml);
    /* libvirt's formatting whatever the plugin kept (virsh dumpxml) */
    if (rc >= 0 && (rc = sb_xml_reformat(out_xml, "domain XML from the plugin")) < 0) {
        free(*out_xml);
        *out_xml = NULL;
    }
    return rc < 0 ? rc : 0;
}

int sb_domain_get_state(int *out_state, sb_connection *c, const char *domain)
{
    CHECK_CONN_DOMAIN(c, domain);
    return sb_conn_domain_state(c, domain, out_state);
}

int sb_domain_is_active(int *out_active, sb_connection *c, const char *domain)
{
    CHECK_CONN_DOMAIN(c, domain);
    if (!out_active)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_is_active: NULL argument");
    return sb_conn_domain_active(c, domain, out_active);
}

int sb_domain_get_state_reason(int *out_state, int *out_reason, sb_connection *c,
                               const char *domain)
{
    int rc;

    CHECK_CONN_DOMAIN(c, domain);
    if (!out_state || !out_reason)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_get_state_reason: NULL argument");
    *out_reason = 0;
    /* ABI 1.0 plugins (or 1.1 ones without the callback) know no reason:
     * the state alone, reason unknown, as libvirt's drivers that have none */
    if (!c->plugin->ops.domain_get_state_reason)
        return sb_conn_domain_state(c, domain, out_state);
    SB_DISPATCH(rc, c->plugin, domain_get_state_reason, out_state, out_reason, c->conn, domain);
    rc = state_check(c, "domain_get_state_reason", rc, *out_state);
    if (rc >= 0 && *out_reason < 0)
        *out_reason = 0;
    return rc < 0 ? rc : 0;
}

int sb_domain_define(char **out_name, sb_connection *c, const char *domain_xml)
{
    return sb_domain_define_flags(out_name, c, domain_xml, 0);
}

int sb_domain_define_flags(char **out_name, sb_connection *c, const char *domain_xml,
                           unsigned flags)
{
    const unsigned known = SB_DOMAIN_DEFINE_VALIDATE;
    char *name = NULL;
    int rc;

    if (!c || !domain_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_define: NULL argument");
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_domain_define",
                            flags & ~known);
    if ((rc = sb_conn_check_writable(c, "defining a domain")) < 0)
        return rc;
    if (flags & SB_DOMAIN_DEFINE_VALIDATE) {
        /* the plugin's own "could this host run it" check; a plugin that
         * has none cannot honour VALIDATE, and saying so beats defining
         * unchecked */
        if (!c->plugin->ops.domain_validate)
            return sb_error_set(SB_ERR_NO_SUPPORT, "plugin '%s' cannot validate a domain "
                                "definition (define it without --validate)", c->plugin->name);
        SB_DISPATCH(rc, c->plugin, domain_validate, c->conn, domain_xml, 0);
        if (rc < 0)
            return rc;
    }
    SB_DISPATCH(rc, c->plugin, domain_define, &name, c->conn, domain_xml, flags);
    if ((rc = sb_dispatch_out_str(c->plugin, "domain_define", "domain name", rc, &name)) < 0)
        return rc;
    if (out_name)
        *out_name = name;
    else
        free(name);
    return 0;
}

/* The simple "verb a domain" calls share one shape. */
#define DOMAIN_VERB(fn, member, what, flags)                                 \
    int fn(sb_connection *c, const char *domain)                             \
    {                                                                        \
        int rc;                                                              \
        CHECK_CONN_DOMAIN(c, domain);                                        \
        if ((rc = sb_conn_check_writable(c, what)) < 0)                      \
            return rc;                                                       \
        SB_DISPATCH(rc, c->plugin, member, c->conn, domain, flags);          \
        return rc < 0 ? rc : 0;                                              \
    }

DOMAIN_VERB(sb_domain_destroy, domain_destroy, "destroying a domain", 0)
DOMAIN_VERB(sb_domain_shutdown, domain_shutdown, "shutting down a domain", 0)
DOMAIN_VERB(sb_domain_suspend, domain_suspend, "suspending a domain", 0)
DOMAIN_VERB(sb_domain_resume, domain_resume, "resuming a domain", 0)

/* Snapshot metadata would outlive the domain and silently attach to a
 * later domain of the same name: refuse, or drop it on request - after
 * the plugin has undefined the domain, so a refused undefine keeps it.
 * The operation lock keeps other processes from adding snapshots between
 * the count and the drop. */
int sb_domain_undefine(sb_connection *c, const char *domain, unsigned flags)
{
    const unsigned known = SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    const sb_tree_node *root;
    sb_store *s = NULL;
    bool held = false;
    int rc;

    CHECK_CONN_DOMAIN(c, domain);
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_domain_undefine",
                            flags & ~known);
    if ((rc = sb_conn_check_writable(c, "undefining a domain")) < 0 ||
        (rc = sb_snap_check_domain(c, domain)) < 0)
        return rc;
    if (sb_conn_broker_meta(c)) {
        if ((rc = sb_conn_store(c, domain, true, &s)) < 0)
            goto out;
        held = sb_conn_store_hold(c, domain); /* kept open across domain_undefine */
        if ((rc = sb_store_operation_begin(s)) < 0)
            goto out;
        size_t n = sb_tree_count(sb_store_tree(s));
        if (n && !(flags & SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)) {
            rc = sb_error_set(SB_ERR_OPERATION_INVALID,
                              "cannot undefine domain '%s' with %zu snapshot%s (delete them, or "
                              "remove their metadata with --snapshots-metadata)",
                              domain, n, n == 1 ? "" : "s");
            goto out;
        }
    }
    /* The broker handles the snapshot metadata it keeps; a hypervisor that
     * keeps its own gets the caller's flag (libvirt's value) and decides. */
    SB_DISPATCH(rc, c->plugin, domain_undefine, c->conn, domain,
                sb_conn_broker_meta(c) ? 0 : flags);
    if (rc < 0 || !s)
        goto out;
    if ((rc = sb_store_begin(s)) == 0) {
        while (rc == 0 && (root = sb_tree_first_root(sb_store_tree(s))))
            rc = sb_store_delete(s, sb_tree_node_name(root), SB_SNAPSHOT_DELETE_CHILDREN);
        if (rc == 0)
            rc = sb_store_commit(s);
        if (rc == 0) /* nothing of the domain's stays under the state dir */
            rc = sb_store_remove(s);
        if (rc < 0)
            sb_error_prefix("domain '%s' is undefined, but its snapshot metadata could not be "
                            "removed", domain);
    }
out:
    sb_conn_operation_end(s);
    sb_conn_store_release(c, s);
    sb_conn_store_unhold(c, held);
    if (rc >= 0)
        sb_conn_store_drop(c); /* the domain is gone */
    return rc < 0 ? rc : 0;
}

int sb_domain_start(sb_connection *c, const char *domain, unsigned flags)
{
    int rc;
    CHECK_CONN_DOMAIN(c, domain);
    if (flags & ~(unsigned)SB_DOMAIN_START_PAUSED)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_domain_start",
                            flags & ~(unsigned)SB_DOMAIN_START_PAUSED);
    if ((rc = sb_conn_check_writable(c, "starting a domain")) < 0)
        return rc;
    SB_DISPATCH(rc, c->plugin, domain_start, c->conn, domain, flags);
    return rc < 0 ? rc : 0;
}

const char *sb_domain_state_name(int state)
{
    /* virsh's wording (virshDomainStateToString). */
    switch (state) {
    case SB_DOMAIN_RUNNING: return "running";
    case SB_DOMAIN_BLOCKED: return "idle";
    case SB_DOMAIN_PAUSED: return "paused";
    case SB_DOMAIN_SHUTDOWN: return "in shutdown";
    case SB_DOMAIN_SHUTOFF: return "shut off";
    case SB_DOMAIN_CRASHED: return "crashed";
    case SB_DOMAIN_PMSUSPENDED: return "pmsuspended";
    default: return "no state";
    }
}
