/* tests/qemu - the qemu plugin out of memory, one allocation at a time.
 *
 * For allocations the plugin's own code makes during an operation, the
 * operation runs once with that allocation failing (the walk SQLite's
 * tests make over every allocation).  An operation makes hundreds (a
 * revert reads several domain definitions), so the walk takes the first
 * 16 and then every n-th of those one run makes, n chosen to make about
 * 80 runs of each operation; OOM_STRIDE=1 in the environment walks every
 * allocation, OOM_AT=n runs the n-th alone, OOM_ONLY=case runs one case
 * and OOM_TRACE=1 prints each run's answer.
 *
 * Whatever a run answers, the guest's data and the tree are what they
 * must be: a failed run changed nothing a user can see, or left what the
 * next run finishes; a run that succeeds did the whole operation.  A list
 * the plugin silently left one image short used to let a delete remove an
 * image another image still needed: this walk reaches such lists.  The
 * one loss allowed is a file the plugin kept because it could not tell
 * whether anything still needed it (logged): a leak, counted, and removed
 * by the test so that the next run's directory scans stay as they were.
 *
 * Nothing real runs out of memory on demand, so the failing allocator
 * (tests/common/failing_alloc.c) is this test's one stand-in: it fails
 * only the chosen call made directly from the plugin's shared object
 * (libxml2, json-c, the broker and the test itself are never failed).
 * Not built under AddressSanitizer, which owns malloc there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "oom_walk.h"

static int kept;        /* files left that nothing names */
static long last_calls; /* the plugin's allocations in the last run */

static int setup(void **state)
{
    if (e2e_setup(state) < 0)
        return -1;
    return fa_watch("qemu.so"); /* loaded by the connection */
}

/* ---- the walk ------------------------------------------------------- */

/* One scenario: `prepare` builds the state the operation starts from
 * (again after a run that succeeded), `run` is the operation, `check`
 * what must hold after any run, `done` what must hold after one that
 * succeeded. */
struct scenario {
    void (*prepare)(int round);
    int (*run)(void);
    void (*check)(void);
    void (*done)(void);
};

static int run_scenario(void *s)
{
    return ((const struct scenario *)s)->run();
}

/* Run s once with allocation `at` failing (0: none); 1 when that
 * allocation happened, so failed.  What must hold after any run is
 * checked; a run that succeeded is also checked for the whole effect,
 * and the starting state built again (round) when a later run needs it. */
static int run_failing(const struct scenario *s, const char *what, long at, int *r)
{
    int hit = oom_run(what, at, run_scenario, (void *)s, r, &last_calls);
    s->check();
    if (*r == 0)
        s->done();
    return hit;
}

/* The allocations of one run that fails none are counted first; the walk
 * covers that range.  (Runs that fail make later ones allocate more: a
 * file kept stays on the plugin's list of its files, which each run
 * reads.  Following that growth would never end.)  Last, a run with no
 * failure completes the operation. */
static void walk(const struct scenario *s, const char *what)
{
    int round = 0, failed_runs = 0, tolerated = 0, runs = 0, r;
    s->prepare(round);
    run_failing(s, what, 0, &r);
    long total = last_calls;
    s->prepare(++round);
    long stride = getenv("OOM_STRIDE") ? atol(getenv("OOM_STRIDE")) : total / 64 + 1;
    long first = getenv("OOM_AT") ? atol(getenv("OOM_AT")) : 1; /* looking into one */
    if (stride < 1 || first > 1)
        stride = first > 1 ? LONG_MAX / 2 : 1;
    for (long at = first; at <= total; at += at < 16 ? 1 : stride) {
        runs++;
        int hit = run_failing(s, what, at, &r);
        if (r < 0) {
            failed_runs++;
            continue;
        }
        tolerated += hit;
        s->prepare(++round);
    }
    run_failing(s, what, 0, &r);
    print_message("# %s: %ld plugin allocations, every %ld-th failed after the first 16: %d "
                  "runs, %d failed, %d did without the allocation, %d files kept\n",
                  what, total, stride, runs, failed_runs, tolerated, kept);
    kept = 0;
}

/* ---- an external snapshot deleted: merge, rebase, remove ----------- */

static char dx[32]; /* the round's domain: s1 <- s2, vda holds 3 */

/* The previous round's domain and its files go: the plugin's scans of the
 * images' directory would otherwise grow with every round. */
