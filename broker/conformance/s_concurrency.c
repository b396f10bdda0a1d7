/* Concurrency (semantics.md §11): two processes working on one domain at
 * once, each with its own broker and connection, as two CLI commands
 * would.  Whatever the interleaving, every operation either happens
 * whole or is refused, and the tree stays a tree. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit_internal.h"

/* What a child does: ops on names prefix1..prefixN. */
enum job { JOB_CREATE, JOB_DELETE, JOB_LIST, JOB_CREATE_SAME };

struct child {
    pid_t pid;
    int fd; /* read end: the child's report */
};

/* In the child: one job, reported as one line on fd; exit 0 on success. */
static int child_job(struct k *k, enum job job, const char *prefix, int n, int fd)
{
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    char msg[1200] = "ok";
    int failed = 0;

    if (sb_broker_new(&b, k->opts->config) < 0 || sb_connect(&c, b, k->opts->host, 0) < 0) {
        snprintf(msg, sizeof(msg), "connecting: %s", k_errstr());
        failed = 1;
    }
    for (int i = 1; !failed && i <= n; i++) {
        char name[64], xml_name[64];
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        snprintf(xml_name, sizeof(xml_name), "%s", job == JOB_CREATE_SAME ? prefix : name);
        int rc = 0;
        if (job == JOB_CREATE || job == JOB_CREATE_SAME) {
            char *xml = k_snap_xml(k, xml_name, NULL);
            rc = sb_snapshot_create_xml(NULL, c, k->dom, xml, 0);
            free(xml);
            if (job == JOB_CREATE_SAME) {
                snprintf(msg, sizeof(msg), "%s", rc >= 0 ? "made" : k_errstr());
                rc = rc == -SB_ERR_OPERATION_FAILED || rc == -SB_ERR_OPERATION_INVALID ? 0 : rc;
            }
        } else if (job == JOB_DELETE) {
            rc = sb_snapshot_delete(c, k->dom, name, 0);
        } else {
            char **names = NULL;
            size_t nn = 0;
            rc = sb_snapshot_list(&names, &nn, c, k->dom, NULL, 0);
            sb_names_free(names, nn);
        }
        if (rc < 0) {
            snprintf(msg, sizeof(msg), "%s (step %d): %s", name, i, k_errstr());
            failed = 1;
        }
    }
    if (c)
        sb_disconnect(c);
    if (b)
        sb_broker_free(b);
    size_t len = strlen(msg);
    return write(fd, msg, len) == (ssize_t)len && !failed ? 0 : 1;
}

static int spawn(struct k *k, struct child *ch, enum job job, const char *prefix, int n)
{
    int fds[2];
    if (pipe(fds) < 0)
        return k_fail(k, "pipe: %s", strerror(errno));
    fflush(NULL);
    ch->pid = fork();
    if (ch->pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return k_fail(k, "fork: %s", strerror(errno));
    }
    if (ch->pid == 0) {
        close(fds[0]);
        _exit(child_job(k, job, prefix, n, fds[1]));
    }
    close(fds[1]);
    ch->fd = fds[0];
    return K_PASS;
}

/* Wait for a child (a generous deadline only catches a hang); its report
 * goes to out. */
