/* tests/qemu - the files the plugin makes are never orphaned (issue 8,
 * item 4): a revert that replaces a snapshot's <disks> with its new
 * overlays used to forget the snapshot's own first overlay.  Left on disk
 * and unknown to the tree, it then blocked the snapshot's delete ("an
 * overlay outside the snapshot tree" on the image the delete merges into)
 * and, after a metadata-only delete, the reuse of the name.
 *
 * The sequence, shut off, on both disks:
 *   create c1 --disk-only; create c2 --disk-only; revert c1;
 *   delete c2 (or: delete c1 --children-only); revert c1;
 *   delete c1 (or: delete c1 --children)
 * After every step nothing in the scratch dir may be unnamed (e2e_orphans),
 * the data written last must survive, and c1 can be made again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static void sequence(const char *dom, unsigned drop_c2, unsigned last_delete)
{
    e2e_define(dom);
    assert_int_equal(e2e_snap(dom, "c1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write(dom, "vda", 0x51);
    assert_int_equal(e2e_snap(dom, "c2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write(dom, "vda", 0x52);
    assert_int_equal(e2e_revert(dom, "c1", 0), 0);
    assert_int_equal(e2e_orphans(dom), 0);
    if (drop_c2 & SB_SNAPSHOT_DELETE_CHILDREN_ONLY)
        assert_int_equal(e2e_del(dom, "c1", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    else
        assert_int_equal(e2e_del(dom, "c2", 0), 0);
    assert_false(e2e_in_tree(dom, "c2"));
    assert_int_equal(e2e_orphans(dom), 0);
    assert_int_equal(e2e_revert(dom, "c1", 0), 0);
    assert_int_equal(e2e_orphans(dom), 0); /* c1's first overlay used to stay here */
    e2e_off_write(dom, "vda", 0x53);
    int r = e2e_del(dom, "c1", last_delete);
    if (r < 0)
        print_message("# delete c1: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_false(e2e_in_tree(dom, "c1"));
    assert_int_equal(e2e_orphans(dom), 0);
    assert_true(e2e_off_check(dom, "vda", 0x53));
    /* the name is free again: its default overlay path is not taken */
    assert_int_equal(e2e_snap(dom, "c1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(e2e_orphans(dom), 0);
}

static void revert_delete_revert(void **state)
{
    (void)state;
    sequence("t", 0, 0);
}

static void with_children_only(void **state)
{
    (void)state;
    sequence("tco", SB_SNAPSHOT_DELETE_CHILDREN_ONLY, 0);
}

static void with_children(void **state)
{
    (void)state;
    sequence("tch", 0, SB_SNAPSHOT_DELETE_CHILDREN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(revert_delete_revert),
        cmocka_unit_test(with_children_only),
        cmocka_unit_test(with_children),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
