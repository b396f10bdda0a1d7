/* tests/qemu - the qemu plugin .so driven through its ABI (dlopen), with a
 * FIXTURE host-services table standing in for the broker (fixture_host.c).
 * Real QEMU and qemu-img; every path checks data: a pattern is written,
 * snapshotted, overwritten, reverted and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture_host.h"
#include "qp.h"
#include "test_wait.h"

static const struct sb_plugin *P;
static sb_conn *C;
static char dir[256];
static qp_ctx tctx; /* test-side helpers (no host) */
static char *disk_a, *disk_b;

#define DOM "vm"

#include "scratch_path.h"


static char *dom_xml(const char *name, const char *a, const char *b, const char *fmt_b)
{
    return qp_printf(
        "<domain type='kvm'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "<disk type='file' device='disk'><driver name='qemu' type='%s'/>"
        "<source file='%s'/><target dev='vdb' bus='virtio'/></disk>"
        "<memballoon model='none'/></devices></domain>",
        name, a, fmt_b, b);
}

/* fresh domain "vm" with two 16M qcow2 disks written with 0xaa */
static void fresh_domain(void)
{
    int st;
    if (P->domain_get_state(&st, C, DOM) == 0 && st != SB_DOMAIN_SHUTOFF)
        P->domain_destroy(C, DOM, 0);
    while (fx.nsnaps)
        fx_tree_remove(fx.snaps[0].name);
    char *argv[] = {(char *)"sh", (char *)"-c", NULL, NULL};
    char *cmd = qp_printf("rm -f %s/*.qcow2 %s/vd* %s/*.mem", dir, dir, dir);
    argv[2] = cmd;
    qp_run(&tctx, argv, NULL, NULL);
    free(cmd);
    assert_int_equal(qp_img_create(&tctx, disk_a, "qcow2", "16M"), 0);
    assert_int_equal(qp_img_create(&tctx, disk_b, "qcow2", "16M"), 0);
    char *out = NULL;
    assert_int_equal(qp_io(&tctx, disk_a, "qcow2", "write -P 0xaa 1M 64k", &out), 0);
    free(out);
    assert_int_equal(qp_io(&tctx, disk_b, "qcow2", "write -P 0xaa 1M 64k", &out), 0);
    free(out);
    /* a boot sector that counts timer interrupts at 0x7e00 (sti; hlt;
     * inc dword [0x7e00]; jmp): guest RAM that moves on its own */
    char *mbr = qp_printf("write -s %s 0 512", path("mbr.bin"));
    assert_int_equal(qp_io(&tctx, disk_a, "qcow2", mbr, &out), 0);
    free(out);
    free(mbr);
    char *xml = dom_xml(DOM, disk_a, disk_b, "qcow2");
    char *name = NULL;
    assert_int_equal(P->domain_define(&name, C, xml, 0), 0);
    free(name);
    free(xml);
}

static char *cur_xml(void)
{
    char *x = NULL;
    assert_int_equal(P->domain_get_xml(&x, C, DOM, 0), 0);
    return x;
}

/* current source of a disk in the stored definition */
static char *cur_source(const char *target)
{
    qp_domain *d = NULL;
    char *x = cur_xml();
    assert_int_equal(qp_domain_parse(&tctx, x, &d), 0);
    free(x);
    const qp_disk *k = qp_domain_disk(d, target);
    char *s = qp_strdup(k->source);
    qp_domain_free(d);
    return s;
}

static int off_check(const char *target, int pattern)
{
    char *src = cur_source(target), *out = NULL, cmd[64];
    snprintf(cmd, sizeof cmd, "read -P 0x%02x 1M 64k", pattern);
    int st = qp_io(&tctx, src, NULL, cmd, &out);
    int ok = st == 0 && out && !strstr(out, "failed");
    free(out);
    free(src);
    return ok;
}

static void off_write(const char *target, int pattern)
{
    char *src = cur_source(target), *out = NULL, cmd[64];
    snprintf(cmd, sizeof cmd, "write -P 0x%02x 1M 64k", pattern);
    assert_int_equal(qp_io(&tctx, src, NULL, cmd, &out), 0);
    free(out);
    free(src);
}

