/* vbox plugin - VirtualBox's own processes, from /proc.
 *
 * VBoxSVC holds the settings of every machine its VirtualBox home
 * registers (VBOX_USER_HOME in its environment, else the user's default
 * home) in memory while it runs and writes them back on its own: a change
 * made beside it is lost, so such a machine is "locked" while that
 * VBoxSVC runs (also when its home cannot be read: better refuse than lose
 * a change).  A machine runs in a VM process (VBoxHeadless, VirtualBoxVM,
 * VBoxSDL) started with --startvm and the machine's UUID or name. */
#include "vb.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

static int is_vm_process(const char *comm)
{
    static const char *const names[] = { "VBoxHeadless", "VirtualBoxVM", "VBoxSDL", NULL };
    for (int i = 0; names[i]; i++)
        if (strcmp(comm, names[i]) == 0)
            return 1;
    return 0;
}

/* Does a NUL-separated command line start machine m? */
static int starts_machine(const vb_machine *m, const char *argv, size_t len)
{
    const char *end = argv + len;
    int next_is_vm = 0;
    for (const char *a = argv; a < end; a += strlen(a) + 1) {
        if (next_is_vm) {
            char u[VB_UUID_LEN];
            if ((vb_uuid_parse(a, u) == 0 && strcmp(u, m->uuid) == 0) || strcmp(a, m->name) == 0)
                return 1;
            next_is_vm = 0;
        }
        next_is_vm = strcmp(a, "--startvm") == 0 || strcmp(a, "-startvm") == 0 ||
                     strcmp(a, "-s") == 0;
    }
    return 0;
}

/* The VirtualBox home a VBoxSVC serves, from its environment. */
static char *svc_home(const char *env, size_t len)
{
    const char *home = NULL, *user_home = NULL, *end = env + len;
    for (const char *e = env; e < end; e += strlen(e) + 1) {
        if (strncmp(e, "VBOX_USER_HOME=", 15) == 0 && e[15])
            user_home = e + 15;
        else if (strncmp(e, "HOME=", 5) == 0 && e[5])
            home = e + 5;
    }
    return vb_user_home(user_home, home);
}

/* Does this VBoxSVC hold machine m? */
static int svc_holds(vb_ctx *ctx, const char *pid, const vb_machine *m, char *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/environ", ctx->proc_root, pid);
    ssize_t n = read_small(path, buf, cap);
    char *home = n > 0 ? svc_home(buf, (size_t)n) : NULL;
    if (!home)
        return 1;
    /* VirtualBox.xml's error stays out of the operation: not in ctx (put
     * back), nor with the broker (no host while it is read, which would
     * otherwise keep it as the error of an operation that succeeds) */
    char saved[sizeof ctx->err_msg];
    int code = ctx->err_code;
    const struct sb_host_api *api = ctx->api;
    memcpy(saved, ctx->err_msg, sizeof saved);
    ctx->api = NULL;
    int r = vb_home_registers(ctx, home, m->uuid);
    ctx->api = api;
    memcpy(ctx->err_msg, saved, sizeof saved);
    ctx->err_code = code;
    free(home);
    return r != 0; /* registered, or unreadable: held */
}

int vb_procs_find(vb_ctx *ctx, const vb_machine *m, vb_procs *out)
{
    DIR *d = opendir(ctx->proc_root ? ctx->proc_root : "/proc");
    struct dirent *de;
    char path[512], comm[64], *argv = NULL;
    size_t argv_cap = 0;

    memset(out, 0, sizeof *out);
    if (!d)
        return 0; /* no /proc: nothing can be told */
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t pid = (pid_t)atol(de->d_name);
        if (pid == getpid())
            continue;
        snprintf(path, sizeof path, "%s/%s/comm", ctx->proc_root, de->d_name);
        if (read_small(path, comm, sizeof comm) <= 0)
            continue;
        comm[strcspn(comm, "\n")] = '\0';
        int svc = strcmp(comm, "VBoxSVC") == 0, vm = is_vm_process(comm);
        if (!svc && !vm)
            continue;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", ctx->proc_root, de->d_name);
        if (stat(path, &st) < 0 || st.st_uid != m->st.st_uid)
            continue; /* another user's VirtualBox has other settings */
        if (!argv_cap && !(argv = malloc(argv_cap = 65536)))
            break;
        if (svc) {
            if (svc_holds(ctx, de->d_name, m, argv, argv_cap))
                out->vboxsvc = pid;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s/cmdline", ctx->proc_root, de->d_name);
        ssize_t n = read_small(path, argv, argv_cap);
        if (n > 0 && starts_machine(m, argv, (size_t)n))
            out->vm = pid;
    }
    closedir(d);
    free(argv);
    return 0;
}
