/* vbox plugin - VirtualBox's own command line, for machines VirtualBox
 * holds (running, or VBoxSVC up).  Used only when VBoxManage is on PATH
 * (or configured); its error output becomes the error message. */
#include "vb.h"
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run VBoxManage args..., collecting stdout and stderr (bounded). */
static int run(vb_ctx *ctx, const char *const *args, char **out, char **err)
{
    int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
    size_t nargs = 0;
    *out = *err = NULL;
    while (args[nargs])
        nargs++;
    char **argv = calloc(nargs + 2, sizeof *argv);
    if (!argv)
        return vb_oom(ctx);
    argv[0] = ctx->vboxmanage;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int e = errno;
        free(argv);
        if (po[0] >= 0) {
            close(po[0]);
            close(po[1]);
        }
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot run '%s'", ctx->vboxmanage);
    }
    /* posix_spawn, not fork: the caller may be a large program that
     * embeds libsnapbroker, whose size a fork would cost every call */
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    int e = posix_spawn_file_actions_init(&fa);
    if (!e) {
        if (!(e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
            !(e = posix_spawn_file_actions_adddup2(&fa, po[1], 1)) &&
            !(e = posix_spawn_file_actions_adddup2(&fa, pe[1], 2)))
            e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
    }
    free(argv);
    close(po[1]);
    close(pe[1]);
    if (e) {
        close(po[0]);
        close(pe[0]);
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot run '%s'", ctx->vboxmanage);
    }
    size_t len[2] = { 0, 0 };
    char *buf[2] = { calloc(1, 65536), calloc(1, 65536) };
    struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !fds[k].revents)
                continue;
            char tmp[4096];
            ssize_t r = read(fds[k].fd, tmp, sizeof tmp);
            if (r <= 0) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
                continue;
            }
            size_t take = buf[k] && len[k] + (size_t)r < 65535 ? (size_t)r : 0;
            if (take) {
                memcpy(buf[k] + len[k], tmp, take);
                len[k] += take;
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *out = buf[0];
    *err = buf[1];
    if (!buf[0] || !buf[1])
        return vb_oom(ctx);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int vb_vboxmanage(vb_ctx *ctx, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int rc = run(ctx, args, &out, &err);
    if (rc > 0) {
        size_t n = err ? strlen(err) : 0;
        while (n && (err[n - 1] == '\n' || err[n - 1] == '\r'))
            err[--n] = '\0';
        rc = vb_error(ctx, SB_ERR_HYPERVISOR, "VBoxManage %s %s failed (exit %d): %s",
                      args[0] ? args[0] : "", args[0] && args[1] ? args[1] : "", rc,
                      n ? err : "no message");
    }
    free(out);
    free(err);
    return rc;
}

int vb_vboxmanage_state(vb_ctx *ctx, const char *uuid, int *state)
{
    const char *args[] = { "showvminfo", uuid, "--machinereadable", NULL };
    char *out = NULL, *err = NULL;
    int rc = run(ctx, args, &out, &err);
    *state = SB_DOMAIN_NOSTATE;
    if (rc == 0) {
        const char *p = out ? strstr(out, "VMState=\"") : NULL;
        static const struct { const char *name; int state; } map[] = {
            { "running", SB_DOMAIN_RUNNING }, { "paused", SB_DOMAIN_PAUSED },
            { "poweroff", SB_DOMAIN_SHUTOFF }, { "saved", SB_DOMAIN_SHUTOFF },
            { "aborted", SB_DOMAIN_CRASHED }, { "stopping", SB_DOMAIN_SHUTDOWN },
        };
        for (size_t i = 0; p && i < sizeof map / sizeof map[0]; i++)
            if (strncmp(p + 9, map[i].name, strlen(map[i].name)) == 0 &&
                p[9 + strlen(map[i].name)] == '"')
                *state = map[i].state;
    } else if (rc > 0) {
        rc = vb_error(ctx, SB_ERR_HYPERVISOR, "VBoxManage showvminfo failed (exit %d): %s", rc,
                      err && *err ? err : "no message");
    }
    free(out);
    free(err);
    return rc;
}
