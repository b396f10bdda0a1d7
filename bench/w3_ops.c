/* w3_ops: W3 of perf-anchors.md - real operations on a running guest.
 *
 *   w3_ops [--reps 11] [--work DIR] [--no-embed]
 *   env: BENCH_CLI (snapbroker CLI), BENCH_EMBED_TEMPLATE (embed template
 *        root, made on first use)
 *
 * Targets: snapbroker API (in process), snapbroker CLI (a process per
 * operation), raw QMP/qemu-img (w3_raw.c, the floor), libvirt
 * qemu:///embed.  One repetition runs the whole sequence (define, start,
 * internal snapshot, revert, ..., offline external delete) on one target;
 * targets take turns within each repetition, in a rotating order.  This
 * process is the child subreaper: QEMUs that snapbroker and libvirt
 * daemonize are reaped here at once (a thread), as a service manager
 * would. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"
#include "w3.h"

static const char *const opname[W3_NOPS] = {
    "define (over the existing definition)", "start",
    "internal full-system snapshot (memory + disk)", "revert to internal (running)",
    "delete internal", "disk-only external snapshot",
    "delete external (disk-only, leaf: active commit)", "full external (memory + disk)",
    "delete full external (leaf)", "destroy", "offline: internal snapshot",
    "offline: revert internal", "offline: delete internal", "offline: external snapshot",
    "offline: delete external (leaf)"};

static char buf_dom[4096], buf_snap[4096];

const char *w3_domain_xml(const char *name, const char *disk, int kvm)
{
    snprintf(buf_dom, sizeof buf_dom,
             "<domain type='%s'><name>%s</name>"
             "<uuid>3c1e9a2b-5d4f-4e6a-8b7c-0d1e2f3a4b5c</uuid><memory unit='MiB'>64</memory>"
             "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
             "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
             "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
             "<memballoon model='none'/></devices></domain>",
             kvm ? "kvm" : "qemu", name, disk);
    return buf_dom;
}

const char *w3_snap_name(enum w3_op op)
{
    switch (op) {
    case OP_INT: case OP_INT_REVERT: case OP_INT_DEL: return "i1";
    case OP_DEXT: case OP_DEXT_DEL: return "e1";
    case OP_FEXT: case OP_FEXT_DEL: return "f1";
    case OP_OFF_INT: case OP_OFF_INT_REVERT: case OP_OFF_INT_DEL: return "o1";
    default: return "o2";
    }
}

int w3_disk_only(enum w3_op op)
{
    return op == OP_DEXT || op == OP_OFF_EXT;
}

const char *w3_snap_xml(enum w3_op op, const struct w3_env *e)
{
    const char *n = w3_snap_name(op);
    if (op == OP_DEXT || op == OP_OFF_EXT)
        snprintf(buf_snap, sizeof buf_snap,
                 "<domainsnapshot><name>%s</name><disks><disk name='vda' snapshot='external'>"
                 "<source file='%s'/></disk></disks></domainsnapshot>",
                 n, op == OP_DEXT ? e->dext : e->oext);
    else if (op == OP_FEXT)
        snprintf(buf_snap, sizeof buf_snap,
                 "<domainsnapshot><name>%s</name><memory snapshot='external' file='%s'/>"
                 "<disks><disk name='vda' snapshot='external'><source file='%s'/></disk>"
                 "</disks></domainsnapshot>",
                 n, e->fmem, e->fext);
    else
        snprintf(buf_snap, sizeof buf_snap, "<domainsnapshot><name>%s</name></domainsnapshot>", n);
    return buf_snap;
}

volatile int w3_reaper_paused;

/* Reap adopted QEMUs (comm "qemu-system-x86") as soon as they exit; leave
 * every other child to whoever forked it (bench_run, libvirt's own
 * waitpid), peeking with WNOWAIT. */
