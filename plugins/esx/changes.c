/* The VM read cache (vm.c) across processes.  Every CLI command is a
 * process of its own, and several may work on one host at once
 * (semantics.md §11): a read one process keeps for cache_ms must not hide
 * what another process of this machine changed meanwhile.  Each process
 * adds one to a counter in the plugin's state directory for the host after
 * every task it ran there (whatever the outcome: a failed task may have
 * changed something); a kept read is used only while the counter is what
 * it was just before the read was taken.  Changes other vSphere clients
 * make are seen once the read is older than cache_ms (docs/esx.md).
 *
 * vSphere lets a VM's snapshots share a name; the plugin does not (names
 * are unique, as the broker's callers expect), and checks before it asks.
 * Two processes creating one name at once would both pass that check: a
 * create holds a lock on the VM (a file per VM beside the counter) from
 * its check to the end of its task. */
#include "esx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int esx_changes_init(esx_conn *c, const char *state_dir)
{
    free(c->changes_path);
    c->changes_path = NULL;
    if (!state_dir || !*state_dir)
        return 0; /* no state directory: a kept read lasts cache_ms, no more */
    size_t len = strlen(state_dir) + sizeof("/changes");
    if (!(c->changes_path = malloc(len)))
        return esx_oom(c);
    snprintf(c->changes_path, len, "%s/changes", state_dir);
    return 0;
}

/* The counter under a lock of kind op (LOCK_SH to read, LOCK_EX to add
 * one), ESX_GEN_NONE when it cannot be read. */
static uint64_t counter(esx_conn *c, int op)
{
    uint64_t v = 0;
    int fd;

    if (!c->changes_path)
        return 0;
    fd = open(c->changes_path, op == LOCK_EX ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC,
              0600);
    if (fd < 0)
        return errno == ENOENT && op == LOCK_SH ? 0 : ESX_GEN_NONE; /* no change yet */
    if (flock(fd, op) < 0) {
        close(fd);
        return ESX_GEN_NONE;
    }
    ssize_t n = pread(fd, &v, sizeof(v), 0);
    if (n != (ssize_t)sizeof(v))
        v = 0; /* empty: just made */
    if (op == LOCK_EX) {
        v = v + 1 == ESX_GEN_NONE ? 1 : v + 1;
        if (pwrite(fd, &v, sizeof(v), 0) != (ssize_t)sizeof(v))
            v = ESX_GEN_NONE;
    }
    close(fd); /* and the lock with it */
    return v;
}

uint64_t esx_changes_now(esx_conn *c)
{
    return counter(c, LOCK_SH);
}

uint64_t esx_changes_add(esx_conn *c)
{
    return counter(c, LOCK_EX);
}

int esx_vm_lock(esx_conn *c, const char *moref)
{
    char path[4200];
    size_t dir;
    int fd;

    if (!c->changes_path)
        return -1; /* no state directory: no lock, as before */
    dir = strlen(c->changes_path) - strlen("/changes");
    int n = snprintf(path, sizeof(path), "%.*s/vm-lock-", (int)dir, c->changes_path);
    for (const char *p = moref; *p && n < (int)sizeof(path) - 6; p++) /* a file name */
        path[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
                               ? *p
                               : '_');
    path[n] = '\0';
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

void esx_vm_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* and the lock with it */
}