static char *hmp(const char *cmd)
{
    qp_qmp *q = NULL;
    assert_int_equal(qp_proc_connect(&tctx, DOM, &q), 0);
    char *out = NULL;
    int r = qp_qmp_hmp(q, cmd, &out);
    qp_qmp_close(q);
    if (r < 0) {
        free(out);
        return qp_printf("ERROR %s", tctx.err_msg);
    }
    return out;
}

static void on_write(const char *target, int pattern)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "qemu-io -d /machine/peripheral/%s/virtio-backend \"write -P 0x%02x 1M 64k\"",
             target, pattern);
    char *o = hmp(cmd);
    assert_null(strstr(o, "ERROR"));
    free(o);
}

/* HMP qemu-io prints to QEMU's stdout, so read back through the image:
 * flush QEMU's caches, then qemu-io -U (force-share) on the top file. */
static int on_check(const char *target, int pattern)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "qemu-io -d /machine/peripheral/%s/virtio-backend \"flush\"", target);
    char *o = hmp(cmd);
    int ok = !strstr(o, "ERROR");
    free(o);
    char *src = cur_source(target), *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "read -P 0x%02x 1M 64k", pattern);
    char *argv[] = {(char *)"qemu-io", (char *)"-r", (char *)"-U", (char *)"-c", cmd, src, NULL};
    int st = qp_run(&tctx, argv, &out, &err);
    ok = ok && st == 0 && out && !strstr(out, "failed");
    if (!ok)
        print_message("# on_check %s 0x%02x: st=%d %s %s\n", src, pattern, st, out ? out : "", err ? err : "");
    free(out);
    free(err);
    free(src);
    return ok;
}

static unsigned tick(void)
{
    char *o = hmp("xp /1wx 0x7e00");
    char *c = strchr(o, ':');
    unsigned v = c ? (unsigned)strtoul(c + 1, NULL, 16) : 0;
    free(o);
    return v;
}

static int tick_moved(void *from)
{
    return tick() != *(unsigned *)from;
}

/* The guest's timer tick moves on from `from` (fails the test when it
 * stays still until TEST_HANG_MS); returns the new value. */
static unsigned wait_tick_moves(unsigned from)
{
    if (!test_wait_for(tick_moved, &from, TEST_HANG_MS))
        fail_msg("the guest's timer tick stayed at %u for %d s", from, TEST_HANG_MS / 1000);
    return tick();
}

/* the BIOS sets the tick counter shortly after reset: wait for it */
static void wait_ticking(void)
{
    (void)wait_tick_moves(tick());
}

static int dstate(void)
{
    int st = -1;
    assert_int_equal(P->domain_get_state(&st, C, DOM), 0);
    return st;
}

static pid_t qpid(void)
{
    pid_t p = 0;
    qp_proc_pid(&tctx, DOM, &p);
    return p;
}

static double last_ms;

/* create: returns 0 or -code; stores the result in the fixture tree */
static int snap(const char *name, const char *extra, unsigned flags)
{
    char *xml = qp_printf("<domainsnapshot><name>%s</name>%s</domainsnapshot>", name,
                          extra ? extra : "");
    char *out = NULL;
    double t0 = qp_now_ms();
    int r = P->snapshot_create(&out, C, DOM, xml, flags);
    last_ms = qp_now_ms() - t0;
    free(xml);
    if (r == 0) {
        assert_non_null(out);
        if (!(flags & SB_SNAPSHOT_CREATE_NO_METADATA))
            fx_tree_add(name, out);
        free(out);
    } else {
        assert_null(out);
        assert_true(fx.last_msg[0] != '\0');
    }
    return r;
}

static int revert(const char *name, unsigned flags)
{
    char *out = NULL;
    double t0 = qp_now_ms();
    int r = P->snapshot_revert(&out, C, DOM, fx_tree_xml(name), flags);
    last_ms = qp_now_ms() - t0;
    if (r == 0) {
        if (out)
            fx_tree_add(name, out);
        for (int i = 0; i < fx.nsnaps; i++)
            if (!strcmp(fx.snaps[i].name, name))
                fx.current = i;
    }
    free(out);
    return r;
}

static int del(const char *name, unsigned flags)
{
    double t0 = qp_now_ms();
    int r = P->snapshot_delete(C, DOM, fx_tree_xml(name), flags);
    last_ms = qp_now_ms() - t0;
    if (r == 0)
        fx_tree_remove(name);
    return r;
}

