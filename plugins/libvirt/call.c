/* libvirt plugin - one call: libvirt's error captured as the broker's
 * class, a lost connection reconnected (once per call), the final error
 * handed to the broker. */
#include "lvp.h"

#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int lvp_fail(sb_conn *c, int code, const char *fmt, ...)
{
    va_list ap;

    memset(&c->err, 0, sizeof(c->err));
    c->err.code = code;
    va_start(ap, fmt);
    vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
    va_end(ap);
    return -code;
}

int lvp_fail_vir(sb_conn *c, const char *context_fmt, ...)
{
    virErrorPtr e = virGetLastError();
    const char *msg = e && e->message ? e->message : "unknown libvirt error";
    char context[512], hint[256];
    va_list ap;

    memset(&c->err, 0, sizeof(c->err));
    c->err.vir_code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
    c->err.vir_domain = e ? e->domain : 0;
    c->err.code = lvp_error_class(c->err.vir_code);
    va_start(ap, context_fmt);
    vsnprintf(context, sizeof(context), context_fmt, ap);
    va_end(ap);
    /* libvirt's messages usually name the object ("no domain snapshot with
     * matching name 's1'"); add ours only when it does not. */
    const char *q1 = strchr(context, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    int named = 0;
    if (q2) {
        char quoted[256];
        snprintf(quoted, sizeof(quoted), "%.*s", (int)(q2 - q1 + 1), q1);
        named = strstr(msg, quoted) != NULL;
    }
    lvp_error_hint(c, c->err.vir_code, msg, hint, sizeof(hint));
    snprintf(c->err.msg, sizeof(c->err.msg), "%s%s%s%s", named ? "" : context,
             named ? "" : ": ", msg, hint);
    /* Asking the connection resets libvirt's error, hence after the copy.
     * A connection that reports itself closed lost its daemon. */
    if (c->vc && virConnectIsAlive(c->vc) == 0)
        c->err.conn_lost = 1;
    virResetLastError();
    return -c->err.code;
}

static int report(sb_conn *c, int rc)
{
    if (c->err.reported)
        return rc; /* a host service set it already */
    if (!c->err.code)
        lvp_fail(c, SB_ERR_INTERNAL_ERROR, "libvirt plugin failed without a message");
    if (!lvp_host)
        return -c->err.code;
    return lvp_host->set_error(c->h, c->err.code, "%s", c->err.msg);
}

#define LOST_DURING_WRITE                                                              \
    "host '%s' (%s): the connection to libvirt was lost during %s (%.600s); libvirt may " \
    "have done it: look before trying again"
#define LOST_FOR_GOOD                                                                     \
    "the connection to libvirt on host '%s'%s was lost and could not be made again for %s: " \
    "%.600s"

/* Replace the recorded error by fmt, whose last %s is the recorded
 * message (what libvirt said about the lost connection). */
static int rewrap(sb_conn *c, const char *fmt, const char *a, const char *b, const char *what)
{
    char was[sizeof(c->err.msg)];

    memcpy(was, c->err.msg, sizeof(was));
    return lvp_fail(c, SB_ERR_HYPERVISOR, fmt, a, b, what, was);
}

int lvp_call(sb_conn *c, enum lvp_call_kind kind, const char *what,
             int (*op)(sb_conn *c, void *arg), void *arg)
{
    int rc;

    memset(&c->err, 0, sizeof(c->err));
    c->reconnected = 0;
    for (;;) {
        /* Keepalive (or an earlier call) may have found the connection
         * dead: nothing was sent yet, so a new one is safe for any op. */
        if (!c->vc || virConnectIsAlive(c->vc) == 0) {
            if (c->reconnected || (rc = lvp_reconnect(c)) < 0) {
                rc = rewrap(c, LOST_FOR_GOOD, c->host, "", what);
                break;
            }
        }
        memset(&c->err, 0, sizeof(c->err));
        c->cache_used = 0;
        if ((rc = op(c, arg)) >= 0)
            break;
        /* A cached domain handle whose domain was defined again: libvirt
         * found no domain with that uuid, so nothing was done; again with
         * a fresh lookup (once: the lookup is not cached a second time). */
        if (c->err.vir_code == VIR_ERR_NO_DOMAIN && c->cache_used) {
            lvp_cache_drop(c);
            continue;
        }
        if (!c->err.conn_lost)
            break;
        /* Lost while the request was in flight. */
        if (kind == LVP_WRITE) {
            rc = rewrap(c, LOST_DURING_WRITE, c->host, c->uri, what);
            break;
        }
        if (c->reconnected) {
            rc = rewrap(c, LOST_FOR_GOOD, c->host, "", what);
            break;
        }
    }
    return rc < 0 ? report(c, rc) : rc;
}
