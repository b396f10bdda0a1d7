/* qemu plugin - QMP client over a unix socket (json-c).
 *
 * One JSON object per line.  Replies are matched by an "id" we attach to
 * every command; events that arrive in between are counted by name so
 * callers can ask whether e.g. SHUTDOWN or JOB_STATUS_CHANGE happened.
 */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QMP_MAX_EVENT_KINDS 32

/* The block-graph queries qp_qmp_query_graph keeps (qp.h). */
static const char *const graph_query[QP_QMP_GRAPH_QUERIES] = {"query-block",
                                                              "query-named-block-nodes"};

struct qp_qmp {
    qp_ctx *ctx;
    int fd;
    int timeout_ms;
    unsigned long next_id;
    char *buf;
    size_t len, cap;
    int eof;
    int refs; /* qp_qmp_close closes at zero (qp_qmp_share) */
    char *path; /* the socket, for messages */
    /* commands sent without waiting for their reply (job-dismiss): the
     * reply is skipped by the next reader; the last close reads what is
     * left, as QEMU drops the commands of a client that went away */
    int unanswered;
    /* answers of graph_query[], until the next command that is not a
     * query or the next event */
    json_object *graph[QP_QMP_GRAPH_QUERIES];
    json_object *status; /* query-status's answer, kept the same way */
    json_object *jobs;   /* query-jobs's answer before an operation, the same way */
    /* The greeting and the reply to qmp_capabilities are read with the
     * first reply (finish_handshake): the first command goes out in the
     * same round trip as the negotiation. */
    int handshake;
    char caps_id[32];
    double hs_deadline;
    struct {
        char name[48];
        int count;
    } events[QMP_MAX_EVENT_KINDS];
    /* The job being waited for (job_wait) as its JOB_STATUS_CHANGE events
     * tell it, whoever reads them: the last status, and whether it went
     * through "aborting" (QEMU's job of a failure or a cancel always does,
     * one that succeeded never), so its end costs no query-jobs. */
    char watch_id[64];
    char watch_status[32];
    int watch_aborted;    /* jobs started on this connection (qp_qmp_job), and those that ended
     * and were dismissed: none left in QEMU when they are equal and no
     * dismiss is unanswered (qp_qmp_close_clean) */
    int jobs_started, jobs_ended;
    /* run once after the next command has gone out (qp_qmp_meanwhile) */
    void (*meanwhile)(void *);
    void *meanwhile_arg;
};

static void forget_graph(qp_qmp *q)
{
    for (int i = 0; i < QP_QMP_GRAPH_QUERIES; i++) {
        json_object_put(q->graph[i]);
        q->graph[i] = NULL;
    }
    json_object_put(q->status);
    q->status = NULL;
    json_object_put(q->jobs);
    q->jobs = NULL;
}

qp_ctx *qp_qmp_ctx(qp_qmp *q)
{
    return q->ctx;
}

void qp_qmp_set_timeout(qp_qmp *q, int timeout_ms)
{
    q->timeout_ms = timeout_ms;
}

static int sock_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    int dirfd = -1;
    if (strlen(path) < sizeof sa.sun_path) {
        strcpy(sa.sun_path, path);
    } else {
        /* Too long for sun_path: reach it through /proc/self/fd/<dir>. */
        char *copy = qp_strdup(path);
        char *slash = copy ? strrchr(copy, '/') : NULL;
        if (!slash) {
            free(copy);
            close(fd);
            return -ENAMETOOLONG;
        }
        *slash = '\0';
        dirfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
            int e = errno;
            free(copy);
            close(fd);
            return -e;
        }
        snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, slash + 1);
        free(copy);
    }
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    if (dirfd >= 0)
        close(dirfd);
    if (r < 0) {
        close(fd);
        return -e;
    }
    return fd;
}