static int reap(struct k *k, struct child *ch, char *out, size_t len)
{
    int st = 0;
    ssize_t got = 0, n;
    /* reading to EOF waits exactly until the child is done */
    while ((n = read(ch->fd, out + got, len - 1 - (size_t)got)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            got += n;
    out[got] = '\0';
    close(ch->fd);
    for (int waited = 0; waitpid(ch->pid, &st, WNOHANG) == 0; waited++) {
        if (waited > 6000) { /* 10 minutes: hung */
            kill(ch->pid, SIGKILL);
            waitpid(ch->pid, &st, 0);
            return k_fail(k, "a child process hung");
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return k_fail(k, "a concurrent process failed: %s", got ? out : "(no report)");
    return K_PASS;
}

/* What a creating child may have made, for the cleanup of an existing
 * domain (--domain): the kit deletes only what it made. */
static void remember_job(struct k *k, enum job job, const char *prefix, int n)
{
    char name[64];
    for (int i = 1; i <= n && (job == JOB_CREATE || job == JOB_CREATE_SAME); i++) {
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        k_remember(k, job == JOB_CREATE_SAME ? prefix : name);
    }
}

static int pair(struct k *k, enum job ja, const char *pa, enum job jb, const char *pb, int n,
                char *ra, char *rb, size_t len)
{
    struct child a, b;
    K_TRY(spawn(k, &a, ja, pa, n));
    int r = spawn(k, &b, jb, pb, n);
    int ra_ = reap(k, &a, ra, len);
    remember_job(k, ja, pa, n);
    if (r != K_PASS)
        return r;
    int rb_ = reap(k, &b, rb, len);
    remember_job(k, jb, pb, n);
    return ra_ != K_PASS ? ra_ : rb_;
}

/* The tree is whole: every listed snapshot's parent is listed too, and
 * the current one exists. */
static int tree_whole(struct k *k)
{
    char *sig = k_tree_sig(k);
    if (!sig)
        return K_FAIL;
    int r = strstr(sig, "<?") ? k_fail(k, "a parent could not be read: %s", sig) : K_PASS;
    free(sig);
    return r;
}

static int two_creators(struct k *k, const struct k_scenario *s)
{
    char ra[1200], rb[1200];
    (void)s;
    K_TRY(pair(k, JOB_CREATE, "a", JOB_CREATE, "b", 5, ra, rb, sizeof(ra)));
    K_TRY(k_list_is(k, NULL, 0, "a1 a2 a3 a4 a5 b1 b2 b3 b4 b5"));
    K_TRY(tree_whole(k));
    char *cur = NULL;
    if (sb_snapshot_current(&cur, k->c, k->dom) < 0)
        return k_fail(k, "no current snapshot after 10 creates: %s", k_errstr());
    int r = strcmp(cur, "a5") == 0 || strcmp(cur, "b5") == 0
                ? K_PASS
                : k_fail(k, "current is %s; expected the last one made (a5 or b5)", cur);
    free(cur);
    return r;
}

static int same_name(struct k *k, const struct k_scenario *s)
{
    char ra[1200], rb[1200];
    (void)s;
    K_TRY(pair(k, JOB_CREATE_SAME, "same", JOB_CREATE_SAME, "same", 1, ra, rb, sizeof(ra)));
    if ((strcmp(ra, "made") == 0) == (strcmp(rb, "made") == 0))
        return k_fail(k, "two processes creating 'same': exactly one must succeed; got [%s] "
                      "and [%s]", ra, rb);
    return k_list_is(k, NULL, 0, "same");
}

static int create_while_listing(struct k *k, const struct k_scenario *s)
{
    char ra[1200], rb[1200];
    (void)s;
    K_TRY(pair(k, JOB_CREATE, "c", JOB_LIST, "l", 8, ra, rb, sizeof(ra)));
    K_TRY(k_list_is(k, NULL, 0, "c1 c2 c3 c4 c5 c6 c7 c8"));
    return tree_whole(k);
}

static int delete_while_creating(struct k *k, const struct k_scenario *s)
{
    char ra[1200], rb[1200];
    (void)s;
    for (int i = 1; i <= 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d%d", i);
        K_TRY(k_create(k, name, 0));
    }
    K_TRY(pair(k, JOB_DELETE, "d", JOB_CREATE, "c", 4, ra, rb, sizeof(ra)));
    K_TRY(k_list_is(k, NULL, 0, "c1 c2 c3 c4"));
    return tree_whole(k);
}

static const struct k_scenario scenarios[] = {
    { "CONC-TWO-CREATORS", "11",
      "two processes creating snapshots of one domain at once: all are made, the tree is "
      "whole, current is the last made",
      { 0 }, two_creators },
    { "CONC-SAME-NAME", "11",
      "two processes creating the same name at once: exactly one succeeds",
      { .traits = K_T_UNIQUE }, same_name },
    { "CONC-CREATE-WHILE-LISTING", "11",
      "listing while another process creates never fails, and every create lands", { 0 },
      create_while_listing },
    { "CONC-DELETE-WHILE-CREATING", "11",
      "deleting snapshots while another process creates: both finish, the tree is whole",
      { 0 }, delete_while_creating },
};

const struct k_family k_family_concurrency = { "concurrency", scenarios,
                                               sizeof(scenarios) / sizeof(scenarios[0]) };
