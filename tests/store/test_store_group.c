/* Group commit (docs/store.md): writers that append while another one's
 * fdatasync is pending share it, and the loader tells the torn tail of a
 * group (records appended before anything after the damage was durable)
 * from damage in the middle.
 *
 * fdatasync is --wrap'ed (tests/store/meson.build): the wrapper counts
 * calls and can hold the first call after arming until the test says go,
 * so "B and C append while A's fdatasync is pending" is a sequence of
 * events, not a race. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "core/error.h"
#include "store/log_format.h"
#include "store/store.h"
#include "store_helpers.h"

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static struct {
    int calls;
    int hold_fd_in, hold_fd_out; /* >= 0: the next call reports and waits */
} fs = { 0, -1, -1 };

int __wrap_fdatasync(int fd)
{
    fs.calls++;
    if (fs.hold_fd_out >= 0) {
        char c = 'h';
        if (write(fs.hold_fd_out, &c, 1) != 1 || read(fs.hold_fd_in, &c, 1) != 1)
            _exit(3);
        fs.hold_fd_in = fs.hold_fd_out = -1;
    }
    return __real_fdatasync(fd);
}


static void put_commit(sb_store *s, const char *name)
{
    sb_tree_snapshot x = { .name = name, .state = SB_STATE_RUNNING, .xml = "<x/>" };
    OK(sb_store_begin(s));
    OK(sb_store_add(s, &x));
    OK(sb_store_commit(s));
}

/* Wait (a hang deadline only) until fd has a byte, and read it. */
static void wait_byte(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 120000), 1);
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A child that opens the store, then on each byte from `go` commits one
 * snapshot named after the byte; with hold, its first fdatasync after
 * the open reports on `held` and waits for another byte on `go`.  It
 * writes its fdatasync count (after the open) on `done` and exits. */
static pid_t writer(const char *dir, const char *name, int go, int held, int done, bool hold,
                    bool op)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid)
        return pid;
    /* a failed assertion leaves no writer blocked behind the test */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    sb_store *s = NULL;
    if (sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s) < 0)
        _exit(2);
    /* op: in a metadata operation from before "ready" until it exits, as
     * a redefine is while it prepares its record */
    if (op && sb_store_operation_begin_shared(s) < 0)
        _exit(2);
    char c = 'r';
    if (write(done, &c, 1) != 1) /* ready */
        _exit(2);
    if (read(go, &c, 1) != 1)
        _exit(2);
    fs.calls = 0;
    if (hold) {
        fs.hold_fd_in = go;
        fs.hold_fd_out = held;
    }
    sb_tree_snapshot x = { .name = name, .state = SB_STATE_RUNNING, .xml = "<x/>" };
    if (sb_store_begin(s) < 0 || sb_store_add(s, &x) < 0 || sb_store_commit(s) < 0)
        _exit(4);
    int n = fs.calls;
    if (write(done, &n, sizeof(n)) != (ssize_t)sizeof(n))
        _exit(2);
    sb_store_close(s);
    _exit(0);
}

static int read_count(int fd, pid_t pid)
{
    int n = -1;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 120000), 1);
    assert_int_equal(read(fd, &n, sizeof(n)), (ssize_t)sizeof(n));
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return n;
}

static void wait_appended(const char *lp, off_t before)
{
    for (int t = 0; size_of(lp) == before; t++) { /* its record is in the file */
        assert_true(t < 120000);
        usleep(1000);
    }
}

/* A store holding "first", and n writers (writer()) on it, opened and
 * waiting for their byte; writer i holds its fdatasync when bit i of
 * holds is set, and is in an operation when bit i of ops is.  All of them
 * report a hold on held[0]. */
struct writers {
    char *dir, *log;
    int n, go[4][2], done[4][2], held[2];
    pid_t pid[4];
};

static void writers_start(struct writers *w, const char *const *names, int n, unsigned holds,
                          unsigned ops)
{
    sb_store *s = NULL;
    w->dir = make_tmpdir();
    w->n = n;
    OK(sb_store_open(w->dir, "h", "d", SB_STORE_WRITABLE, &s)); /* the store exists */
    put_commit(s, "first");
    sb_store_close(s);
    w->log = log_path(w->dir, "h", "d");
    assert_int_equal(pipe(w->held), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(pipe(w->go[i]) | pipe(w->done[i]), 0);
        w->pid[i] = writer(w->dir, names[i], w->go[i][0], w->held[1], w->done[i][1],
                           holds & (1u << i), ops & (1u << i));
        wait_byte(w->done[i][0]); /* opened */
    }
}