static void dx_forget(void)
{
    assert_int_equal(sb_domain_undefine(E.c, dx, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), 0);
    DIR *d = opendir(E.dir);
    assert_non_null(d);
    size_t len = strlen(dx);
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, dx, len) && e->d_name[len] == '-')
            assert_int_equal(unlinkat(dirfd(d), e->d_name, 0), 0);
    closedir(d);
}

static void dx_prepare(int round)
{
    if (round > 0)
        dx_forget();
    snprintf(dx, sizeof dx, "dx%d", round);
    e2e_define(dx);
    e2e_off_write(dx, "vda", 0x31);
    assert_int_equal(e2e_snap(dx, "s1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write(dx, "vda", 0x32);
    assert_int_equal(e2e_snap(dx, "s2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write(dx, "vda", 0x33);
}

static int dx_run(void)
{
    return e2e_del(dx, "s1", 0);
}

static void dx_check(void)
{
    assert_true(e2e_off_check(dx, "vda", 0x33));
    assert_true(e2e_off_check(dx, "vdb", 0xaa));
    assert_true(e2e_in_tree(dx, "s2"));
    kept += e2e_orphans_remove(dx);
}

static void dx_done(void)
{
    assert_false(e2e_in_tree(dx, "s1"));
    /* s2's captured images still read as they did: its revert shows them */
    int r = e2e_revert(dx, "s2", 0);
    if (r < 0)
        print_message("# revert to s2 after the delete: %s\n", e2e_err());
    assert_int_equal(r, 0);
    assert_true(e2e_off_check(dx, "vda", 0x32));
    kept += e2e_orphans_remove(dx);
}

static void delete_external_each_allocation(void **state)
{
    (void)state;
    const struct scenario s = {dx_prepare, dx_run, dx_check, dx_done};
    walk(&s, "external delete");
}

/* ---- an external revert: new overlays, old tops removed ------------- */

static void er_prepare(int round)
{
    if (round == 0) {
        e2e_define("er");
        e2e_off_write("er", "vda", 0x41);
        assert_int_equal(e2e_snap("er", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    }
    e2e_off_write("er", "vda", 0x42);
}

static int er_run(void)
{
    return e2e_revert("er", "e1", 0);
}

static void er_check(void)
{
    assert_true(e2e_off_check("er", "vda", 0x42) || e2e_off_check("er", "vda", 0x41));
    assert_true(e2e_in_tree("er", "e1"));
    kept += e2e_orphans_remove("er");
}

static void er_done(void)
{
    assert_true(e2e_off_check("er", "vda", 0x41));
}

static void revert_external_each_allocation(void **state)
{
    (void)state;
    const struct scenario s = {er_prepare, er_run, er_check, er_done};
    walk(&s, "external revert");
}

/* ---- an internal revert of two disks, shut off: all or nothing ----- */

static void ir_prepare(int round)
{
    if (round == 0) {
        e2e_define("ir");
        e2e_off_write("ir", "vda", 0x51);
        e2e_off_write("ir", "vdb", 0x51);
        assert_int_equal(e2e_snap("ir", "i1", NULL, 0), 0);
    }
    e2e_off_write("ir", "vda", 0x52);
    e2e_off_write("ir", "vdb", 0x52);
}

static int ir_run(void)
{
    return e2e_revert("ir", "i1", 0);
}

static void ir_check(void)
{
    /* a run stopped half way is undone by the next call on the domain */
    (void)e2e_state("ir");
    int old = e2e_off_check("ir", "vda", 0x52);
    assert_int_equal(old, e2e_off_check("ir", "vdb", 0x52));
    assert_int_equal(!old, e2e_off_check("ir", "vdb", 0x51));
    assert_true(e2e_in_tree("ir", "i1"));
    kept += e2e_orphans_remove("ir");
}

static void ir_done(void)
{
    assert_true(e2e_off_check("ir", "vda", 0x51));
    assert_true(e2e_off_check("ir", "vdb", 0x51));
}

static void revert_internal_each_allocation(void **state)
{
    (void)state;
    const struct scenario s = {ir_prepare, ir_run, ir_check, ir_done};
    walk(&s, "internal revert");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delete_external_each_allocation),
        cmocka_unit_test(revert_external_each_allocation),
        cmocka_unit_test(revert_internal_each_allocation),
    };
    if (getenv("OOM_ONLY")) /* one case, when looking into it */
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
