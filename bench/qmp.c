/* bench - minimal QMP client (see qmp.h). */
#include "qmp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NEV 64

struct qmp {
    int fd;
    FILE *in;
    json_object *ev[NEV]; /* events read while waiting for a reply */
    int nev;
    char err[512];
    void (*meanwhile)(void *); /* qmp_meanwhile: run once, after the next write */
    void *meanwhile_arg;
};

void qmp_meanwhile(qmp *q, void (*fn)(void *), void *arg)
{
    q->meanwhile = fn;
    q->meanwhile_arg = arg;
}

const char *qmp_err(qmp *q)
{
    return q->err;
}

static json_object *read_obj(qmp *q)
{
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, q->in) < 0) {
        free(line);
        snprintf(q->err, sizeof q->err, "QMP connection closed");
        return NULL;
    }
    json_object *o = json_tokener_parse(line);
    free(line);
    if (!o)
        snprintf(q->err, sizeof q->err, "bad QMP line");
    return o;
}

static void keep_event(qmp *q, json_object *o)
{
    if (q->nev == NEV) {
        json_object_put(q->ev[0]);
        memmove(q->ev, q->ev + 1, sizeof(q->ev[0]) * (NEV - 1));
        q->nev--;
    }
    q->ev[q->nev++] = o;
}

static json_object *vcmd(qmp *q, const char *cmd, const char *fmt, va_list ap)
{
    char args[2048] = "", *msg = NULL;
    if (fmt)
        vsnprintf(args, sizeof args, fmt, ap);
    int n = asprintf(&msg, "{\"execute\":\"%s\"%s%s}\n", cmd, fmt ? ",\"arguments\":" : "", args);
    if (n < 0 || write(q->fd, msg, (size_t)n) != n) {
        free(msg);
        snprintf(q->err, sizeof q->err, "QMP write failed");
        return NULL;
    }
    free(msg);
    if (q->meanwhile) {
        void (*fn)(void *) = q->meanwhile;
        q->meanwhile = NULL;
        fn(q->meanwhile_arg);
    }
    for (;;) {
        json_object *o = read_obj(q), *v;
        if (!o)
            return NULL;
        if (json_object_object_get_ex(o, "event", NULL)) {
            keep_event(q, o);
            continue;
        }
        if (json_object_object_get_ex(o, "return", &v)) {
            json_object_get(v);
            json_object_put(o);
            return v;
        }
        snprintf(q->err, sizeof q->err, "%s: %s", cmd, json_object_to_json_string(o));
        json_object_put(o);
        return NULL;
    }
}

json_object *qmp_cmd(qmp *q, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_object *r = vcmd(q, cmd, fmt, ap);
    va_end(ap);
    return r;
}

int qmp_ok(qmp *q, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_object *r = vcmd(q, cmd, fmt, ap);
    va_end(ap);
    json_object_put(r);
    return r ? 0 : -1;
}

static const char *field(json_object *o, const char *a, const char *b)
{
    json_object *x, *y;
    if (!json_object_object_get_ex(o, a, &x) || !json_object_object_get_ex(x, b, &y))
        return NULL;
    return json_object_get_string(y);
}

static int matches(json_object *o, const char *name, const char *id, const char *status)
{
    json_object *e;
    if (!json_object_object_get_ex(o, "event", &e) || strcmp(json_object_get_string(e), name))
        return 0;
    const char *oid = field(o, "data", "id");
    if (!oid)
        oid = field(o, "data", "device");
    if (id && (!oid || strcmp(oid, id)))
        return 0;
    const char *st = field(o, "data", "status");
    return !status || (st && !strcmp(st, status));
}

int qmp_wait_event(qmp *q, const char *name, const char *id, const char *status)
{
    for (int i = 0; i < q->nev; i++)
        if (matches(q->ev[i], name, id, status)) {
            json_object_put(q->ev[i]);
            memmove(q->ev + i, q->ev + i + 1, sizeof(q->ev[0]) * (size_t)(q->nev - i - 1));
            q->nev--;
            return 0;
        }
    for (;;) {
        json_object *o = read_obj(q);
        if (!o)
            return -1;
        int m = matches(o, name, id, status);
        if (m) {
            json_object_put(o);
            return 0;
        }
        if (json_object_object_get_ex(o, "event", NULL))
            keep_event(q, o);
        else
            json_object_put(o);
    }
}

int qmp_job(qmp *q, const char *job_id, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_object *r = vcmd(q, cmd, fmt, ap);
    va_end(ap);
    if (!r)
        return -1;
    json_object_put(r);
    if (qmp_wait_event(q, "JOB_STATUS_CHANGE", job_id, "concluded") < 0)
        return -1;
    /* the job's own error (snapshot jobs report failures only here) */
    json_object *jobs = qmp_cmd(q, "query-jobs", NULL);
    int rc = 0;
    for (size_t i = 0; jobs && i < json_object_array_length(jobs); i++) {
        json_object *j = json_object_array_get_idx(jobs, i), *id, *e;
        if (json_object_object_get_ex(j, "id", &id) &&
            !strcmp(json_object_get_string(id), job_id) &&
            json_object_object_get_ex(j, "error", &e)) {
            snprintf(q->err, sizeof q->err, "%s: %s", cmd, json_object_get_string(e));
            rc = -1;
        }
    }
    json_object_put(jobs);
    if (qmp_ok(q, "job-dismiss", "{\"id\":\"%s\"}", job_id) < 0)
        return -1;
    return rc;
}

/* One connect to path; a client reading from it, or NULL. */
static qmp *connect_once(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    qmp *q = calloc(1, sizeof *q);
    if (!q || !(q->in = fdopen(fd, "r"))) {
        free(q);
        close(fd);
        return NULL;
    }
    q->fd = fd;
    return q;
}

qmp *qmp_open(const char *path, int timeout_ms)
{
    struct timespec pause = {0, 200000};
    qmp *q;
    for (int waited = 0; !(q = connect_once(path)); waited++) {
        if (waited * 0.2 > timeout_ms)
            return NULL;
        nanosleep(&pause, NULL);
    }
    json_object *g = read_obj(q); /* greeting */
    json_object_put(g);
    if (!g || qmp_ok(q, "qmp_capabilities", NULL) < 0) {
        qmp_close(q);
        return NULL;
    }
    return q;
}

/* The next line that is not an event (events are kept for qmp_wait_event). */
static json_object *read_reply(qmp *q)
{
    for (;;) {
        json_object *o = read_obj(q);
        if (!o || !json_object_object_get_ex(o, "event", NULL))
            return o;
        keep_event(q, o);
    }
}

qmp *qmp_open_asking(const char *path, const char *cmd, json_object **ret)
{
    *ret = NULL;
    qmp *q = connect_once(path);
    if (!q)
        return NULL;
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"%s\"}\n", cmd);
    json_object *greeting = NULL, *caps = NULL, *reply = NULL, *v;
    int ok = write(q->fd, msg, (size_t)n) == n && (greeting = read_obj(q)) &&
             (caps = read_reply(q)) && json_object_object_get_ex(caps, "return", NULL) &&
             (reply = read_reply(q)) && json_object_object_get_ex(reply, "return", &v);
    if (ok)
        *ret = json_object_get(v);
    json_object_put(greeting);
    json_object_put(caps);
    json_object_put(reply);
    if (!ok) {
        qmp_close(q);
        return NULL;
    }
    return q;
}

void qmp_close(qmp *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->nev; i++)
        json_object_put(q->ev[i]);
    fclose(q->in); /* closes fd */
    free(q);
}
