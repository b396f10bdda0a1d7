/* esx_roundtrip: one snapshot round trip (create, revert to it, remove
 * it) on a VM of VMware's vSphere simulator, per target, in one run:
 *
 *   raw          a minimal C SOAP client that knows the VM's reference
 *                (esx_raw.c): the floor
 *   snapbroker   the public API with the esx plugin (default settings:
 *                one session, VM reads kept for cache_ms)
 *   snapbroker, cache_ms = 0   the same, reading the VM on every callback
 *   libvirt      libvirt 9.0's ESX driver (esx_lv.c), which needs the
 *                simulator's fixing proxy (esxsim -libvirt-fix) ...
 *   raw via proxy  ... so the floor is measured through it too
 *   diagnostics   the raw client whose polls also read the VM, with
 *                 its configuration (device list and all: what the
 *                 plugin's polls read before they left it out) and with
 *                 only the configuration's version (what they read now):
 *                 what the simulator's bigger answers cost, apart from
 *                 the client's own work
 *
 *   esx_roundtrip [--iterations N] [--rounds R] [--esxsim PATH] [--only K]
 *
 * --only K runs target K alone (0 raw, 1 snapbroker, 2 snapbroker with
 * cache_ms = 0, 3 libvirt, 4 raw via proxy, 5 and 6 the diagnostics),
 * e.g. under a profiler.
 *
 * Each target has its own VM.  A round runs N round trips per target,
 * targets in a rotating order; the figure is the median over rounds of
 * the mean time per round trip, and each ratio to the floor is given as
 * the ratio of medians, as the median of the rounds' own ratios (a round
 * runs the targets back to back) and as the ratio of the best rounds.
 * The simulator runs every task before it answers, so each task costs one
 * call and one poll for everybody.  The CPU time this process spends per
 * round trip (the client's own work, less sensitive to a loaded machine
 * than wall time) is shown too. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "esx_bench.h"
#include "esxsim.h"
#include "snapbroker/snapbroker.h"

enum { T_RAW, T_SB, T_SB0, T_LV, T_RAWP, T_RAWVD, T_RAWV, NT };
static const char *const tname[NT] = {
    "raw SOAP client", "snapbroker API", "snapbroker API, cache_ms = 0", "libvirt ESX driver",
    "raw SOAP client via proxy",
    "diagnostic: raw client, polls read the VM with its configuration",
    "diagnostic: raw client, polls read the VM, its configuration's version only"
};

/* The VM properties the esx plugin's polls read (plugins/esx/vm.c): with
 * the configuration, and with only its version. */
#define VM_PATHS_STATE                                                                     \
    "<pathSet>name</pathSet><pathSet>config.changeVersion</pathSet>"                       \
    "<pathSet>runtime.powerState</pathSet><pathSet>runtime.consolidationNeeded</pathSet>"  \
    "<pathSet>guest.toolsRunningStatus</pathSet><pathSet>snapshot</pathSet>"
#define VM_PATHS_CONF                                                                      \
    "<pathSet>config.uuid</pathSet><pathSet>config.instanceUuid</pathSet>"                 \
    "<pathSet>config.template</pathSet><pathSet>config.hardware.memoryMB</pathSet>"        \
    "<pathSet>config.hardware.numCPU</pathSet><pathSet>config.hardware.device</pathSet>"
static const char poll_vm_devices[] = "<propSet><type>VirtualMachine</type><all>false</all>"
    VM_PATHS_STATE VM_PATHS_CONF "</propSet>";
static const char poll_vm_light[] =
    "<propSet><type>VirtualMachine</type><all>false</all>" VM_PATHS_STATE "</propSet>";

struct target {
    int on;
    esx_raw *raw;
    sb_connection *sb;
    esx_lv *lv;
    char vm[32], moref[32];
};

static sb_broker *broker;

static void sb_roundtrip(struct target *t, const char *name)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    if (sb_snapshot_create_xml(NULL, t->sb, t->vm, xml, 0) != 0 ||
        sb_snapshot_revert(t->sb, t->vm, name, 0) != 0 ||
        sb_snapshot_delete(t->sb, t->vm, name, 0) != 0)
        bench_die("snapbroker: %s", sb_error_last()->message);
}

static void roundtrip(int k, struct target *t, const char *name)
{
    if (k == T_RAW || k == T_RAWP || k == T_RAWVD || k == T_RAWV)
        esx_raw_roundtrip(t->raw, name);
    else if (k == T_LV)
        esx_lv_roundtrip(t->lv, name);
    else
        sb_roundtrip(t, name);
}

static const char *default_esxsim(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 64);
    if (n <= 0)
        return NULL;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    strcpy(slash, "/../tests/esx-sim/esxsim");
    return path;
}

