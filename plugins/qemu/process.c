/* qemu plugin - the QEMU process of a domain.
 *
 * QEMU runs WITHOUT -daemonize as the grandchild of the process that
 * starts it (a double clone + setsid: launch.c), so it outlives a one-shot
 * CLI process and is no embedding program's child.
 * Runtime files live in <state>/run/<name>/: qmp.sock, qemu.pid, qemu.log.
 * QEMU's working directory is that run directory, which is also how we
 * recognise our own QEMU after a crash (pid reuse): /proc/<pid>/cwd.
 */
#include "qp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a QEMU that closed its monitor during start has to exit
 * before it is taken for hung and killed (a hang deadline, not a
 * timing: one that exits is seen at once). */
#define EXIT_AFTER_CLOSE_MS 10000

char *qp_run_dir(qp_ctx *ctx, const char *name)
{
    return qp_printf("%s/run/%s", ctx->state_dir, name);
}

int qp_kvm_usable(void)
{
    /* SB_TEST_NO_KVM (not empty, not "0"): behave as on a host without KVM,
     * so the test suite can check the TCG fallback where /dev/kvm exists */
    const char *no_kvm = getenv("SB_TEST_NO_KVM");
    if (no_kvm && *no_kvm && strcmp(no_kvm, "0") != 0)
        return 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* /proc/<pid>/stat: the state ('R', 'S', 'Z', ...; 0 when the process
 * does not exist) and, when start is not NULL, the start time in clock
 * ticks since boot (field 22; 0 when unknown). */
static char proc_stat(pid_t pid, unsigned long long *start)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
    if (!p || p[1] != ' ')
        return 0;
    if (start) {
        /* state is field 3; 19 more fields to the start time */
        char *f = p + 2;
        for (int i = 0; i < 19 && f; i++)
            f = strchr(f + 1, ' ');
        *start = f ? strtoull(f + 1, NULL, 10) : 0;
    }
    return p[2];
}

static char proc_state(pid_t pid)
{
    return proc_stat(pid, NULL);
}

unsigned long long qp_proc_start_ticks(pid_t pid)
{
    unsigned long long start = 0;
    return proc_stat(pid, &start) ? start : 0;
}

/* Number of live threads (a zombie group leader may still have threads
 * that hold the image files and their locks). */
static int proc_threads(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *t = strstr(buf, "\nThreads:");
    return t ? atoi(t + 9) : 0;
}

/* Reaped (when it is our child: tests run as subreapers), missing, or a
 * zombie whose threads all ended. */
static int proc_gone(pid_t pid)
{
    if (waitpid(pid, NULL, WNOHANG) == pid)
        return 1;
    char st = proc_state(pid);
    return st == 0 || ((st == 'Z' || st == 'X') && proc_threads(pid) <= 1);
}

int qp_proc_wait_gone(pid_t pid, int timeout_ms)
{
    double deadline = qp_now_ms() + timeout_ms;
    int delay_us = 200;
    for (;;) {
        if (proc_gone(pid))
            return 0;
        if (qp_now_ms() > deadline)
            return -ETIMEDOUT;
        usleep((useconds_t)delay_us);
        if (delay_us < 5000)
            delay_us *= 2;
    }
}

/* A pidfd for pid, -1 without (a kernel before 5.3). */
static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* The same for a process told to exit (destroy), through its pidfd
 * (opened before it was told, so it is that process): readable the moment
 * it exits, where the polls above can be up to 5 ms late. */
static int wait_exit(pid_t pid, int pfd, int timeout_ms)
{
    if (pfd < 0)
        return qp_proc_wait_gone(pid, timeout_ms);
    double deadline = qp_now_ms() + timeout_ms;
    for (;;) {
        if (proc_gone(pid))
            return 0;
        double left = deadline - qp_now_ms();
        if (left < 0)
            return -ETIMEDOUT;
        struct pollfd pf = {pfd, POLLIN, 0};
        if (poll(&pf, 1, left > 100 ? 100 : (int)left + 1) > 0 && !proc_gone(pid))
            usleep(200); /* exited, its threads still ending */
    }
}

