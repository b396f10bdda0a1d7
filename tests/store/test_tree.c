/* Tree rules of spec §5: structure, current/parent rules, redefine
 * validation, deletes, and load-time rules.  Listing is test_tree_list.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "store/tree_internal.h" /* nbuckets: what sb_tree_expect sizes */
#include "tree_helpers.h"


static sb_tree *t;

static int setup(void **state)
{
    (void)state;
    t = sb_tree_new();
    return t ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(sb_tree_verify(t, stderr), 0);
    sb_tree_free(t);
    return 0;
}

static void add(const char *name, const char *parent, int state)
{
    sb_tree_snapshot s = snap(name, parent, state, false);
    OK(sb_tree_add(t, &s, NULL));
}

static void children_newest_first(void **state)
{
    (void)state;
    add("root", NULL, SB_STATE_RUNNING);
    add("c1", "root", SB_STATE_RUNNING);
    add("c2", "root", SB_STATE_RUNNING);
    add("c3", "root", SB_STATE_RUNNING);
    assert_string_equal(names(t, "root", 0, false), "c3,c2,c1");
    sb_tree_node *r = sb_tree_lookup(t, "root");
    assert_int_equal(sb_tree_node_num_children(r), 3);
    assert_null(sb_tree_node_parent(r)); /* the metaroot is never shown */
    assert_ptr_equal(sb_tree_node_parent(sb_tree_lookup(t, "c2")), r);
    assert_string_equal(sb_tree_node_name(sb_tree_node_first_child(r)), "c3");
    assert_int_equal(sb_tree_count(t), 4);
    assert_int_equal(sb_tree_num_roots(t), 1);
    assert_int_equal(sb_tree_num_leaves(t), 3);
    assert_null(sb_tree_current(t)); /* add never sets current */
    assert_null(sb_tree_lookup(t, "nope"));
    sb_tree_node *n;
    FAILS(sb_tree_get(t, "nope", &n), SB_ERR_NO_DOMAIN_SNAPSHOT);
    MSG_HAS("no domain snapshot with matching name 'nope'");
}

static void add_errors(void **state)
{
    (void)state;
    add("a", NULL, SB_STATE_RUNNING);
    sb_tree_snapshot s = snap("a", NULL, SB_STATE_RUNNING, false);
    FAILS(sb_tree_add(t, &s, NULL), SB_ERR_OPERATION_FAILED);
    MSG_HAS("snapshot 'a' already exists");
    s = snap("b", "missing", SB_STATE_RUNNING, false);
    FAILS(sb_tree_add(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("parent missing for snapshot b not found");
    s = snap("c", "c", SB_STATE_RUNNING, false);
    FAILS(sb_tree_add(t, &s, NULL), SB_ERR_INVALID_ARG);
    s = snap("", NULL, SB_STATE_RUNNING, false);
    FAILS(sb_tree_add(t, &s, NULL), SB_ERR_INVALID_ARG);
    assert_int_equal(sb_tree_count(t), 1);
}

static void current_get_set(void **state)
{
    (void)state;
    add("a", NULL, SB_STATE_RUNNING);
    OK(sb_tree_set_current(t, "a"));
    assert_true(sb_tree_node_is_current(t, sb_tree_lookup(t, "a")));
    FAILS(sb_tree_set_current(t, "zz"), SB_ERR_NO_DOMAIN_SNAPSHOT);
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "a"); /* unchanged */
    OK(sb_tree_set_current(t, NULL));
    assert_null(sb_tree_current(t));
}

/* Delete without CHILDREN: children move to the parent (at the head of
 * its list, keeping their order) and current moves to the parent. */
static void remove_reparents_and_moves_current(void **state)
{
    (void)state;
    add("r", NULL, SB_STATE_RUNNING);
    add("old", "r", SB_STATE_RUNNING);
    add("m", "r", SB_STATE_RUNNING);
    add("m1", "m", SB_STATE_RUNNING);
    add("m2", "m", SB_STATE_RUNNING);
    OK(sb_tree_set_current(t, "m"));
    OK(sb_tree_remove(t, "m"));
    assert_string_equal(names(t, "r", 0, false), "m2,m1,old");
    assert_ptr_equal(sb_tree_node_parent(sb_tree_lookup(t, "m1")), sb_tree_lookup(t, "r"));
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "r");
    /* deleting a current root leaves no current; its children become roots */
    OK(sb_tree_remove(t, "r"));
    assert_null(sb_tree_current(t));
    assert_string_equal(names(t, NULL, SB_SNAPSHOT_LIST_ROOTS, false), "m2,m1,old");
    FAILS(sb_tree_remove(t, "r"), SB_ERR_NO_DOMAIN_SNAPSHOT);
}

