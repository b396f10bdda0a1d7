/* Several processes on one store: no lost updates, intents survive their
 * process and are told apart from live operations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "core/error.h"
#include "store/store_internal.h"
#include "store_helpers.h"
#include "tree_helpers.h"

#define NPROC 4
#define PER 25


static sb_store *open_w(void)
{
    sb_store *s = NULL;
    if (sb_store_open(test_dir, "h", "d", SB_STORE_WRITABLE, &s) < 0)
        return NULL;
    return s;
}

/* Worker: PER snapshots of its own chain, and PER read-modify-write
 * increments of a shared counter kept in the XML of "counter". */
static int worker(int id)
{
    sb_store *s = open_w();
    if (!s)
        return 2;
    for (int j = 0; j < PER; j++) {
        char name[32], parent[32];
        snprintf(name, sizeof(name), "p%d-%d", id, j);
        snprintf(parent, sizeof(parent), "p%d-%d", id, j - 1);
        sb_tree_snapshot x = snap(name, j ? parent : NULL, SB_STATE_RUNNING, false);
        if (sb_store_add(s, &x) < 0)
            return 3;
        if (sb_store_begin(s) < 0)
            return 4;
        const char *v = sb_tree_node_xml(sb_tree_lookup(sb_store_tree(s), "counter"));
        char next[32];
        snprintf(next, sizeof(next), "%d", atoi(v) + 1);
        if (sb_store_set_xml(s, "counter", next) < 0 || sb_store_commit(s) < 0)
            return 5;
    }
    sb_store_close(s);
    return 0;
}

static void no_lost_updates(void **state)
{
    (void)state;
    sb_store *s = open_w();
    assert_non_null(s);
    sb_tree_snapshot c = snap("counter", NULL, SB_STATE_SHUTOFF, false);
    c.xml = "0";
    OK(sb_store_add(s, &c));
    sb_store_close(s); /* workers must not inherit a live handle */
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(worker(i));
    }
    for (int i = 0; i < NPROC; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    s = open_w();
    assert_non_null(s);
    const sb_tree *t = sb_store_tree(s);
    assert_int_equal(sb_tree_count(t), NPROC * PER + 1);
    char expect[16];
    snprintf(expect, sizeof(expect), "%d", NPROC * PER);
    assert_string_equal(sb_tree_node_xml(sb_tree_lookup(t, "counter")), expect);
    sb_store_close(s);
}

/* A process that began an intent and died leaves it pending, with what
 * it was about to do; resolving it together with the metadata is atomic. */
static void intent_survives_crash(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        sb_store *c = open_w();
        uint64_t id;
        if (!c || sb_store_intent_begin(c, "create", "s1", "<domainsnapshot/>", &id) < 0)
            _exit(2);
        /* "crash": no intent_end.  Closing only frees memory (so valgrind
         * stays quiet) and drops the flocks, as process death would. */
        sb_store_close(c);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_int_equal(WEXITSTATUS(st), 0);

    sb_store *s = open_w();
    sb_store_intent *v;
    size_t n;
    OK(sb_store_pending_intents(s, 0, &v, &n));
    assert_int_equal(n, 1);
    assert_string_equal(v[0].op, "create");
    assert_string_equal(v[0].snapshot, "s1");
    assert_string_equal(v[0].payload, "<domainsnapshot/>");
    assert_int_equal(v[0].pid, pid);
    uint64_t id = v[0].id;
    free(v);
    char *report = NULL;
    OK(sb_store_check(s, &report)); /* pending intents are notes, not damage */
    assert_non_null(strstr(report, "unresolved intent"));
    free(report);

    /* adopt: metadata and resolution in one batch */
    OK(sb_store_begin(s));
    sb_tree_snapshot x = snap("s1", NULL, SB_STATE_RUNNING, false);
    OK(sb_store_add(s, &x));
    OK(sb_store_intent_end(s, id));
    OK(sb_store_commit(s));
    FAILS(sb_store_intent_end(s, id), SB_ERR_INVALID_ARG);
    sb_store_close(s);

    s = open_w();
    OK(sb_store_pending_intents(s, 0, &v, &n));
    assert_int_equal(n, 0);
    free(v);
    assert_non_null(sb_tree_lookup(sb_store_tree(s), "s1"));
    sb_store_close(s);
}

/* An intent of a process that is still working is not "pending": the
 * reconciler waits for (or, with NOWAIT, is refused by) its oplock. */
