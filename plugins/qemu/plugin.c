/* qemu plugin - the entry point and the driver table.
 *
 * Metadata is broker-owned: the broker keeps the snapshot tree and hands
 * us normalized snapshot XML; we do the disk and VM work with qemu-img
 * (shut-off domains) and QMP (running ones).
 */
#include "domain_file.h"
#include "job.h"
#include "journal.h"
#include "qp.h"
#include "snapshot_common.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sb_host_api *g_host;

struct sb_conn {
    qp_ctx ctx;
    int shutdown_fallback;
    /* The last domain file domain_get_xml read (domain_file.c: a stat()
     * tells whether it must be read again) and its parsed and re-printed
     * form: the broker asks for the definition on every redefine and
     * create, and parsing it (hardened reader, libxml2, the checks, the
     * dump) was a third of a redefine's instructions.  The parse depends
     * on nothing but the text, so the same bytes give the same answer; a
     * changed file is parsed again. */
    qp_domain_file file;
    char *xml_parsed;
};

static const struct sb_plugin_caps qemu_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_ALL,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED |
                    SB_SNAPSHOT_REVERT_FORCE | SB_SNAPSHOT_REVERT_RESET_NVRAM,
    .delete_flags = SB_SNAPSHOT_DELETE_ALL,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .meta_owner = SB_META_BROKER,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
    .name_max = 200, /* qp_valid_name: QEMU snapshot tags */
    .max_snapshots = 0,
    .max_depth = 0,
    .readonly_unlisted_no = 1,
    .intent_barrier = 1, /* qp_intent_durable before every change */
};