static void writers_go(struct writers *w, int i)
{
    char c = 'g';
    assert_int_equal(write(w->go[i][1], &c, 1), 1);
}

/* Every name is in the store; the pipes and the scratch dir are gone. */
static void writers_finish(struct writers *w, const char *const *names)
{
    sb_store *s = NULL;
    for (int i = 0; i < w->n; i++)
        close(w->go[i][0]), close(w->go[i][1]), close(w->done[i][0]), close(w->done[i][1]);
    close(w->held[0]), close(w->held[1]);
    OK(sb_store_open(w->dir, "h", "d", 0, &s));
    for (int i = 0; i < w->n; i++)
        assert_non_null(sb_tree_lookup(sb_store_tree(s), names[i]));
    sb_store_close(s);
    free(w->log);
    rm_rf(w->dir);
    free(w->dir);
}

/* K commits with nobody waiting and everything before its record durable:
 * it syncs alone, before its unlock, and is killed in that fdatasync.
 * Its record is in the file (the page cache outlives it) but not known
 * durable, so the next writers take the group way.  A appends and holds
 * its fdatasync (under the sync lock).  Meanwhile B and C append and
 * queue for the sync lock.  The first of them to get it syncs what both
 * appended; the other finds itself covered: three commits, two
 * fdatasyncs.  (A cannot cover them: they appended after its fdatasync
 * began.) */