static size_t chain_len(const char *file, int force)
{
    qp_img_info *c = NULL;
    size_t n = 0;
    if (qp_img_chain(&tctx, file, force, &c, &n) < 0)
        return 0;
    qp_img_chain_free(c, n);
    return n;
}

/* ---- offline --------------------------------------------------------------- */

static void offline_internal(void **state)
{
    (void)state;
    fresh_domain();
    assert_int_equal(snap("s1", NULL, 0), 0);
    print_message("# offline internal create %.1f ms\n", last_ms);
    const char *x = fx_tree_xml("s1");
    assert_int_equal(fx_xml_count(x, "<state>shutoff</state>"), 1);
    assert_int_equal(fx_xml_count(x, "snapshot=\"internal\""), 2);
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_a, "s1", 0), 1);
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_b, "s1", 0), 1);
    /* the image already has a tag named s1: refused (qemu-img would accept) */
    assert_int_equal(snap("s1", NULL, 0), -SB_ERR_OPERATION_FAILED);
    off_write("vda", 0xbb);
    off_write("vdb", 0xbb);
    assert_int_equal(revert("s1", 0), 0);
    print_message("# offline internal revert %.1f ms\n", last_ms);
    assert_true(off_check("vda", 0xaa));
    assert_true(off_check("vdb", 0xaa));
    assert_int_equal(dstate(), SB_DOMAIN_SHUTOFF);
    assert_int_equal(del("s1", 0), 0);
    print_message("# offline internal delete %.1f ms\n", last_ms);
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_a, "s1", 0), 0);
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_b, "s1", 0), 0);
}