static int copy_out_str(sb_conn *c, char **out, const char *s)
{
    *out = g_host->strdup(s);
    if (!*out)
        return qp_error(&c->ctx, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

/* Move a malloc'ed string into host memory. */
static int hand_over(sb_conn *c, char **out, char *s)
{
    if (!s) {
        *out = NULL;
        return 0;
    }
    int r = copy_out_str(c, out, s);
    free(s);
    return r;
}

/* An integer key of the plugin's group, refused (naming key and FILE:LINE
 * through config_invalid) outside min..max.  A wrong type has its message
 * from config_int already. */
static int cfg_int(sb_conn *c, const char *key, long long min, long long max, int *dst)
{
    long long v;
    if (!g_host->config_int)
        return 0;
    int r = g_host->config_int(c->ctx.h, key, &v);
    if (r < 0)
        return r;
    if (r == 1 && (v < min || v > max)) {
        if (g_host->struct_size >= offsetof(struct sb_host_api, config_invalid) + sizeof(void *) &&
            g_host->config_invalid)
            return g_host->config_invalid(c->ctx.h, key, "%lld is out of range (%lld..%lld)", v,
                                          min, max);
        return g_host->set_error(c->ctx.h, SB_ERR_CONFIG,
                                 "qemu: '%s' = %lld is out of range (%lld..%lld)", key, v, min,
                                 max);
    }
    if (r == 1)
        *dst = (int)v;
    return 0;
}

static int cfg_str(sb_conn *c, const char *key, char **dst)
{
    const char *v = NULL;
    if (!g_host->config_string)
        return 0;
    int r = g_host->config_string(c->ctx.h, key, &v);
    if (r == 1 && v) {
        free(*dst);
        *dst = qp_strdup(v);
    }
    return r < 0 ? r : 0;
}

static int cfg_read(sb_conn *c)
{
    qp_ctx *x = &c->ctx;
    int r = 0;
    if (!r) r = cfg_str(c, "emulator", &x->qemu_bin);
    if (!r) r = cfg_str(c, "qemu_img", &x->qemu_img);
    /* job_timeout_ms was a total timeout; it is read as the stall timeout
     * it became (docs/qemu.md), and job_stall_timeout_ms wins over it */
    if (!r) r = cfg_int(c, "job_timeout_ms", 1, INT_MAX, &x->job_timeout_ms);
    if (!r) r = cfg_int(c, "job_stall_timeout_ms", 1, INT_MAX, &x->job_timeout_ms);
    if (!r) r = cfg_int(c, "start_timeout_ms", 1, INT_MAX, &x->connect_timeout_ms);
    if (!r) r = cfg_int(c, "shutdown_timeout_ms", 0, INT_MAX, &x->shutdown_timeout_ms);
    if (!r) r = cfg_int(c, "test_delay_ms", 0, INT_MAX, &x->test_delay_ms);
    if (!r) r = cfg_int(c, "test_job_delay_ms", 0, INT_MAX, &x->test_job_delay_ms);
    if (!r) r = cfg_int(c, "test_fail_store_after_qmp", 0, 1, &x->test_fail_store);
    if (!r) r = cfg_int(c, "test_job_rate", 0, INT_MAX, &x->test_job_rate);
    if (!r && g_host->config_bool) {
        int b = 0;
        int rb = g_host->config_bool(c->ctx.h, "shutdown_fallback_destroy", &b);
        if (rb == 1)
            c->shutdown_fallback = b;
        else if (rb < 0)
            r = rb;
    }
    return r;
}

/* The URIs this plugin implements: QEMU on this machine, run as the
 * calling user.  qemu:///system names the machine's own VMs, which only
 * root may run this way.  Anything else (a typo such as qemu:///sytem, a
 * remote transport such as qemu+ssh://host/system, a host name, query
 * parameters) is refused before anything is created for it. */
static int check_uri(sb_host *h, const char *uri)
{
    if (uri && !strcmp(uri, "qemu:///session"))
        return 0;
    if (uri && !strcmp(uri, "qemu:///system")) {
        if (geteuid() == 0)
            return 0;
        return g_host->set_error(h, SB_ERR_OPERATION_DENIED,
                                 "qemu plugin: 'qemu:///system' runs the machine's own VMs and "
                                 "needs root; use 'qemu:///session' for your own");
    }
    if (uri && !strncmp(uri, "qemu+", 5))
        return g_host->set_error(h, SB_ERR_INVALID_ARG,
                                 "qemu plugin: URI '%s' names a remote transport; the plugin "
                                 "drives QEMU on this machine only (qemu:///session, "
                                 "qemu:///system)", uri);
    return g_host->set_error(h, SB_ERR_INVALID_ARG,
                             "qemu plugin: URI '%s' is not one it implements (qemu:///session, "
                             "qemu:///system)", uri ? uri : "");
}

static int qemu_open(sb_conn **out, sb_host *h, const char *uri)
{
    int r = check_uri(h, uri);
    if (r < 0)
        return r;
    const char *dir = g_host->state_dir ? g_host->state_dir(h) : NULL;
    if (!dir)
        return g_host->set_error(h, SB_ERR_CONFIG, "qemu: the broker gave no state directory");
    sb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return g_host->set_error(h, SB_ERR_NO_MEMORY, "qemu: out of memory");
    qp_ctx_init(&c->ctx, g_host, h, dir);
    /* a refused key has its message (key, FILE:LINE) from the host */
    if ((r = cfg_read(c)) < 0) {
        qp_ctx_fini(&c->ctx);
        free(c);
        return r;
    }
    *out = c;
    return 0;
}

static void qemu_close(sb_conn *c)
{
    if (!c)
        return;
    qp_domain_file_clear(&c->file);
    free(c->xml_parsed);
    qp_ctx_fini(&c->ctx);
    free(c);
}

static int qemu_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    qp_strv all = {0};
    int r = qp_domain_list(&c->ctx, &all);
    if (r < 0)
        return r;
    char **names = g_host->alloc((all.n + 1) * sizeof *names);
    size_t n = 0;
    if (!names) {
        qp_strv_free(&all);
        return qp_error(&c->ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < all.n; i++) {
        if (flags & (SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE)) {
            pid_t pid = 0;
            qp_proc_pid(&c->ctx, all.v[i], &pid);
            int active = pid > 0;
            if (!((active && (flags & SB_DOMAIN_LIST_ACTIVE)) ||
                  (!active && (flags & SB_DOMAIN_LIST_INACTIVE))))
                continue;
        }
        names[n] = g_host->strdup(all.v[i]);
        if (!names[n]) {
            for (size_t k = 0; k < n; k++)
                g_host->free(names[k]);
            g_host->free(names);
            qp_strv_free(&all);
            return qp_error(&c->ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
        n++;
    }
    qp_strv_free(&all);
    *out_names = names;
    *out_n = n;
    return 0;
}

static int qemu_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    bool changed;
    int r = qp_domain_file_get(&c->ctx, domain, &c->file, &changed);
    if (r < 0)
        return r;
    if (!changed && c->xml_parsed)
        return copy_out_str(c, out_xml, c->xml_parsed);
    /* a file that does not parse is parsed (and refused) again next time */
    free(c->xml_parsed);
    c->xml_parsed = NULL;
    qp_domain *d = NULL;
    if ((r = qp_domain_parse(&c->ctx, c->file.text, &d)) < 0)
        return r;
    c->xml_parsed = d->xml;
    d->xml = NULL;
    qp_domain_free(d);
    return copy_out_str(c, out_xml, c->xml_parsed);
}


/* The domain lock, then what a dead process left half-done on the
 * domain is finished or undone (journal.c) before anything else. */
static int lock_and_recover(sb_conn *c, const char *domain)
{
    int lk = qp_lock_domain(&c->ctx, domain);
    if (lk < 0)
        return lk;
    int r = qp_journal_recover(&c->ctx, domain);
    if (r < 0) {
        qp_unlock(&c->ctx, lk);
        return r;
    }
    return lk;
}

#define LOCKED(c, domain, expr)                                   \
    do {                                                          \
        int lk_ = lock_and_recover((c), (domain));                \
        if (lk_ < 0)                                              \
            return lk_;                                           \
        int r_ = (expr);                                          \
        qp_unlock(&(c)->ctx, lk_);                                \
        return r_;                                                \
    } while (0)

/* A state query is what `check` asks first: an operation a dead process
 * left half-done is dealt with here too (only then is the lock taken);
 * one that cannot be is the answer, so check reports it.  The same for
 * the active check below, which the broker asks instead where
 * active-or-not is all it needs (an existence check, a disk-only create). */
static int settle_domain(sb_conn *c, const char *domain)
{
    qp_domain *d = NULL;
    int r = qp_domain_load(&c->ctx, domain, &d);
    if (r < 0)
        return r;
    qp_domain_free(d);
    if (qp_journal_pending(&c->ctx, domain)) {
        int lk = lock_and_recover(c, domain);
        if (lk < 0)
            return lk;
        qp_unlock(&c->ctx, lk);
    }
    return 0;
}

static int qemu_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    int r = settle_domain(c, domain);
    return r < 0 ? r : qp_proc_state(&c->ctx, domain, out_state);
}

/* ABI 1.2: active or not without QEMU's monitor.  The QEMU the pid file
 * names is alive and is the one started for this domain (qp_proc_pid: its
 * working directory is the domain's run directory, so a recycled pid is
 * not taken for it); the state query's query-status needs a monitor
 * connection of its own, whose greeting waits for a turn of a busy TCG
 * QEMU's main loop.  A live QEMU is active whatever its run state (paused,
 * guest-panicked: libvirt's virDomainIsActive), as the create takes it.
 * A QEMU that exits or starts right after the answer is the next call's
 * business: a create decides again under the domain lock on its own
 * connection (snapshot_create.c plan_build) and returns the state it found
 * in the definition the broker stores. */
static int qemu_domain_is_active(int *out_active, sb_conn *c, const char *domain)
{
    pid_t pid = 0;
    *out_active = 0;
    int r = settle_domain(c, domain);
    if (r == 0 && (r = qp_proc_pid(&c->ctx, domain, &pid)) == 0)
        *out_active = pid > 0;
    return r;
}

/* A create, revert or delete from the broker: its intent may not be on
 * disk yet (caps intent_barrier), and every change waits for it
 * (qp_intent_durable).  What lock_and_recover finished before belongs to
 * an earlier operation, whose intent is. */
static void intent_due(sb_conn *c, int due)
{
    c->ctx.intent_due = due;
    c->ctx.intent_api = due ? c->ctx.api : NULL;
}

static int snap_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                       unsigned flags)
{
    char *res = NULL;
    c->ctx.prefetch_status = 1;
    intent_due(c, 1);
    int r = qp_follow_qemu(&c->ctx, domain);
    if (r == 0)
        r = qp_snapshot_create(&c->ctx, domain, xml, flags, &res);
    intent_due(c, 0);
    c->ctx.prefetch_status = 0;
    if (r < 0) {
        free(res);
        return r;
    }
    return hand_over(c, out_xml, res);
}

static int qemu_snapshot_create(char **out_xml, sb_conn *c, const char *domain,
                                const char *snapshot_xml, unsigned flags)
{
    *out_xml = NULL;
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, snap_create(out_xml, c, domain, snapshot_xml, flags));
}

