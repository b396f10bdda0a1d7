/* Guest data (--guest-data qemu-io): the kit writes and reads a pattern
 * on a shut-off domain's disk with qemu-io, through the image the domain
 * definition names now (its top, after external snapshots).  The only
 * backend knowledge in the kit: where a host keeps guest disks as local
 * qcow2/raw files, this is how to see what the guest would see. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit_internal.h"

extern char **environ;

/* Run qemu-io -c cmd image; *out gets its stdout (malloc'ed). */
static int qemu_io(const char *image, const char *cmd, int readonly, char **out)
{
    posix_spawn_file_actions_t fa;
    int fds[2];
    pid_t pid;
    int st = -1;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);

    *out = NULL;
    if (!buf || pipe(fds) < 0) {
        free(buf);
        return -1;
    }
    char *argv[] = { (char *)"qemu-io", (char *)(readonly ? "-r" : "-n"), (char *)"-c",
                     (char *)cmd, (char *)image, NULL };
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    int rc = posix_spawnp(&pid, "qemu-io", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc == 0) {
        ssize_t n;
        while ((n = read(fds[0], buf + len, cap - len - 1)) > 0 ||
               (n < 0 && errno == EINTR)) {
            if (n < 0)
                continue;
            len += (size_t)n;
            if (len + 1 >= cap) {
                char *nb = realloc(buf, cap * 2);
                if (!nb)
                    break;
                buf = nb;
                cap *= 2;
            }
        }
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    close(fds[0]);
    buf[len] = '\0';
    *out = buf;
    return rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int image_of(struct k *k, const char *target, char **out)
{
    int st;
    K_TRY(k_state(k, &st));
    if (st != SB_DOMAIN_SHUTOFF)
        return k_fail(k, "guest data is read and written only while the domain is shut off "
                      "(it is %s)", sb_domain_state_name(st));
    if (!(*out = k_disk_source(k, target)))
        return k_fail(k, "domain '%s' has no file disk '%s'", k->dom, target);
    return K_PASS;
}

int k_data_write(struct k *k, const char *target, int pattern)
{
    char cmd[64], *img = NULL, *out = NULL;

    K_TRY(image_of(k, target, &img));
    snprintf(cmd, sizeof(cmd), "write -P 0x%02x 1M 64k", pattern);
    int rc = qemu_io(img, cmd, 0, &out);
    int r = rc == 0 && out && !strstr(out, "failed")
                ? K_PASS
                : k_fail(k, "qemu-io '%s' on %s: %s", cmd, img, out ? out : "cannot run");
    free(img);
    free(out);
    return r;
}

int k_data_check(struct k *k, const char *target, int pattern)
{
    char cmd[64], *img = NULL, *out = NULL;

    K_TRY(image_of(k, target, &img));
    snprintf(cmd, sizeof(cmd), "read -P 0x%02x 1M 64k", pattern);
    int rc = qemu_io(img, cmd, 1, &out);
    int r = rc == 0 && out && strstr(out, "read 65536/65536") && !strstr(out, "failed")
                ? K_PASS
                : k_fail(k, "disk %s of '%s' (%s) does not hold pattern 0x%02x: %s", target,
                         k->dom, img, pattern, out ? out : "cannot run qemu-io");
    free(img);
    free(out);
    return r;
}
