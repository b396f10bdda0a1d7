/* What libconfig 1.5 is allowed to read (config_internal.h).
 *
 * libconfig's flex scanner treats a read error as fatal: on a directory it
 * prints "input in flex scanner failed" and calls exit(2), killing the
 * program that uses the library; on a FIFO it blocks forever.  So every file
 * it will open -- the configuration file and, recursively, the files its
 * @include lines name -- is checked here first: a regular file, readable,
 * at most SB_CONFIG_MAX_SIZE bytes.  The main file is opened once, with
 * O_NONBLOCK so a FIFO cannot block the open, and that same descriptor is
 * what libconfig reads. */
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

/* libconfig 1.5's own limit (scanctx.h MAX_INCLUDE_DEPTH): deeper files are
 * refused by libconfig before it opens them. */
#define INCLUDE_DEPTH_MAX 10

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* Open path for reading if it is a regular file of a sane size.  what is
 * "configuration file" or "included file" (for messages).  Returns 0 with
 * *out_fd, 1 when the file does not exist and missing_ok (libconfig then
 * reports it with the FILE:LINE of the @include), or -SB_ERR_CONFIG with
 * the path named. */
static int open_checked(const char *path, const char *what, bool missing_ok, int *out_fd)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    *out_fd = -1;
    if (fd < 0) {
        if (errno == ENOENT && missing_ok)
            return 1;
        return sb_error_set_errno(SB_ERR_CONFIG, errno, "cannot read %s '%s'", what, path);
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return sb_error_set_errno(SB_ERR_CONFIG, e, "cannot read %s '%s'", what, path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sb_error_set(SB_ERR_CONFIG, "cannot read %s '%s': it is %s", what, path,
                            kind_of(st.st_mode));
    }
    if (st.st_size > SB_CONFIG_MAX_SIZE) {
        close(fd);
        return sb_error_set(SB_ERR_CONFIG,
                            "cannot read %s '%s': %lld bytes, more than the %d-byte limit", what,
                            path, (long long)st.st_size, SB_CONFIG_MAX_SIZE);
    }
    /* back to blocking reads: a regular file never blocks anyway */
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *out_fd = fd;
    return 0;
}

static char *read_all(int fd, const char *path, const char *what)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);

    while (buf) {
        if (len + 1 >= cap) {
            char *nb = cap > SB_CONFIG_MAX_SIZE ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                sb_error_oom();
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sb_error_set_errno(SB_ERR_CONFIG, errno, "cannot read %s '%s'", what, path);
            free(buf);
            return NULL;
        }
        if (n == 0) {
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
    }
    sb_error_oom();
    return NULL;
}

static int check_includes(const char *text, const char *file, const char *include_dir,
                          int depth);

/* One @include target, named at file:line: libconfig 1.5 always puts the
 * include directory in front of the name (also of an absolute one). */
static int check_include(const char *name, const char *file, int line, const char *include_dir,
                         int depth)
{
    char *path = NULL;
    int rc;

    if (asprintf(&path, "%s/%s", include_dir ? include_dir : ".", name) < 0)
        return sb_error_oom();
    int fd;
    char *text = NULL;
    if ((rc = open_checked(path, "included file", true, &fd)) == 0) {
        if ((text = read_all(fd, path, "included file")))
            rc = check_includes(text, path, include_dir, depth + 1);
        else
            rc = -sb_error_last()->code;
        close(fd);
    }
    if (rc < 0 && !text)
        sb_error_prefix("%s:%d", file, line); /* where the include is */
    free(text);
    free(path);
    return rc < 0 ? rc : 0;
}

/* Every line libconfig's scanner takes for an include: optional blanks,
 * "@include", blanks, a double-quoted name (\" and \\ escapes). */
static int check_includes(const char *text, const char *file, const char *include_dir,
                          int depth)
{
    int lineno = 0;

    if (depth >= INCLUDE_DEPTH_MAX)
        return 0;
    for (const char *line = text; line && *line;) {
        const char *p = line + strspn(line, " \t");
        const char *eol = strchr(line, '\n');
        line = eol ? eol + 1 : NULL;
        lineno++;
        if (strncmp(p, "@include", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
            continue;
        p += 8 + strspn(p + 8, " \t");
        if (*p++ != '"')
            continue;
        char name[4096];
        size_t n = 0;
        for (; *p && *p != '"' && *p != '\n' && n + 1 < sizeof(name); p++) {
            if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                p++;
            name[n++] = *p;
        }
        name[n] = '\0';
        if (*p != '"')
            continue; /* not an include libconfig would open */
        int rc = check_include(name, file, lineno, include_dir, depth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sb_config_open_file(const char *path, const char *include_dir, FILE **out)
{
    int fd;
    *out = NULL;
    int rc = open_checked(path, "configuration file", false, &fd);
    if (rc < 0)
        return rc;
    char *text = read_all(fd, path, "configuration file");
    rc = text ? check_includes(text, path, include_dir, 1) : -sb_error_last()->code;
    free(text);
    if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
        rc = sb_error_set_errno(SB_ERR_CONFIG, errno, "cannot read configuration file '%s'",
                                path);
    if (rc == 0 && !(*out = fdopen(fd, "r")))
        rc = sb_error_set_errno(SB_ERR_CONFIG, errno, "cannot read configuration file '%s'",
                                path);
    if (rc < 0)
        close(fd);
    return rc;
}
