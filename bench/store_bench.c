/* store_bench: the snapshot store at scale, shaped like W1
 * (redefine N snapshots, chain and wide, then query) and W2 (cold open of
 * a populated store).  Prints markdown tables.
 *
 *   store_bench [--sizes 1000,10000,100000] [--reps 11] [--dir DIR]
 *               [--max-durable N]
 *
 * "redefine" commits every snapshot on its own (one record + fdatasync
 * each: what a CLI `snapshot-create --redefine` pays); "bulk" redefines all
 * N in one transaction (an import).  Sizes above --max-durable skip the
 * per-call durable run (it is dominated by the disk's fdatasync). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "store/store.h"
#include "store/tree.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_d);
    return n ? v[n / 2] : 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void die(const char *what)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, sb_error_last()->message);
    exit(1);
}

/* About what libvirt keeps for an internal snapshot of a running guest:
 * the snapshot elements plus the whole <domain> (2.6 KB here). */
static char *make_xml(const char *name, const char *parent)
{
    char *x = NULL;
    int n = asprintf(&x,
        "<domainsnapshot>\n  <name>%s</name>\n  <state>running</state>\n"
        "%s%s%s  <creationTime>1700000000</creationTime>\n"
        "  <memory snapshot='internal'/>\n  <disks>\n"
        "    <disk name='vda' snapshot='internal'/>\n  </disks>\n"
        "  <domain type='kvm'>\n    <name>bench</name>\n"
        "    <uuid>6f2d3c1e-8c4b-4e7a-9a55-1a2b3c4d5e6f</uuid>\n"
        "    <memory unit='KiB'>65536</memory>\n    <currentMemory unit='KiB'>65536"
        "</currentMemory>\n    <vcpu placement='static'>1</vcpu>\n"
        "    <os>\n      <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n"
        "      <boot dev='hd'/>\n    </os>\n    <features>\n      <acpi/>\n      <apic/>\n"
        "    </features>\n    <cpu mode='custom' match='exact' check='none'>\n"
        "      <model fallback='forbid'>qemu64</model>\n    </cpu>\n"
        "    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n"
        "    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n"
        "    <devices>\n      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "      <disk type='file' device='disk'>\n"
        "        <driver name='qemu' type='qcow2'/>\n"
        "        <source file='/var/lib/libvirt/images/bench.qcow2'/>\n"
        "        <target dev='vda' bus='virtio'/>\n"
        "        <address type='pci' domain='0x0000' bus='0x00' slot='0x04' "
        "function='0x0'/>\n      </disk>\n"
        "      <controller type='usb' index='0' model='piix3-uhci'>\n"
        "        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' "
        "function='0x2'/>\n      </controller>\n"
        "      <controller type='pci' index='0' model='pci-root'/>\n"
        "      <interface type='network'>\n        <mac address='52:54:00:12:34:56'/>\n"
        "        <source network='default'/>\n        <model type='virtio'/>\n"
        "        <address type='pci' domain='0x0000' bus='0x00' slot='0x03' "
        "function='0x0'/>\n      </interface>\n"
        "      <serial type='pty'>\n        <target type='isa-serial' port='0'>\n"
        "          <model name='isa-serial'/>\n        </target>\n      </serial>\n"
        "      <console type='pty'>\n        <target type='serial' port='0'/>\n"
        "      </console>\n      <input type='mouse' bus='ps2'/>\n"
        "      <input type='keyboard' bus='ps2'/>\n"
        "      <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n"
        "        <listen type='address' address='127.0.0.1'/>\n      </graphics>\n"
        "      <audio id='1' type='none'/>\n"
        "      <video>\n        <model type='cirrus' vram='16384' heads='1' primary='yes'/>\n"
        "        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' "
        "function='0x0'/>\n      </video>\n"
        "      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' "
        "bus='0x00' slot='0x05' function='0x0'/>\n      </memballoon>\n"
        "    </devices>\n  </domain>\n</domainsnapshot>\n",
        name, parent ? "  <parent>\n    <name>" : "", parent ? parent : "",
        parent ? "</name>\n  </parent>\n" : "");
    return n < 0 ? NULL : x;
}

typedef struct result {
    double redefine_med, grow_first, grow_last, redefine_total_s; /* <0: skipped */
    double bulk_total_s;
    double open_ms, first_answer_ms;
    double q[8]; /* list, topo, roots, leaves, desc, count, current, xml */
    double log_bytes_per_snap;
    long rss_kib;
} result;

