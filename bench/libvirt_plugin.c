/* libvirt_plugin: what the libvirt plugin adds over calling libvirt
 * directly, for the same operations on the same guest, in one run.
 *
 *   libvirt_plugin [--reps 7] [--snapshots 20] [--skip-revert]
 *
 * A private libvirtd (tests/libvirt/private-libvirtd.sh: own namespaces,
 * nothing of the machine's libvirt touched; needs root) runs one 64 MiB
 * guest (KVM when /dev/kvm works, else TCG).  Two clients in this process
 * reach it over its unix socket: snapbroker's public API on
 * libvirt+qemu+unix:///system?socket=..., and libvirt's API the way a
 * careful client (virsh) does the same operation: look the domain (and
 * the snapshot) up by name, make the call, free.  Each repetition runs
 * every operation on both, alternating which goes first; the guest keeps
 * `--snapshots` other snapshots so listings have something to list.
 * Goal (issue 12): snapbroker / libvirt <= 1.05 for every operation. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "bench.h"
#include "lv.h"
#include "lvd.h"
#include "sb_config.h"
#include "snapbroker/snapbroker.h"

#define DOM "bench"

enum op { OP_CREATE, OP_XML, OP_LIST, OP_CURRENT, OP_REVERT, OP_DELETE, NOPS };
static const char *const op_names[NOPS] = {
    "create internal snapshot (running, with memory)", "snapshot XML", "list all snapshots",
    "current snapshot", "revert to internal (running)", "delete internal"};

struct clients {
    sb_connection *sb;
    virConnectPtr vc;
};

static void sb_ok(int rc, const char *what)
{
    if (rc != 0)
        bench_die("snapbroker %s: %s", what, sb_error_last()->message);
}

static double run_sb(struct clients *k, enum op op, const char *name)
{
    char xml[128], *s = NULL, **names = NULL;
    size_t n = 0;
    double t0 = bench_now_us();

    switch (op) {
    case OP_CREATE:
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
        sb_ok(sb_snapshot_create_xml(NULL, k->sb, DOM, xml, 0), "create");
        break;
    case OP_XML:
        sb_ok(sb_snapshot_get_xml(&s, k->sb, DOM, name, 0), "xml");
        break;
    case OP_LIST:
        sb_ok(sb_snapshot_list(&names, &n, k->sb, DOM, NULL, 0), "list");
        break;
    case OP_CURRENT:
        sb_ok(sb_snapshot_current(&s, k->sb, DOM), "current");
        break;
    case OP_REVERT:
        sb_ok(sb_snapshot_revert(k->sb, DOM, name, 0), "revert");
        break;
    case OP_DELETE:
        sb_ok(sb_snapshot_delete(k->sb, DOM, name, 0), "delete");
        break;
    default:
        break;
    }
    double t = bench_now_us() - t0;
    free(s);
    sb_names_free(names, n);
    return t;
}

static void lv_check(int bad, const char *what)
{
    if (bad)
        bench_die("libvirt %s: %s", what, lv_err());
}

static double run_lv(struct clients *k, enum op op, const char *name)
{
    char xml[128];
    double t0 = bench_now_us();
    virDomainPtr d = virDomainLookupByName(k->vc, DOM);
    virDomainSnapshotPtr s = NULL, *all = NULL;
    char *text = NULL;
    int n = 0;

    lv_check(!d, "lookup");
    switch (op) {
    case OP_CREATE:
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
        lv_check(!(s = virDomainSnapshotCreateXML(d, xml, 0)), "create");
        break;
    case OP_XML:
        lv_check(!(s = virDomainSnapshotLookupByName(d, name, 0)), "lookup snapshot");
        lv_check(!(text = virDomainSnapshotGetXMLDesc(s, 0)), "xml");
        break;
    case OP_LIST: {
        lv_check((n = virDomainListAllSnapshots(d, &all, 0)) < 0, "list");
        char **names = calloc((size_t)n + 1, sizeof(*names));
        for (int i = 0; i < n; i++) {
            names[i] = strdup(virDomainSnapshotGetName(all[i]));
            virDomainSnapshotFree(all[i]);
        }
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        free(all);
        break;
    }
    case OP_CURRENT:
        lv_check(!(s = virDomainSnapshotCurrent(d, 0)), "current");
        text = strdup(virDomainSnapshotGetName(s));
        break;
    case OP_REVERT:
        lv_check(!(s = virDomainSnapshotLookupByName(d, name, 0)), "lookup snapshot");
        lv_check(virDomainRevertToSnapshot(s, 0) < 0, "revert");
        break;
    case OP_DELETE:
        lv_check(!(s = virDomainSnapshotLookupByName(d, name, 0)), "lookup snapshot");
        lv_check(virDomainSnapshotDelete(s, 0) < 0, "delete");
        break;
    default:
        break;
    }
    if (s)
        virDomainSnapshotFree(s);
    free(text);
    virDomainFree(d);
    return bench_now_us() - t0;
}

/* Every operation on both clients, reps times (reads `fast` times per
 * repetition: they are cheap and noisy), alternating who goes first;
 * prints the table. */
