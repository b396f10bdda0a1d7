/* qemu plugin - the record of a domain's long job (job.h says why). */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Watchers see the record at most this much behind the step. */
#define RECORD_EVERY_MS 100
/* How long domjobabort waits for the step to stop after asking. */
#define ABORT_WAIT_MS 60000

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *job_file(qp_ctx *ctx, const char *domain, const char *suffix)
{
    return qp_printf("%s/jobs/%s.%s", ctx->state_dir, domain, suffix);
}

/* The record is what watchers read; it needs no fsync (after a crash the
 * lock tells that it is stale), only an atomic replace. */
static void write_record(qp_job *j)
{
    if (!j->record)
        return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
    json_object_object_add(o, "child", json_object_new_int64((int64_t)j->child));
    json_object_object_add(o, "operation", json_object_new_string(j->operation));
    json_object_object_add(o, "snapshot", json_object_new_string(j->snapshot));
    json_object_object_add(o, "started_ms", json_object_new_int64(j->started_ms));
    json_object_object_add(o, "processed", json_object_new_int64((int64_t)j->processed));
    json_object_object_add(o, "total", json_object_new_int64((int64_t)j->total));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    char *tmp = qp_printf("%s.tmp.%ld", j->record, (long)getpid());
    int fd = tmp ? qp_create_excl(tmp, 0600) : -ENOMEM;
    int ok = fd >= 0;
    if (ok) {
        ok = qp_write_all(fd, s, strlen(s)) == 0;
        ok = close(fd) == 0 && ok && rename(tmp, j->record) == 0;
        if (!ok)
            unlink(tmp);
    }
    if (!ok)
        qp_log(j->ctx, SB_LOG_WARN, "cannot write the job record '%s': %s (domjobinfo will not "
               "see this job)", j->record, strerror(fd < 0 ? -fd : errno));
    free(tmp);
    json_object_put(o);
    j->written_ms = qp_now_ms();
    j->unwritten = 0;
    j->shown = 1;
}

void qp_job_begin(qp_ctx *ctx, qp_job *j, const char *domain, const char *operation,
                  const char *snapshot)
{
    memset(j, 0, sizeof *j);
    j->ctx = ctx;
    j->percent = -1;
    snprintf(j->operation, sizeof j->operation, "%s", operation);
    snprintf(j->snapshot, sizeof j->snapshot, "%s", snapshot ? snapshot : "");
    j->started_ms = wall_ms();
    j->moved_ms = qp_now_ms();
    if (domain) {
        char *dir = qp_printf("%s/jobs", ctx->state_dir);
        if (dir)
            qp_mkdir_p(dir, 0700);
        free(dir);
        j->record = job_file(ctx, domain, "json");
        j->abort_path = job_file(ctx, domain, "abort");
        /* a request or a record left by an earlier job is not this one's
         * (we hold the domain lock: no other job of the domain runs); the
         * record must go now, since a short job never writes over it */
        if (j->abort_path)
            unlink(j->abort_path);
        if (j->record)
            unlink(j->record);
        /* first written by the tick RECORD_EVERY_MS from now (job.h) */
        j->written_ms = qp_now_ms();
        j->unwritten = 1;
        ctx->job = j;
    }
}

int qp_job_note(qp_job *j, unsigned long long processed, unsigned long long total,
                double now_ms)
{
    if (processed == j->processed && total == j->total)
        return 0;
    j->processed = processed;
    j->total = total;
    j->moved_ms = now_ms;
    return 1;
}

int qp_job_stalled(const qp_job *j, double now_ms, int stall_ms)
{
    return now_ms - j->moved_ms > (double)stall_ms;
}

int qp_job_tick(qp_job *j, unsigned long long processed, unsigned long long total)
{
    double now = qp_now_ms();
    if (qp_job_note(j, processed, total, now)) {
        j->unwritten = 1;
        if (total && processed >= total && j->shown)
            j->written_ms = 0; /* a shown job's end is written at once */
        unsigned pct = total ? (unsigned)(processed >= total ? 100 : processed * 100 / total) : 0;
        if (total && (int)pct != j->percent && j->ctx->api && j->ctx->api->progress) {
            j->percent = (int)pct;
            j->ctx->api->progress(j->ctx->h, j->operation, pct);
        }
    }
    /* a move the rate limit held back is written at a later tick: the
     * record always catches up with the step */
    if (j->unwritten && now - j->written_ms >= RECORD_EVERY_MS)
        write_record(j);
    if (j->stopping)
        return 0;
    if (j->abort_path && access(j->abort_path, F_OK) == 0) {
        j->stop_code = SB_ERR_OPERATION_FAILED;
        snprintf(j->stop_msg, sizeof j->stop_msg, "'%s' was cancelled (domjobabort)",
                 j->operation);
    } else if (qp_job_stalled(j, now, j->ctx->job_timeout_ms)) {
        j->stop_code = SB_ERR_OPERATION_TIMEOUT;
        snprintf(j->stop_msg, sizeof j->stop_msg,
                 "'%s' made no progress for %d ms (job_stall_timeout_ms): cancelled",
                 j->operation, j->ctx->job_timeout_ms);
    } else {
        return 0;
    }
    j->stopping = 1;
    return qp_job_stop_error(j);
}

