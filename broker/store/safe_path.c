/* Trusted paths and the state directory tree (safe_path.h). */
#include "store/safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

/* The owner and mode rule for one path.  ancestor: a directory above the
 * checked one, where the sticky bit makes world-writable acceptable. */
static int trusted(const char *p, const struct stat *st, bool ancestor, int code,
                   const char *what, const char *path)
{
    uid_t me = geteuid();
    mode_t w = st->st_mode & (S_IWGRP | S_IWOTH);

    if (st->st_uid != 0 && st->st_uid != me)
        return sb_error_set(code,
                            "%s '%s' refused: '%s' is owned by uid %u, neither root nor the "
                            "user the broker runs as (uid %u)",
                            what, path, p, (unsigned)st->st_uid, (unsigned)me);
    if (w && !(ancestor && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
        return sb_error_set(code,
                            "%s '%s' refused: '%s' is writable by %s (mode %04o); it and every "
                            "directory above it may be writable only by root or its owner",
                            what, path, p, (st->st_mode & S_IWOTH) ? "others" : "its group",
                            (unsigned)(st->st_mode & 07777));
    return 0;
}

int sb_safe_path_check(const char *path, int code, const char *what, char **out_real)
{
    char *real = realpath(path, NULL);
    struct stat st;
    int rc = 0;

    if (out_real)
        *out_real = NULL;
    if (!real)
        return sb_error_set_errno(code, errno, "%s '%s'", what, path);
    /* "/", "/a", "/a/b", ... real: cut the string at each '/' in turn */
    for (char *s = real;; s = strchr(s + 1, '/')) {
        char saved = '\0';
        if (s) {
            saved = s[s == real ? 1 : 0];
            s[s == real ? 1 : 0] = '\0';
        }
        if (lstat(real, &st) < 0)
            rc = sb_error_set_errno(code, errno, "%s '%s': cannot check '%s'", what, path, real);
        else if (S_ISLNK(st.st_mode)) /* changed since realpath */
            rc = sb_error_set(code, "%s '%s' refused: '%s' became a symbolic link", what, path,
                              real);
        else
            rc = trusted(real, &st, s != NULL, code, what, path);
        if (s)
            s[s == real ? 1 : 0] = saved;
        if (rc < 0 || !s)
            break;
    }
    if (rc == 0 && out_real)
        *out_real = real;
    else
        free(real);
    return rc;
}

/* mkdir -p root, mode 0700 for what it creates; *top = the first created. */
static int make_root(const char *root, char **top)
{
    char *p = strdup(root);
    int rc = 0;

    if (!p)
        return sb_error_oom();
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0700) == 0) {
            if (!*top && !(*top = strdup(p)))
                rc = sb_error_oom();
            char *slash = strrchr(p, '/');
            if (rc == 0 && slash && slash != p) {
                /* the new entry is durable once its parent is synced */
                *slash = '\0';
                rc = sb_fs_fsync_dir(p);
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno,
                                    "cannot create state directory '%s'", p);
        }
        *s = saved;
        if (rc < 0 || saved == '\0')
            break;
    }
    free(p);
    return rc;
}

/* One component below the root: create it if asked, open it without
 * following a link, check it.  Returns the new descriptor, or 1 when
 * absent and !create, or a negative class. */
static int step(int dfd, const char *name, const char *sofar, bool create, char **top, int *out)
{
    struct stat st;

    *out = -1;
    if (create) {
        if (mkdirat(dfd, name, 0700) == 0) {
            if (!*top && !(*top = strdup(sofar)))
                return sb_error_oom();
            if (fsync(dfd) < 0)
                return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno,
                                          "cannot fsync the directory above '%s'", sofar);
        } else if (errno != EEXIST) {
            return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno,
                                      "cannot create state directory '%s'", sofar);
        }
    }
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT && !create)
            return 1;
        if (e == ELOOP || (e == ENOTDIR && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                           S_ISLNK(st.st_mode)))
            return sb_error_set(SB_ERR_STORE,
                                "'%s' is a symbolic link; nothing below the state directory "
                                "may be one (remove it)",
                                sofar);
        if (e == ENOTDIR)
            return sb_error_set(SB_ERR_STORE, "'%s' is not a directory (remove it)", sofar);
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, e, "cannot open directory '%s'", sofar);
    }
    int rc = fstat(fd, &st) < 0 ? sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno,
                                                     "cannot stat '%s'", sofar)
                                : trusted(sofar, &st, false, SB_ERR_STORE, "state directory",
                                          sofar);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int sb_safe_dir(const char *root, const char *rel, bool create, char **created)
{
    char *top = NULL, *sofar = NULL, *parts = NULL;
    int dfd = -1, rc = 0;
    struct stat st;

    if (created)
        *created = NULL;
    if (create)
        rc = make_root(root, &top);
    else if (stat(root, &st) < 0)
        rc = errno == ENOENT ? 1
                             : sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno,
                                                  "cannot access state directory '%s'", root);
    if (rc == 0)
        rc = sb_safe_path_check(root, SB_ERR_CONFIG, "state directory", NULL);
    if (rc == 0 && (dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot open state directory '%s'",
                                root);
    if (rc == 0 && (!(parts = strdup(rel)) || !(sofar = malloc(strlen(root) + strlen(rel) + 2))))
        rc = sb_error_oom();
    if (rc == 0)
        strcpy(sofar, root);
    for (char *save = NULL, *name = rc == 0 ? strtok_r(parts, "/", &save) : NULL; name;
         name = strtok_r(NULL, "/", &save)) {
        int fd;
        strcat(strcat(sofar, "/"), name);
        rc = step(dfd, name, sofar, create, &top, &fd);
        close(dfd);
        dfd = fd;
        if (rc != 0)
            break;
    }
    if (dfd >= 0)
        close(dfd);
    free(parts);
    free(sofar);
    if (created && rc >= 0)
        *created = top;
    else if (rc < 0 && top) {
        char *full = NULL;
        if (asprintf(&full, "%s/%s", root, rel) >= 0)
            sb_safe_dir_rollback(full, top); /* a failed call leaves nothing either */
        free(full);
        free(top);
    } else {
        free(top);
    }
    return rc;
}

void sb_safe_dir_rollback(const char *path, const char *created_top)
{
    size_t top_len = created_top ? strlen(created_top) : 0;
    char *p = path && created_top ? strdup(path) : NULL;

    if (!p)
        return;
    /* only a path at or below created_top */
    if (strncmp(p, created_top, top_len) != 0 || (p[top_len] != '\0' && p[top_len] != '/')) {
        free(p);
        return;
    }
    while (strlen(p) >= top_len && rmdir(p) == 0) {
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    free(p);
}
