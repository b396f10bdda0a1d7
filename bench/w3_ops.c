/* w3_ops: W3 of bench/README.md - real operations on a running guest of
 * the benchmark's shape: 256 MiB of RAM, one 1 GiB qcow2 disk holding 64 MiB
 * of data.
 *
 *   w3_ops [--reps 11] [--work DIR] [--no-embed] [--targets api,cli,raw,safe,guard,embed]
 *          [--settle-ms 3000]
 *          [--scale-stores DIR --scale-sizes 1,10,100,1000,10000 --scale-reps 3]
 *   env: BENCH_CLI (snapbroker CLI), BENCH_EMBED_TEMPLATE (embed template
 *        root, made on first use), SB_TEST_NO_KVM=1 (TCG guests even
 *        where /dev/kvm opens: bench/run --tcg)
 *
 * Targets: snapbroker API (in process), snapbroker CLI (a process per
 * operation), raw QMP/qemu-img (w3_raw.c + qmp.c, the floor), raw + crash
 * safety (w3_raw.c: the floor of a crash-safe broker without a daemon),
 * raw + snapbroker's guarantees (w3_raw.c: that floor with the records
 * snapbroker keeps beyond it), libvirt qemu:///embed.  One repetition runs the whole sequence (define, start,
 * internal snapshot, revert, ..., offline external delete) on one target;
 * targets take turns within each repetition, in a rotating order.  This
 * process is the child subreaper: QEMUs that snapbroker and libvirt
 * daemonize are reaped here at once (a thread), as a service manager
 * would.
 *
 * --scale: the same sequence through the API, then through the CLI, on
 * W1's chain stores (w1_tree --keep), i.e. on a domain whose metadata
 * already holds N snapshots, to show what N costs each operation.
 *
 * --settle-ms: after each start, every target waits this long (outside
 * the timing) before its first snapshot.  A guest snapshotted the moment
 * it starts is still in its firmware, whose RAM is a few MiB: the
 * full-system rows then measure how far the firmware got, not the
 * snapshot path (one run without the wait: 50 ms for one target, 400-500
 * for the next, by which of them came first).  0 turns the wait off.
 *
 * To profile one target: --targets api (or raw, cli) runs only those;
 * with BENCH_W3_MARK set, each operation is preceded by a line
 * "w3-op <target> <slug>" on stderr, so `strace -f -tt` of the run shows
 * where each operation's system calls begin, and followed by a line
 * "w3-op-end <target> <slug> <wall> ms, cpu <cpu> ms, <n> page faults":
 * this process's own CPU time during the operation (user + system, all
 * threads) and its page faults; during the operation the main thread is
 * named after it (its slug), so `perf record` of the run can be read one
 * operation at a time: `perf report --comm dext_del`. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "sb.h"
#include "w3.h"

static const char *const opname[W3_NOPS] = {
    "define (over the existing definition)", "start",
    "internal full-system snapshot (memory + disk)", "revert to internal (running)",
    "delete internal", "disk-only external snapshot",
    "delete external (disk-only, leaf: active commit)", "full external (memory + disk)",
    "delete full external (leaf)", "destroy", "offline: internal snapshot",
    "offline: revert internal", "offline: delete internal", "offline: external snapshot",
    "offline: delete external (leaf)"};

/* Short names for the machine-readable results (bench/summary.awk). */
static const char *const opslug[W3_NOPS] = {
    "define", "start", "int", "int_revert", "int_del", "dext", "dext_del", "fext", "fext_del",
    "destroy", "off_int", "off_int_revert", "off_int_del", "off_ext", "off_ext_del"};

static char buf_dom[4096], buf_snap[4096];

const char *w3_domain_xml(const char *name, const char *disk, int kvm)
{
    snprintf(buf_dom, sizeof buf_dom, "%s", bench_domain_xml(name, disk, 256, kvm));
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

/* CPU time of this process (all its threads; the reaper's is a few
 * wakeups), for BENCH_W3_MARK's per-operation line. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Page faults of this process so far (a write to a page shared with a
 * child after fork is one, until the page is ours again). */
static long faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt + ru.ru_majflt;
}

