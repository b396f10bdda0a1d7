/* Crash safety: a child commits a deterministic sequence of transactions
 * and is SIGKILLed (also during compactions, which a low threshold makes
 * frequent).  The store must then open and equal the state after exactly
 * the commits the child saw return (A), or after one more (the commit in
 * flight had reached the file): never a mix, never less than what was
 * acknowledged.  A reader that kept the store open across the kill catches
 * up to the same state (the shared page's seq is left odd by a writer
 * killed mid-commit: readers must not trust it).
 *
 * Where the kill lands never depends on the machine's speed: either at a
 * named step (the child's n-th durable call, crash_points.h, where the
 * expected state is known exactly), or from the parent right after it read
 * the child's k-th acknowledgement from a pipe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "core/error.h"
#include "crash_points.h"
#include "store/store_internal.h"
#include "store_helpers.h"
#include "tree_helpers.h"

#define RING 24

/* Transaction k: redefine snapshot s<k%RING> under s<k%RING-1> (if that
 * exists) with an XML naming k, make it current; every 10th transaction
 * instead deletes it with its descendants.  Several ops per transaction,
 * so a torn batch would show as a mix. */
static int step(sb_store *s, int k, bool own_txn)
{
    char name[16], parent[16], xml[700];
    int i = k % RING;
    snprintf(name, sizeof(name), "s%d", i);
    snprintf(parent, sizeof(parent), "s%d", i - 1);
    const sb_tree *t;
    int rc = 0;
    if (own_txn && (rc = sb_store_begin(s)) < 0)
        return rc;
    t = sb_store_tree(s);
    if (k % 10 == 9 && sb_tree_lookup(t, name)) {
        rc = sb_store_delete(s, name, SB_SNAPSHOT_DELETE_CHILDREN);
    } else {
        int len = snprintf(xml, sizeof(xml), "<domainsnapshot><k>%d</k>", k);
        memset(xml + len, 'p', sizeof(xml) - (size_t)len - 1);
        xml[sizeof(xml) - 1] = '\0';
        sb_tree_snapshot x = { .name = name,
                               .parent = (i > 0 && sb_tree_lookup(t, parent)) ? parent : NULL,
                               .state = SB_STATE_RUNNING, .creation_time = k, .xml = xml };
        rc = sb_store_redefine(s, &x);
        if (rc == 0)
            rc = sb_store_set_current(s, name);
    }
    if (own_txn)
        rc = rc < 0 ? sb_store_rollback(s) : sb_store_commit(s);
    return rc;
}

/* Dumps of the reference state after a and after a+1 transactions. */
static void reference(int a, char **after_a, char **after_a1)
{
    char *rdir = make_tmpdir();
    sb_store *r = NULL;
    assert_int_equal(sb_store_open(rdir, "h", "ref", SB_STORE_WRITABLE, &r), 0);
    assert_int_equal(sb_store_begin(r), 0); /* never committed: memory only */
    for (int k = 0; k < a; k++)
        assert_int_equal(step(r, k, false), 0);
    *after_a = dump_store(r);
    assert_int_equal(step(r, a, false), 0);
    *after_a1 = dump_store(r);
    sb_store_close(r);
    rm_rf(rdir);
    free(rdir);
}

/* The child: commit transactions 0, 1, ... and acknowledge each through fd
 * once its commit returned.  max_commits bounds a run that is to be killed
 * at a named step it should have reached long before (exit 5: a hang would
 * otherwise wait for the meson timeout). */
static void child(const char *dir, int fd, int max_commits)
{
    sb_store *s = NULL;
    if (sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s) < 0)
        _exit(2);
    for (int k = 0; k < max_commits; k++) {
        if (step(s, k, true) < 0)
            _exit(3);
        int32_t done = k + 1;
        if (write(fd, &done, sizeof(done)) != (ssize_t)sizeof(done))
            _exit(4);
    }
    _exit(5);
}

/* The store in a fresh directory, or there before the child (created and
 * closed by this process). */
enum { FRESH, PRECREATED };

static void precreate(const char *dir)
{
    sb_store *s = NULL;
    assert_int_equal(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s), 0);
    sb_store_close(s);
}

/* The dry runs: the durable calls a child makes for its first commits, in
 * order, recorded in this process (same code, same data: same calls). */
#define TRACE_COMMITS 80
#define TRACE_CAP 2048
static cp_call traces[2][TRACE_CAP];
static size_t ntraces[2];

