/* The live definition's file as a connection last read it.  The broker
 * asks for the definition on every redefine and create; reading the file
 * (open, fstat, two reads, close) was five system calls of each redefine
 * for bytes that almost never change.  One stat() answers instead, when it
 * can be trusted to show any change:
 *
 *   - any write, truncation, rename over or chmod of the file sets its
 *     change time (ctime), which no process can set back; a file replaced
 *     by another has another inode or change time;
 *   - but the kernel stamps times from a clock that advances in ticks
 *     (milliseconds), and a filesystem may keep them coarser still, so a
 *     write in the same tick as the one the kept bytes came from can
 *     leave the ctime as it was.  The stat is trusted only when the kept
 *     bytes were read after the tick of that ctime had passed: the
 *     realtime coarse clock (the one the stamps come from) is read before
 *     the read, and the ctime must be older than it by more than the
 *     filesystem's granularity, which divides the stamp's nanoseconds (2 s
 *     assumed when they are zero).  A later write then stamps a later
 *     ctime.  Until then (a file written just now) the bytes are read on
 *     every call and compared, as before.
 *
 * On a network filesystem the server's clock stamps the times: one ahead
 * of ours keeps the file unsettled (read every time); one behind could
 * settle it while another client's same-size write lands in the same
 * server tick as the write before our read. */
#include "domain_file.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The largest granularity a stamp with these nanoseconds can have had. */
static long long granularity_ns(long nsec)
{
    long long a = 1000000000LL, b = nsec;
    if (b == 0)
        return 2000000000LL;
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Whether a write after `before` must give the file another ctime. */
static bool settled(const struct stat *st, const struct timespec *before)
{
    long long ctime_ns = (long long)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
    long long now_ns = (long long)before->tv_sec * 1000000000LL + before->tv_nsec;
    return ctime_ns + granularity_ns(st->st_ctim.tv_nsec) < now_ns;
}

void qp_domain_file_clear(qp_domain_file *f)
{
    free(f->name);
    free(f->text);
    memset(f, 0, sizeof *f);
}

int qp_domain_file_get(qp_ctx *ctx, const char *name, qp_domain_file *f, bool *changed)
{
    *changed = true;
    if (!qp_valid_name(name)) {
        qp_domain_file_clear(f);
        return qp_error(ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", name ? name : "");
    }
    char *path = qp_domain_path(ctx, name);
    if (!path) {
        qp_domain_file_clear(f);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        free(path);
        qp_domain_file_clear(f);
        return qp_error(ctx, SB_ERR_NO_DOMAIN, "no domain named '%s'", name);
    }
    if (f->name && f->settled && strcmp(f->name, name) == 0 && same_file(&st, &f->st)) {
        free(path);
        *changed = false;
        return 0;
    }
    struct timespec before;
    char *text = NULL;
    clock_gettime(CLOCK_REALTIME_COARSE, &before);
    int r = qp_read_file_stat(ctx, path, &text, NULL, &st);
    free(path);
    if (r < 0) {
        qp_domain_file_clear(f);
        return r;
    }
    *changed = !f->name || strcmp(f->name, name) != 0 || strcmp(f->text, text) != 0;
    if (*changed) {
        char *n = strdup(name);
        if (!n) {
            free(text);
            qp_domain_file_clear(f);
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
        qp_domain_file_clear(f);
        f->name = n;
        f->text = text;
    } else {
        free(text);
    }
    f->st = st;
    f->settled = settled(&st, &before);
    return 0;
}