static void build_subtree(void)
{
    add("top", NULL, SB_STATE_RUNNING);
    add("x", "top", SB_STATE_RUNNING);
    add("x1", "x", SB_STATE_RUNNING);
    add("x2", "x1", SB_STATE_RUNNING);
    add("y", "top", SB_STATE_RUNNING);
    add("other", NULL, SB_STATE_RUNNING);
}

static void remove_children_current_inside(void **state)
{
    (void)state;
    build_subtree();
    OK(sb_tree_set_current(t, "x2"));
    OK(sb_tree_remove_subtree(t, "x", true)); /* DELETE_CHILDREN */
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "top");
    assert_string_equal(names(t, NULL, 0, true), "other,top,y");
}

static void remove_children_only_current_inside(void **state)
{
    (void)state;
    build_subtree();
    OK(sb_tree_set_current(t, "x2"));
    OK(sb_tree_remove_subtree(t, "x", false)); /* DELETE_CHILDREN_ONLY */
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "x");
    assert_string_equal(names(t, NULL, 0, true), "other,top,x,y");
    assert_int_equal(sb_tree_node_num_children(sb_tree_lookup(t, "x")), 0);
}

static void remove_children_current_outside(void **state)
{
    (void)state;
    build_subtree();
    OK(sb_tree_set_current(t, "y"));
    OK(sb_tree_remove_subtree(t, "top", false));
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "top"); /* y was removed */
    OK(sb_tree_set_current(t, "other"));
    OK(sb_tree_remove_subtree(t, "top", true));
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "other");
    assert_string_equal(names(t, NULL, 0, true), "other");
}

static void remove_subtree_current_is_top(void **state)
{
    (void)state;
    build_subtree();
    OK(sb_tree_set_current(t, "x"));
    OK(sb_tree_remove_subtree(t, "x", true));
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "top");
}

/* §5.4: every redefine validation rule, with libvirt's messages. */
static void redefine_validation(void **state)
{
    (void)state;
    add("a", NULL, SB_STATE_RUNNING);
    add("b", "a", SB_STATE_SHUTOFF);
    add("c", "b", SB_STATE_DISK_SNAPSHOT);
    sb_tree_snapshot s = snap("a", "a", SB_STATE_RUNNING, false);
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("cannot set snapshot a as its own parent");
    s = snap("a", "ghost", SB_STATE_RUNNING, false);
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("parent ghost for snapshot a not found");
    s = snap("a", "c", SB_STATE_RUNNING, false);
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("would create cycle");
    s = snap("a", NULL, SB_STATE_SHUTOFF, false); /* running -> shutoff */
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("cannot change between online and offline snapshot state");
    s = snap("a", NULL, SB_STATE_DISK_SNAPSHOT, false); /* §9.9 */
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("cannot change between online and offline snapshot state");
    s = snap("b", "a", SB_STATE_DISK_SNAPSHOT, false); /* shutoff -> disk-snapshot */
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    MSG_HAS("cannot change between disk only and full system");
    s = snap("c", "b", SB_STATE_SHUTOFF, false);
    FAILS(sb_tree_redefine(t, &s, NULL), SB_ERR_INVALID_ARG);
    /* running <-> paused is online <-> online: allowed; shutoff <-> crashed too */
    s = snap("a", NULL, SB_STATE_PAUSED, false);
    OK(sb_tree_redefine(t, &s, NULL));
    s = snap("b", "a", SB_STATE_CRASHED, false);
    OK(sb_tree_redefine(t, &s, NULL));
    /* nothing above changed the shape */
    assert_string_equal(names(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, false), "a,b,c");
}

/* Replacement keeps children and current, replaces the data, and like
 * libvirt relinks the node at the head of its (new) parent's children. */
