/* snapbroker CLI - write a document to a path the user named (--file).
 *
 * What happens depends on what the path is now, so that a failed write
 * never destroys what was there and never removes what is not ours:
 *   - nothing: a new file, created exclusively; removed on failure (it is
 *     ours, and half a document is worse than none);
 *   - a regular file (through symlinks): replaced atomically, by a
 *     temporary file in the same directory renamed over it once synced;
 *     on failure only the temporary file is removed, the old one is kept;
 *   - anything else (a FIFO, a pipe such as /dev/stdout, a character
 *     device): opened for writing as it is, without truncation or
 *     creation, not synced (fsync fails with EINVAL there) and never
 *     removed.
 * Every error names the path and the errno of the call that failed. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Mode of a file we create: secrets only for the owner (as the store
 * keeps such XML), else the usual 0666 less the umask. */
static mode_t new_file_mode(int secret)
{
    return secret ? 0600 : 0666;
}

/* All of text to fd, across short writes and signals; the errno of the
 * failing write() is left in errno. */
static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* "cannot VERB 'NAME': strerror(err)", and which file a temporary file
 * NAME was to replace (target; NULL for a file of its own). */
static int file_error(const char *verb, const char *name, const char *target, int err)
{
    if (target)
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot %s '%s' (the new copy of '%s'): %s", verb,
                         name, target, strerror(err));
    return cli_error(SB_ERR_SYSTEM_ERROR, "cannot %s '%s': %s", verb, name, strerror(err));
}

/* Write text to fd, a regular file we created (name; target as for
 * file_error): written, synced and closed; fd is closed in any case. */
static int fill_new_file(int fd, const char *name, const char *target, const char *text)
{
    if (write_all(fd, text, strlen(text)) < 0) {
        int err = errno;
        close(fd);
        return file_error("write", name, target, err);
    }
    if (fsync(fd) < 0) {
        int err = errno;
        close(fd);
        return file_error("sync", name, target, err);
    }
    /* close can report a write the file system deferred (NFS) */
    if (close(fd) < 0)
        return file_error("write", name, target, errno);
    return 0;
}

/* Sync the directory holding path, so a name just created or renamed
 * there survives a crash too. */
static int sync_parent(const char *path)
{
    char *copy = strdup(path);
    int fd, rc = 0;

    if (!copy)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    const char *dir = dirname(copy);
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) < 0)
        rc = cli_error(SB_ERR_SYSTEM_ERROR, "cannot sync directory '%s': %s", dir,
                       strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

/* Nothing at path: create it (never through a symlink or over a file
 * that appeared meanwhile), fill it; on failure it is removed. */
static int write_new(const char *path, const char *text, int secret)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, new_file_mode(secret));
    struct stat st;

    /* O_EXCL does not follow a symlink: one to a missing file is refused
     * rather than made to create a file wherever it points */
    if (fd < 0 && errno == EEXIST && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return cli_error(SB_ERR_SYSTEM_ERROR,
                         "cannot create '%s': a symbolic link to a file that does not exist",
                         path);
    if (fd < 0)
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot create '%s': %s", path, strerror(errno));
    if (fill_new_file(fd, path, NULL, text) < 0 || sync_parent(path) < 0) {
        (void)unlink(path);
        return -1;
    }
    return 0;
}

/* A new temporary file beside target (an absolute path, from realpath),
 * hidden and named after it and this process; its name in tmp (PATH_MAX
 * bytes).  Returns its descriptor, or -1 once the error is printed. */
static int open_temporary(char *tmp, const char *target, int secret)
{
    const char *base = strrchr(target, '/') + 1;
    int dirlen = (int)(base - target), fd = -1;

    errno = EEXIST;
    for (unsigned i = 0; fd < 0 && errno == EEXIST && i < 100; i++) {
        if (snprintf(tmp, PATH_MAX, "%.*s.%s.%ld.%u.tmp", dirlen, target, base, (long)getpid(),
                     i) >= PATH_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, new_file_mode(secret));
    }
    if (fd < 0)
        cli_error(SB_ERR_SYSTEM_ERROR, "cannot create a temporary file beside '%s': %s", target,
                  strerror(errno));
    return fd;
}

/* path is (or leads by symlinks to) a regular file: replace that file
 * whole.  The symlinks stay; on failure the file is as it was. */
static int replace_regular(const char *path, const char *text, int secret)
{
    char target[PATH_MAX], tmp[PATH_MAX];
    int fd;

    if (!realpath(path, target))
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot resolve '%s': %s", path, strerror(errno));
    if ((fd = open_temporary(tmp, target, secret)) < 0)
        return -1;
    if (fill_new_file(fd, tmp, target, text) < 0) {
        (void)unlink(tmp);
        return -1;
    }
    if (rename(tmp, target) < 0) {
        int err = errno;
        (void)unlink(tmp);
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot replace '%s': %s", target, strerror(err));
    }
    return sync_parent(target);
}

/* path is a FIFO, a pipe, a character device...: write to it as it is.
 * Nothing is created, truncated, synced or removed. */
static int write_special(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    struct stat st;

    if (fd < 0)
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot open '%s': %s", path, strerror(errno));
    /* replaced by a regular file since it was looked at: writing into it
     * without truncation would leave the old file's tail behind */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        close(fd);
        return cli_error(SB_ERR_SYSTEM_ERROR, "'%s' changed while it was opened; try again",
                         path);
    }
    if (write_all(fd, text, strlen(text)) < 0) {
        int err = errno;
        close(fd);
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot write '%s': %s", path, strerror(err));
    }
    if (close(fd) < 0)
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int cli_write_file(const char *path, const char *text, int secret)
{
    struct stat st;

    if (stat(path, &st) == 0)
        return S_ISREG(st.st_mode) ? replace_regular(path, text, secret)
                                   : write_special(path, text);
    if (errno != ENOENT)
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot write '%s': %s", path, strerror(errno));
    return write_new(path, text, secret);
}