static int skip_revert; /* --skip-revert: reverts take seconds */

static void measure(struct clients *k, int reps, int fast)
{
    size_t cap = (size_t)reps * (size_t)fast, count[2][NOPS] = { { 0 } };
    double *t[2][NOPS];

    for (int w = 0; w < 2; w++)
        for (int o = 0; o < NOPS; o++)
            t[w][o] = calloc(cap, sizeof(double));
    for (int r = 0; r < reps; r++) {
        char mine[32], theirs[32];
        snprintf(mine, sizeof(mine), "sb%03d", r);
        snprintf(theirs, sizeof(theirs), "lv%03d", r);
        for (int o = 0; o < NOPS; o++) {
            if (o == OP_REVERT && skip_revert)
                continue;
            int times = o == OP_XML || o == OP_LIST || o == OP_CURRENT ? fast : 1;
            for (int i = 0; i < times; i++) {
                for (int turn = 0; turn < 2; turn++) {
                    int who = (turn + r + o + i) % 2; /* 0 snapbroker, 1 libvirt */
                    t[who][o][count[who][o]++] = who == 0 ? run_sb(k, (enum op)o, mine)
                                                          : run_lv(k, (enum op)o, theirs);
                }
            }
        }
        fprintf(stderr, "rep %d/%d done\n", r + 1, reps);
    }
    bench_out("| operation | snapbroker (libvirt plugin) | libvirt API | ratio |\n");
    bench_out("|---|---|---|---|\n");
    for (int o = 0; o < NOPS; o++) {
        if (!count[0][o])
            continue;
        double ma = bench_median(t[0][o], count[0][o]), mc = bench_median(t[1][o], count[1][o]);
        bench_out("| %s | %s µs | %s µs | %s |\n", op_names[o],
                  bench_fmt_stat(t[0][o], count[0][o]), bench_fmt_stat(t[1][o], count[1][o]),
                  bench_ratio(ma, mc));
    }
    bench_out("\n");
    for (int w = 0; w < 2; w++)
        for (int o = 0; o < NOPS; o++)
            free(t[w][o]);
}

static void define_guest(virConnectPtr vc, const char *dir)
{
    char disk[256], cmd[400], xml[1400];
    int kvm = access("/dev/kvm", R_OK | W_OK) == 0;

    snprintf(disk, sizeof(disk), "%s/bench.qcow2", dir);
    snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 '%s' 64M", disk);
    if (system(cmd) != 0)
        bench_die("qemu-img create failed");
    snprintf(xml, sizeof(xml),
             "<domain type='%s'><name>" DOM "</name><memory unit='MiB'>64</memory>"
             "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
             "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
             "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
             "<memballoon model='none'/></devices></domain>",
             kvm ? "kvm" : "qemu", disk);
    virDomainPtr d = virDomainDefineXML(vc, xml);
    lv_check(!d || virDomainCreate(d) < 0, "define and start");
    virDomainFree(d);
    bench_out("guest: 64 MiB, %s\n\n", kvm ? "KVM" : "TCG");
}

