/* The durable store: reopen reproduces state, transactions, name rules,
 * torn tails at every byte, damage in the middle, compaction, check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "store/store_internal.h"
#include "store_helpers.h"
#include "tree_helpers.h"


/* and the compaction threshold some tests lower put back */
static int teardown(void **state)
{
    sb_store__compact_min = SB_STORE_COMPACT_MIN;
    return store_dir_teardown(state);
}
#define TEST(f) cmocka_unit_test_setup_teardown(f, store_dir_setup, teardown)

static sb_store *open_store(unsigned flags)
{
    sb_store *s = NULL;
    int rc = sb_store_open(test_dir, "host1", "dom", flags, &s);
    if (rc < 0)
        fail_msg("open: %s", sb_error_last()->message);
    return s;
}

static void put(sb_store *s, const char *name, const char *parent, int state, const char *xml)
{
    sb_tree_snapshot x = snap(name, parent, state, false);
    x.xml = xml;
    if (sb_store_redefine(s, &x) < 0)
        fail_msg("redefine %s: %s", name, sb_error_last()->message);
}

static void assert_same_on_reopen(sb_store *s)
{
    char *before = dump_store(s);
    sb_store *r = open_store(0);
    char *after = dump_store(r);
    assert_string_equal(before, after);
    char *report = NULL;
    OK(sb_store_check(r, &report));
    free(report);
    free(before);
    free(after);
    sb_store_close(r);
}

static void reopen_reproduces_state(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    put(s, "a", NULL, SB_STATE_RUNNING, "<a/>");
    put(s, "b", "a", SB_STATE_SHUTOFF, "<b/>");
    put(s, "c", "a", SB_STATE_RUNNING, NULL);
    put(s, "d", "b", SB_STATE_DISK_SNAPSHOT, "<d/>");
    put(s, "e", "d", SB_STATE_PAUSED, "<e/>");
    OK(sb_store_set_current(s, "d"));
    assert_same_on_reopen(s);
    OK(sb_store_delete(s, "b", 0)); /* d moves to a, current stays d */
    put(s, "c", "d", SB_STATE_PAUSED, "<c2/>"); /* relink and new data */
    OK(sb_store_set_xml(s, "a", "<a2/>"));
    assert_same_on_reopen(s);
    OK(sb_store_delete(s, "d", SB_SNAPSHOT_DELETE_CHILDREN_ONLY)); /* current d kept */
    assert_string_equal(sb_tree_node_name(sb_tree_current(sb_store_tree(s))), "d");
    assert_same_on_reopen(s);
    OK(sb_store_delete(s, "a", SB_SNAPSHOT_DELETE_CHILDREN));
    assert_null(sb_tree_current(sb_store_tree(s)));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 0);
    assert_same_on_reopen(s);
    sb_store_close(s);
}

/* §5.2: a created snapshot's parent is the current one, and it becomes
 * current; a revert (set_current) changes where the next one hangs. */
static void create_follows_current(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    sb_tree_snapshot x = snap("a", "ignored", SB_STATE_RUNNING, false);
    OK(sb_store_create(s, &x)); /* no current: a root */
    x.name = "b";
    OK(sb_store_create(s, &x));
    OK(sb_store_set_current(s, "a")); /* revert to a */
    x.name = "c";
    OK(sb_store_create(s, &x));
    const sb_tree *t = sb_store_tree(s);
    assert_string_equal(names(t, "a", 0, false), "c,b");
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "c");
    FAILS(sb_store_create(s, &x), SB_ERR_OPERATION_FAILED);
    assert_string_equal(sb_tree_node_name(sb_tree_current(t)), "c");
    assert_same_on_reopen(s);
    sb_store_close(s);
}

/* The store's delete records single removals (deepest first); the result,
 * and what a reopen replays, must be exactly the tree's own subtree rules
 * (which test_tree_vs_libvirt pins to libvirt's). */