/* One repetition of the whole sequence on one target; failures stop the
 * sequence (after a destroy) and the first one is kept in err. */
static void sequence(const struct w3_target *tg, void *ctx, const char *dir, const char *disk,
                     int kvm, int r, long settle_ms, double v[W3_NOPS][64], size_t nv[W3_NOPS],
                     int na[W3_NOPS], char *err, size_t errlen)
{
    struct w3_env e = {.dir = dir, .disk = disk, .kvm = kvm, .rep = r};
    snprintf(e.dext, sizeof e.dext, "%s/dext-%d.qcow2", dir, r);
    snprintf(e.fext, sizeof e.fext, "%s/fext-%d.qcow2", dir, r);
    snprintf(e.fmem, sizeof e.fmem, "%s/fext-%d.mem", dir, r);
    snprintf(e.oext, sizeof e.oext, "%s/oext-%d.qcow2", dir, r);
    int mark = getenv("BENCH_W3_MARK") != NULL;
    for (int op = 0; op < W3_NOPS; op++) {
        if (mark) {
            fprintf(stderr, "w3-op %s %s\n", tg->name, opslug[op]);
            prctl(PR_SET_NAME, opslug[op]); /* perf report --comm <slug> */
        }
        double t0 = bench_now_us(), c0 = mark ? cpu_ms() : 0;
        long f0 = mark ? faults() : 0;
        int rc = tg->op(ctx, op, &e);
        double ms = (bench_now_us() - t0) / 1000;
        if (mark) {
            fprintf(stderr, "w3-op-end %s %s %.3f ms, cpu %.3f ms, %ld page faults\n", tg->name,
                    opslug[op], ms, cpu_ms() - c0, faults() - f0);
            prctl(PR_SET_NAME, "w3_ops");
        }
        if (rc == 1) {
            na[op] = 1;
            continue;
        }
        if (rc < 0) {
            if (!err[0])
                snprintf(err, errlen, "rep %d, %s: %s", r + 1, opname[op], tg->err(ctx));
            fprintf(stderr, "w3: %s: %s: %s\n", tg->name, opname[op], tg->err(ctx));
            if (op < OP_DESTROY)
                tg->op(ctx, OP_DESTROY, &e);
            return;
        }
        if (nv[op] < 64)
            v[op][nv[op]++] = ms;
        if (op == OP_START && settle_ms > 0) {
            struct timespec ts = {settle_ms / 1000, settle_ms % 1000 * 1000000L};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
    }
}

static double median_of(const double *v, size_t n)
{
    double tmp[64];
    memcpy(tmp, v, n * sizeof(double));
    return n ? bench_median(tmp, n) : -1;
}

/* --scale: the sequence through the API, and through the CLI, each on its
 * own copy of W1's chain stores.  A copy holds no references file (W1
 * only redefines): the first walk over the tree of a target's first
 * repetition parses every snapshot, as the first operation on such a
 * tree does; the medians show the calls after it. */
static const struct {
    const char *label, *key;
    const struct w3_target *tg;
    void *(*at)(const char *dir, const char *state, const char *dom, int kvm);
} scale_targets[] = {
    {"the API", "w3.scale", &w3_sb_api, w3_sb_api_at},
    {"the CLI (a process per operation)", "w3.scale_cli", &w3_sb_cli, w3_sb_cli_at},
};

static void scale_table(int t, long *sizes, size_t ns, int reps, double v[8][W3_NOPS][64],
                        size_t nv[8][W3_NOPS], const int na[W3_NOPS], char err[8][300],
                        const double floor_med[W3_NOPS])
{
    bench_out("\n### W3 at scale: the same operations through %s on a domain whose "
              "metadata already holds N snapshots (W1's chains), ms, median of %d\n\n"
              "| operation |", scale_targets[t].label, reps);
    for (size_t i = 0; i < ns && i < 8; i++)
        bench_out(" N=%ld |", sizes[i]);
    bench_out(" largest N ÷ smallest | largest N ÷ raw |\n|---|");
    for (size_t i = 0; i < ns && i < 8; i++)
        bench_out("---|");
    bench_out("---|---|\n");
    for (int op = 0; op < W3_NOPS; op++) {
        if (na[op])
            continue;
        bench_out("| %s |", opname[op]);
        double first = -1, last = -1;
        for (size_t i = 0; i < ns && i < 8; i++) {
            double m = median_of(v[i][op], nv[i][op]);
            bench_out(" %s |", nv[i][op] ? bench_fmt(m) : "–");
            if (nv[i][op]) {
                if (first < 0)
                    first = m;
                last = m;
                char key[96];
                snprintf(key, sizeof key, "%s.%ld.%s.ms", scale_targets[t].key, sizes[i],
                         opslug[op]);
                bench_kv(key, m);
            }
        }
        bench_out(" %s | %s |\n", bench_ratio(last, first), bench_ratio(last, floor_med[op]));
    }
    for (size_t i = 0; i < ns && i < 8; i++)
        if (err[i][0])
            bench_out("\nN=%ld: %s\n", sizes[i], err[i]);
}

static void scale(const char *stores, long *sizes, size_t ns, int reps, const char *work,
                  const char *disk_tmpl, int kvm, long settle_ms, const double raw_med[W3_NOPS])
{
    static double v[8][W3_NOPS][64];
    size_t nv[8][W3_NOPS];
    char err[8][300];
    for (int t = 0; t < (int)(sizeof scale_targets / sizeof scale_targets[0]); t++) {
        int na[W3_NOPS] = {0};
        memset(nv, 0, sizeof nv);
        memset(err, 0, sizeof err);
        for (size_t i = 0; i < ns && i < 8; i++) {
            char src[1200], dir[1200], state[1300], disk[1300];
            snprintf(src, sizeof src, "%s/sb-chain-%ld", stores, sizes[i]);
            if (access(src, F_OK) != 0) {
                snprintf(err[i], sizeof err[i], "no store (w1_tree --keep)");
                continue;
            }
            char *d = bench_tmpdir(work, "w3s-");
            snprintf(dir, sizeof dir, "%s", d);
            free(d);
            snprintf(state, sizeof state, "%s/state", dir);
            snprintf(disk, sizeof disk, "%s/disk.qcow2", dir);
            char *cp[] = {(char *)"cp", (char *)"-a", src, state, NULL};
            char *cpd[] = {(char *)"cp", (char *)"--sparse=always", (char *)disk_tmpl, disk, NULL};
            if (bench_run(cp, 0) != 0 || bench_run(cpd, 0) != 0)
                bench_die("copying %s", src);
            fprintf(stderr, "w3: scale %s N=%ld\n", scale_targets[t].tg->name, sizes[i]);
            void *ctx = scale_targets[t].at(dir, state, BENCH_SB_DOMAIN, kvm);
            for (int r = 0; r < reps && !err[i][0]; r++)
                sequence(scale_targets[t].tg, ctx, dir, disk, kvm, r, settle_ms, v[i], nv[i],
                         na, err[i], sizeof err[i]);
            scale_targets[t].tg->fini(ctx);
            bench_rm_rf(dir);
        }
        scale_table(t, sizes, ns, reps, v, nv, na, err, raw_med);
    }
}

/* 1 when the comma-separated list names key. */
static int target_listed(const char *list, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, key, n) && (p[n] == ',' || !p[n]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 11, embed = 1, scale_reps = 3;
    long settle_ms = 3000;
    const char *work = NULL, *scale_stores = NULL, *targets = NULL;
    long scale_sizes[8];
    size_t nscale = bench_parse_sizes("1,10,100,1000,10000", scale_sizes, 8);
    static const struct option lo[] = {{"reps", 1, 0, 'r'}, {"work", 1, 0, 'w'},
                                       {"no-embed", 0, 0, 'E'}, {"scale-stores", 1, 0, 'S'},
                                       {"scale-sizes", 1, 0, 'Z'}, {"scale-reps", 1, 0, 'R'},
                                       {"targets", 1, 0, 'T'}, {"settle-ms", 1, 0, 's'},
                                       {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;)
        switch (c) {
        case 'r': reps = atoi(optarg); break;
        case 'w': work = optarg; break;
        case 'E': embed = 0; break;
        case 'S': scale_stores = optarg; break;
        case 'Z': nscale = bench_parse_sizes(optarg, scale_sizes, 8); break;
        case 'R': scale_reps = atoi(optarg); break;
        case 'T': targets = optarg; break;
        case 's':
        {
            char *end;
            errno = 0;
            settle_ms = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || settle_ms < 0 || settle_ms > 600000)
                bench_die("--settle-ms '%s': a number of milliseconds, 0 to 600000", optarg);
            break;
        }
        default: return 2;
        }
    if (reps > 64)
        reps = 64;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pthread_t th;
    pthread_create(&th, NULL, reaper, NULL);
    /* SB_TEST_NO_KVM (bench/run --tcg): TCG where /dev/kvm opens, for
     * every target, as the qemu plugin does for its own guests */
    const char *no_kvm = getenv("SB_TEST_NO_KVM");
    int fd = no_kvm && *no_kvm && strcmp(no_kvm, "0") != 0 ? -1 : open("/dev/kvm", O_RDWR);
    int kvm = fd >= 0;
    if (fd >= 0)
        close(fd);
    char *own = work ? NULL : bench_tmpdir(NULL, "w3-");
    if (own)
        work = own;
    char tmpl[1100], disk_tmpl[1100];
    snprintf(tmpl, sizeof tmpl, "%s/embed-template", work);
    if (!getenv("BENCH_EMBED_TEMPLATE"))
        setenv("BENCH_EMBED_TEMPLATE", tmpl, 1);
    /* W3's disk: 1 GiB, 64 MiB of data; every target gets a copy */
    snprintf(disk_tmpl, sizeof disk_tmpl, "%s/w3-disk-template.qcow2", work);
    bench_disk(disk_tmpl, "1G", 64);

    const struct w3_target *tg[] = {&w3_sb_api, &w3_sb_cli,  &w3_raw,
                                    &w3_raw_safe, &w3_raw_guard, &w3_lv};
    enum { NT = 6, T_API = 0, T_CLI = 1, T_RAW = 2, T_SAFE = 3, T_GUARD = 4, T_EMBED = 5 };
    static const char *const tkey[NT] = {"api", "cli", "raw", "safe", "guard", "embed"};
    int on[NT], non = 0;
    for (int t = 0; t < NT; t++) {
        on[t] = targets ? target_listed(targets, tkey[t]) : t < NT - 1 || embed;
        non += on[t];
    }
    if (!non)
        bench_die("--targets %s names none of api, cli, raw, safe, guard, embed", targets);
    void *ctx[NT];
    char *dir[NT], disk[NT][1200];
    static double v[NT][W3_NOPS][64];
    size_t nv[NT][W3_NOPS] = {{0}};
    int na[NT][W3_NOPS] = {{0}};
    char err[NT][300] = {{0}};
    for (int t = 0; t < NT; t++) {
        if (!on[t])
            continue;
        dir[t] = bench_tmpdir(work, "w3t-");
        snprintf(disk[t], sizeof disk[t], "%s/disk.qcow2", dir[t]);
        char *a[] = {(char *)"cp", (char *)"--sparse=always", disk_tmpl, disk[t], NULL};
        if (bench_run(a, 0) != 0)
            bench_die("cp %s", disk[t]);
        ctx[t] = tg[t]->init(dir[t], kvm);
    }
    for (int r = 0; r < reps; r++) {
        fprintf(stderr, "w3: rep %d/%d\n", r + 1, reps);
        for (int k = 0; k < NT; k++) {
            int t = (k + r) % NT;
            if (on[t] && !err[t][0])
                sequence(tg[t], ctx[t], dir[t], disk[t], kvm, r, settle_ms, v[t], nv[t], na[t], err[t],
                         sizeof err[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        if (!on[t])
            continue;
        tg[t]->fini(ctx[t]);
        bench_rm_rf(dir[t]);
        free(dir[t]);
    }

    double med[NT][W3_NOPS];
    for (int t = 0; t < NT; t++)
        for (int op = 0; op < W3_NOPS; op++) {
            med[t][op] = on[t] ? median_of(v[t][op], nv[t][op]) : -1;
            if (med[t][op] >= 0) {
                char key[64];
                snprintf(key, sizeof key, "w3.%s.%s.ms", tkey[t], opslug[op]);
                bench_kv(key, med[t][op]);
            }
        }
    bench_out("\n### W3: real operations, ms, median (min–max) of %d interleaved repetitions "
              "(%s guest, 256 MiB, one 1 GiB qcow2 disk holding 64 MiB of data)\n\n"
              "| operation | snapbroker API | snapbroker CLI | raw QMP/qemu-img | raw + crash "
              "safety | raw + snapbroker's guarantees | libvirt-embed | API ÷ raw | CLI ÷ raw | "
              "API ÷ libvirt | CLI ÷ libvirt |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|\n",
              reps, kvm ? "KVM" : "TCG");
    for (int op = 0; op < W3_NOPS; op++) {
        bench_out("| %s |", opname[op]);
        for (int t = 0; t < NT; t++)
            bench_out(" %s |", !on[t] ? "not run" : na[t][op] ? "n/a"
                               : bench_fmt_stat(v[t][op], nv[t][op]));
        bench_out(" %s | %s | %s | %s |\n", bench_ratio(med[T_API][op], med[T_RAW][op]),
                  bench_ratio(med[T_CLI][op], med[T_RAW][op]),
                  bench_ratio(med[T_API][op], med[T_EMBED][op]),
                  bench_ratio(med[T_CLI][op], med[T_EMBED][op]));
    }
    if (on[T_SAFE]) {
        bench_out("\n### W3 against the floor of a crash-safe broker without a daemon: raw + "
                  "an intent and a result record each fdatasync'd, a monitor connection and "
                  "`query-block` per call; and that floor with the records snapbroker keeps "
                  "beyond it (the files it made, the delete-in-progress mark, the domain's "
                  "definition in a file of its own: bench/README.md, \"W3's floors\") "
                  "(ms, median of the same repetitions)\n\n"
                  "| operation | raw | raw + crash safety | safety ÷ raw | API ÷ raw + safety "
                  "| CLI ÷ raw + safety | raw + snapbroker's guarantees | guarantees ÷ safety "
                  "| API ÷ raw + guarantees |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int op = 0; op < W3_NOPS; op++) {
            if (na[T_SAFE][op] || op == OP_START || op == OP_DESTROY)
                continue;
            bench_out("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", opname[op],
                      med[T_RAW][op] >= 0 ? bench_fmt(med[T_RAW][op]) : "–",
                      med[T_SAFE][op] >= 0 ? bench_fmt(med[T_SAFE][op]) : "–",
                      bench_ratio(med[T_SAFE][op], med[T_RAW][op]),
                      bench_ratio(med[T_API][op], med[T_SAFE][op]),
                      bench_ratio(med[T_CLI][op], med[T_SAFE][op]),
                      med[T_GUARD][op] >= 0 ? bench_fmt(med[T_GUARD][op]) : "–",
                      bench_ratio(med[T_GUARD][op], med[T_SAFE][op]),
                      bench_ratio(med[T_API][op], med[T_GUARD][op]));
        }
    }
    for (int t = 0; t < NT; t++)
        if (on[t] && err[t][0])
            bench_out("\n%s failed (first failure; that repetition's remaining operations were "
                      "skipped, and the later repetitions): %s\n", tg[t]->name, err[t]);
    bench_kv("w3.kvm", kvm);
    if (scale_stores)
        scale(scale_stores, scale_sizes, nscale, scale_reps, work, disk_tmpl, kvm, settle_ms,
              med[T_RAW]);
    if (own)
        bench_rm_rf(own);
    free(own);
    return 0;
}
