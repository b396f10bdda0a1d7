/* vbox plugin - VDI images (vdi.h). */
#include "vdi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRE_SIZE 72u
#define SIGNATURE 0xbeda107fu
#define VERSION_1_1 0x00010001u
#define HDR_V1_SIZE 384u     /* VDIHEADER1 */
#define HDR_V1PLUS_SIZE 400u /* VDIHEADER1PLUS: adds the LCHS geometry */
#define DATA_ALIGN (1u << 20)
#define MAX_BLOCKS (1u << 26)

/* Offsets of header fields from the start of the file. */
enum {
    O_TEXT = 0, O_SIG = 64, O_VERSION = 68, O_HDRSIZE = 72, O_TYPE = 76, O_FLAGS = 80,
    O_COMMENT = 84, O_OFF_BLOCKS = 340, O_OFF_DATA = 344, O_LEGACY_GEOM = 348,
    O_DISK_SIZE = 368, O_BLOCK_SIZE = 376, O_BLOCK_EXTRA = 380, O_NBLOCKS = 384,
    O_NALLOC = 388, O_UUID = 392, O_MODIFY = 408, O_PARENT = 424, O_PARENT_MODIFY = 440,
    O_LCHS = 456
};

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO; /* short file */
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

static int io_error(vb_ctx *ctx, const vb_vdi *v, int neg_errno, const char *what)
{
    if (neg_errno == -EIO)
        return vb_error(ctx, SB_ERR_SYSTEM_ERROR, "VDI image '%s': %s: the file is truncated",
                        v->path, what);
    return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -neg_errno, "VDI image '%s': %s", v->path,
                          what);
}

static int bad(vb_ctx *ctx, const char *path, const char *why)
{
    return vb_error(ctx, SB_ERR_OPERATION_INVALID, "'%s' is not a usable VDI image: %s", path,
                    why);
}

static int is_pow2(uint32_t x)
{
    return x && !(x & (x - 1));
}

/* Fields of v from the header bytes; checks what every later step relies on. */
static int parse_header(vb_ctx *ctx, vb_vdi *v)
{
    const unsigned char *h = v->hdr;
    if (get32(h + O_SIG) != SIGNATURE)
        return bad(ctx, v->path, "no VDI signature");
    if (get32(h + O_VERSION) != VERSION_1_1)
        return bad(ctx, v->path, "header version is not 1.1");
    v->header_size = get32(h + O_HDRSIZE);
    v->type = get32(h + O_TYPE);
    v->off_blocks = get32(h + O_OFF_BLOCKS);
    v->off_data = get32(h + O_OFF_DATA);
    v->disk_size = get64(h + O_DISK_SIZE);
    v->block_size = get32(h + O_BLOCK_SIZE);
    v->block_extra = get32(h + O_BLOCK_EXTRA);
    v->nblocks = get32(h + O_NBLOCKS);
    v->nalloc = get32(h + O_NALLOC);
    memcpy(v->uuid, h + O_UUID, 16);
    memcpy(v->modify, h + O_MODIFY, 16);
    memcpy(v->parent, h + O_PARENT, 16);
    memcpy(v->parent_modify, h + O_PARENT_MODIFY, 16);
    if (v->header_size < HDR_V1_SIZE || v->header_size > sizeof v->hdr - PRE_SIZE)
        return bad(ctx, v->path, "header size out of range");
    if (v->type < VB_VDI_NORMAL || v->type > VB_VDI_DIFF)
        return bad(ctx, v->path, "unknown image type");
    if (!is_pow2(v->block_size) || v->block_size < 512 || v->nblocks == 0 ||
        v->nblocks > MAX_BLOCKS || (uint64_t)v->block_size * v->nblocks < v->disk_size ||
        v->disk_size == 0)
        return bad(ctx, v->path, "inconsistent disk, block size or block count");
    if (v->block_extra && !is_pow2(v->block_extra))
        return bad(ctx, v->path, "extra block size is not a power of 2");
    if (v->nalloc > v->nblocks)
        return bad(ctx, v->path, "more blocks allocated than the image has");
    if (v->off_blocks < PRE_SIZE + HDR_V1_SIZE ||
        (uint64_t)v->off_data < (uint64_t)v->off_blocks + 4ull * v->nblocks)
        return bad(ctx, v->path, "block map or data offset out of place");
    static const unsigned char null[16];
    if (memcmp(v->uuid, null, 16) == 0)
        return bad(ctx, v->path, "the image UUID is null");
    if (v->type == VB_VDI_DIFF && memcmp(v->parent, null, 16) == 0)
        return bad(ctx, v->path, "a differencing image without a parent UUID");
    return 0;
}