static void offline_external(void **state)
{
    (void)state;
    fresh_domain();
    assert_int_equal(snap("e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    print_message("# offline external create %.1f ms\n", last_ms);
    const char *x = fx_tree_xml("e1");
    assert_int_equal(fx_xml_count(x, "<state>shutoff</state>"), 1);
    assert_int_equal(fx_xml_count(x, "type=\"qcow2\""), 2 + 2); /* disks + embedded domain */
    char *src = cur_source("vda");
    assert_string_equal(src, path("vda.e1")); /* default name: base minus suffix + .e1 */
    assert_int_equal(chain_len(src, 0), 2);
    free(src);
    off_write("vda", 0xcc);
    assert_int_equal(revert("e1", 0), 0);
    print_message("# offline external revert %.1f ms\n", last_ms);
    assert_false(qp_file_exists(path("vda.e1"))); /* old overlay: nothing needs it */
    assert_true(off_check("vda", 0xaa));
    src = cur_source("vda");
    assert_true(strcmp(src, path("vda.e1")) != 0);
    assert_int_equal(chain_len(src, 0), 2);
    free(src);
    /* after a revert without children the new overlays replace <disks> */
    assert_int_equal(fx_xml_count(fx_tree_xml("e1"), "revertDisks"), 0);
    off_write("vda", 0xdd);
    /* delete the (current, leaf) external snapshot: merged into the base */
    assert_int_equal(del("e1", 0), 0);
    print_message("# offline external delete (commit) %.1f ms\n", last_ms);
    src = cur_source("vda");
    assert_string_equal(src, disk_a);
    free(src);
    assert_int_equal(chain_len(disk_a, 0), 1);
    assert_true(off_check("vda", 0xdd));
    assert_true(off_check("vdb", 0xaa));
}

/* libvirt issue 734: deleting an external snapshot after reverting to an
 * internal one lost the internal snapshot's image.  Here the revert to i1
 * is first refused, because x1 captured disk_a's active layer (the
 * active-layer guard); once x1 is deleted (merged into disk_a) the revert
 * works and disk_a keeps i1. */
static void issue_734(void **state)
{
    (void)state;
    fresh_domain();
    assert_int_equal(snap("i1", NULL, 0), 0);
    off_write("vda", 0x77); /* what x1 captures */
    assert_int_equal(snap("x1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    off_write("vda", 0x99);
    assert_int_equal(revert("i1", 0), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(fx.last_msg, "'x1'"));
    char *src = cur_source("vda");
    assert_string_equal(src, path("vda.x1")); /* nothing changed */
    free(src);
    assert_true(off_check("vda", 0x99));
    char *out = NULL;
    int st = qp_io(&tctx, disk_a, "qcow2", "read -P 0x77 1M 64k", &out);
    assert_true(st == 0 && out && !strstr(out, "failed")); /* x1's state intact */
    free(out);
    assert_int_equal(del("x1", 0), 0);
    assert_true(qp_file_exists(disk_a));
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_a, "i1", 0), 1);
    assert_int_equal(revert("i1", 0), 0);
    src = cur_source("vda");
    assert_string_equal(src, disk_a);
    free(src);
    assert_true(off_check("vda", 0xaa));
    assert_int_equal(del("i1", 0), 0);
}

/* ---- running ------------------------------------------------------------- */

static void running_internal(void **state)
{
    (void)state;
    fresh_domain();
    assert_int_equal(P->domain_start(C, DOM, 0), 0);
    assert_int_equal(dstate(), SB_DOMAIN_RUNNING);
    on_write("vda", 0x11);
    assert_int_equal(snap("r1", NULL, 0), 0);
    print_message("# running internal create %.1f ms\n", last_ms);
    assert_int_equal(fx_xml_count(fx_tree_xml("r1"), "<state>running</state>"), 1);
    assert_int_equal(fx_xml_count(fx_tree_xml("r1"), "<memory snapshot=\"internal\""), 1);
    on_write("vda", 0x22);
    pid_t before = qpid();
    assert_int_equal(revert("r1", 0), 0);
    print_message("# running internal revert (in place) %.1f ms\n", last_ms);
    assert_int_equal(qpid(), before); /* no QEMU restart */
    assert_true(on_check("vda", 0x11));
    assert_int_equal(dstate(), SB_DOMAIN_RUNNING);
    /* memory: the BIOS tick counter comes back to its snapshot-time value */
    wait_ticking();
    assert_int_equal(P->domain_suspend(C, DOM, 0), 0);
    unsigned t1 = tick();
    assert_int_equal(snap("r2", NULL, 0), 0);
    assert_int_equal(fx_xml_count(fx_tree_xml("r2"), "<state>paused</state>"), 1);
    assert_int_equal(P->domain_resume(C, DOM, 0), 0);
    unsigned t2 = wait_tick_moves(t1);
    print_message("# ticks %u -> %u\n", t1, t2);
    assert_int_equal(revert("r2", 0), 0);
    assert_int_equal(dstate(), SB_DOMAIN_PAUSED); /* the snapshot was paused */
    assert_int_equal(tick(), t1);
    assert_int_equal(revert("r1", SB_SNAPSHOT_REVERT_PAUSED), 0);
    assert_int_equal(dstate(), SB_DOMAIN_PAUSED);
    assert_int_equal(revert("r2", SB_SNAPSHOT_REVERT_RUNNING), 0);
    assert_int_equal(dstate(), SB_DOMAIN_RUNNING);
    assert_int_equal(del("r2", 0), 0);
    print_message("# running internal delete %.1f ms\n", last_ms);
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_a, "r2", 1), 0);
    /* revert a running domain to an internal snapshot after destroy: restart */
    assert_int_equal(P->domain_destroy(C, DOM, 0), 0);
    assert_int_equal(revert("r1", 0), 0);
    assert_int_equal(dstate(), SB_DOMAIN_RUNNING);
    assert_true(on_check("vda", 0x11));
    /* HALT */
    assert_int_equal(snap("r3", NULL, SB_SNAPSHOT_CREATE_HALT), 0);
    assert_int_equal(dstate(), SB_DOMAIN_SHUTOFF);
}

