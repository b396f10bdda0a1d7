/* The libvirt plugin out of memory, one allocation at a time, on
 * libvirt's in-process test driver (libvirt 9.0, a real libvirt
 * component): each operation runs on a test driver instance of its own
 * (lvt_new_node: the domain "test", running) holding snapshots a <- b (b
 * current), with one allocation of the plugin's own code failing.
 *
 * After every run, whatever it answered: the tree the plugin reads again
 * is the one before the operation or after it (a delete with its children
 * may stop between its snapshots, each one a libvirt call of its own), and,
 * left unfinished, the same operation then succeeds on the same
 * connection.  libvirt keeps the metadata, so nothing else can be
 * half-written.
 *
 * Nothing real runs out of memory on demand, so the failing allocator
 * (tests/common/failing_alloc.c) is this test's one stand-in: it fails only
 * the chosen call made directly from the plugin's libvirt.so (libvirt's
 * own libvirt.so.0, libxml2, the broker and the test itself are never
 * failed).  Every allocation of each operation is failed once;
 * OOM_STRIDE=n takes every n-th, OOM_ONLY=case runs one case,
 * OOM_TRACE=1 prints each answer.  Not built under AddressSanitizer,
 * which owns malloc there. */
#include "lvt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oom_walk.h"

#define DOM "test"

static void *make(void)
{
    struct lvt *t = lvt_new_node();
    assert_int_equal(fa_watch("libvirt.so"), 0);
    lvt_ok(lvt_create(t->c, DOM, "a", 0), "create a");
    lvt_ok(lvt_create(t->c, DOM, "b", 0), "create b");
    return t;
}

static sb_connection *conn(void *t)
{
    return ((struct lvt *)t)->c;
}

static const char *domain(void *t)
{
    (void)t;
    return DOM;
}

static void done(void *t)
{
    lvt_free(t);
}

static const struct oom_case lv_case = {"the plugin", 0, make, conn, domain, NULL, NULL, done};

static int create_c(const struct oom_case *c, void *t)
{
    (void)c;
    return lvt_create(conn(t), DOM, "c", 0);
}

static const struct oom_op create = {"create", create_c, NULL};


static int teardown(void **state)
{
    (void)state;
    lvt_cleanup_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OOM_TEST("walk_create", &lv_case, &create),
        OOM_TEST("walk_revert", &lv_case, &oom_revert_a),
        OOM_TEST("walk_delete", &lv_case, &oom_delete_a),
        OOM_TEST("walk_delete_tree", &lv_case, &oom_delete_a_children),
        OOM_TEST("walk_dumpxml", &lv_case, &oom_dumpxml_b),
    };
    if (getenv("OOM_ONLY"))
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, NULL, teardown);
}
