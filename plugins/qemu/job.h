/* qemu plugin - a domain's long job as other processes see it (job.c).
 *
 * While a snapshot operation runs a long step (a block commit in QEMU, a
 * qemu-img commit of a shut-off domain) the process running it keeps the
 * record <state>/jobs/<domain>.json: its pid, the step, the snapshot, the
 * progress and when it started.  The operation holds the domain lock the
 * whole time, so another process (`domjobinfo`) reads the record without
 * that lock, and `domjobabort` asks for the step to stop by creating
 * <state>/jobs/<domain>.abort.  The running process looks for that file at
 * every tick of its wait (the same ticks that carry the progress), cancels
 * its step (QMP job-cancel; SIGTERM to qemu-img) and fails the operation.
 *
 * The same ticks drive the stall timeout: a step whose progress has not
 * moved for ctx->job_timeout_ms is cancelled the same way, however long it
 * has run in all.
 *
 * A record whose domain lock nobody holds is stale: the process that wrote
 * it died and nothing it started still runs (qemu-img inherits the lock,
 * run.c).  It reads as "no job".
 *
 * The record is first written by the tick 100 ms after the step began
 * (both waits tick at least that often), not at its start: a step that
 * ends sooner is never shown, and domjobinfo and domjobabort see no job
 * during its first 100 ms.  Most steps are that short (the active commit
 * of a small overlay takes a few ms), and writing the record for them was
 * two temp-file writes, two renames and an unlink that waited for the
 * renamed file's writeback: about half a millisecond of a 5 ms delete.
 */
#ifndef QP_JOB_H
#define QP_JOB_H

#include "qp.h"

typedef struct qp_job {
    qp_ctx *ctx;
    char *record;          /* <state>/jobs/<domain>.json */
    char *abort_path;      /* <state>/jobs/<domain>.abort */
    char operation[64];    /* "block-commit", "qemu-img commit" */
    char snapshot[256];
    long long started_ms;  /* wall clock: elapsed time for other processes */
    double moved_ms;       /* monotonic: when the progress last moved */
    double written_ms;     /* monotonic: when the record was last written */
    int unwritten;         /* progress newer than the record */
    int shown;             /* the record was written (watchers may see it) */
    unsigned long long processed, total;
    int percent;           /* last percent given to the host, -1 none */
    pid_t child;           /* the qemu-img doing the step, 0 none */
    int stopping;          /* a stop was asked for (abort or stall) */
    int stop_code;         /* and why: the class and message to fail with */
    char stop_msg[512];
} qp_job;

/* Start a job: make ctx->job point at j; its record is written from the
 * first tick 100 ms on.  A record that cannot be written costs only its
 * visibility (logged), never the step. */
void qp_job_begin(qp_ctx *ctx, qp_job *j, const char *domain, const char *operation,
                  const char *snapshot);
/* One tick of the step's wait with its progress (bytes; total 0 when not
 * known yet).  0: go on.  Negative: stop the step now - domjobabort asked
 * for it (OPERATION_FAILED) or the progress has not moved for the stall
 * period (OPERATION_TIMEOUT); the error is set, the caller cancels its
 * step and returns it.  Reported once: later ticks return 0. */
int qp_job_tick(qp_job *j, unsigned long long processed, unsigned long long total);
/* After the step was stopped (its cancel may have set other errors):
 * set the stop's error again; returns -class. */
int qp_job_stop_error(qp_job *j);
/* The program doing the step (recorded: domjobabort stops it itself when
 * the process that started it has died). */
void qp_job_child(qp_job *j, pid_t child);
/* The step ended: remove the record and any abort request. */
void qp_job_end(qp_job *j);

/* Pure part of the stall rule (unit tests): has the progress stood still
 * for longer than stall_ms at now_ms? */
int qp_job_stalled(const qp_job *j, double now_ms, int stall_ms);
/* Pure part of qp_job_tick: note new progress at now_ms; 1 when it moved. */
int qp_job_note(qp_job *j, unsigned long long processed, unsigned long long total,
                double now_ms);

/* ABI domain_job_info: the running job of the domain from its record
 * (out->active 0 when none).  Takes no lock a running operation holds. */
int qp_job_info(qp_ctx *ctx, const char *domain, struct sb_job_info *out);
/* ABI domain_job_abort: ask the running job to stop and wait until its
 * step has stopped.  OPERATION_INVALID when no job runs. */
int qp_job_abort(qp_ctx *ctx, const char *domain);

#endif
