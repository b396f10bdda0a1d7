/* Domain jobs (domjobinfo, domjobabort): argument checks, then straight
 * to the plugin's ABI 1.1 callbacks.  No store and no operation lock: the
 * operation whose job is asked about holds that lock until it is over. */
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "plugin/dispatch.h"

int sb_domain_job_info(sb_domain_job *out, sb_connection *c, const char *domain)
{
    struct sb_job_info j;
    int rc;

    if (!out || !c)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_job_info: NULL argument");
    memset(out, 0, sizeof(*out));
    if (!domain || !*domain)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_job_info: no domain name");
    memset(&j, 0, sizeof(j));
    j.struct_size = sizeof(j);
    SB_DISPATCH(rc, c->plugin, domain_job_info, &j, c->conn, domain);
    if (rc < 0)
        return rc;
    if (!j.active)
        return 0;
    out->active = 1;
    /* the plugin's strings are bounded by its struct; terminate them anyway */
    j.operation[sizeof(j.operation) - 1] = '\0';
    j.snapshot[sizeof(j.snapshot) - 1] = '\0';
    memcpy(out->operation, j.operation, sizeof(out->operation));
    memcpy(out->snapshot, j.snapshot, sizeof(out->snapshot));
    out->processed = j.processed;
    out->total = j.total;
    out->elapsed_ms = j.elapsed_ms > 0 ? j.elapsed_ms : 0;
    return 0;
}

int sb_domain_job_abort(sb_connection *c, const char *domain)
{
    int rc;

    if (!c)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_job_abort: no connection");
    if (!domain || !*domain)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_domain_job_abort: no domain name");
    if ((rc = sb_conn_check_writable(c, "aborting a job")) < 0)
        return rc;
    SB_DISPATCH(rc, c->plugin, domain_job_abort, c->conn, domain, 0);
    return rc < 0 ? rc : 0;
}