static int snap_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                       unsigned flags)
{
    char *res = NULL;
    c->ctx.prefetch_status = 1;
    intent_due(c, 1);
    int r = qp_follow_qemu(&c->ctx, domain);
    if (r == 0)
        r = qp_snapshot_revert(&c->ctx, domain, xml, flags, &res);
    intent_due(c, 0);
    c->ctx.prefetch_status = 0;
    if (r < 0) {
        free(res);
        return r;
    }
    return hand_over(c, out_xml, res);
}

static int qemu_snapshot_revert(char **out_xml, sb_conn *c, const char *domain,
                                const char *snapshot_xml, unsigned flags)
{
    *out_xml = NULL;
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, snap_revert(out_xml, c, domain, snapshot_xml, flags));
}

static int snap_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
    /* an external delete's commit reads the node names below the top:
     * from the node book, else asked with the checks' graph (the view is
     * parsed again inside) */
    struct sb_snapshot_view *v = NULL;
    if (!(flags & SB_SNAPSHOT_DELETE_METADATA_ONLY) && qp_view(&c->ctx, xml, &v) == 0) {
        c->ctx.prefetch_nodes = v->external && !qp_book_exists(&c->ctx, domain);
        qp_view_free(&c->ctx, v);
    }
    intent_due(c, 1);
    int r = qp_follow_qemu(&c->ctx, domain);
    if (r == 0)
        r = qp_snapshot_delete(&c->ctx, domain, xml, flags);
    intent_due(c, 0);
    c->ctx.prefetch_nodes = 0;
    return r;
}

