/* fleet_list: issue 13's fleet view - every snapshot of H hosts × D
 * domains × S snapshots listed by ONE sb_fleet_list() call (hosts in
 * parallel threads, sizes asked), against the peer: the same listing done
 * the way a script does it today, host after host over the public API
 * (sb_connect, sb_domain_list, sb_snapshot_list_info per domain), in the
 * same run.
 *
 * The hosts are reference-plugin hosts (tests/plugins/reference: the
 * broker's store, no hypervisor round trips), and, with --esx, one more
 * host on VMware's vSphere simulator (tests/esx-sim) with its own VMs and
 * snapshots (the hypervisor keeps the tree: one round trip per snapshot
 * XML unless the plugin caches).
 *
 *   fleet_list [--hosts 20] [--domains 50] [--snapshots 20] [--rounds 5]
 *              [--esx --esxsim BUILD/tests/esx-sim/esxsim] [--esx-vms 10] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "snapbroker/snapbroker.h"
#ifdef FLEET_BENCH_ESX
#include "esxsim.h"
#endif

static const char *ref_domain(sb_connection *c)
{
    static char *xml;
    if (!xml && sb_domain_get_xml(&xml, c, "test", 0) < 0)
        bench_die("test domain: %s", sb_error_last()->message);
    return xml;
}

/* "test"'s definition renamed to name with a uuid of its own. */
static char *domain_xml(sb_connection *c, const char *name, unsigned k)
{
    const char *t = ref_domain(c);
    const char *n0 = strstr(t, "<name>test</name>"), *u0 = strstr(t, "<uuid>");
    if (!n0 || !u0 || u0 < n0)
        bench_die("unexpected test domain XML");
    size_t len = strlen(t) + 256;
    char *x = malloc(len);
    if (!x)
        bench_die("out of memory");
    snprintf(x, len, "%.*s<name>%s</name>%.*s<uuid>6695eb01-f6a4-8304-79aa-%012x</uuid>%s",
             (int)(n0 - t), t, name, (int)(u0 - (n0 + 17)), n0 + 17, k,
             strstr(u0, "</uuid>") + 7);
    return x;
}

/* A chain of s snapshots of domain (its definition dom) as one document. */
static char *chain_doc(const char *dom, long s, size_t *len)
{
    size_t cap = (size_t)s * (strlen(dom) + 256) + 64, n = 0;
    char *d = malloc(cap);
    if (!d)
        bench_die("out of memory");
    n += (size_t)snprintf(d, cap, "<domainsnapshots>\n");
    for (long i = 0; i < s; i++) {
        char parent[64] = "";
        if (i)
            snprintf(parent, sizeof parent, "<parent><name>s%ld</name></parent>", i - 1);
        n += (size_t)snprintf(d + n, cap - n,
                              "<domainsnapshot><name>s%ld</name>%s<state>shutoff</state>"
                              "<creationTime>%ld</creationTime>%s</domainsnapshot>\n",
                              i, parent, 1700000000L + i, dom);
    }
    n += (size_t)snprintf(d + n, cap - n, "</domainsnapshots>\n");
    *len = n;
    return d;
}

static void populate_ref(sb_broker *b, const char *host, long domains, long snaps, unsigned *k)
{
    sb_connection *c;
    if (sb_connect(&c, b, host, 0) < 0)
        bench_die("%s: %s", host, sb_error_last()->message);
    for (long d = 0; d < domains; d++) {
        char name[32], *out = NULL, *dom = NULL;
        snprintf(name, sizeof name, "d%ld", d);
        char *x = domain_xml(c, name, (*k)++);
        if (sb_domain_define(&out, c, x) < 0 || sb_domain_get_xml(&dom, c, name, 0) < 0)
            bench_die("define %s on %s: %s", name, host, sb_error_last()->message);
        size_t len;
        char *doc = chain_doc(dom, snaps, &len);
        if (sb_snapshot_import(NULL, c, name, doc, len, NULL, NULL, 0, 0) < 0)
            bench_die("import into %s on %s: %s", name, host, sb_error_last()->message);
        free(doc);
        free(dom);
        free(out);
        free(x);
    }
    sb_disconnect(c);
}