static void redefine_replace_keeps_children(void **state)
{
    (void)state;
    add("p", NULL, SB_STATE_RUNNING);
    add("q", NULL, SB_STATE_RUNNING);
    add("s", "p", SB_STATE_RUNNING);
    add("s1", "s", SB_STATE_RUNNING);
    add("s2", "s", SB_STATE_RUNNING);
    add("t2", "p", SB_STATE_RUNNING);
    sb_tree_snapshot x = snap("s", "p", SB_STATE_RUNNING, false);
    x.xml = "<domainsnapshot>v1</domainsnapshot>";
    OK(sb_tree_redefine(t, &x, NULL));
    OK(sb_tree_set_current(t, "s"));
    assert_string_equal(names(t, "p", 0, false), "s,t2"); /* moved to the head */
    x = snap("s", "q", SB_STATE_PAUSED, true);
    x.creation_time = 42;
    x.xml = NULL; /* keeps the stored XML (§9.2) */
    sb_tree_node *n;
    OK(sb_tree_redefine(t, &x, &n));
    assert_string_equal(sb_tree_node_xml(n), "<domainsnapshot>v1</domainsnapshot>");
    assert_int_equal(sb_tree_node_state(n), SB_STATE_PAUSED);
    assert_true(sb_tree_node_external(n));
    assert_int_equal(sb_tree_node_creation_time(n), 42);
    assert_string_equal(names(t, "q", 0, false), "s");
    assert_string_equal(names(t, "p", 0, false), "t2");
    assert_string_equal(names(t, "s", 0, false), "s2,s1");
    assert_ptr_equal(sb_tree_current(t), n);
    /* a redefine of a new name just adds (no current change) */
    x = snap("new", "s1", SB_STATE_RUNNING, false);
    OK(sb_tree_redefine(t, &x, NULL));
    assert_string_equal(names(t, "s", SB_SNAPSHOT_LIST_DESCENDANTS, false), "s2,s1,new");
    OK(sb_tree_set_xml(t, "new", "<x/>"));
    assert_string_equal(sb_tree_node_xml(sb_tree_lookup(t, "new")), "<x/>");
    FAILS(sb_tree_set_xml(t, "zz", "<x/>"), SB_ERR_NO_DOMAIN_SNAPSHOT);
}

/* A deep chain must not recurse: walk, list, delete 50k levels. */
static void deep_chain_no_recursion(void **state)
{
    (void)state;
    enum { N = 50000 };
    char name[32], parent[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(parent, sizeof(parent), "n%d", i - 1);
        sb_tree_snapshot s = snap(name, i ? parent : NULL, SB_STATE_RUNNING, false);
        OK(sb_tree_add(t, &s, NULL));
    }
    assert_int_equal(count(t, "n0", SB_SNAPSHOT_LIST_DESCENDANTS), N - 1);
    /* redefining the whole chain again (same parents) must stay linear:
     * a cycle walk per node would be 1.25e9 steps here */
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(parent, sizeof(parent), "n%d", i - 1);
        sb_tree_snapshot s = snap(name, i ? parent : NULL, SB_STATE_PAUSED, false);
        OK(sb_tree_redefine(t, &s, NULL));
    }
    const sb_tree_node **v;
    size_t n;
    OK(sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, &v, &n));
    assert_int_equal(n, N);
    assert_string_equal(sb_tree_node_name(v[N - 1]), "n49999");
    free(v);
    assert_string_equal(names(t, NULL, SB_SNAPSHOT_LIST_LEAVES, false), "n49999");
    OK(sb_tree_set_current(t, "n49999"));
    OK(sb_tree_remove_subtree(t, "n10", false));
    assert_int_equal(sb_tree_count(t), 11);
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "n10");
}

static void load_rules(void **state)
{
    (void)state;
    sb_tree_snapshot s;
    /* records in any order: children before parents is fine */
    s = snap("kid", "mom", SB_STATE_RUNNING, false);
    OK(sb_tree_load_add(t, &s, true));
    s = snap("mom", NULL, SB_STATE_RUNNING, false);
    OK(sb_tree_load_add(t, &s, true)); /* second current claim: last wins */
    OK(sb_tree_load_finish(t));
    const char *const *w;
    assert_int_equal(sb_tree_warnings(t, &w), 1);
    assert_non_null(strstr(w[0], "more than one current snapshot"));
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "mom");
    assert_string_equal(names(t, "mom", 0, false), "kid");
    sb_tree_clear_warnings(t);
}

static void load_bad_relations(void **state)
{
    (void)state;
    sb_tree_snapshot s;
    s = snap("orphan", "gone", SB_STATE_RUNNING, false);
    OK(sb_tree_load_add(t, &s, false));
    s = snap("self", "self", SB_STATE_RUNNING, false);
    OK(sb_tree_load_add(t, &s, false));
    s = snap("c1", "c2", SB_STATE_RUNNING, false); /* c1 <-> c2 cycle, c3 below */
    OK(sb_tree_load_add(t, &s, true));
    s = snap("c2", "c1", SB_STATE_RUNNING, false);
    OK(sb_tree_load_add(t, &s, false));
    s = snap("c3", "c2", SB_STATE_RUNNING, false);
    OK(sb_tree_load_add(t, &s, false));
    OK(sb_tree_load_finish(t));
    const char *const *w;
    size_t nw = sb_tree_warnings(t, &w);
    assert_int_equal(nw, 4);
    assert_non_null(strstr(w[0], "parent gone for snapshot orphan not found"));
    assert_non_null(strstr(w[1], "self names itself"));
    assert_non_null(strstr(w[2], "would create a cycle"));
    assert_non_null(strstr(w[3], "no current snapshot"));
    assert_null(sb_tree_current(t)); /* inconsistent relations clear current */
    assert_int_equal(sb_tree_count(t), 5);
    /* everything is reachable again, the cycle was cut at one node */
    assert_int_equal(count(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL), 5);
    assert_int_equal(sb_tree_num_roots(t), 3);
    sb_tree_clear_warnings(t);
}