static void record_trace(int start)
{
    cp_call *trace = traces[start];
    char *dir = make_tmpdir();
    sb_store *s = NULL;
    if (start == PRECREATED)
        precreate(dir);
    cp_record_start(trace, TRACE_CAP);
    assert_int_equal(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s), 0);
    for (int k = 0; k < TRACE_COMMITS; k++) {
        assert_int_equal(step(s, k, true), 0);
        cp_acked();
    }
    size_t n = ntraces[start] = cp_record_stop();
    sb_store_close(s);
    rm_rf(dir);
    free(dir);
    if (n == 0 || n > TRACE_CAP)
        fail_msg("the dry run saw %zu durable calls: are the --wrap link options of "
                 "tests/store/meson.build still those the store's objects need?", n);
}

/* A kill point: after the child's `after_ack`-th acknowledged commit
 * (parent's SIGKILL, wherever the child is then), or at the child's
 * `call`-th durable call (1-based, traces[start][call - 1]), torn or not. */
typedef struct kill_point {
    int start;     /* FRESH or PRECREATED */
    int after_ack; /* -1: a named step */
    int call;
    bool torn;
} kill_point;

static const cp_call *named_call(const kill_point *kp)
{
    return kp->after_ack < 0 ? &traces[kp->start][kp->call - 1] : NULL;
}

/* Fork a child committing into dir, kill it at kp; returns the commits it
 * acknowledged. */
