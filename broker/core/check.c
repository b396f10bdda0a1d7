/* sb_check: the metadata of a domain (or of every domain the plugin
 * lists): interrupted operations reconciled with the hypervisor, then the
 * store's invariants verified. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "xml/xml_util.h"

/* Every line of text, indented by two spaces. */
static void add_indented(sb_buf *report, const char *text)
{
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, "\n");
        if (len)
            sb_buf_addf(report, "  %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

static int check_domain(sb_connection *c, const char *domain, unsigned flags, sb_buf *report)
{
    char *intents = NULL, *store_report = NULL;
    sb_store *s = NULL;
    int problems = 0;
    int rc;

    sb_buf_addf(report, "domain %s:\n", domain);
    if (sb_snap_check_domain(c, domain) < 0) {
        sb_buf_addf(report, "  %s\n", sb_error_last()->message);
        return 1;
    }
    sb_conn_store_drop(c); /* one handle per store in this process */
    if ((rc = sb_store_open(c->broker->cfg->state_dir, c->host_name, domain,
                            SB_STORE_WRITABLE | SB_STORE_NO_CREATE | SB_STORE_ALLOW_DAMAGED,
                            &s)) < 0) {
        sb_buf_addf(report, "  cannot open the store: %s\n", sb_error_last()->message);
        return 1;
    }
    if (!sb_store_on_disk(s)) { /* a domain that never had snapshots: make no store */
        sb_store_close(s);
        sb_buf_add(report, "  no snapshot metadata\n");
        return 0;
    }
    const char *const *warnings;
    size_t nw = sb_store_warnings(s, &warnings);
    for (size_t i = 0; i < nw; i++)
        sb_buf_addf(report, "  warning: %s\n", warnings[i]);
    if (sb_store_damaged(s)) {
        if (!(flags & SB_CHECK_REPAIR)) {
            sb_buf_add(report, "  the log is damaged: snapshots after the damage still load, "
                               "writes are refused; `check --repair` keeps the damaged log "
                               "aside and writes what loads as a new one\n");
            problems++;
        } else if (sb_store_repair(s) == 0) {
            sb_buf_add(report, "  repaired: the damaged log is kept beside the new one "
                               "(snapshots.log.damaged-*)\n");
        } else {
            sb_buf_addf(report, "  cannot repair: %s\n", sb_error_last()->message);
            problems++;
        }
    }
    rc = sb_store_operation_begin(s);
    if (rc == 0)
        rc = sb_conn_reconcile(c, domain, s,
                               (flags & SB_CHECK_DISCARD_UNRESOLVED) ? SB_RECONCILE_DISCARD : 0,
                               &intents);
    if (rc < 0) {
        sb_buf_addf(report, "  cannot reconcile interrupted operations: %s\n",
                    sb_error_last()->message);
        problems++;
    } else {
        problems += rc;
        add_indented(report, intents);
    }
    if (sb_store_check(s, &store_report) < 0)
        problems++;
    add_indented(report, store_report);
    free(intents);
    free(store_report);
    sb_store_close(s);
    sb_error_clear();
    return problems;
}

int sb_check(char **out_report, sb_connection *c, const char *domain, unsigned flags)
{
    char **names = NULL;
    size_t n = 0;
    sb_buf report = { 0 };
    int problems = 0;
    int rc;

    if (!c || !out_report)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_check: NULL argument");
    *out_report = NULL;
    const unsigned known = SB_CHECK_DISCARD_UNRESOLVED | SB_CHECK_REPAIR;
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_check",
                            flags & ~known);
    if ((rc = sb_conn_check_writable(c, "checking metadata")) < 0)
        return rc;
    if (!sb_conn_broker_meta(c)) {
        sb_buf_addf(&report, "plugin '%s' keeps snapshot metadata in the hypervisor; nothing to check\n",
                    c->plugin->name);
        return sb_buf_finish(&report, out_report);
    }
    if (domain) {
        problems = check_domain(c, domain, flags, &report);
    } else {
        if ((rc = sb_conn_domain_names(c, 0, &names, &n)) < 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            problems += check_domain(c, names[i], flags, &report);
        sb_names_free(names, n);
    }
    if ((rc = sb_buf_finish(&report, out_report)) < 0)
        return rc;
    return problems;
}