static char *run_file(qp_ctx *ctx, const char *name, const char *file)
{
    return qp_printf("%s/run/%s/%s", ctx->state_dir, name, file);
}

static void cleanup_runtime(qp_ctx *ctx, const char *name)
{
    char *f;
    if ((f = run_file(ctx, name, "qemu.pid"))) {
        unlink(f);
        free(f);
    }
    if ((f = run_file(ctx, name, "qmp.sock"))) {
        unlink(f);
        free(f);
    }
    qp_book_remove(ctx, name); /* that QEMU's node names */
}

int qp_proc_pid(qp_ctx *ctx, const char *name, pid_t *out)
{
    *out = 0;
    char *pidfile = run_file(ctx, name, "qemu.pid");
    char *rundir = qp_run_dir(ctx, name);
    char *buf = NULL;
    if (!pidfile || !rundir) {
        free(pidfile);
        free(rundir);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    if (!qp_file_exists(pidfile)) {
        cleanup_runtime(ctx, name); /* a socket without a pid file is stale */
        goto out;
    }
    int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    char tmp[32] = "";
    if (fd >= 0) {
        ssize_t n = read(fd, tmp, sizeof tmp - 1);
        tmp[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    long pid = strtol(tmp, NULL, 10);
    int ours = 0;
    if (pid > 1) {
        char st = proc_state((pid_t)pid);
        if (st && st != 'Z' && st != 'X') {
            /* QEMU runs in the domain's run directory: its cwd is that
             * very directory (device and inode: two stat calls where the
             * canonical paths cost a readlink per component) */
            char link[64];
            struct stat cwd, run;
            snprintf(link, sizeof link, "/proc/%ld/cwd", pid);
            ours = stat(link, &cwd) == 0 && stat(rundir, &run) == 0 &&
                   cwd.st_dev == run.st_dev && cwd.st_ino == run.st_ino;
        } else if (st == 'Z') {
            (void)waitpid((pid_t)pid, NULL, WNOHANG);
        }
    }
    if (ours) {
        *out = (pid_t)pid;
    } else {
        qp_log(ctx, SB_LOG_WARN, "domain '%s': removing stale pid file (pid %ld not running)",
               name, pid);
        cleanup_runtime(ctx, name);
    }
out:
    free(buf);
    free(pidfile);
    free(rundir);
    return 0;
}

/* QEMU option values: a comma is written as two commas. */
static char *opt_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == ',' ? 2 : 1;
    char *o = malloc(n + 1), *q = o;
    if (!o)
        return NULL;
    for (const char *p = s; *p; p++) {
        *q++ = *p;
        if (*p == ',')
            *q++ = ',';
    }
    *q = '\0';
    return o;
}

static int build_argv(qp_ctx *ctx, const qp_domain *d, int paused, int incoming, qp_strv *a)
{
    int r = 0;
    const char *accel = "tcg";
    if (!strcmp(d->type, "kvm")) {
        if (qp_kvm_usable())
            accel = "kvm:tcg";
        else
            qp_log(ctx, SB_LOG_WARN, "domain '%s': /dev/kvm is not usable, running with TCG",
                   d->name);
    }
    char *ename = opt_escape(d->name);
    r |= qp_strv_add(a, d->emulator && *d->emulator ? d->emulator : ctx->qemu_bin);
    r |= qp_strv_add(a, "-name");
    r |= qp_strv_addf(a, "guest=%s", ename ? ename : "guest");
    free(ename);
    if (d->uuid) {
        r |= qp_strv_add(a, "-uuid");
        r |= qp_strv_add(a, d->uuid);
    }
    r |= qp_strv_add(a, "-machine");
    r |= qp_strv_addf(a, "%s,accel=%s", d->machine ? d->machine : "pc", accel);
    r |= qp_strv_add(a, "-m");
    r |= qp_strv_addf(a, "%lluM", (d->memory_kib + 1023) / 1024);
    r |= qp_strv_add(a, "-smp");
    r |= qp_strv_addf(a, "%u", d->vcpus);
    r |= qp_strv_add(a, "-nodefaults");
    r |= qp_strv_add(a, "-no-user-config");
    r |= qp_strv_add(a, "-display");
    r |= qp_strv_add(a, "none");
    r |= qp_strv_add(a, "-qmp");
    r |= qp_strv_add(a, "unix:qmp.sock,server=on,wait=off");
    r |= qp_strv_add(a, "-pidfile");
    r |= qp_strv_add(a, "qemu.pid");
    if (paused)
        r |= qp_strv_add(a, "-S");
    if (incoming) {
        r |= qp_strv_add(a, "-incoming");
        r |= qp_strv_add(a, "defer");
    }
    if (qp_devargs_controllers(d, a) < 0) /* before the disks on them */
        return -SB_ERR_NO_MEMORY;
    for (size_t i = 0; i < d->ndisks; i++) {
        const qp_disk *k = &d->disks[i];
        const char *ro = k->readonly ? ",read-only=on" : "";
        if (k->source) {
            char *src = opt_escape(k->source);
            if (!src)
                return -SB_ERR_NO_MEMORY;
            r |= qp_strv_add(a, "-blockdev");
            r |= qp_strv_addf(a, "driver=%s,filename=%s,node-name=f-%s%s%s",
                              !strcmp(k->type, "block") ? "host_device" : "file", src, k->target,
                              ro, k->shareable ? ",locking=off" : "");
            free(src);
            r |= qp_strv_add(a, "-blockdev");
            r |= qp_strv_addf(a, "driver=%s,file=f-%s,node-name=d-%s%s", k->format, k->target,
                              k->target, ro);
        }
        if (!strcmp(k->bus, "scsi")) {
            r |= qp_devargs_scsi_disk(k, a);
            continue;
        }
        r |= qp_strv_add(a, "-device");
        const char *share = k->shareable ? ",share-rw=on" : "";
        if (!strcmp(k->device, "cdrom"))
            r |= k->source ? qp_strv_addf(a, "ide-cd,drive=d-%s,id=%s", k->target, k->target)
                           : qp_strv_addf(a, "ide-cd,id=%s", k->target);
        else if (!strcmp(k->bus, "virtio"))
            r |= qp_strv_addf(a, "virtio-blk-pci,drive=d-%s,id=%s%s", k->target, k->target, share);
        else
            r |= qp_strv_addf(a, "ide-hd,drive=d-%s,id=%s%s", k->target, k->target, share);
    }
    if (d->serial_pty) {
        r |= qp_strv_add(a, "-chardev");
        r |= qp_strv_add(a, "pty,id=charserial0");
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_add(a, "isa-serial,chardev=charserial0,id=serial0");
    }
    if (d->balloon) {
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_add(a, "virtio-balloon-pci,id=balloon0");
    }
    if (d->agent_path) {
        char *p = *d->agent_path ? opt_escape(d->agent_path) : qp_strdup("agent.sock");
        r |= qp_strv_add(a, "-chardev");
        r |= qp_strv_addf(a, "socket,id=charagent,path=%s,server=on,wait=off", p ? p : "");
        free(p);
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_add(a, "virtio-serial-pci,id=vser0");
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_add(a, "virtserialport,bus=vser0.0,chardev=charagent,name=org.qemu.guest_agent.0");
    }
    if (qp_devargs_rest(d, a) < 0) /* NICs, VNC, video */
        return -SB_ERR_NO_MEMORY;
    return r ? -SB_ERR_NO_MEMORY : 0;
}

static char *log_tail(qp_ctx *ctx, const char *name)
{
    char *f = run_file(ctx, name, "qemu.log"), *data = NULL;
    qp_ctx tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!f || qp_read_file(&tmp, f, &data, NULL) < 0) {
        free(f);
        return qp_strdup("(no log)");
    }
    free(f);
    size_t l = strlen(data);
    while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
        data[--l] = '\0';
    const char *s = l > 600 ? data + l - 600 : data;
    char *out = qp_strdup(s);
    free(data);
    return out;
}

int qp_proc_start(qp_ctx *ctx, const qp_domain *d, int paused, int incoming, qp_qmp **out_qmp)
{
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    pid_t pid = 0;
    int r = qp_proc_pid(ctx, d->name, &pid);
    if (r < 0)
        return r;
    if (pid > 0)
        return qp_error(ctx, SB_ERR_OPERATION_INVALID, "domain '%s' is already running", d->name);
    for (size_t i = 0; i < d->ndisks; i++) {
        const qp_disk *k = &d->disks[i];
        if (k->source && access(k->source, k->readonly ? R_OK : R_OK | W_OK) < 0)
            return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno,
                                  "cannot access disk '%s' source '%s'", k->target, k->source);
    }
    char *rundir = qp_run_dir(ctx, d->name);
    if (!rundir)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if ((r = qp_mkdir_p(rundir, 0700)) < 0) {
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot create '%s'", rundir);
        free(rundir);
        return r;
    }
    cleanup_runtime(ctx, d->name);
    qp_strv args = {0};
    r = build_argv(ctx, d, paused, incoming, &args);
    if (r < 0) {
        free(rundir);
        qp_strv_free(&args);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    /* the taps of bridge/ethernet NICs, opened here so a missing bridge
     * or privilege is reported naming the interface before QEMU runs */
    int taps[QP_MAX_NICS];
    if ((r = qp_taps_open(ctx, d, taps)) < 0) {
        free(rundir);
        qp_strv_free(&args);
        return r;
    }
    double t0 = qp_now_ms();
    qp_launch_args la = {.argv = args.v, .dir = rundir, .log_name = "qemu.log",
                         .pid_name = "qemu.pid", .taps = taps, .ntaps = d->nnics};
    pid_t qpid = 0;
    int child_err = 0;
    r = qp_launch_daemon(&la, &qpid, &child_err);
    qp_taps_close(taps, d->nnics); /* QEMU holds its copies */
    char *emu = qp_strdup(args.v[0]);
    qp_strv_free(&args);
    if (r < 0) {
        free(rundir);
        free(emu);
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "domain '%s': could not start QEMU",
                              d->name);
    }
    if (child_err) {
        (void)qp_proc_wait_gone(qpid, 1000);
        cleanup_runtime(ctx, d->name);
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, child_err, "cannot execute '%s'", emu);
        free(rundir);
        free(emu);
        return r;
    }
    free(emu);
    char *sock = run_file(ctx, d->name, "qmp.sock");
    qp_qmp *q = NULL;
    double deadline = t0 + ctx->connect_timeout_ms;
    r = -1;
    for (;;) {
        char s = proc_state(qpid);
        if (s == 0 || s == 'Z') {
            (void)qp_proc_wait_gone(qpid, 100);
            char *tail = log_tail(ctx, d->name);
            cleanup_runtime(ctx, d->name);
            r = qp_error(ctx, SB_ERR_HYPERVISOR, "QEMU for domain '%s' exited during start: %s",
                         d->name, tail ? tail : "");
            free(tail);
            break;
        }
        if (qp_file_exists(sock)) {
            int left = (int)(deadline - qp_now_ms());
            int connected = 0;
            r = qp_qmp_connect(ctx, sock, left > 50 ? left : 50, &q);
            if (r == 0 && (connected = 1, r = qp_qmp_ready(q)) < 0) {
                qp_qmp_close(q);
                q = NULL;
            }
            if (r == 0)
                break;
            /* A monitor that took us and then closed: QEMU is on its way
             * out (a device it could not set up), and its log says why.
             * Wait for the exit itself: on a loaded machine its threads
             * can take a while to end after the monitor closed.  The
             * deadline only catches a QEMU that stays. */
            if (connected)
                (void)qp_proc_wait_gone(qpid, EXIT_AFTER_CLOSE_MS);
            s = proc_state(qpid);
            if (s != 0 && s != 'Z') {
                kill(qpid, SIGKILL);
                (void)qp_proc_wait_gone(qpid, 3000);
                cleanup_runtime(ctx, d->name);
                break;
            }
            continue; /* it died: report its log */
        }
        if (qp_now_ms() > deadline) {
            kill(qpid, SIGKILL);
            (void)qp_proc_wait_gone(qpid, 3000);
            cleanup_runtime(ctx, d->name);
            r = qp_error(ctx, SB_ERR_OPERATION_TIMEOUT,
                         "QEMU for domain '%s' did not open its monitor within %d ms", d->name,
                         ctx->connect_timeout_ms);
            break;
        }
        usleep(500);
    }
    free(sock);
    free(rundir);
    if (r < 0)
        return r;
    qp_log(ctx, SB_LOG_DEBUG, "domain '%s': QEMU pid %d up in %.1f ms", d->name, qpid,
           qp_now_ms() - t0);
    qp_book_start(ctx, d, qpid);
    if (ctx->mon) {
        /* a new QEMU holds no job; the jobs of a connection handed out
         * are not counted (qp_monitor) */
        ctx->mon->no_jobs = 1;
        ctx->mon->untracked |= out_qmp != NULL;
    }
    if (out_qmp)
        *out_qmp = q;
    else
        qp_qmp_close(q);
    return 0;
}

