/* bench - a minimal QMP client for the raw floor of W3: one unix socket,
 * one JSON object per line, events kept aside until someone waits for
 * them.  No retries, no cleverness: this is the cost floor. */
#ifndef BENCH_QMP_H
#define BENCH_QMP_H

#include <json-c/json.h>

typedef struct qmp qmp;

/* Connect (retrying every 0.2 ms up to timeout_ms while QEMU creates the
 * socket), read the greeting, negotiate capabilities. */
qmp *qmp_open(const char *path, int timeout_ms);
void qmp_close(qmp *q);

/* One connect (QEMU must be listening), then the negotiation and cmd sent
 * in one write, without waiting for the greeting, as a client that opens
 * the monitor for each call would; *ret gets cmd's "return" value (caller
 * puts it).  NULL when anything fails. */
qmp *qmp_open_asking(const char *path, const char *cmd, json_object **ret);

/* Send cmd with args (a JSON object text or NULL); returns the "return"
 * value (caller puts it) or NULL on "error" with qmp_err() set. */
json_object *qmp_cmd(qmp *q, const char *cmd, const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for commands whose reply does not matter beyond success. */
int qmp_ok(qmp *q, const char *cmd, const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wait for event `name` whose data.id (or data.device) equals id (id NULL:
 * any); when status is set, data.status must equal it too. */
int qmp_wait_event(qmp *q, const char *name, const char *id, const char *status);

/* Run a job command (snapshot-save/-load/-delete: auto-dismiss off), wait
 * until it concludes, read its error, dismiss it. */
int qmp_job(qmp *q, const char *job_id, const char *cmd, const char *args_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Run fn(arg) once, right after the next command is written and before
 * its reply is read: work of the caller's that overlaps QEMU's (a file's
 * fsync while QEMU makes an overlay, as the qemu plugin does). */
void qmp_meanwhile(qmp *q, void (*fn)(void *), void *arg);

const char *qmp_err(qmp *q);

#endif
