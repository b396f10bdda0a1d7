/* The shared page: the first bytes of the lock file, mapped MAP_SHARED by
 * every process that has the store open (docs/store.md, "Seeing other
 * processes' commits" and "Group commit").  It holds no data, only:
 *
 * seq      counts changes of the log.  A writer, holding the exclusive
 *          lock, makes it odd before it touches the log (append, truncate,
 *          compaction, repair) and even again once the change is in the
 *          file, before it unlocks.  A handle whose tree matches the log
 *          remembers the even seq it saw: while seq keeps that value,
 *          nothing changed.  An odd seq (a writer at work, or one killed at
 *          work) sends everybody the slow way (lock, stat, replay).
 * log_dev, log_ino
 *          the log file the two offsets below are about (a compaction
 *          replaces it).
 * appended the end of the last complete record appended.
 * synced   how far the log is known durable (fdatasync'd); it only grows
 *          while the log stays the same file (raise_synced).
 * waiting  writers blocked on the exclusive lock right now, and
 * operating
 *          handles holding the operation lock (an operation from its
 *          begin to its end, its preparation included): hints that tell
 *          a committing writer whether anyone may append during its
 *          fdatasync (sb_store__sync_alone).  A process killed before it
 *          counts itself out leaves one too high, which only sends
 *          commits the group way; an exclusive holder of the operation
 *          lock is alone by the lock and sets operating to 1.
 *
 * A missing page, a foreign one, or one about another log file just means
 * the slow way and synchronous commits (fdatasync under the lock). */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

#define SHARED_MAGIC 0x4b4c4253u /* "SBLK" little-endian */
#define SHARED_VERSION 3u /* 3: waiting, operating; synced raised by CAS */
#define SHARED_SIZE 4096u
/* The byte of the lock file whose OFD lock serialises group fdatasyncs
 * (beyond the page; flock() on the same file is independent of it). */
#define SYNC_LOCK_BYTE 8192

struct sb_store_shared {
    uint32_t magic;
    uint32_t version;
    uint64_t seq;
    uint64_t log_dev, log_ino;
    uint64_t appended, synced;
    int32_t waiting;
    int32_t operating;
};

/* The sync lock: held by the process running a group fdatasync, and by
 * a writer that replaces or cuts the log, so "synced" is always about the
 * log it names. */
static int sync_lock(int fd, short type)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = SYNC_LOCK_BYTE,
                        .l_len = 1 };
    int rc;
    do
        rc = fcntl(fd, F_OFD_SETLKW, &fl);
    while (rc < 0 && errno == EINTR);
    return rc;
}

/* fdatasync the log; the error names it. */
static int sync_log_file(sb_store *s)
{
    if (fdatasync(s->log_fd) == 0)
        return 0;
    return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot fdatasync '%s'", s->log_path);
}

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* synced never moves back while the log stays: a sync alone under the
 * exclusive lock and a group sync under the sync lock may end in either
 * order. */
