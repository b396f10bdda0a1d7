/* Small POSIX helpers for the store: directories, durable writes, flock.
 * All return 0 or -SB_ERR_* with the path named in the message. */
#ifndef SB_STORE_FSUTIL_H
#define SB_STORE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* open() for every file the store uses: O_CLOEXEC | O_NOFOLLOW always (a
 * planted symlink never redirects a read or a write), and the result must
 * be a regular file (a FIFO or a device in place of the log would block or
 * misbehave; O_NONBLOCK keeps the open itself from blocking).  With
 * O_CREAT, pass O_EXCL for temporary files.  Returns 0 with *out_fd, 1
 * when the file does not exist and flags lack O_CREAT (*out_fd = -1), or
 * -SB_ERR_STORE / -SB_ERR_SYSTEM_ERROR naming the path. */
int sb_fs_open(const char *path, int flags, mode_t mode, int *out_fd);
/* fsync a directory so a rename or create inside it is durable. */
int sb_fs_fsync_dir(const char *dir);
/* pwrite all of buf at off (retrying short writes and EINTR). */
int sb_fs_pwrite_all(int fd, const void *buf, size_t len, off_t off, const char *path);
/* pwrite two buffers back to back at off (one pwritev when possible). */
int sb_fs_pwrite2(int fd, const void *a, size_t alen, const void *b, size_t blen, off_t off,
                  const char *path);
/* flock with EINTR retry.  op is LOCK_SH or LOCK_EX; with !wait a busy
 * lock gives -SB_ERR_OPERATION_INVALID, and so does an exclusive lock on
 * a file that was unlinked meanwhile (sb_store_remove): no writer works
 * on files no other process can open any more. */
int sb_fs_lock(int fd, int op, bool wait, const char *path);
/* The two halves of an exclusive sb_fs_lock, for a caller that can tell
 * without a system call that the file is still linked (the store's shared
 * page): the flock alone, and the check (which unlocks when it fails). */
int sb_fs_lock_unchecked(int fd, int op, bool wait, const char *path);
int sb_fs_check_linked(int fd, const char *path);
void sb_fs_unlock(int fd);

#endif