int vb_vdi_is_diff(const vb_vdi *v)
{
    return v->type == VB_VDI_DIFF;
}

static uint64_t block_offset(const vb_vdi *v, uint32_t index)
{
    return (uint64_t)v->off_data + (uint64_t)index * ((uint64_t)v->block_extra + v->block_size) +
           v->block_extra;
}

int vb_vdi_check(vb_ctx *ctx, const vb_vdi *v)
{
    unsigned char *seen = calloc(v->nblocks, 1);
    uint32_t count = 0;
    if (!seen)
        return vb_oom(ctx);
    for (uint32_t b = 0; b < v->nblocks; b++) {
        uint32_t e = v->bmap[b];
        if (!VB_VDI_ALLOCATED(e))
            continue;
        if (e >= v->nblocks || seen[e]) {
            free(seen);
            return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                            "VDI image '%s': block %u points at data block %u, which is %s",
                            v->path, b, e, e >= v->nblocks ? "out of range" : "used twice");
        }
        seen[e] = 1;
        count++;
    }
    free(seen);
    if (count != v->nalloc)
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "VDI image '%s': %u blocks allocated, the header says %u", v->path,
                        count, v->nalloc);
    return 0;
}

static int write_header(vb_ctx *ctx, vb_vdi *v)
{
    int r = pwrite_all(v->fd, v->hdr, PRE_SIZE + v->header_size, 0);
    return r < 0 ? io_error(ctx, v, r, "cannot write the header") : 0;
}

/* A block write interrupted between the block map and the header leaves
 * the count one off; the data blocks are then exactly 0..count-1 or
 * 0..count.  Anything else is damage, not an interruption. */
static int repair_count(vb_ctx *ctx, vb_vdi *v)
{
    uint32_t count = 0, max = 0;
    for (uint32_t b = 0; b < v->nblocks; b++) {
        if (VB_VDI_ALLOCATED(v->bmap[b])) {
            count++;
            if (v->bmap[b] + 1 > max)
                max = v->bmap[b] + 1;
        }
    }
    if (count == v->nalloc || max != count || (count != v->nalloc + 1 && count + 1 != v->nalloc))
        return 0; /* consistent, or damage vb_vdi_check reports */
    vb_log(ctx, SB_LOG_WARN, "VDI image '%s': allocation count %u corrected to %u (an "
           "interrupted block write)", v->path, v->nalloc, count);
    v->nalloc = count;
    put32(v->hdr + O_NALLOC, count);
    return write_header(ctx, v);
}

int vb_vdi_open(vb_ctx *ctx, const char *path, int writable, vb_vdi **out)
{
    vb_vdi *v = calloc(1, sizeof *v);
    int r;

    *out = NULL;
    if (!v || !(v->path = strdup(path))) {
        free(v);
        return vb_oom(ctx);
    }
    v->writable = writable;
    v->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (v->fd < 0) {
        int e = errno;
        r = vb_error_errno(ctx, e == ENOENT ? SB_ERR_OPERATION_INVALID : SB_ERR_SYSTEM_ERROR, e,
                           "cannot open image '%s'", path);
        goto fail;
    }
    if ((r = pread_all(v->fd, v->hdr, PRE_SIZE + HDR_V1_SIZE, 0)) < 0) {
        r = r == -EIO ? bad(ctx, path, "shorter than a VDI header")
                      : io_error(ctx, v, r, "cannot read the header");
        goto fail;
    }
    /* the rest of a longer header (LCHS geometry), when there is one */
    uint32_t hs = get32(v->hdr + O_HDRSIZE);
    if (hs > HDR_V1_SIZE && hs <= sizeof v->hdr - PRE_SIZE &&
        (r = pread_all(v->fd, v->hdr + PRE_SIZE + HDR_V1_SIZE, hs - HDR_V1_SIZE,
                       PRE_SIZE + HDR_V1_SIZE)) < 0) {
        r = bad(ctx, path, "header shorter than it says");
        goto fail;
    }
    if ((r = parse_header(ctx, v)) < 0)
        goto fail;
    if (!(v->bmap = malloc((size_t)v->nblocks * 4))) {
        r = vb_oom(ctx);
        goto fail;
    }
    if ((r = pread_all(v->fd, v->bmap, (size_t)v->nblocks * 4, v->off_blocks)) < 0) {
        r = r == -EIO ? bad(ctx, path, "the block map is truncated")
                      : io_error(ctx, v, r, "cannot read the block map");
        goto fail;
    }
    for (uint32_t b = 0; b < v->nblocks; b++)
        v->bmap[b] = get32((unsigned char *)&v->bmap[b]);
    if (writable && (r = repair_count(ctx, v)) < 0)
        goto fail;
    *out = v;
    return 0;
fail:
    vb_vdi_close(v);
    return r;
}

