/* tests/qemu - external snapshots end to end (public API): LIVE memory
 * snapshots, REUSE_EXT with pre-created overlays, and the NO_METADATA
 * limitation (its overlays are not in the tree, yet no later revert or
 * delete may remove or change an image they, the running domain or a
 * tree snapshot need).  Data checked with qemu-io (e2e.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static void assert_source(const char *dom, const char *target, const char *want)
{
    char *src = e2e_source(dom, target);
    assert_string_equal(src, want);
    free(src);
}

/* LIVE: the guest keeps running while its memory streams to the file;
 * the saved RAM is from the end of the stream, between the ticks read
 * just before and just after the create. */
static void live_external_memory(void **state)
{
    (void)state;
    e2e_define("lv");
    assert_int_equal(sb_domain_start(E.c, "lv", 0), 0);
    e2e_on_write("lv", "vda", 0xf1);
    e2e_wait_ticking("lv");
    unsigned ta = e2e_tick("lv");
    char *mem = qp_printf("<memory snapshot='external' file='%s'/>", e2e_path("lv.mem"));
    assert_int_equal(e2e_snap("lv", "l1", mem, SB_SNAPSHOT_CREATE_LIVE), 0);
    print_message("# live external (memory + 2 disks) create %.1f ms\n", E.last_ms);
    free(mem);
    unsigned tb = e2e_tick("lv");
    assert_int_equal(e2e_state("lv"), SB_DOMAIN_RUNNING);
    assert_true(qp_file_size(e2e_path("lv.mem")) > 0);
    assert_source("lv", "vda", e2e_path("lv-vda.l1"));
    e2e_on_write("lv", "vda", 0xf2);
    assert_true(e2e_wait_tick_moves("lv", tb) > tb);
    assert_int_equal(e2e_revert("lv", "l1", SB_SNAPSHOT_REVERT_PAUSED), 0);
    assert_int_equal(e2e_state("lv"), SB_DOMAIN_PAUSED);
    unsigned tr = e2e_tick("lv");
    print_message("# ticks before %u, restored %u, after %u\n", ta, tr, tb);
    assert_true(ta <= tr && tr <= tb);
    assert_true(e2e_on_check("lv", "vda", 0xf1));
    assert_int_equal(e2e_del("lv", "l1", 0), 0);
    assert_false(qp_file_exists(e2e_path("lv.mem")));
    assert_true(e2e_on_check("lv", "vda", 0xf1));
    e2e_stop("lv");
}

static char *reuse_xml(const char *overlay)
{
    return qp_printf("<disks><disk name='vda' snapshot='external'><source file='%s'/></disk>"
                     "<disk name='vdb' snapshot='no'/></disks>", overlay);
}

static void precreate(const char *overlay, const char *base)
{
    assert_int_equal(qp_img_create_overlay(&E.t, overlay, base, "qcow2"), 0);
}

static void reuse_ext_offline(void **state)
{
    (void)state;
    e2e_define("ro");
    const char *base = e2e_path("ro-vda.qcow2"), *pre = e2e_path("ro-pre.qcow2");
    precreate(pre, base);
    char *x = reuse_xml(pre);
    assert_int_equal(e2e_snap("ro", "r1", x,
                              SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_REUSE_EXT), 0);
    free(x);
    assert_source("ro", "vda", pre);
    assert_source("ro", "vdb", e2e_path("ro-vdb.qcow2")); /* snapshot='no' */
    e2e_off_write("ro", "vda", 0x15);
    assert_true(e2e_img_check(pre, 0x15));
    assert_true(e2e_img_check(base, 0xaa));
    assert_int_equal(e2e_revert("ro", "r1", 0), 0);
    assert_true(e2e_off_check("ro", "vda", 0xaa));
    e2e_off_write("ro", "vda", 0x16);
    assert_int_equal(e2e_del("ro", "r1", 0), 0);
    assert_source("ro", "vda", base);
    assert_true(e2e_off_check("ro", "vda", 0x16));
}