int qp_proc_connect(qp_ctx *ctx, const char *name, qp_qmp **out)
{
    pid_t pid = 0;
    int r = qp_proc_pid(ctx, name, &pid);
    if (r < 0)
        return r;
    if (pid <= 0)
        return qp_error(ctx, SB_ERR_OPERATION_INVALID, "domain '%s' is not running", name);
    qp_monitor *m = ctx->mon && ctx->mon->owner == ctx ? ctx->mon : NULL;
    if (m && m->q && m->pid == pid && !strcmp(m->domain, name) && qp_qmp_reuse(m->q, ctx) == 0) {
        *out = qp_qmp_share(m->q);
        return 0;
    }
    char *sock = run_file(ctx, name, "qmp.sock");
    if (!sock)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    r = qp_qmp_connect(ctx, sock, ctx->connect_timeout_ms, out);
    free(sock);
    if (r == 0 && m) { /* kept for the rest of the locked call */
        char *dup = qp_strdup(name);
        if (dup) {
            /* a job the old one left in this same QEMU is not counted */
            if (!qp_qmp_close_clean(m->q) && m->pid == pid)
                m->no_jobs = 0;
            free(m->domain);
            m->q = qp_qmp_share(*out);
            m->pid = pid;
            m->domain = dup;
        }
    }
    return r;
}

