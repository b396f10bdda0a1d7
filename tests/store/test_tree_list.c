/* sb_tree_list(): every filter group and combination of spec §5.3 and
 * §9.1, domain-level and from-snapshot, counts and TOPOLOGICAL order.
 *
 * The fixture (added in this order; children are listed newest first):
 *   r1  running        internal
 *     a   shutoff        internal
 *       a1  disk-snapshot  external
 *       a2  paused         external
 *     b   running        internal
 *   r2  shutoff        external
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "tree_helpers.h"

#define L(x) SB_SNAPSHOT_LIST_##x

static sb_tree *t;

static int setup(void **state)
{
    (void)state;
    t = sb_tree_new();
    sb_tree_snapshot v[] = {
        snap("r1", NULL, SB_STATE_RUNNING, false),
        snap("a", "r1", SB_STATE_SHUTOFF, false),
        snap("b", "r1", SB_STATE_RUNNING, false),
        snap("a1", "a", SB_STATE_DISK_SNAPSHOT, true),
        snap("a2", "a", SB_STATE_PAUSED, true),
        snap("r2", NULL, SB_STATE_SHUTOFF, true),
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (sb_tree_add(t, &v[i], NULL) < 0)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_tree_free(t);
    return 0;
}

/* Check a domain-level listing as a set, and that counting agrees. */
static void dom(unsigned flags, const char *expect)
{
    assert_string_equal(names(t, NULL, flags, true), expect);
    size_t n = *expect ? 1 : 0;
    for (const char *p = expect; *p; p++)
        n += *p == ',';
    assert_int_equal(count(t, NULL, flags), (long)n);
}

static void from(const char *f, unsigned flags, const char *expect_in_order)
{
    assert_string_equal(names(t, f, flags, false), expect_in_order);
}

static void all_and_roots(void **state)
{
    (void)state;
    dom(0, "a,a1,a2,b,r1,r2");
    dom(L(ROOTS), "r1,r2");
    assert_string_equal(names(t, NULL, L(ROOTS), false), "r2,r1"); /* newest first */
}

static void topological_order(void **state)
{
    (void)state;
    /* depth-first from the metaroot, newest child first (§9.12) */
    from(NULL, L(TOPOLOGICAL), "r2,r1,b,a,a2,a1");
    from(NULL, L(TOPOLOGICAL) | L(LEAVES), "r2,b,a2,a1");
    from(NULL, L(TOPOLOGICAL) | L(ROOTS), "r2,r1");
    from("r1", L(DESCENDANTS) | L(TOPOLOGICAL), "b,a,a2,a1");
}

static void from_snapshot(void **state)
{
    (void)state;
    from("r1", 0, "b,a");
    from("r1", L(DESCENDANTS), "b,a,a2,a1"); /* same bit as ROOTS */
    from("a", 0, "a2,a1");
    from("a1", 0, "");
    from("a1", L(DESCENDANTS), "");
    from("r1", L(DESCENDANTS) | L(LEAVES), "b,a2,a1");
    from("r1", L(NO_LEAVES), "a");
    from("r1", L(DESCENDANTS) | L(EXTERNAL), "a2,a1");
    from("r1", L(DESCENDANTS) | L(NO_METADATA), "");
    assert_int_equal(count(t, "r1", 0), 2);
    assert_int_equal(count(t, "r1", L(DESCENDANTS)), 4);
    assert_int_equal(count(t, "r1", L(DESCENDANTS) | L(ACTIVE)), 2);
    const sb_tree_node **v;
    size_t n;
    assert_int_equal(sb_tree_list(t, "ghost", 0, &v, &n), -SB_ERR_NO_DOMAIN_SNAPSHOT);
}

static void leaves_group(void **state)
{
    (void)state;
    dom(L(LEAVES), "a1,a2,b,r2");
    dom(L(NO_LEAVES), "a,r1");
    /* libvirt 9.0 applies both filters: nothing (§9.1) */
    dom(L(LEAVES) | L(NO_LEAVES), "");
    dom(L(ROOTS) | L(LEAVES), "r2");
    dom(L(ROOTS) | L(NO_LEAVES), "r1");
    from("r1", L(LEAVES) | L(NO_LEAVES) | L(DESCENDANTS), "");
}

static void metadata_group(void **state)
{
    (void)state;
    dom(L(METADATA), "a,a1,a2,b,r1,r2");
    dom(L(NO_METADATA), ""); /* everything has metadata */
    dom(L(METADATA) | L(NO_METADATA), "a,a1,a2,b,r1,r2");
    dom(L(ROOTS) | L(NO_METADATA), "");
    dom(L(NO_METADATA) | L(LEAVES), "");
    dom(L(METADATA) | L(LEAVES), "a1,a2,b,r2");
}

static void status_group(void **state)
{
    (void)state;
    dom(L(INACTIVE), "a,r2");
    dom(L(DISK_ONLY), "a1");
    dom(L(ACTIVE), "a2,b,r1");
    dom(L(INACTIVE) | L(ACTIVE), "a,a2,b,r1,r2");
    dom(L(INACTIVE) | L(DISK_ONLY), "a,a1,r2");
    dom(L(ACTIVE) | L(DISK_ONLY), "a1,a2,b,r1");
    dom(L(INACTIVE) | L(ACTIVE) | L(DISK_ONLY), "a,a1,a2,b,r1,r2");
}

static void location_group(void **state)
{
    (void)state;
    dom(L(INTERNAL), "a,b,r1");
    dom(L(EXTERNAL), "a1,a2,r2");
    dom(L(INTERNAL) | L(EXTERNAL), "a,a1,a2,b,r1,r2"); /* both = neither (§9.1) */
}

static void groups_combine_with_and(void **state)
{
    (void)state;
    dom(L(LEAVES) | L(EXTERNAL), "a1,a2,r2");
    dom(L(LEAVES) | L(EXTERNAL) | L(ACTIVE), "a2");
    dom(L(LEAVES) | L(INTERNAL) | L(INACTIVE), "");
    dom(L(ROOTS) | L(EXTERNAL) | L(INACTIVE), "r2");
    dom(L(NO_LEAVES) | L(INTERNAL) | L(ACTIVE) | L(METADATA), "r1");
    dom(L(ALL) & ~(unsigned)L(ROOTS) & ~(unsigned)L(TOPOLOGICAL), ""); /* LEAVES+NO_LEAVES */
}

static void bad_flags(void **state)
{
    (void)state;
    const sb_tree_node **v;
    size_t n;
    assert_int_equal(sb_tree_list(t, NULL, 0x800, &v, &n), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(sb_error_last()->message, "unsupported flags (0x800)"));
    assert_int_equal(sb_tree_list(t, "r1", 1u << 31, NULL, &n), -SB_ERR_INVALID_ARG);
}

static void empty_tree(void **state)
{
    (void)state;
    sb_tree *e = sb_tree_new();
    const sb_tree_node **v;
    size_t n = 99;
    assert_int_equal(sb_tree_list(e, NULL, 0, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v[0]);
    free(v);
    assert_int_equal(sb_tree_list(e, NULL, L(LEAVES), NULL, &n), 0);
    assert_int_equal(n, 0);
    sb_tree_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_and_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(topological_order, setup, teardown),
        cmocka_unit_test_setup_teardown(from_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(leaves_group, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_group, setup, teardown),
        cmocka_unit_test_setup_teardown(status_group, setup, teardown),
        cmocka_unit_test_setup_teardown(location_group, setup, teardown),
        cmocka_unit_test_setup_teardown(groups_combine_with_and, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_tree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
