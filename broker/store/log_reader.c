/* Sequential record reads through one reused buffer (log_reader.h). */
#include "store/log_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "store/bigmem.h"
#include "store/log_format.h"

/* More than SB_LOG_SMALL bytes to read are read through one 2 MiB block
 * (bigmem.h: one fault to fill, and few preads); fewer (a catch-up with
 * other processes' commits, a small log) through a malloc'd buffer that
 * size.  A record bigger than the buffer (a compaction
 * writes 1 MiB ones) gets a buffer that fits it. */

int sb_log_read_at(int fd, void *buf, size_t n, size_t off, const char *path)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot read '%s'", path);
        if (k == 0)
            return sb_error_set(SB_ERR_STORE, "'%s' shrank while it was read", path);
        got += (size_t)k;
    }
    return 0;
}

void sb_log_reader_init(sb_log_reader *r, int fd, size_t size, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->size = size;
    r->path = path;
}

static void buf_free(sb_log_reader *r)
{
    if (r->big)
        sb_big_free(r->buf, r->cap);
    else
        free(r->buf);
    r->buf = NULL;
    r->cap = r->len = 0;
    r->big = false;
}

void sb_log_reader_free(sb_log_reader *r)
{
    buf_free(r);
}

/* Make [off, off + need) of the file present in the buffer; need <= size - off. */
static int ensure(sb_log_reader *r, size_t off, size_t need)
{
    if (off >= r->off && off + need <= r->off + r->len)
        return 0;
    if (need > r->cap || !r->buf) {
        size_t rest = r->size - off, cap = rest > SB_LOG_SMALL ? SB_BIG_PAGE : rest;
        if (cap < need)
            cap = need;
        bool big = cap >= SB_BIG_PAGE;
        uint8_t *b = big ? sb_big_alloc(cap) : NULL;
        if (!b) {
            big = false;
            b = malloc(cap);
        }
        if (!b)
            return sb_error_oom();
        buf_free(r);
        r->buf = b;
        r->cap = cap;
        r->big = big;
    }
    size_t want = r->size - off < r->cap ? r->size - off : r->cap;
    r->off = off;
    r->len = 0;
    int rc = sb_log_read_at(r->fd, r->buf, want, off, r->path);
    if (rc < 0)
        return rc;
    r->len = want;
    return 0;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int sb_log_reader_next(sb_log_reader *r, size_t off, const uint8_t **payload, size_t *plen,
                       size_t *next)
{
    int rc;
    if (off >= r->size)
        return SB_SCAN_END;
    if (r->size - off < SB_LOG_REC_HEADER)
        return SB_SCAN_BAD;
    if ((rc = ensure(r, off, SB_LOG_REC_HEADER)) < 0)
        return rc;
    /* the length as sb_log_scan() bounds it: a damaged one reads no
     * further than the file */
    uint32_t len = get_u32(r->buf + (off - r->off) + 4);
    if (len > SB_LOG_REC_MAX || len > r->size - off - SB_LOG_REC_HEADER)
        return SB_SCAN_BAD;
    if ((rc = ensure(r, off, SB_LOG_REC_HEADER + len)) < 0)
        return rc;
    size_t at = off - r->off, n;
    rc = sb_log_scan(r->buf, r->len, at, payload, plen, &n);
    if (rc == SB_SCAN_OK)
        *next = off + (n - at);
    return rc;
}
