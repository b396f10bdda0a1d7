/* Whether a store exists, and removing the store of a domain that is gone
 * (sb_store_on_disk, sb_store_remove, store.h).
 *
 * The files are unlinked while this handle holds both locks.  A process
 * that opened them before and waits for a lock then holds it on an
 * unlinked file: sb_fs_lock refuses an exclusive lock there, so nothing is
 * ever written to a log no one else can see.  A process that opens the
 * store afterwards makes a new, empty one (in the directory, if it is
 * still there, which then stays). */
#include "store/store_internal.h"

#include <errno.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

static int unlink_quiet(const char *path)
{
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot remove '%s'", path);
}

int sb_store_remove(sb_store *s)
{
    int rc;

    if (s->broken)
        return sb_error_set(SB_ERR_STORE, "store '%s' failed to reload; reopen it", s->dir);
    if (!(s->flags & SB_STORE_WRITABLE))
        return sb_error_set(SB_ERR_OPERATION_DENIED, "store '%s' is open read-only", s->dir);
    if (s->in_txn || !s->oplock_held || s->oplock_shared || s->lock_fd < 0)
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "removing store '%s' needs its operation "
                                                   "lock, outside a transaction", s->dir);
    if ((rc = sb_fs_lock(s->lock_fd, LOCK_EX, true, s->lock_path)) < 0)
        return rc;
    rc = sb_store__sync(s, false);
    /* anything left (a snapshot another process added, an interrupted
     * operation, damage to repair) keeps the store */
    if (rc == 0 && !s->damaged && sb_tree_count(s->tree) == 0 && s->nintents == 0) {
        /* a new seq sends every other handle's next call to look
         * (sb_store_removed) */
        sb_store__changing(s);
        if ((rc = unlink_quiet(s->log_path)) == 0 && (rc = unlink_quiet(s->oplock_path)) == 0)
            rc = unlink_quiet(s->lock_path);
        /* a kept damaged log, or a process that just made new files */
        if (rc == 0 && rmdir(s->dir) < 0 && errno != ENOTEMPTY && errno != EEXIST)
            rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot remove '%s'", s->dir);
    }
    sb_store__unlock(s);
    return rc;
}

/* Asked before every call on a connection's cached store, so it must not
 * cost a system call when nothing happened: a removal changes the shared
 * page's seq (sb_store_remove), so while seq is the one this handle last
 * saw, its files are still there.  Otherwise (or without a page) fstat
 * tells. */
bool sb_store_removed(const sb_store *s)
{
    if (s->lock_fd < 0 || sb_store__shared_unchanged(s))
        return false;
    return sb_store__unlinked(s);
}

bool sb_store__unlinked(const sb_store *s)
{
    struct stat st;
    return s->lock_fd >= 0 && fstat(s->lock_fd, &st) == 0 && st.st_nlink == 0;
}

bool sb_store_on_disk(const sb_store *s)
{
    return s->lock_fd >= 0;
}
