/* The shared page: the first bytes of the lock file, mapped MAP_SHARED by
 * every process that has the store open, so that "did anybody change the
 * log since this handle last read it?" is one memory read instead of
 * flock + stat + flock on every call (docs/store.md, "Seeing other
 * processes' commits").
 *
 * seq counts changes of the log.  A writer, holding the exclusive lock,
 * makes it odd before it touches the log (append, truncate, compaction,
 * repair) and even again once the change is complete, before it unlocks.
 * A handle whose tree matches the log remembers the even seq it saw: as
 * long as seq still has that value, nothing changed.  An odd seq (a
 * writer at work, or one that died at work) always sends readers the slow
 * way, under the lock, which is what they did before the page existed.
 * The page is only a hint about freshness: it never holds data, and a
 * missing or foreign page just means the slow way. */
#include "store/store_internal.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

#define SHARED_MAGIC 0x4b4c4253u /* "SBLK" little-endian */
#define SHARED_VERSION 1u
#define SHARED_SIZE 4096u

struct sb_store_shared {
    uint32_t magic;
    uint32_t version;
    uint64_t seq;
};

static bool page_valid(const struct sb_store_shared *p)
{
    return p && __atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) == SHARED_MAGIC &&
           p->version == SHARED_VERSION;
}

void sb_store__shared_map(sb_store *s)
{
    struct stat st;
    bool w = s->flags & SB_STORE_WRITABLE;

    if (s->shared || s->lock_fd < 0)
        return;
    if (fstat(s->lock_fd, &st) < 0 || !S_ISREG(st.st_mode))
        return;
    /* Writers hold the exclusive lock here: grow a lock file that an
     * older store left empty.  Readers map only what exists (a mapping
     * past the end of a file faults). */
    if ((size_t)st.st_size < SHARED_SIZE) {
        if (!w || ftruncate(s->lock_fd, SHARED_SIZE) < 0)
            return;
    }
    void *p = mmap(NULL, SHARED_SIZE, w ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
                   s->lock_fd, 0);
    if (p == MAP_FAILED)
        return;
    s->shared = p;
    if (w && !page_valid(s->shared)) {
        /* Exclusive lock held: nobody else writes the page now. */
        s->shared->version = SHARED_VERSION;
        s->shared->seq = 1; /* odd: "unknown" until the first publish */
        __atomic_store_n(&s->shared->magic, SHARED_MAGIC, __ATOMIC_RELEASE);
    }
}

void sb_store__shared_unmap(sb_store *s)
{
    if (s->shared)
        munmap(s->shared, SHARED_SIZE);
    s->shared = NULL;
}

uint64_t sb_store__shared_seq(const sb_store *s)
{
    if (!page_valid(s->shared))
        return 1; /* odd: never "unchanged" */
    return __atomic_load_n(&s->shared->seq, __ATOMIC_ACQUIRE);
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
        __atomic_store_n(&s->shared->seq, q + 1, __ATOMIC_RELEASE);
}

void sb_store__unlock(sb_store *s)
{
    if (s->log_changing && page_valid(s->shared) && (s->flags & SB_STORE_WRITABLE)) {
        /* The change is complete and this handle's tree is the log's state
         * (every writer path reloads on failure): publish, remember. */
        uint64_t q = __atomic_load_n(&s->shared->seq, __ATOMIC_RELAXED);
        q += (q & 1) ? 1 : 2;
        __atomic_store_n(&s->shared->seq, q, __ATOMIC_RELEASE);
        if (!s->broken)
            s->seen_seq = q;
    }
    s->log_changing = false;
    sb_fs_unlock(s->lock_fd);
}