int qp_proc_destroy(qp_ctx *ctx, const char *name)
{
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    pid_t pid = 0;
    int r = qp_proc_pid(ctx, name, &pid);
    if (r < 0)
        return r;
    if (pid <= 0)
        return qp_error(ctx, SB_ERR_OPERATION_INVALID, "domain '%s' is not running", name);
    /* SIGTERM: QEMU flushes its images and exits; no monitor needed, so a
     * busy or hung monitor cannot block destroy. */
    int pfd = pidfd_of(pid);
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "kill QEMU pid %ld", (long)pid);
        if (pfd >= 0)
            close(pfd);
        return r;
    }
    r = wait_exit(pid, pfd, 5000);
    if (pfd >= 0)
        close(pfd);
    if (r < 0) {
        qp_log(ctx, SB_LOG_WARN, "domain '%s': QEMU ignored SIGTERM, sending SIGKILL", name);
        kill(pid, SIGKILL);
        if (qp_proc_wait_gone(pid, 5000) < 0)
            return qp_error(ctx, SB_ERR_OPERATION_TIMEOUT,
                            "domain '%s': QEMU pid %ld does not exit", name, (long)pid);
    }
    cleanup_runtime(ctx, name);
    return 0;
}

char *qp_proc_log_tail(qp_ctx *ctx, const char *name)
{
    return log_tail(ctx, name);
}