static void queued_writers_share_one_fdatasync(void **state)
{
    (void)state;
    const char *const names[4] = { "k", "a", "b", "c" };
    struct writers w;
    writers_start(&w, names, 4, 0x3, 0);

    off_t before = size_of(w.log);
    writers_go(&w, 0);
    wait_byte(w.held[0]); /* K appended and is in its fdatasync */
    assert_true(size_of(w.log) > before);
    assert_int_equal(kill(w.pid[0], SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(w.pid[0], &st, 0), w.pid[0]);
    assert_true(WIFSIGNALED(st));

    writers_go(&w, 1);
    wait_byte(w.held[0]); /* A appended and holds the sync lock in its fdatasync */
    for (int i = 2; i < 4; i++) {
        before = size_of(w.log);
        writers_go(&w, i);
        wait_appended(w.log, before);
    }
    writers_go(&w, 1); /* A's fdatasync runs */

    int n[4];
    for (int i = 1; i < 4; i++)
        n[i] = read_count(w.done[i][0], w.pid[i]);
    assert_int_equal(n[1], 1);
    assert_int_equal(n[2] + n[3], 1);
    writers_finish(&w, names);
}

/* A writer alone syncs before its unlock: while its fdatasync runs, the
 * next writer cannot append (it waits for the lock, counted as waiting),
 * and once it has the lock it finds the record durable and syncs its own
 * alone too: one fdatasync each, no record lost. */
static void writer_alone_syncs_under_its_lock(void **state)
{
    (void)state;
    const char *const names[2] = { "a", "b" };
    struct writers w;
    writers_start(&w, names, 2, 0x1, 0);

    writers_go(&w, 0);
    wait_byte(w.held[0]); /* A appended and is in its fdatasync, lock held */
    off_t with_a = size_of(w.log);
    /* B is blocked on the lock: its commit cannot end before A's sync */
    writers_go(&w, 1);
    struct pollfd p = { .fd = w.done[1][0], .events = POLLIN };
    assert_int_equal(poll(&p, 1, 200), 0);
    assert_int_equal(size_of(w.log), with_a);
    writers_go(&w, 0); /* A's fdatasync runs */

    assert_int_equal(read_count(w.done[0][0], w.pid[0]), 1);
    assert_int_equal(read_count(w.done[1][0], w.pid[1]), 1);
    writers_finish(&w, names);
}

/* Two writers in operations at once (two redefines of one domain): the
 * one that commits first may not sync alone, since the other may append
 * during its fdatasync: it syncs the group way, after its unlock, and the
 * other appends while that fdatasync runs. */
static void operation_under_way_syncs_the_group_way(void **state)
{
    (void)state;
    const char *const names[2] = { "a", "b" };
    struct writers w;
    writers_start(&w, names, 2, 0x1, 0x3);

    writers_go(&w, 0);
    wait_byte(w.held[0]); /* A appended and is in its fdatasync, unlocked */
    off_t before = size_of(w.log);
    writers_go(&w, 1);
    wait_appended(w.log, before); /* B appends during A's fdatasync */
    writers_go(&w, 0);            /* A's fdatasync runs */

    assert_int_equal(read_count(w.done[0][0], w.pid[0]), 1);
    assert_true(read_count(w.done[1][0], w.pid[1]) <= 1);
    writers_finish(&w, names);
}

/* ---- an intent appended now, made durable later ---- */

/* sb_store_intent_begin_deferred appends the record and returns without
 * an fdatasync; sb_store_intent_sync makes it durable, once; a commit
 * after it covers it (the log is append-only), so the sync then has
 * nothing left to do.  A plain intent_begin syncs before it returns. */
static void deferred_intent_waits_for_its_sync(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *lp = log_path(dir, "h", "d");
    sb_store *s = NULL;
    OK(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s));
    put_commit(s, "first");

    uint64_t id;
    off_t before = size_of(lp);
    fs.calls = 0;
    OK(sb_store_intent_begin_deferred(s, "delete", "first", "payload", &id));
    assert_int_equal(fs.calls, 0);
    assert_true(size_of(lp) > before); /* in the log: a killed process leaves it */
    OK(sb_store_intent_sync(s));
    assert_int_equal(fs.calls, 1);
    OK(sb_store_intent_sync(s)); /* nothing left */
    assert_int_equal(fs.calls, 1);
    OK(sb_store_intent_end(s, id));

    /* an empty transaction writes and syncs nothing: the intent still
     * waits for its sync */
    fs.calls = 0;
    OK(sb_store_intent_begin_deferred(s, "delete", "first", "payload", &id));
    OK(sb_store_begin(s));
    OK(sb_store_commit(s));
    assert_int_equal(fs.calls, 0);
    OK(sb_store_intent_sync(s));
    assert_int_equal(fs.calls, 1);
    OK(sb_store_intent_end(s, id));

    /* a commit before the sync covers the intent */
    fs.calls = 0;
    OK(sb_store_intent_begin_deferred(s, "create", "second", "payload", &id));
    put_commit(s, "second");
    int after_commit = fs.calls;
    assert_true(after_commit >= 1);
    OK(sb_store_intent_sync(s));
    assert_int_equal(fs.calls, after_commit);
    OK(sb_store_intent_end(s, id));

    /* the plain form: durable before it returns */
    fs.calls = 0;
    OK(sb_store_intent_begin(s, "revert", "second", "payload", &id));
    assert_int_equal(fs.calls, 1);
    OK(sb_store_intent_sync(s));
    assert_int_equal(fs.calls, 1);
    OK(sb_store_intent_end(s, id));
    sb_store_close(s);

    /* a handle gone without syncing or ending it (a killed process): the
     * next one finds the intent, unresolved */
    OK(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s));
    OK(sb_store_intent_begin_deferred(s, "delete", "first", "killed", &id));
    sb_store_close(s);
    sb_store *o = NULL;
    OK(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &o));
    sb_store_intent *pend = NULL;
    size_t n = 0;
    OK(sb_store_pending_intents(o, 0, &pend, &n));
    assert_int_equal(n, 1);
    assert_string_equal(pend[0].payload, "killed");
    free(pend);
    sb_store_close(o);
    free(lp);
    rm_rf(dir);
    free(dir);
}

/* ---- the loader: a record's BASE tells a torn group from damage ---- */

static void add_record(sb_buf *log, uint64_t base, const char *name)
{
    sb_buf payload = { 0 };
    sb_log_op b = { .type = SB_LOG_BASE, .id = base };
    sb_log_op p = { .type = SB_LOG_PUT, .name = name, .state = SB_STATE_RUNNING, .xml = "<x/>" };
    if (base != UINT64_MAX)
        sb_log_encode_op(&payload, &b);
    sb_log_encode_op(&payload, &p);
    OK(sb_log_frame(log, payload.p, payload.len));
    sb_buf_free(&payload);
}