void vb_vdi_close(vb_vdi *v)
{
    if (!v)
        return;
    if (v->fd >= 0)
        close(v->fd);
    free(v->bmap);
    free(v->path);
    free(v);
}

int vb_vdi_create_diff(vb_ctx *ctx, const char *path, const vb_vdi *parent, const char *uuid)
{
    static const char text[] = "<<< Oracle VirtualBox Disk Image >>>\n";
    unsigned char h[512];
    uint32_t nblocks = parent->nblocks;
    uint32_t off_blocks = DATA_ALIGN;
    uint64_t off_data = ((uint64_t)off_blocks + 4ull * nblocks + DATA_ALIGN - 1) &
                        ~(uint64_t)(DATA_ALIGN - 1);
    int r = 0;

    if (off_data > UINT32_MAX)
        return vb_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "VDI image '%s' has too many blocks for a differencing image",
                        parent->path);
    memset(h, 0, sizeof h);
    memcpy(h + O_TEXT, text, sizeof text - 1);
    put32(h + O_SIG, SIGNATURE);
    put32(h + O_VERSION, VERSION_1_1);
    put32(h + O_HDRSIZE, HDR_V1PLUS_SIZE);
    put32(h + O_TYPE, VB_VDI_DIFF);
    put32(h + O_OFF_BLOCKS, off_blocks);
    put32(h + O_OFF_DATA, (uint32_t)off_data);
    put32(h + O_LEGACY_GEOM + 12, 512); /* legacy geometry: sector size only */
    put64(h + O_DISK_SIZE, parent->disk_size);
    put32(h + O_BLOCK_SIZE, parent->block_size);
    put32(h + O_NBLOCKS, nblocks);
    if (vb_uuid_to_bin(uuid, h + O_UUID) < 0)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "bad UUID '%s' for a new image", uuid);
    vb_uuid_generate_bin(h + O_MODIFY);
    memcpy(h + O_PARENT, parent->uuid, 16);
    memcpy(h + O_PARENT_MODIFY, parent->modify, 16);
    /* the logical geometry follows the parent's when it has one */
    if (parent->header_size >= HDR_V1PLUS_SIZE)
        memcpy(h + O_LCHS, parent->hdr + O_LCHS, 16);
    else
        put32(h + O_LCHS + 12, 512);

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot create image '%s'", path);
    uint32_t *map = malloc((size_t)nblocks * 4);
    if (!map) {
        r = -ENOMEM;
    } else {
        memset(map, 0xff, (size_t)nblocks * 4); /* every block FREE */
        if ((r = pwrite_all(fd, h, PRE_SIZE + HDR_V1PLUS_SIZE, 0)) == 0 &&
            (r = pwrite_all(fd, map, (size_t)nblocks * 4, off_blocks)) == 0 &&
            ftruncate(fd, (off_t)off_data) < 0)
            r = -errno;
        if (r == 0 && fsync(fd) < 0)
            r = -errno;
        free(map);
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0)
        r = vb_fsync_dir_of(path);
    if (r < 0) {
        unlink(path);
        if (r == -ENOMEM)
            return vb_oom(ctx);
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot write image '%s'", path);
    }
    return 0;
}

int vb_vdi_set_parent(vb_ctx *ctx, vb_vdi *v, const unsigned char parent[16],
                      const unsigned char parent_modify[16])
{
    memcpy(v->parent, parent, 16);
    memcpy(v->parent_modify, parent_modify, 16);
    memcpy(v->hdr + O_PARENT, parent, 16);
    memcpy(v->hdr + O_PARENT_MODIFY, parent_modify, 16);
    int r = write_header(ctx, v);
    if (r == 0 && fsync(v->fd) < 0)
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot flush '%s'", v->path);
    return r;
}