static void delete_matches_tree_rules(void **state)
{
    (void)state;
    static const char *const spec[][2] = {
        { "top", NULL }, { "x", "top" }, { "x1", "x" }, { "x2", "x1" }, { "x3", "x1" },
        { "y", "top" }, { "other", NULL },
    };
    static const struct {
        const char *current, *victim;
        unsigned flags;
    } cases[] = {
        { "x2", "x1", 0 },
        { "x2", "x", SB_SNAPSHOT_DELETE_CHILDREN },
        { "x3", "x", SB_SNAPSHOT_DELETE_CHILDREN_ONLY },
        { "x", "top", SB_SNAPSHOT_DELETE_CHILDREN_ONLY },
        { "top", "top", SB_SNAPSHOT_DELETE_CHILDREN },
        { "other", "x1", SB_SNAPSHOT_DELETE_CHILDREN },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        rm_rf(test_dir);
        assert_int_equal(mkdir(test_dir, 0700), 0);
        sb_store *s = open_store(W);
        sb_tree *t = sb_tree_new();
        for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
            put(s, spec[i][0], spec[i][1], SB_STATE_RUNNING, NULL);
            sb_tree_snapshot x = snap(spec[i][0], spec[i][1], SB_STATE_RUNNING, false);
            OK(sb_tree_add(t, &x, NULL));
        }
        OK(sb_store_set_current(s, cases[c].current));
        OK(sb_tree_set_current(t, cases[c].current));
        OK(sb_store_delete(s, cases[c].victim, cases[c].flags));
        if (cases[c].flags)
            OK(sb_tree_remove_subtree(t, cases[c].victim,
                                      cases[c].flags == SB_SNAPSHOT_DELETE_CHILDREN));
        else
            OK(sb_tree_remove(t, cases[c].victim));
        char *want = dump_tree(t), *got = dump_store(s);
        assert_string_equal(got, want);
        assert_same_on_reopen(s);
        free(want);
        free(got);
        sb_tree_free(t);
        sb_store_close(s);
    }
}

static void delete_flags(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    put(s, "a", NULL, SB_STATE_RUNNING, NULL);
    FAILS(sb_store_delete(s, "a", SB_SNAPSHOT_DELETE_CHILDREN |
                                      SB_SNAPSHOT_DELETE_CHILDREN_ONLY), SB_ERR_INVALID_ARG);
    FAILS(sb_store_delete(s, "a", 0x8), SB_ERR_INVALID_ARG);
    FAILS(sb_store_delete(s, "zz", 0), SB_ERR_NO_DOMAIN_SNAPSHOT);
    OK(sb_store_delete(s, "a", SB_SNAPSHOT_DELETE_METADATA_ONLY));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 0);
    sb_store_close(s);
}

static void readonly_missing_store_is_empty(void **state)
{
    (void)state;
    sb_store *s = open_store(0);
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 0);
    sb_tree_snapshot x = snap("a", NULL, SB_STATE_RUNNING, false);
    FAILS(sb_store_add(s, &x), SB_ERR_OPERATION_DENIED);
    sb_store_close(s);
    char *p = NULL;
    assert_true(asprintf(&p, "%s/hosts", test_dir) > 0);
    assert_int_equal(access(p, F_OK), -1); /* nothing created */
    free(p);
}

static void errors_leave_state_unchanged(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    put(s, "a", NULL, SB_STATE_RUNNING, NULL);
    sb_tree_snapshot x = snap("a", NULL, SB_STATE_RUNNING, false);
    FAILS(sb_store_add(s, &x), SB_ERR_OPERATION_FAILED);
    x = snap("a", NULL, SB_STATE_SHUTOFF, false);
    FAILS(sb_store_redefine(s, &x), SB_ERR_INVALID_ARG);
    x = snap("b", "zz", SB_STATE_RUNNING, false);
    FAILS(sb_store_redefine(s, &x), SB_ERR_INVALID_ARG);
    x = snap("b", NULL, 99, false);
    FAILS(sb_store_add(s, &x), SB_ERR_INVALID_ARG);
    FAILS(sb_store_set_current(s, "zz"), SB_ERR_NO_DOMAIN_SNAPSHOT);
    assert_false(sb_store_in_transaction(s)); /* lock released after failures */
    assert_same_on_reopen(s);
    sb_store_close(s);
}

