/* w4_xml: W4 of bench/README.md - snapshot XML round trip.
 *   snapbroker normalize  sb_xml_normalize (redefine mode): parse, check,
 *                         format - the XML engine alone (public, xml.h)
 *   snapbroker API        sb_snapshot_create_xml(REDEFINE) + sb_snapshot_get_xml
 *                         on the shipped qemu plugin, a fresh state dir per
 *                         batch (durable per call)
 *   libvirt-test          virDomainSnapshotCreateXML(REDEFINE) +
 *                         virDomainSnapshotGetXMLDesc, a new connection per batch
 *   raw (libxml2)         xmlReadMemory + xmlDocDumpFormatMemory; +validate:
 *                         RelaxNG against libvirt's domainsnapshot.rng, compiled once
 * Documents: "small" (W1's: the test domain, 1.3 KB) and "domain50" (the
 * test domain with 50 devices, 18 of them disks, about 11 KB).  The API
 * target redefines snapshots of its own domain (the qemu plugin checks a
 * redefined <domain> against the domain's uuid): one disk for "small", 18
 * disks for "domain50", each document padded with a <description> to the
 * size of libvirt-test's.
 *
 *   w4_xml [--batches 7] [--work DIR] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "bench.h"
#include "lv.h"
#include "sb.h"
#include "snapbroker/xml.h"

#define RNG "/usr/share/libvirt/schemas/domainsnapshot.rng"

enum { T_NORM, T_API, T_TEST, T_RAW, NT };
static const char *const tname[NT] = {"snapbroker normalize (XML engine alone)",
                                      "snapbroker API (qemu plugin)",
                                      "libvirt-test", "raw (libxml2)"};

/* The test domain with 18 virtio disks, 30 NICs, a balloon and a serial
 * port (50 devices with addresses). */
static char *domain50(void)
{
    size_t cap = 65536, len = 0;
    char *d = malloc(cap);
    len += (size_t)snprintf(d + len, cap - len,
        "<domain type='test'>\n    <name>test</name>\n"
        "    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
        "    <memory unit='KiB'>8388608</memory>\n    <vcpu placement='static'>2</vcpu>\n"
        "    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n"
        "    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n"
        "    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n"
        "    <devices>\n");
    for (int i = 0; i < 18; i++)
        len += (size_t)snprintf(d + len, cap - len,
            "      <disk type='file' device='disk'>\n"
            "        <source file='/guest/disk%d.img'/>\n"
            "        <target dev='vd%c' bus='virtio'/>\n"
            "        <address type='pci' domain='0x0000' bus='0x01' slot='0x%02x' function='0x0'/>\n"
            "      </disk>\n", i, 'a' + i, i + 1);
    for (int i = 0; i < 30; i++)
        len += (size_t)snprintf(d + len, cap - len,
            "      <interface type='network'>\n"
            "        <mac address='aa:bb:cc:dd:ee:%02x'/>\n"
            "        <source network='default'/>\n"
            "        <address type='pci' domain='0x0000' bus='0x02' slot='0x%02x' function='0x0'/>\n"
            "      </interface>\n", i, i + 1);
    len += (size_t)snprintf(d + len, cap - len,
        "      <serial type='pty'>\n        <target port='0'/>\n      </serial>\n"
        "      <memballoon model='virtio'>\n"
        "        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
        "      </memballoon>\n    </devices>\n  </domain>\n");
    return d;
}

struct doc {
    const char *name;
    int k;          /* snapshots per batch */
    char *dom;      /* NULL = the test domain */
    int sb_disks;   /* disks of the API target's domain */
};

/* The API target's domain: ndisks virtio qcow2 disks in dir (made here). */
static char *sb_domain(const char *dir, int ndisks)
{
    size_t cap = 16384, len = 0;
    char *d = malloc(cap);
    len += (size_t)snprintf(d + len, cap - len,
        "<domain type='qemu'><name>" BENCH_SB_DOMAIN "</name>"
        "<uuid>3c1e9a2b-5d4f-4e6a-8b7c-0d1e2f3a4b5c</uuid><memory unit='MiB'>256</memory>"
        "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>");
    for (int i = 0; i < ndisks; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/w4-disk%d.qcow2", dir, i);
        if (access(path, F_OK) != 0)
            bench_disk(path, "64M", 0);
        len += (size_t)snprintf(d + len, cap - len,
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            "<source file='%s'/><target dev='vd%c' bus='virtio'/></disk>", path, 'a' + i);
    }
    snprintf(d + len, cap - len, "<memballoon model='none'/></devices></domain>");
    return d;
}

