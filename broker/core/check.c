/* sb_check: the metadata of a domain (or of every domain the plugin
 * lists): interrupted operations reconciled with the hypervisor, then the
 * store's invariants verified. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "xml/xml_util.h"

static int check_domain(sb_connection *c, const char *domain, sb_buf *report)
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
    if ((rc = sb_store_open(c->broker->cfg->state_dir, c->host_name, domain,
                            SB_STORE_WRITABLE | SB_STORE_ALLOW_DAMAGED, &s)) < 0) {
        sb_buf_addf(report, "  cannot open the store: %s\n", sb_error_last()->message);
        return 1;
    }
    const char *const *warnings;
    size_t nw = sb_store_warnings(s, &warnings);
    for (size_t i = 0; i < nw; i++)
        sb_buf_addf(report, "  warning: %s\n", warnings[i]);
    if (sb_store_damaged(s))
        problems++;
    rc = sb_conn_reconcile(c, domain, s, &intents);
    if (rc < 0) {
        sb_buf_addf(report, "  cannot reconcile interrupted operations: %s\n",
                    sb_error_last()->message);
        problems++;
    } else {
        problems += rc;
        for (char *line = intents ? strtok(intents, "\n") : NULL; line; line = strtok(NULL, "\n"))
            sb_buf_addf(report, "  %s\n", line);
    }
    if (sb_store_check(s, &store_report) < 0)
        problems++;
    for (char *line = store_report ? strtok(store_report, "\n") : NULL; line;
         line = strtok(NULL, "\n"))
        sb_buf_addf(report, "  %s\n", line);
    free(intents);
    free(store_report);
    sb_store_close(s);
    sb_error_clear();
    return problems;
}

int sb_check(char **out_report, sb_connection *c, const char *domain)
{
    char **names = NULL;
    size_t n = 0;
    sb_buf report = { 0 };
    int problems = 0;
    int rc;

    if (!c || !out_report)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_check: NULL argument");
    *out_report = NULL;
    if ((rc = sb_conn_check_writable(c, "checking metadata")) < 0)
        return rc;
    if (!sb_conn_broker_meta(c)) {
        sb_buf_addf(&report, "plugin '%s' keeps snapshot metadata in the hypervisor; nothing to check\n",
                    c->plugin->name);
        return sb_buf_finish(&report, out_report);
    }
    if (domain) {
        problems = check_domain(c, domain, &report);
    } else {
        if ((rc = sb_domain_list(&names, &n, c, 0)) < 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            problems += check_domain(c, names[i], &report);
        sb_names_free(names, n);
    }
    if ((rc = sb_buf_finish(&report, out_report)) < 0)
        return rc;
    return problems;
}