int qp_proc_argv(qp_ctx *ctx, const qp_domain *d, qp_strv *out)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL; /* no KVM warning for a comparison */
    return build_argv(&quiet, d, 0, 0, out);
}

int qp_proc_powerdown(qp_ctx *ctx, const char *name, pid_t *out_pid)
{
    qp_qmp *q = NULL;
    pid_t pid = 0;
    *out_pid = 0;
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    int r = qp_proc_pid(ctx, name, &pid);
    if (r < 0)
        return r;
    r = qp_proc_connect(ctx, name, &q);
    if (r < 0)
        return r;
    r = qp_qmp_execute(q, "system_powerdown", NULL, NULL);
    qp_qmp_close(q);
    if (r == 0)
        *out_pid = pid;
    return r;
}

static int map_status(const char *s)
{
    if (!strcmp(s, "running"))
        return SB_DOMAIN_RUNNING;
    if (!strcmp(s, "shutdown"))
        return SB_DOMAIN_SHUTDOWN;
    if (!strcmp(s, "guest-panicked") || !strcmp(s, "internal-error"))
        return SB_DOMAIN_CRASHED;
    if (!strcmp(s, "suspended"))
        return SB_DOMAIN_PMSUSPENDED;
    return SB_DOMAIN_PAUSED; /* paused, prelaunch, inmigrate, postmigrate, io-error, ... */
}

