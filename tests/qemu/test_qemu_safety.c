/* tests/qemu - the active-layer guard, end to end (public API).
 *
 * Applying an internal snapshot rewrites its image in place.  When that
 * image is the captured state of an external snapshot, or sits below an
 * image another snapshot uses, the revert must be refused before anything
 * changes (OPERATION_INVALID naming the image and the snapshots); when no
 * snapshot reads through it, it goes ahead.  Deleting an internal
 * snapshot never changes what overlays read.  Every case proves the data
 * with qemu-io. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static void assert_refused(const char *dom, const char *snap, const char *image,
                           const char *needing)
{
    int r = e2e_revert(dom, snap, 0);
    print_message("# refused: %s\n", e2e_err());
    assert_int_equal(r, -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(e2e_err(), image));
    assert_non_null(strstr(e2e_err(), needing));
}

static char *current(const char *dom)
{
    char *cur = NULL;
    assert_int_equal(sb_snapshot_current(&cur, E.c, dom), 0);
    return cur;
}

/* The reported bug: internal "offline", pattern A, disk-only "disks"
 * (overlay on the base), revert to "offline" rewrote the base under the
 * overlay, so "disks" came back with the older data. */
static void offline_revert_under_overlay(void **state)
{
    (void)state;
    e2e_define("ob");
    const char *base = e2e_path("ob-vda.qcow2"), *ov = e2e_path("ob-vda.disks");
    assert_int_equal(e2e_snap("ob", "offline", NULL, 0), 0);
    e2e_off_write("ob", "vda", 0x81); /* pattern A */
    assert_int_equal(sb_domain_start(E.c, "ob", 0), 0);
    assert_int_equal(e2e_snap("ob", "disks", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_on_write("ob", "vda", 0x82);
    assert_int_equal(sb_domain_destroy(E.c, "ob"), 0);

    assert_refused("ob", "offline", base, "'disks'");
    /* nothing moved: definition, files, tags, current, data */
    char *src = e2e_source("ob", "vda");
    assert_string_equal(src, ov);
    free(src);
    assert_true(e2e_has_tag(base, "offline"));
    assert_true(e2e_img_check(base, 0x81));
    assert_true(e2e_off_check("ob", "vda", 0x82));
    char *cur = current("ob");
    assert_string_equal(cur, "disks");
    free(cur);

    /* "disks" still holds A */
    assert_int_equal(e2e_revert("ob", "disks", 0), 0);
    assert_true(e2e_off_check("ob", "vda", 0x81));
    /* the safe order: delete "disks" (merged back), then revert */
    assert_int_equal(e2e_del("ob", "disks", 0), 0);
    assert_int_equal(e2e_revert("ob", "offline", 0), 0);
    src = e2e_source("ob", "vda");
    assert_string_equal(src, base);
    free(src);
    assert_true(e2e_off_check("ob", "vda", 0xaa));
}

/* Running: an internal full-system snapshot sits in what is now a backing
 * node; reverting to it would restart QEMU on the base and load it there. */
static void running_revert_in_backing_node(void **state)
{
    (void)state;
    e2e_define("rb");
    const char *base = e2e_path("rb-vda.qcow2");
    assert_int_equal(sb_domain_start(E.c, "rb", 0), 0);
    e2e_on_write("rb", "vda", 0x91);
    assert_int_equal(e2e_snap("rb", "full", NULL, 0), 0);
    e2e_on_write("rb", "vda", 0x92);
    assert_int_equal(e2e_snap("rb", "disks", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_on_write("rb", "vda", 0x93);
    pid_t pid = e2e_qemu_pid("rb");

    assert_refused("rb", "full", base, "'disks'");
    assert_int_equal(e2e_qemu_pid("rb"), pid); /* not even restarted */
    assert_int_equal(e2e_state("rb"), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check("rb", "vda", 0x93));
    assert_true(e2e_img_check(base, 0x92)); /* what "disks" captured */

    /* internal delete of "full" while its image is a backing node of the
     * running domain: QEMU holds it read-only, refused as before */
    assert_int_equal(e2e_del("rb", "full", 0), -SB_ERR_OPERATION_UNSUPPORTED);
    assert_true(e2e_has_tag(base, "full"));
    e2e_stop("rb");
}

/* Only transitively dependent: i2 lives in an overlay on the base, and
 * the external snapshot that made the overlay is gone from the tree
 * (METADATA_ONLY).  i2's data still reads through the base. */
static void transitive_dependency(void **state)
{
    (void)state;
    e2e_define("tr");
    const char *base = e2e_path("tr-vda.qcow2"), *ov = e2e_path("tr-vda.e1");
    assert_int_equal(e2e_snap("tr", "i1", NULL, 0), 0);
    e2e_off_write("tr", "vda", 0xa1);
    assert_int_equal(e2e_snap("tr", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(e2e_snap("tr", "i2", NULL, 0), 0); /* in the overlay, reads 0xa1 from base */
    assert_int_equal(e2e_del("tr", "e1", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    e2e_off_write("tr", "vda", 0xa2);

    assert_refused("tr", "i1", base, "'i2'");
    assert_non_null(strstr(e2e_err(), ov)); /* says through which image */
    assert_true(e2e_img_check(base, 0xa1));
    assert_int_equal(e2e_revert("tr", "i2", 0), 0);
    assert_true(e2e_off_check("tr", "vda", 0xa1));
}

/* Safe: the overlay on the base is referenced by no snapshot (only by the
 * current state, which a revert replaces anyway), so the revert runs. */
static void unreferenced_overlay_allowed(void **state)
{
    (void)state;
    e2e_define("ua");
    assert_int_equal(e2e_snap("ua", "i1", NULL, 0), 0);
    e2e_off_write("ua", "vda", 0xb1);
    assert_int_equal(e2e_snap("ua", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("ua", "vda", 0xb2);
    assert_int_equal(e2e_del("ua", "e1", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_int_equal(e2e_revert("ua", "i1", 0), 0);
    char *src = e2e_source("ua", "vda");
    assert_string_equal(src, e2e_path("ua-vda.qcow2"));
    free(src);
    assert_true(e2e_off_check("ua", "vda", 0xaa));
}

/* Deleting an internal snapshot from the base under an overlay leaves the
 * base's active layer, and so the external snapshot's data, unchanged. */
static void internal_delete_under_overlay(void **state)
{
    (void)state;
    e2e_define("id");
    const char *base = e2e_path("id-vda.qcow2");
    assert_int_equal(e2e_snap("id", "i1", NULL, 0), 0);
    e2e_off_write("id", "vda", 0xc1);
    assert_int_equal(e2e_snap("id", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("id", "vda", 0xc2);
    assert_int_equal(e2e_del("id", "i1", 0), 0);
    assert_false(e2e_has_tag(base, "i1"));
    assert_true(e2e_img_check(base, 0xc1));
    assert_true(e2e_off_check("id", "vda", 0xc2));
    assert_int_equal(e2e_revert("id", "e1", 0), 0);
    assert_true(e2e_off_check("id", "vda", 0xc1));
}

/* An external delete checks every disk before it changes any: here
 * vda's merge is allowed and vdb's refused (a hand-made overlay sits on
 * the image vdb's overlay would be merged into).  The refusal leaves vda
 * unmerged and the snapshot unmarked (a mark makes it impossible to
 * revert to); it used to merge vda first, then mark, then refuse. */
static void external_delete_refused_changes_nothing(void **state)
{
    (void)state;
    e2e_define("rf");
    const char *base = e2e_path("rf-vda.qcow2"), *o1 = e2e_path("rf-vda.s1");
    const char *mine = e2e_path("rf-vdb.mine");
    assert_int_equal(e2e_snap("rf", "s1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("rf", "vda", 0xd1);
    assert_int_equal(e2e_snap("rf", "s2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write("rf", "vda", 0xd2);
    char *argv[] = {(char *)"qemu-img", (char *)"create", (char *)"-q", (char *)"-f",
                    (char *)"qcow2", (char *)"-b", (char *)e2e_path("rf-vdb.qcow2"),
                    (char *)"-F", (char *)"qcow2", (char *)mine, NULL};
    assert_int_equal(qp_run(&E.t, argv, NULL, NULL), 0);

    int r = e2e_del("rf", "s1", 0);
    print_message("# refused: %s\n", e2e_err());
    assert_int_equal(r, -SB_ERR_OPERATION_UNSUPPORTED);
    assert_non_null(strstr(e2e_err(), mine));
    /* nothing changed: vda's overlay is still there, the base still holds
     * what s1 captured, s2's overlay still sits on vda's, no mark */
    assert_true(qp_file_exists(o1));
    assert_true(e2e_img_check(base, 0xaa));
    assert_int_equal(e2e_chain_len(e2e_path("rf-vda.s2")), 3);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, "rf", "s1", 0), 0);
    assert_null(strstr(xml, "snapshotDeleteInProgress"));
    free(xml);
    assert_true(e2e_off_check("rf", "vda", 0xd2));

    /* without the other user the delete goes through */
    assert_int_equal(unlink(mine), 0);
    assert_int_equal(e2e_del("rf", "s1", 0), 0);
    assert_false(qp_file_exists(o1));
    assert_int_equal(e2e_revert("rf", "s2", 0), 0);
    assert_true(e2e_off_check("rf", "vda", 0xd1));
}

/* An internal revert rewrites its image in place: an overlay the tree
 * does not know that reads through it (a NO_METADATA snapshot's, one made
 * by hand) would read changed data, so the revert is refused naming it,
 * nothing changed.  It used to go ahead silently, offline and running. */
static void assert_refused_for(const char *dom, const char *overlay, int pattern)
{
    int r = e2e_revert(dom, "i1", 0);
    print_message("# refused: %s\n", e2e_err());
    assert_int_equal(r, -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(e2e_err(), overlay));
    e2e_stop(dom);
    assert_true(e2e_img_check(overlay, pattern));
}

static void internal_revert_under_unknown_overlay(void **state)
{
    (void)state;
    /* a NO_METADATA snapshot's overlay, the domain shut off */
    e2e_define("nq");
    assert_int_equal(e2e_snap("nq", "i1", NULL, 0), 0);
    e2e_off_write("nq", "vda", 0x17);
    assert_int_equal(e2e_snap("nq", "n2", NULL,
                              SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    assert_refused_for("nq", e2e_path("nq-vda.n2"), 0x17);
    /* the same running (the revert's restart path) */
    e2e_define("nw");
    assert_int_equal(sb_domain_start(E.c, "nw", 0), 0);
    assert_int_equal(e2e_snap("nw", "i1", NULL, 0), 0);
    e2e_on_write("nw", "vda", 0x37);
    assert_int_equal(e2e_snap("nw", "n2", NULL,
                              SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    assert_refused_for("nw", e2e_path("nw-vda.n2"), 0x37);
    /* an overlay made by hand, the domain defined onto it */
    e2e_define("hm");
    const char *base = e2e_path("hm-vda.qcow2"), *ov = e2e_path("hm-user.qcow2");
    assert_int_equal(e2e_snap("hm", "i1", NULL, 0), 0);
    e2e_off_write("hm", "vda", 0x27);
    assert_int_equal(qp_img_create_overlay(&E.t, ov, base, "qcow2"), 0);
    char *xml = NULL, *name = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "hm", 0), 0);
    const char *at = strstr(xml, base);
    assert_non_null(at);
    char *nx = qp_printf("%.*s%s%s", (int)(at - xml), xml, ov, at + strlen(base));
    assert_int_equal(sb_domain_define(&name, E.c, nx), 0);
    free(name);
    free(nx);
    free(xml);
    assert_refused_for("hm", ov, 0x27);
}

/* A disk added between two internal snapshots: the revert to the first
 * drops it from the definition, and the second snapshot's image is still
 * one the domain has used, so the second can be reverted to and deleted.
 * Both used to be refused ("not an image domain ... uses") for good. */
static void snapshot_of_a_dropped_disk(void **state)
{
    (void)state;
    e2e_define("da");
    const char *c = e2e_path("da-vdc.qcow2");
    assert_int_equal(e2e_snap("da", "i1", NULL, 0), 0);
    assert_int_equal(qp_img_create(&E.t, c, "qcow2", "16M"), 0);
    char *xml = NULL, *name = NULL;
    assert_int_equal(sb_domain_get_xml(&xml, E.c, "da", 0), 0);
    const char *at = strstr(xml, "<memballoon");
    assert_non_null(at);
    char *nx = qp_printf("%.*s<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                         "<source file='%s'/><target dev='vdc' bus='virtio'/></disk>%s",
                         (int)(at - xml), xml, c, at);
    assert_int_equal(sb_domain_define(&name, E.c, nx), 0);
    free(name);
    free(nx);
    free(xml);
    e2e_off_write("da", "vdc", 0x31);
    assert_int_equal(e2e_snap("da", "i2", NULL, 0), 0);
    e2e_off_write("da", "vdc", 0x32);
    assert_int_equal(e2e_revert("da", "i1", 0), 0);
    int r = e2e_revert("da", "i2", 0);
    if (r < 0)
        print_message("# revert i2: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_true(e2e_off_check("da", "vdc", 0x31));
    assert_int_equal(e2e_revert("da", "i1", 0), 0);
    r = e2e_del("da", "i2", 0);
    if (r < 0)
        print_message("# delete i2: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_false(e2e_has_tag(c, "i2"));
    assert_true(qp_file_exists(c)); /* the user's image stays */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offline_revert_under_overlay),
        cmocka_unit_test(running_revert_in_backing_node),
        cmocka_unit_test(transitive_dependency),
        cmocka_unit_test(unreferenced_overlay_allowed),
        cmocka_unit_test(internal_delete_under_overlay),
        cmocka_unit_test(external_delete_refused_changes_nothing),
        cmocka_unit_test(internal_revert_under_unknown_overlay),
        cmocka_unit_test(snapshot_of_a_dropped_disk),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
