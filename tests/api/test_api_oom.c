/* The broker out of memory, one allocation at a time: for every
 * allocation the library's own code makes during an operation, the
 * operation runs once with that allocation failing (the walk SQLite's
 * tests make), through the public API on the reference plugin "ref" (a
 * test fixture standing in for a hypervisor: tests/plugins/reference).
 *
 * The first run of each operation fails nothing: what it leaves is the
 * state "after".  After every run, whatever it answered:
 *   - an error carries a message;
 *   - the connection's view of the tree (every snapshot, its parent, the
 *     current one) is what a new connection reads from disk: a failure
 *     left nothing half-done in memory or in the store;
 *   - that view is the state before the operation or after it;
 *   - left before, the same operation run again without a failure
 *     succeeds on the same connection, and leaves the state after.
 * A read-only operation changes nothing and, when it succeeds, answers
 * what it answers without a failure.
 *
 * Nothing real runs out of memory on demand, so the failing allocator
 * (tests/common/failing_alloc.c) is this test's one stand-in: it fails only
 * the chosen call made directly from libsnapbroker's code (libxml2, libc,
 * the plugin and the test itself are never failed).  Not built under
 * AddressSanitizer, which owns malloc there; under valgrind (scripts/test
 * runs the api suite so) the injection still works, and valgrind reports
 * what a failure path leaked.  OOM_ONLY=case runs one case, OOM_TRACE=1
 * prints each run's answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "api_fixture.h"
#include "oom_walk.h"

#define URI "ref:///default"
#define DOM "test"

static struct api_fx *F;
static char *exported; /* the base tree, as sb_snapshot_export gives it */

/* ---- the tree as a string (oom_tree) ---------------------------------- */

static char *view_of(sb_connection *c)
{
    return oom_tree(c, DOM);
}

/* The tree as a new connection reads it from disk. */
static char *view_on_disk(void)
{
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    if (sb_broker_new(&b, NULL) < 0 || sb_connect(&c, b, URI, 0) < 0)
        fail_msg("connect: %s", sb_error_last()->message);
    char *v = view_of(c);
    sb_disconnect(c);
    sb_broker_free(b);
    return v;
}

static const char BASE[] = "s1,s2,s3 s1< s2<s1 s3<s2 current=s3";

/* ---- helpers that must not fail (nothing is failing then) -------------- */

static void ok(int rc, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s", what, sb_error_last()->message);
}

/* Back to BASE from any state an operation below leaves. */
static void restore(void)
{
    char **names = NULL;
    size_t n = 0;
    ok(sb_snapshot_list(&names, &n, F->c, DOM, NULL, SB_SNAPSHOT_LIST_ROOTS), "roots");
    for (size_t i = 0; i < n; i++)
        ok(sb_snapshot_delete(F->c, DOM, names[i],
                              SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY),
           "delete all");
    sb_names_free(names, n);
    ok(sb_snapshot_import(NULL, F->c, DOM, exported, strlen(exported), "base", NULL, 0,
                          SB_SNAPSHOT_IMPORT_CURRENT),
       "import the base");
}

/* ---- the operations ------------------------------------------------------ */

struct op {
    const char *name;
    int reads;              /* changes nothing */
    void (*prepare)(void);  /* from BASE to the state it starts from (may be NULL) */
    int (*run)(void);
};

static void to_empty(void)
{
    ok(sb_snapshot_delete(F->c, DOM, "s1",
                          SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY),
       "empty");
}

static char *redefined; /* s3's document named x: a sibling of s3 */

static int op_redefine(void)
{
    return sb_snapshot_create_xml(NULL, F->c, DOM, redefined,
                                  SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT);
}

static int op_create(void)
{
    char *name = NULL;
    int rc = sb_snapshot_create_xml(&name, F->c, DOM,
                                    "<domainsnapshot><name>y</name></domainsnapshot>", 0);
    free(name);
    return rc;
}

static int op_delete_meta(void)
{
    return sb_snapshot_delete(F->c, DOM, "s2", SB_SNAPSHOT_DELETE_METADATA_ONLY);
}

static int op_delete_children(void)
{
    return sb_snapshot_delete(F->c, DOM, "s2",
                              SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY);
}

static int op_delete(void)
{
    return sb_snapshot_delete(F->c, DOM, "s3", 0);
}

static int op_revert(void)
{
    return sb_snapshot_revert(F->c, DOM, "s1", 0);
}

static int op_set_current(void)
{
    return sb_snapshot_set_current(F->c, DOM, "s1");
}

static int op_import(void)
{
    size_t n = 0;
    return sb_snapshot_import(&n, F->c, DOM, exported, strlen(exported), "exported", NULL, 0,
                              SB_SNAPSHOT_IMPORT_CURRENT);
}

/* Reads: each answer compared with the one a run without failures gave. */
static char *read_answer;

static int op_reads(void)
{
    char *x = NULL, *e = NULL, **names = NULL;
    size_t n = 0;
    int rc = sb_snapshot_get_xml(&x, F->c, DOM, "s2", 0);
    if (rc == 0)
        rc = sb_snapshot_export(&e, F->c, DOM, NULL, 0);
    if (rc == 0)
        rc = sb_snapshot_list(&names, &n, F->c, DOM, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL);
    if (rc == 0) {
        size_t len = strlen(x) + strlen(e) + 64;
        for (size_t i = 0; i < n; i++)
            len += strlen(names[i]) + 1;
        char *all = malloc(len);
        assert_non_null(all);
        int off = snprintf(all, len, "%s|%s|", x, e);
        for (size_t i = 0; i < n; i++)
            off += snprintf(all + off, len - (size_t)off, "%s,", names[i]);
        if (!read_answer)
            read_answer = all;
        else {
            assert_string_equal(all, read_answer);
            free(all);
        }
    }
    free(x);
    free(e);
    sb_names_free(names, n);
    return rc;
}