static void reuse_ext_running(void **state)
{
    (void)state;
    e2e_define("rr");
    const char *base = e2e_path("rr-vda.qcow2"), *pre = e2e_path("rr-pre.qcow2");
    precreate(pre, base);
    assert_int_equal(sb_domain_start(E.c, "rr", 0), 0);
    char *x = reuse_xml(pre);
    assert_int_equal(e2e_snap("rr", "r1", x,
                              SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_REUSE_EXT), 0);
    free(x);
    print_message("# running REUSE_EXT create %.1f ms\n", E.last_ms);
    assert_source("rr", "vda", pre);
    e2e_on_write("rr", "vda", 0x17);
    assert_true(e2e_on_check("rr", "vda", 0x17)); /* QEMU writes into the reused file */
    assert_true(e2e_img_check(base, 0xaa));
    assert_int_equal(e2e_del("rr", "r1", 0), 0); /* active commit into the base */
    assert_source("rr", "vda", base);
    assert_true(e2e_on_check("rr", "vda", 0x17));
    e2e_stop("rr");
}

/* Shut off: t1's overlay O1, then a NO_METADATA overlay O2 on O1. */
static void no_metadata_offline(void **state)
{
    (void)state;
    e2e_define("nk");
    const char *base = e2e_path("nk-vda.qcow2"), *o1 = e2e_path("nk-vda.t1"),
               *o2 = e2e_path("nk-vda.n2");
    assert_int_equal(e2e_snap("nk", "t1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("nk", "vda", 0x17);
    assert_int_equal(e2e_snap("nk", "n2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY |
                                                 SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    assert_false(e2e_in_tree("nk", "n2"));
    assert_source("nk", "vda", o2);
    e2e_off_write("nk", "vda", 0x18);
    /* revert to t1: O1 is t1's own overlay and the tree no longer needs
     * it, but O2 sits on it - both stay */
    assert_int_equal(e2e_revert("nk", "t1", 0), 0);
    assert_true(e2e_off_check("nk", "vda", 0xaa));
    assert_true(qp_file_exists(o1));
    assert_true(qp_file_exists(o2));
    assert_int_equal(e2e_chain_len(o2), 3);
    assert_true(e2e_img_check(o2, 0x18));
    /* deleting t1 would merge the revert overlay into the base under O1 */
    int r = e2e_del("nk", "t1", 0);
    print_message("# refused: %s\n", e2e_err());
    assert_int_equal(r, -SB_ERR_OPERATION_UNSUPPORTED);
    assert_non_null(strstr(e2e_err(), o1));
    assert_true(e2e_img_check(base, 0xaa));
    assert_true(e2e_img_check(o1, 0x17));
    assert_true(e2e_img_check(o2, 0x18));
    assert_int_equal(e2e_del("nk", "t1", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_true(e2e_img_check(o2, 0x18));
}

/* Running: NO_METADATA overlays below and above tree overlays; merges
 * keep every image the running domain uses, and its data. */
static void no_metadata_running(void **state)
{
    (void)state;
    e2e_define("nr");
    const char *base = e2e_path("nr-vda.qcow2"), *n1 = e2e_path("nr-vda.n1"),
               *n3 = e2e_path("nr-vda.n3");
    assert_int_equal(sb_domain_start(E.c, "nr", 0), 0);
    e2e_on_write("nr", "vda", 0x19);
    assert_int_equal(e2e_snap("nr", "n1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY |
                                                 SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    assert_int_equal(e2e_snap("nr", "t1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_on_write("nr", "vda", 0x1a);
    assert_int_equal(e2e_del("nr", "t1", 0), 0); /* active commit into n1's overlay */
    assert_source("nr", "vda", n1);
    assert_true(qp_file_exists(base));
    assert_true(e2e_on_check("nr", "vda", 0x1a));
    assert_true(e2e_img_check(base, 0x19));

    assert_int_equal(e2e_snap("nr", "t2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_on_write("nr", "vda", 0x1b);
    assert_int_equal(e2e_snap("nr", "n3", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY |
                                                 SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    e2e_on_write("nr", "vda", 0x1c);
    assert_int_equal(e2e_del("nr", "t2", 0), 0); /* intermediate commit under n3 */
    assert_source("nr", "vda", n3);
    assert_int_equal(e2e_chain_len(n3), 3); /* n3 -> n1 -> base */
    assert_false(qp_file_exists(e2e_path("nr-vda.t2")));
    assert_true(e2e_on_check("nr", "vda", 0x1c));
    assert_true(e2e_img_check(n1, 0x1b));
    e2e_stop("nr");
    assert_true(e2e_off_check("nr", "vda", 0x1c));
}

/* A running delete merges with a block-commit job, and QEMU moves the
 * image above the overlay in its chain onto the base itself.  Here the
 * overlay has a second image on it that QEMU does not have open: s3's,
 * captured by s4 (s1 <- s2 <- s3 <- s4, a revert to s3, then the domain
 * started).  Deleting s2 must move that one too, or s4 reads through a
 * removed file. */
static void running_delete_moves_images_qemu_does_not_use(void **state)
{
    (void)state;
    e2e_define("rb");
    static const char *const names[] = {"s1", "s2", "s3", "s4"};
    for (int i = 0; i < 4; i++) {
        e2e_off_write("rb", "vda", 0x61 + i);
        assert_int_equal(e2e_snap("rb", names[i], NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    }
    assert_int_equal(e2e_revert("rb", "s3", 0), 0);
    e2e_off_write("rb", "vda", 0x66);
    assert_int_equal(sb_domain_start(E.c, "rb", 0), 0);
    int r = e2e_del("rb", "s2", 0);
    if (r < 0)
        print_message("# delete s2: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_true(e2e_on_check("rb", "vda", 0x66));
    e2e_stop("rb");
    assert_int_equal(e2e_orphans("rb"), 0);
    static const char *const back[] = {"s4", "s3", "s1"};
    static const int data[] = {0x64, 0x63, 0x61};
    for (int i = 0; i < 3; i++) {
        r = e2e_revert("rb", back[i], 0);
        if (r < 0)
            print_message("# revert %s: %s\n", back[i], e2e_err());
        assert_int_equal(r, 0);
        assert_true(e2e_off_check("rb", "vda", data[i]));
    }
}

/* A revert to a snapshot that did not capture a disk ('no') leaves that
 * disk on what the domain runs it on now.  It used to go back onto the
 * image it ran on when the snapshot was taken, which a later snapshot had
 * captured since (s2 here): writes after the revert changed s2's state. */
static void revert_keeps_disk_the_snapshot_left_out(void **state)
{
    (void)state;
    e2e_define("nd");
    e2e_off_write("nd", "vdb", 0x31);
    assert_int_equal(e2e_snap("nd", "s1", "<disks><disk name='vda' snapshot='external'/>"
                                          "<disk name='vdb' snapshot='no'/></disks>",
                              SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(e2e_snap("nd", "s2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("nd", "vdb", 0x32);
    char *before = e2e_source("nd", "vdb");
    assert_int_equal(e2e_revert("nd", "s1", 0), 0);
    assert_source("nd", "vdb", before); /* not reverted: as it was */
    free(before);
    assert_true(e2e_off_check("nd", "vdb", 0x32));
    e2e_off_write("nd", "vdb", 0x33);
    assert_true(e2e_img_check(e2e_path("nd-vdb.qcow2"), 0x31)); /* s2's captured image */
    assert_int_equal(e2e_revert("nd", "s2", 0), 0);
    assert_true(e2e_off_check("nd", "vdb", 0x31));
}

/* REUSE_EXT hands over an existing memory state file to overwrite: never
 * one a disk or another snapshot needs.  It used to take the running
 * disk's backing image (truncated, filled with RAM: the disk and s1's
 * state destroyed) and another snapshot's memory file (overwritten, then
 * removed by the new snapshot's delete). */
static void reused_memory_file_must_be_free(void **state)
{
    (void)state;
    e2e_define("rk");
    const char *base = e2e_path("rk-vdb.qcow2"), *m = e2e_path("rk.mem");
    assert_int_equal(sb_domain_start(E.c, "rk", 0), 0);
    e2e_wait_ticking("rk");
    char *x = qp_printf("<memory snapshot='external' file='%s'/>", m);
    assert_int_equal(e2e_snap("rk", "s1", x, 0), 0); /* full: disks on overlays now */
    free(x);
    static const char *const no_disks = "<disks><disk name='vda' snapshot='no'/>"
                                        "<disk name='vdb' snapshot='no'/></disks>";
    char *y = qp_printf("<memory snapshot='external' file='%s'/>%s", base, no_disks);
    assert_int_equal(e2e_snap("rk", "s2", y, SB_SNAPSHOT_CREATE_REUSE_EXT),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    print_message("# refused: %s\n", e2e_err());
    assert_non_null(strstr(e2e_err(), "disk image"));
    free(y);
    assert_true(e2e_img_check(base, 0xaa));
    long long size = qp_file_size(m);
    y = qp_printf("<memory snapshot='external' file='%s'/>%s", m, no_disks);
    assert_int_equal(e2e_snap("rk", "s3", y, SB_SNAPSHOT_CREATE_REUSE_EXT),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    print_message("# refused: %s\n", e2e_err());
    assert_non_null(strstr(e2e_err(), "memory state of snapshot 's1'"));
    free(y);
    assert_true(qp_file_size(m) == size);
    e2e_stop("rk");
    assert_int_equal(e2e_revert("rk", "s1", 0), 0);
    e2e_stop("rk");
}

/* A memory file two snapshots name (a redefined memory-only copy of s1,
 * its disks 'no') stays when one of them is deleted: the other's revert
 * needs it. */
static void shared_memory_file_kept_by_delete(void **state)
{
    (void)state;
    e2e_define("sm");
    const char *m = e2e_path("sm.mem");
    assert_int_equal(sb_domain_start(E.c, "sm", 0), 0);
    e2e_wait_ticking("sm");
    char *x = qp_printf("<memory snapshot='external' file='%s'/>", m);
    assert_int_equal(e2e_snap("sm", "s1", x, 0), 0);
    free(x);
    e2e_stop("sm");
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, "sm", "s1", SB_SNAPSHOT_XML_SECURE), 0);
    const char *name = strstr(xml, "<name>s1</name>"), *d0 = strstr(xml, "<disks>"),
               *d1 = strstr(xml, "</disks>");
    assert_true(name && d0 && d1 && name < d0);
    char *copy = qp_printf("%.*s<name>s1b</name>%.*s<disks><disk name='vda' snapshot='no'/>"
                           "<disk name='vdb' snapshot='no'/></disks>%s",
                           (int)(name - xml), xml, (int)(d0 - name - 15), name + 15, d1 + 8);
    int r = sb_snapshot_create_xml(NULL, E.c, "sm", copy, SB_SNAPSHOT_CREATE_REDEFINE);
    if (r < 0)
        print_message("# redefine s1b: %s\n", e2e_err());
    assert_int_equal(r, 0);
    free(copy);
    free(xml);
    assert_int_equal(e2e_del("sm", "s1b", 0), 0);
    assert_true(qp_file_exists(m)); /* s1 names it */
    assert_int_equal(e2e_revert("sm", "s1", 0), 0);
    e2e_stop("sm");
    assert_int_equal(e2e_del("sm", "s1", 0), 0);
    assert_false(qp_file_exists(m)); /* the last one: the plugin's file goes */
}

/* Two disks whose images differ in their suffix alone (a.vda, a.vdb) got
 * the same revert overlay name, and the revert failed every time
 * ("appeared while reverting"). */
static void revert_overlay_names_per_disk(void **state)
{
    (void)state;
    e2e_define("cl");
    char *x = qp_printf("<disks><disk name='vda' snapshot='external'><source file='%s'/></disk>"
                        "<disk name='vdb' snapshot='external'><source file='%s'/></disk></disks>",
                        e2e_path("cl-s1.vda"), e2e_path("cl-s1.vdb"));
    assert_int_equal(e2e_snap("cl", "s1", x, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("cl", "vda", 0x71);
    char *y = qp_printf("<disks><disk name='vda' snapshot='external'><source file='%s'/></disk>"
                        "<disk name='vdb' snapshot='external'><source file='%s'/></disk></disks>",
                        e2e_path("cl-s2.vda"), e2e_path("cl-s2.vdb"));
    assert_int_equal(e2e_snap("cl", "s2", y, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("cl", "vda", 0x72);
    int r = e2e_revert("cl", "s2", 0);
    if (r < 0)
        print_message("# revert s2: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_true(e2e_off_check("cl", "vda", 0x71));
    char *a = e2e_source("cl", "vda"), *b = e2e_source("cl", "vdb");
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_external_memory),
        cmocka_unit_test(reuse_ext_offline),
        cmocka_unit_test(reuse_ext_running),
        cmocka_unit_test(no_metadata_offline),
        cmocka_unit_test(no_metadata_running),
        cmocka_unit_test(running_delete_moves_images_qemu_does_not_use),
        cmocka_unit_test(revert_keeps_disk_the_snapshot_left_out),
        cmocka_unit_test(reused_memory_file_must_be_free),
        cmocka_unit_test(shared_memory_file_kept_by_delete),
        cmocka_unit_test(revert_overlay_names_per_disk),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
