/* hier_import: issue 13's hierarchy import - N snapshots (chain and wide)
 * redefined by ONE sb_snapshot_import() call (public API, shipped qemu
 * plugin, a defined domain with a real qcow2 disk, one durable commit),
 * against libvirt test:///default redefining the same hierarchy one
 * virDomainSnapshotCreateXML(REDEFINE) at a time (libvirt's documented
 * way to move a hierarchy), in one run.  Each measurement runs in its own
 * child process, so its peak RSS is its own.
 *
 *   hier_import [--sizes 10000] [--work DIR] [--no-peer]
 *
 * Memory: the peak RSS of the import minus the RSS just before it (the
 * document already in memory, the plugin loaded, the schema compiled by
 * a one-snapshot import into another domain), minus the document's size
 * (the XML text the store has to keep), per snapshot. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "bench.h"
#include "lv.h"
#include "sb.h"

struct result {
    int ok;
    char err[256];
    double seconds;
    double cpu_seconds; /* the process's CPU time for the same call */
    double xml_bytes;   /* document bytes per snapshot */
    double growth_b;    /* peak RSS growth per snapshot */
    double beyond_b;    /* the same minus the document's bytes per snapshot */
};

struct job {
    int chain;
    long n;
    char dir[1024];
};

/* The hierarchy as snapshot-export writes it: parents first. */
static char *document(long n, int chain, const char *dom_xml, size_t *out_len)
{
    size_t cap = 1 << 20, len = 0;
    char *doc = malloc(cap);
    if (!doc)
        bench_die("out of memory");
    len += (size_t)sprintf(doc, "<domainsnapshots>\n");
    for (long i = 0; i < n; i++) {
        char name[32], parent[32];
        snprintf(name, sizeof name, "s%ld", i);
        snprintf(parent, sizeof parent, "s%ld", chain ? i - 1 : 0);
        char *x = bench_snap_xml(name, i ? parent : NULL, dom_xml);
        size_t xl = strlen(x);
        while (len + xl + 64 > cap) {
            cap *= 2;
            if (!(doc = realloc(doc, cap)))
                bench_die("out of memory");
        }
        memcpy(doc + len, x, xl);
        len += xl;
        free(x);
    }
    len += (size_t)sprintf(doc + len, "</domainsnapshots>\n");
    *out_len = len;
    return doc;
}

static void sb_child(void *arg, int fd)
{
    struct job *j = arg;
    struct result r = { 0 };
    char state[1100], disk[1100];
    sb_broker *b;
    sb_connection *c;

    snprintf(state, sizeof state, "%s/state", j->dir);
    snprintf(disk, sizeof disk, "%s/disk.qcow2", j->dir);
    bench_disk(disk, "1G", 0);
    bench_sb_connect(state, &b, &c);
    char *dom_xml = bench_sb_define(c, disk);
    size_t len, wlen;
    char *doc = document(j->n, j->chain, dom_xml, &len);
    /* warm-up on another domain: plugin paths, the schema compiled */
    char *wname = NULL;
    char *wdom = strdup(bench_domain_xml("warm", disk, 256, 0));
    char *wuuid = strstr(wdom, "3c1e9a2b");
    if (wuuid)
        memcpy(wuuid, "4d2f", 4); /* a uuid of its own */
    if (sb_domain_define(&wname, c, wdom) < 0)
        bench_die("define warm: %s", sb_error_last()->message);
    char *wxml = NULL;
    if (sb_domain_get_xml(&wxml, c, "warm", 0) < 0)
        bench_die("warm xml: %s", sb_error_last()->message);
    char *wdoc = document(1, 1, wxml, &wlen);
    if (sb_snapshot_import(NULL, c, "warm", wdoc, wlen, NULL, NULL, 0, 0) < 0)
        bench_die("warm-up import: %s", sb_error_last()->message);
    free(wdoc);
    free(wxml);
    free(wdom);
    free(wname);

    long rss0 = bench_status_kib("VmRSS");
    double c0 = bench_cpu_ms();
    double t0 = bench_now_us();
    size_t imported = 0;
    int rc = sb_snapshot_import(&imported, c, BENCH_SB_DOMAIN, doc, len, NULL, NULL, 0,
                                SB_SNAPSHOT_IMPORT_CURRENT);
    double t1 = bench_now_us();
    double c1 = bench_cpu_ms();
    long hwm = bench_status_kib("VmHWM");
    if (rc < 0 || imported != (size_t)j->n) {
        snprintf(r.err, sizeof r.err, "%.200s", sb_error_last()->message);
    } else {
        r.ok = 1;
        r.seconds = (t1 - t0) / 1e6;
        r.cpu_seconds = (c1 - c0) / 1e3;
        r.xml_bytes = (double)len / (double)j->n;
        r.growth_b = (double)(hwm - rss0) * 1024.0 / (double)j->n;
        r.beyond_b = r.growth_b - r.xml_bytes;
    }
    if (write(fd, &r, sizeof r) != sizeof r)
        _exit(1);
    free(doc);
    free(dom_xml);
    sb_disconnect(c);
    sb_broker_free(b);
}

