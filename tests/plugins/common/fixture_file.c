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

#define ST(s) (1u << (s))
/* Every state with a running QEMU-like guest: all but shut off. */
#define ACTIVE_STATES (~ST(SB_DOMAIN_SHUTOFF) & 0xffu)

unsigned fx_domain_transition(const char *verb, unsigned flags, struct fx_transition *out)
{
    if (strcmp(verb, "domain_start") == 0) {
        *out = (struct fx_transition){ ST(SB_DOMAIN_SHUTOFF),
                                       (flags & SB_DOMAIN_START_PAUSED) ? SB_DOMAIN_PAUSED
                                                                        : SB_DOMAIN_RUNNING,
                                       "is already running" };
        return flags & ~(unsigned)SB_DOMAIN_START_PAUSED;
    }
    if (strcmp(verb, "domain_suspend") == 0)
        *out = (struct fx_transition){ ST(SB_DOMAIN_RUNNING) | ST(SB_DOMAIN_BLOCKED),
                                       SB_DOMAIN_PAUSED, "is not running" };
    else if (strcmp(verb, "domain_resume") == 0)
        *out = (struct fx_transition){ ST(SB_DOMAIN_PAUSED), SB_DOMAIN_RUNNING, "is not paused" };
    else /* destroy, and shutdown: the test guest obeys at once */
        *out = (struct fx_transition){ ACTIVE_STATES, SB_DOMAIN_SHUTOFF, "is not running" };
    return flags;
}

int fx_state_files(const struct sb_host_api *host, sb_host *h, const char *base, char **file,
                   char **lock_file)
{
    const char *dir;
    char lock[256];

    *file = *lock_file = NULL;
    if (!host->state_dir)
        return host->set_error(h, SB_ERR_OPERATION_UNSUPPORTED,
                               "fixture plugin: the broker provides no state_dir service");
    if (!(dir = host->state_dir(h)))
        return -SB_ERR_SYSTEM_ERROR; /* state_dir() reported why */
    snprintf(lock, sizeof(lock), "%s.lock", base);
    *file = fx_path_join(host, dir, base);
    *lock_file = fx_path_join(host, dir, lock);
    if (!*file || !*lock_file) {
        host->free(*file);
        host->free(*lock_file);
        *file = *lock_file = NULL;
        return host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    }
    return 0;
}