static void running_external(void **state)
{
    (void)state;
    fresh_domain();
    assert_int_equal(P->domain_start(C, DOM, 0), 0);
    on_write("vda", 0x33);
    assert_int_equal(snap("d1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_ATOMIC), 0);
    print_message("# running disk-only external create %.1f ms\n", last_ms);
    assert_int_equal(fx_xml_count(fx_tree_xml("d1"), "<state>disk-snapshot</state>"), 1);
    char *src = cur_source("vda");
    assert_string_equal(src, path("vda.d1"));
    assert_int_equal(chain_len(src, 1), 2);
    free(src);
    on_write("vda", 0x44);
    assert_int_equal(snap("d2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(chain_len(path("vda.d2"), 1), 3);
    on_write("vda", 0x55);
    /* delete the non-leaf d1: block-commit of the middle image */
    assert_int_equal(del("d1", 0), 0);
    print_message("# running external delete (intermediate commit) %.1f ms\n", last_ms);
    assert_false(qp_file_exists(path("vda.d1")));
    assert_int_equal(chain_len(path("vda.d2"), 1), 2);
    assert_true(on_check("vda", 0x55));
    assert_int_equal(dstate(), SB_DOMAIN_RUNNING);
    /* d2's stored domain now names the base */
    assert_int_equal(fx_xml_count(fx_tree_xml("d2"), path("vda.d1")), 0);
    /* full external: memory to a file, guest paused meanwhile */
    wait_ticking();
    assert_int_equal(P->domain_suspend(C, DOM, 0), 0);
    unsigned t1 = tick();
    char *mem = qp_printf("<memory snapshot='external' file='%s'/>", path("m1.mem"));
    assert_int_equal(snap("m1", mem, 0), 0);
    free(mem);
    print_message("# full external (memory + disks) create %.1f ms\n", last_ms);
    assert_true(qp_file_size(path("m1.mem")) > 0);
    assert_int_equal(dstate(), SB_DOMAIN_PAUSED);
    assert_int_equal(P->domain_resume(C, DOM, 0), 0);
    on_write("vda", 0x66);
    print_message("# ticks %u -> %u\n", t1, wait_tick_moves(t1));
    assert_int_equal(revert("m1", 0), 0);
    print_message("# revert to full external %.1f ms\n", last_ms);
    assert_int_equal(dstate(), SB_DOMAIN_PAUSED);
    assert_int_equal(tick(), t1);
    assert_true(on_check("vda", 0x55));
    /* revert to the disk-only d2: the guest ends shut off with d2's disks */
    assert_int_equal(revert("d2", 0), 0);
    assert_int_equal(dstate(), SB_DOMAIN_SHUTOFF);
    assert_true(off_check("vda", 0x44));
    /* delete everything: no image is left behind that the domain doesn't use */
    assert_int_equal(del("m1", 0), 0);
    assert_false(qp_file_exists(path("m1.mem")));
    assert_int_equal(del("d2", 0), 0);
    assert_true(off_check("vda", 0x44));
}

/* ---- the combination table ------------------------------------------------ */

static void combination_table(void **state)
{
    (void)state;
    fresh_domain();
    struct row {
        int active;
        unsigned flags;
        const char *xml;
        int code; /* 0 = success */
        int state_after;
    } rows[] = {
        {1, 0, "<memory snapshot='no'/>", SB_ERR_OPERATION_UNSUPPORTED, 0},
        {1, SB_SNAPSHOT_CREATE_DISK_ONLY, "<memory snapshot='internal'/>", SB_ERR_XML_ERROR, 0},
        {1, SB_SNAPSHOT_CREATE_DISK_ONLY, "<memory snapshot='external' file='/tmp/x.mem'/>",
         SB_ERR_XML_ERROR, 0},
        {0, 0, "<memory snapshot='internal'/>", SB_ERR_XML_ERROR, 0},
        {0, 0, "<memory snapshot='external' file='/tmp/x.mem'/>", SB_ERR_XML_ERROR, 0},
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY, "<memory snapshot='internal'/>", SB_ERR_XML_ERROR, 0},
        {1, SB_SNAPSHOT_CREATE_QUIESCE, "", SB_ERR_INVALID_ARG, 0},
        {1, SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE, "",
         SB_ERR_OPERATION_UNSUPPORTED, 0},
        {0, SB_SNAPSHOT_CREATE_LIVE, "", SB_ERR_OPERATION_UNSUPPORTED, 0},
        {1, SB_SNAPSHOT_CREATE_LIVE, "", SB_ERR_OPERATION_UNSUPPORTED, 0},
        {1, 0, "<disks><disk name='vda' snapshot='external'/></disks>", SB_ERR_CONFIG_UNSUPPORTED, 0},
        {0, 0, "<disks><disk name='vda' snapshot='no'/></disks>", SB_ERR_CONFIG_UNSUPPORTED, 0},
        {0, 0, "<disks><disk name='vdz'/></disks>", SB_ERR_CONFIG_UNSUPPORTED, 0},
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY,
         "<disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='external'/></disks>",
         SB_ERR_CONFIG_UNSUPPORTED, 0},
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY,
         "<disks><disk name='vda' snapshot='no'/><disk name='vdb' snapshot='no'/></disks>",
         SB_ERR_CONFIG_UNSUPPORTED, 0},
        {1, SB_SNAPSHOT_CREATE_DISK_ONLY,
         "<disks><disk name='vda' snapshot='no'/><disk name='vdb' snapshot='no'/></disks>",
         SB_ERR_CONFIG_UNSUPPORTED, 0},
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_REUSE_EXT, "",
         SB_ERR_SYSTEM_ERROR, 0},
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY,
         "<disks><disk name='vda'><driver type='raw'/></disk></disks>", SB_ERR_CONFIG_UNSUPPORTED, 0},
        /* successes */
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY,
         "<disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/></disks>",
         0, SB_STATE_SHUTOFF}, /* spec 9.10: offline internal */
        {0, 0, "", 0, SB_STATE_SHUTOFF},
        {1, 0, "<memory snapshot='internal'/>", 0, SB_STATE_RUNNING},
        {1, SB_SNAPSHOT_CREATE_DISK_ONLY, "<memory snapshot='no'/>", 0, SB_STATE_DISK_SNAPSHOT},
        {1, SB_SNAPSHOT_CREATE_DISK_ONLY,
         "<disks><disk name='vda' snapshot='external'/><disk name='vdb' snapshot='manual'/></disks>",
         0, SB_STATE_DISK_SNAPSHOT},
        {0, SB_SNAPSHOT_CREATE_DISK_ONLY, "", 0, SB_STATE_SHUTOFF},
    };
    static const char *const st_names[] = {"nostate", "running", "blocked", "paused", "shutdown",
                                           "shutoff", "crashed", "pmsuspended", "disk-snapshot"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct row *rw = &rows[i];
        int st = dstate();
        if (rw->active && st == SB_DOMAIN_SHUTOFF)
            assert_int_equal(P->domain_start(C, DOM, 0), 0);
        if (!rw->active && st != SB_DOMAIN_SHUTOFF)
            assert_int_equal(P->domain_destroy(C, DOM, 0), 0);
        char name[32];
        snprintf(name, sizeof name, "row%zu", i);
        char *before = cur_xml();
        fx.last_msg[0] = '\0';
        int r = snap(name, rw->xml, rw->flags);
        print_message("# row %zu: %s -> %d %s\n", i, rw->xml, r, r ? fx.last_msg : "");
        assert_int_equal(r, -rw->code);
        if (rw->code) {
            char *after = cur_xml();
            assert_string_equal(before, after); /* nothing touched */
            free(after);
            assert_false(qp_file_exists(path("vda.row%zu")));
        } else {
            char want[64];
            snprintf(want, sizeof want, "<state>%s</state>", st_names[rw->state_after]);
            assert_int_equal(fx_xml_count(fx_tree_xml(name), want), 1);
        }
        free(before);
        if (!rw->code && rw->xml && strstr(rw->xml, "manual")) {
            assert_int_equal(dstate(), SB_DOMAIN_PAUSED); /* manual: left paused */
            assert_int_equal(P->domain_resume(C, DOM, 0), 0);
        }
    }
    if (dstate() != SB_DOMAIN_SHUTOFF)
        assert_int_equal(P->domain_destroy(C, DOM, 0), 0);
}

