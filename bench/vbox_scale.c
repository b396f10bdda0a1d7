/* vbox_scale: the vbox plugin on a machine with 1 000 snapshots (a
 * generated settings file: one root, four branches, at most 250 deep as
 * VirtualBox allows, every snapshot with a full hardware copy like the
 * ones VirtualBox writes), through the public API as the CLI uses it (one
 * broker and connection per command).
 *
 *   list     snapshot names (sb_snapshot_list), cold: broker, connect,
 *            list, disconnect
 *   info     the same plus every snapshot's info (sb_snapshot_list_info,
 *            what `snapshot-list` prints)
 *   create   the 1 001st snapshot, cold, of a powered-off machine: one new
 *            differencing VDI on a 64 MiB disk
 *   image    the part of create that writes the image (vb_vdi_create_diff
 *            alone)
 *
 * Peers measured in the same run: libxml2 building the whole document of
 * the same settings file (xmlReadMemory), and that plus writing it back
 * (the floor of any tool that edits the file as a document).
 *
 * Each is timed twice: wall clock, and the CPU time this process used
 * (CLOCK_PROCESS_CPUTIME_ID).  On a machine shared with other builds the
 * wall clock mostly measures the wait for a CPU; the CPU time is what the
 * operation itself costs.
 *
 * Usage: vbox_scale [N [REPS]]   (N snapshots, default 1000; 11 reps) */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "bench.h"
#include "snapbroker/snapbroker.h"
#include "vb.h"
#include "vdi.h"

static const char hardware[] =
    "<Hardware><CPU count=\"2\"><PAE enabled=\"true\"/><LongMode enabled=\"true\"/></CPU>"
    "<Memory RAMSize=\"3000\"/><Boot><Order position=\"1\" device=\"HardDisk\"/>"
    "<Order position=\"2\" device=\"DVD\"/><Order position=\"3\" device=\"None\"/>"
    "<Order position=\"4\" device=\"None\"/></Boot><Display VRAMSize=\"128\"/>"
    "<RemoteDisplay enabled=\"true\"><VRDEProperties><Property name=\"TCP/Address\" "
    "value=\"127.0.0.1\"/><Property name=\"TCP/Ports\" value=\"5902\"/></VRDEProperties>"
    "</RemoteDisplay><BIOS><IOAPIC enabled=\"true\"/></BIOS><Network><Adapter slot=\"0\" "
    "enabled=\"true\" MACAddress=\"0800277AA2FC\" type=\"82540EM\"><NAT><Forwarding "
    "name=\"ssh\" proto=\"1\" hostip=\"127.0.0.1\" hostport=\"2222\" guestport=\"22\"/>"
    "</NAT></Adapter><Adapter slot=\"1\" enabled=\"true\" MACAddress=\"0800278CC821\" "
    "type=\"82540EM\"><HostOnlyInterface name=\"vboxnet0\"/></Adapter></Network>"
    "<AudioAdapter driver=\"ALSA\"/><Clipboard mode=\"Bidirectional\"/>"
    "<StorageControllers><StorageController name=\"SATA\" type=\"AHCI\" PortCount=\"2\" "
    "useHostIOCache=\"false\" Bootable=\"true\"><AttachedDevice type=\"HardDisk\" "
    "hotpluggable=\"false\" port=\"0\" device=\"0\"><Image uuid=\"{%s}\"/></AttachedDevice>"
    "</StorageController></StorageControllers><RTC localOrUTC=\"UTC\"/></Hardware>";

typedef struct gen {
    FILE *f;
    long n, made;
    char (*img)[VB_UUID_LEN]; /* the image each snapshot froze */
    long *parent;
} gen;

/* Parent of snapshot i: a root, four branches from it, a short twig off
 * the middle of the first branch (the current snapshot ends it). */
static void shape(gen *g)
{
    long branch = (g->n - 4) / 4, i = 1;
    g->parent[0] = -1;
    for (int b = 0; b < 4; b++)
        for (long k = 0; k < branch && i < g->n - 3; k++, i++)
            g->parent[i] = k == 0 ? 0 : i - 1;
    long anchor = 1 + branch / 2;
    for (long k = 0; i < g->n; k++, i++)
        g->parent[i] = k == 0 ? anchor : i - 1;
}

static void uuid_of(long i, char out[VB_UUID_LEN], int kind)
{
    snprintf(out, VB_UUID_LEN, "%08x-0000-4000-8000-%012x", (unsigned)kind, (unsigned)(i + 1));
}