int qp_proc_state(qp_ctx *ctx, const char *name, int *out_state)
{
    pid_t pid = 0;
    int r = qp_proc_pid(ctx, name, &pid);
    if (r < 0)
        return r;
    if (pid <= 0) {
        *out_state = SB_DOMAIN_SHUTOFF;
        return 0;
    }
    qp_qmp *q = NULL;
    r = qp_proc_connect(ctx, name, &q);
    if (r < 0)
        return r;
    char st[64];
    r = qp_qmp_status(q, st, sizeof st);
    qp_qmp_close(q);
    if (r < 0)
        return r;
    *out_state = map_status(st);
    return 0;
}

/* ---- block graph queries -------------------------------------------------- */

static int qdev_matches(const char *qdev, const char *target)
{
    size_t tl = strlen(target);
    if (!strcmp(qdev, target))
        return 1;
    const char *pfx = "/machine/peripheral/";
    size_t pl = strlen(pfx);
    return !strncmp(qdev, pfx, pl) && !strncmp(qdev + pl, target, tl) && qdev[pl + tl] == '/';
}

static json_object *find_block(json_object *blocks, const char *target)
{
    size_t n = blocks ? json_object_array_length(blocks) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *b = json_object_array_get_idx(blocks, i), *v;
        if (json_object_object_get_ex(b, "qdev", &v) &&
            qdev_matches(json_object_get_string(v), target))
            return b;
    }
    return NULL;
}

int qp_vm_top_node(qp_qmp *q, const char *target, char *buf, size_t len)
{
    json_object *blocks = NULL, *ins, *nn;
    int r = qp_qmp_query_graph(q, QP_QMP_BLOCK, &blocks);
    if (r < 0)
        return r;
    json_object *b = find_block(blocks, target);
    if (!b || !json_object_object_get_ex(b, "inserted", &ins) ||
        !json_object_object_get_ex(ins, "node-name", &nn)) {
        json_object_put(blocks);
        return qp_error(qp_qmp_ctx(q), SB_ERR_HYPERVISOR,
                        "QEMU has no medium for disk '%s'", target);
    }
    snprintf(buf, len, "%s", json_object_get_string(nn));
    json_object_put(blocks);
    return 0;
}

/* The image node (node-name) reads, "" if QEMU has no such node; NULL
 * only when out of memory. */
static char *node_file(json_object *named, const char *node)
{
    size_t n = named ? json_object_array_length(named) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *nd = json_object_array_get_idx(named, i), *name, *file;
        if (json_object_object_get_ex(nd, "node-name", &name) &&
            !strcmp(json_object_get_string(name), node))
            return qp_realpath_or_copy(json_object_object_get_ex(nd, "file", &file)
                                           ? json_object_get_string(file) : "");
    }
    return strdup("");
}

int qp_vm_start_nodes_stay(const char *target, const qp_strv *nodes, int gone)
{
    char fmt[128];
    snprintf(fmt, sizeof fmt, "d-%s", target);
    for (size_t i = 0; i < nodes->n; i++)
        if ((int)i != gone && !strcmp(nodes->v[i], fmt))
            return 1;
    return 0;
}