/* Read one line (without the newline) into *line; 0 ok, -ETIMEDOUT, -EPIPE on EOF. */
static int read_line(qp_qmp *q, char **line, int timeout_ms)
{
    double deadline = qp_now_ms() + timeout_ms;
    for (;;) {
        char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
        if (nl) {
            size_t l = (size_t)(nl - q->buf);
            char *s = malloc(l + 1);
            if (!s)
                return -ENOMEM;
            memcpy(s, q->buf, l);
            s[l] = '\0';
            memmove(q->buf, nl + 1, q->len - l - 1);
            q->len -= l + 1;
            *line = s;
            return 0;
        }
        if (q->eof)
            return -EPIPE;
        int left = (int)(deadline - qp_now_ms());
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pf = {q->fd, POLLIN, 0};
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno != EINTR)
            return -errno;
        if (pr <= 0)
            continue;
        if (q->len + 4096 + 1 > q->cap) {
            size_t nc = q->cap ? q->cap * 2 : 16384;
            while (nc < q->len + 4096 + 1)
                nc *= 2;
            char *nb = realloc(q->buf, nc);
            if (!nb)
                return -ENOMEM;
            q->buf = nb;
            q->cap = nc;
        }
        ssize_t r = read(q->fd, q->buf + q->len, q->cap - q->len - 1);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == ECONNRESET) {
                q->eof = 1;
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            q->eof = 1;
            continue;
        }
        q->len += (size_t)r;
    }
}