int vb_vdi_touch(vb_ctx *ctx, vb_vdi *v)
{
    vb_uuid_generate_bin(v->modify);
    memcpy(v->hdr + O_MODIFY, v->modify, 16);
    int r = write_header(ctx, v);
    if (r == 0 && fsync(v->fd) < 0)
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot flush '%s'", v->path);
    return r;
}

/* Store one whole block: in place when the block has data already, else
 * appended as data block nalloc.  The data reaches the disk before the
 * block map points at it; the map entry before the count. */
static int write_block(vb_ctx *ctx, vb_vdi *v, uint32_t b, const void *data)
{
    uint32_t e = v->bmap[b];
    int r;
    if (VB_VDI_ALLOCATED(e)) {
        r = pwrite_all(v->fd, data, v->block_size, block_offset(v, e));
        return r < 0 ? io_error(ctx, v, r, "cannot write a block") : 0;
    }
    uint32_t index = v->nalloc;
    unsigned char le[4];
    if (v->block_extra) {
        void *zero = calloc(1, v->block_extra);
        if (!zero)
            return vb_oom(ctx);
        r = pwrite_all(v->fd, zero, v->block_extra, block_offset(v, index) - v->block_extra);
        free(zero);
        if (r < 0)
            return io_error(ctx, v, r, "cannot write a block");
    }
    if ((r = pwrite_all(v->fd, data, v->block_size, block_offset(v, index))) < 0)
        return io_error(ctx, v, r, "cannot write a block");
    if (fdatasync(v->fd) < 0)
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot flush '%s'", v->path);
    put32(le, index);
    if ((r = pwrite_all(v->fd, le, 4, (uint64_t)v->off_blocks + 4ull * b)) < 0)
        return io_error(ctx, v, r, "cannot write the block map");
    v->bmap[b] = index;
    v->nalloc++;
    put32(v->hdr + O_NALLOC, v->nalloc);
    return write_header(ctx, v);
}

static int set_entry(vb_ctx *ctx, vb_vdi *v, uint32_t b, uint32_t e)
{
    unsigned char le[4];
    put32(le, e);
    int r = pwrite_all(v->fd, le, 4, (uint64_t)v->off_blocks + 4ull * b);
    if (r < 0)
        return io_error(ctx, v, r, "cannot write the block map");
    v->bmap[b] = e;
    return 0;
}

static int read_block(vb_ctx *ctx, const vb_vdi *v, uint32_t b, void *buf)
{
    int r = pread_all(v->fd, buf, v->block_size, block_offset(v, v->bmap[b]));
    return r < 0 ? io_error(ctx, v, r, "cannot read a block") : 0;
}

/* The whole block b as the chain reads it. */
static int chain_block(vb_ctx *ctx, vb_vdi *const *chain, size_t n, uint32_t b, void *buf)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t e = chain[i]->bmap[b];
        if (VB_VDI_ALLOCATED(e))
            return read_block(ctx, chain[i], b, buf);
        if (e == VB_VDI_BLOCK_ZERO)
            break;
    }
    memset(buf, 0, chain[0]->block_size);
    return 0;
}

static int check_chain(vb_ctx *ctx, vb_vdi *const *chain, size_t n, uint64_t off, size_t len)
{
    if (n == 0)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "empty VDI chain");
    for (size_t i = 1; i < n; i++)
        if (chain[i]->block_size != chain[0]->block_size ||
            chain[i]->nblocks < chain[0]->nblocks)
            return vb_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                            "VDI images '%s' and '%s' have different block layouts",
                            chain[0]->path, chain[i]->path);
    if (off > chain[0]->disk_size || len > chain[0]->disk_size - off)
        return vb_error(ctx, SB_ERR_INVALID_ARG, "range %llu+%zu is outside image '%s'",
                        (unsigned long long)off, len, chain[0]->path);
    return 0;
}

