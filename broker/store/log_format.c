/* Encoding, framing and checking of snapshots.log records (log_format.h). */
#include "store/log_format.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "snapbroker/flags.h"
#include "store/crc32c.h"

void sb_buf_free(sb_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void sb_buf_reset(sb_buf *b)
{
    b->len = 0;
    b->oom = false;
}

static void put(sb_buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u8(sb_buf *b, uint8_t v) { put(b, &v, 1); }

static void put_u32(sb_buf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put(b, x, 4);
}

static void put_u64(sb_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(sb_buf *b, const char *s)
{
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put(b, s, n + 1);
}

static void put_opt(sb_buf *b, const char *s)
{
    put_u8(b, s != NULL);
    if (s)
        put_str(b, s);
}

static size_t str_size(const char *s) { return 4 + strlen(s) + 1; }
static size_t opt_size(const char *s) { return 1 + (s ? str_size(s) : 0); }

void sb_log_encode_op(sb_buf *b, const sb_log_op *op)
{
    put_u8(b, (uint8_t)op->type);
    switch (op->type) {
    case SB_LOG_PUT:
        put_str(b, op->name);
        put_opt(b, op->parent);
        put_u8(b, (uint8_t)op->state);
        put_u8(b, op->external);
        put_u64(b, (uint64_t)op->ctime);
        put_opt(b, op->xml);
        break;
    case SB_LOG_DEL:
        put_str(b, op->name);
        break;
    case SB_LOG_CUR:
        put_opt(b, op->name);
        break;
    case SB_LOG_XML:
        put_str(b, op->name);
        put_opt(b, op->xml);
        break;
    case SB_LOG_IBEG:
        put_u64(b, op->id);
        put_u64(b, (uint64_t)op->time);
        put_u32(b, op->pid);
        put_str(b, op->op);
        put_str(b, op->snapshot);
        put_str(b, op->payload);
        break;
    case SB_LOG_IEND:
    case SB_LOG_BASE:
        put_u64(b, op->id);
        break;
    default:
        b->oom = true; /* a bug: refuse to write an unknown op */
        break;
    }
}

size_t sb_log_op_size(const sb_log_op *op)
{
    switch (op->type) {
    case SB_LOG_PUT:
        return 1 + str_size(op->name) + opt_size(op->parent) + 2 + 8 + opt_size(op->xml);
    case SB_LOG_DEL:
        return 1 + str_size(op->name);
    case SB_LOG_CUR:
        return 1 + opt_size(op->name);
    case SB_LOG_XML:
        return 1 + str_size(op->name) + opt_size(op->xml);
    case SB_LOG_IBEG:
        return 1 + 8 + 8 + 4 + str_size(op->op) + str_size(op->snapshot) +
               str_size(op->payload);
    case SB_LOG_IEND:
    case SB_LOG_BASE:
        return 1 + 8;
    default:
        return 0;
    }
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint32_t rec_crc(const uint8_t *lenbytes, const uint8_t *payload, size_t len)
{
    return sb_crc32c(sb_crc32c(0, lenbytes, 4), payload, len);
}

int sb_log_frame_header(uint8_t hdr[SB_LOG_REC_HEADER], const uint8_t *payload, size_t len)
{
    if (len > SB_LOG_REC_MAX)
        return sb_error_set(SB_ERR_STORE, "batch of %zu bytes is larger than a record may be",
                            len);
    uint32_t v[3] = { SB_LOG_REC_MAGIC, (uint32_t)len, 0 };
    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(v[i / 4] >> (8 * (i % 4)));
    uint32_t crc = rec_crc(hdr + 4, payload, len);
    for (int i = 0; i < 4; i++)
        hdr[8 + i] = (uint8_t)(crc >> (8 * i));
    return 0;
}

int sb_log_frame(sb_buf *out, const uint8_t *payload, size_t len)
{
    uint8_t hdr[SB_LOG_REC_HEADER];
    int rc = sb_log_frame_header(hdr, payload, len);
    if (rc < 0)
        return rc;
    put(out, hdr, sizeof(hdr));
    put(out, payload, len);
    return out->oom ? sb_error_oom() : 0;
}

void sb_log_header(uint8_t hdr[SB_LOG_HEADER_SIZE])
{
    memcpy(hdr, SB_LOG_FILE_MAGIC, 8);
    uint32_t v = SB_LOG_VERSION;
    for (int i = 0; i < 4; i++)
        hdr[8 + i] = (uint8_t)(v >> (8 * i));
    memset(hdr + 12, 0, 4);
}

bool sb_log_header_ok(const uint8_t *data, size_t size)
{
    return size >= SB_LOG_HEADER_SIZE && memcmp(data, SB_LOG_FILE_MAGIC, 8) == 0 &&
           get_u32(data + 8) == SB_LOG_VERSION;
}

int sb_log_scan(const uint8_t *data, size_t size, size_t off, const uint8_t **payload,
                size_t *plen, size_t *next)
{
    if (off >= size)
        return SB_SCAN_END;
    if (size - off < SB_LOG_REC_HEADER)
        return SB_SCAN_BAD;
    const uint8_t *h = data + off;
    if (get_u32(h) != SB_LOG_REC_MAGIC)
        return SB_SCAN_BAD;
    uint32_t len = get_u32(h + 4);
    if (len > SB_LOG_REC_MAX || len > size - off - SB_LOG_REC_HEADER)
        return SB_SCAN_BAD;
    if (rec_crc(h + 4, h + SB_LOG_REC_HEADER, len) != get_u32(h + 8))
        return SB_SCAN_BAD;
    *payload = h + SB_LOG_REC_HEADER;
    *plen = len;
    *next = off + SB_LOG_REC_HEADER + len;
    return SB_SCAN_OK;
}

size_t sb_log_resync(const uint8_t *data, size_t size, size_t off)
{
    static const uint8_t magic[4] = { 0x53, 0x42, 0x52, 0x31 };
    for (size_t o = off + 1; o + SB_LOG_REC_HEADER <= size; o++) {
        const uint8_t *m = memchr(data + o, magic[0], size - o);
        if (!m)
            break;
        o = (size_t)(m - data);
        if (o + SB_LOG_REC_HEADER > size)
            break;
        if (memcmp(m, magic, 4) != 0)
            continue;
        const uint8_t *p;
        size_t pl, nx;
        if (sb_log_scan(data, size, o, &p, &pl, &nx) == SB_SCAN_OK)
            return o;
    }
    return size;
}

/* ------------------------------------------------------------- decoding */

typedef struct cur {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
} cur;

static const uint8_t *take(cur *c, size_t n)
{
    if (c->bad || n > c->len - c->pos) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *r = c->p + c->pos;
    c->pos += n;
    return r;
}

static uint8_t d_u8(cur *c)
{
    const uint8_t *p = take(c, 1);
    return p ? *p : 0;
}

static uint32_t d_u32(cur *c)
{
    const uint8_t *p = take(c, 4);
    return p ? get_u32(p) : 0;
}

static uint64_t d_u64(cur *c)
{
    const uint8_t *p = take(c, 8);
    return p ? get_u64(p) : 0;
}

static const char *d_str(cur *c)
{
    uint32_t n = d_u32(c);
    if (c->bad)
        return NULL;
    if ((size_t)n >= c->len - c->pos) { /* also needs the NUL */
        c->bad = true;
        return NULL;
    }
    /* Only the terminator is checked.  An embedded NUL cannot come from our
     * writer (lengths are strlen()s) and damage is caught by the record's
     * CRC, so scanning every XML for one again would only cost load time. */
    const char *s = (const char *)take(c, (size_t)n + 1);
    if (!s || s[n] != '\0') {
        c->bad = true;
        return NULL;
    }
    return s;
}

static const char *d_opt(cur *c)
{
    uint8_t present = d_u8(c);
    if (present > 1)
        c->bad = true;
    return present == 1 ? d_str(c) : NULL;
}

int sb_log_decode_op(const uint8_t *payload, size_t len, size_t *pos, sb_log_op *op)
{
    if (*pos >= len)
        return 0;
    cur c = { payload, len, *pos, false };
    memset(op, 0, sizeof(*op));
    op->type = d_u8(&c);
    switch (op->type) {
    case SB_LOG_PUT:
        op->name = d_str(&c);
        op->parent = d_opt(&c);
        op->state = d_u8(&c);
        op->external = d_u8(&c) != 0;
        op->ctime = (long long)d_u64(&c);
        op->xml = d_opt(&c);
        /* the writer refuses other states (sb_store_add): not ours */
        if (op->state > SB_STATE_DISK_SNAPSHOT)
            c.bad = true;
        break;
    case SB_LOG_DEL:
        op->name = d_str(&c);
        break;
    case SB_LOG_CUR:
        op->name = d_opt(&c);
        break;
    case SB_LOG_XML:
        op->name = d_str(&c);
        op->xml = d_opt(&c);
        break;
    case SB_LOG_IBEG:
        op->id = d_u64(&c);
        op->time = (long long)d_u64(&c);
        op->pid = d_u32(&c);
        op->op = d_str(&c);
        op->snapshot = d_str(&c);
        op->payload = d_str(&c);
        break;
    case SB_LOG_IEND:
    case SB_LOG_BASE:
        op->id = d_u64(&c);
        break;
    default:
        return -1;
    }
    if (c.bad)
        return -1;
    *pos = c.pos;
    return 1;
}
