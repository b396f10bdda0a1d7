#include "fixture_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int fx_read_file(const struct sb_host_api *host, const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t got = 0;
    char *buf;

    *out = NULL;
    *len = 0;
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    if (fstat(fd, &st) < 0 || !(buf = host->alloc((size_t)st.st_size + 1))) {
        int e = errno ? errno : ENOMEM;
        close(fd);
        errno = e;
        return -1;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            host->free(buf);
            errno = e;
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    char dir[4096];
    int fd, rc;

    if (!slash || (size_t)(slash - file) >= sizeof(dir))
        return 0;
    memcpy(dir, file, (size_t)(slash - file));
    dir[slash - file] = '\0';
    if ((fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int fx_write_file(const struct sb_host_api *host, const char *path, const char *data,
                  size_t len)
{
    size_t tlen = strlen(path) + 32;
    char *tmp = host->alloc(tlen);
    int fd, rc, e;

    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        e = errno;
        host->free(tmp);
        errno = e;
        return -1;
    }
    rc = write_all(fd, data, len);
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) < 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc == 0)
        rc = fsync_dir_of(path);
    e = errno;
    if (rc < 0)
        unlink(tmp);
    host->free(tmp);
    errno = e;
    return rc;
}

char *fx_path_join(const struct sb_host_api *host, const char *dir, const char *file)
{
    size_t ld = strlen(dir), lf = strlen(file);
    char *s = host->alloc(ld + lf + 2);

    if (s) {
        memcpy(s, dir, ld);
        s[ld] = '/';
        memcpy(s + ld + 1, file, lf + 1);
    }
    return s;
}

int fx_lock_file(const char *path, int exclusive)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}
