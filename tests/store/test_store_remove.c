/* Removing the store of an undefined domain (sb_store_remove): only an
 * empty store goes, with its directory; a handle opened before the
 * removal - a process that waited for the lock meanwhile holds it on the
 * unlinked files - refuses to write instead of writing where no one will
 * read; a read-only look at a domain without a store creates nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/error.h"
#include "store_helpers.h"
#include "tree_helpers.h"

static char path[4096];

static const char *at(const char *rel)
{
    snprintf(path, sizeof(path), "%s/hosts/h/domains/%s", test_dir, rel);
    return path;
}

static sb_store *open_ok(unsigned flags)
{
    sb_store *s = NULL;
    if (sb_store_open(test_dir, "h", "d", flags, &s) < 0)
        fail_msg("open: %s", sb_error_last()->message);
    return s;
}

static void add(sb_store *s, const char *name)
{
    sb_tree_snapshot x = snap(name, NULL, SB_STATE_SHUTOFF, false);
    if (sb_store_create(s, &x) < 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

/* A store that had a snapshot and has none now (a writable handle). */
static sb_store *emptied_store(void)
{
    sb_store *a = open_ok(W);
    add(a, "s1");
    assert_int_equal(sb_store_delete(a, "s1", 0), 0);
    return a;
}

/* Remove it as an undefine does: under the operation lock. */
static void remove_store(sb_store *a)
{
    assert_int_equal(sb_store_operation_begin(a), 0);
    assert_int_equal(sb_store_remove(a), 0);
    sb_store_operation_end(a);
}

static void removes_an_empty_store(void **state)
{
    (void)state;
    sb_store *s = emptied_store();
    remove_store(s);
    sb_store_close(s);
    assert_int_equal(access(at("d"), F_OK), -1);

    /* reading a domain without a store creates nothing */
    s = open_ok(0);
    assert_false(sb_store_on_disk(s));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 0);
    sb_store_close(s);
    assert_int_equal(access(at("d"), F_OK), -1);
}

/* NO_CREATE (check): writable where a store exists, else nothing made */
static void no_create_opens_only_what_exists(void **state)
{
    (void)state;
    sb_store *s = open_ok(W | SB_STORE_NO_CREATE);
    assert_false(sb_store_on_disk(s));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 0);
    sb_tree_snapshot x = snap("s1", NULL, SB_STATE_SHUTOFF, false);
    assert_true(sb_store_create(s, &x) < 0);
    sb_store_close(s);
    assert_int_equal(access(at(""), F_OK), -1);

    s = open_ok(W);
    add(s, "s1");
    sb_store_close(s);
    s = open_ok(W | SB_STORE_NO_CREATE);
    assert_true(sb_store_on_disk(s));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 1);
    add(s, "s2");
    sb_store_close(s);
    s = open_ok(0);
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 2);
    sb_store_close(s);
}

static void keeps_a_store_with_snapshots(void **state)
{
    (void)state;
    sb_store *s = open_ok(W);
    add(s, "s1");
    remove_store(s); /* succeeds, and keeps it */
    sb_store_close(s);
    assert_int_equal(access(at("d/snapshots.log"), F_OK), 0);
    s = open_ok(0);
    assert_true(sb_store_on_disk(s));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 1);
    sb_store_close(s);
}

static void needs_the_operation_lock(void **state)
{
    (void)state;
    sb_store *s = open_ok(W);
    assert_int_equal(sb_store_remove(s), -SB_ERR_INTERNAL_ERROR);
    sb_store_close(s);
    s = open_ok(0);
    assert_int_equal(sb_store_remove(s), -SB_ERR_OPERATION_DENIED);
    sb_store_close(s);
    assert_int_equal(access(at("d/lock"), F_OK), 0);
}

static void an_older_handle_refuses_to_write(void **state)
{
    (void)state;
    sb_store *a = open_ok(W), *b = open_ok(W);
    assert_int_equal(sb_store_operation_begin(a), 0);
    assert_int_equal(sb_store_remove(a), 0);
    sb_store_close(a);
    assert_true(sb_store_removed(b));
    sb_tree_snapshot x = snap("late", NULL, SB_STATE_SHUTOFF, false);
    if (sb_store_create(b, &x) != -SB_ERR_OPERATION_INVALID)
        fail_msg("create on a removed store: %s", sb_error_last()->message);
    assert_non_null(strstr(sb_error_last()->message, "was removed"));
    assert_true(sb_store_operation_begin(b) < 0); /* its oplock file is gone too */
    sb_store_close(b);
    assert_int_equal(access(at("d"), F_OK), -1);

    /* a new handle makes a new store */
    b = open_ok(W);
    assert_false(sb_store_removed(b));
    add(b, "again");
    sb_store_close(b);
    b = open_ok(0);
    assert_int_equal(sb_tree_count(sb_store_tree(b)), 1);
    sb_store_close(b);
}

/* A handle that is caught up with the log answers sb_store_removed from
 * the shared page's seq (no fstat): the removal must change that seq, or
 * a connection's cached handle would never notice. */
static void a_caught_up_reader_notices(void **state)
{
    (void)state;
    sb_store *a = emptied_store();
    sb_store *r = open_ok(0), *w = open_ok(W);
    assert_int_equal(sb_store_refresh(r), 0);
    assert_int_equal(sb_store_refresh(w), 0);
    assert_false(sb_store_removed(r));
    assert_false(sb_store_removed(w));
    remove_store(a);
    assert_true(sb_store_removed(r));
    assert_true(sb_store_removed(w));
    sb_store_close(a);
    sb_store_close(r);
    sb_store_close(w);
    assert_int_equal(access(at("d"), F_OK), -1);
}

/* The same reader, but its refresh runs after the removal and before it
 * asks again (a connection asks sb_store_removed, then refreshes): the
 * refresh says so by class, and does not make the removal look like a
 * seq it has seen. */
static void a_refresh_after_the_removal_keeps_it_visible(void **state)
{
    (void)state;
    sb_store *a = emptied_store();
    sb_store *r = open_ok(0);
    assert_int_equal(sb_store_refresh(r), 0);
    assert_false(sb_store_removed(r));
    remove_store(a);
    assert_int_equal(sb_store_refresh(r), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(sb_error_last()->message, "was removed"));
    assert_true(sb_store_removed(r));
    sb_store_close(a);
    sb_store_close(r);
}

/* The domain undefined, defined again and given a snapshot by another
 * process before the reader refreshes: the refresh reads the new log, but
 * the reader's lock is still on the removed file, so it must go on
 * reporting the removal (its connection then opens the new store). */
static void a_store_made_again_after_the_removal(void **state)
{
    (void)state;
    sb_store *a = emptied_store();
    sb_store *r = open_ok(0);
    assert_int_equal(sb_store_refresh(r), 0);
    remove_store(a);
    sb_store_close(a);
    sb_store *b = open_ok(W);
    add(b, "s2");
    (void)sb_store_refresh(r);
    assert_true(sb_store_removed(r));
    assert_true(sb_store_removed(r)); /* and again: nothing hides it */
    sb_store_close(b);
    sb_store_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(removes_an_empty_store),
        STORE_TEST(a_caught_up_reader_notices),
        STORE_TEST(a_refresh_after_the_removal_keeps_it_visible),
        STORE_TEST(a_store_made_again_after_the_removal),
        STORE_TEST(no_create_opens_only_what_exists),
        STORE_TEST(keeps_a_store_with_snapshots),
        STORE_TEST(needs_the_operation_lock),
        STORE_TEST(an_older_handle_refuses_to_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
