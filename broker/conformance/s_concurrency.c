/* Concurrency (semantics.md §11): two processes working on one domain at
 * once, each with its own broker and connection, as two CLI commands
 * would.  Whatever the interleaving, every operation either happens
 * whole or is refused, and the tree stays a tree.  The processes are
 * forked by the kit's spawner (spawner.c), never by the connected kit. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit_internal.h"

struct child {
    pid_t pid;
    int fd; /* read end: the worker's report */
};

int k_job_run(struct k *k, const struct k_job *job, char *msg, size_t len)
{
    sb_broker *b = NULL;
    sb_connection *c = NULL;
    int failed = 0;

    snprintf(msg, len, "ok");
    if (sb_broker_new(&b, k->opts->config) < 0 || sb_connect(&c, b, k->opts->host, 0) < 0) {
        snprintf(msg, len, "connecting: %s", k_errstr());
        failed = 1;
    }
    for (int i = 1; !failed && i <= job->n; i++) {
        char name[64], xml_name[64];
        snprintf(name, sizeof(name), "%s%d", job->prefix, i);
        snprintf(xml_name, sizeof(xml_name), "%s",
                 job->kind == K_JOB_CREATE_SAME ? job->prefix : name);
        int rc = 0;
        if (job->kind == K_JOB_CREATE || job->kind == K_JOB_CREATE_SAME) {
            char *xml = k_snap_xml(k, xml_name, NULL);
            rc = sb_snapshot_create_xml(NULL, c, k->dom, xml, 0);
            free(xml);
            if (job->kind == K_JOB_CREATE_SAME) {
                snprintf(msg, len, "%s", rc >= 0 ? "made" : k_errstr());
                rc = rc == -SB_ERR_OPERATION_FAILED || rc == -SB_ERR_OPERATION_INVALID ? 0 : rc;
            }
        } else if (job->kind == K_JOB_DELETE) {
            rc = sb_snapshot_delete(c, k->dom, name, 0);
        } else {
            char **names = NULL;
            size_t nn = 0;
            rc = sb_snapshot_list(&names, &nn, c, k->dom, NULL, 0);
            sb_names_free(names, nn);
        }
        if (rc < 0) {
            snprintf(msg, len, "%s (step %d): %s", name, i, k_errstr());
            failed = 1;
        }
    }
    if (c)
        sb_disconnect(c);
    if (b)
        sb_broker_free(b);
    return failed;
}

static int spawn(struct k *k, struct child *ch, enum k_job_kind kind, const char *prefix, int n)
{
    struct k_job job = { .kind = kind, .n = n,
                         .redefine_create = strcmp(k->caps.create_parse, "redefine") == 0 };
    snprintf(job.prefix, sizeof(job.prefix), "%s", prefix);
    snprintf(job.dom, sizeof(job.dom), "%s", k->dom);
    return k_spawn(k, &job, &ch->pid, &ch->fd);
}

/* Read a worker's report to its end, which comes exactly when the worker
 * is done; the deadline (10 minutes) only catches a hang.  The report
 * (without its status byte) goes to out. */
static int reap(struct k *k, struct child *ch, char *out, size_t len)
{
    char buf[K_JOB_REPORT_MAX];
    size_t got = 0;
    int hung = 0;
    for (;;) {
        struct pollfd p = { ch->fd, POLLIN, 0 };
        int r = poll(&p, 1, 600 * 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            hung = 1;
            break;
        }
        ssize_t n = read(ch->fd, buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (got += (size_t)n) == sizeof(buf) - 1)
            break;
    }
    buf[got] = '\0';
    close(ch->fd);
    size_t m = got ? got - 1 : 0; /* the message after the status byte */
    m = m < len ? m : len - 1;
    memcpy(out, buf + 1, m);
    out[m] = '\0';
    if (hung) {
        kill(ch->pid, SIGKILL); /* not yet reaped by the spawner: still ours to name */
        return k_fail(k, "a concurrent process hung (no report in 10 minutes)");
    }
    if (got == 0 || buf[0] != '0')
        return k_fail(k, "a concurrent process failed: %s", got ? out : "(no report)");
    return K_PASS;
}

/* What a creating child may have made, for the cleanup of an existing
 * domain (--domain): the kit deletes only what it made. */
static void remember_job(struct k *k, enum k_job_kind job, const char *prefix, int n)
{
    char name[64];
    for (int i = 1; i <= n && (job == K_JOB_CREATE || job == K_JOB_CREATE_SAME); i++) {
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        k_remember(k, job == K_JOB_CREATE_SAME ? prefix : name);
    }
}

static int pair(struct k *k, enum k_job_kind ja, const char *pa, enum k_job_kind jb,
                const char *pb, int n, char *ra, char *rb, size_t len)
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
    K_TRY(pair(k, K_JOB_CREATE, "a", K_JOB_CREATE, "b", 5, ra, rb, sizeof(ra)));
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
    K_TRY(pair(k, K_JOB_CREATE_SAME, "same", K_JOB_CREATE_SAME, "same", 1, ra, rb, sizeof(ra)));
    if ((strcmp(ra, "made") == 0) == (strcmp(rb, "made") == 0))
        return k_fail(k, "two processes creating 'same': exactly one must succeed; got [%s] "
                      "and [%s]", ra, rb);
    return k_list_is(k, NULL, 0, "same");
}

static int create_while_listing(struct k *k, const struct k_scenario *s)
{
    char ra[1200], rb[1200];
    (void)s;
    K_TRY(pair(k, K_JOB_CREATE, "c", K_JOB_LIST, "l", 8, ra, rb, sizeof(ra)));
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
    K_TRY(pair(k, K_JOB_DELETE, "d", K_JOB_CREATE, "c", 4, ra, rb, sizeof(ra)));
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
