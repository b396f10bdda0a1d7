/* The vbox plugin out of memory, one allocation at a time: each
 * operation on a powered-off machine (tests/vbox/vbox_vm.h: two VDI disks,
 * snapshots a <- b, b current) runs once with one allocation of the
 * plugin's own code failing, on a machine made afresh for every run.
 *
 * After every run, whatever it answered (and, after a failure, once the
 * next access finished what the operation left to its next writer, as
 * after a kill: docs/vbox.md): the settings file validates
 * against VirtualBox's schema, every registered image is there and sound,
 * no image is left that nothing registers, both disks read what was
 * written (fx_vm_consistent); the tree is as before the operation or as
 * after it (or, for a delete with children, between: b gone, a kept);
 * and, left unfinished, the same operation then succeeds and leaves it as
 * after.  The operations keep the disks' contents (a revert
 * to the current snapshot, deletes that merge), so "what was written" is
 * one expectation.
 *
 * Nothing real runs out of memory on demand, so the failing allocator
 * (tests/common/failing_alloc.c) is this test's one stand-in: it fails only
 * the chosen call made directly from vbox.so (libxml2, the broker, qemu-img
 * and the test itself are never failed).  The walk takes the first 16
 * allocations and then every n-th (about 24 runs an operation: each run
 * makes a machine afresh with a dozen processes, which on a loaded
 * virtual machine here took 900 s for 40 runs of the six operations);
 * OOM_STRIDE=1 walks every one, OOM_AT=n runs the n-th alone, OOM_ONLY=case
 * one case, OOM_TRACE=1 prints each run's answer.  Not built under
 * AddressSanitizer, which owns malloc there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "oom_walk.h"
#include "vbox_fixture.h"
#include "vbox_vm.h"

#define DOM FX_VM_DOM

/* A new machine: a <- b, b current, data in the bases and in a's images. */
static void *make(void)
{
    fx_vm *t = calloc(1, sizeof *t);
    assert_non_null(t);
    fx_vm_setup(t, "oom");
    assert_int_equal(fa_watch("vbox.so"), 0);
    fx_vm_qemu_write(t, 0, 0x61, 0, FX_MIB);
    fx_vm_qemu_write(t, 1, 0x62, FX_MIB, 8192);
    fx_vm_create(t, "a", NULL);
    fx_vm_guest_write(t, 0, 0x63, 4096, 8192);
    fx_vm_guest_write(t, 1, 0x64, 0, 4096);
    fx_vm_create(t, "b", NULL);
    return t;
}

static sb_connection *conn(void *t)
{
    return ((fx_vm *)t)->f.c;
}

static const char *domain(void *t)
{
    (void)t;
    return DOM;
}

static void check(void *t)
{
    fx_vm_consistent(t);
}

/* the next access finishes what a failed operation left to its next
 * writer (its intent, plugins/vbox/journal.c), as after a kill */
static void finish(void *t)
{
    free(oom_tree(conn(t), DOM));
}

static void done(void *t)
{
    fx_vm_teardown(t);
    free(t);
}

static const struct oom_case vbox_case = {"the plugin", 24, make,   conn,
                                          domain,       check, finish, done};

static int create_c(const struct oom_case *c, void *t)
{
    (void)c;
    return sb_snapshot_create_xml(NULL, conn(t), DOM,
                                  "<domainsnapshot><name>c</name><description>third"
                                  "</description><state>shutoff</state><creationTime>1"
                                  "</creationTime></domainsnapshot>", 0);
}

static int delete_b(const struct oom_case *c, void *t)
{
    (void)c;
    return sb_snapshot_delete(conn(t), DOM, "b", 0);
}

/* a's own document read back and redefined as the current snapshot */
static int redefine_a(const struct oom_case *c, void *t)
{
    char *xml = NULL;
    (void)c;
    int rc = sb_snapshot_get_xml(&xml, conn(t), DOM, "a", SB_SNAPSHOT_XML_SECURE);
    if (rc == 0)
        rc = sb_snapshot_create_xml(NULL, conn(t), DOM, xml,
                                    SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT);
    free(xml);
    return rc;
}

static const struct oom_op create = {"create", create_c, NULL};
static const struct oom_op delete_leaf = {"delete_leaf", delete_b, NULL};
static const struct oom_op redefine = {"redefine", redefine_a, NULL};

/* a revert to b, the current snapshot: the disks keep their content */
static int revert_b(const struct oom_case *c, void *t)
{
    (void)c;
    return sb_snapshot_revert(conn(t), DOM, "b", 0);
}
static const struct oom_op revert = {"revert", revert_b, NULL};

int main(void)
{
    const struct CMUnitTest tests[] = {
        OOM_TEST("walk_create", &vbox_case, &create),
        OOM_TEST("walk_revert", &vbox_case, &revert),
        OOM_TEST("walk_delete_merge", &vbox_case, &oom_delete_a),
        OOM_TEST("walk_delete_leaf", &vbox_case, &delete_leaf),
        OOM_TEST("walk_delete_tree", &vbox_case, &oom_delete_a_children),
        OOM_TEST("walk_redefine", &vbox_case, &redefine),
    };
    if (getenv("OOM_ONLY"))
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