/* A new connection to an existing store, its tree read cold. */
static int op_connect(void)
{
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc = sb_broker_new(&b, NULL);
    if (rc == 0)
        rc = sb_connect(&c, b, URI, 0);
    if (rc == 0)
        rc = sb_snapshot_list(&names, &n, c, DOM, NULL, 0);
    if (rc == 0)
        assert_int_equal(n, 3);
    sb_names_free(names, n);
    sb_disconnect(c);
    sb_broker_free(b);
    return rc;
}

/* ---- the walk ------------------------------------------------------------ */

/* The view the run without a failure left (the walk's first run). */
static char *after;

static const char *want_after(const struct op *o)
{
    (void)o;
    return after;
}

/* The view must be the same in memory and on disk, and before or after
 * (once "after" is known). */
static char *check_views(const struct op *o, const char *before)
{
    char *mine = view_of(F->c), *disk = view_on_disk();
    if (strcmp(mine, disk))
        fail_msg("%s: the connection sees '%s', the disk holds '%s'", o->name, mine, disk);
    if (want_after(o) && strcmp(mine, before) && strcmp(mine, want_after(o)))
        fail_msg("%s: the tree is '%s', neither before ('%s') nor after ('%s')", o->name, mine,
                 before, want_after(o));
    free(disk);
    return mine;
}

static int run_op(void *o)
{
    return ((const struct op *)o)->run();
}

/* Run o with allocation `at` failing (0: none); 1 when it happened. */
static int run_failing(const struct op *o, long at, long *out_calls)
{
    if (o->prepare)
        o->prepare();
    char *before = view_of(F->c);
    int rc;
    int hit = oom_run(o->name, at, run_op, (void *)o, &rc, out_calls);
    char *now = check_views(o, before);
    if (rc == 0 && strcmp(now, want_after(o)))
        fail_msg("%s succeeded, but the tree is '%s', not '%s'", o->name, now, want_after(o));
    if (strcmp(now, want_after(o))) { /* left before: the handle still works */
        ok(o->run(), o->name);
        free(now);
        now = check_views(o, before);
        assert_string_equal(now, want_after(o));
    }
    free(now);
    free(before);
    restore();
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
    if (o->prepare)
        o->prepare();
    char *before = view_of(F->c);
    ok(o->run(), o->name);
    after = check_views(o, before);
    if (o->reads)
        assert_string_equal(after, before);
    free(before);
    restore();
    run_failing(o, 0, &total);
    oom_walk(o->name, "the library", total, 0, step, (void *)o);
    free(after);
    after = NULL;
}

#define OP(n, reads, prep)                                                                    \
    static void walk_##n(void **state)                                                        \
    {                                                                                         \
        (void)state;                                                                          \
        const struct op o = {#n, reads, prep, op_##n};                                        \
        walk(&o);                                                                             \
    }

OP(redefine, 0, NULL)
OP(create, 0, NULL)
OP(delete_meta, 0, NULL)
OP(delete_children, 0, NULL)
OP(delete, 0, NULL)
OP(revert, 0, NULL)
OP(set_current, 0, NULL)
OP(import, 0, to_empty)
OP(reads, 1, NULL)
OP(connect, 1, NULL)

/* ---- setup ------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    F = api_fx_open(URI, 0);
    static const char *const names[] = {"s1", "s2", "s3"};
    for (int i = 0; i < 3; i++) {
        char xml[128];
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", names[i]);
        ok(sb_snapshot_create_xml(NULL, F->c, DOM, xml, 0), "create");
    }
    ok(sb_snapshot_export(&exported, F->c, DOM, NULL, SB_SNAPSHOT_XML_SECURE), "export");
    char *s3 = NULL;
    ok(sb_snapshot_get_xml(&s3, F->c, DOM, "s3", SB_SNAPSHOT_XML_SECURE), "s3");
    const char *at = strstr(s3, "<name>s3</name>");
    assert_non_null(at);
    size_t len = strlen(s3) + 8;
    redefined = malloc(len);
    assert_non_null(redefined);
    snprintf(redefined, len, "%.*s<name>x</name>%s", (int)(at - s3), s3, at + 15);
    free(s3);
    char *v = view_of(F->c);
    assert_string_equal(v, BASE);
    free(v);
    return fa_watch("libsnapbroker.so.0");
}

static int teardown(void **state)
{
    (void)state;
    api_fx_close(F);
    free(exported);
    free(redefined);
    free(read_answer);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_redefine),
        cmocka_unit_test(walk_create),
        cmocka_unit_test(walk_delete_meta),
        cmocka_unit_test(walk_delete_children),
        cmocka_unit_test(walk_delete),
        cmocka_unit_test(walk_revert),
        cmocka_unit_test(walk_set_current),
        cmocka_unit_test(walk_import),
        cmocka_unit_test(walk_reads),
        cmocka_unit_test(walk_connect),
    };
    if (getenv("OOM_ONLY"))
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
