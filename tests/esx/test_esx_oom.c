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

#include "oom_walk.h"

static const char VM_QUERY[] = "disks=persistent&power=off";

static void *make(void)
{
    esx_fx_vm(VM_QUERY);
    create_ok("a", NULL, 0);
    create_ok("b", NULL, 0);
    return &fx;
}

static sb_connection *conn(void *ctx)
{
    (void)ctx;
    return fx.c;
}

static const char *domain(void *ctx)
{
    (void)ctx;
    return fx.vm;
}

static void done(void *ctx)
{
    (void)ctx;
    free(esxsim_ctl(&fx.sim, "vm/destroy?vm=%s", fx.moref));
}

static const struct oom_case esx_case = {"the plugin", 40, make, conn, domain, NULL, NULL, done};

static int create_c(const struct oom_case *c, void *ctx)
{
    (void)c;
    (void)ctx;
    return try_create("c", "<description>third</description>", 0);
}

static const struct oom_op create = {"create", create_c, NULL};


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
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OOM_TEST("walk_create", &esx_case, &create),
        OOM_TEST("walk_revert", &esx_case, &oom_revert_a),
        OOM_TEST("walk_delete", &esx_case, &oom_delete_a),
        OOM_TEST("walk_delete_tree", &esx_case, &oom_delete_a_children),
        OOM_TEST("walk_dumpxml", &esx_case, &oom_dumpxml_b),
    };
    if (getenv("OOM_ONLY"))
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