int main(int argc, char **argv)
{
    long iters = 200, rounds = 5;
    int only = -1;
    const char *sim_bin = getenv("ESXSIM");
    static const struct option opts[] = { { "iterations", 1, 0, 'n' }, { "rounds", 1, 0, 'r' },
                                          { "esxsim", 1, 0, 's' }, { "only", 1, 0, 'o' },
                                          { 0, 0, 0, 0 } };
    for (int o; (o = getopt_long(argc, argv, "n:r:s:o:", opts, NULL)) != -1;) {
        if (o == 'n')
            iters = atol(optarg);
        else if (o == 'r')
            rounds = atol(optarg);
        else if (o == 's')
            sim_bin = optarg;
        else if (o == 'o')
            only = atoi(optarg);
        else
            bench_die("usage: esx_roundtrip [--iterations N] [--rounds R] [--esxsim PATH] "
                      "[--only K]");
    }
    if (!sim_bin)
        sim_bin = default_esxsim();
    if (!sim_bin || access(sim_bin, X_OK) != 0)
        bench_die("no simulator: build the tests (tests/esx-sim) or give --esxsim PATH");
    setenv("SB_ESXSIM", sim_bin, 1);
    char *work = bench_tmpdir(NULL, "esxbench");
    setenv("SB_BUILD_ROOT", work, 1); /* esxsim_start's scratch goes here */

    esxsim sim;
    /* no request log: it is for tests, and costs every request a copy and
     * a regexp in the simulator, the same for every target */
    static const char *const args[] = { "-vm", "0", "-libvirt-fix", "-log=false", NULL };
    if (esxsim_start(&sim, args) < 0)
        bench_die("the simulator did not start");
    struct target t[NT];
    memset(t, 0, sizeof(t));
    for (int k = 0; k < NT; k++) {
        snprintf(t[k].vm, sizeof(t[k].vm), "bench%d", k);
        if (esxsim_new_vm(&sim, t[k].vm, "disks=persistent&power=on", t[k].moref) < 0)
            bench_die("cannot make VM %s", t[k].vm);
    }

    char conf[1024], path[512], auth[600], lv_uri[300], proxy_sdk[300];
    snprintf(auth, sizeof(auth), "%s/auth.conf", sim.dir);
    FILE *f = fopen(auth, "w");
    if (!f)
        bench_die("cannot write %s", auth);
    fprintf(f, "[credentials-sim]\nauthname=root\npassword=secret\n"
               "[auth-esx-127.0.0.1]\ncredentials=sim\n");
    fclose(f);
    setenv("LIBVIRT_AUTH_FILE", auth, 1);
    setenv("LIBVIRT_LOG_OUTPUTS", "4:stderr", 1);
    snprintf(path, sizeof(path), "%s/sb.conf", sim.dir);
    f = fopen(path, "w");
    if (!f)
        bench_die("cannot write %s", path);
    snprintf(conf, sizeof(conf),
             "hosts = ( { name = \"sim\"; plugin = \"esx\"; uri = \"esx+http://%s/\";\n"
             "  esx = { user = \"root\"; password = \"secret\"; }; },\n"
             "  { name = \"sim0\"; plugin = \"esx\"; uri = \"esx+http://%s/\";\n"
             "  esx = { user = \"root\"; password = \"secret\"; cache_ms = 0; }; } );\n",
             sim.hostport, sim.hostport);
    fputs(conf, f);
    fclose(f);
    setenv("SNAPBROKER_CONFIG", path, 1);
    snprintf(path, sizeof(path), "%s/state", sim.dir);
    setenv("SNAPBROKER_STATE_DIR", path, 1);
    if (sb_broker_new(&broker, NULL) != 0 || sb_connect(&t[T_SB].sb, broker, "sim", 0) != 0 ||
        sb_connect(&t[T_SB0].sb, broker, "sim0", 0) != 0)
        bench_die("snapbroker: %s", sb_error_last()->message);
    t[T_RAW].raw = esx_raw_open(sim.url, "root", "secret", t[T_RAW].moref, NULL);
    t[T_RAWVD].raw = esx_raw_open(sim.url, "root", "secret", t[T_RAWVD].moref, poll_vm_devices);
    t[T_RAWV].raw = esx_raw_open(sim.url, "root", "secret", t[T_RAWV].moref, poll_vm_light);
    const char *hp = strstr(sim.libvirt_url, "://");
    snprintf(lv_uri, sizeof(lv_uri), "esx://root@%.*s/?transport=http",
             hp ? (int)strcspn(hp + 3, "/") : 0, hp ? hp + 3 : "");
    snprintf(proxy_sdk, sizeof(proxy_sdk), "%s", sim.libvirt_url);
    t[T_RAWP].raw = esx_raw_open(proxy_sdk, "root", "secret", t[T_RAWP].moref, NULL);
    t[T_LV].lv = esx_lv_open(lv_uri, t[T_LV].vm);
    for (int k = 0; k < NT; k++)
        t[k].on = (k != T_LV || t[T_LV].lv != NULL) && (only < 0 || only == k);

    double *ms[NT], *cpu[NT];
    char name[64];
    for (int k = 0; k < NT; k++) {
        ms[k] = calloc((size_t)rounds, sizeof(double));
        cpu[k] = calloc((size_t)rounds, sizeof(double));
        for (int i = 0; t[k].on && i < 5; i++) { /* warm up: sessions, listings */
            snprintf(name, sizeof(name), "warm%d", i);
            roundtrip(k, &t[k], name);
        }
    }
    for (long r = 0; r < rounds; r++) {
        for (int j = 0; j < NT; j++) {
            int k = (int)((j + r) % NT);
            if (!t[k].on)
                continue;
            double t0 = bench_now_us(), c0 = bench_cpu_ms();
            for (long i = 0; i < iters; i++) {
                snprintf(name, sizeof(name), "r%ld-%ld", r, i);
                roundtrip(k, &t[k], name);
            }
            ms[k][r] = (bench_now_us() - t0) / 1000.0 / (double)iters;
            cpu[k][r] = (bench_cpu_ms() - c0) / (double)iters;
        }
    }

    /* Each round runs every target back to back, so the ratio of a
     * round's two times is less moved by what else the machine does than
     * the ratio of two medians: the median of the rounds' ratios is shown
     * too (before the medians below sort the times). */
    double paired[NT] = { 0 }, *ratios = calloc((size_t)rounds, sizeof(double));
    for (int k = 0; ratios && k < NT; k++) {
        int floor = k == T_LV || k == T_RAWP ? T_RAWP : T_RAW;
        if (!t[k].on || !t[floor].on)
            continue;
        for (long r = 0; r < rounds; r++)
            ratios[r] = ms[floor][r] > 0 ? ms[k][r] / ms[floor][r] : 0;
        paired[k] = bench_median(ratios, (size_t)rounds);
    }
    free(ratios);
    double med[NT] = { 0 }, best[NT] = { 0 }, cmed[NT] = { 0 };
    char stat[NT][64];
    for (int k = 0; k < NT; k++) {
        if (!t[k].on)
            continue;
        best[k] = bench_min(ms[k], (size_t)rounds);
        snprintf(stat[k], sizeof(stat[k]), "%s", bench_fmt_stat(ms[k], (size_t)rounds));
        med[k] = bench_median(ms[k], (size_t)rounds);
        cmed[k] = bench_median(cpu[k], (size_t)rounds);
    }
    bench_out("\n### esx: snapshot create + revert + remove round trip "
              "(vSphere simulator, %ld × %ld)\n\n",
              rounds, iters);
    /* libvirt and the raw client through the proxy are compared with
     * each other: the proxy's hop is theirs alone */
    bench_out("| target | ms per round trip, median (min–max) | ÷ raw client, medians | "
              "÷ raw client, round by round (median) | ÷ raw client, best rounds | "
              "÷ libvirt, medians | client CPU ms |\n"
              "|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < NT; k++) {
        if (!t[k].on) {
            bench_out("| %s | (not built with libvirt) | | | | | |\n", tname[k]);
            continue;
        }
        int floor = k == T_LV || k == T_RAWP ? T_RAWP : T_RAW;
        char vm[32], vp[32], vb[32];
        snprintf(vm, sizeof(vm), "%s%s", bench_ratio(med[k], med[floor]),
                 k == T_LV ? " (via proxy)" : "");
        snprintf(vp, sizeof(vp), "%.2f×", paired[k]);
        snprintf(vb, sizeof(vb), "%s", bench_ratio(best[k], best[floor]));
        bench_out("| %s | %s | %s | %s | %s | %s | %s |\n", tname[k], stat[k], vm, vp, vb,
                  t[T_LV].on ? bench_ratio(med[k], med[T_LV]) : "–", bench_fmt(cmed[k]));
    }

    for (int k = 0; k < NT; k++) {
        free(ms[k]);
        free(cpu[k]);
        esx_raw_close(t[k].raw);
        esx_lv_close(t[k].lv);
        if (t[k].sb)
            sb_disconnect(t[k].sb);
    }
    sb_broker_free(broker);
    esxsim_stop(&sim);
    bench_rm_rf(work);
    free(work);
    return 0;
}
