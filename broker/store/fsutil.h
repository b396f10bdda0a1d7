/* Small POSIX helpers for the store: directories, durable writes, flock.
 * All return 0 or -SB_ERR_* with the path named in the message. */
#ifndef SB_STORE_FSUTIL_H
#define SB_STORE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode 0700 for the components it creates (snapshot XML can
 * hold secrets: XML_SECURE data of the embedded <domain>). */
int sb_fs_mkdir_p(const char *path);
/* fsync a directory so a rename or create inside it is durable. */
int sb_fs_fsync_dir(const char *dir);
/* pwrite all of buf at off (retrying short writes and EINTR). */
int sb_fs_pwrite_all(int fd, const void *buf, size_t len, off_t off, const char *path);
/* pwrite two buffers back to back at off (one pwritev when possible). */
int sb_fs_pwrite2(int fd, const void *a, size_t alen, const void *b, size_t blen, off_t off,
                  const char *path);
/* flock with EINTR retry.  op is LOCK_SH or LOCK_EX; with !wait a busy
 * lock gives -SB_ERR_OPERATION_INVALID. */
int sb_fs_lock(int fd, int op, bool wait, const char *path);
void sb_fs_unlock(int fd);

#endif
