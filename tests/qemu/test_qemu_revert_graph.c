/* tests/qemu - the running QEMU's block graph after a revert to a full
 * external snapshot (memory + disks), on plain virtio disks.  The QEMU
 * the revert starts opens the revert's overlay as the disk's top node,
 * named on its command line; every later operation on the running domain
 * must find a graph it can work on: two commits in a row (the second
 * failed with "Need a root block node" while the first's old top node
 * stayed), a create on top, a delete of a parent (commit below the
 * top), two reverts in a row.  Data checked with qemu-io (e2e.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static void ok(int r, const char *what)
{
    if (r < 0)
        fail_msg("%s: %s", what, e2e_err());
}

static void assert_source(const char *dom, const char *target, const char *want)
{
    char *src = e2e_source(dom, target);
    assert_string_equal(src, want);
    free(src);
}

/* d1 disk-only, then f1 full external, both while running; then a
 * revert to f1 (the guest was running: it runs again). */
static void full_revert(const char *dom, int pattern)
{
    e2e_define(dom);
    assert_int_equal(sb_domain_start(E.c, dom, 0), 0);
    e2e_wait_ticking(dom);
    e2e_on_write(dom, "vda", pattern);
    ok(e2e_snap(dom, "d1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), "create d1");
    e2e_on_write(dom, "vda", pattern + 1);
    char *f = qp_printf("%s.mem", dom);
    char *mem = qp_printf("<memory snapshot='external' file='%s'/>", e2e_path(f));
    free(f);
    ok(e2e_snap(dom, "f1", mem, 0), "create f1");
    free(mem);
    e2e_on_write(dom, "vda", pattern + 2);
    pid_t before = e2e_qemu_pid(dom);
    ok(e2e_revert(dom, "f1", 0), "revert f1");
    assert_true(e2e_qemu_pid(dom) != before);
    assert_int_equal(e2e_state(dom), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check(dom, "vda", pattern + 1));
}

/* The reported case: two running deletes (active commits) in a row. */
static void two_commits_after_revert(void **state)
{
    (void)state;
    char *base = NULL;
    full_revert("arg", 0x41);
    e2e_on_write("arg", "vda", 0x44);
    ok(e2e_del("arg", "f1", 0), "delete f1");
    assert_true(e2e_on_check("arg", "vda", 0x44));
    ok(e2e_del("arg", "d1", 0), "delete d1 (second running commit)");
    assert_int_equal(e2e_state("arg"), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check("arg", "vda", 0x44));
    base = qp_strdup(e2e_path("arg-vda.qcow2"));
    assert_source("arg", "vda", base);
    /* the graph still takes a snapshot and a third commit */
    ok(e2e_snap("arg", "d2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), "create d2");
    e2e_on_write("arg", "vda", 0x45);
    ok(e2e_del("arg", "d2", 0), "delete d2");
    assert_source("arg", "vda", base);
    assert_true(e2e_on_check("arg", "vda", 0x45));
    assert_int_equal(e2e_orphans("arg"), 0);
    e2e_stop("arg");
    assert_true(e2e_off_check("arg", "vda", 0x45));
    free(base);
}

/* The other paths through the revert's graph: a second revert right
 * after the first, a create on top, a delete of the parent below it
 * (commit under the top), then the rest while running. */
static void other_paths_after_revert(void **state)
{
    (void)state;
    full_revert("brg", 0x51);
    e2e_on_write("brg", "vda", 0x54);
    ok(e2e_revert("brg", "f1", 0), "second revert f1");
    assert_int_equal(e2e_state("brg"), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check("brg", "vda", 0x52));
    ok(e2e_snap("brg", "c1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), "create c1 after revert");
    e2e_on_write("brg", "vda", 0x55);
    ok(e2e_del("brg", "f1", 0), "delete f1 (the parent of c1)");
    assert_true(e2e_on_check("brg", "vda", 0x55));
    ok(e2e_del("brg", "d1", 0), "delete d1");
    assert_true(e2e_on_check("brg", "vda", 0x55));
    ok(e2e_del("brg", "c1", 0), "delete c1");
    assert_int_equal(e2e_state("brg"), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check("brg", "vda", 0x55));
    assert_source("brg", "vda", e2e_path("brg-vda.qcow2"));
    assert_int_equal(e2e_orphans("brg"), 0);
    e2e_stop("brg");
    assert_true(e2e_off_check("brg", "vda", 0x55));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_commits_after_revert),
        cmocka_unit_test(other_paths_after_revert),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
