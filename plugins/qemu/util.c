/* qemu plugin - errors, logging, files, strings. */
#include "qp.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int qp_verror(qp_ctx *ctx, int code, const char *fmt, va_list ap)
{
    vsnprintf(ctx->err_msg, sizeof ctx->err_msg, fmt, ap);
    ctx->err_code = code;
    if (ctx->api && ctx->api->set_error)
        ctx->api->set_error(ctx->h, code, "%s", ctx->err_msg);
    return -code;
}

int qp_intent_durable(qp_ctx *ctx)
{
    if (!ctx->intent_due)
        return 0;
    const struct sb_host_api *api = ctx->intent_api;
    int r = 0;
    if (api && api->struct_size >= offsetof(struct sb_host_api, intent_durable) + sizeof(void *) &&
        api->intent_durable)
        r = api->intent_durable(ctx->h); /* its message is the broker's */
    if (r == 0)
        ctx->intent_due = 0;
    return r;
}

int qp_error(qp_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = qp_verror(ctx, code, fmt, ap);
    va_end(ap);
    return r;
}

int qp_error_errno(qp_ctx *ctx, int code, int errnum, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return qp_error(ctx, code, "%s: %s", buf, strerror(errnum));
}

void qp_log(qp_ctx *ctx, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (!ctx || !ctx->api || !ctx->api->log)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->api->log(ctx->h, level, "qemu: %s", buf);
}

void qp_ctx_init(qp_ctx *ctx, const struct sb_host_api *api, sb_host *h, const char *state_dir)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->api = api;
    ctx->h = h;
    ctx->state_dir = qp_strdup(state_dir);
    ctx->qemu_bin = qp_strdup("qemu-system-x86_64");
    ctx->qemu_img = qp_strdup("qemu-img");
    ctx->job_timeout_ms = 600000;
    ctx->connect_timeout_ms = 10000;
    ctx->shutdown_timeout_ms = 30000;
    ctx->lock_fd = -1;
}

void qp_ctx_fini(qp_ctx *ctx)
{
    free(ctx->state_dir);
    free(ctx->qemu_bin);
    free(ctx->qemu_img);
    ctx->state_dir = ctx->qemu_bin = ctx->qemu_img = NULL;
}

char *qp_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *qp_printf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

int qp_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return -ENAMETOOLONG;
    /* The directory itself first: it nearly always exists (or only it is
     * missing), and then the walk below, a mkdir per component, is not
     * needed; any other answer walks as before. */
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
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

int qp_fsync_dir_of(const char *path)
{
    char *copy = qp_strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int qp_create_excl(const char *path, mode_t mode)
{
    for (int attempt = 0;; attempt++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST || attempt)
            return fd < 0 ? -errno : fd;
        /* left by a dead process with this pid (or planted): remove the
         * entry itself, never what a symlink there points at */
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
    }
}

int qp_write_file_atomic(qp_ctx *ctx, const char *path, const char *data, size_t len)
{
    char *tmp = qp_printf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    int fd = qp_create_excl(tmp, 0600);
    if (fd < 0) {
        int r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -fd, "cannot create '%s'", tmp);
        free(tmp);
        return r;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot write '%s'", path);
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot sync '%s'", path);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot rename to '%s'", path);
    }
    free(tmp);
    (void)qp_fsync_dir_of(path);
    return 0;
}

int qp_read_file(qp_ctx *ctx, const char *path, char **out, size_t *out_len)
{
    struct stat st;
    return qp_read_file_stat(ctx, path, out, out_len, &st);
}