static void load_put_lenient(void **state)
{
    (void)state;
    sb_tree_snapshot s = snap("a", NULL, SB_STATE_RUNNING, false);
    OK(sb_tree_load_put(t, &s));
    s = snap("b", "a", SB_STATE_RUNNING, false);
    OK(sb_tree_load_put(t, &s));
    s = snap("x", "missing", SB_STATE_RUNNING, false);
    OK(sb_tree_load_put(t, &s));
    s = snap("a", "b", SB_STATE_RUNNING, false); /* would be a cycle */
    OK(sb_tree_load_put(t, &s));
    assert_int_equal(sb_tree_warnings(t, NULL), 2);
    assert_null(sb_tree_node_parent(sb_tree_lookup(t, "x")));
    assert_null(sb_tree_node_parent(sb_tree_lookup(t, "a")));
    assert_string_equal(names(t, "a", 0, false), "b");
    sb_tree_clear_warnings(t);
}

/* sb_tree_expect sizes the hash table at once, and is only a hint: a
 * guess too low, too high, or given to a tree that already holds nodes
 * changes nothing a caller sees (teardown runs sb_tree_verify). */
static void expect_hint_is_only_a_hint(void **state)
{
    (void)state;
    char name[32], parent[32];
    add("r", NULL, SB_STATE_RUNNING);
    size_t before = t->nbuckets;
    sb_tree_expect(t, 10); /* too low: nothing changes, the table grows as usual */
    assert_int_equal(t->nbuckets, before);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "n%d", i);
        snprintf(parent, sizeof parent, "n%d", i / 2);
        add(name, i ? parent : "r", SB_STATE_SHUTOFF);
    }
    sb_tree_expect(t, 20000); /* rehashes 5001 nodes into 32768 buckets */
    assert_int_equal(t->nbuckets, 32768);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof name, "n%d", i);
        assert_non_null(sb_tree_lookup(t, name));
    }
    OK(sb_tree_remove(t, "n4999")); /* a freed node is reused */
    add("again", "n1", SB_STATE_SHUTOFF);
    assert_int_equal(sb_tree_count(t), 5001);
    assert_string_equal(sb_tree_node_name(sb_tree_node_parent(sb_tree_lookup(t, "n4998"))),
                        "n2499");

    /* too high, on a new tree: a big table for three nodes */
    sb_tree *big = sb_tree_new();
    assert_non_null(big);
    sb_tree_expect(big, 1u << 20);
    assert_true(big->nbuckets >= (1u << 20));
    sb_tree_snapshot sn = snap("a", NULL, SB_STATE_RUNNING, false);
    OK(sb_tree_add(big, &sn, NULL));
    sn = snap("b", "a", SB_STATE_RUNNING, false);
    OK(sb_tree_add(big, &sn, NULL));
    sn = snap("c", "b", SB_STATE_RUNNING, false);
    OK(sb_tree_add(big, &sn, NULL));
    assert_int_equal(sb_tree_count(big), 3);
    assert_string_equal(sb_tree_node_name(sb_tree_node_parent(sb_tree_lookup(big, "c"))), "b");
    assert_int_equal(sb_tree_verify(big, stderr), 0);
    sb_tree_free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(children_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(add_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(current_get_set, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_reparents_and_moves_current, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_children_current_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_children_only_current_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_children_current_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_subtree_current_is_top, setup, teardown),
        cmocka_unit_test_setup_teardown(redefine_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(redefine_replace_keeps_children, setup, teardown),
        cmocka_unit_test_setup_teardown(deep_chain_no_recursion, setup, teardown),
        cmocka_unit_test_setup_teardown(load_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(load_bad_relations, setup, teardown),
        cmocka_unit_test_setup_teardown(load_put_lenient, setup, teardown),
        cmocka_unit_test_setup_teardown(expect_hint_is_only_a_hint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
