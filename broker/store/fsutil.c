/* POSIX helpers for the store (fsutil.h). */
#include "store/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/error.h"

int sb_fs_mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return sb_error_oom();
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0700) == 0) {
            /* a new directory entry is durable only once its parent is
             * synced: without this a crash could lose the whole domain
             * directory even after its log was fdatasync'd */
            char *slash = strrchr(p, '/');
            if (slash && slash != p) {
                *slash = '\0';
                rc = sb_fs_fsync_dir(p);
                *slash = '/';
                if (rc < 0)
                    break;
            }
        } else if (errno != EEXIST) {
            rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot create directory '%s'",
                                    p);
            break;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            rc = sb_error_set(SB_ERR_STORE, "'%s' is not a directory", path);
    }
    free(p);
    return rc;
}

int sb_fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot open directory '%s'", dir);
    int rc = 0;
    if (fsync(fd) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot fsync directory '%s'", dir);
    close(fd);
    return rc;
}

int sb_fs_pwrite_all(int fd, const void *buf, size_t len, off_t off, const char *path)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot write '%s'", path);
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

int sb_fs_pwrite2(int fd, const void *a, size_t alen, const void *b, size_t blen, off_t off,
                  const char *path)
{
    struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
    ssize_t n;
    do
        n = pwritev(fd, iov, 2, off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot write '%s'", path);
    if ((size_t)n == alen + blen)
        return 0;
    /* short write: finish piece by piece */
    size_t done = (size_t)n;
    if (done < alen) {
        int rc = sb_fs_pwrite_all(fd, (const char *)a + done, alen - done, off + (off_t)done,
                                  path);
        if (rc < 0)
            return rc;
        done = alen;
    }
    return sb_fs_pwrite_all(fd, (const char *)b + (done - alen), blen - (done - alen),
                            off + (off_t)done, path);
}

int sb_fs_lock(int fd, int op, bool wait, const char *path)
{
    for (;;) {
        if (flock(fd, op | (wait ? 0 : LOCK_NB)) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return sb_error_set(SB_ERR_OPERATION_INVALID, "'%s' is locked by another process",
                                path);
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot lock '%s'", path);
    }
}

void sb_fs_unlock(int fd)
{
    if (fd >= 0)
        (void)flock(fd, LOCK_UN);
}
