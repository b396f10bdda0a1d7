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

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

int sb_fs_open(const char *path, int flags, mode_t mode, int *out_fd)
{
    struct stat st;
    int fd;

    *out_fd = -1;
    do
        fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT && !(flags & O_CREAT))
            return 1;
        /* what is there instead says more than EISDIR, ELOOP or ENXIO */
        struct stat lst;
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
            return sb_error_set(SB_ERR_STORE, "'%s' is a symbolic link; the store never "
                                              "follows one (remove it)", path);
        if (lstat(path, &lst) == 0 && !S_ISREG(lst.st_mode))
            return sb_error_set(SB_ERR_STORE, "'%s' is %s, not a regular file (remove it)",
                                path, file_kind(lst.st_mode));
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, e, "cannot open '%s'", path);
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, e, "cannot stat '%s'", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sb_error_set(SB_ERR_STORE, "'%s' is %s, not a regular file (remove it)", path,
                            file_kind(st.st_mode));
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *out_fd = fd;
    return 0;
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

int sb_fs_lock_unchecked(int fd, int op, bool wait, const char *path)
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

int sb_fs_check_linked(int fd, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) < 0 || st.st_nlink > 0)
        return 0;
    (void)flock(fd, LOCK_UN);
    return sb_error_set(SB_ERR_OPERATION_INVALID,
                        "'%s' was removed while this process waited for it (the "
                        "domain was undefined)", path);
}

int sb_fs_lock(int fd, int op, bool wait, const char *path)
{
    int rc = sb_fs_lock_unchecked(fd, op, wait, path);

    if (rc < 0 || op != LOCK_EX)
        return rc;
    return sb_fs_check_linked(fd, path);
}

void sb_fs_unlock(int fd)
{
    if (fd >= 0)
        (void)flock(fd, LOCK_UN);
}
