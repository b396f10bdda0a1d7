/* qemu plugin - start QEMU as a daemon without copying the caller.
 *
 * QEMU must outlive a one-shot CLI process and must not be the child of a
 * long-running program that embeds libsnapbroker (whose own wait() or
 * SIGCHLD handling would otherwise meet it): the classic double fork, an
 * intermediate process that calls setsid(), starts QEMU and exits, so
 * QEMU is reparented.  QEMU-to-be writes its own pid file before exec, so
 * no kill of the caller at any moment leaves a QEMU nobody can find.
 *
 * fork() would copy the caller's page tables twice and mark every page
 * copy-on-write: it costs in proportion to the caller's size (2.8 ms from
 * a 1 MB process, 20 ms from a 64 MB one on a 2-CPU virtual machine),
 * every page the caller writes afterwards faults again, and under strict
 * overcommit a large caller cannot fork at all.  So both processes are
 * made the way glibc's posix_spawn makes its child, with
 * clone(CLONE_VM | CLONE_VFORK) on a stack of their own: they run in the
 * caller's memory while the caller waits, the intermediate until it
 * exits, QEMU-to-be until it has exec'd.  posix_spawn itself can set up a
 * new session but cannot leave a process that is not the caller's child.
 *
 * What runs in those two processes must be safe in such a child: system
 * calls and async-signal-safe library calls only (no malloc, no stdio,
 * nothing that writes the caller's memory), all signals blocked until the
 * handlers are back to their defaults.  Results come back through a pipe,
 * never through memory, so the same code is right where clone falls back
 * to copying (valgrind runs CLONE_VFORK as a fork). */
#include "qp.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Each of the two processes gets this much stack (only the pages it
 * touches are ever allocated), below it an inaccessible guard page. */
enum { STACK_SIZE = 256 * 1024 };

/* A message from the intermediate (QEMU's pid) or from QEMU-to-be (the
 * errno of the step that failed). */
struct report {
    enum { REPORT_PID = 1, REPORT_ERRNO } what;
    int value;
};

struct launch {
    const qp_launch_args *args;
    int report_fd;    /* the pipe's write end, close-on-exec */
    char *qemu_stack; /* top of QEMU-to-be's stack */
};

static void report(int fd, int what, int value)
{
    struct report m = {what, value};
    ssize_t n;
    while ((n = write(fd, &m, sizeof m)) < 0 && errno == EINTR)
        ;
}

/* *fd moved to the lowest free descriptor at or above min (close-on-exec),
 * out of the way of the descriptors QEMU gets at fixed numbers. */
__attribute__((no_sanitize_address)) static int move_above(int *fd, int min)
{
    if (*fd >= min)
        return 0;
    int moved = fcntl(*fd, F_DUPFD_CLOEXEC, min);
    if (moved < 0)
        return -1;
    close(*fd);
    *fd = moved;
    return 0;
}

/* QEMU-to-be: its working directory, descriptors, signals and pid file,
 * then exec.  Never returns.  no_sanitize_address: this frame is never
 * left (exec), so AddressSanitizer's poisoning of it would stay on a
 * stack that is then unmapped.
 *
 * QEMU gets fixed descriptor numbers (0-2, and the taps from
 * QP_TAP_FD0), and the descriptors this process works with may be
 * anywhere (a caller with stdio closed, or with 64 or more files open):
 * so the report pipe, /dev/null and the log are first moved above all of
 * those, and only then is anything put at a fixed number. */
__attribute__((no_sanitize_address)) static int become_qemu(void *opaque)
{
    const struct launch *l = opaque;
    const qp_launch_args *a = l->args;
    int fd = l->report_fd, e = 0, high = QP_TAP_FD0 + (int)a->ntaps;
    if (move_above(&fd, high) < 0)
        _exit(127); /* no way left to say why: seen as a QEMU that exited */
    if (chdir(a->dir) < 0)
        e = errno;
    int nul = e ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = e ? -1
                : open(a->log_name,
                       O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (!e && (nul < 0 || log < 0))
        e = errno;
    if (!e && (move_above(&nul, high) < 0 || move_above(&log, high) < 0))
        e = errno;
    if (!e && qp_taps_install(a->taps, a->ntaps, &fd) < 0)
        e = errno;
    /* dup2 leaves the copies at 0-2 without close-on-exec */
    if (!e && (dup2(nul, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0))
        e = errno;
    /* and nothing else: a descriptor the caller left inheritable (a
     * socket, a lock of its own) must not live on in QEMU.  Best effort
     * on a kernel without close_range (before 5.11). */
    if (!e) {
        (void)close_range(3, QP_TAP_FD0 - 1, CLOSE_RANGE_CLOEXEC);
        (void)close_range((unsigned)high, ~0u, CLOSE_RANGE_CLOEXEC);
    }
    if (!e) {
        /* the handlers first, then the mask: no handler of the caller's
         * may ever run in this process */
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int pf = open(a->pid_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (pf < 0) {
            e = errno;
        } else {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (write(pf, pid, (size_t)n) != n)
                e = errno ? errno : EIO;
            close(pf);
        }
    }
    if (!e) {
        execvp(a->argv[0], a->argv);
        e = errno;
    }
    report(fd, REPORT_ERRNO, e);
    _exit(127);
}

/* The intermediate: a session of its own for QEMU, then QEMU-to-be, then
 * exit so QEMU is reparented.  Never returns (see become_qemu). */
__attribute__((no_sanitize_address)) static int intermediate(void *opaque)
{
    struct launch *l = opaque;
    setsid();
    pid_t qemu = clone(become_qemu, l->qemu_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, l);
    /* CLONE_VFORK: QEMU-to-be has exec'd or exited by now */
    report(l->report_fd, REPORT_PID, qemu < 0 ? -errno : (int)qemu);
    _exit(0);
}

int qp_launch_daemon(const qp_launch_args *a, pid_t *qemu_pid, int *child_errno)
{
    *qemu_pid = 0;
    *child_errno = 0;
    long page = sysconf(_SC_PAGESIZE);
    size_t size = 2 * ((size_t)page + STACK_SIZE);
    char *map = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return -errno;
    char *low = map + page, *high = low + STACK_SIZE + page;
    int fds[2] = {-1, -1}, r = 0;
    if (mprotect(low, STACK_SIZE, PROT_READ | PROT_WRITE) < 0 ||
        mprotect(high, STACK_SIZE, PROT_READ | PROT_WRITE) < 0 || pipe2(fds, O_CLOEXEC) < 0) {
        r = -errno;
        goto out;
    }
    struct launch l = {.args = a, .report_fd = fds[1], .qemu_stack = high + STACK_SIZE};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t mid = clone(intermediate, low + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &l);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    if (mid < 0) {
        r = -clone_errno;
        goto out;
    }
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    /* every write end is gone now (exited, or closed by QEMU's exec) */
    struct report m;
    ssize_t n;
    r = -ECHILD; /* no pid reported: the intermediate died */
    while ((n = read(fds[0], &m, sizeof m)) == (ssize_t)sizeof m || (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        if (m.what == REPORT_PID)
            r = m.value < 0 ? m.value : (*qemu_pid = m.value, 0);
        else if (m.what == REPORT_ERRNO)
            *child_errno = m.value ? m.value : EIO;
    }
out:
    if (fds[0] >= 0)
        close(fds[0]);
    munmap(map, size);
    return r;
}