static void names_refused(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    char longname[300];
    memset(longname, 'x', sizeof(longname));
    longname[256] = '\0';
    const char *bad[] = { "a/b", ".hidden", "tab\there", "del\x7f", "\xc3\x28", "\xed\xa0\x80",
                          "\xc0\xaf", "", longname };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sb_tree_snapshot x = snap(bad[i], NULL, SB_STATE_RUNNING, false);
        FAILS(sb_store_add(s, &x), SB_ERR_XML_DETAIL);
        MSG_HAS("invalid snapshot name");
    }
    longname[255] = '\0'; /* 255 bytes: allowed */
    sb_tree_snapshot x = snap(longname, NULL, SB_STATE_RUNNING, false);
    OK(sb_store_add(s, &x));
    x = snap("caf\xc3\xa9 \xe2\x82\xac ok.v1", NULL, SB_STATE_RUNNING, false);
    OK(sb_store_add(s, &x));
    sb_store_close(s);

    sb_store *o = NULL;
    FAILS(sb_store_open(test_dir, "host1", "../etc", W, &o), SB_ERR_INVALID_ARG);
    MSG_HAS("invalid domain name '../etc'");
    FAILS(sb_store_open(test_dir, ".", "dom", W, &o), SB_ERR_INVALID_ARG);
    MSG_HAS("invalid host name");
    FAILS(sb_store_open(test_dir, "h", "a\nb", 0, &o), SB_ERR_INVALID_ARG);
    FAILS(sb_store_open(test_dir, "h", "\xff", 0, &o), SB_ERR_INVALID_ARG);
    assert_null(o);
}

static void transaction_commit_and_rollback(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    put(s, "a", NULL, SB_STATE_RUNNING, NULL);
    char *lp = log_path(test_dir, "host1", "dom");
    off_t size0 = file_size(lp);

    OK(sb_store_begin(s));
    assert_true(sb_store_in_transaction(s));
    FAILS(sb_store_begin(s), SB_ERR_OPERATION_INVALID);
    put(s, "b", "a", SB_STATE_RUNNING, NULL);
    OK(sb_store_set_current(s, "b"));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 2); /* visible in the txn */
    assert_int_equal(file_size(lp), size0);               /* nothing written yet */
    OK(sb_store_rollback(s));
    assert_int_equal(sb_tree_count(sb_store_tree(s)), 1);
    assert_null(sb_tree_current(sb_store_tree(s)));

    OK(sb_store_begin(s));
    put(s, "b", "a", SB_STATE_RUNNING, NULL);
    put(s, "c", "b", SB_STATE_RUNNING, NULL);
    OK(sb_store_set_current(s, "c"));
    OK(sb_store_commit(s));
    assert_true(file_size(lp) > size0);
    FAILS(sb_store_commit(s), SB_ERR_OPERATION_INVALID);
    assert_same_on_reopen(s);

    /* the three ops are one record: cutting one byte off loses them all */
    size_t len = 0;
    unsigned char *b = slurp(lp, &len);
    OK(spit(lp, b, len - 1));
    free(b);
    sb_store *r = open_store(0);
    assert_int_equal(sb_tree_count(sb_store_tree(r)), 1);
    assert_null(sb_tree_current(sb_store_tree(r)));
    sb_store_close(r);
    free(lp);
    sb_store_close(s);
}

/* Build two states; cut the log at every byte of the last record; the
 * previous state must load, and a writer must truncate and go on. */
static void torn_tail_every_offset(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    put(s, "a", NULL, SB_STATE_RUNNING, "<a/>");
    put(s, "b", "a", SB_STATE_RUNNING, "<b/>");
    OK(sb_store_set_current(s, "b"));
    char *old = dump_store(s);
    char *lp = log_path(test_dir, "host1", "dom");
    size_t l1 = (size_t)file_size(lp);
    OK(sb_store_begin(s));
    OK(sb_store_delete(s, "a", 0));
    put(s, "c", "b", SB_STATE_PAUSED, "<c>with some text</c>");
    OK(sb_store_set_current(s, "c"));
    OK(sb_store_commit(s));
    char *new = dump_store(s);
    sb_store_close(s);
    size_t l2 = 0;
    unsigned char *full = slurp(lp, &l2);
    assert_true(l2 > l1);

    for (size_t cut = l1; cut <= l2; cut++) {
        OK(spit(lp, full, cut));
        sb_store *r = open_store(0);
        char *got = dump_store(r);
        assert_string_equal(got, cut == l2 ? new : old);
        const char *const *w;
        size_t nw = sb_store_warnings(r, &w);
        if (cut > l1 && cut < l2)
            assert_true(nw == 1 && strstr(w[0], "incomplete last record"));
        else
            assert_int_equal(nw, 0);
        free(got);
        sb_store_close(r);
    }
    /* a writer drops the torn tail and appends after the valid records */
    OK(spit(lp, full, l1 + 5));
    s = open_store(W);
    assert_int_equal(file_size(lp), (off_t)l1);
    put(s, "z", NULL, SB_STATE_RUNNING, NULL);
    assert_same_on_reopen(s);
    sb_store_close(s);
    free(full);
    free(old);
    free(new);
    free(lp);
}