static void live_intent_is_not_pending(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        sb_store *c = open_w();
        uint64_t id;
        if (!c || sb_store_intent_begin(c, "delete", "s9", "", &id) < 0)
            _exit(2);
        if (write(p[1], "r", 1) != 1)
            _exit(3);
        for (;;)
            pause(); /* "working on the hypervisor" */
    }
    close(p[1]);
    char ch;
    assert_int_equal(read(p[0], &ch, 1), 1);
    close(p[0]);
    sb_store *s = open_w();
    sb_store_intent *v;
    size_t n;
    FAILS(sb_store_pending_intents(s, SB_STORE_NOWAIT, &v, &n), SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(sb_error_last()->message, "another process is operating"));
    /* another writer can still change metadata meanwhile (oplock != lock) */
    sb_tree_snapshot x = snap("other", NULL, SB_STATE_RUNNING, false);
    OK(sb_store_add(s, &x));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    OK(sb_store_pending_intents(s, SB_STORE_NOWAIT, &v, &n));
    assert_int_equal(n, 1);
    assert_string_equal(v[0].snapshot, "s9");
    free(v);
    sb_store_close(s);
}

static void own_intents_and_rules(void **state)
{
    (void)state;
    sb_store *s = open_w();
    uint64_t a, b;
    OK(sb_store_intent_begin(s, "create", "x", "p", &a));
    OK(sb_store_intent_begin(s, "revert", "y", "", &b));
    assert_true(b > a);
    sb_store_intent *v;
    size_t n;
    OK(sb_store_pending_intents(s, SB_STORE_NOWAIT, &v, &n));
    assert_int_equal(n, 0); /* this handle's own intents are live */
    free(v);
    OK(sb_store_begin(s));
    FAILS(sb_store_intent_begin(s, "create", "z", "", NULL), SB_ERR_OPERATION_INVALID);
    FAILS(sb_store_pending_intents(s, 0, &v, &n), SB_ERR_OPERATION_INVALID);
    OK(sb_store_rollback(s));
    FAILS(sb_store_intent_end(s, 12345), SB_ERR_INVALID_ARG);
    OK(sb_store_compact(s)); /* unresolved intents survive compaction */
    OK(sb_store_intent_end(s, a));

    sb_store *o = open_w();
    /* b is still s's: o must not get the oplock while s holds it */
    FAILS(sb_store_pending_intents(o, SB_STORE_NOWAIT, &v, &n), SB_ERR_OPERATION_INVALID);
    OK(sb_store_intent_end(s, b)); /* s owns none now: oplock released */
    OK(sb_store_pending_intents(o, SB_STORE_NOWAIT, &v, &n));
    assert_int_equal(n, 0);
    free(v);
    sb_store_close(o);

    /* read-only handles cannot begin intents */
    sb_store *r = NULL;
    OK(sb_store_open(test_dir, "h", "d", 0, &r));
    FAILS(sb_store_intent_begin(r, "create", "x", "", NULL), SB_ERR_OPERATION_DENIED);
    sb_store_close(r);
    sb_store_close(s);
}

/* An intent whose own commit triggers a compaction is kept: the compaction
 * rewrites the log from memory, which must already hold the intent. */
static void intent_kept_by_compaction(void **state)
{
    (void)state;
    sb_store *s = open_w();
    assert_non_null(s);
    sb_tree_snapshot x = snap("a", NULL, SB_STATE_RUNNING, false);
    OK(sb_store_add(s, &x));
    char *lp = log_path(test_dir, "h", "d");
    struct stat before, after;
    assert_int_equal(stat(lp, &before), 0);
    size_t saved_min = sb_store__compact_min;
    sb_store__compact_min = 0;
    s->garbage = (size_t)1 << 40; /* make the next commit compact */
    uint64_t id;
    OK(sb_store_intent_begin(s, "create", "b", "payload", &id));
    sb_store__compact_min = saved_min;
    assert_int_equal(stat(lp, &after), 0);
    assert_true(before.st_ino != after.st_ino); /* it did compact */
    sb_store_close(s); /* the owner goes away without resolving it */
    s = open_w();
    sb_store_intent *v;
    size_t n;
    OK(sb_store_pending_intents(s, SB_STORE_NOWAIT, &v, &n));
    assert_int_equal(n, 1);
    assert_int_equal(v[0].id, id);
    assert_string_equal(v[0].payload, "payload");
    free(v);
    assert_non_null(sb_tree_lookup(sb_store_tree(s), "a"));
    sb_store_close(s);
    free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(no_lost_updates),
        STORE_TEST(intent_survives_crash),
        STORE_TEST(live_intent_is_not_pending),
        STORE_TEST(own_intents_and_rules),
        STORE_TEST(intent_kept_by_compaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