static int qemu_snapshot_delete(sb_conn *c, const char *domain, const char *snapshot_xml,
                                unsigned flags)
{
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, snap_delete(c, domain, snapshot_xml, flags));
}

static int qemu_snapshot_exists(sb_conn *c, const char *domain, const char *snapshot_xml)
{
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    /* locked: it may bring the stored definition in line with QEMU */
    LOCKED(c, domain, qp_snapshot_exists(&c->ctx, domain, snapshot_xml));
}

/* Reads the files as they are, without the domain lock: a listing of the
 * fleet never waits for an operation (and its figures are a snapshot of a
 * moving target anyway). */
static int qemu_snapshot_usage(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                               const char *name, const char *snapshot_xml)
{
    (void)domain;
    (void)name; /* both are in snapshot_xml */
    return qp_snapshot_usage(&c->ctx, snapshot_xml, out);
}

static int domain_defined(qp_ctx *ctx, const char *domain)
{
    char *path = qp_valid_name(domain) ? qp_domain_path(ctx, domain) : NULL;
    int r = path && qp_file_exists(path);
    free(path);
    return r;
}

/* Without the domain lock: the operation whose job this asks about holds
 * it until its job is over (job.h). */
static int qemu_domain_job_info(struct sb_job_info *out, sb_conn *c, const char *domain)
{
    if (!domain_defined(&c->ctx, domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    return qp_job_info(&c->ctx, domain, out);
}

static int qemu_domain_job_abort(sb_conn *c, const char *domain, unsigned flags)
{
    if (flags)
        return qp_error(&c->ctx, SB_ERR_INVALID_ARG,
                        "unsupported flags (0x%x) in domain_job_abort", flags);
    if (!domain_defined(&c->ctx, domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    return qp_job_abort(&c->ctx, domain);
}

static int define_locked(char **out_name, sb_conn *c, const char *xml)
{
    char *name = NULL;
    int r = qp_domain_define(&c->ctx, xml, &name);
    if (r < 0)
        return r;
    if (out_name)
        return hand_over(c, out_name, name);
    free(name);
    return 0;
}

static int qemu_domain_define(char **out_name, sb_conn *c, const char *domain_xml, unsigned flags)
{
    (void)flags;
    /* the lock is per name; parse first to know it */
    qp_domain *d = NULL;
    int r = qp_domain_parse(&c->ctx, domain_xml, &d);
    if (r < 0)
        return r;
    char *name = qp_strdup(d->name);
    qp_domain_free(d);
    int lk = lock_and_recover(c, name);
    free(name);
    if (lk < 0)
        return lk;
    r = define_locked(out_name, c, domain_xml);
    qp_unlock(&c->ctx, lk);
    return r;
}

/* The checks define makes (qp_domain_parse: one code path), for the
 * <domain> of a redefined snapshot: nothing is stored. */
static int qemu_domain_validate(sb_conn *c, const char *domain_xml, unsigned flags)
{
    if (flags)
        return qp_error(&c->ctx, SB_ERR_INVALID_ARG, "unsupported domain_validate flags 0x%x",
                        flags);
    qp_domain *d = NULL;
    int r = qp_domain_parse(&c->ctx, domain_xml, &d);
    qp_domain_free(d);
    return r;
}

static int qemu_domain_undefine(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, qp_domain_undefine(&c->ctx, domain));
}

static int start_locked(sb_conn *c, const char *domain, unsigned flags)
{
    qp_domain *d = NULL;
    int r = qp_domain_load(&c->ctx, domain, &d);
    if (r < 0)
        return r;
    r = qp_proc_start(&c->ctx, d, (flags & SB_DOMAIN_START_PAUSED) != 0, 0, NULL);
    qp_domain_free(d);
    return r;
}

static int qemu_domain_start(sb_conn *c, const char *domain, unsigned flags)
{
    if (flags & ~(unsigned)SB_DOMAIN_START_PAUSED)
        return qp_error(&c->ctx, SB_ERR_INVALID_ARG, "unsupported start flags 0x%x",
                        flags & ~(unsigned)SB_DOMAIN_START_PAUSED);
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, start_locked(c, domain, flags));
}

static int destroy_locked(sb_conn *c, const char *domain)
{
    qp_domain *d = NULL;
    int r = qp_domain_load(&c->ctx, domain, &d);
    if (r < 0)
        return r;
    qp_domain_free(d);
    /* the definition must name what QEMU writes to before QEMU goes: an
     * earlier operation may have failed to record a switch (overlays of a
     * transaction, a commit's pivot) */
    if (qp_follow_qemu(&c->ctx, domain) < 0)
        qp_log(&c->ctx, SB_LOG_WARN, "domain '%s': the definition could not follow QEMU's "
               "images: %s", domain, c->ctx.err_msg);
    return qp_proc_destroy(&c->ctx, domain);
}

static int qemu_domain_destroy(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, destroy_locked(c, domain));
}

static int powerdown_locked(sb_conn *c, const char *domain, pid_t *pid)
{
    if (qp_follow_qemu(&c->ctx, domain) < 0)
        qp_log(&c->ctx, SB_LOG_WARN, "domain '%s': the definition could not follow QEMU's "
               "images: %s", domain, c->ctx.err_msg);
    return qp_proc_powerdown(&c->ctx, domain, pid);
}

/* After the wait: the guest we powered down is gone (stale files cleaned
 * by qp_proc_pid), or still the same process (fallback destroy). */
static int shutdown_finish_locked(sb_conn *c, const char *domain, pid_t pid, int timeout_ms)
{
    pid_t now = 0;
    int r = qp_proc_pid(&c->ctx, domain, &now);
    if (r < 0 || now != pid)
        return r; /* gone (or destroyed and started again by someone else) */
    if (c->shutdown_fallback) {
        qp_log(&c->ctx, SB_LOG_WARN,
               "domain '%s': guest ignored the power button for %d ms; destroying", domain,
               timeout_ms);
        return qp_proc_destroy(&c->ctx, domain);
    }
    return qp_error(&c->ctx, SB_ERR_OPERATION_TIMEOUT,
                    "domain '%s': the guest did not power off within %d ms (no ACPI support in "
                    "the guest?); use destroy", domain, timeout_ms);
}

/* The domain lock is held only to press the power button and to clean up
 * afterwards, never while waiting for the guest: destroy and snapshot
 * calls run at once during a pending shutdown. */
static int qemu_domain_shutdown(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    qp_domain *d = NULL;
    int r = qp_domain_load(&c->ctx, domain, &d);
    if (r < 0)
        return r;
    qp_domain_free(d);
    pid_t pid = 0;
    int lk = lock_and_recover(c, domain);
    if (lk < 0)
        return lk;
    r = powerdown_locked(c, domain, &pid);
    qp_unlock(&c->ctx, lk);
    int timeout = c->ctx.shutdown_timeout_ms;
    if (r < 0 || timeout <= 0)
        return r;
    (void)qp_proc_wait_gone(pid, timeout);
    LOCKED(c, domain, shutdown_finish_locked(c, domain, pid, timeout));
}

static int simple_cmd(sb_conn *c, const char *domain, const char *cmd)
{
    qp_domain *d = NULL;
    int r = qp_domain_load(&c->ctx, domain, &d);
    if (r < 0)
        return r;
    qp_domain_free(d);
    qp_qmp *q = NULL;
    r = qp_proc_connect(&c->ctx, domain, &q);
    if (r < 0)
        return r;
    r = qp_qmp_execute(q, cmd, NULL, NULL);
    qp_qmp_close(q);
    return r;
}

static int qemu_domain_suspend(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, simple_cmd(c, domain, "stop"));
}