static void *reaper(void *arg)
{
    (void)arg;
    for (;;) {
        siginfo_t si = {0};
        if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0) {
            usleep(1000);
            continue;
        }
        char p[64], comm[64] = "";
        snprintf(p, sizeof p, "/proc/%d/comm", (int)si.si_pid);
        FILE *f = fopen(p, "r");
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = 0;
            fclose(f);
        }
        if (!strncmp(comm, "qemu-system", 11) && !w3_reaper_paused)
            waitpid(si.si_pid, NULL, WNOHANG);
        else
            usleep(200);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int reps = 11, embed = 1;
    const char *work = NULL;
    static const struct option lo[] = {{"reps", 1, 0, 'r'}, {"work", 1, 0, 'w'},
                                       {"no-embed", 0, 0, 'E'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;)
        switch (c) {
        case 'r': reps = atoi(optarg); break;
        case 'w': work = optarg; break;
        case 'E': embed = 0; break;
        default: return 2;
        }
    if (reps > 64)
        reps = 64;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pthread_t th;
    pthread_create(&th, NULL, reaper, NULL);
    int fd = open("/dev/kvm", O_RDWR);
    int kvm = fd >= 0;
    if (fd >= 0)
        close(fd);
    char *own = work ? NULL : bench_tmpdir(NULL, "w3-");
    if (own)
        work = own;
    char tmpl[1100];
    snprintf(tmpl, sizeof tmpl, "%s/embed-template", work);
    if (!getenv("BENCH_EMBED_TEMPLATE"))
        setenv("BENCH_EMBED_TEMPLATE", tmpl, 1);

    const struct w3_target *tg[] = {&w3_sb_api, &w3_sb_cli, &w3_raw, &w3_lv};
    enum { NT = 4 };
    int nt = embed ? NT : NT - 1;
    void *ctx[NT];
    char *dir[NT], disk[NT][1200];
    static double v[NT][W3_NOPS][64];
    size_t nv[NT][W3_NOPS] = {{0}};
    int na[NT][W3_NOPS] = {{0}};
    char err[NT][300] = {{0}};
    for (int t = 0; t < nt; t++) {
        dir[t] = bench_tmpdir(work, "w3t-");
        snprintf(disk[t], sizeof disk[t], "%s/disk.qcow2", dir[t]);
        char *a[] = {(char *)"qemu-img", (char *)"create", (char *)"-q", (char *)"-f",
                     (char *)"qcow2", disk[t], (char *)"256M", NULL};
        if (bench_run(a, 0) != 0)
            bench_die("qemu-img create %s", disk[t]);
        ctx[t] = tg[t]->init(dir[t], kvm);
    }
    for (int r = 0; r < reps; r++) {
        fprintf(stderr, "w3: rep %d/%d\n", r + 1, reps);
        for (int k = 0; k < nt; k++) {
            int t = (k + r) % nt;
            struct w3_env e = {.dir = dir[t], .disk = disk[t], .kvm = kvm, .rep = r};
            snprintf(e.dext, sizeof e.dext, "%s/dext-%d.qcow2", dir[t], r);
            snprintf(e.fext, sizeof e.fext, "%s/fext-%d.qcow2", dir[t], r);
            snprintf(e.fmem, sizeof e.fmem, "%s/fext-%d.mem", dir[t], r);
            snprintf(e.oext, sizeof e.oext, "%s/oext-%d.qcow2", dir[t], r);
            for (int op = 0; op < W3_NOPS; op++) {
                double t0 = bench_now_us();
                int rc = tg[t]->op(ctx[t], op, &e);
                double ms = (bench_now_us() - t0) / 1000;
                if (rc == 1) {
                    na[t][op] = 1;
                    continue;
                }
                if (rc < 0) {
                    if (!err[t][0])
                        snprintf(err[t], sizeof err[t], "rep %d, %s: %s", r + 1, opname[op],
                                 tg[t]->err(ctx[t]));
                    fprintf(stderr, "w3: %s: %s: %s\n", tg[t]->name, opname[op],
                            tg[t]->err(ctx[t]));
                    if (op < OP_DESTROY)
                        tg[t]->op(ctx[t], OP_DESTROY, &e);
                    break;
                }
                v[t][op][nv[t][op]++] = ms;
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        tg[t]->fini(ctx[t]);
        bench_rm_rf(dir[t]);
        free(dir[t]);
    }

    double med[NT][W3_NOPS];
    for (int t = 0; t < NT; t++)
        for (int op = 0; op < W3_NOPS; op++) {
            double tmp[64];
            size_t n = t < nt ? nv[t][op] : 0;
            memcpy(tmp, v[t][op], n * sizeof(double));
            med[t][op] = n ? bench_median(tmp, n) : -1;
        }
    bench_out("\n### W3: real operations, ms, median (min–max) of %d interleaved repetitions "
              "(%s guest, 64 MiB, one qcow2 disk)\n\n"
              "| operation | snapbroker API | snapbroker CLI | raw QMP/qemu-img | libvirt-embed | "
              "API ÷ raw | API ÷ libvirt | CLI ÷ libvirt |\n"
              "|---|---|---|---|---|---|---|---|\n",
              reps, kvm ? "KVM" : "TCG");
    for (int op = 0; op < W3_NOPS; op++) {
        bench_out("| %s |", opname[op]);
        for (int t = 0; t < NT; t++)
            bench_out(" %s |", t >= nt ? "not run" : na[t][op] ? "n/a"
                               : bench_fmt_stat(v[t][op], nv[t][op]));
        bench_out(" %s | %s | %s |\n", bench_ratio(med[0][op], med[2][op]),
                  bench_ratio(med[0][op], med[3][op]), bench_ratio(med[1][op], med[3][op]));
    }
    for (int t = 0; t < nt; t++)
        if (err[t][0])
            bench_out("\n%s failed (first failure; that repetition's remaining operations were "
                      "skipped): %s\n", tg[t]->name, err[t]);
    if (own)
        bench_rm_rf(own);
    free(own);
    return 0;
}
