/* sbk_main: pick the scenarios, open the host, run each on its own scratch
 * domain, report, clean up.  A scenario whose needs the plugin does not
 * declare is skipped with the reason; cleanup runs after every scenario,
 * also after a failure, and on SIGINT/SIGTERM (or SIGPIPE: the reader of
 * the report went away) the run stops after the scenario in progress (its
 * domain is removed all the same). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalogue.h"
#include "report.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int fail_setup(const char *what)
{
    fprintf(stderr, "error: %s: %s%s%s\n", sb_error_class_name(sb_error_last()->code), what,
            sb_error_last()->message[0] ? ": " : "", sb_error_last()->message);
    return -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int list_catalogue(FILE *out, const struct k_scenario *const *v, size_t n,
                          const struct sbk_options *o)
{
    char needs[512];
    for (size_t i = 0; i < n; i++) {
        if (!k_id_selected(v[i]->id, o->only, o->nonly))
            continue;
        fprintf(out, "%-34s §%-5s %s\n%34s needs: %s\n", v[i]->id, v[i]->section, v[i]->rule,
                "", k_needs_words(&v[i]->needs, needs, sizeof(needs)));
    }
    return 0;
}

static void run_one(struct k *k, const struct k_scenario *s, struct k_outcome *o)
{
    const char *why = k_unmet(k, &s->needs);
    double t0 = now();

    k->msg[0] = '\0';
    if (why) {
        o->result = K_SKIP;
        snprintf(o->msg, sizeof(o->msg), "%s", why);
        return;
    }
    int r = k_domain_begin(k, 1);
    if (r == K_PASS)
        r = s->run(k, s);
    char saved[sizeof(k->msg)];
    memcpy(saved, k->msg, sizeof(saved));
    k->msg[0] = '\0';
    k_domain_end(k);
    if (k->msg[0]) { /* cleanup could not remove everything */
        size_t used = strlen(saved);
        snprintf(saved + used, sizeof(saved) - used, "%s%s", used ? "; " : "", k->msg);
        r = K_FAIL;
    }
    o->result = r;
    snprintf(o->msg, sizeof(o->msg), "%s", saved);
    o->seconds = now() - t0;
}

int sbk_main(const struct sbk_options *o)
{
    const struct k_scenario *const *all;
    size_t n = k_catalogue(&all), nsel = 0, counts[3] = { 0, 0, 0 };
    FILE *out = o->out ? o->out : stdout;
    struct k k = { .opts = o, .simulator = getenv("SBK_SIMULATOR"), .spawner_sock = -1 };
    int ret = -1;

    if (!n)
        return fail_setup("the catalogue is empty (out of memory?)");
    for (size_t i = 0; i < n; i++)
        nsel += k_id_selected(all[i]->id, o->only, o->nonly);
    if (o->nonly && !nsel) {
        fprintf(stderr, "error: INVALID_ARG: no scenario matches --only (see --list)\n");
        return -1;
    }
    if (o->list)
        return list_catalogue(out, all, n, o);
    if (o->guest_data && strcmp(o->guest_data, "qemu-io") != 0) {
        fprintf(stderr, "error: INVALID_ARG: --guest-data: unknown method '%s' (only qemu-io)\n",
                o->guest_data);
        return -1;
    }
    const struct k_scenario **sel = calloc(nsel, sizeof(*sel));
    struct k_outcome *res = calloc(nsel, sizeof(*res));
    if (!sel || !res) {
        free(sel);
        free(res);
        fprintf(stderr, "error: NO_MEMORY: out of memory\n");
        return -1;
    }
    for (size_t i = 0, j = 0; i < n; i++)
        if (k_id_selected(all[i]->id, o->only, o->nonly))
            sel[j++] = all[i];

    /* before anything is loaded: the spawner must fork from a process
     * that runs no plugin's threads yet (spawner.c) */
    if (k_spawner_start(&k) < 0)
        goto out;
    if (sb_broker_new(&k.b, o->config) < 0) {
        fail_setup("loading the configuration");
        goto out;
    }
    if (sb_connect(&k.c, k.b, o->host, 0) < 0) {
        fail_setup("connecting");
        goto out;
    }
    if (sb_connection_get_caps(&k.caps, k.c) < 0) {
        fail_setup("reading the plugin's capabilities");
        goto out;
    }
    if (!o->domain && !sb_connection_supports(k.c, "domain_define")) {
        fprintf(stderr,
                "error: INVALID_ARG: plugin '%s' cannot define domains, so the kit cannot make "
                "scratch domains: give --domain NAME (an existing domain without snapshots that "
                "the kit may snapshot, revert and start/stop; see docs/conformance.md)\n",
                sb_connection_plugin(k.c));
        goto out;
    }
    if (k_scratch_init(&k) < 0)
        goto out;

    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_pipe;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGPIPE, &sa, &old_pipe);
    k_report_begin(out, o->format, nsel, sb_connection_host(k.c), sb_connection_plugin(k.c));
    for (size_t i = 0; i < nsel; i++) {
        if (stop_requested) {
            res[i].result = K_SKIP;
            snprintf(res[i].msg, sizeof(res[i].msg), "run interrupted");
        } else {
            run_one(&k, sel[i], &res[i]);
        }
        counts[res[i].result]++;
        k_report_one(out, o->format, i, sel[i], &res[i]);
    }
    k_report_end(out, o->format, counts);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    ret = counts[K_FAIL] || stop_requested ? 1 : 0;
    if (o->junit && k_report_junit(o->junit, sb_connection_host(k.c), sb_connection_plugin(k.c),
                                   sel, res, nsel, counts) < 0) {
        fprintf(stderr, "error: SYSTEM_ERROR: cannot write %s\n", o->junit);
        ret = -1;
    }
out:
    k_scratch_fini(&k);
    if (k.c)
        sb_disconnect(k.c);
    if (k.b)
        sb_broker_free(k.b);
    k_spawner_stop(&k);
    free(sel);
    free(res);
    return ret;
}