/* ---- faults ---------------------------------------------------------------- */

static void faults(void **state)
{
    (void)state;
    fresh_domain();
    /* overlay target already present (and not empty) */
    FILE *f = fopen(path("taken.qcow2"), "w");
    fputs("data", f);
    fclose(f);
    char *xml = qp_printf("<disks><disk name='vda'><source file='%s'/></disk>"
                          "<disk name='vdb' snapshot='no'/></disks>", path("taken.qcow2"));
    assert_int_equal(snap("t1", xml, SB_SNAPSHOT_CREATE_DISK_ONLY), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(fx.last_msg, "taken.qcow2"));
    free(xml);
    assert_int_equal(qp_file_size(path("taken.qcow2")), 4);
    /* QEMU killed: state shut off, stale files cleaned, offline ops work */
    assert_int_equal(P->domain_start(C, DOM, 0), 0);
    pid_t p = qpid();
    kill(p, SIGKILL);
    assert_int_equal(qp_proc_wait_gone(p, TEST_HANG_MS), 0);
    assert_int_equal(dstate(), SB_DOMAIN_SHUTOFF);
    int rk1 = snap("k1", NULL, 0);
    if (rk1)
        print_message("# k1: %s\n", fx.last_msg);
    assert_int_equal(rk1, 0);
    assert_int_equal(fx_xml_count(fx_tree_xml("k1"), "<state>shutoff</state>"), 1);
    /* QEMU killed in the middle of an operation: a delete that runs a job */
    assert_int_equal(P->domain_start(C, DOM, 0), 0);
    assert_int_equal(snap("k2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    p = qpid();
    pid_t killer = fork();
    if (killer == 0) {
        kill(p, SIGKILL);
        _exit(0);
    }
    int rr = del("k2", 0); /* may win or lose the race; must not corrupt */
    (void)rr;
    assert_int_equal(qp_proc_wait_gone(killer, TEST_HANG_MS), 0);
    assert_int_equal(qp_proc_wait_gone(p, TEST_HANG_MS), 0);
    assert_int_equal(dstate(), SB_DOMAIN_SHUTOFF);
    if (fx_tree_xml("k2"))
        assert_int_equal(del("k2", 0), 0); /* a re-run finishes it */
    assert_true(off_check("vdb", 0xaa));
    /* a disk file missing */
    int rk = revert("k1", 0);
    if (rk)
        print_message("# revert k1: %s\n", fx.last_msg);
    assert_int_equal(rk, 0);
    char *a = cur_source("vda");
    char *moved = qp_printf("%s.moved", a);
    assert_int_equal(rename(a, moved), 0);
    assert_int_equal(P->domain_start(C, DOM, 0), -SB_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(fx.last_msg, a));
    assert_int_equal(snap("k3", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), -SB_ERR_SYSTEM_ERROR);
    assert_int_equal(revert("k1", 0), -SB_ERR_SYSTEM_ERROR);
    assert_int_equal(rename(moved, a), 0);
    free(moved);
    free(a);
    /* no space: a 1 MiB tmpfs is too small for the overlay */
    char *small = path("small");
    mkdir(small, 0755);
    if (mount("tmpfs", small, "tmpfs", 0, "size=256k") == 0) {
        char *fill = qp_printf("%s/fill", small);
        FILE *ff = fopen(fill, "w");
        char blk[4096] = {0};
        while (fwrite(blk, 1, sizeof blk, ff) == sizeof blk && fflush(ff) == 0)
            ;
        fclose(ff);
        char *target = qp_printf("%s/vda.ov", small);
        xml = qp_printf("<disks><disk name='vda'><source file='%s'/></disk>"
                        "<disk name='vdb' snapshot='no'/></disks>", target);
        int r = snap("full", xml, SB_SNAPSHOT_CREATE_DISK_ONLY);
        print_message("# no space: %d %s\n", r, fx.last_msg);
        assert_true(r < 0);
        assert_false(qp_file_exists(target)); /* files made by a failed attempt removed */
        assert_true(off_check("vda", 0xaa));
        free(xml);
        free(target);
        free(fill);
        umount2(small, MNT_DETACH);
    } else {
        print_message("# no-space case skipped: cannot mount tmpfs (%s)\n", strerror(errno));
    }
}

static int group_setup(void **state)
{
    (void)state;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    snprintf(dir, sizeof dir, "/tmp/sbqp.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char sd[300];
    snprintf(sd, sizeof sd, "%s/state", dir);
    fx_reset(sd);
    qp_ctx_init(&tctx, NULL, NULL, sd);
    disk_a = qp_strdup(path("vda.qcow2"));
    disk_b = qp_strdup(path("vdb.qcow2"));
    static const unsigned char code[] = {0x31, 0xc0, 0x8e, 0xd8, 0xfb, 0xf4, 0x66,
                                         0xff, 0x06, 0x00, 0x7e, 0xeb, 0xf7};
    unsigned char sector[512] = {0};
    memcpy(sector, code, sizeof code);
    sector[510] = 0x55;
    sector[511] = 0xaa;
    FILE *mf = fopen(path("mbr.bin"), "wb");
    if (!mf || fwrite(sector, 1, sizeof sector, mf) != sizeof sector)
        return -1;
    fclose(mf);
    const char *so = getenv("SB_QEMU_PLUGIN");
    void *h = so ? dlopen(so, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!h) {
        fprintf(stderr, "cannot load plugin: %s\n", so ? dlerror() : "SB_QEMU_PLUGIN unset");
        return -1;
    }
    sb_plugin_entry_fn entry = (sb_plugin_entry_fn)dlsym(h, SB_PLUGIN_ENTRY_SYMBOL);
    if (!entry || entry(&P, &fx_api, SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR) != 0)
        return -1;
    if (strcmp(P->name, "qemu") || P->caps->meta_owner != SB_META_BROKER)
        return -1;
    return P->open(&C, (sb_host *)&fx, "qemu:///session");
}

static int group_teardown(void **state)
{
    (void)state;
    int st;
    if (P->domain_get_state(&st, C, DOM) == 0 && st != SB_DOMAIN_SHUTOFF)
        P->domain_destroy(C, DOM, 0);
    P->close(C);
    char *argv[] = {(char *)"rm", (char *)"-rf", dir, NULL};
    qp_run(&tctx, argv, NULL, NULL);
    qp_ctx_fini(&tctx);
    free(disk_a);
    free(disk_b);
    return 0;
}

/* snapshot_exists, as the broker's reconciler asks it: whole snapshots
 * only; leftover tags of a half-made internal snapshot are removed; an
 * external snapshot the tree does not hold yet counts only once the
 * domain is on its overlays. */
static void exists_answers(void **state)
{
    (void)state;
    fresh_domain();
    assert_int_equal(snap("p1", NULL, 0), 0);
    char *xml = qp_strdup(fx_tree_xml("p1"));
    fx_tree_remove("p1"); /* as if the create was never recorded */
    assert_int_equal(P->snapshot_exists(C, DOM, xml), 1);
    assert_int_equal(qp_img_snapshot_delete(&tctx, disk_b, "p1"), 0); /* killed between disks */
    assert_int_equal(P->snapshot_exists(C, DOM, xml), 0);
    assert_int_equal(qp_img_has_snapshot(&tctx, disk_a, "p1", 0), 0); /* leftover removed */
    assert_int_equal(snap("p1", NULL, 0), 0); /* the name is usable again */
    free(xml);

    assert_int_equal(snap("e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    xml = qp_strdup(fx_tree_xml("e1"));
    fx_tree_remove("e1");
    assert_int_equal(P->snapshot_exists(C, DOM, xml), 1);
    /* killed after the overlays were made, before the definition moved */
    char *def = cur_xml();
    char *back = qp_domain_xml_set_disk(def, "vda", disk_a, "qcow2");
    char *back2 = qp_domain_xml_set_disk(back, "vdb", disk_b, "qcow2");
    assert_int_equal(qp_domain_store(&tctx, DOM, back2), 0);
    assert_int_equal(P->snapshot_exists(C, DOM, xml), 0);
    assert_true(qp_file_exists(path("vda.e1"))); /* left alone (could be REUSE_EXT) */
    /* an overlay on another image is not the snapshot's */
    assert_int_equal(qp_domain_store(&tctx, DOM, def), 0);
    assert_int_equal(P->snapshot_exists(C, DOM, xml), 1);
    unlink(path("vda.e1"));
    assert_int_equal(qp_img_create_overlay(&tctx, path("vda.e1"), disk_b, "qcow2"), 0);
    assert_int_equal(P->snapshot_exists(C, DOM, xml), 0);
    free(def);
    free(back);
    free(back2);
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offline_internal),
        cmocka_unit_test(offline_external),
        cmocka_unit_test(issue_734),
        cmocka_unit_test(running_internal),
        cmocka_unit_test(running_external),
        cmocka_unit_test(combination_table),
        cmocka_unit_test(faults),
        cmocka_unit_test(exists_answers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
