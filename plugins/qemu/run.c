/* qemu plugin - run an external program (qemu-img, qemu-io) without a shell.
 *
 * A program that changes an image must never be cut off half-way, nor be
 * left running unseen: the child inherits the domain lock the caller holds
 * (ctx->lock_fd; every other descriptor of ours is close-on-exec) and runs
 * in its own process group.  So a broker process killed (kill -9, ^C on
 * the terminal) while qemu-img writes leaves qemu-img to finish its write
 * with the domain still locked, and the next command on the domain (which
 * reconciles the interrupted operation by reading the images) waits for
 * it instead of reading an image that is still changing.  A parent-death
 * signal would do the opposite: kill qemu-img in the middle of updating a
 * qcow2 snapshot table or L1 table.
 *
 * The child is made with posix_spawn, not fork: glibc starts it with
 * clone(CLONE_VM | CLONE_VFORK), so the parent's pages are not marked
 * copy-on-write and every page it writes afterwards does not fault again
 * (about a hundred faults per offline operation in a library process, and
 * half its CPU time); it also reports a program that cannot be executed
 * as posix_spawn's own error instead of a child's exit status. */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* One read of fd into b; 0 at its end (or when b cannot grow). */
static int buf_read(qp_bytes *b, int fd)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r <= 0)
        return r < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
    return qp_bytes_add(b, tmp, (size_t)r) == 0;
}

/* The last "(P/100%)" qemu-img -p wrote in text[from..len); -1 if none.
 * qemu-img ends each one with \r, not \n. */
static double last_percent(const char *text, size_t from, size_t len)
{
    double pct = -1;
    for (size_t i = from; i < len; i++) {
        if (text[i] != '(')
            continue;
        char *end = NULL;
        double v = strtod(text + i + 1, &end);
        if (end && end != text + i + 1 && (size_t)(end - text) + 6 <= len &&
            !strncmp(end, "/100%)", 6) && v >= 0 && v <= 100)
            pct = v;
    }
    return pct;
}

static int run(qp_ctx *ctx, qp_job *job, char *const argv[], char **out_stdout,
               char **out_stderr);

int qp_run(qp_ctx *ctx, char *const argv[], char **out_stdout, char **out_stderr)
{
    return run(ctx, NULL, argv, out_stdout, out_stderr);
}

int qp_run_job(qp_ctx *ctx, char *const argv[], char **out_stderr)
{
    return run(ctx, ctx->job, argv, NULL, out_stderr);
}

/* Start argv[0] (searched in PATH) with stdin on /dev/null, stdout and
 * stderr on the given pipe ends, the domain lock kept (a dup2 of a
 * descriptor onto itself clears its close-on-exec flag), its own process
 * group (a terminal's ^C is for the broker, not for a write), no blocked
 * signals and SIGPIPE at its default.  Returns 0 or an errno value. */
static int spawn(qp_ctx *ctx, char *const argv[], int out_fd, int err_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int e = posix_spawn_file_actions_init(&fa);
    if (e)
        return e;
    if ((e = posix_spawnattr_init(&at))) {
        posix_spawn_file_actions_destroy(&fa);
        return e;
    }
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (!(e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
        !(e = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) &&
        !(e = posix_spawn_file_actions_adddup2(&fa, err_fd, 2)) &&
        !(e = ctx->lock_fd >= 0
                  ? posix_spawn_file_actions_adddup2(&fa, ctx->lock_fd, ctx->lock_fd)
                  : 0) &&
        !(e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF)) &&
        !(e = posix_spawnattr_setpgroup(&at, 0)) &&
        !(e = posix_spawnattr_setsigmask(&at, &none)) &&
        !(e = posix_spawnattr_setsigdefault(&at, &pipe_only)))
        e = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return e;
}

static int run(qp_ctx *ctx, qp_job *job, char *const argv[], char **out_stdout,
               char **out_stderr)
{
    int due = qp_intent_durable(ctx); /* qemu-img changes images */
    if (due < 0)
        return due;
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    qp_bytes bo = {0}, be = {0};
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int e = errno;
        if (po[0] >= 0) {
            close(po[0]);
            close(po[1]);
        }
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "pipe for '%s'", argv[0]);
    }
    pid_t pid = 0;
    int e = spawn(ctx, argv, po[1], pe[1], &pid);
    if (e) {
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot execute '%s'", argv[0]);
    }
    close(po[1]);
    close(pe[1]);
    if (job)
        qp_job_child(job, pid);
    struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    size_t scanned = 0;
    while (open_fds > 0) {
        /* a job ticks even when qemu-img is silent: that is the stall */
        int pr = poll(pf, 2, job ? 100 : -1);
        if (pr < 0 && errno != EINTR)
            break;
        if (job) {
            double pct = bo.p ? last_percent(bo.p, scanned, bo.len) : -1;
            unsigned long long done = job->processed;
            /* a "(P/100%)" cut by the read is scanned again, whole */
            scanned = bo.len > 16 ? bo.len - 16 : 0;
            if (pct >= 0)
                done = (unsigned long long)((double)job->total * pct / 100.0);
            /* a stop asked for: qemu-img leaves the images consistent when
             * it dies (qcow2 orders its metadata writes); what it merged
             * so far stays merged (the caller says what that means) */
            if (qp_job_tick(job, done, job->total) < 0)
                kill(pid, SIGTERM);
        }
        if (pr <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            if (!buf_read(i == 0 ? &bo : &be, pf[i].fd)) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* trim trailing newlines of stderr for messages */
    while (be.len > 0 && (be.p[be.len - 1] == '\n' || be.p[be.len - 1] == '\r'))
        be.p[--be.len] = '\0';
    if (out_stdout)
        *out_stdout = bo.p ? bo.p : qp_strdup("");
    else
        free(bo.p);
    if (out_stderr)
        *out_stderr = be.p ? be.p : qp_strdup("");
    else
        free(be.p);
    if (job && job->stop_code) {
        if (out_stderr) {
            free(*out_stderr);
            *out_stderr = NULL;
        }
        return qp_job_stop_error(job);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return qp_error(ctx, SB_ERR_HYPERVISOR, "%s killed by signal %d", argv[0],
                    WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}
