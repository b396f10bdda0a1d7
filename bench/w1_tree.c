/* w1_tree: W1 of bench/README.md - redefine N snapshots one call at a time
 * (chain and wide), then query the tree; snapbroker (public API, shipped
 * qemu plugin, a defined domain with a real qcow2 disk, state in a scratch
 * dir) against libvirt test:///default and qemu:///embed, same XML shape
 * (each embeds its own domain's <domain>), in one run.  Every (target,
 * shape, N) runs in its own child process so RSS figures are its own.
 *
 *   w1_tree [--sizes 1,10,100,1000,10000] [--reps 51] [--work DIR]
 *           [--keep DIR] [--no-embed] [--budget SECONDS] [--peer-max N]
 *           [--disk QCOW2]
 *
 * --budget (60 s) stops one target's redefines when they take longer (a
 * per-call cost that grows with N, like libvirt's O(depth) cycle check on
 * a chain); the table then says how many were made.  --peer-max skips
 * the libvirt targets above N.  --disk: the qcow2 snapbroker's domain uses
 * (made when missing: 1 GiB, 64 MiB of data).
 *
 * --keep DIR leaves the chain stores (snapbroker state dir of every N,
 * embed root of N >= 1000) in DIR/{sb,embed}-chain-N for w2_cold and
 * w3_ops --scale. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "lv.h"
#include "sb.h"

enum { T_SB, T_TEST, T_EMBED, NT };
static const char *const tname[NT] = {"snapbroker", "libvirt-test", "libvirt-embed"};

enum { Q_ALL, Q_TOPO, Q_ROOTS, Q_LEAVES, Q_DESC, Q_COUNT, Q_CUR, Q_XML, NQ };
static const char *const qname[NQ] = {"list all", "topological", "roots", "leaves",
                                      "descendants of root", "count", "current", "one XML"};

struct result {
    int ok;
    long done; /* redefines made (< N when the time budget ran out) */
    long xml_bytes; /* size of one redefined document */
    char err[256];
    double med, min, max, first, last, total_s;
    double q[NQ];
    double rss_b;   /* RSS growth per snapshot, bytes */
    double peak_mib;
};

struct job {
    int target, chain, reps;
    double budget_s; /* stop redefining after this long (0 = none) */
    long n;
    char dir[1024]; /* sb state dir or embed root */
    char disk[1100]; /* snapbroker's domain's qcow2 */
};

/* One target behind a small vtable so the timing loop is shared. */
struct ops {
    void *ctx;
    int (*redefine)(void *ctx, const char *xml, int current);
    int (*query)(void *ctx, int q, const char *root, const char *mid);
    const char *(*err)(void);
};

/* ---- snapbroker -------------------------------------------------------- */
static sb_connection *sbc;

static int sb_redefine(void *ctx, const char *xml, int current)
{
    (void)ctx;
    return sb_snapshot_create_xml(NULL, sbc, BENCH_SB_DOMAIN, xml,
                                  SB_SNAPSHOT_CREATE_REDEFINE |
                                      (current ? SB_SNAPSHOT_CREATE_CURRENT : 0));
}

static int sb_list(unsigned flags, const char *from)
{
    char **names = NULL;
    size_t n = 0;
    int r = sb_snapshot_list(&names, &n, sbc, BENCH_SB_DOMAIN, from, flags);
    sb_names_free(names, n);
    return r < 0 ? r : 0;
}

static int sb_query(void *ctx, int q, const char *root, const char *mid)
{
    (void)ctx;
    char *s = NULL;
    int r;
    switch (q) {
    case Q_ALL: return sb_list(0, NULL);
    case Q_TOPO: return sb_list(SB_SNAPSHOT_LIST_TOPOLOGICAL, NULL);
    case Q_ROOTS: return sb_list(SB_SNAPSHOT_LIST_ROOTS, NULL);
    case Q_LEAVES: return sb_list(SB_SNAPSHOT_LIST_LEAVES, NULL);
    case Q_DESC: return sb_list(SB_SNAPSHOT_LIST_DESCENDANTS, root);
    case Q_COUNT: {
        size_t n = 0;
        return sb_snapshot_count(&n, sbc, BENCH_SB_DOMAIN, NULL, 0) < 0 ? -1 : 0;
    }
    case Q_CUR: r = sb_snapshot_current(&s, sbc, BENCH_SB_DOMAIN); break;
    default: r = sb_snapshot_get_xml(&s, sbc, BENCH_SB_DOMAIN, mid, 0); break;
    }
    free(s);
    return r < 0 ? r : 0;
}