static char *sb_dom_xml; /* the API target's stored definition, this batch */

static xmlRelaxNGPtr rng;
static sb_connection *sbc;
static sb_broker *sbb;
static virConnectPtr lvc;
static virDomainPtr lvd;

/* One round trip; *parse_us gets the first half. */
static int trip(int t, const char *xml, const char *name, int validate, double *parse_us)
{
    double t0 = bench_now_us();
    char *out = NULL;
    int rc = 0;
    switch (t) {
    case T_NORM: {
        sb_normalize_opts o = {0};
        o.redefine = 1;
        o.running = 1;
        o.validate = validate ? 1 : 0;
        rc = sb_xml_normalize(xml, strlen(xml), NULL, &o, &out);
        *parse_us = bench_now_us() - t0; /* one call does both halves */
        break;
    }
    case T_API:
        rc = sb_snapshot_create_xml(NULL, sbc, BENCH_SB_DOMAIN, xml,
                                    SB_SNAPSHOT_CREATE_REDEFINE |
                                        (validate ? SB_SNAPSHOT_CREATE_VALIDATE : 0));
        *parse_us = bench_now_us() - t0;
        if (rc == 0)
            rc = sb_snapshot_get_xml(&out, sbc, BENCH_SB_DOMAIN, name, 0);
        break;
    case T_TEST: {
        virDomainSnapshotPtr s = virDomainSnapshotCreateXML(
            lvd, xml,
            VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | (validate ? VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE : 0));
        *parse_us = bench_now_us() - t0;
        if (!s)
            return -1;
        out = virDomainSnapshotGetXMLDesc(s, 0);
        virDomainSnapshotFree(s);
        rc = out ? 0 : -1;
        break;
    }
    default: {
        xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
        if (!d)
            return -1;
        if (validate) {
            xmlRelaxNGValidCtxtPtr v = xmlRelaxNGNewValidCtxt(rng);
            rc = xmlRelaxNGValidateDoc(v, d) == 0 ? 0 : -1;
            xmlRelaxNGFreeValidCtxt(v);
        }
        *parse_us = bench_now_us() - t0;
        xmlChar *o = NULL;
        int len = 0;
        xmlDocDumpFormatMemory(d, &o, &len, 1);
        xmlFreeDoc(d);
        xmlFree(o);
        return rc;
    }
    }
    free(out);
    return rc < 0 ? -1 : 0;
}

static const char *err_of(int t)
{
    return t == T_TEST ? lv_err() : t == T_RAW ? "libxml2" : sb_error_last()->message;
}

/* Per-batch setup: a new connection (libvirt; the API's fresh store with
 * its domain defined). */
static void batch_open(int t, const char *work, const struct doc *d)
{
    if (t == T_TEST) {
        if (!(lvc = virConnectOpen("test:///default")) || !(lvd = virDomainLookupByName(lvc, "test")))
            bench_die("test:///default: %s", lv_err());
    } else if (t == T_API) {
        char *dir = bench_tmpdir(work, "w4sb-");
        bench_sb_connect(dir, &sbb, &sbc);
        char *def = sb_domain(work, d->sb_disks), *name = NULL;
        if (sb_domain_define(&name, sbc, def) < 0 ||
            sb_domain_get_xml(&sb_dom_xml, sbc, BENCH_SB_DOMAIN, 0) < 0)
            bench_die("define: %s", sb_error_last()->message);
        free(name);
        free(def);
        free(dir);
    }
}

static void batch_close(int t)
{
    if (t == T_TEST) {
        virDomainFree(lvd);
        virConnectClose(lvc);
    } else if (t == T_API) {
        bench_rm_rf(sb_broker_state_dir(sbb));
        sb_disconnect(sbc);
        sb_broker_free(sbb);
        free(sb_dom_xml);
        sb_dom_xml = NULL;
    }
}