int vb_vdi_chain_read(vb_ctx *ctx, vb_vdi *const *chain, size_t n, uint64_t off, void *buf,
                      size_t len)
{
    int r = check_chain(ctx, chain, n, off, len);
    if (r < 0)
        return r;
    uint32_t bs = chain[0]->block_size;
    unsigned char *block = malloc(bs), *out = buf;
    if (!block)
        return vb_oom(ctx);
    while (len && r == 0) {
        uint32_t b = (uint32_t)(off / bs), in = (uint32_t)(off % bs);
        size_t part = bs - in < len ? bs - in : len;
        if ((r = chain_block(ctx, chain, n, b, block)) == 0) {
            memcpy(out, block + in, part);
            out += part;
            off += part;
            len -= part;
        }
    }
    free(block);
    return r;
}

int vb_vdi_chain_write(vb_ctx *ctx, vb_vdi *const *chain, size_t n, uint64_t off,
                       const void *buf, size_t len)
{
    int r = check_chain(ctx, chain, n, off, len);
    if (r < 0)
        return r;
    if (!chain[0]->writable)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "image '%s' is open read-only",
                        chain[0]->path);
    uint32_t bs = chain[0]->block_size;
    unsigned char *block = malloc(bs);
    const unsigned char *in_buf = buf;
    if (!block)
        return vb_oom(ctx);
    while (len && r == 0) {
        uint32_t b = (uint32_t)(off / bs), in = (uint32_t)(off % bs);
        size_t part = bs - in < len ? bs - in : len;
        if (part < bs)
            r = chain_block(ctx, chain, n, b, block);
        if (r == 0) {
            memcpy(block + in, in_buf, part);
            r = write_block(ctx, chain[0], b, block);
        }
        in_buf += part;
        off += part;
        len -= part;
    }
    if (r == 0 && fsync(chain[0]->fd) < 0)
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot flush '%s'", chain[0]->path);
    free(block);
    return r;
}

int vb_vdi_mergeable(vb_ctx *ctx, const vb_vdi *a, const vb_vdi *b)
{
    if (a->block_size != b->block_size || a->nblocks != b->nblocks ||
        a->disk_size != b->disk_size)
        return vb_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "cannot merge VDI images '%s' and '%s': different sizes or block layouts",
                        a->path, b->path);
    return 0;
}

int vb_vdi_merge(vb_ctx *ctx, vb_vdi *src, vb_vdi *dst, int forward, size_t *copied)
{
    size_t n = 0, changed = 0;
    int r = 0;

    if (copied)
        *copied = 0;
    if ((r = vb_vdi_mergeable(ctx, src, dst)) < 0)
        return r;
    if (!dst->writable)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "image '%s' is open read-only", dst->path);
    unsigned char *block = malloc(dst->block_size);
    if (!block)
        return vb_oom(ctx);
    for (uint32_t b = 0; b < dst->nblocks && r == 0; b++) {
        uint32_t s = src->bmap[b], d = dst->bmap[b];
        if (forward) {
            /* the child's own blocks are newer than the parent's */
            if (d != VB_VDI_BLOCK_FREE || s == VB_VDI_BLOCK_FREE)
                continue;
            if (s == VB_VDI_BLOCK_ZERO) {
                r = set_entry(ctx, dst, b, VB_VDI_BLOCK_ZERO);
                changed++;
                continue;
            }
        } else {
            if (s == VB_VDI_BLOCK_FREE)
                continue;
            if (s == VB_VDI_BLOCK_ZERO) {
                if (VB_VDI_ALLOCATED(d)) {
                    memset(block, 0, dst->block_size);
                    r = write_block(ctx, dst, b, block);
                    changed++;
                } else if (vb_vdi_is_diff(dst) && d != VB_VDI_BLOCK_ZERO) {
                    r = set_entry(ctx, dst, b, VB_VDI_BLOCK_ZERO);
                    changed++;
                }
                continue;
            }
        }
        if ((r = read_block(ctx, src, b, block)) == 0 &&
            (r = write_block(ctx, dst, b, block)) == 0) {
            n++;
            vb_test_point(ctx, "merge-block");
        }
    }
    free(block);
    if (r == 0 && fsync(dst->fd) < 0)
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot flush '%s'", dst->path);
    if (r == 0 && (n || changed))
        r = vb_vdi_touch(ctx, dst);
    if (copied)
        *copied = n;
    return r;
}

unsigned long long vb_vdi_allocated_bytes(const vb_vdi *v)
{
    return (unsigned long long)v->nalloc * v->block_size;
}