int qp_read_file_stat(qp_ctx *ctx, const char *path, char **out, size_t *out_len,
                      struct stat *out_st)
{
    /* the plugin's own state files: never through a symlink, never a FIFO
     * or device (O_NONBLOCK: a FIFO would block the open) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return qp_error_errno(ctx, errno == ENOENT ? SB_ERR_NO_DOMAIN : SB_ERR_SYSTEM_ERROR,
                              errno, "cannot open '%s'", path);
    struct stat *st = out_st;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return qp_error(ctx, SB_ERR_SYSTEM_ERROR, "'%s' is not a regular file", path);
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot read '%s'", path);
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

int qp_file_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

long long qp_file_size(const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) < 0)
        return -1;
    return (long long)st.st_size;
}

double qp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void qp_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int qp_valid_name(const char *name)
{
    if (!name || !*name || name[0] == '.' || strlen(name) > 200)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

char *qp_default_external_name(const char *source, const char *name)
{
    const char *slash = strrchr(source, '/');
    const char *dot = strrchr(source, '.');
    size_t keep = strlen(source);
    if (dot && (!slash || dot > slash))
        keep = (size_t)(dot - source);
    return qp_printf("%.*s.%s", (int)keep, source, name);
}

int qp_strv_add(qp_strv *s, const char *str)
{
    return str ? qp_strv_addn(s, str, strlen(str)) : -SB_ERR_NO_MEMORY;
}

int qp_strv_addn(qp_strv *s, const char *str, size_t len)
{
    if (s->n + 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return -SB_ERR_NO_MEMORY;
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = malloc(len + 1)))
        return -SB_ERR_NO_MEMORY;
    memcpy(s->v[s->n], str, len);
    s->v[s->n][len] = '\0';
    s->n++;
    s->v[s->n] = NULL;
    return 0;
}

int qp_bytes_add(qp_bytes *b, const void *data, size_t n)
{
    if (n + 1 > b->cap - b->len || !b->p) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc - b->len < n + 1) {
            if (nc > SIZE_MAX / 2)
                return -SB_ERR_NO_MEMORY;
            nc *= 2;
        }
        char *np = realloc(b->p, nc);
        if (!np)
            return -SB_ERR_NO_MEMORY;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int qp_strv_addf(qp_strv *s, const char *fmt, ...)
{
    char *str = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&str, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -SB_ERR_NO_MEMORY;
    r = qp_strv_add(s, str);
    free(str);
    return r;
}

int qp_strv_has(const qp_strv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return 1;
    return 0;
}

void qp_strv_free(qp_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* The first byte of a domain's lock file says whether its last holder
 * left QEMU no job of the plugin's ('c'); anything else (an empty file,
 * 'd') is unknown.  A holder that finds 'c' writes 'd' at once, before it
 * could start a job, and 'c' again at its unlock only when every job it
 * started ended and was dismissed: a process killed in between leaves
 * 'd', and the next holder asks QEMU (query-jobs) and finishes what it
 * left.  Nothing is synced: the byte speaks of a running QEMU, which a
 * machine that loses its page cache has lost too. */
#define LOCK_NO_JOBS "c"
#define LOCK_UNKNOWN "d"

static void lock_marker_read(qp_monitor *m, int fd)
{
    char b = 0;
    if (pread(fd, &b, 1, 0) == 1 && b == LOCK_NO_JOBS[0] &&
        pwrite(fd, LOCK_UNKNOWN, 1, 0) == 1) {
        m->no_jobs = 1;
    }
}

/* Domain locks this thread holds: > 0 inside a locked call; the lock
 * file and descriptor of the first one taken, while it is held (a lock
 * released out of order forgets them: qp_holds_lock_of then says no). */
static __thread int locked_calls;
static __thread char *locked_path;
static __thread int locked_fd = -1;

int qp_in_locked_call(void)
{
    return locked_calls > 0;
}

int qp_holds_lock_of(qp_ctx *ctx, const char *name)
{
    if (locked_calls != 1 || !locked_path || locked_fd < 0)
        return 0;
    char *path = qp_printf("%s/locks/%s.lock", ctx->state_dir, name);
    int same = path && strcmp(path, locked_path) == 0;
    free(path);
    return same;
}

int qp_lock_domain(qp_ctx *ctx, const char *name)
{
    char *dir = qp_printf("%s/locks", ctx->state_dir);
    char *path = qp_printf("%s/locks/%s.lock", ctx->state_dir, name);
    int fd = -1;
    if (!dir || !path) {
        free(dir);
        free(path);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    qp_mkdir_p(dir, 0700);
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        int r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot open lock '%s'", path);
        free(dir);
        free(path);
        return r;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        int r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot lock '%s'", path);
        free(dir);
        free(path);
        return r;
    }
    free(dir);
    ctx->lock_fd = fd; /* inherited by the programs qp_run starts (run.c) */
    if (locked_calls++ == 0) {
        free(locked_path);
        locked_path = path;
        locked_fd = fd;
    } else {
        free(path);
    }
    if (!ctx->mon && (ctx->mon = calloc(1, sizeof *ctx->mon)))
        ctx->mon->owner = ctx; /* none: a connection per use */
    if (ctx->mon)
        lock_marker_read(ctx->mon, fd);
    return fd;
}

void qp_unlock(qp_ctx *ctx, int fd)
{
    if (fd < 0)
        return;
    /* what was kept for the call goes: the log's last records synced
     * (domain_log.c), the canonical paths forgotten (canon.c) */
    qp_dlog_call_done(ctx);
    qp_canon_forget();
    qp_domain_memo_forget();
    if (locked_calls > 0)
        locked_calls--;
    if (fd == locked_fd || locked_calls == 0) { /* the first lock went */
        free(locked_path);
        locked_path = NULL;
        locked_fd = -1;
    }
    if (ctx->lock_fd == fd) {
        ctx->lock_fd = -1;
        if (ctx->mon) {
            qp_monitor *m = ctx->mon;
            int clean = qp_qmp_close_clean(m->q);
            /* no pwrite failure matters: the file then says "unknown" */
            if (clean && m->no_jobs && !m->untracked)
                (void)!pwrite(fd, LOCK_NO_JOBS, 1, 0);
            free(ctx->mon->domain);
            free(ctx->mon);
            ctx->mon = NULL;
        }
    }
    close(fd);
}

uint64_t qp_hash64(const char *s, size_t n)
{
    /* 64-bit FNV-1a over 8-byte words, then a final mix */
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

int qp_write_all(int fd, const void *buf, size_t len)
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