enum r3_kind { R3_BASE_AT_R2, R3_BASE_PAST_R2, R3_NO_BASE };

/* A store whose log is: header, r1, r2, r3, with one payload byte of r2
 * flipped.  r3's BASE op says the log was durable up to r2's start (so r2
 * was not durable when r3 was appended), or past it, or r3 has none (a
 * synchronous commit: everything before it was durable). */
static char *damaged_log(enum r3_kind kind)
{
    char *dir = make_tmpdir();
    sb_store *s = NULL;
    OK(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s));
    sb_store_close(s);
    sb_buf recs = { 0 };
    add_record(&recs, SB_LOG_HEADER_SIZE, "r1");
    size_t r2 = SB_LOG_HEADER_SIZE + recs.len;
    size_t r2_rel = recs.len;
    add_record(&recs, r2, "r2");
    add_record(&recs, kind == R3_BASE_AT_R2 ? r2 : kind == R3_BASE_PAST_R2 ? r2 + 1 : UINT64_MAX,
               "r3");
    recs.p[r2_rel + SB_LOG_REC_HEADER + 12] ^= 0x55;
    uint8_t hdr[SB_LOG_HEADER_SIZE];
    sb_log_header(hdr);
    char *lp = log_path(dir, "h", "d");
    FILE *f = fopen(lp, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    assert_int_equal(fwrite(recs.p, 1, recs.len, f), recs.len);
    assert_int_equal(fclose(f), 0);
    free(lp);
    sb_buf_free(&recs);
    return dir;
}

static void torn_group_is_a_torn_tail(void **state)
{
    (void)state;
    char *dir = damaged_log(R3_BASE_AT_R2);
    sb_store *s = NULL;
    OK(sb_store_open(dir, "h", "d", 0, &s));
    assert_non_null(sb_tree_lookup(sb_store_tree(s), "r1"));
    assert_null(sb_tree_lookup(sb_store_tree(s), "r2"));
    assert_null(sb_tree_lookup(sb_store_tree(s), "r3"));
    const char *const *w;
    assert_int_equal(sb_store_warnings(s, &w), 1);
    assert_non_null(strstr(w[0], "were interrupted before they were durable"));
    /* what a crash leaves: a note for check, not a problem */
    char *report = NULL;
    OK(sb_store_check(s, &report));
    assert_non_null(strstr(report, "note: "));
    free(report);
    sb_store_close(s);
    /* a writer cuts it and appends after r1 */
    OK(sb_store_open(dir, "h", "d", SB_STORE_WRITABLE, &s));
    put_commit(s, "r4");
    sb_store_close(s);
    OK(sb_store_open(dir, "h", "d", 0, &s));
    assert_int_equal(sb_store_warnings(s, &w), 0);
    assert_non_null(sb_tree_lookup(sb_store_tree(s), "r4"));
    assert_null(sb_tree_lookup(sb_store_tree(s), "r3"));
    sb_store_close(s);
    rm_rf(dir);
    free(dir);
}

static void later_durable_record_means_damage(void **state)
{
    (void)state;
    enum r3_kind kinds[] = { R3_BASE_PAST_R2, R3_NO_BASE };
    for (int i = 0; i < 2; i++) {
        char *dir = damaged_log(kinds[i]);
        sb_store *s = NULL;
        assert_int_equal(sb_store_open(dir, "h", "d", 0, &s), -SB_ERR_STORE);
        assert_non_null(strstr(sb_error_last()->message, "damaged record"));
        OK(sb_store_open(dir, "h", "d", SB_STORE_ALLOW_DAMAGED, &s));
        assert_true(sb_store_damaged(s));
        assert_non_null(sb_tree_lookup(sb_store_tree(s), "r3"));
        sb_store_close(s);
        rm_rf(dir);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queued_writers_share_one_fdatasync),
        cmocka_unit_test(writer_alone_syncs_under_its_lock),
        cmocka_unit_test(operation_under_way_syncs_the_group_way),
        cmocka_unit_test(deferred_intent_waits_for_its_sync),
        cmocka_unit_test(torn_group_is_a_torn_tail),
        cmocka_unit_test(later_durable_record_means_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
