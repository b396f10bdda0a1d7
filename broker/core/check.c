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

/* Check one domain; its findings go to report, one line each, indented
 * by two.  *no_metadata: it has no store (nothing else was checked).
 * Returns the problems left; named (the caller asked for this domain):
 * a domain the plugin does not know is the error NO_DOMAIN, as in every
 * other call naming one, rather than a problem found in it. */
static int check_domain(sb_connection *c, const char *domain, bool named, unsigned flags,
                        sb_buf *report, bool *no_metadata)
{
    char *intents = NULL, *store_report = NULL;
    sb_store *s = NULL;
    int problems = 0, state;
    int rc;

    *no_metadata = false;
    /* The full state query, not the cheap existence check: a monitor that
     * does not answer is a finding of check's. */
    if ((rc = sb_conn_domain_state(c, domain, &state)) < 0) {
        if (named && rc == -SB_ERR_NO_DOMAIN)
            return rc;
        *no_metadata = true; /* not looked at (one that went away meanwhile) */
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
        *no_metadata = true;
        return 0;
    }
    /* the store's load warnings are not listed here: sb_store_check
     * below reports each of them once (a torn tail as a note) */
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

/* One domain's result. */
struct dom_check {
    char *name;
    char *lines;        /* its findings, "  " + line + "\n" each */
    int problems;
    bool no_metadata;
};

static void dom_checks_free(struct dom_check *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].lines);
    }
    free(r);
}

/* Check domain (NULL: every domain the plugin lists), each in turn.
 * *out: one result per domain.  Returns the problems left, or a negative
 * class.  hv_owned: the plugin keeps the metadata, nothing is checked. */
static int run_checks(sb_connection *c, const char *domain, unsigned flags,
                      struct dom_check **out, size_t *out_n, bool *hv_owned)
{
    char **names = NULL;
    size_t n = 0;
    int problems = 0;
    int rc;

    *out = NULL;
    *out_n = 0;
    *hv_owned = false;
    const unsigned known = SB_CHECK_DISCARD_UNRESOLVED | SB_CHECK_REPAIR;
    if (flags & ~known)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in sb_check",
                            flags & ~known);
    if ((rc = sb_conn_check_writable(c, "checking metadata")) < 0)
        return rc;
    if (!sb_conn_broker_meta(c)) {
        *hv_owned = true;
        return 0;
    }
    if (!domain && (rc = sb_conn_domain_names(c, 0, &names, &n)) < 0)
        return rc;
    size_t count = domain ? 1 : n;
    struct dom_check *r = calloc(count ? count : 1, sizeof(*r));
    if (!r) {
        sb_names_free(names, n);
        return sb_error_oom();
    }
    for (size_t i = 0; i < count; i++) {
        sb_buf lines = { 0 };
        const char *name = domain ? domain : names[i];
        r[i].problems = check_domain(c, name, domain != NULL, flags, &lines, &r[i].no_metadata);
        if (r[i].problems < 0) {
            rc = r[i].problems;
            sb_buf_clear(&lines);
            dom_checks_free(r, i + 1);
            sb_names_free(names, n);
            return rc;
        }
        problems += r[i].problems;
        if (sb_buf_finish(&lines, &r[i].lines) < 0 || !(r[i].name = strdup(name))) {
            dom_checks_free(r, i + 1);
            sb_names_free(names, n);
            return sb_error_oom();
        }
    }
    sb_names_free(names, n);
    *out = r;
    *out_n = count;
    return problems;
}

int sb_check(char **out_report, sb_connection *c, const char *domain, unsigned flags)
{
    struct dom_check *r;
    sb_buf report = { 0 };
    size_t n;
    bool hv_owned;
    int problems, rc;

    if (!c || !out_report)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_check: NULL argument");
    *out_report = NULL;
    if ((problems = run_checks(c, domain, flags, &r, &n, &hv_owned)) < 0)
        return problems;
    if (hv_owned)
        sb_buf_addf(&report, "plugin '%s' keeps snapshot metadata in the hypervisor; nothing to check\n",
                    c->plugin->name);
    for (size_t i = 0; i < n; i++)
        sb_buf_addf(&report, "domain %s:\n%s", r[i].name, r[i].lines ? r[i].lines : "");
    dom_checks_free(r, n);
    if ((rc = sb_buf_finish(&report, out_report)) < 0)
        return rc;
    return problems;
}

/* "note: x" -> severity note, message x; "warning: x" likewise; any
 * other line is a finding: a problem, or what check did about one. */
static int split_finding(sb_check_finding *f, const char *line, size_t len)
{
    static const char *const prefixed[] = { "note", "warning" };

    f->severity = "finding";
    for (size_t k = 0; k < sizeof(prefixed) / sizeof(prefixed[0]); k++) {
        size_t plen = strlen(prefixed[k]);
        if (len > plen + 2 && strncmp(line, prefixed[k], plen) == 0 &&
            strncmp(line + plen, ": ", 2) == 0) {
            f->severity = prefixed[k];
            line += plen + 2;
            len -= plen + 2;
            break;
        }
    }
    return (f->message = strndup(line, len)) ? 0 : -1;
}

/* The findings of one domain from its lines ("  " + finding + "\n"). */
static int split_findings(sb_check_domain *d, const char *lines)
{
    size_t count = 0;
    sb_check_finding *f;

    for (const char *p = lines; p && *p; p++)
        count += *p == '\n';
    if (!(f = calloc(count ? count : 1, sizeof(*f))))
        return -1;
    d->findings = f;
    for (const char *p = lines; p && *p;) {
        size_t len = strcspn(p, "\n");
        const char *line = p;
        p += len + (p[len] == '\n');
        while (len && *line == ' ') {
            line++;
            len--;
        }
        /* what has_metadata says already */
        if (!len || (len == 20 && strncmp(line, "no snapshot metadata", 20) == 0))
            continue;
        if (split_finding(&f[d->nfindings], line, len) < 0)
            return -1;
        d->nfindings++;
    }
    return 0;
}

void sb_check_domains_free(sb_check_domain *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        free((char *)d[i].name);
        for (size_t k = 0; k < d[i].nfindings; k++)
            free((char *)d[i].findings[k].message);
        free((void *)d[i].findings);
    }
    free(d);
}

int sb_check_domains(sb_check_domain **out, size_t *out_n, sb_connection *c, const char *domain,
                     unsigned flags)
{
    struct dom_check *r;
    sb_check_domain *d;
    size_t n;
    bool hv_owned;
    int problems;

    if (!c || !out || !out_n)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_check_domains: NULL argument");
    *out = NULL;
    *out_n = 0;
    if ((problems = run_checks(c, domain, flags, &r, &n, &hv_owned)) < 0)
        return problems;
    if (!(d = calloc(n ? n : 1, sizeof(*d)))) {
        dom_checks_free(r, n);
        return sb_error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        d[i].name = r[i].name;
        r[i].name = NULL;
        d[i].problems = r[i].problems;
        d[i].has_metadata = !r[i].no_metadata;
        if (split_findings(&d[i], r[i].lines) < 0) {
            dom_checks_free(r, n);
            sb_check_domains_free(d, n);
            return sb_error_oom();
        }
    }
    dom_checks_free(r, n);
    *out = d;
    *out_n = n;
    return problems;
}