/* Flip one byte inside the second of three records. */
static void damage_in_the_middle(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    char *lp = log_path(test_dir, "host1", "dom");
    put(s, "one", NULL, SB_STATE_RUNNING, "<one/>");
    size_t off2 = (size_t)file_size(lp);
    put(s, "two", NULL, SB_STATE_RUNNING, "<two/>");
    put(s, "three", NULL, SB_STATE_RUNNING, "<three/>");
    sb_store_close(s);
    size_t len = 0;
    unsigned char *b = slurp(lp, &len);
    b[off2 + 20] ^= 0x55;
    OK(spit(lp, b, len));
    free(b);

    sb_store *r = NULL;
    FAILS(sb_store_open(test_dir, "host1", "dom", 0, &r), SB_ERR_STORE);
    assert_null(r);
    MSG_HAS(lp);
    char where[64];
    snprintf(where, sizeof(where), "offset %zu", off2);
    MSG_HAS(where);
    FAILS(sb_store_open(test_dir, "host1", "dom", W, &r), SB_ERR_STORE);

    /* with ALLOW_DAMAGED: the prefix and the records after the damage load */
    r = open_store(SB_STORE_ALLOW_DAMAGED | W);
    assert_true(sb_store_damaged(r));
    assert_string_equal(names(sb_store_tree(r), NULL, 0, true), "one,three");
    const char *const *w;
    assert_int_equal(sb_store_warnings(r, &w), 1);
    assert_non_null(strstr(w[0], where));
    char *report = NULL;
    FAILS(sb_store_check(r, &report), SB_ERR_STORE);
    assert_non_null(strstr(report, "damaged record"));
    free(report);
    /* writes are refused until repaired */
    sb_tree_snapshot x = snap("four", NULL, SB_STATE_RUNNING, false);
    FAILS(sb_store_add(r, &x), SB_ERR_STORE);
    MSG_HAS("repaired");
    OK(sb_store_repair(r));
    assert_false(sb_store_damaged(r));
    OK(sb_store_add(r, &x));
    sb_store_close(r);
    r = open_store(0);
    assert_string_equal(names(sb_store_tree(r), NULL, 0, true), "four,one,three");
    OK(sb_store_check(r, NULL));
    sb_store_close(r);
    free(lp);
}

static void not_a_log(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    sb_store_close(s);
    char *lp = log_path(test_dir, "host1", "dom");
    OK(spit(lp, (const unsigned char *)"garbage garbage garbage", 23));
    sb_store *r = NULL;
    FAILS(sb_store_open(test_dir, "host1", "dom", 0, &r), SB_ERR_STORE);
    MSG_HAS("not a snapshot log");
    free(lp);
}

static void compaction_keeps_state_and_order(void **state)
{
    (void)state;
    sb_store__compact_min = 4096;
    sb_store *s = open_store(W);
    char *lp = log_path(test_dir, "host1", "dom");
    char xml[512];
    put(s, "root", NULL, SB_STATE_RUNNING, "<r/>");
    for (int i = 0; i < 8; i++) {
        char n[16];
        snprintf(n, sizeof(n), "k%d", i);
        put(s, n, "root", SB_STATE_RUNNING, "<k/>");
    }
    /* rewrite one snapshot's XML many times: garbage accumulates and the
     * commit path compacts on its own */
    off_t peak = 0;
    for (int i = 0; i < 200; i++) {
        memset(xml, 'a' + i % 26, sizeof(xml) - 1);
        xml[sizeof(xml) - 1] = '\0';
        OK(sb_store_set_xml(s, "k3", xml));
        if (file_size(lp) > peak)
            peak = file_size(lp);
    }
    OK(sb_store_set_current(s, "k5"));
    assert_true(file_size(lp) < 3 * 4096 + 2048); /* bounded, not 200 x 512 */
    assert_true(peak < 200 * 512);
    assert_same_on_reopen(s); /* includes sibling order k7..k0 */
    OK(sb_store_compact(s));
    assert_same_on_reopen(s);
    assert_string_equal(names(sb_store_tree(s), "root", 0, false), "k7,k6,k5,k4,k3,k2,k1,k0");
    sb_store_close(s);
    free(lp);
}

