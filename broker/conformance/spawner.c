/* The kit's process spawner (kit_internal.h, k_spawner_*).
 *
 * Why a spawner: the concurrency scenarios need processes of their own
 * that each open a broker and a connection, as two CLI commands would.
 * Forking them from the kit itself is unsafe once it is connected: a
 * plugin may run threads (the libvirt plugin's event loop does), and a
 * child forked while one of them holds a lock (GLib's main context, an
 * allocator's) inherits the lock held, and hangs the first time it takes
 * it.  So the kit forks one spawner at its start, before it loads the
 * configuration or any plugin, while it has one thread; the spawner forks
 * each worker on request, from that clean state.
 *
 * The protocol, over a socketpair: the kit sends one struct k_job with
 * the write end of the worker's report pipe (SCM_RIGHTS); the spawner
 * forks the worker and answers with its pid.  The worker writes its report
 * ("0" or "1", then a message) to the pipe and exits; the kit reads it to
 * end of file.  The spawner reaps its workers, and ends when the kit
 * closes the socket. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit_internal.h"

/* Send or receive all of len bytes; with fd_in/fd_out one descriptor
 * rides along (SCM_RIGHTS). */
static int send_msg(int sock, const void *buf, size_t len, int fd)
{
    struct iovec iov = { (void *)buf, len };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return n == (ssize_t)len ? 0 : -1;
}

static int recv_msg(int sock, void *buf, size_t len, int *fd)
{
    struct iovec iov = { buf, len };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd) {
        *fd = -1;
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof(ctl.buf);
    }
    ssize_t n;
    while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (fd) {
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (n > 0 && c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof(int));
    }
    return n == (ssize_t)len ? 0 : -1;
}

/* In the worker: the job, then its report on fd. */
static void worker(const struct k *parent, const struct k_job *job, int fd)
{
    struct k k = { .opts = parent->opts, .simulator = parent->simulator };
    char report[K_JOB_REPORT_MAX];
    snprintf(k.dom, sizeof(k.dom), "%s", job->dom);
    k.caps.create_parse = job->redefine_create ? "redefine" : "create";
    int failed = k_job_run(&k, job, report + 1, sizeof(report) - 1);
    report[0] = failed ? '1' : '0';
    size_t len = strlen(report);
    _exit(write(fd, report, len) == (ssize_t)len ? 0 : 1);
}

/* The spawner's loop: one worker per request, until the kit hangs up. */
static void spawner(const struct k *k, int sock)
{
    struct k_job job;
    int fd;
    while (recv_msg(sock, &job, sizeof(job), &fd) == 0) {
        pid_t pid = fd >= 0 ? fork() : -1;
        if (pid == 0) {
            close(sock);
            worker(k, &job, fd);
        }
        if (fd >= 0)
            close(fd);
        int answer = (int)pid;
        if (send_msg(sock, &answer, sizeof(answer), -1) < 0)
            break;
        while (waitpid(-1, NULL, WNOHANG) > 0) /* the workers that are done */
            ;
    }
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    _exit(0);
}

int k_spawner_start(struct k *k)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        fprintf(stderr, "error: SYSTEM_ERROR: cannot start the kit's process spawner: %s\n",
                strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "error: SYSTEM_ERROR: cannot start the kit's process spawner: %s\n",
                strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        spawner(k, sv[1]);
    }
    close(sv[1]);
    k->spawner_sock = sv[0];
    k->spawner_pid = pid;
    return 0;
}

void k_spawner_stop(struct k *k)
{
    if (k->spawner_pid <= 0)
        return;
    close(k->spawner_sock);
    while (waitpid(k->spawner_pid, NULL, 0) < 0 && errno == EINTR)
        ;
    k->spawner_pid = 0;
    k->spawner_sock = -1;
}

int k_spawn(struct k *k, const struct k_job *job, pid_t *pid, int *report)
{
    int fds[2], answer = -1;
    if (k->spawner_pid <= 0)
        return k_fail(k, "the kit's process spawner is not running");
    if (pipe2(fds, O_CLOEXEC) < 0)
        return k_fail(k, "pipe: %s", strerror(errno));
    int sent = send_msg(k->spawner_sock, job, sizeof(*job), fds[1]) == 0 &&
               recv_msg(k->spawner_sock, &answer, sizeof(answer), NULL) == 0;
    close(fds[1]);
    if (!sent || answer <= 0) {
        close(fds[0]);
        return k_fail(k, sent ? "the kit's process spawner could not fork a process"
                              : "the kit's process spawner is gone");
    }
    *pid = (pid_t)answer;
    *report = fds[0];
    return K_PASS;
}