int qp_vm_drop_start_nodes(qp_qmp *q, const char *target)
{
    /* The nodes the command line named (d-T on f-T, see build_argv) are
     * the monitor's: unlike an overlay QEMU made for a snapshot, they stay
     * after a commit takes their image out of the disk's chain (an active
     * commit's pivot, or a commit below the top), d-T still holding the
     * base as its backing child - which then is no root node, and the next
     * active commit fails ("Need a root block node").  Once the disk no
     * longer reads their image, remove them (format node first). */
    char fmt[128], file[128];
    snprintf(fmt, sizeof fmt, "d-%s", target);
    snprintf(file, sizeof file, "f-%s", target);
    qp_strv chain = {0};
    json_object *named = NULL;
    int r = qp_vm_disk_chain(q, target, &chain, NULL);
    if (r == 0)
        r = qp_qmp_query_graph(q, QP_QMP_NAMED_NODES, &named);
    char *img = r == 0 ? node_file(named, fmt) : NULL;
    json_object_put(named);
    if (r == 0 && !img)
        r = qp_error(qp_qmp_ctx(q), SB_ERR_NO_MEMORY, "out of memory");
    /* gone already, or still in the disk's chain (in use) */
    int keep = r < 0 || !img[0] || qp_strv_has(&chain, img);
    free(img);
    qp_strv_free(&chain);
    const char *const drop[2] = {fmt, file};
    for (int i = 0; i < 2 && !keep; i++) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "node-name", json_object_new_string(drop[i]));
        r = qp_qmp_execute(q, "blockdev-del", a, NULL);
        keep = r < 0;
    }
    return r;
}

int qp_vm_disk_chain(qp_qmp *q, const char *target, qp_strv *files, qp_strv *nodes)
{
    json_object *blocks = NULL, *ins, *v;
    qp_ctx *ctx = qp_qmp_ctx(q);
    int r = qp_qmp_query_graph(q, QP_QMP_BLOCK, &blocks);
    if (r < 0)
        return r;
    json_object *b = find_block(blocks, target);
    if (!b || !json_object_object_get_ex(b, "inserted", &ins)) {
        json_object_put(blocks);
        return qp_error(ctx, SB_ERR_HYPERVISOR, "QEMU has no medium for disk '%s'", target);
    }
    json_object *img = NULL;
    json_object_object_get_ex(ins, "image", &img);
    for (; img && r == 0; img = json_object_object_get_ex(img, "backing-image", &v) ? v : NULL) {
        if (json_object_object_get_ex(img, "filename", &v)) {
            char *canon = qp_realpath_or_copy(json_object_get_string(v));
            r = qp_strv_add(files, canon); /* canon NULL: -SB_ERR_NO_MEMORY */
            free(canon);
        }
    }
    json_object_put(blocks);
    if (r < 0)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    return nodes ? qp_vm_chain_nodes(q, files, nodes) : 0;
}

int qp_vm_chain_nodes(qp_qmp *q, const qp_strv *files, qp_strv *nodes)
{
    json_object *named = NULL;
    int r = qp_qmp_query_graph(q, QP_QMP_NAMED_NODES, &named);
    if (r < 0)
        return r;
    size_t n = json_object_array_length(named);
    for (size_t i = 0; i < files->n && r == 0; i++) {
        const char *found = NULL;
        for (size_t k = 0; k < n && !found; k++) {
            json_object *nd = json_object_array_get_idx(named, k), *drv, *file, *name;
            if (!json_object_object_get_ex(nd, "drv", &drv) ||
                !json_object_object_get_ex(nd, "file", &file) ||
                !json_object_object_get_ex(nd, "node-name", &name))
                continue;
            const char *dv = json_object_get_string(drv);
            if (!strcmp(dv, "file") || !strcmp(dv, "host_device"))
                continue;
            char *canon = qp_realpath_or_copy(json_object_get_string(file));
            if (canon && !strcmp(canon, files->v[i]))
                found = json_object_get_string(name);
            free(canon);
        }
        r = qp_strv_add(nodes, found ? found : "");
    }
    json_object_put(named);
    return r < 0 ? qp_error(qp_qmp_ctx(q), SB_ERR_NO_MEMORY, "out of memory") : 0;
}