/* Redefine the N snapshots; per_call: one commit each. */
static void populate(sb_store *s, size_t n, bool chain, bool per_call, double *lat)
{
    char name[32], parent[32];
    if (!per_call && sb_store_begin(s) < 0)
        die("begin");
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "snap%zu", i);
        if (chain)
            snprintf(parent, sizeof(parent), "snap%zu", i - 1);
        else
            snprintf(parent, sizeof(parent), "snap0");
        const char *par = i == 0 ? NULL : parent;
        char *xml = make_xml(name, par);
        sb_tree_snapshot x = { .name = name, .parent = par, .state = SB_STATE_RUNNING,
                               .creation_time = 1700000000 + (long long)i, .xml = xml };
        double t0 = now_us();
        if (per_call && i + 1 == n) {
            /* the last call also makes it current, as W1's last call does */
            if (sb_store_begin(s) < 0 || sb_store_redefine(s, &x) < 0 ||
                sb_store_set_current(s, name) < 0 || sb_store_commit(s) < 0)
                die("redefine");
        } else if (sb_store_redefine(s, &x) < 0) {
            die("redefine");
        }
        if (lat)
            lat[i] = now_us() - t0;
        free(xml);
    }
    if (!per_call) {
        snprintf(name, sizeof(name), "snap%zu", n - 1);
        if (sb_store_set_current(s, name) < 0 || sb_store_commit(s) < 0)
            die("commit");
    }
}

static double time_query(const sb_tree *t, int which, int reps)
{
    double *v = calloc((size_t)reps, sizeof(*v));
    for (int r = 0; r < reps; r++) {
        const sb_tree_node **out = NULL;
        size_t n = 0;
        double t0 = now_us();
        int rc = 0;
        switch (which) {
        case 0: rc = sb_tree_list(t, NULL, 0, &out, &n); break;
        case 1: rc = sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, &out, &n); break;
        case 2: rc = sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_ROOTS, &out, &n); break;
        case 3: rc = sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_LEAVES, &out, &n); break;
        case 4: rc = sb_tree_list(t, "snap0", SB_SNAPSHOT_LIST_DESCENDANTS, &out, &n); break;
        case 5: rc = sb_tree_list(t, NULL, 0, NULL, &n); break;
        case 6: n = sb_tree_current(t) != NULL; break;
        case 7: {
            sb_tree_node *x = sb_tree_lookup(t, "snap1");
            n = x && sb_tree_node_xml(x) ? strlen(sb_tree_node_xml(x)) : 0;
            break;
        }
        }
        free(out);
        v[r] = now_us() - t0;
        if (rc < 0 || n == 0)
            die("query");
    }
    double m = median(v, (size_t)reps);
    free(v);
    return m;
}

/* fork -> child opens the store, lists everything, writes the first name
 * to a pipe: time until the parent reads it (W2's "first answer"). */
static double first_answer_ms(const char *dir, const char *dom)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    double t0 = now_us();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        sb_store *s = NULL;
        if (sb_store_open(dir, "bench", dom, 0, &s) < 0)
            _exit(2);
        const sb_tree_node **v;
        size_t n;
        if (sb_tree_list(sb_store_tree(s), NULL, 0, &v, &n) < 0 || n == 0)
            _exit(3);
        const char *name = sb_tree_node_name(v[0]);
        if (write(p[1], name, strlen(name)) < 0)
            _exit(4);
        _exit(0); /* like a CLI that printed and exits */
    }
    close(p[1]);
    char buf[64];
    ssize_t r = read(p[0], buf, sizeof(buf));
    double t = (now_us() - t0) / 1000.0;
    close(p[0]);
    waitpid(pid, NULL, 0);
    return r > 0 ? t : -1;
}