int qp_job_stop_error(qp_job *j)
{
    return qp_error(j->ctx, j->stop_code, "%s", j->stop_msg);
}

void qp_job_child(qp_job *j, pid_t child)
{
    j->child = child;
    j->unwritten = 1;
    if (j->shown)
        write_record(j);
}

void qp_job_end(qp_job *j)
{
    if (j->record && j->shown)
        unlink(j->record);
    if (j->abort_path)
        unlink(j->abort_path);
    if (j->ctx && j->ctx->job == j)
        j->ctx->job = NULL;
    free(j->record);
    free(j->abort_path);
    j->record = j->abort_path = NULL;
}

static int alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* 1 when some process holds the domain lock (an operation runs). */
static int lock_held(qp_ctx *ctx, const char *domain)
{
    char *path = qp_printf("%s/locks/%s.lock", ctx->state_dir, domain);
    int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd); /* drops the shared lock if we got it */
    return held;
}

typedef struct record {
    pid_t pid, child;
    long long started_ms;
} record;

/* Read the live record of domain into out (and r); 0 when there is none. */
static int read_live(qp_ctx *ctx, const char *domain, struct sb_job_info *out, record *r)
{
    char *path = job_file(ctx, domain, "json"), *data = NULL;
    qp_ctx quiet; /* a missing record is no error */
    memset(&quiet, 0, sizeof quiet);
    if (!path)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    int rc = qp_read_file(&quiet, path, &data, NULL);
    free(path);
    if (rc < 0)
        return 0;
    json_object *o = json_tokener_parse(data), *v;
    free(data);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return 0; /* being replaced, or not ours: no job to report */
    }
    memset(r, 0, sizeof *r);
    r->pid = json_object_object_get_ex(o, "pid", &v) ? (pid_t)json_object_get_int64(v) : 0;
    r->child = json_object_object_get_ex(o, "child", &v) ? (pid_t)json_object_get_int64(v) : 0;
    r->started_ms = json_object_object_get_ex(o, "started_ms", &v) ? json_object_get_int64(v) : 0;
    int live = (alive(r->pid) || alive(r->child)) && lock_held(ctx, domain);
    if (live && out) {
        out->active = 1;
        if (json_object_object_get_ex(o, "operation", &v))
            snprintf(out->operation, sizeof out->operation, "%s", json_object_get_string(v));
        if (json_object_object_get_ex(o, "snapshot", &v))
            snprintf(out->snapshot, sizeof out->snapshot, "%s", json_object_get_string(v));
        if (json_object_object_get_ex(o, "processed", &v))
            out->processed = (unsigned long long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "total", &v))
            out->total = (unsigned long long)json_object_get_int64(v);
        long long el = wall_ms() - r->started_ms;
        out->elapsed_ms = el > 0 ? el : 0;
    }
    json_object_put(o);
    return live;
}

int qp_job_info(qp_ctx *ctx, const char *domain, struct sb_job_info *out)
{
    record r;
    int rc = read_live(ctx, domain, out, &r);
    return rc < 0 ? rc : 0;
}

int qp_job_abort(qp_ctx *ctx, const char *domain)
{
    record r, now;
    int rc = read_live(ctx, domain, NULL, &r);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return qp_error(ctx, SB_ERR_OPERATION_INVALID, "no job is running on domain '%s'",
                        domain);
    char *path = job_file(ctx, domain, "abort");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd < 0) {
        int e = path ? errno : ENOMEM;
        rc = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot ask for the abort ('%s')",
                            path ? path : "out of memory");
        free(path);
        return rc;
    }
    close(fd);
    /* The process running the job answers at its next tick.  One that died
     * (its qemu-img still running under the lock) cannot: stop qemu-img
     * ourselves, as that process would have. */
    if (!alive(r.pid) && alive(r.child))
        kill(r.child, SIGTERM);
    double deadline = qp_now_ms() + ABORT_WAIT_MS;
    for (;;) {
        rc = read_live(ctx, domain, NULL, &now);
        if (rc <= 0 || now.pid != r.pid || now.started_ms != r.started_ms)
            break; /* that job has ended */
        if (qp_now_ms() > deadline) {
            rc = qp_error(ctx, SB_ERR_OPERATION_TIMEOUT,
                          "the job of domain '%s' (process %ld) has not stopped within %d ms of "
                          "the abort request; the request stays", domain, (long)r.pid,
                          ABORT_WAIT_MS);
            break;
        }
        qp_sleep_ms(20);
    }
    if (rc >= 0)
        unlink(path); /* answered, or the job ended on its own */
    free(path);
    return rc < 0 ? rc : 0;
}