static int qemu_domain_resume(sb_conn *c, const char *domain, unsigned flags)
{
    (void)flags;
    if (!qp_valid_name(domain))
        return qp_error(&c->ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", domain);
    LOCKED(c, domain, simple_cmd(c, domain, "cont"));
}

static const struct sb_plugin qemu_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "qemu",
    .version = "0.1.0",
    .description = "QEMU/KVM: qemu-img for shut-off domains, QMP for running ones",
    .caps = &qemu_caps,
    .open = qemu_open,
    .close = qemu_close,
    .domain_list = qemu_domain_list,
    .domain_get_xml = qemu_domain_get_xml,
    .domain_get_state = qemu_domain_get_state,
    .snapshot_create = qemu_snapshot_create,
    .snapshot_revert = qemu_snapshot_revert,
    .snapshot_delete = qemu_snapshot_delete,
    .domain_define = qemu_domain_define,
    .domain_undefine = qemu_domain_undefine,
    .domain_start = qemu_domain_start,
    .domain_destroy = qemu_domain_destroy,
    .domain_shutdown = qemu_domain_shutdown,
    .domain_suspend = qemu_domain_suspend,
    .domain_resume = qemu_domain_resume,
    .snapshot_exists = qemu_snapshot_exists,
    .domain_validate = qemu_domain_validate,
    .snapshot_usage = qemu_snapshot_usage,
    .domain_job_info = qemu_domain_job_info,
    .domain_job_abort = qemu_domain_job_abort,
    .domain_is_active = qemu_domain_is_active,
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host,
                                        uint32_t host_abi_major, uint32_t host_abi_minor);

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host,
                                        uint32_t host_abi_major, uint32_t host_abi_minor)
{
    (void)host_abi_minor;
    if (!host || !out)
        return -SB_ERR_INVALID_ARG;
    if (host_abi_major != SB_PLUGIN_ABI_MAJOR) {
        if (host->set_error)
            host->set_error(NULL, SB_ERR_PLUGIN_ABI, "qemu plugin: built for ABI %u, broker has %u",
                            SB_PLUGIN_ABI_MAJOR, (unsigned)host_abi_major);
        return -SB_ERR_PLUGIN_ABI;
    }
    if (host->struct_size < offsetof(struct sb_host_api, tree_update_xml) + sizeof(void *) ||
        !host->set_error || !host->alloc || !host->strdup || !host->free || !host->state_dir ||
        !host->snapshot_view || !host->snapshot_format) {
        if (host->set_error)
            host->set_error(NULL, SB_ERR_PLUGIN_ABI,
                            "qemu plugin: the broker's host services table lacks services the "
                            "plugin needs (state_dir, snapshot_view, snapshot_format, tree_*)");
        return -SB_ERR_PLUGIN_ABI;
    }
    g_host = host;
    *out = &qemu_plugin;
    return 0;
}