int main(int argc, char **argv)
{
    int batches = 7;
    const char *work = NULL;
    static const struct option lo[] = {{"batches", 1, 0, 'b'}, {"work", 1, 0, 'w'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;)
        switch (c) {
        case 'b': batches = atoi(optarg); break;
        case 'w': work = optarg; break;
        default: return 2;
        }
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    char *own = work ? NULL : bench_tmpdir(NULL, "w4-");
    if (own)
        work = own;
    xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(RNG);
    double tc = bench_now_us();
    rng = pc ? xmlRelaxNGParse(pc) : NULL;
    tc = (bench_now_us() - tc) / 1000;
    if (!rng)
        bench_die("cannot compile %s", RNG);

    struct doc docs[] = {{"small", 1000, NULL, 1}, {"domain50", 250, domain50(), 18},
                         {"small + VALIDATE", 50, NULL, 1}, {"domain50 + VALIDATE", 50, NULL, 18}};
    docs[3].dom = docs[1].dom;
    bench_out("\n### W4: XML round trip (parse + format), %d batches; snapshots/s median "
              "(min–max) over batches, round trip µs median (min–max) over all snapshots\n\n"
              "| document | K | target | snapshots/s | round trip µs | parse (redefine) µs | "
              "normalize ÷ this | API ÷ this |\n|---|---|---|---|---|---|---|---|\n", batches);
    for (size_t di = 0; di < sizeof docs / sizeof *docs; di++) {
        struct doc *d = &docs[di];
        int validate = di >= 2;
        size_t nall = (size_t)d->k * (size_t)batches;
        double *rt[NT], *pa[NT], rate[NT][64], med[NT];
        char err[NT][1100] = {{0}};
        for (int t = 0; t < NT; t++) {
            rt[t] = calloc(nall, sizeof(double));
            pa[t] = calloc(nall, sizeof(double));
        }
        fprintf(stderr, "w4: %s\n", d->name);
        for (int b = 0; b < batches && b < 64; b++)
            for (int t = 0; t < NT; t++) {
                if (err[t][0])
                    continue;
                batch_open(t, work, d);
                double t0 = bench_now_us();
                for (int i = 0; i < d->k; i++) {
                    char name[32];
                    snprintf(name, sizeof name, "w4-%d-%d", b, i);
                    char *xml = bench_snap_xml(name, NULL, d->dom);
                    if (t == T_API) { /* its own domain, the same size */
                        size_t size = strlen(xml);
                        free(xml);
                        xml = bench_snap_xml_sized(name, NULL, sb_dom_xml, size);
                    }
                    double p = 0, s0 = bench_now_us();
                    if (trip(t, xml, name, validate, &p) < 0 && !err[t][0])
                        snprintf(err[t], sizeof err[t], "%s", err_of(t));
                    size_t at = (size_t)b * (size_t)d->k + (size_t)i;
                    rt[t][at] = bench_now_us() - s0;
                    pa[t][at] = p;
                    free(xml);
                }
                rate[t][b] = d->k / ((bench_now_us() - t0) / 1e6);
                batch_close(t);
            }
        for (int t = 0; t < NT; t++) {
            double *tmp = malloc(nall * sizeof(double));
            memcpy(tmp, rt[t], nall * sizeof(double));
            med[t] = bench_median(tmp, nall);
            free(tmp);
            static const char *const tkey[NT] = {"norm", "api", "test", "raw"};
            char key[64];
            snprintf(key, sizeof key, "w4.%zu.%s.rt_us", di, tkey[t]);
            if (!err[t][0])
                bench_kv(key, med[t]);
        }
        for (int t = 0; t < NT; t++) {
            if (err[t][0])
                bench_out("| %s | %d | %s | failed: %s | | | | |\n", d->name, d->k, tname[t], err[t]);
            else
                bench_out("| %s | %d | %s | %s | %s | %s | %s | %s |\n", d->name, d->k, tname[t],
                          bench_fmt_stat(rate[t], (size_t)batches), bench_fmt_stat(rt[t], nall),
                          bench_fmt_stat(pa[t], nall), bench_ratio(med[T_NORM], med[t]),
                          bench_ratio(med[T_API], med[t]));
            free(rt[t]);
            free(pa[t]);
        }
    }
    bench_out("\nsnapbroker normalize does parse and format in one call (the parse column is the "
              "whole call). Compiling domainsnapshot.rng once with libxml2 took %.1f ms here.\n", tc);
    xmlRelaxNGFree(rng);
    xmlRelaxNGFreeParserCtxt(pc);
    free(docs[1].dom);
    if (own)
        bench_rm_rf(own);
    free(own);
    return 0;
}