static result run(const char *base, size_t n, bool chain, int reps, size_t max_durable)
{
    result r;
    memset(&r, 0, sizeof(r));
    char dom[64];
    snprintf(dom, sizeof(dom), "%s-%zu", chain ? "chain" : "wide", n);
    sb_store *s = NULL;

    /* durable per-call redefines */
    r.redefine_med = -1;
    if (n <= max_durable) {
        char d1[80];
        snprintf(d1, sizeof(d1), "%s-percall", dom);
        if (sb_store_open(base, "bench", d1, SB_STORE_WRITABLE, &s) < 0)
            die("open");
        double *lat = calloc(n, sizeof(*lat));
        double t0 = now_us();
        populate(s, n, chain, true, lat);
        r.redefine_total_s = (now_us() - t0) / 1e6;
        size_t tenth = n / 10 ? n / 10 : 1;
        double *first = malloc(tenth * sizeof(*first)), *last = malloc(tenth * sizeof(*last));
        memcpy(first, lat, tenth * sizeof(*first));
        memcpy(last, lat + n - tenth, tenth * sizeof(*last));
        r.grow_first = median(first, tenth);
        r.grow_last = median(last, tenth);
        r.redefine_med = median(lat, n);
        free(first);
        free(last);
        free(lat);
        sb_store_close(s);
    }

    /* bulk: one transaction */
    if (sb_store_open(base, "bench", dom, SB_STORE_WRITABLE, &s) < 0)
        die("open");
    double t0 = now_us();
    populate(s, n, chain, false, NULL);
    r.bulk_total_s = (now_us() - t0) / 1e6;
    sb_store_close(s);

    /* cold open (in process), median of 5 */
    double opens[5];
    for (int i = 0; i < 5; i++) {
        t0 = now_us();
        if (sb_store_open(base, "bench", dom, 0, &s) < 0)
            die("open");
        opens[i] = (now_us() - t0) / 1000.0;
        if (i < 4)
            sb_store_close(s);
    }
    r.open_ms = median(opens, 5);
    double fa[5];
    for (int i = 0; i < 5; i++)
        fa[i] = first_answer_ms(base, dom);
    r.first_answer_ms = median(fa, 5);

    const sb_tree *t = sb_store_tree(s);
    if (sb_tree_count(t) != n)
        die("count");
    for (int q = 0; q < 8; q++)
        r.q[q] = time_query(t, q, reps);
    sb_store_close(s);

    char lp[512];
    snprintf(lp, sizeof(lp), "%s/hosts/bench/domains/%s/snapshots.log", base, dom);
    struct stat st;
    r.log_bytes_per_snap = stat(lp, &st) == 0 ? (double)st.st_size / (double)n : 0;
    r.rss_kib = peak_rss_kib();
    return r;
}

int main(int argc, char **argv)
{
    size_t sizes[8] = { 1000, 10000, 100000 };
    size_t nsizes = 3, max_durable = 100000;
    int reps = 11;
    const char *dirarg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
            nsizes = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nsizes < 8; tok = strtok(NULL, ","))
                sizes[nsizes++] = strtoul(tok, NULL, 10);
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dirarg = argv[++i];
        } else if (!strcmp(argv[i], "--max-durable") && i + 1 < argc) {
            max_durable = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--sizes N,N,...] [--reps R] [--dir DIR] "
                            "[--max-durable N]\n", argv[0]);
            return 2;
        }
    }
    char tmpl[] = "/var/tmp/store-bench-XXXXXX";
    const char *base = dirarg;
    if (!base) {
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 1;
        }
        base = tmpl;
    }
    fprintf(stderr, "store_bench: state dir %s\n", base);
    printf("The store's own calls (store.h), not the public API: XML of %zu bytes per "
           "snapshot, %d reps per query.  \"bulk\" is one transaction for all N.\n\n",
           strlen(make_xml("snap12345", "snap12344")), reps);
    printf("| shape | N | redefine µs (durable, per call) | growth µs | total s | bulk total s "
           "| open ms | first answer ms | log B/snap | peak RSS MiB |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    result res[2][8];
    for (size_t k = 0; k < nsizes; k++) {
        for (int shape = 0; shape < 2; shape++) {
            result r = run(base, sizes[k], shape == 0, reps, max_durable);
            res[shape][k] = r;
            if (r.redefine_med >= 0)
                printf("| %s | %zu | %.1f | %.1f → %.1f | %.2f | %.3f | %.1f | %.1f | %.0f | %.1f |\n",
                       shape == 0 ? "chain" : "wide", sizes[k], r.redefine_med, r.grow_first,
                       r.grow_last, r.redefine_total_s, r.bulk_total_s, r.open_ms,
                       r.first_answer_ms, r.log_bytes_per_snap, (double)r.rss_kib / 1024.0);
            else
                printf("| %s | %zu | – | – | – | %.3f | %.1f | %.1f | %.0f | %.1f |\n",
                       shape == 0 ? "chain" : "wide", sizes[k], r.bulk_total_s, r.open_ms,
                       r.first_answer_ms, r.log_bytes_per_snap, (double)r.rss_kib / 1024.0);
            fflush(stdout);
        }
    }
    printf("\nQueries on the loaded tree, µs per call (median of %d; lists include "
           "freeing the array):\n\n", reps);
    printf("| shape | N | list all | topological | roots | leaves | descendants of root "
           "| count | current | one XML |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < nsizes; k++)
        for (int shape = 0; shape < 2; shape++) {
            result *r = &res[shape][k];
            printf("| %s | %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f |\n",
                   shape == 0 ? "chain" : "wide", sizes[k], r->q[0], r->q[1], r->q[2], r->q[3],
                   r->q[4], r->q[5], r->q[6], r->q[7]);
        }
    if (!dirarg)
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