/* libvirt-test: the same hierarchy, one redefine per snapshot. */
static void lv_child(void *arg, int fd)
{
    struct job *j = arg;
    struct result r = { 0 };
    virConnectPtr conn = virConnectOpen("test:///default");
    virDomainPtr d = conn ? virDomainLookupByName(conn, "test") : NULL;

    if (!d) {
        snprintf(r.err, sizeof r.err, "test:///default: %s", lv_err());
    } else {
        char *dom_xml = lv_domain_xml(d);
        double t0 = bench_now_us();
        long i;
        for (i = 0; i < j->n; i++) {
            char name[32], parent[32];
            snprintf(name, sizeof name, "s%ld", i);
            snprintf(parent, sizeof parent, "s%ld", j->chain ? i - 1 : 0);
            char *x = bench_snap_xml(name, i ? parent : NULL, dom_xml);
            unsigned flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE |
                             (i == j->n - 1 ? VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT : 0);
            virDomainSnapshotPtr s = virDomainSnapshotCreateXML(d, x, flags);
            free(x);
            if (!s) {
                snprintf(r.err, sizeof r.err, "redefine %ld: %s", i, lv_err());
                break;
            }
            virDomainSnapshotFree(s);
        }
        if (i == j->n) {
            r.ok = 1;
            r.seconds = (bench_now_us() - t0) / 1e6;
        }
        free(dom_xml);
    }
    if (d)
        virDomainFree(d);
    if (conn)
        virConnectClose(conn);
    if (write(fd, &r, sizeof r) != sizeof r)
        _exit(1);
}

int main(int argc, char **argv)
{
    long sizes[8] = { 10000 };
    size_t nsizes = 1;
    const char *work = NULL;
    int peer = 1;
    static const struct option lo[] = {
        { "sizes", required_argument, NULL, 's' },
        { "work", required_argument, NULL, 'w' },
        { "no-peer", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (o == 's')
            nsizes = bench_parse_sizes(optarg, sizes, 8);
        else if (o == 'w')
            work = optarg;
        else if (o == 'p')
            peer = 0;
        else
            bench_die("usage: hier_import [--sizes N,...] [--work DIR] [--no-peer]");
    }
    char *base = bench_tmpdir(work, "hier");

    bench_out("\n### Hierarchy import (issue 13): one sb_snapshot_import() call\n\n"
              "snapbroker imports the whole hierarchy in one call (one durable commit); "
              "libvirt-test redefines it one snapshot at a time (REDEFINE, the last with "
              "CURRENT), libvirt's documented way.  Memory: peak RSS growth of the import minus "
              "the document's size, per snapshot.\n\n"
              "| shape | N | document B/snapshot | import s (CPU s) | libvirt-test single redefines s | "
              "÷ libvirt-test | RSS growth B/snapshot | beyond the XML text B/snapshot |\n"
              "|---|---|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < nsizes; k++) {
        for (int chain = 1; chain >= 0; chain--) {
            struct job j = { .chain = chain, .n = sizes[k] };
            struct result sb = { 0 }, lv = { 0 };
            snprintf(j.dir, sizeof j.dir, "%s/%s-%ld", base, chain ? "chain" : "wide", j.n);
            char *dir = bench_tmpdir(base, chain ? "chain" : "wide");
            snprintf(j.dir, sizeof j.dir, "%s", dir);
            if (bench_in_child(sb_child, &j, &sb, sizeof sb) < 0 || !sb.ok)
                fprintf(stderr, "hier_import: snapbroker %s %ld failed: %s\n",
                        chain ? "chain" : "wide", j.n, sb.err);
            if (peer && (bench_in_child(lv_child, &j, &lv, sizeof lv) < 0 || !lv.ok))
                fprintf(stderr, "hier_import: libvirt-test %s %ld failed: %s\n",
                        chain ? "chain" : "wide", j.n, lv.err);
            bench_rm_rf(dir);
            free(dir);
            char s_sb[64], s_lv[32];
            if (sb.ok)
                snprintf(s_sb, sizeof s_sb, "%s (%.3f)", bench_fmt(sb.seconds), sb.cpu_seconds);
            else
                snprintf(s_sb, sizeof s_sb, "–");
            snprintf(s_lv, sizeof s_lv, "%s", lv.ok ? bench_fmt(lv.seconds) : "–");
            bench_out("| %s | %ld | %.0f | %s | %s | %s | %.0f | %.0f |\n",
                      chain ? "chain" : "wide", j.n, sb.xml_bytes, s_sb, s_lv,
                      bench_ratio(sb.seconds, lv.seconds), sb.growth_b, sb.beyond_b);
            if (sb.ok && j.n == 10000) {
                char key[64];
                snprintf(key, sizeof key, "hier_import_%s_s", chain ? "chain" : "wide");
                bench_kv(key, sb.seconds);
                snprintf(key, sizeof key, "hier_import_%s_beyond_b", chain ? "chain" : "wide");
                bench_kv(key, sb.beyond_b);
            }
        }
    }
    bench_rm_rf(base);
    free(base);
    return 0;
}
