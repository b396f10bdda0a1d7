/* tests/qemu - the daemon launcher QEMU is started with (launch.c), on a
 * real program (sleep) so each property is read off the live process in
 * /proc: a new session, not the caller's child, its directory,
 * descriptors and pid file, no signal state of the caller's; and the
 * caller's own signal state untouched.  Failures of the steps before exec
 * come back as their errno.  This test is deliberately not a subreaper:
 * an orphan must go to someone else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qp.h"
#include "test_wait.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/sb-launch-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = qp_printf("rm -rf '%s'", dir);
    int r = system(cmd);
    free(cmd);
    return r == 0 ? 0 : -1;
}

/* The text of /proc/<pid>/<file> (a test-sized buffer). */
static void proc_read(pid_t pid, const char *file, char *buf, size_t size)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/%s", (long)pid, file);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
}

/* Where /proc/<pid>/<link> points. */
static void proc_link(pid_t pid, const char *link, char *buf, size_t size)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/%s", (long)pid, link);
    ssize_t n = readlink(p, buf, size - 1);
    assert_true(n > 0);
    buf[n] = '\0';
}

static unsigned long long status_mask(const char *status, const char *field)
{
    const char *p = strstr(status, field);
    assert_non_null(p);
    return strtoull(p + strlen(field), NULL, 16);
}