static void note_event(qp_qmp *q, const char *name)
{
    forget_graph(q); /* a job that ended may have changed the graph */
    int free_slot = -1;
    for (int i = 0; i < QMP_MAX_EVENT_KINDS; i++) {
        if (q->events[i].name[0] == '\0') {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (strcmp(q->events[i].name, name) == 0) {
            q->events[i].count++;
            return;
        }
    }
    if (free_slot >= 0) {
        snprintf(q->events[free_slot].name, sizeof q->events[free_slot].name, "%s", name);
        q->events[free_slot].count = 1;
    }
}

int qp_qmp_take_event(qp_qmp *q, const char *name)
{
    for (int i = 0; i < QMP_MAX_EVENT_KINDS; i++)
        if (strcmp(q->events[i].name, name) == 0) {
            int c = q->events[i].count;
            q->events[i].name[0] = '\0';
            q->events[i].count = 0;
            return c;
        }
    return 0;
}

/* A JOB_STATUS_CHANGE about the watched job (qp_qmp fields watch_*). */
static void watch_event(qp_qmp *q, const char *name, json_object *o)
{
    json_object *data, *id, *st;
    if (!q->watch_id[0] || strcmp(name, "JOB_STATUS_CHANGE") ||
        !json_object_object_get_ex(o, "data", &data) ||
        !json_object_object_get_ex(data, "id", &id) ||
        !json_object_object_get_ex(data, "status", &st) ||
        strcmp(json_object_get_string(id), q->watch_id))
        return;
    snprintf(q->watch_status, sizeof q->watch_status, "%s", json_object_get_string(st));
    if (!strcmp(q->watch_status, "aborting"))
        q->watch_aborted = 1;
}

static void watch_job(qp_qmp *q, const char *job_id)
{
    if (!strcmp(q->watch_id, job_id))
        return; /* watched already: its events since are kept */
    snprintf(q->watch_id, sizeof q->watch_id, "%s", job_id);
    q->watch_status[0] = '\0';
    q->watch_aborted = 0;
}

/* Read messages until one that is not an event; events are noted.
 * With want_event set, also return after the first event (*msg NULL). */
static int read_msg(qp_qmp *q, json_object **msg, int timeout_ms, int want_event)
{
    double deadline = qp_now_ms() + timeout_ms;
    for (;;) {
        char *line = NULL;
        int left = (int)(deadline - qp_now_ms());
        if (left < 0)
            left = 0;
        int r = read_line(q, &line, left);
        if (r < 0)
            return r;
        json_object *o = json_tokener_parse(line);
        free(line);
        if (!o)
            continue; /* garbage line: ignore */
        json_object *ev;
        if (json_object_object_get_ex(o, "event", &ev)) {
            note_event(q, json_object_get_string(ev));
            watch_event(q, json_object_get_string(ev), o);
            if (want_event == 2) { /* the event itself */
                *msg = o;
                return 0;
            }
            json_object_put(o);
            if (want_event) {
                *msg = NULL;
                return 0;
            }
            continue;
        }
        if (want_event == 2) { /* a reply: one sent without waiting */
            if (q->unanswered > 0)
                q->unanswered--;
            json_object_put(o);
            continue;
        }
        *msg = o;
        return 0;
    }
}

static int io_error(qp_qmp *q, int r, const char *cmd)
{
    if (r == -ETIMEDOUT)
        return qp_error(q->ctx, SB_ERR_OPERATION_TIMEOUT,
                        "QMP '%s': no answer from QEMU within %d ms", cmd, q->timeout_ms);
    if (r == -EPIPE)
        return qp_error(q->ctx, SB_ERR_HYPERVISOR,
                        "QMP '%s': QEMU closed the monitor connection (did it exit?)", cmd);
    return qp_error_errno(q->ctx, SB_ERR_HYPERVISOR, -r, "QMP '%s'", cmd);
}

static int send_cmd(qp_qmp *q, const char *cmd, json_object *args, int fd, char *idbuf,
                    size_t idlen);
static int recv_reply(qp_qmp *q, const char *cmd, const char *idbuf, json_object **ret);

int qp_qmp_connect(qp_ctx *ctx, const char *path, int timeout_ms, qp_qmp **out)
{
    double deadline = qp_now_ms() + timeout_ms;
    int fd;
    for (;;) {
        fd = sock_connect(path);
        if (fd >= 0)
            break;
        if ((fd != -ENOENT && fd != -ECONNREFUSED) || qp_now_ms() > deadline)
            return qp_error_errno(ctx, SB_ERR_HYPERVISOR, -fd, "cannot connect to QMP socket '%s'",
                                  path);
        qp_sleep_ms(2);
    }
    qp_qmp *q = calloc(1, sizeof *q);
    if (!q) {
        close(fd);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    q->ctx = ctx;
    q->fd = fd;
    q->refs = 1;
    q->timeout_ms = ctx->job_timeout_ms;
    /* qmp_capabilities goes out before the greeting is read: QEMU greets
     * as it accepts and reads commands only after that, so the greeting
     * and the reply come back in one round trip - together with the reply
     * to the caller's first command, sent before any of them is read
     * (finish_handshake) */
    q->hs_deadline = deadline;
    int r = send_cmd(q, "qmp_capabilities", NULL, -1, q->caps_id, sizeof q->caps_id);
    if (r < 0) {
        qp_qmp_close(q);
        return r;
    }
    q->handshake = 1;
    q->path = qp_strdup(path);
    *out = q;
    return 0;
}

/* The greeting and the reply to qmp_capabilities (qp_qmp_connect). */
static int finish_handshake(qp_qmp *q)
{
    return qp_qmp_ready(q);
}

int qp_qmp_ready(qp_qmp *q)
{
    if (!q->handshake)
        return 0;
    q->handshake = 0;
    json_object *greet = NULL;
    int left = (int)(q->hs_deadline - qp_now_ms());
    int r = read_msg(q, &greet, left > 100 ? left : 100, 0);
    if (r < 0)
        return io_error(q, r, "greeting");
    json_object *v;
    int ok = json_object_object_get_ex(greet, "QMP", &v);
    json_object_put(greet);
    if (!ok)
        return qp_error(q->ctx, SB_ERR_HYPERVISOR, "'%s' did not greet as a QMP monitor",
                        q->path ? q->path : "the QMP socket");
    int t = q->timeout_ms;
    q->timeout_ms = left > 100 ? left : 100;
    r = recv_reply(q, "qmp_capabilities", q->caps_id, NULL);
    q->timeout_ms = t;
    return r;
}

int qp_qmp_close_clean(qp_qmp *q)
{
    if (!q)
        return 1;
    if (--q->refs > 0)
        return 0; /* still used: not known */
    /* the replies of commands sent without waiting: QEMU drops the
     * commands of a client that closed before it read them */
    double deadline = qp_now_ms() + (q->timeout_ms < 10000 ? q->timeout_ms : 10000);
    while (q->unanswered > 0 && q->fd >= 0 && !q->eof && !q->handshake) {
        json_object *msg = NULL;
        int left = (int)(deadline - qp_now_ms());
        if (left <= 0 || read_msg(q, &msg, left, 0) < 0)
            break;
        json_object_put(msg);
        q->unanswered--;
    }
    int clean = q->jobs_started == q->jobs_ended && q->unanswered == 0;
    if (q->fd >= 0)
        close(q->fd);
    forget_graph(q);
    free(q->path);
    free(q->buf);
    free(q);
    return clean;
}

void qp_qmp_close(qp_qmp *q)
{
    (void)qp_qmp_close_clean(q);
}

qp_qmp *qp_qmp_share(qp_qmp *q)
{
    q->refs++;
    return q;
}

int qp_qmp_reuse(qp_qmp *q, qp_ctx *ctx)
{
    if (finish_handshake(q) < 0)
        return -EPIPE;
    /* what arrived since the last user: events of its own commands (a
     * fresh connection would not see them), or the end of QEMU */
    for (;;) {
        struct pollfd pf = {q->fd, POLLIN, 0};
        if (!(q->len && memchr(q->buf, '\n', q->len)) && (q->eof || poll(&pf, 1, 0) <= 0))
            break;
        char *line = NULL;
        int r = read_line(q, &line, 1);
        if (r == -ETIMEDOUT)
            break; /* a partial line: the rest comes with the next read */
        if (r < 0)
            return r;
        json_object *o = json_tokener_parse(line), *ev;
        free(line);
        if (o && json_object_object_get_ex(o, "event", &ev))
            forget_graph(q);
        else if (o && q->unanswered > 0)
            q->unanswered--; /* the reply to a command sent without waiting */
        json_object_put(o);
    }
    if (q->eof)
        return -EPIPE;
    memset(q->events, 0, sizeof q->events);
    q->meanwhile = NULL;
    q->ctx = ctx;
    q->timeout_ms = ctx->job_timeout_ms;
    return 0;
}

/* The graph queries not kept yet, sent without waiting (ids and sent
 * filled for graph_recv): query-block, and the named nodes when want_named
 * (each is a command QEMU's main loop serves in turn, between the guest's
 * work: one not needed is not asked); the first failure to send stops. */
static int graph_send(qp_qmp *q, char ids[][32], int sent[], int want_named)
{
    int r = 0;
    for (int i = 0; i < QP_QMP_GRAPH_QUERIES && r == 0; i++) {
        if (q->graph[i] || (i == QP_QMP_NAMED_NODES && !want_named))
            continue;
        json_object *args = NULL;
        if (i == QP_QMP_NAMED_NODES) {
            args = json_object_new_object();
            json_object_object_add(args, "flat", json_object_new_boolean(1));
        }
        r = send_cmd(q, graph_query[i], args, -1, ids[i], 32);
        sent[i] = r == 0;
    }
    return r;
}

/* Their replies, kept on the connection; r (a failure before) is kept,
 * else the first failure among the replies is returned. */
static int graph_recv(qp_qmp *q, char ids[][32], const int sent[], int r)
{
    for (int i = 0; i < QP_QMP_GRAPH_QUERIES; i++) {
        json_object *g = NULL;
        int rg = sent[i] ? recv_reply(q, graph_query[i], ids[i], &g) : 0;
        if (rg == 0 && g && !q->graph[i])
            q->graph[i] = g;
        else
            json_object_put(g);
        if (r == 0)
            r = rg;
    }
    return r;
}

int qp_qmp_query_graph(qp_qmp *q, int which, json_object **ret)
{
    *ret = NULL;
    if (!q->graph[which]) {
        /* query-block not kept goes out with the named nodes: who reads
         * those reads the disk's chain first (one round trip instead of
         * two); the named nodes with query-block only when the operation
         * reads them (ctx->prefetch_nodes) */
        char ids[QP_QMP_GRAPH_QUERIES][32];
        int sent[QP_QMP_GRAPH_QUERIES] = {0};
        int named = which == QP_QMP_NAMED_NODES || q->ctx->prefetch_nodes;
        int r = graph_recv(q, ids, sent, graph_send(q, ids, sent, named));
        if (r < 0)
            return r;
        if (!q->graph[which])
            return qp_error(q->ctx, SB_ERR_HYPERVISOR, "QMP '%s' returned nothing",
                            graph_query[which]);
    }
    *ret = json_object_get(q->graph[which]);
    return 0;
}

static int send_all(qp_qmp *q, const char *s, size_t len, int fd)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w;
        if (fd >= 0 && off == 0) {
            struct msghdr mh;
            struct iovec iov = {(void *)s, len};
            union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
            } u;
            memset(&mh, 0, sizeof mh);
            memset(&u, 0, sizeof u);
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            mh.msg_control = u.buf;
            mh.msg_controllen = sizeof u.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
            w = sendmsg(q->fd, &mh, MSG_NOSIGNAL);
        } else {
            w = send(q->fd, s + off, len - off, MSG_NOSIGNAL);
        }
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)w;
    }
    return 0;
}

