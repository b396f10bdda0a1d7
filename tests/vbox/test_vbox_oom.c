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
 * allocations and then every n-th (about 40 runs an operation);
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
#include "failing_alloc.h"
#include "vbox_fixture.h"
#include "vbox_vm.h"

#define DOM FX_VM_DOM

/* The tree: "name<parent ..., current=name" (malloc'd). */
static char *view(fx_vm *t)
{
    char buf[512];
    const char *topo = fx_vm_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL);
    int off = snprintf(buf, sizeof buf, "%s", topo);
    char *names = strdup(topo);
    for (char *n = strtok(names, ","); n; n = strtok(NULL, ",")) {
        char *p = NULL;
        if (sb_snapshot_parent(&p, t->f.c, DOM, n) < 0 &&
            sb_error_last()->code != SB_ERR_NO_DOMAIN_SNAPSHOT)
            fail_msg("parent of %s: %s", n, sb_error_last()->message);
        off += snprintf(buf + off, sizeof buf - (size_t)off, " %s<%s", n, p ? p : "");
        free(p);
    }
    free(names);
    char *cur = NULL;
    if (sb_snapshot_current(&cur, t->f.c, DOM) < 0)
        cur = NULL;
    snprintf(buf + off, sizeof buf - (size_t)off, " current=%s", cur ? cur : "");
    free(cur);
    return strdup(buf);
}

/* A new machine: a <- b, b current, data in the bases and in a's images. */
static void machine(fx_vm *t)
{
    fx_vm_setup(t, "oom");
    fx_vm_qemu_write(t, 0, 0x61, 0, FX_MIB);
    fx_vm_qemu_write(t, 1, 0x62, FX_MIB, 8192);
    fx_vm_create(t, "a", NULL);
    fx_vm_guest_write(t, 0, 0x63, 4096, 8192);
    fx_vm_guest_write(t, 1, 0x64, 0, 4096);
    fx_vm_create(t, "b", NULL);
}

struct op {
    const char *name;
    int (*run)(fx_vm *t);
    /* a state between before and after the operation may stop in (NULL:
     * none): a delete with its children deletes one snapshot at a time,
     * children first, each a whole VirtualBox operation of its own */
    const char *between;
};

static int op_create(fx_vm *t)
{
    return sb_snapshot_create_xml(NULL, t->f.c, DOM,
                                  "<domainsnapshot><name>c</name><description>third"
                                  "</description><state>shutoff</state><creationTime>1"
                                  "</creationTime></domainsnapshot>", 0);
}

static int op_revert(fx_vm *t)
{
    return sb_snapshot_revert(t->f.c, DOM, "b", 0);
}

static int op_delete_merge(fx_vm *t) /* a: its data merges into b's images */
{
    return sb_snapshot_delete(t->f.c, DOM, "a", 0);
}

static int op_delete_leaf(fx_vm *t)
{
    return sb_snapshot_delete(t->f.c, DOM, "b", 0);
}

static int op_delete_tree(fx_vm *t)
{
    return sb_snapshot_delete(t->f.c, DOM, "a", SB_SNAPSHOT_DELETE_CHILDREN);
}

static char *doc_a; /* a's document, read before the run (op_redefine) */

static int op_redefine(fx_vm *t)
{
    return sb_snapshot_create_xml(NULL, t->f.c, DOM, doc_a,
                                  SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT);
}

static char *after; /* the tree a run without a failure leaves */

struct run_arg {
    const struct op *o;
    fx_vm *t;
};

static int run_op(void *arg)
{
    struct run_arg *ra = arg;
    return ra->o->run(ra->t);
}

/* One run on a new machine with allocation `at` of vbox.so failing (0:
 * none); 1 when that allocation happened. */
static int run_failing(const struct op *o, long at, long *out_calls)
{
    fx_vm t;
    machine(&t);
    assert_int_equal(fa_watch("vbox.so"), 0);
    char *before = view(&t);
    free(doc_a);
    doc_a = NULL;
    if (sb_snapshot_get_xml(&doc_a, t.f.c, DOM, "a", SB_SNAPSHOT_XML_SECURE) < 0)
        fail_msg("a's document: %s", sb_error_last()->message);
    struct run_arg ra = {o, &t};
    int rc;
    int hit = fa_run(o->name, at, run_op, &ra, &rc, out_calls);
    if (rc < 0) /* the next access finishes what the operation left to its next
                 * writer (its intent, plugins/vbox/journal.c), as after a kill */
        free(view(&t));
    fx_vm_consistent(&t);
    char *now = view(&t);
    if (!after)
        after = strdup(now);
    if (fa_outcome(o->name, rc, before, now, after, o->between)) { /* the same works now */
        if (o->run(&t) < 0)
            fail_msg("%s again: %s", o->name, sb_error_last()->message);
        fx_vm_consistent(&t);
        free(now);
        now = view(&t);
        assert_string_equal(now, after);
    }
    free(now);
    free(before);
    fx_vm_teardown(&t);
    return hit;
}

static int step(void *o, long at)
{
    return run_failing(o, at, NULL);
}

static void walk(const struct op *o)
{
    long total = 0;
    free(after);
    after = NULL;
    run_failing(o, 0, &total);
    fa_walk(o->name, "the plugin", total, 40, step, (void *)o);
    assert_true(total > 0);
}

#define OP(n, between)                                                                        \
    static void walk_##n(void **state)                                                        \
    {                                                                                         \
        (void)state;                                                                          \
        const struct op o = {#n, op_##n, between};                                            \
        walk(&o);                                                                             \
    }

OP(create, NULL)
OP(revert, NULL)
OP(delete_merge, NULL)
OP(delete_leaf, NULL)
OP(delete_tree, "a a< current=a")
OP(redefine, NULL)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_create),       cmocka_unit_test(walk_revert),
        cmocka_unit_test(walk_delete_merge), cmocka_unit_test(walk_delete_leaf),
        cmocka_unit_test(walk_delete_tree),  cmocka_unit_test(walk_redefine),
    };
    if (getenv("OOM_ONLY"))
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(after);
    free(doc_a);
    return rc;
}