/* In the system call sleep waits in (nanosleep or clock_nanosleep). */
static int asleep(void *pid)
{
    char p[64], buf[64] = "";
    snprintf(p, sizeof p, "/proc/%ld/syscall", (long)*(pid_t *)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long nr = strtol(buf, NULL, 10);
    return nr == SYS_nanosleep || nr == SYS_clock_nanosleep;
}

static int gone(void *pid)
{
    return qp_proc_wait_gone(*(pid_t *)pid, 0) == 0;
}

static void launched_process_state(void **state)
{
    (void)state;
    char *tapfile = qp_printf("%s/tap-stand-in", dir);
    int tap = open(tapfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(tap >= 0);
    /* the caller's signal state, which the launched program must not get
     * and the caller must keep */
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    void (*old_usr2)(int) = signal(SIGUSR2, (void (*)(int))abort);

    /* a caller with nearly every descriptor below QP_TAP_FD0 open (a
     * long-running program): the launcher's pipe takes the last two, and
     * /dev/null and the log, opened next, land where the tap goes; they
     * must not be taken for it */
    int busy[QP_TAP_FD0], nbusy = 0;
    while (nbusy < QP_TAP_FD0 &&
           (busy[nbusy] = open("/dev/zero", O_RDONLY | O_CLOEXEC)) >= 0 &&
           busy[nbusy++] < QP_TAP_FD0 - 3)
        ;
    assert_int_equal(busy[nbusy - 1], QP_TAP_FD0 - 3);

    char *argv[] = {(char *)"sleep", (char *)"600", NULL};
    qp_launch_args a = {.argv = argv, .dir = dir, .log_name = "out.log",
                        .pid_name = "daemon.pid", .taps = &tap, .ntaps = 1};
    pid_t pid = 0;
    int child_errno = -1;
    assert_int_equal(qp_launch_daemon(&a, &pid, &child_errno), 0);
    assert_int_equal(child_errno, 0);
    assert_true(pid > 1);
    while (nbusy > 0)
        close(busy[--nbusy]);

    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    assert_true(sigismember(&now, SIGUSR1));
    assert_true(signal(SIGPIPE, old_pipe) == SIG_IGN);
    assert_true(signal(SIGUSR2, old_usr2) == (void (*)(int))abort);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* the pid file, written before exec */
    char *pidfile = qp_printf("%s/daemon.pid", dir), buf[4096];
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    long written = 0;
    assert_int_equal(fscanf(f, "%ld", &written), 1);
    fclose(f);
    assert_int_equal(written, pid);

    /* wait until it is sleep, asleep: past exec and past the start-up
     * that opens (and closes) files of its own, such as the locale's */
    assert_true(test_wait_for(asleep, &pid, TEST_HANG_MS));
    char comm[64] = "";
    proc_read(pid, "comm", comm, sizeof comm);
    assert_string_equal(comm, "sleep\n");

    /* its own session, and not our child */
    proc_read(pid, "stat", buf, sizeof buf);
    long ppid = 0, pgrp = 0, session = 0;
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    assert_int_equal(sscanf(p + 2, "%*c %ld %ld %ld", &ppid, &pgrp, &session), 3);
    /* the intermediate's session and group (it called setsid): QEMU is
     * no session leader, so it can never take a controlling terminal */
    assert_int_not_equal(session, getsid(0));
    assert_int_not_equal(session, pid);
    assert_int_equal(pgrp, session);
    assert_int_not_equal(ppid, getpid());

    /* no signal blocked, caught or ignored */
    proc_read(pid, "status", buf, sizeof buf);
    assert_int_equal(status_mask(buf, "SigBlk:"), 0);
    assert_int_equal(status_mask(buf, "SigIgn:"), 0);
    assert_int_equal(status_mask(buf, "SigCgt:"), 0);

    /* its directory and descriptors: stdin /dev/null, stdout and stderr
     * the log, the tap at QP_TAP_FD0; the report pipe not inherited */
    char real[PATH_MAX], link[PATH_MAX], *want;
    assert_non_null(realpath(dir, real));
    proc_link(pid, "cwd", link, sizeof link);
    assert_string_equal(link, real);
    proc_link(pid, "fd/0", link, sizeof link);
    assert_string_equal(link, "/dev/null");
    want = qp_printf("%s/out.log", real);
    proc_link(pid, "fd/1", link, sizeof link);
    assert_string_equal(link, want);
    proc_link(pid, "fd/2", link, sizeof link);
    assert_string_equal(link, want);
    free(want);
    char fdname[32];
    snprintf(fdname, sizeof fdname, "fd/%d", QP_TAP_FD0);
    proc_link(pid, fdname, link, sizeof link);
    want = qp_printf("%s/tap-stand-in", real);
    assert_string_equal(link, want);
    free(want);
    /* nothing else of the launcher's: no pipe, no second copy of the log
     * or /dev/null (the test's own descriptors are close-on-exec) */
    for (int fd = 3; fd < 256; fd++) {
        snprintf(fdname, sizeof fdname, "/proc/%ld/fd/%d", (long)pid, fd);
        ssize_t n = readlink(fdname, link, sizeof link - 1);
        if (n > 0 && fd != QP_TAP_FD0) {
            link[n] = '\0';
            fail_msg("the daemon holds fd %d: %s", fd, link);
        }
    }

    close(tap);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_true(test_wait_for(gone, &pid, TEST_HANG_MS));
    free(pidfile);
    free(tapfile);
}

static void launch_failures(void **state)
{
    (void)state;
    char *missing[] = {(char *)"sb-no-such-program", NULL};
    qp_launch_args a = {.argv = missing, .dir = dir, .log_name = "fail.log",
                        .pid_name = "fail.pid"};
    pid_t pid = 0;
    int child_errno = 0;
    /* the process was made, its exec failed: the errno comes back */
    assert_int_equal(qp_launch_daemon(&a, &pid, &child_errno), 0);
    assert_int_equal(child_errno, ENOENT);
    assert_true(pid > 1);
    assert_true(test_wait_for(gone, &pid, TEST_HANG_MS));

    /* a directory that is not there: the same, from chdir */
    char *sleeper[] = {(char *)"sleep", (char *)"600", NULL};
    char *nodir = qp_printf("%s/no-such-dir", dir);
    a = (qp_launch_args){.argv = sleeper, .dir = nodir, .log_name = "x.log",
                         .pid_name = "x.pid"};
    child_errno = 0;
    assert_int_equal(qp_launch_daemon(&a, &pid, &child_errno), 0);
    assert_int_equal(child_errno, ENOENT);
    assert_true(test_wait_for(gone, &pid, TEST_HANG_MS));
    struct stat st;
    assert_int_equal(stat(nodir, &st), -1);
    free(nodir);

    /* a log that is a symlink is not followed */
    char *log = qp_printf("%s/link.log", dir);
    assert_int_equal(symlink("/dev/null", log), 0);
    a = (qp_launch_args){.argv = sleeper, .dir = dir, .log_name = "link.log",
                         .pid_name = "y.pid"};
    child_errno = 0;
    assert_int_equal(qp_launch_daemon(&a, &pid, &child_errno), 0);
    assert_int_equal(child_errno, ELOOP);
    assert_true(test_wait_for(gone, &pid, TEST_HANG_MS));
    free(log);
}

/* In a child whose stdio is closed (the report pipe may then be fd 0 or
 * 1): a failed exec still comes back as its errno, not into the log. */
static void launch_with_stdio_closed(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(0);
        close(1);
        close(2);
        char *missing[] = {(char *)"sb-no-such-program", NULL};
        qp_launch_args a = {.argv = missing, .dir = dir, .log_name = "closed.log",
                            .pid_name = "closed.pid"};
        pid_t pid = 0;
        int child_errno = 0;
        int r = qp_launch_daemon(&a, &pid, &child_errno);
        _exit(r == 0 && child_errno == ENOENT ? 0 : r < 0 ? 2 : 3);
    }
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char *log = qp_printf("%s/closed.log", dir);
    struct stat sb;
    assert_int_equal(stat(log, &sb), 0);
    assert_int_equal(sb.st_size, 0); /* the report did not land in the log */
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(launched_process_state),
        cmocka_unit_test(launch_failures),
        cmocka_unit_test(launch_with_stdio_closed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