static const char *sbe_msg(void)
{
    return sb_error_last()->message;
}

/* ---- libvirt ----------------------------------------------------------- */
static virDomainPtr lvd;

static int lv_redefine(void *ctx, const char *xml, int current)
{
    (void)ctx;
    virDomainSnapshotPtr s = virDomainSnapshotCreateXML(
        lvd, xml,
        VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | (current ? VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT : 0));
    if (!s)
        return -1;
    virDomainSnapshotFree(s);
    return 0;
}

static int lv_free_list(virDomainSnapshotPtr *v, int n)
{
    for (int i = 0; i < n; i++)
        virDomainSnapshotFree(v[i]);
    free(v);
    return n < 0 ? -1 : 0;
}

static int lv_query(void *ctx, int q, const char *root, const char *mid)
{
    (void)ctx;
    virDomainSnapshotPtr *v = NULL, s;
    int n;
    char *x;
    switch (q) {
    case Q_ALL: n = virDomainListAllSnapshots(lvd, &v, 0); return lv_free_list(v, n);
    case Q_TOPO:
        n = virDomainListAllSnapshots(lvd, &v, VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
        return lv_free_list(v, n);
    case Q_ROOTS:
        n = virDomainListAllSnapshots(lvd, &v, VIR_DOMAIN_SNAPSHOT_LIST_ROOTS);
        return lv_free_list(v, n);
    case Q_LEAVES:
        n = virDomainListAllSnapshots(lvd, &v, VIR_DOMAIN_SNAPSHOT_LIST_LEAVES);
        return lv_free_list(v, n);
    case Q_DESC:
        if (!(s = virDomainSnapshotLookupByName(lvd, root, 0)))
            return -1;
        n = virDomainSnapshotListAllChildren(s, &v, VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS);
        virDomainSnapshotFree(s);
        return lv_free_list(v, n);
    case Q_COUNT: return virDomainSnapshotNum(lvd, 0) < 0 ? -1 : 0;
    case Q_CUR:
        if (!(s = virDomainSnapshotCurrent(lvd, 0)))
            return -1;
        virDomainSnapshotFree(s);
        return 0;
    default:
        /* lookup included: snapbroker's call takes a name too */
        if (!(s = virDomainSnapshotLookupByName(lvd, mid, 0)))
            return -1;
        x = virDomainSnapshotGetXMLDesc(s, 0);
        virDomainSnapshotFree(s);
        free(x);
        return x ? 0 : -1;
    }
}

/* ---- the measured run (in the child) ------------------------------------ */
/* Size of libvirt-test's document for the same name and parent. */
static size_t test_doc_size(const char *name, const char *parent)
{
    char *x = bench_snap_xml(name, parent, NULL);
    size_t n = x ? strlen(x) : 0;
    free(x);
    return n;
}

static void fail(struct result *r, int fd, const char *what, const char *msg)
{
    r->ok = 0;
    snprintf(r->err, sizeof r->err, "%s: %s", what, msg);
    if (write(fd, r, sizeof *r) < 0)
        _exit(1);
    _exit(0);
}

static void run(void *arg, int fd)
{
    struct job *j = arg;
    struct result r = {0};
    struct ops o = {0};
    char *dom_xml = NULL;

    if (j->target == T_SB) {
        sb_broker *b;
        bench_sb_connect(j->dir, &b, &sbc);
        dom_xml = bench_sb_define(sbc, j->disk);
        o = (struct ops){NULL, sb_redefine, sb_query, sbe_msg};
    } else {
        virConnectPtr c;
        if (j->target == T_TEST) {
            c = virConnectOpen("test:///default");
            if (!c || !(lvd = virDomainLookupByName(c, "test")))
                fail(&r, fd, "open test", lv_err());
        } else {
            c = lv_embed_open(j->dir);
            const char *def =
                "<domain type='qemu'><name>bench</name><memory unit='MiB'>64</memory>"
                "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
                "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                "<source file='/var/tmp/bench-w1.qcow2'/><target dev='vda' bus='virtio'/>"
                "</disk><memballoon model='none'/></devices></domain>";
            if (!(lvd = virDomainDefineXML(c, def)))
                fail(&r, fd, "define", lv_err());
            dom_xml = lv_domain_xml(lvd);
        }
        o = (struct ops){NULL, lv_redefine, lv_query, lv_err};
    }

    double *t = malloc(sizeof(double) * (size_t)j->n);
    char name[32], parent[32];
    long rss0 = bench_status_kib("VmRSS");
    double t_all = bench_now_us();
    for (long i = 0; i < j->n; i++) {
        snprintf(name, sizeof name, "s%ld", i);
        snprintf(parent, sizeof parent, "s%ld", j->chain ? i - 1 : 0);
        /* snapbroker's domain is smaller than the test driver's: pad its
         * documents to the same size (libvirt-embed embeds its own too) */
        char *xml = j->target == T_SB ? bench_snap_xml_sized(name, i ? parent : NULL, dom_xml,
                                                             test_doc_size(name, i ? parent : NULL))
                                      : bench_snap_xml(name, i ? parent : NULL, dom_xml);
        if (!i)
            r.xml_bytes = (long)strlen(xml);
        double t0 = bench_now_us();
        int rc = o.redefine(o.ctx, xml, i == j->n - 1);
        t[i] = bench_now_us() - t0;
        free(xml);
        if (rc < 0)
            fail(&r, fd, name, o.err());
        r.done = i + 1;
        /* a per-call cost that grows with N would run for many minutes:
         * stop, report what was reached, query the smaller tree */
        if (j->budget_s > 0 && bench_now_us() - t_all > j->budget_s * 1e6 && i + 1 < j->n) {
            j->n = i + 1;
            snprintf(r.err, sizeof r.err, "stopped after %.0f s", j->budget_s);
            break;
        }
    }
    r.total_s = (bench_now_us() - t_all) / 1e6;
    r.rss_b = (double)(bench_status_kib("VmRSS") - rss0) * 1024.0 / (double)j->n;
    size_t tenth = (size_t)(j->n / 10 ? j->n / 10 : 1);
    r.first = bench_median(t, tenth);
    r.last = bench_median(t + j->n - (long)tenth, tenth);
    r.min = bench_min(t, (size_t)j->n);
    r.max = bench_max(t, (size_t)j->n);
    r.med = bench_median(t, (size_t)j->n);
    free(t);

    char mid[32];
    snprintf(mid, sizeof mid, "s%ld", j->n / 2);
    double *qt = malloc(sizeof(double) * (size_t)j->reps);
    for (int q = 0; q < NQ; q++) {
        for (int k = 0; k < j->reps; k++) {
            double t0 = bench_now_us();
            if (o.query(o.ctx, q, "s0", mid) < 0)
                fail(&r, fd, qname[q], o.err());
            qt[k] = bench_now_us() - t0;
        }
        r.q[q] = bench_median(qt, (size_t)j->reps);
    }
    free(qt);
    r.peak_mib = (double)bench_status_kib("VmHWM") / 1024.0;
    r.ok = 1;
    if (write(fd, &r, sizeof r) < 0)
        _exit(1);
    /* no teardown: the process ends, its memory goes with it */
}

/* Machine-readable figures for bench/run's summary. */
static void kv_out(long *sizes, size_t ns, struct result (*res)[2][NT])
{
    static const char *const tkey[NT] = {"sb", "test", "embed"};
    static const char *const qkey[NQ] = {"all", "topo", "roots", "leaves", "desc",
                                         "count", "current", "xml"};
    char k[128];
    for (size_t i = 0; i < ns; i++)
        for (int sh = 0; sh < 2; sh++)
            for (int t = 0; t < NT; t++) {
                struct result *r = &res[i][sh][t];
                if (!r->ok || r->done < sizes[i])
                    continue;
                snprintf(k, sizeof k, "w1.%s.%s.%ld.redefine_us", tkey[t], sh ? "chain" : "wide",
                         sizes[i]);
                bench_kv(k, r->med);
                for (int q = 0; q < NQ; q++) {
                    snprintf(k, sizeof k, "w1.%s.%s.%ld.q.%s", tkey[t], sh ? "chain" : "wide",
                             sizes[i], qkey[q]);
                    bench_kv(k, r->q[q]);
                }
            }
}

static void print_tables(long *sizes, size_t ns, struct result (*res)[2][NT])
{
    bench_out("\n### W1: redefine, µs per call, median (min–max); growth = first 10 %% → last 10 %%\n\n"
              "Every call is one `CreateXML(REDEFINE)` of a document embedding the "
              "target's own `<domain>` (bytes: its size).\n\n"
              "| shape | N | target | bytes | redefine µs | growth µs | total s | snapbroker ÷ this |\n"
              "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ns; i++)
        for (int sh = 0; sh < 2; sh++)
            for (int t = 0; t < NT; t++) {
                struct result *r = &res[i][sh][t];
                if (!r->ok) {
                    if (r->err[0])
                        bench_out("| %s | %ld | %s | | failed: %s | | | |\n",
                                  sh ? "chain" : "wide", sizes[i], tname[t], r->err);
                    continue;
                }
                char nn[96];
                if (r->done < sizes[i])
                    snprintf(nn, sizeof nn, "%ld (**only %ld done: %s**)", sizes[i], r->done, r->err);
                else
                    snprintf(nn, sizeof nn, "%ld", sizes[i]);
                bench_out("| %s | %s | %s | %ld | %s (%s–%s) | %s → %s | %s | %s |\n",
                          sh ? "chain" : "wide", nn, tname[t], r->xml_bytes, bench_fmt(r->med),
                          bench_fmt(r->min), bench_fmt(r->max), bench_fmt(r->first),
                          bench_fmt(r->last), bench_fmt(r->total_s),
                          t == T_SB ? "1"
                          : res[i][sh][T_SB].done < sizes[i] ? "> ratio of totals"
                          : bench_ratio(res[i][sh][T_SB].total_s, r->total_s));
            }
    bench_out("\nRatios are of the totals (N calls).  snapbroker and libvirt-embed make every "
              "redefine durable (snapbroker: one fdatasync'd log record; embed: one fsync'd "
              "file); libvirt-test keeps everything in memory.\n\n"
              "### W1: memory (RSS growth per snapshot over the N redefines, peak RSS of the process)\n\n"
              "| shape | N | snapbroker B/snap | libvirt-test B/snap | libvirt-embed B/snap | "
              "snapbroker peak MiB | libvirt-test peak MiB | libvirt-embed peak MiB |\n"
              "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ns; i++)
        for (int sh = 0; sh < 2; sh++) {
            struct result *r = res[i][sh];
            if (sizes[i] < 100)
                continue; /* a few snapshots say nothing per snapshot */
            bench_out("| %s | %ld | %s | %s | %s | %s | %s | %s |\n", sh ? "chain" : "wide",
                      sizes[i], r[0].ok ? bench_fmt(r[0].rss_b) : "–",
                      r[1].ok ? bench_fmt(r[1].rss_b) : "–", r[2].ok ? bench_fmt(r[2].rss_b) : "–",
                      r[0].ok ? bench_fmt(r[0].peak_mib) : "–",
                      r[1].ok ? bench_fmt(r[1].peak_mib) : "–",
                      r[2].ok ? bench_fmt(r[2].peak_mib) : "–");
        }
    bench_out("\n### W1: queries, µs per call (median); snapbroker ÷ peer\n\n"
              "| shape | N | query | snapbroker | libvirt-test | libvirt-embed | ÷ test | ÷ embed |\n"
              "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ns; i++)
        for (int sh = 0; sh < 2; sh++)
            for (int q = 0; q < NQ; q++) {
                struct result *r = res[i][sh];
                double a = r[0].ok ? r[0].q[q] : -1, b = r[1].ok ? r[1].q[q] : -1,
                       c = r[2].ok ? r[2].q[q] : -1;
                bench_out("| %s | %ld | %s | %s | %s | %s | %s | %s |\n", sh ? "chain" : "wide",
                          sizes[i], qname[q], bench_fmt(a), bench_fmt(b), bench_fmt(c),
                          bench_ratio(a, b), bench_ratio(a, c));
            }
    bench_out("\nThe lists include freeing the returned names/handles. `one XML` includes the "
              "name lookup on libvirt (snapbroker's call takes a name).\n");
}

int main(int argc, char **argv)
{
    long sizes[8];
    size_t ns = bench_parse_sizes("1,10,100,1000,10000", sizes, 8);
    int reps = 51, embed = 1;
    long peer_max = -1;
    double budget = 60;
    const char *work = NULL, *keep = NULL, *disk_arg = NULL;
    static const struct option lo[] = {{"sizes", 1, 0, 's'}, {"reps", 1, 0, 'r'},
                                       {"work", 1, 0, 'w'},  {"keep", 1, 0, 'k'},
                                       {"no-embed", 0, 0, 'E'}, {"budget", 1, 0, 'b'},
                                       {"peer-max", 1, 0, 'p'}, {"disk", 1, 0, 'd'},
                                       {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;)
        switch (c) {
        case 's': ns = bench_parse_sizes(optarg, sizes, 8); break;
        case 'r': reps = atoi(optarg); break;
        case 'w': work = optarg; break;
        case 'k': keep = optarg; break;
        case 'E': embed = 0; break;
        case 'b': budget = atof(optarg); break;
        case 'p': peer_max = atol(optarg); break;
        case 'd': disk_arg = optarg; break;
        default: return 2;
        }
    char *own = work ? NULL : bench_tmpdir(NULL, "w1-");
    if (own)
        work = own;
    char tmpl[1100], disk[1100];
    snprintf(tmpl, sizeof tmpl, "%s/embed-template", work);
    snprintf(disk, sizeof disk, "%s", disk_arg ? disk_arg : "");
    if (!disk_arg) {
        snprintf(disk, sizeof disk, "%s/w1-disk.qcow2", work);
        bench_disk(disk, "1G", 64);
    } else if (access(disk, F_OK) != 0) {
        bench_disk(disk, "1G", 64);
    }

    struct result (*res)[2][NT] = calloc(ns, sizeof *res);
    for (size_t i = 0; i < ns; i++)
        for (int sh = 0; sh < 2; sh++) /* 0 wide, 1 chain */
            for (int t = 0; t < NT; t++) {
                if ((t == T_EMBED && !embed) || (t != T_SB && peer_max >= 0 && sizes[i] > peer_max))
                    continue;
                struct job j = {.target = t, .chain = sh, .n = sizes[i], .budget_s = budget,
                                .reps = sizes[i] >= 10000 && reps > 11 ? 11 : reps};
                snprintf(j.disk, sizeof j.disk, "%s", disk);
                int kept = keep && sh == 1 && (t == T_SB || (t == T_EMBED && sizes[i] >= 1000));
                char *dir = NULL;
                if (kept) {
                    snprintf(j.dir, sizeof j.dir, "%s/%s-chain-%ld", keep,
                             t == T_SB ? "sb" : "embed", sizes[i]);
                    bench_rm_rf(j.dir);
                    if (t == T_EMBED) {
                        dir = lv_embed_root(tmpl, work);
                        rename(dir, j.dir);
                    } else {
                        mkdir(j.dir, 0755);
                    }
                } else if (t == T_SB) {
                    dir = bench_tmpdir(work, "w1sb-");
                } else if (t == T_EMBED) {
                    dir = lv_embed_root(tmpl, work);
                }
                if (dir && !kept)
                    snprintf(j.dir, sizeof j.dir, "%s", dir);
                fprintf(stderr, "w1: %s %s N=%ld\n", tname[t], sh ? "chain" : "wide", sizes[i]);
                if (bench_in_child(run, &j, &res[i][sh][t], sizeof(struct result)) < 0)
                    snprintf(res[i][sh][t].err, sizeof res[i][sh][t].err, "child died");
                if (!kept && dir)
                    bench_rm_rf(dir);
                free(dir);
            }
    print_tables(sizes, ns, res);
    kv_out(sizes, ns, res);
    if (own)
        bench_rm_rf(own);
    free(own);
    free(res);
    return 0;
}