int main(int argc, char **argv)
{
    int reps = 7, nsnap = 20, opt;
    static const struct option longopts[] = { { "reps", 1, NULL, 'r' },
                                              { "snapshots", 1, NULL, 's' },
                                              { "skip-revert", 0, NULL, 'n' },
                                              { NULL, 0, NULL, 0 } };
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 's')
            nsnap = atoi(optarg);
        else if (opt == 'n')
            skip_revert = 1;
        else
            bench_die("usage: libvirt_plugin [--reps N] [--snapshots N] [--skip-revert]");
    }
    if (reps < 1 || nsnap < 0)
        bench_die("usage: libvirt_plugin [--reps N] [--snapshots N] [--skip-revert]");
    setenv("SB_SOURCE_ROOT", SB_SOURCE_ROOT, 0); /* where the daemon script is */

    struct lvd daemon;
    char why[256], host[800];
    int rc = lvd_start(&daemon, why, sizeof(why));
    if (rc == -1)
        bench_die("cannot start a private libvirtd: %s", why);
    if (rc < 0)
        bench_die("the private libvirtd failed (see above)");
    char *work = bench_tmpdir(NULL, "sblvbench");
    char state[600];
    snprintf(state, sizeof(state), "%s/state", work);
    setenv("SNAPBROKER_STATE_DIR", state, 1);
    unsetenv("SNAPBROKER_CONFIG");

    struct clients k = { 0 };
    sb_broker *b = NULL;
    snprintf(host, sizeof(host), "libvirt+%s", daemon.unix_uri);
    sb_ok(sb_broker_new(&b, NULL), "broker");
    sb_ok(sb_connect(&k.sb, b, host, 0), "connect");
    lv_check(!(k.vc = virConnectOpen(daemon.unix_uri)), "open");
    /* keepalive on both, as virsh does by default (and the plugin does) */
    lv_check(virConnectSetKeepAlive(k.vc, 5, 5) < 0, "keepalive");
    bench_out("## libvirt plugin vs libvirt's API, same operations, same guest (%d reps)\n\n",
              reps);
    define_guest(k.vc, work);
    for (int i = 0; i < nsnap; i++) {
        char name[32];
        snprintf(name, sizeof(name), "base%02d", i);
        run_lv(&k, OP_CREATE, name);
    }

    measure(&k, reps, 25);

    /* The same on libvirt's in-process test driver: no RPC and no
     * hypervisor work, so what remains is the broker's own cost per call
     * (argument checks, normalization, the plugin's lookups). */
    char node[700];
    snprintf(node, sizeof(node), "%s/node.xml", work);
    FILE *f = fopen(node, "w");
    if (!f)
        bench_die("cannot write %s", node);
    fprintf(f, "<node><domain type='test'><name>" DOM "</name><memory>65536</memory>"
               "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
               "<source file='/guest/bench.img'/><target dev='vda' bus='virtio'/></disk>"
               "</devices></domain></node>\n");
    fclose(f);
    struct clients tk = { 0 };
    snprintf(host, sizeof(host), "libvirt+test://%s", node);
    sb_ok(sb_connect(&tk.sb, b, host, 0), "connect test driver");
    lv_check(!(tk.vc = virConnectOpen(host + strlen("libvirt+"))), "open test driver");
    for (int i = 0; i < nsnap; i++) {
        char name[32];
        snprintf(name, sizeof(name), "base%02d", i);
        run_lv(&tk, OP_CREATE, name);
        run_sb(&tk, OP_CREATE, name);
    }
    bench_out("### the same in process, on libvirt's test driver (no RPC, no hypervisor)\n\n");
    measure(&tk, reps * 4, 100);
    virConnectClose(tk.vc);
    sb_disconnect(tk.sb);

    virDomainPtr d = virDomainLookupByName(k.vc, DOM);
    if (d) {
        virDomainDestroy(d);
        virDomainFree(d);
    }
    virConnectClose(k.vc);
    sb_disconnect(k.sb);
    sb_broker_free(b);
    lvd_stop(&daemon);
    bench_rm_rf(work);
    free(work);
    return 0;
}
