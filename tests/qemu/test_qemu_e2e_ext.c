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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_external_memory),
        cmocka_unit_test(reuse_ext_offline),
        cmocka_unit_test(reuse_ext_running),
        cmocka_unit_test(no_metadata_offline),
        cmocka_unit_test(no_metadata_running),
        cmocka_unit_test(running_delete_moves_images_qemu_does_not_use),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
