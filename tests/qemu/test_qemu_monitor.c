/* tests/qemu - what one snapshot operation on a running guest says to
 * QEMU's monitor: one connection per call (the checks before the
 * operation and the operation share it), the block graph asked once while
 * nothing changed it (the named nodes only when the operation reads node
 * names below a top and the plugin's node book does not give them), the
 * run state only when the operation uses it, a
 * job's end from its events, and the monitor free again once the call
 * returned.
 *
 * The wire is watched, not mocked: the real QEMU's QMP socket is moved
 * aside and a relay (a thread of this test) listens at its path, passes
 * every byte through both ways and counts the connections and the
 * commands the plugin sends.  When a command that switches the disk's
 * images goes by (transaction, block-commit), the relay also reads the
 * definition the plugin wrote ahead for it: written before QEMU is asked
 * (so a full disk fails the operation before anything changed), synced
 * while QEMU works, renamed in place after.  And before the first command
 * that is not a query, the broker's intent must be on disk: this program
 * defines fdatasync() (counting the calls on the broker's log, then
 * calling libc's), which the library's calls resolve to, and the relay
 * notes the count when that command goes by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "e2e.h"
#include "test_wait.h"

struct relay {
    char path[300], real[320];
    int listen_fd, stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t mu;
    int connections, open; /* accepted so far; open now */
    /* every "execute" the plugin sent, one per line; each connection
     * starts with a line "--" */
    char commands[8192];
    /* the domain's definitions dir, and what a pending definition there
     * held when "transaction" / "block-commit" went by ("" if none) */
    char domains[300];
    char ahead_transaction[4096], ahead_commit[4096];
    char commit_args[1024]; /* the last block-commit's line as sent */
    /* fdatasyncs of the broker's log since the reset when the first
     * command that is not a query went by (-1: none went by) */
    int log_syncs_at_first_change;
};

/* fdatasync() calls on a broker log ("snapshots.log") since relay_reset */
static int log_syncs;

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    char link[64], path[512];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
        if (strstr(path, "/snapshots.log"))
            __atomic_add_fetch(&log_syncs, 1, __ATOMIC_SEQ_CST);
    }
    return real(fd);
}

static struct relay R;