/* The peer: host after host, domain after domain, as a script would. */
static size_t list_serially(sb_broker *b)
{
    const sb_host_info *hosts;
    size_t nh = sb_broker_hosts(b, &hosts), total = 0;
    for (size_t h = 0; h < nh; h++) {
        sb_connection *c;
        char **doms = NULL;
        size_t nd = 0;
        if (sb_connect(&c, b, hosts[h].name, SB_CONNECT_READONLY) < 0 ||
            sb_domain_list(&doms, &nd, c, 0) < 0)
            bench_die("%s: %s", hosts[h].name, sb_error_last()->message);
        for (size_t d = 0; d < nd; d++) {
            char **names = NULL;
            sb_snapshot_info *info = NULL;
            size_t n = 0;
            if (sb_snapshot_list_info(&names, &info, &n, c, doms[d], NULL, 0) < 0)
                bench_die("%s/%s: %s", hosts[h].name, doms[d], sb_error_last()->message);
            total += n;
            sb_names_free(names, n);
            free(info);
        }
        sb_names_free(doms, nd);
        sb_disconnect(c);
    }
    return total;
}

static size_t list_fleet(sb_broker *b, unsigned parallel, int usage)
{
    sb_fleet *f = NULL;
    sb_fleet_query q = { .max_parallel = parallel, .usage = usage, .timeout_ms = 600000 };
    int failed = sb_fleet_list(&f, b, &q);
    if (failed != 0)
        bench_die("sb_fleet_list: %d (%s)", failed, sb_error_last()->message);
    const sb_fleet_snapshot *s;
    size_t n = sb_fleet_snapshots(f, &s);
    sb_fleet_free(f);
    return n;
}

struct variant {
    const char *name;
    int fleet;
    unsigned parallel;
    int usage;
};

static void measure(const char *label, long rounds, size_t expect)
{
    static const struct variant v[] = {
        { "serial script (sb_snapshot_list_info per domain)", 0, 0, 0 },
        { "sb_fleet_list, 1 host at a time, sizes", 1, 1, 1 },
        { "sb_fleet_list, 8 hosts at once, sizes (the CLI's default)", 1, 8, 1 },
    };
    const size_t nv = sizeof v / sizeof v[0];
    double *ms[3];
    sb_broker *b;

    if (sb_broker_new(&b, NULL) < 0)
        bench_die("broker: %s", sb_error_last()->message);
    for (size_t k = 0; k < nv; k++)
        ms[k] = calloc((size_t)rounds, sizeof(double));
    for (long r = 0; r < rounds; r++) {
        for (size_t k = 0; k < nv; k++) {
            double t0 = bench_now_us();
            size_t n = v[k].fleet ? list_fleet(b, v[k].parallel, v[k].usage) : list_serially(b);
            ms[k][r] = (bench_now_us() - t0) / 1e3;
            if (n != expect)
                bench_die("%s listed %zu snapshots, not %zu", v[k].name, n, expect);
        }
    }
    bench_out("\n%s: %zu snapshots, median (min–max) of %ld rounds\n\n", label, expect, rounds);
    bench_out("| how | ms | vs serial |\n|---|---|---|\n");
    double base = bench_median(ms[0], (size_t)rounds);
    for (size_t k = 0; k < nv; k++) {
        double med = bench_median(ms[k], (size_t)rounds);
        bench_out("| %s | %s | %s |\n", v[k].name, bench_fmt_stat(ms[k], (size_t)rounds),
                  bench_ratio(med, base));
    }
    char key[128];
    snprintf(key, sizeof key, "fleet_%s_ms", strstr(label, "ESX") ? "esx" : "ref");
    bench_kv(key, bench_median(ms[2], (size_t)rounds));
    for (size_t k = 0; k < nv; k++)
        free(ms[k]);
    sb_broker_free(b);
}

