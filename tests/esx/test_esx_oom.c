/* The esx plugin out of memory, one allocation at a time, against
 * VMware's vSphere simulator (tests/esx-sim): each operation runs on a
 * fresh powered-off VM holding snapshots a <- b (b current) with one
 * allocation of the plugin's own code failing.
 *
 * After every run, whatever it answered: the tree as the plugin reads it
 * again is the one before the operation or after it (a delete with its
 * children may stop between its snapshots: the hypervisor's task for one
 * may have run when the plugin failed to read its answer), and, left
 * unfinished, the same operation then succeeds on the same connection.
 * The simulator keeps the metadata (the hypervisor's), so nothing else
 * can be half-written.
 *
 * Nothing real runs out of memory on demand, so the failing allocator
 * (tests/common/failing_alloc.c) is this test's one stand-in: it fails only
 * the chosen call made directly from esx.so (libcurl, libxml2, the broker
 * and the test itself are never failed).  The first 16 allocations and
 * then every n-th (about 40 runs an operation); OOM_STRIDE=1 walks every
 * one, OOM_ONLY=case runs one case, OOM_TRACE=1 prints each answer.  Not
 * built under AddressSanitizer, which owns malloc there. */
#include "esx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failing_alloc.h"

static const char VM_QUERY[] = "disks=persistent&power=off";

/* The tree: "a,b a< b<a current=b" (malloc'd). */
static char *view(void)
{
    char *topo = list_str(NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL), buf[512];
    int off = snprintf(buf, sizeof buf, "%s", topo);
    for (char *n = strtok(topo, ","); n; n = strtok(NULL, ",")) {
        char *p = NULL;
        if (sb_snapshot_parent(&p, fx.c, fx.vm, n) < 0 &&
            sb_error_last()->code != SB_ERR_NO_DOMAIN_SNAPSHOT)
            fail_msg("parent of %s: %s", n, sb_error_last()->message);
        off += snprintf(buf + off, sizeof buf - (size_t)off, " %s<%s", n, p ? p : "");
        free(p);
    }
    free(topo);
    char *cur = NULL;
    if (sb_snapshot_current(&cur, fx.c, fx.vm) < 0)
        cur = NULL;
    snprintf(buf + off, sizeof buf - (size_t)off, " current=%s", cur ? cur : "");
    free(cur);
    return strdup(buf);
}

struct op {
    const char *name;
    int (*run)(void);
    const char *between; /* a state it may stop in between (NULL: none) */
};

static int op_create(void)
{
    return try_create("c", "<description>third</description>", 0);
}

static int op_revert(void)
{
    return sb_snapshot_revert(fx.c, fx.vm, "a", 0);
}

static int op_delete(void)
{
    return sb_snapshot_delete(fx.c, fx.vm, "a", 0);
}

static int op_delete_tree(void)
{
    return sb_snapshot_delete(fx.c, fx.vm, "a", SB_SNAPSHOT_DELETE_CHILDREN);
}

static int op_dumpxml(void)
{
    char *xml = NULL;
    int rc = sb_snapshot_get_xml(&xml, fx.c, fx.vm, "b", 0);
    if (rc == 0 && !strstr(xml, "<name>b</name>"))
        fail_msg("b's document: %s", xml);
    free(xml);
    return rc;
}

static int run_op(void *o)
{
    return ((const struct op *)o)->run();
}

static char *after; /* the tree a run without a failure leaves */

static int run_failing(const struct op *o, long at, long *out_calls)
{
    esx_fx_vm(VM_QUERY);
    create_ok("a", NULL, 0);
    create_ok("b", NULL, 0);
    char *before = view();
    int rc;
    int hit = fa_run(o->name, at, run_op, (void *)o, &rc, out_calls);
    char *now = view();
    if (!after)
        after = strdup(now);
    if (fa_outcome(o->name, rc, before, now, after, o->between)) { /* the same works now */
        if (o->run() < 0)
            fail_msg("%s again: %s", o->name, sb_error_last()->message);
        free(now);
        now = view();
        assert_string_equal(now, after);
    }
    free(now);
    free(before);
    free(esxsim_ctl(&fx.sim, "vm/destroy?vm=%s", fx.moref));
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
OP(delete, NULL)
OP(delete_tree, "a a< current=a")
OP(dumpxml, NULL)

static int group_setup(void **state)
{
    static const char *const args[] = { "-vm", "0", NULL };
    (void)state;
    if (esx_fx_start(args, NULL) < 0)
        return -1;
    return fa_watch("esx.so");
}

static int group_teardown(void **state)
{
    (void)state;
    esx_fx_stop();
    free(after);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_create), cmocka_unit_test(walk_revert),
        cmocka_unit_test(walk_delete), cmocka_unit_test(walk_delete_tree),
        cmocka_unit_test(walk_dumpxml),
    };
    if (getenv("OOM_ONLY"))
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