static void raise_synced(struct sb_store_shared *p, uint64_t upto)
{
    uint64_t cur = ld(&p->synced);
    while (cur < upto && !__atomic_compare_exchange_n(&p->synced, &cur, upto, false,
                                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

static bool page_valid(const struct sb_store_shared *p)
{
    return p && __atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) == SHARED_MAGIC &&
           p->version == SHARED_VERSION;
}

/* The page describes the log this handle has open. */
static bool page_is_ours(const sb_store *s)
{
    const struct sb_store_shared *p = s->shared;
    return page_valid(p) && s->have_log && ld(&p->log_ino) == (uint64_t)s->log_ino &&
           ld(&p->log_dev) == (uint64_t)s->log_dev;
}

void sb_store__shared_map(sb_store *s)
{
    struct stat sb;
    bool w = s->flags & SB_STORE_WRITABLE;

    if (s->shared || s->lock_fd < 0)
        return;
    if (fstat(s->lock_fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        return;
    /* Writers hold the exclusive lock here: grow a lock file that an
     * older store left empty.  Readers map only what exists (a mapping
     * past the end of a file faults). */
    if ((size_t)sb.st_size < SHARED_SIZE) {
        if (!w || ftruncate(s->lock_fd, SHARED_SIZE) < 0)
            return;
    }
    void *p = mmap(NULL, SHARED_SIZE, w ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
                   s->lock_fd, 0);
    if (p != MAP_FAILED)
        s->shared = p;
}

void sb_store__shared_unmap(sb_store *s)
{
    if (s->shared)
        munmap(s->shared, SHARED_SIZE);
    s->shared = NULL;
}

int sb_store__shared_adopt(sb_store *s)
{
    struct sb_store_shared *p = s->shared;

    if (!p || !(s->flags & SB_STORE_WRITABLE) || !s->have_log || page_is_ours(s))
        return 0;
    /* A page from an older version, or about a log someone replaced
     * without this version's code: what "synced" says is unknown, so make
     * it true (records carry it as their base: it must never claim less
     * than what earlier writers were told is durable). */
    if (sync_log_file(s) < 0)
        return -SB_ERR_SYSTEM_ERROR;
    if (!page_valid(p)) {
        p->version = SHARED_VERSION;
        p->seq = 1; /* odd: "unknown" until the first publish */
        p->waiting = 0;
        p->operating = 0;
    }
    sb_store__shared_new_log(s);
    __atomic_store_n(&p->magic, SHARED_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

void sb_store__shared_new_log(sb_store *s)
{
    struct sb_store_shared *p = s->shared;
    if (!p || !(s->flags & SB_STORE_WRITABLE))
        return;
    /* exclusive lock held, the whole of valid_end durable */
    bool locked = sync_lock(s->lock_fd, F_WRLCK) == 0;
    st(&p->log_dev, (uint64_t)s->log_dev);
    st(&p->log_ino, (uint64_t)s->log_ino);
    st(&p->appended, s->valid_end);
    st(&p->synced, s->valid_end);
    if (locked)
        (void)sync_lock(s->lock_fd, F_UNLCK);
}

uint64_t sb_store__shared_seq(const sb_store *s)
{
    if (!page_valid(s->shared))
        return 1; /* odd: never "unchanged" */
    return ld(&s->shared->seq);
}

bool sb_store__shared_unchanged(const sb_store *s)
{
    uint64_t q = sb_store__shared_seq(s);
    return s->have_log && !(q & 1) && q == s->seen_seq;
}

void sb_store__changing(sb_store *s)
{
    s->log_changing = true;
    if (!page_valid(s->shared) || !(s->flags & SB_STORE_WRITABLE))
        return;
    uint64_t q = __atomic_load_n(&s->shared->seq, __ATOMIC_RELAXED);
    if (!(q & 1))
        st(&s->shared->seq, q + 1);
}

void sb_store__unlock(sb_store *s)
{
    if (s->log_changing && page_valid(s->shared) && (s->flags & SB_STORE_WRITABLE)) {
        /* The change is in the file and this handle's tree is the log's
         * state (every writer path reloads on failure): publish, remember. */
        uint64_t q = __atomic_load_n(&s->shared->seq, __ATOMIC_RELAXED);
        q += (q & 1) ? 1 : 2;
        st(&s->shared->seq, q);
        if (!s->broken)
            s->seen_seq = q;
    }
    s->log_changing = false;
    sb_fs_unlock(s->lock_fd);
}

/* ------------------------------------------------------------ group commit */

bool sb_store__group_commit(const sb_store *s)
{
    return (s->flags & SB_STORE_WRITABLE) && page_is_ours(s);
}

uint64_t sb_store__durable_base(const sb_store *s)
{
    return ld(&s->shared->synced);
}

void sb_store__appended(sb_store *s)
{
    st(&s->shared->appended, s->valid_end);
}

void sb_store__truncated(sb_store *s, size_t end)
{
    if (!sb_store__group_commit(s))
        return;
    bool locked = sync_lock(s->lock_fd, F_WRLCK) == 0;
    st(&s->shared->appended, end);
    if (ld(&s->shared->synced) > end)
        st(&s->shared->synced, end);
    if (locked)
        (void)sync_lock(s->lock_fd, F_UNLCK);
}

int sb_store__group_sync(sb_store *s, size_t end, dev_t dev, ino_t ino)
{
    struct sb_store_shared *p = s->shared;
    int rc = 0;

    /* Covered already: someone's fdatasync started after our append.  A
     * new log (compaction, repair) was fsync'd whole before the rename. */
    if (ld(&p->log_ino) != (uint64_t)ino || ld(&p->log_dev) != (uint64_t)dev ||
        ld(&p->synced) >= end)
        return 0;
    if (sync_lock(s->lock_fd, F_WRLCK) < 0)
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot lock '%s'", s->lock_path);
    /* While we waited, the one before us may have covered us. */
    if (ld(&p->log_ino) == (uint64_t)ino && ld(&p->log_dev) == (uint64_t)dev &&
        ld(&p->synced) < end) {
        /* Everything appended so far is complete in the file: one
         * fdatasync covers the records of every writer waiting behind us. */
        uint64_t upto = ld(&p->appended);
        if (sync_log_file(s) < 0)
            rc = -SB_ERR_SYSTEM_ERROR;
        else
            raise_synced(p, upto); /* the log cannot change under the sync lock */
    }
    (void)sync_lock(s->lock_fd, F_UNLCK);
    return rc;
}

int sb_store__lock_exclusive(sb_store *s)
{
    int32_t *w = (s->flags & SB_STORE_WRITABLE) && page_valid(s->shared) ? &s->shared->waiting
                                                                           : NULL;
    if (w)
        __atomic_add_fetch(w, 1, __ATOMIC_ACQ_REL);
    int rc = sb_fs_lock_unchecked(s->lock_fd, LOCK_EX, true, s->lock_path);
    if (w)
        __atomic_sub_fetch(w, 1, __ATOMIC_ACQ_REL);
    return rc;
}

int sb_store__sync_alone(sb_store *s, size_t start)
{
    struct sb_store_shared *p = s->shared;

    /* Someone waits to append (they would wait for the disk too), another
     * operation is under way (it may append during our sync), or a record
     * before ours is still waiting for its group's fdatasync: leave the
     * sync for after the unlock, to be shared. */
    if (__atomic_load_n(&p->waiting, __ATOMIC_ACQUIRE) > 0 ||
        __atomic_load_n(&p->operating, __ATOMIC_ACQUIRE) > 1 || ld(&p->synced) < start)
        return 0;
    if (sync_log_file(s) < 0)
        return -SB_ERR_SYSTEM_ERROR;
    raise_synced(p, s->valid_end);
    return 1;
}

void sb_store__operating(sb_store *s, bool exclusive)
{
    struct sb_store_shared *p = s->shared;
    if (s->counted_operating || !(s->flags & SB_STORE_WRITABLE) || !page_valid(p))
        return;
    if (exclusive)
        __atomic_store_n(&p->operating, 1, __ATOMIC_RELEASE); /* nobody else holds it */
    else
        __atomic_add_fetch(&p->operating, 1, __ATOMIC_ACQ_REL);
    s->counted_operating = true;
}

void sb_store__not_operating(sb_store *s)
{
    if (!s->counted_operating)
        return;
    s->counted_operating = false;
    if (page_valid(s->shared))
        __atomic_sub_fetch(&s->shared->operating, 1, __ATOMIC_ACQ_REL);
}
