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
 * The counter is read at every use of a kept read, several times per
 * broker operation; opening, locking, reading and closing the file each
 * time cost more than the rest of such a callback.  So the file is mapped
 * once it exists, and a read is one load from the mapping.  Adding one
 * still takes the file's lock (LOCK_EX), which excludes the other adders,
 * also those of a plugin that reads and writes the file with pread and
 * pwrite; a reader never creates the file (a read-only command leaves no
 * state behind).
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void esx_changes_end(esx_conn *c)
{
    if (c->changes_map) {
        munmap(c->changes_map, sizeof(*c->changes_map));
        close(c->changes_fd);
    }
    c->changes_map = NULL;
}

int esx_changes_init(esx_conn *c, const char *state_dir)
{
    esx_changes_end(c);
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

/* Map the counter file; create: make it first when it is not there.
 * -1 when it is not there, has not its 8 bytes yet, or cannot be mapped
 * (the caller then reads or adds with counter()). */
static int map_counter(esx_conn *c, int create)
{
    struct stat st;
    int fd, ok;

    if (c->changes_map)
        return 0;
    fd = open(c->changes_path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0)
        return -1;
    ok = fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(uint64_t);
    if (!ok && create && flock(fd, LOCK_EX) == 0) {
        /* made just now, here or by another adder: its 8 bytes, 0 (no
         * change yet), under the adders' lock */
        ok = fstat(fd, &st) == 0 && (st.st_size >= (off_t)sizeof(uint64_t) ||
                                     ftruncate(fd, sizeof(uint64_t)) == 0);
        flock(fd, LOCK_UN);
    }
    void *m = ok ? mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                 : MAP_FAILED;
    if (m == MAP_FAILED) {
        close(fd);
        return -1;
    }
    c->changes_map = m;
    c->changes_fd = fd;
    return 0;
}

uint64_t esx_changes_now(esx_conn *c)
{
    if (!c->changes_path)
        return 0;
    if (map_counter(c, 0) == 0)
        return __atomic_load_n(c->changes_map, __ATOMIC_ACQUIRE);
    return counter(c, LOCK_SH);
}

uint64_t esx_changes_add(esx_conn *c)
{
    if (!c->changes_path)
        return 0;
    if (map_counter(c, 1) < 0 || flock(c->changes_fd, LOCK_EX) < 0)
        return counter(c, LOCK_EX);
    uint64_t v = __atomic_load_n(c->changes_map, __ATOMIC_ACQUIRE);
    v = v + 1 == ESX_GEN_NONE ? 1 : v + 1;
    __atomic_store_n(c->changes_map, v, __ATOMIC_RELEASE);
    flock(c->changes_fd, LOCK_UN);
    return v;
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