static int unix_socket(const char *path, int listen_on)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int r = listen_on ? bind(fd, (struct sockaddr *)&sa, sizeof sa)
                      : connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (r < 0 || (listen_on && listen(fd, 4) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* What the first "<name>.xml.pending.*" file in the definitions dir holds
 * ("" when there is none). */
static void read_pending(char *out, size_t outlen)
{
    out[0] = '\0';
    DIR *d = opendir(R.domains);
    struct dirent *de;
    while (d && (de = readdir(d)) && !out[0]) {
        if (!strstr(de->d_name, ".xml.pending."))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", R.domains, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, out, outlen - 1) : -1;
        out[n > 0 ? n : 0] = '\0';
        if (fd >= 0)
            close(fd);
    }
    if (d)
        closedir(d);
}

/* Note each command name the client sent in buf (whole lines only). */
static void note_commands(char *line, size_t *len)
{
    char *nl;
    while ((nl = memchr(line, '\n', *len))) {
        *nl = '\0';
        const char *ex = strstr(line, "\"execute\":\"");
        if (ex) {
            ex += strlen("\"execute\":\"");
            size_t n = strcspn(ex, "\"");
            /* QEMU has the command but not yet answered it: the plugin
             * cannot have renamed its pending definition yet */
            if (strncmp(ex, "query-", 6) && strncmp(ex, "qmp_capabilities\"", 17) &&
                R.log_syncs_at_first_change < 0)
                R.log_syncs_at_first_change = __atomic_load_n(&log_syncs, __ATOMIC_SEQ_CST);
            if (!strncmp(ex, "transaction\"", 12))
                read_pending(R.ahead_transaction, sizeof R.ahead_transaction);
            else if (!strncmp(ex, "block-commit\"", 13)) {
                read_pending(R.ahead_commit, sizeof R.ahead_commit);
                snprintf(R.commit_args, sizeof R.commit_args, "%.1000s", line);
            }
            pthread_mutex_lock(&R.mu);
            size_t used = strlen(R.commands);
            if (used + n + 2 < sizeof R.commands)
                snprintf(R.commands + used, sizeof R.commands - used, "%.*s\n", (int)n, ex);
            pthread_mutex_unlock(&R.mu);
        }
        size_t rest = *len - (size_t)(nl + 1 - line);
        memmove(line, nl + 1, rest);
        *len = rest;
    }
}

/* One client at a time, as QEMU's own socket serves them. */
static void relay_one(int client)
{
    int qemu = unix_socket(R.real, 0);
    if (qemu < 0) {
        close(client);
        return;
    }
    char line[16384];
    size_t len = 0;
    for (;;) {
        struct pollfd pf[3] = {{client, POLLIN, 0}, {qemu, POLLIN, 0}, {R.stop_pipe[0], POLLIN, 0}};
        if (poll(pf, 3, -1) < 0 && errno != EINTR)
            break;
        if (pf[2].revents)
            break;
        char buf[4096];
        if (pf[0].revents) {
            ssize_t n = read(client, buf, sizeof buf);
            if (n <= 0 || write(qemu, buf, (size_t)n) != n)
                break;
            if (len + (size_t)n < sizeof line) {
                memcpy(line + len, buf, (size_t)n);
                len += (size_t)n;
                note_commands(line, &len);
            }
        }
        if (pf[1].revents) {
            ssize_t n = read(qemu, buf, sizeof buf);
            if (n <= 0 || write(client, buf, (size_t)n) != n)
                break;
        }
    }
    close(qemu);
    close(client);
}

static void *relay_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd pf[2] = {{R.listen_fd, POLLIN, 0}, {R.stop_pipe[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
        if (pf[1].revents)
            break;
        int c = accept4(R.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        pthread_mutex_lock(&R.mu);
        R.connections++;
        R.open = 1;
        size_t used = strlen(R.commands);
        if (used + 4 < sizeof R.commands)
            strcat(R.commands, "--\n");
        pthread_mutex_unlock(&R.mu);
        relay_one(c);
        pthread_mutex_lock(&R.mu);
        R.open = 0;
        pthread_mutex_unlock(&R.mu);
    }
    return NULL;
}

/* Put the relay in front of the running domain's monitor. */
static void relay_start(const char *dom)
{
    memset(&R, 0, sizeof R);
    pthread_mutex_init(&R.mu, NULL);
    snprintf(R.path, sizeof R.path, "%s/run/%s/qmp.sock", E.t.state_dir, dom);
    snprintf(R.real, sizeof R.real, "%s.real", R.path);
    snprintf(R.domains, sizeof R.domains, "%s/domains", E.t.state_dir);
    assert_int_equal(rename(R.path, R.real), 0);
    R.listen_fd = unix_socket(R.path, 1);
    assert_true(R.listen_fd >= 0);
    assert_int_equal(pipe2(R.stop_pipe, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&R.thread, NULL, relay_main, NULL), 0);
}

static void relay_stop(void)
{
    assert_int_equal(write(R.stop_pipe[1], "x", 1), 1);
    pthread_join(R.thread, NULL);
    close(R.listen_fd);
    close(R.stop_pipe[0]);
    close(R.stop_pipe[1]);
    unlink(R.path);
    assert_int_equal(rename(R.real, R.path), 0);
}

/* Counters back to zero before a call. */
static void relay_reset(void)
{
    pthread_mutex_lock(&R.mu);
    R.connections = 0;
    R.commands[0] = '\0';
    R.log_syncs_at_first_change = -1;
    __atomic_store_n(&log_syncs, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&R.mu);
}

/* How many times cmd was sent on connection k (0 = the first since the
 * reset), or on any connection (k < 0). */
static int sent_on(int k, const char *cmd)
{
    int n = 0, conn = -1;
    pthread_mutex_lock(&R.mu);
    for (const char *p = R.commands; *p;) {
        size_t l = strcspn(p, "\n");
        if (l == 2 && !strncmp(p, "--", 2))
            conn++;
        else if ((k < 0 || conn == k) && l == strlen(cmd) && !strncmp(p, cmd, l))
            n++;
        p += l + (p[l] == '\n');
    }
    pthread_mutex_unlock(&R.mu);
    return n;
}

/* The connection that sent cmd (the first one that did), -1 if none. */
static int conn_of(const char *cmd)
{
    for (int k = 0; k < R.connections; k++)
        if (sent_on(k, cmd))
            return k;
    return -1;
}

static int relay_closed(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    int closed = !R.open;
    pthread_mutex_unlock(&R.mu);
    return closed;
}

/* After a call: its commands, and the monitor free again once it
 * returned (the relay sees the close a moment later: waited for). */
static void show(const char *what)
{
    pthread_mutex_lock(&R.mu);
    char list[sizeof R.commands];
    snprintf(list, sizeof list, "%s", R.commands);
    pthread_mutex_unlock(&R.mu);
    for (char *p = list; (p = strchr(p, '\n'));)
        *p = ' ';
    print_message("# %s: %d connection(s): %s\n", what, R.connections, list);
    assert_true(test_wait_for(relay_closed, NULL, TEST_HANG_MS));
}

/* The broker's intent was on disk before the operation's first change
 * reached QEMU (the plugin waits for it, ABI 1.5 intent_durable). */
static void intent_durable_before_change(void)
{
    pthread_mutex_lock(&R.mu);
    int at = R.log_syncs_at_first_change;
    pthread_mutex_unlock(&R.mu);
    if (at < 1)
        fail_msg("the first change reached QEMU after %d fdatasync(s) of the broker's log", at);
}

/* The operation (its QMP command op) and the checks before it (the
 * graph, the leftover jobs when asked) on one connection; the graph asked once
 * on it.  The broker's own state query before a call is a plugin call of
 * its own, on a connection of its own. */
static void one_connection_for(const char *op)
{
    int k = conn_of(op);
    assert_true(k >= 0);
    assert_int_equal(sent_on(k, "qmp_capabilities"), 1);
    assert_int_equal(sent_on(-1, op), 1);
    for (int i = 0; i < R.connections; i++)
        if (i != k)
            assert_int_equal(sent_on(i, "query-block"), 0);
}

/* On connection k: each command (a NULL-ended list of name, count
 * pairs) sent exactly that many times. */
static void expect_sent(int k, ...)
{
    va_list ap;
    va_start(ap, k);
    for (const char *cmd; (cmd = va_arg(ap, const char *));) {
        int want = va_arg(ap, int), got = sent_on(k, cmd);
        if (got != want)
            fail_msg("'%s' sent %d time(s) on connection %d, expected %d", cmd, got, k, want);
    }
    va_end(ap);
}

/* The first byte of the domain's lock file (util.c: 'c' no job of the
 * plugin's left in QEMU, else unknown). */
static char *lock_path(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/locks/mon.lock", E.t.state_dir);
    return path;
}

static int lock_byte(void)
{
    char b = 0;
    int fd = open(lock_path(), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, 0), 1);
    close(fd);
    return b;
}

/* The stored definition of dom, as the file holds it. */
static char *stored_definition(const char *dom)
{
    char path[600], *text = calloc(1, 8192);
    assert_non_null(text);
    snprintf(path, sizeof path, "%s/%s.xml", R.domains, dom);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_true(read(fd, text, 8191) > 0);
    close(fd);
    return text;
}

/* Pending definitions left in the definitions dir. */
static int pending_files(void)
{
    char left[16];
    read_pending(left, sizeof left);
    return left[0] != '\0';
}

static void lock_says(const char *b)
{
    int fd = open(lock_path(), O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, 1, 0), 1);
    close(fd);
}

/* A disk-only external snapshot of vda onto file (scratch name). */
static void dext(const char *name, const char *file)
{
    char *inner = qp_printf("<disks><disk name='vda' snapshot='external'><source file='%s'/>"
                            "</disk><disk name='vdb' snapshot='no'/></disks>",
                            e2e_path(file));
    assert_int_equal(e2e_snap("mon", name, inner, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    free(inner);
}

/* The node book of mon's QEMU (node_book.c). */
static char *book_path(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/run/mon/nodes", E.t.state_dir);
    return path;
}

/* The value the last block-commit gave key ("top-node", "base-node"). */
static const char *commit_arg(const char *key)
{
    static char v[128];
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(R.commit_args, pat);
    v[0] = '\0';
    if (p)
        snprintf(v, sizeof v, "%.*s", (int)strcspn(p + strlen(pat), "\""), p + strlen(pat));
    return v;
}

/* The node the book names for scratch file f ("" if none; the last line
 * naming it wins). */
static const char *book_node_of(const char *f)
{
    static char node[128];
    char line[1024];
    char *want = realpath(e2e_path(f), NULL); /* the book holds canonical paths */
    assert_non_null(want);
    node[0] = '\0';
    FILE *b = fopen(book_path(), "r");
    assert_non_null(b);
    while (fgets(line, sizeof line, b)) {
        char *sp = strchr(line, ' ');
        line[strcspn(line, "\n")] = '\0';
        if (sp && !strcmp(sp + 1, want))
            snprintf(node, sizeof node, "%.*s", (int)(sp - line), line);
    }
    fclose(b);
    free(want);
    return node;
}

/* The node names a commit gives QEMU come from the node book the start
 * and the snapshots wrote (no query-named-block-nodes), the newest line
 * for an image whose file was made again; without a book, or with one of
 * another QEMU process, they are asked of QEMU and the commit is the
 * same. */
static void commit_node_names(void)
{
    /* a middle overlay on a path used before: e1's node went away with
     * its commit, and the book names the new one */
    dext("e1", "mon-vda.e1");
    const char *again = book_node_of("mon-vda.e1");
    assert_true(again[0] != '\0');
    char e1node[128];
    snprintf(e1node, sizeof e1node, "%s", again);
    dext("e2", "mon-vda.e2");
    relay_reset();
    assert_int_equal(e2e_del("mon", "e1", 0), 0); /* a commit below the top */
    show("commit below the top");
    expect_sent(conn_of("block-commit"), "query-block", 1, "query-named-block-nodes", 0, NULL);
    assert_string_equal(commit_arg("top-node"), e1node);
    assert_string_equal(commit_arg("base-node"), "d-vda");

    /* no book (as a QEMU an older plugin started): asked, with the checks */
    assert_int_equal(unlink(book_path()), 0);
    relay_reset();
    assert_int_equal(e2e_del("mon", "e2", 0), 0);
    show("active commit, no book");
    expect_sent(conn_of("block-commit"), "query-block", 1, "query-named-block-nodes", 1, NULL);
    assert_string_equal(commit_arg("base-node"), "d-vda");

    /* a book of another QEMU process (its start time): not read, asked */
    char pidtext[32] = "";
    char pidfile[600];
    snprintf(pidfile, sizeof pidfile, "%s/run/mon/qemu.pid", E.t.state_dir);
    FILE *pf = fopen(pidfile, "r");
    assert_non_null(pf);
    assert_non_null(fgets(pidtext, sizeof pidtext, pf));
    fclose(pf);
    FILE *b = fopen(book_path(), "w");
    assert_non_null(b);
    char *disk = realpath(e2e_path("mon-vda.qcow2"), NULL);
    fprintf(b, "qemu %ld 1\nd-vda %s\n", strtol(pidtext, NULL, 10), disk ? disk : "");
    free(disk);
    fclose(b);
    dext("e3", "mon-vda.e3");
    assert_true(book_node_of("mon-vda.e3")[0] != '\0'); /* appended all the same */
    relay_reset();
    assert_int_equal(e2e_del("mon", "e3", 0), 0);
    show("active commit, another QEMU's book");
    assert_int_equal(sent_on(conn_of("block-commit"), "query-named-block-nodes"), 1);
    assert_string_equal(commit_arg("base-node"), "d-vda");
}

static void one_monitor_connection_per_call(void **state)
{
    (void)state;
    e2e_define("mon");
    assert_int_equal(sb_domain_start(E.c, "mon", 0), 0);
    relay_start("mon");

    relay_reset();
    assert_int_equal(e2e_snap("mon", "s1", NULL, 0), 0);
    show("internal snapshot");
    one_connection_for("snapshot-save");
    intent_durable_before_change();
    /* the start left the lock file saying QEMU holds no job of ours: the
     * checks do not ask for leftover jobs */
    assert_int_equal(sent_on(-1, "query-jobs"), 0);

    /* a holder that did not end (killed) leaves it saying "unknown": the
     * next call asks, once */
    lock_says("d");

    relay_reset();
    assert_int_equal(e2e_revert("mon", "s1", SB_SNAPSHOT_REVERT_RUNNING), 0);
    show("revert");
    one_connection_for("snapshot-load");
    intent_durable_before_change();
    /* the nodes to load into are looked up before the guest is stopped,
     * in the graph the checks asked for, and the guest is resumed without
     * asking its state again */
    /* the top nodes are in query-block's answer: no named nodes asked;
     * the job's end is told by its events (no "aborting": it did not
     * fail), so no query-jobs after the one of the checks */
    expect_sent(conn_of("snapshot-load"), "query-block", 1, "query-status", 1,
                "query-named-block-nodes", 0, "query-jobs", 1, "job-dismiss", 1, NULL);
    /* and having found none and left none, says "none" again */
    assert_int_equal(lock_byte(), 'c');

    relay_reset();
    assert_int_equal(e2e_del("mon", "s1", 0), 0);
    show("delete");
    one_connection_for("snapshot-delete");
    intent_durable_before_change();
    /* the checks before the delete and the delete itself read the graph
     * once: nothing changed it in between */
    /* an internal delete needs the top nodes only (query-block); a
     * delete does not depend on the run state: QEMU is not asked */
    expect_sent(conn_of("snapshot-delete"), "query-block", 1, "query-named-block-nodes", 0,
                "query-jobs", 0, "query-status", 0, NULL);

    /* a disk-only external snapshot changes the graph */
    relay_reset();
    char *inner = qp_printf("<disks><disk name='vda' snapshot='external'><source file='%s'/>"
                            "</disk><disk name='vdb' snapshot='no'/></disks>",
                            e2e_path("mon-vda.e1"));
    assert_int_equal(e2e_snap("mon", "e1", inner, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    free(inner);
    show("disk-only external snapshot");
    one_connection_for("transaction");
    intent_durable_before_change();
    assert_int_equal(sent_on(conn_of("transaction"), "query-named-block-nodes"), 0);
    /* the definition naming the overlay was on disk before QEMU was
     * asked, and is the one stored */
    char *def = stored_definition("mon");
    assert_non_null(strstr(R.ahead_transaction, e2e_path("mon-vda.e1")));
    assert_string_equal(R.ahead_transaction, def);
    free(def);
    assert_int_equal(pending_files(), 0);

    /* its delete: an active commit.  The node names below the top go out
     * with the checks' graph; READY and the end come as events (no
     * query-jobs for them); the graph before the commit shows the start's
     * node under the overlay, so it is not asked again after the pivot */
    relay_reset();
    assert_int_equal(e2e_del("mon", "e1", 0), 0);
    show("active commit");
    one_connection_for("block-commit");
    intent_durable_before_change();
    expect_sent(conn_of("block-commit"), "query-block", 1, "query-named-block-nodes", 0,
                "query-jobs", 0, "job-complete", 1, "job-dismiss", 1, "blockdev-del", 0, NULL);
    assert_string_equal(commit_arg("base-node"), "d-vda"); /* from the node book */
    /* the definition it ends with (the disk back on its base) was written
     * before the merge began, and is the one stored */
    def = stored_definition("mon");
    assert_null(strstr(R.ahead_commit, e2e_path("mon-vda.e1")));
    assert_non_null(strstr(R.ahead_commit, "<domain"));
    assert_string_equal(R.ahead_commit, def);
    free(def);
    assert_int_equal(pending_files(), 0);

    commit_node_names();

    relay_stop();
    e2e_stop("mon");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_monitor_connection_per_call),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