/* The snapshots, nested; children in index order. */
static void write_snap(gen *g, long i)
{
    char u[VB_UUID_LEN];
    uuid_of(i, u, 1);
    fprintf(g->f, "<Snapshot uuid=\"{%s}\" name=\"snap%ld\" timeStamp=\"2025-01-01T00:%02ld:%02ldZ\">",
            u, i, (i / 60) % 60, i % 60);
    fprintf(g->f, hardware, g->img[i]);
    int opened = 0;
    for (long c = i + 1; c < g->n; c++) {
        if (g->parent[c] != i)
            continue;
        if (!opened++)
            fputs("<Snapshots>", g->f);
        write_snap(g, c);
    }
    if (opened)
        fputs("</Snapshots>", g->f);
    fputs("</Snapshot>\n", g->f);
}

static char *generate(const char *dir, long n, const char *base_uuid, const char *cur_img)
{
    gen g = { 0 };
    char path[512], cur[VB_UUID_LEN];
    g.n = n;
    g.img = calloc((size_t)n + 1, sizeof *g.img);
    g.parent = calloc((size_t)n, sizeof *g.parent);
    shape(&g);
    /* snapshot i froze image i (the root: the base); in the registry they
     * hang under the base (a listing does not follow image chains), the
     * current state's image under the current snapshot's */
    snprintf(g.img[0], VB_UUID_LEN, "%s", base_uuid);
    for (long i = 1; i < n; i++)
        uuid_of(i, g.img[i], 2);
    snprintf(path, sizeof path, "%s/big/big.vbox", dir);
    if (!(g.f = fopen(path, "w")))
        bench_die("cannot write %s", path);
    uuid_of(n - 1, cur, 1);
    fprintf(g.f, "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
                 "version=\"1.19-linux\">\n<Machine uuid=\"{0b000000-0000-4000-8000-000000000001}\" "
                 "name=\"big\" OSType=\"Debian_64\" snapshotFolder=\"Snapshots\" "
                 "currentSnapshot=\"{%s}\" currentStateModified=\"false\">\n", cur);
    fprintf(g.f, "<MediaRegistry><HardDisks><HardDisk uuid=\"{%s}\" location=\"disk0.vdi\" "
                 "format=\"VDI\" type=\"Normal\">", base_uuid);
    for (long i = 1; i < n - 1; i++)
        fprintf(g.f, "<HardDisk uuid=\"{%s}\" location=\"Snapshots/{%s}.vdi\" format=\"VDI\"/>",
                g.img[i], g.img[i]);
    fprintf(g.f, "<HardDisk uuid=\"{%s}\" location=\"Snapshots/{%s}.vdi\" format=\"VDI\">"
                 "<HardDisk uuid=\"{%s}\" location=\"Snapshots/{%s}.vdi\" format=\"VDI\"/>"
                 "</HardDisk>", g.img[n - 1], g.img[n - 1], cur_img, cur_img);
    fputs("</HardDisk></HardDisks></MediaRegistry>\n", g.f);
    write_snap(&g, 0);
    fprintf(g.f, hardware, cur_img);
    fputs("\n</Machine>\n</VirtualBox>\n", g.f);
    fclose(g.f);
    free(g.img);
    free(g.parent);
    return strdup(path);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        bench_die("failed: %s", cmd);
}