/* Send one command (its id in idbuf); args is taken. */
static int send_cmd(qp_qmp *q, const char *cmd, json_object *args, int fd, char *idbuf,
                    size_t idlen)
{
    int due = strncmp(cmd, "query-", 6) && strcmp(cmd, "qmp_capabilities")
                  ? qp_intent_durable(q->ctx) : 0;
    if (due < 0) {
        json_object_put(args);
        return due;
    }
    if (strncmp(cmd, "query-", 6) != 0)
        forget_graph(q); /* it may change the block graph */
    json_object *m = json_object_new_object();
    snprintf(idbuf, idlen, "sb%lu", ++q->next_id);
    json_object_object_add(m, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(m, "arguments", args);
    json_object_object_add(m, "id", json_object_new_string(idbuf));
    const char *s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(s);
    char *line = malloc(len + 2);
    if (!line) {
        json_object_put(m);
        return qp_error(q->ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    memcpy(line, s, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    json_object_put(m);
    int r = send_all(q, line, len + 1, fd);
    free(line);
    if (r < 0) {
        if (strcmp(cmd, "quit") == 0 && (r == -EPIPE || r == -ECONNRESET))
            return 0;
        return r == -EPIPE || r == -ECONNRESET ? io_error(q, -EPIPE, cmd) : io_error(q, r, cmd);
    }
    return 0;
}

/* Read the reply to the command sent with id idbuf. */
static int recv_reply(qp_qmp *q, const char *cmd, const char *idbuf, json_object **ret)
{
    int hr = finish_handshake(q);
    if (hr < 0)
        return hr;
    for (;;) {
        json_object *msg = NULL;
        int r = read_msg(q, &msg, q->timeout_ms, 0);
        if (r < 0) {
            if (strcmp(cmd, "quit") == 0 && (r == -EPIPE || r == -ECONNRESET))
                return 0;
            return io_error(q, r, cmd);
        }
        json_object *id, *v;
        if (json_object_object_get_ex(msg, "id", &id) &&
            strcmp(json_object_get_string(id), idbuf) != 0) {
            json_object_put(msg); /* a reply to a command sent without waiting */
            if (q->unanswered > 0)
                q->unanswered--;
            continue;
        }
        if (json_object_object_get_ex(msg, "error", &v)) {
            json_object *desc = NULL, *cls = NULL;
            json_object_object_get_ex(v, "desc", &desc);
            json_object_object_get_ex(v, "class", &cls);
            int code = SB_ERR_HYPERVISOR;
            if (cls && strcmp(json_object_get_string(cls), "CommandNotFound") == 0)
                code = SB_ERR_OPERATION_UNSUPPORTED;
            r = qp_error(q->ctx, code, "QMP '%s' failed: %s", cmd,
                         desc ? json_object_get_string(desc) : "unknown error");
            json_object_put(msg);
            return r;
        }
        if (ret) {
            if (json_object_object_get_ex(msg, "return", &v))
                *ret = json_object_get(v);
            else
                *ret = NULL;
        }
        json_object_put(msg);
        return 0;
    }
}

void qp_qmp_meanwhile(qp_qmp *q, void (*fn)(void *), void *arg)
{
    q->meanwhile = fn;
    q->meanwhile_arg = arg;
}

static int execute(qp_qmp *q, const char *cmd, json_object *args, int fd, json_object **ret)
{
    char idbuf[32];
    int r = send_cmd(q, cmd, args, fd, idbuf, sizeof idbuf);
    void (*fn)(void *) = q->meanwhile;
    q->meanwhile = NULL;
    if (r == 0 && fn)
        fn(q->meanwhile_arg);
    return r < 0 ? r : recv_reply(q, cmd, idbuf, ret);
}

int qp_qmp_execute(qp_qmp *q, const char *cmd, json_object *args, json_object **ret)
{
    return execute(q, cmd, args, -1, ret);
}

int qp_qmp_execute_fd(qp_qmp *q, const char *cmd, json_object *args, int fd, json_object **ret)
{
    return execute(q, cmd, args, fd, ret);
}

int qp_qmp_hmp(qp_qmp *q, const char *cmdline, char **out)
{
    json_object *args = json_object_new_object(), *ret = NULL;
    json_object_object_add(args, "command-line", json_object_new_string(cmdline));
    int r = qp_qmp_execute(q, "human-monitor-command", args, &ret);
    if (r < 0)
        return r;
    const char *s = ret && json_object_is_type(ret, json_type_string) ? json_object_get_string(ret)
                                                                      : "";
    /* HMP reports errors in its output text, not as a QMP error. */
    if (strncmp(s, "Error:", 6) == 0 || strstr(s, "Could not") == s ||
        strstr(s, "could not") == s || strstr(s, "unknown command") ||
        strstr(s, "Permission conflict") == s) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", s);
        size_t l = strlen(msg);
        while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
            msg[--l] = '\0';
        json_object_put(ret);
        return qp_error(q->ctx, SB_ERR_HYPERVISOR, "HMP '%s' failed: %s", cmdline, msg);
    }
    if (out)
        *out = qp_strdup(s);
    json_object_put(ret);
    return 0;
}

int qp_qmp_quit(qp_qmp *q)
{
    int saved = q->timeout_ms;
    q->timeout_ms = 5000;
    int r = qp_qmp_execute(q, "quit", NULL, NULL);
    q->timeout_ms = saved;
    return r;
}

int qp_qmp_wait_closed(qp_qmp *q, int timeout_ms)
{
    double deadline = qp_now_ms() + timeout_ms;
    for (;;) {
        char *line = NULL;
        int left = (int)(deadline - qp_now_ms());
        if (left <= 0)
            return -ETIMEDOUT;
        int r = read_line(q, &line, left);
        if (r == -EPIPE || r == -ECONNRESET)
            return 0;
        if (r < 0)
            return r;
        free(line);
    }
}

int qp_qmp_status(qp_qmp *q, char *buf, size_t len)
{
    json_object *ret = NULL, *st;
    int r = 0;
    if (q->status)
        ret = json_object_get(q->status);
    else if ((r = qp_qmp_execute(q, "query-status", NULL, &ret)) == 0 && ret)
        q->status = json_object_get(ret);
    if (r < 0)
        return r;
    if (!json_object_object_get_ex(ret, "status", &st)) {
        json_object_put(ret);
        return qp_error(q->ctx, SB_ERR_HYPERVISOR, "query-status: no status in reply");
    }
    snprintf(buf, len, "%s", json_object_get_string(st));
    json_object_put(ret);
    return 0;
}

static json_object *find_job(json_object *jobs, const char *id)
{
    size_t n = json_object_array_length(jobs);
    for (size_t i = 0; i < n; i++) {
        json_object *j = json_object_array_get_idx(jobs, i), *v;
        if (json_object_object_get_ex(j, "id", &v) && strcmp(json_object_get_string(v), id) == 0)
            return j;
    }
    return NULL;
}

/* A job's current-progress / total-progress (bytes for block jobs). */
static void job_progress(json_object *job, unsigned long long *cur, unsigned long long *tot)
{
    json_object *v;
    int64_t c = json_object_object_get_ex(job, "current-progress", &v) ? json_object_get_int64(v)
                                                                       : 0;
    int64_t t = json_object_object_get_ex(job, "total-progress", &v) ? json_object_get_int64(v)
                                                                     : 0;
    *cur = c > 0 ? (unsigned long long)c : 0;
    *tot = t > 0 ? (unsigned long long)t : 0;
}

static int cancel_job(qp_qmp *q, const char *job_id)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "id", json_object_new_string(job_id));
    return qp_qmp_execute(q, "job-cancel", a, NULL);
}

/* Follow job job_id (started by cmd) until it concludes: job-complete at
 * ready, job-finalize at pending; read its error, dismiss it.  Every pass
 * ticks the job (job.h: progress, domjobabort, the stall timeout) - the
 * operation's (q->ctx->job) or, for a step that has none, a local one
 * that only times the stall. */
/* How long a job is left without a look when no event comes: its
 * progress (the stall rule, job.h) and a stop asked for (domjobabort) are
 * seen at least this often. */
#define JOB_TICK_MS 100

/* Wait until an event is about job_id (a status change, ready,
 * completed) or tick_ms passed: 1 after such an event, 0 when the time
 * passed.  Events about other things are noted and waited past. */
static int wait_job_event(qp_qmp *q, const char *job_id, int tick_ms)
{
    double deadline = qp_now_ms() + tick_ms;
    for (;;) {
        int left = (int)(deadline - qp_now_ms());
        if (left <= 0)
            return 0;
        json_object *ev = NULL, *data, *v;
        int r = read_msg(q, &ev, left, 2);
        if (r == -ETIMEDOUT)
            return 0;
        if (r < 0)
            return r;
        int ours = 1; /* an event that names no job may be about ours */
        if (json_object_object_get_ex(ev, "data", &data) &&
            (json_object_object_get_ex(data, "id", &v) ||
             json_object_object_get_ex(data, "device", &v)))
            ours = !strcmp(json_object_get_string(v), job_id);
        json_object_put(ev);
        if (ours)
            return 1;
    }
}

static int job_ended(const char *status)
{
    return !strcmp(status, "concluded") || !strcmp(status, "null");
}

/* The job's status: from its events when they told it (and, at its end,
 * that it did not fail: no "aborting"), else from query-jobs - also at
 * a tick without news, for the progress.  *jobs (query-jobs's answer)
 * and *j (the job in it) stay NULL when the events told. */
static int job_status(qp_qmp *q, const char *cmd, const char *job_id, int tick,
                      json_object **jobs, json_object **j, char *status, size_t len)
{
    *jobs = *j = NULL;
    if (q->watch_status[0] && !tick && !(job_ended(q->watch_status) && q->watch_aborted)) {
        snprintf(status, len, "%s", q->watch_status);
        return 0;
    }
    int r = qp_qmp_execute(q, "query-jobs", NULL, jobs);
    if (r < 0)
        return r;
    json_object *v;
    if (!*jobs || !(*j = find_job(*jobs, job_id))) {
        json_object_put(*jobs);
        *jobs = NULL;
        return qp_error(q->ctx, SB_ERR_HYPERVISOR, "QMP '%s': job '%s' vanished", cmd, job_id);
    }
    snprintf(status, len, "%s",
             json_object_object_get_ex(*j, "status", &v) && json_object_get_string(v)
                 ? json_object_get_string(v) : "");
    return 0;
}

static int job_wait(qp_qmp *q, const char *cmd, const char *job_id, int *ended)
{
    int r;
    int completed_sent = 0, tick = 0;
    qp_job local, *jb = q->ctx->job;
    char last_status[32] = "";
    if (!jb) {
        qp_job_begin(q->ctx, &local, NULL, cmd, NULL);
        jb = &local;
    }
    watch_job(q, job_id);
    for (;;) {
        json_object *jobs = NULL, *j = NULL, *v;
        char status[32];
        if ((r = job_status(q, cmd, job_id, tick, &jobs, &j, status, sizeof status)) < 0)
            return r;
        /* what the events told carries no progress: the last one asked */
        unsigned long long cur = jb->processed, tot = jb->total;
        if (j)
            job_progress(j, &cur, &tot);
        if (strcmp(status, last_status)) {
            jb->moved_ms = qp_now_ms(); /* a new state is progress too */
            snprintf(last_status, sizeof last_status, "%s", status);
        }
        if (job_ended(status)) {
            char errbuf[600] = "";
            if (j && json_object_object_get_ex(j, "error", &v))
                snprintf(errbuf, sizeof errbuf, "%s", json_object_get_string(v));
            json_object_put(jobs);
            if (!errbuf[0]) { /* all of it done */
                unsigned long long all = tot ? tot : cur ? cur : 1;
                (void)qp_job_tick(jb, all, all);
            }
            /* dismissed without waiting for the reply: it comes back with
             * the reply to the next command (or is read at the close) */
            json_object *a = json_object_new_object();
            json_object_object_add(a, "id", json_object_new_string(job_id));
            char did[32];
            if (send_cmd(q, "job-dismiss", a, -1, did, sizeof did) == 0) {
                q->unanswered++;
                *ended = 1;
            }
            q->watch_id[0] = '\0';
            if (jb->stop_code) /* ours: what was cancelled, and why */
                return qp_job_stop_error(jb);
            if (errbuf[0])
                return qp_error(q->ctx, SB_ERR_HYPERVISOR, "QMP '%s' job failed: %s", cmd, errbuf);
            return 0;
        }
        json_object_put(jobs);
        if (qp_job_tick(jb, cur, tot) < 0) {
            if ((r = cancel_job(q, job_id)) < 0)
                return r;
            tick = 1; /* asked until it has concluded */
            continue;
        }
        if (strcmp(status, "ready") == 0 && !completed_sent && !jb->stopping) {
            if (q->ctx->test_job_delay_ms > 0) /* test-only window, see qp.h */
                qp_sleep_ms(q->ctx->test_job_delay_ms);
            json_object *a = json_object_new_object();
            json_object_object_add(a, "id", json_object_new_string(job_id));
            r = qp_qmp_execute(q, "job-complete", a, NULL);
            if (r < 0)
                return r;
            completed_sent = 1;
            jb->stopping = 1; /* no stop from now on: the pivot ends it either way */
        } else if (j && strcmp(status, "pending") == 0) {
            /* auto-finalize off is never used by us, but be safe (an
             * event's "pending" is the step on the way to "concluded"
             * that auto-finalize takes itself) */
            json_object *a = json_object_new_object();
            json_object_object_add(a, "id", json_object_new_string(job_id));
            (void)qp_qmp_execute(q, "job-finalize", a, NULL);
            tick = 1;
            continue;
        }
        /* the next news about the job, or a tick without any (then
         * query-jobs: the progress, the stall rule, domjobabort) */
        if (!strcmp(q->watch_status, status) || !q->watch_status[0]) {
            if ((r = wait_job_event(q, job_id, JOB_TICK_MS)) < 0)
                return io_error(q, r, cmd);
            tick = r == 0;
        } else {
            tick = 0; /* the events moved on while we looked */
        }
    }
}

int qp_qmp_job(qp_qmp *q, const char *cmd, json_object *args, const char *job_id)
{
    /* its events from now on: some come before the command's reply */
    watch_job(q, job_id);
    q->jobs_started++;
    int ended = 0, r = qp_qmp_execute(q, cmd, args, NULL);
    if (r == 0)
        r = job_wait(q, cmd, job_id, &ended);
    q->jobs_ended += ended;
    return r;
}

/* query-jobs, and the graph queries not kept yet sent right behind it:
 * one round trip to QEMU instead of three (what asks for the jobs before
 * an operation asks for the graph next). */
static int jobs_and_graph(qp_qmp *q, json_object **jobs, int ask_jobs)
{
    char jid[32], ids[QP_QMP_GRAPH_QUERIES][32];
    int sent[QP_QMP_GRAPH_QUERIES] = {0};
    int r = ask_jobs ? send_cmd(q, "query-jobs", NULL, -1, jid, sizeof jid) : 0;
    if (r == 0)
        r = graph_send(q, ids, sent, q->ctx->prefetch_nodes);
    /* and the run state, when the operation asks it next (qp_qmp_status) */
    char sid[32];
    int sent_status = 0;
    if (r == 0 && !q->status && q->ctx->prefetch_status) {
        r = send_cmd(q, "query-status", NULL, -1, sid, sizeof sid);
        sent_status = r == 0;
    }
    if (r < 0)
        return r;
    /* the operation's intent to disk while QEMU answers (the first
     * queries of a create, revert or delete come here) */
    int due = qp_intent_durable(q->ctx);
    r = graph_recv(q, ids, sent, ask_jobs ? recv_reply(q, "query-jobs", jid, jobs) : 0);
    if (r == 0 && due < 0)
        r = due;
    if (sent_status) {
        json_object *st = NULL;
        int rs = recv_reply(q, "query-status", sid, &st);
        if (rs == 0 && st && !q->status)
            q->status = st;
        else
            json_object_put(st);
        if (r == 0)
            r = rs;
    }
    return r;
}

int qp_qmp_finish_jobs(qp_qmp *q)
{
    json_object *jobs = NULL;
    qp_monitor *m = q->ctx->mon;
    int r = 0;
    /* none can be there (the lock's last holder left none, or this call
     * made sure): the graph and the run state the checks ask next go out
     * alone */
    if (m && m->no_jobs)
        return q->jobs ? 0 : jobs_and_graph(q, &jobs, 0);
    /* asked already on this connection, and nothing ran since (a command
     * or an event forgets it): the same answer, no round trip */
    if (q->jobs)
        jobs = json_object_get(q->jobs);
    else if ((r = jobs_and_graph(q, &jobs, 1)) == 0 && jobs)
        q->jobs = json_object_get(jobs);
    if (r < 0) {
        json_object_put(jobs);
        return r;
    }
    qp_strv ids = {0};
    size_t n = jobs && json_object_is_type(jobs, json_type_array)
                   ? json_object_array_length(jobs) : 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        json_object *v;
        if (json_object_object_get_ex(json_object_array_get_idx(jobs, i), "id", &v) &&
            !strncmp(json_object_get_string(v), "sb-", 3))
            r = qp_strv_add(&ids, json_object_get_string(v));
    }
    json_object_put(jobs);
    if (r < 0) {
        qp_strv_free(&ids);
        return qp_error(q->ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    int all_ended = 1;
    for (size_t i = 0; i < ids.n; i++) {
        qp_log(q->ctx, SB_LOG_WARN, "finishing job '%s' left by an interrupted operation",
               ids.v[i]);
        /* its own failure only means the earlier step did not happen;
         * the caller looks at QEMU's state afterwards */
        int ended = 0;
        if (job_wait(q, "leftover job", ids.v[i], &ended) < 0)
            qp_log(q->ctx, SB_LOG_WARN, "%s", q->ctx->err_msg);
        all_ended = all_ended && ended;
    }
    qp_strv_free(&ids);
    if (m && all_ended)
        m->no_jobs = 1; /* until a job of this call is left behind */
    return 0;
}