/* At the shipped threshold: a domain with a few snapshots, created and
 * deleted over and over as a user's daily snapshots are, keeps a log a
 * new process reads in a few pages.  Every CLI call replays the whole log;
 * with the 1 MiB threshold of before, such a log grew to 1.5 MiB of
 * superseded records (fails there: the bound below). */
static void churned_small_domain_stays_small(void **state)
{
    (void)state;
    assert_int_equal(sb_store__compact_min, SB_STORE_COMPACT_MIN);
    sb_store *s = open_store(W);
    char *lp = log_path(test_dir, "host1", "dom");
    char xml[2048]; /* a snapshot with its <domain>: 1-3 KiB */
    memset(xml, 'd', sizeof(xml) - 1);
    xml[sizeof(xml) - 1] = '\0';
    put(s, "base", NULL, SB_STATE_SHUTOFF, xml);
    off_t peak = 0;
    for (int i = 0; i < 400; i++) {
        uint64_t id = 0;
        OK(sb_store_intent_begin(s, "create", "daily", xml, &id));
        OK(sb_store_begin(s));
        sb_tree_snapshot x = snap("daily", NULL, SB_STATE_RUNNING, false);
        x.xml = xml;
        OK(sb_store_create(s, &x));
        OK(sb_store_intent_end(s, id));
        OK(sb_store_commit(s));
        OK(sb_store_delete(s, "daily", 0));
        if (file_size(lp) > peak)
            peak = file_size(lp);
    }
    /* 400 cycles wrote about 1.7 MiB; live data is one snapshot */
    if (peak >= 160 << 10)
        fail_msg("the log reached %lld bytes", (long long)peak);
    assert_same_on_reopen(s);
    sb_store_close(s);
    free(lp);
}

/* Another handle's commits are seen by refresh and by begin. */
static void two_handles_see_each_other(void **state)
{
    (void)state;
    sb_store *a = open_store(W);
    sb_store *b = open_store(W);
    put(a, "x", NULL, SB_STATE_RUNNING, NULL);
    put(b, "y", "x", SB_STATE_RUNNING, NULL); /* b's begin replays a's x */
    OK(sb_store_refresh(a));
    assert_string_equal(names(sb_store_tree(a), NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, false),
                        "x,y");
    /* a compacts: b notices the new file and reloads in full */
    OK(sb_store_compact(a));
    put(b, "z", "y", SB_STATE_RUNNING, NULL);
    OK(sb_store_refresh(a));
    char *da = dump_store(a), *db = dump_store(b);
    assert_string_equal(da, db);
    free(da);
    free(db);
    sb_store_close(a);
    sb_store_close(b);
}

static void check_reports_ok(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    put(s, "a", NULL, SB_STATE_RUNNING, NULL);
    char *report = NULL;
    OK(sb_store_check(s, &report));
    assert_non_null(strstr(report, "1 record(s)"));
    free(report);
    sb_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(reopen_reproduces_state),
        TEST(create_follows_current),
        TEST(delete_matches_tree_rules),
        TEST(delete_flags),
        TEST(readonly_missing_store_is_empty),
        TEST(errors_leave_state_unchanged),
        TEST(names_refused),
        TEST(transaction_commit_and_rollback),
        TEST(torn_tail_every_offset),
        TEST(damage_in_the_middle),
        TEST(not_a_log),
        TEST(compaction_keeps_state_and_order),
        TEST(churned_small_domain_stays_small),
        TEST(two_handles_see_each_other),
        TEST(check_reports_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