static int run_and_kill(const char *dir, const kill_point *kp)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        int max = 1000000;
        if (kp->after_ack < 0) {
            max = named_call(kp)->acked + 1;
            cp_arm(kp->call, kp->torn, (unsigned)rand());
        }
        child(dir, p[1], max);
    }
    close(p[1]);
    int32_t v, acked = 0;
    if (kp->after_ack >= 0) {
        while (acked < kp->after_ack && read(p[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
            acked = v;
        kill(pid, SIGKILL);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    while (read(p[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
        acked = v;
    close(p[0]);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        fail_msg("the child was to be killed but %s %d (acked %d)",
                 WIFEXITED(st) ? "exited with" : "died of signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), acked);
    return acked;
}

/* Kill at kp, then: the store opens and holds exactly the state after the
 * acknowledged commits, or after one more when the commit in flight had
 * written its record (exactly that for a named step, where it is known);
 * it checks clean, takes the next commit and keeps it, and a reader open
 * since before the child sees the same.  Returns 1 when the in-flight
 * commit was found complete. */
static int kill_and_check(const kill_point *kp, const char *what)
{
    char *dir = make_tmpdir();
    sb_store *watcher = NULL;
    if (kp->start == PRECREATED)
        precreate(dir);
    assert_int_equal(sb_store_open(dir, "h", "d", 0, &watcher), 0);
    int acked = run_and_kill(dir, kp);
    if (kp->after_ack >= 0 && acked < kp->after_ack)
        fail_msg("%s: the child acknowledged %d commits, fewer than the %d waited for",
                 what, acked, kp->after_ack);
    const cp_call *c = named_call(kp);
    if (c && acked != c->acked)
        fail_msg("%s: the child acknowledged %d commits, the dry run %d before this call",
                 what, acked, c->acked);

    sb_store *s = NULL;
    /* writable: drops a torn tail like the next CLI command would */
    if (sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s) < 0)
        fail_msg("%s (acked %d): %s", what, acked, sb_error_last()->message);
    char *got = dump_store(s);
    char *a = NULL, *a1 = NULL;
    reference(acked, &a, &a1);
    int done = !strcmp(got, a) ? acked : !strcmp(got, a1) ? acked + 1 : -1;
    if (done < 0)
        fail_msg("%s: state after %d acknowledged commits is neither the old nor the new "
                 "one", what, acked);
    if (c && done != acked + c->record_written)
        fail_msg("%s: found the state after %d commits, but the record of commit %d was%s "
                 "written", what, done, acked + 1, c->record_written ? "" : " not");
    char *report = NULL;
    if (sb_store_check(s, &report) < 0)
        fail_msg("%s: check: %s", what, report);
    free(report);
    assert_int_equal(sb_store_refresh(watcher), 0);
    char *seen = dump_store(watcher);
    if (strcmp(seen, got) != 0)
        fail_msg("%s: a reader open across the kill sees another state", what);
    free(seen);
    /* the recovered store takes the next commit, and keeps it */
    assert_int_equal(step(s, done, true), 0);
    char *next = dump_store(s);
    assert_int_equal(sb_store_refresh(watcher), 0);
    seen = dump_store(watcher);
    if (strcmp(seen, next) != 0)
        fail_msg("%s: a reader open across the kill misses the next commit", what);
    free(seen);
    sb_store_close(watcher);
    sb_store_close(s);
    assert_int_equal(sb_store_open(dir, "h", "d", 0, &s), 0);
    char *again = dump_store(s);
    assert_string_equal(next, again);
    sb_store_close(s);
    free(got);
    free(a);
    free(a1);
    free(next);
    free(again);
    rm_rf(dir);
    free(dir);
    return done != acked;
}

static unsigned seed(void)
{
    const char *e = getenv("SB_TEST_SEED");
    unsigned v = e && *e ? (unsigned)strtoul(e, NULL, 0)
                         : (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("# seed %u (SB_TEST_SEED=%u replays this run)\n", v, v);
    return v;
}

/* Every durable call of the log's creation and of the first two
 * compactions, before it and torn: they are few and where a wrong order
 * would lose data. */
static void kill_at_every_log_rewrite_step(void **state)
{
    (void)state;
    sb_store__compact_min = 8192; /* compact every few dozen commits */
    record_trace(FRESH);
    const cp_call *trace = traces[FRESH];
    size_t ntrace = ntraces[FRESH];
    int rewrites = 0, points = 0, complete = 0;
    bool rewriting = true; /* the log's creation comes first */
    for (size_t i = 0; i < ntrace && rewrites < 3; i++) {
        cp_kind k = trace[i].kind;
        if (k == CP_PWRITE)
            rewriting = true; /* a compaction starts with its first chunk */
        if (!rewriting)
            continue;
        for (int torn = 0; torn <= (k == CP_PWRITE); torn++) {
            kill_point kp = { .start = FRESH, .after_ack = -1, .call = (int)i + 1,
                              .torn = torn };
            char what[96];
            snprintf(what, sizeof(what), "kill at call %zu (%s%s, after %d commits)", i + 1,
                     torn ? "torn " : "", cp_kind_name(k), trace[i].acked);
            complete += kill_and_check(&kp, what);
            points++;
        }
        if (k == CP_FSYNC && i > 0 && trace[i - 1].kind == CP_RENAME) {
            rewriting = false; /* the directory's fsync ends it */
            rewrites++;
        }
    }
    print_message("# %d kill points in the log's creation and %d compactions, %d in-flight "
                  "commits found complete\n", points, rewrites - 1, complete);
    assert_int_equal(rewrites, 3);
}

/* Random named steps (any durable call, a record's write torn or not),
 * and real SIGKILLs from the parent after the k-th acknowledged commit,
 * wherever the child is then; every other time with the store there
 * before the child. */
static void kill_at_random_points(void **state)
{
    (void)state;
    sb_store__compact_min = 8192;
    for (int start = FRESH; start <= PRECREATED; start++)
        if (!ntraces[start])
            record_trace(start);
    srand(seed());
    int complete = 0, total_acked = 0;
    for (int it = 0; it < 40; it++) {
        kill_point kp = { .start = it / 2 % 2 ? PRECREATED : FRESH, .after_ack = -1 };
        const char *start = kp.start == PRECREATED ? "store there before" : "fresh";
        char what[128];
        if (it % 2) {
            kp.after_ack = rand() % (TRACE_COMMITS / 2);
            snprintf(what, sizeof(what), "iteration %d (%s, kill after ack %d)", it, start,
                     kp.after_ack);
        } else {
            const cp_call *trace = traces[kp.start];
            kp.call = 1 + rand() % (int)ntraces[kp.start];
            kp.torn = trace[kp.call - 1].kind == CP_PWRITEV && rand() % 2;
            snprintf(what, sizeof(what), "iteration %d (%s, kill at call %d, %s%s)", it, start,
                     kp.call, kp.torn ? "torn " : "", cp_kind_name(trace[kp.call - 1].kind));
        }
        complete += kill_and_check(&kp, what);
        total_acked += kp.after_ack > 0 ? kp.after_ack : 0;
    }
    print_message("# 40 kills, at least %d commits acknowledged, %d in-flight commits found "
                  "complete\n", total_acked, complete);
}

/* The reference really is "the state after a commits": checked against a
 * store that committed them, so the a/a+1 allowance above cannot hide an
 * off-by-one. */
static void reference_matches_committed(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    sb_store *s = NULL;
    assert_int_equal(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s), 0);
    for (int k = 0; k < 37; k++)
        assert_int_equal(step(s, k, true), 0);
    sb_store_close(s);
    assert_int_equal(sb_store_open(dir, "h", "d", 0, &s), 0);
    char *got = dump_store(s), *a = NULL, *a1 = NULL;
    reference(37, &a, &a1);
    assert_string_equal(got, a);
    assert_string_not_equal(got, a1);
    sb_store_close(s);
    free(got);
    free(a);
    free(a1);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_matches_committed),
        cmocka_unit_test(kill_at_every_log_rewrite_step),
        cmocka_unit_test(kill_at_random_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
