/* vbox plugin - errors, logging, strings, files, time. */
#include "vb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int verror(vb_ctx *ctx, int code, const char *fmt, va_list ap)
{
    vsnprintf(ctx->err_msg, sizeof ctx->err_msg, fmt, ap);
    ctx->err_code = code;
    if (ctx->api && ctx->api->set_error)
        ctx->api->set_error(ctx->h, code, "%s", ctx->err_msg);
    return -code;
}

int vb_error(vb_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = verror(ctx, code, fmt, ap);
    va_end(ap);
    return r;
}

int vb_error_errno(vb_ctx *ctx, int code, int errnum, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return vb_error(ctx, code, "%s: %s", buf, strerror(errnum));
}

int vb_error_around(vb_ctx *ctx, int rc, const char *prefix, const char *suffix)
{
    /* the cause is copied first: vb_error overwrites err_msg */
    char cause[sizeof ctx->err_msg];
    int code = ctx->err_code ? ctx->err_code : -rc;
    memcpy(cause, ctx->err_msg, sizeof cause);
    return vb_error(ctx, code, "%s%s%s", prefix, cause, suffix);
}

int vb_oom(vb_ctx *ctx)
{
    return vb_error(ctx, SB_ERR_NO_MEMORY, "vbox: out of memory");
}

void vb_log(vb_ctx *ctx, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (!ctx || !ctx->api || !ctx->api->log)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->api->log(ctx->h, level, "vbox: %s", buf);
}

void vb_ctx_init(vb_ctx *ctx, const struct sb_host_api *api, sb_host *h)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->api = api;
    ctx->h = h;
    ctx->proc_root = vb_strdup("/proc");
}

void vb_ctx_fini(vb_ctx *ctx)
{
    vb_machine_free(ctx->pre_m);
    free(ctx->pre_buf);
    free(ctx->home);
    for (size_t i = 0; i < ctx->nfolders; i++)
        free(ctx->folders[i]);
    free(ctx->folders);
    free(ctx->vboxmanage);
    free(ctx->proc_root);
    free(ctx->crash_at);
    memset(ctx, 0, sizeof *ctx);
}

void vb_test_point(vb_ctx *ctx, const char *step)
{
    if (!ctx->crash_at)
        return;
    size_t len = strlen(step);
    if (strncmp(ctx->crash_at, step, len) != 0)
        return;
    unsigned nth = 1;
    if (ctx->crash_at[len] == ':')
        nth = (unsigned)strtoul(ctx->crash_at + len + 1, NULL, 10);
    else if (ctx->crash_at[len])
        return;
    if (++ctx->crash_seen >= nth)
        raise(SIGKILL);
}

char *vb_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *vb_printf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

char *vb_path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir)
        return strdup(name);
    size_t n = strlen(dir);
    return vb_printf("%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
}

char *vb_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int vb_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int vb_stat_same(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int vb_read_file(vb_ctx *ctx, const char *path, size_t max, char **out, size_t *out_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *out = NULL;
    if (fd < 0)
        return vb_error_errno(ctx, errno == ENOENT ? SB_ERR_NO_DOMAIN : SB_ERR_SYSTEM_ERROR,
                              errno, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
        int e = errno;
        close(fd);
        if ((size_t)st.st_size > max)
            return vb_error(ctx, SB_ERR_XML_ERROR, "'%s' is larger than %zu bytes", path, max);
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot stat '%s'", path);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return vb_oom(ctx);
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return vb_error(ctx, SB_ERR_XML_ERROR, "'%s' is larger than %zu bytes", path,
                                max);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return vb_oom(ctx);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot read '%s'", path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return 0;
}

int vb_fsync_dir_of(const char *path)
{
    char *dir = vb_dirname(path);
    if (!dir)
        return -ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int vb_write_all(int fd, const void *buf, size_t len)
{
    const char *data = buf;
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int vb_write_file_atomic(vb_ctx *ctx, const char *path, const char *data, size_t len)
{
    char *tmp = vb_printf("%s.sb-tmp", path);
    if (!tmp)
        return vb_oom(ctx);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int e = 0;
    if (fd < 0) {
        e = errno;
    } else {
        int w = vb_write_all(fd, data, len);
        if (w < 0)
            e = -w;
        else if (fsync(fd) < 0)
            e = errno;
        if (close(fd) < 0 && !e)
            e = errno;
        if (!e && rename(tmp, path) < 0)
            e = errno;
        if (e)
            unlink(tmp);
    }
    if (!e)
        (void)vb_fsync_dir_of(path);
    free(tmp);
    if (e)
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot write '%s'", path);
    return 0;
}

int vb_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

long long vb_time_parse(const char *s)
{
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    const char *p = s + n;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") != 0 || tm.tm_year < 1900 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

void vb_time_format(long long t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || tm.tm_year < 0) {
        snprintf(buf, size, "1900-01-01T00:00:00Z");
        return;
    }
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int vb_strv_add(vb_strv *s, const char *str)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = vb_strdup(str ? str : "")))
        return -ENOMEM;
    s->v[++s->n] = NULL;
    return 0;
}

void vb_strv_free(vb_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}