int main(int argc, char **argv)
{
    long hosts = 20, domains = 50, snaps = 20, rounds = 5, esx_vms = 10;
    int esx = 0;
    const char *sim_bin = NULL;
    static const struct option opts[] = {
        { "hosts", 1, 0, 'h' },   { "domains", 1, 0, 'd' }, { "snapshots", 1, 0, 's' },
        { "rounds", 1, 0, 'r' },  { "esx", 0, 0, 'e' },     { "esx-vms", 1, 0, 'v' },
        { "esxsim", 1, 0, 'x' },  { 0, 0, 0, 0 },
    };
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (o) {
        case 'h': hosts = atol(optarg); break;
        case 'd': domains = atol(optarg); break;
        case 's': snaps = atol(optarg); break;
        case 'r': rounds = atol(optarg); break;
        case 'e': esx = 1; break;
        case 'v': esx_vms = atol(optarg); break;
        case 'x': sim_bin = optarg; break;
        default:
            bench_die("usage: fleet_list [--hosts H] [--domains D] [--snapshots S] [--rounds R] "
                      "[--esx] [--esx-vms N] [--esxsim PATH]");
        }
    }
    if (hosts < 1 || domains < 1 || snaps < 1 || rounds < 1)
        bench_die("counts must be positive");

    char *work = bench_tmpdir(NULL, "fleetbench");
    char conf[1100], state[1100];
    snprintf(conf, sizeof conf, "%s/fleet.conf", work);
    snprintf(state, sizeof state, "%s/state", work);
    FILE *f = fopen(conf, "w");
    if (!f)
        bench_die("cannot write %s", conf);
    fprintf(f, "hosts = (\n");
    for (long h = 0; h < hosts; h++)
        fprintf(f, "%s  { name = \"r%ld\"; plugin = \"ref\"; uri = \"ref:///default\"; }\n",
                h ? "," : "", h);
    fprintf(f, ");\n");
    fclose(f);
    setenv("SNAPBROKER_CONFIG", conf, 1);
    setenv("SNAPBROKER_STATE_DIR", state, 1);

    sb_broker *b;
    if (sb_broker_new(&b, NULL) < 0)
        bench_die("broker: %s", sb_error_last()->message);
    unsigned k = 0;
    for (long h = 0; h < hosts; h++) {
        char name[32];
        snprintf(name, sizeof name, "r%ld", h);
        populate_ref(b, name, domains, snaps, &k);
    }
    sb_broker_free(b);
    /* each ref host also has its fixture domain "test", without snapshots */
    size_t expect = (size_t)(hosts * domains * snaps);
    char label[160];
    snprintf(label, sizeof label, "%ld reference hosts × %ld domains × %ld snapshots", hosts,
             domains, snaps);
    bench_out("## fleet_list\n");
    measure(label, rounds, expect);

    if (esx) {
#ifdef FLEET_BENCH_ESX
        if (sim_bin)
            setenv("SB_ESXSIM", sim_bin, 1);
        if (!getenv("SB_ESXSIM"))
            bench_die("--esx needs --esxsim PATH (BUILD/tests/esx-sim/esxsim) or SB_ESXSIM");
        setenv("SB_BUILD_ROOT", work, 1);
        esxsim sim;
        static const char *const args[] = { "-vm", "0", NULL };
        if (esxsim_start(&sim, args) < 0)
            bench_die("the simulator did not start");
        f = fopen(conf, "w");
        if (!f)
            bench_die("cannot write %s", conf);
        fprintf(f, "hosts = (\n");
        for (long h = 0; h < hosts; h++)
            fprintf(f, "  { name = \"r%ld\"; plugin = \"ref\"; uri = \"ref:///default\"; },\n", h);
        fprintf(f, "  { name = \"sim\"; plugin = \"esx\"; uri = \"esx+http://%s/\";\n"
                   "    esx = { user = \"root\"; password = \"secret\"; }; }\n);\n",
                sim.hostport);
        fclose(f);
        sb_connection *c;
        if (sb_broker_new(&b, NULL) < 0 || sb_connect(&c, b, "sim", 0) < 0)
            bench_die("esx: %s", sb_error_last()->message);
        for (long v = 0; v < esx_vms; v++) {
            char vm[32], moref[32];
            snprintf(vm, sizeof vm, "fleet%ld", v);
            if (esxsim_new_vm(&sim, vm, "disks=persistent", moref) < 0)
                bench_die("cannot make VM %s", vm);
            for (long s = 0; s < snaps; s++) {
                char xml[128], *out = NULL;
                snprintf(xml, sizeof xml, "<domainsnapshot><name>s%ld</name></domainsnapshot>", s);
                if (sb_snapshot_create_xml(&out, c, vm, xml, 0) < 0)
                    bench_die("esx snapshot %s/s%ld: %s", vm, s, sb_error_last()->message);
                free(out);
            }
        }
        sb_disconnect(c);
        sb_broker_free(b);
        snprintf(label, sizeof label, "the same plus one ESX simulator host × %ld VMs × %ld "
                 "snapshots", esx_vms, snaps);
        measure(label, rounds, expect + (size_t)(esx_vms * snaps));
        esxsim_stop(&sim);
#else
        (void)sim_bin;
        (void)esx_vms;
        bench_die("built without the esx plugin or the simulator");
#endif
    }
    bench_rm_rf(work);
    free(work);
    return 0;
}