static sb_connection *open_conn(sb_broker **b)
{
    sb_connection *c = NULL;
    if (sb_broker_new(b, NULL) != 0 || sb_connect(&c, *b, "vb", 0) != 0)
        bench_die("connect: %s", sb_error_last()->message);
    return c;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    int reps = argc > 2 ? atoi(argv[2]) : 11;
    char *dir = bench_tmpdir(NULL, "sbvbox");
    char path[700], base[600], cur_img[VB_UUID_LEN], cur_path[700], conf[600];
    vb_ctx ctx;
    vb_ctx_init(&ctx, NULL, NULL);

    /* a 64 MiB disk; the current state's differencing image on it */
    snprintf(base, sizeof base, "%s/big/disk0.vdi", dir);
    sh("mkdir -p '%s/big/Snapshots' && qemu-img create -q -f vdi '%s' 64M", dir, base);
    vb_vdi *bv = NULL, *cv = NULL;
    if (vb_vdi_open(&ctx, base, 0, &bv) != 0)
        bench_die("%s", ctx.err_msg);
    char base_uuid[VB_UUID_LEN];
    vb_uuid_from_bin(bv->uuid, base_uuid);
    vb_uuid_generate(cur_img);
    snprintf(cur_path, sizeof cur_path, "%s/big/Snapshots/{%s}.vdi", dir, cur_img);
    if (vb_vdi_create_diff(&ctx, cur_path, bv, cur_img) != 0)
        bench_die("%s", ctx.err_msg);
    char *settings = generate(dir, n, base_uuid, cur_img);
    snprintf(path, sizeof path, "%s.orig", settings);
    sh("cp '%s' '%s'", settings, path);
    snprintf(conf, sizeof conf, "%s/snapbroker.conf", dir);
    FILE *cf = fopen(conf, "w");
    fprintf(cf, "state_dir = \"%s/.state\";\nhosts = ( { name = \"vb\"; plugin = \"vbox\"; "
                "uri = \"vbox://%s\"; vbox = { vboxmanage = \"\"; }; } );\n", dir, dir);
    fclose(cf);
    setenv("SNAPBROKER_CONFIG", conf, 1);

    double *t_list = calloc((size_t)reps, sizeof(double)), *t_info = calloc((size_t)reps, sizeof(double));
    double *t_create = calloc((size_t)reps, sizeof(double)), *t_image = calloc((size_t)reps, sizeof(double));
    double *t_dom = calloc((size_t)reps, sizeof(double)), *t_domw = calloc((size_t)reps, sizeof(double));
    double *t_model = calloc((size_t)reps, sizeof(double)), *t_sax = calloc((size_t)reps, sizeof(double));
    /* the same in CPU time */
    double *c_list = calloc((size_t)reps, sizeof(double)), *c_info = calloc((size_t)reps, sizeof(double));
    double *c_create = calloc((size_t)reps, sizeof(double)), *c_dom = calloc((size_t)reps, sizeof(double));
    double *c_domw = calloc((size_t)reps, sizeof(double));
    char xml[256];
    snprintf(xml, sizeof xml, "<domainsnapshot><name>snap%ld</name><state>shutoff</state>"
                              "<creationTime>1</creationTime></domainsnapshot>", n);
    size_t listed = 0;
    for (int r = 0; r < reps; r++) {
        sb_broker *b;
        sb_connection *c;
        char **names = NULL;
        sb_snapshot_info *info = NULL;
        size_t cnt = 0;
        double t0 = bench_now_us(), c0 = bench_cpu_ms();
        c = open_conn(&b);
        if (sb_snapshot_list(&names, &cnt, c, "big", NULL, 0) != 0)
            bench_die("list: %s", sb_error_last()->message);
        sb_disconnect(c);
        sb_broker_free(b);
        t_list[r] = (bench_now_us() - t0) / 1000;
        c_list[r] = bench_cpu_ms() - c0;
        sb_names_free(names, cnt);
        listed = cnt;

        t0 = bench_now_us();
        c0 = bench_cpu_ms();
        c = open_conn(&b);
        if (sb_snapshot_list_info(&names, &info, &cnt, c, "big", NULL, 0) != 0)
            bench_die("list_info: %s", sb_error_last()->message);
        sb_disconnect(c);
        sb_broker_free(b);
        t_info[r] = (bench_now_us() - t0) / 1000;
        c_info[r] = bench_cpu_ms() - c0;
        sb_names_free(names, cnt);
        free(info);

        t0 = bench_now_us();
        c0 = bench_cpu_ms();
        c = open_conn(&b);
        if (sb_snapshot_create_xml(NULL, c, "big", xml, 0) != 0)
            bench_die("create: %s", sb_error_last()->message);
        sb_disconnect(c);
        sb_broker_free(b);
        t_create[r] = (bench_now_us() - t0) / 1000;
        c_create[r] = bench_cpu_ms() - c0;
        /* back to N: the original file, the new image removed */
        sh("find '%s/big/Snapshots' -newer '%s' -name '*.vdi' -delete && cp '%s' '%s'", dir,
           path, path, settings);

        char img[800], u[VB_UUID_LEN];
        vb_uuid_generate(u);
        snprintf(img, sizeof img, "%s/big/Snapshots/bench-{%s}.vdi", dir, u);
        if (vb_vdi_open(&ctx, cur_path, 0, &cv) != 0)
            bench_die("%s", ctx.err_msg);
        t0 = bench_now_us();
        if (vb_vdi_create_diff(&ctx, img, cv, u) != 0)
            bench_die("%s", ctx.err_msg);
        t_image[r] = (bench_now_us() - t0) / 1000;
        vb_vdi_close(cv);
        unlink(img);

        char *buf = NULL;
        size_t len = 0;
        if (vb_read_file(&ctx, settings, 1u << 30, &buf, &len) != 0)
            bench_die("%s", ctx.err_msg);
        /* the plugin's model of the file, and libxml2's streaming parser
         * with nothing to do (the floor of any reading) */
        vb_machine *m = NULL;
        t0 = bench_now_us();
        if (vb_machine_parse(&ctx, buf, len, settings, &m) != 0)
            bench_die("%s", ctx.err_msg);
        t_model[r] = (bench_now_us() - t0) / 1000;
        vb_machine_free(m);
        xmlSAXHandler h;
        memset(&h, 0, sizeof h);
        h.initialized = XML_SAX2_MAGIC;
        t0 = bench_now_us();
        xmlParserCtxtPtr px = xmlCreatePushParserCtxt(&h, NULL, NULL, 0, settings);
        xmlCtxtUseOptions(px, XML_PARSE_NONET | XML_PARSE_HUGE);
        xmlParseChunk(px, buf, (int)len, 1);
        xmlFreeParserCtxt(px);
        t_sax[r] = (bench_now_us() - t0) / 1000;

        t0 = bench_now_us();
        c0 = bench_cpu_ms();
        xmlDoc *doc = xmlReadMemory(buf, (int)len, settings, NULL,
                                    XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOBLANKS);
        t_dom[r] = (bench_now_us() - t0) / 1000;
        c_dom[r] = bench_cpu_ms() - c0;
        xmlChar *out = NULL;
        int olen = 0;
        xmlDocDumpFormatMemory(doc, &out, &olen, 1);
        snprintf(img, sizeof img, "%s/big/peer.vbox", dir);
        int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, out, (size_t)olen) != olen || fsync(fd) != 0)
            bench_die("peer write");
        close(fd);
        t_domw[r] = (bench_now_us() - t0) / 1000;
        c_domw[r] = bench_cpu_ms() - c0;
        xmlFree(out);
        xmlFreeDoc(doc);
        free(buf);
    }
    struct stat st;
    stat(settings, &st);
    bench_out("\n### vbox: a machine with %ld snapshots (settings file %.1f MiB), %d reps, ms\n\n",
              n, st.st_size / 1048576.0, reps);
    bench_out("| operation | vbox plugin | peer: libxml2 document | ratio |\n|---|---|---|---|\n");
    double dom = bench_median(t_dom, (size_t)reps), domw = bench_median(t_domw, (size_t)reps);
    bench_out("| list (%zu names) | %s | %s (parse) | %s |\n", listed,
              bench_fmt_stat(t_list, (size_t)reps), bench_fmt(dom),
              bench_ratio(bench_median(t_list, (size_t)reps), dom));
    double sax = bench_median(t_sax, (size_t)reps);
    bench_out("| reading the file: the plugin's model | %s | %s (streaming parse, no work) | %s |\n",
              bench_fmt_stat(t_model, (size_t)reps), bench_fmt(sax),
              bench_ratio(bench_median(t_model, (size_t)reps), sax));
    bench_out("| list with info | %s | %s (parse) | %s |\n", bench_fmt_stat(t_info, (size_t)reps),
              bench_fmt(dom), bench_ratio(bench_median(t_info, (size_t)reps), dom));
    double img = bench_median(t_image, (size_t)reps), cr = bench_median(t_create, (size_t)reps);
    bench_out("| create the %ld%s | %s | %s (parse + write) | %s |\n", n + 1,
              (n + 1) % 10 == 1 && (n + 1) % 100 != 11 ? "st" : "th",
              bench_fmt_stat(t_create, (size_t)reps), bench_fmt(domw), bench_ratio(cr, domw));
    bench_out("| of which the image write | %s | | |\n", bench_fmt_stat(t_image, (size_t)reps));
    bench_out("| create minus image write | %s | | |\n", bench_fmt(cr - img));
    bench_out("\nThe same, CPU time of the process (ms):\n\n"
              "| operation | vbox plugin | peer: libxml2 document | ratio |\n|---|---|---|---|\n");
    double cdom = bench_median(c_dom, (size_t)reps), cdomw = bench_median(c_domw, (size_t)reps);
    bench_out("| list | %s | %s (parse) | %s |\n", bench_fmt_stat(c_list, (size_t)reps),
              bench_fmt(cdom), bench_ratio(bench_median(c_list, (size_t)reps), cdom));
    bench_out("| list with info | %s | %s (parse) | %s |\n", bench_fmt_stat(c_info, (size_t)reps),
              bench_fmt(cdom), bench_ratio(bench_median(c_info, (size_t)reps), cdom));
    bench_out("| create | %s | %s (parse + write) | %s |\n", bench_fmt_stat(c_create, (size_t)reps),
              bench_fmt(cdomw), bench_ratio(bench_median(c_create, (size_t)reps), cdomw));
    vb_vdi_close(bv);
    vb_ctx_fini(&ctx);
    bench_rm_rf(dir);
    double *arrays[] = { t_list, t_info, t_create, t_image, t_dom, t_domw, t_model, t_sax,
                         c_list, c_info, c_create, c_dom, c_domw };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    free(settings);
    free(dir);
    return 0;
}
