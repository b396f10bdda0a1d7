/* qemu plugin - the QEMU guest agent (filesystem freeze/thaw for QUIESCE). */
#include "qp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int agent_cmd(qp_ctx *ctx, int fd, const char *cmd, long long sync_id, int timeout_ms)
{
    char msg[256];
    if (sync_id)
        snprintf(msg, sizeof msg, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":%lld}}\n",
                 sync_id);
    else
        snprintf(msg, sizeof msg, "{\"execute\":\"%s\"}\n", cmd);
    if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
        return qp_error_errno(ctx, SB_ERR_HYPERVISOR, errno, "guest agent: send '%s'", cmd);
    char buf[4096];
    size_t len = 0;
    double deadline = qp_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - qp_now_ms());
        if (left <= 0)
            return qp_error(ctx, SB_ERR_OPERATION_TIMEOUT,
                            "guest agent did not answer '%s' within %d ms (is qemu-ga running "
                            "in the guest?)", cmd, timeout_ms);
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, left) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            return qp_error(ctx, SB_ERR_HYPERVISOR, "guest agent closed the channel");
        len += (size_t)r;
        buf[len] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = '\0';
            json_object *o = json_tokener_parse(buf);
            memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
            len = strlen(buf);
            if (!o)
                continue;
            json_object *v;
            int done = 0, rc = 0;
            if (json_object_object_get_ex(o, "error", &v)) {
                json_object *d = NULL;
                json_object_object_get_ex(v, "desc", &d);
                rc = qp_error(ctx, SB_ERR_HYPERVISOR, "guest agent '%s' failed: %s", cmd,
                              d ? json_object_get_string(d) : "unknown error");
                done = 1;
            } else if (json_object_object_get_ex(o, "return", &v)) {
                done = !sync_id || json_object_get_int64(v) == sync_id;
            }
            json_object_put(o);
            if (done)
                return rc;
        }
        if (len >= sizeof buf - 1)
            len = 0;
    }
}

int qp_agent_fsfreeze(qp_ctx *ctx, const char *sock_path, int freeze)
{
    int due = qp_intent_durable(ctx);
    if (due < 0)
        return due;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(sock_path) >= sizeof sa.sun_path)
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "guest agent socket path too long: '%s'",
                        sock_path);
    strcpy(sa.sun_path, sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return qp_error_errno(ctx, SB_ERR_HYPERVISOR, e, "cannot connect to guest agent '%s'",
                              sock_path);
    }
    int timeout = 3000;
    long long id = (long long)getpid() * 1000 + (long long)(qp_now_ms()) % 1000 + 1;
    int r = agent_cmd(ctx, fd, "guest-sync", id, timeout);
    if (r == 0)
        r = agent_cmd(ctx, fd, freeze ? "guest-fsfreeze-freeze" : "guest-fsfreeze-thaw", 0,
                      freeze ? timeout : 30000);
    close(fd);
    return r;
}
