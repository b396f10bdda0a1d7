/* qemu plugin - read-only qcow2 header reader (see qcow2.h).
 *
 * Layout per QEMU's docs/interop/qcow2.txt:
 *   header (big endian)       0 magic 'QFI\xfb', 4 version, 8 backing_file_offset,
 *     16 backing_file_size, 20 cluster_bits, 24 size, 32 crypt_method,
 *     36 l1_size, 40 l1_table_offset, 48 refcount_table_offset,
 *     56 refcount_table_clusters, 60 nb_snapshots, 64 snapshots_offset;
 *     v3 adds 72 incompatible_features, 80 compatible, 88 autoclear,
 *     96 refcount_order, 100 header_length.
 *   header extensions         from header_length (72 for v2) up to the
 *     backing file name (or the end of the first cluster): u32 type,
 *     u32 length, data padded to 8 bytes; type 0 ends the list.
 *   snapshot table            nb_snapshots entries at snapshots_offset:
 *     0 l1_table_offset, 8 l1_size, 12 id_str_size (u16), 14 name_size
 *     (u16), 16 date_sec, 20 date_nsec, 24 vm_clock_nsec, 32 vm_state_size,
 *     36 extra_data_size, 40 extra data (vm_state_size_large, disk_size,
 *     icount), then the id string, the name; each entry starts 8-aligned.
 *
 * The checks mirror QEMU's qcow2_do_open() / qcow2_read_snapshots() where
 * they bound what is read; anything else QEMU validates (L1/refcount
 * tables, ...) is not looked at: the plugin only needs names and sizes.
 */
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define QCOW2_MAGIC 0x514649fbu
#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define SNAP_HEADER_SIZE 40u
/* Incompatible feature bits QEMU knows: dirty, corrupt, external data
 * file, compression type, extended L2 entries. */
#define KNOWN_INCOMPATIBLE 0x1full

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Buffered pread within [0, size): the snapshot table is read in 64 KiB
 * windows instead of two syscalls per entry.  The first read takes only
 * FIRST_WINDOW bytes: the header, its extensions and the backing file
 * name sit at the start of the first cluster (QEMU writes them there),
 * and most readers want nothing else - a scan of an image directory for
 * the overlays of an image reads every file in it, and one delete reads
 * the headers of its chain 7-11 times. */
#define FIRST_WINDOW 4096
typedef struct reader {
    int fd;
    uint64_t size;          /* file size */
    unsigned char buf[65536];
    uint64_t boff;          /* file offset of buf[0] */
    size_t blen;            /* valid bytes in buf */
} reader;

/* 1 if [off, off+len) lies inside the file (overflow-safe). */
static int in_file(const reader *r, uint64_t off, uint64_t len)
{
    return off <= r->size && len <= r->size - off;
}

static int rd(reader *r, uint64_t off, void *dst, size_t len, char *err, size_t errlen,
              const char *what)
{
    if (!in_file(r, off, len))
        return fail(err, errlen, -EINVAL, "%s at offset %llu (%zu bytes) is past the end of "
                    "the file (%llu bytes)", what, (unsigned long long)off, len,
                    (unsigned long long)r->size);
    unsigned char *d = dst;
    while (len) {
        if (off >= r->boff && off < r->boff + r->blen) {
            size_t n = (size_t)(r->boff + r->blen - off);
            if (n > len)
                n = len;
            memcpy(d, r->buf + (off - r->boff), n);
            d += n;
            off += n;
            len -= n;
            continue;
        }
        /* refill at off */
        size_t want = r->blen ? sizeof r->buf : FIRST_WINDOW;
        if (r->size - off < want)
            want = (size_t)(r->size - off);
        ssize_t got;
        do
            got = pread(r->fd, r->buf, want, (off_t)off);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return fail(err, errlen, -EIO, "cannot read %s: %s", what, strerror(errno));
        if (got == 0)
            return fail(err, errlen, -EINVAL, "%s: unexpected end of file at offset %llu", what,
                        (unsigned long long)off);
        r->boff = off;
        r->blen = (size_t)got;
    }
    return 0;
}

/* A C string from len bytes (cut at the first NUL, as QEMU's C strings
 * are). */
static char *cstr(const unsigned char *p, size_t len)
{
    size_t n = 0;
    while (n < len && p[n])
        n++;
    char *s = malloc(n + 1);
    if (s) {
        if (n) /* p may be NULL when len is 0 (an empty id or name) */
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

void qp_qcow2_free(qp_qcow2 *q)
{
    if (!q)
        return;
    free(q->backing);
    free(q->backing_format);
    if (q->snaps)
        for (uint32_t i = 0; i < q->nsnaps; i++) {
            free(q->snaps[i].id);
            free(q->snaps[i].name);
        }
    free(q->snaps);
    memset(q, 0, sizeof *q);
}

static int read_extensions(reader *r, qp_qcow2 *q, uint64_t start, uint64_t end, char *err,
                           size_t errlen)
{
    uint64_t off = start;
    while (off < end) {
        unsigned char h[8];
        if (end - off < 8)
            return fail(err, errlen, -EINVAL, "header extension at %llu is truncated",
                        (unsigned long long)off);
        int e = rd(r, off, h, 8, err, errlen, "header extension");
        if (e < 0)
            return e;
        uint32_t type = qp_be32(h), len = qp_be32(h + 4);
        off += 8;
        if (type == EXT_END)
            return 0;
        if (len > end - off)
            return fail(err, errlen, -EINVAL, "header extension 0x%08x is too large (%u bytes)",
                        type, len);
        if (type == EXT_BACKING_FORMAT) {
            /* QEMU keeps it in a 16-byte field and refuses longer ones */
            unsigned char f[16];
            if (len >= sizeof f)
                return fail(err, errlen, -EINVAL, "backing format extension too long (%u bytes)",
                            len);
            if ((e = rd(r, off, f, len, err, errlen, "backing format")) < 0)
                return e;
            free(q->backing_format);
            q->backing_format = cstr(f, len);
            if (!q->backing_format)
                return fail(err, errlen, -ENOMEM, "out of memory");
        }
        uint64_t padded = ((uint64_t)len + 7) & ~(uint64_t)7;
        if (padded > end - off)
            return 0; /* last extension runs to the end: nothing follows */
        off += padded;
    }
    return 0;
}

static int read_snapshots(reader *r, qp_qcow2 *q, uint64_t table, uint32_t n, char *err,
                          size_t errlen)
{
    if (n > QP_QCOW2_MAX_SNAPSHOTS)
        return fail(err, errlen, -EINVAL, "too many snapshots (%u, QEMU allows %u)", n,
                    QP_QCOW2_MAX_SNAPSHOTS);
    uint64_t cluster = (uint64_t)1 << q->cluster_bits;
    if (table % cluster)
        return fail(err, errlen, -EINVAL, "snapshot table offset %llu is not cluster aligned",
                    (unsigned long long)table);
    /* even empty entries need 40 bytes each: refuse a count the file
     * cannot hold before allocating anything for it */
    if (!in_file(r, table, (uint64_t)n * SNAP_HEADER_SIZE))
        return fail(err, errlen, -EINVAL, "snapshot table (%u entries at %llu) is past the end "
                    "of the file", n, (unsigned long long)table);
    q->snaps = calloc(n ? n : 1, sizeof *q->snaps);
    if (!q->snaps)
        return fail(err, errlen, -ENOMEM, "out of memory");
    q->nsnaps = n;
    uint64_t off = table;
    unsigned char *str = NULL;
    size_t strcap = 0;
    int e = 0;
    for (uint32_t i = 0; i < n; i++) {
        qp_qcow2_snap *s = &q->snaps[i];
        unsigned char h[SNAP_HEADER_SIZE];
        /* entries start 8-aligned; the last one is not padded (QEMU
         * aligns before each entry, and the file may end right after) */
        off = (off + 7) & ~(uint64_t)7;
        if ((e = rd(r, off, h, sizeof h, err, errlen, "snapshot entry")) < 0)
            break;
        s->l1_offset = qp_be64(h);
        s->l1_size = qp_be32(h + 8);
        uint16_t id_len = be16(h + 12), name_len = be16(h + 14);
        s->date_sec = qp_be32(h + 16);
        s->date_nsec = qp_be32(h + 20);
        s->vm_clock_nsec = qp_be64(h + 24);
        s->vm_state_size = qp_be32(h + 32);
        uint32_t extra = qp_be32(h + 36);
        off += sizeof h;
        if (extra > QP_QCOW2_MAX_EXTRA_DATA) {
            e = fail(err, errlen, -EINVAL, "snapshot %u: extra data too large (%u bytes)", i,
                     extra);
            break;
        }
        unsigned char x[24] = {0};
        size_t xn = extra < sizeof x ? extra : sizeof x;
        if ((e = rd(r, off, x, xn, err, errlen, "snapshot extra data")) < 0)
            break;
        if (xn >= 8)
            s->vm_state_size = qp_be64(x);
        if (xn >= 16) {
            s->disk_size = qp_be64(x + 8);
            s->has_disk_size = 1;
        }
        if (xn >= 24) {
            s->icount = qp_be64(x + 16);
            s->has_icount = 1;
        }
        off += extra;
        size_t need = (size_t)id_len + name_len;
        if (need > strcap) {
            unsigned char *ns = realloc(str, need);
            if (!ns) {
                e = fail(err, errlen, -ENOMEM, "out of memory");
                break;
            }
            str = ns;
            strcap = need;
        }
        if ((e = rd(r, off, str, need, err, errlen, "snapshot id and name")) < 0)
            break;
        s->id = cstr(str, id_len);
        s->name = cstr(str + id_len, name_len);
        if (!s->id || !s->name) {
            e = fail(err, errlen, -ENOMEM, "out of memory");
            break;
        }
        off += need;
        if (off - table > QP_QCOW2_MAX_SNAPSHOTS_SIZE) {
            e = fail(err, errlen, -EINVAL, "snapshot table too large");
            break;
        }
    }
    free(str);
    return e;
}

int qp_qcow2_read_fd(int fd, unsigned flags, qp_qcow2 *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    reader *r = malloc(sizeof *r);
    if (!r)
        return fail(err, errlen, -ENOMEM, "out of memory");
    r->fd = fd;
    r->boff = 0;
    r->blen = 0;
    /* SEEK_END rather than fstat: a qcow2 on a block device has st_size 0 */
    off_t end = lseek(fd, 0, SEEK_END);
    int e = 0;
    if (end < 0) {
        e = fail(err, errlen, -EIO, "cannot size the image: %s", strerror(errno));
        goto out;
    }
    r->size = out->file_size = (uint64_t)end;
    unsigned char h[104];
    if (r->size < 4 || (e = rd(r, 0, h, 4, err, errlen, "magic")) < 0) {
        e = r->size < 4 ? QP_QCOW2_NOT_QCOW2 : e;
        goto out;
    }
    if (qp_be32(h) != QCOW2_MAGIC) {
        e = QP_QCOW2_NOT_QCOW2;
        goto out;
    }
    if ((e = rd(r, 0, h, 72, err, errlen, "qcow2 header")) < 0)
        goto out;
    qp_qcow2 *q = out;
    q->version = qp_be32(h + 4);
    if (q->version != 2 && q->version != 3) {
        e = fail(err, errlen, -ENOTSUP, "unsupported qcow2 version %u", q->version);
        goto out;
    }
    uint64_t backing_off = qp_be64(h + 8);
    uint32_t backing_len = qp_be32(h + 16);
    q->cluster_bits = qp_be32(h + 20);
    q->size = qp_be64(h + 24);
    q->refcount_table_offset = qp_be64(h + 48);
    q->refcount_table_clusters = qp_be32(h + 56);
    q->refcount_order = 4;
    uint32_t nb_snapshots = qp_be32(h + 60);
    uint64_t snapshots_off = qp_be64(h + 64);
    if (q->cluster_bits < 9 || q->cluster_bits > 21) {
        e = fail(err, errlen, -EINVAL, "bad cluster_bits %u", q->cluster_bits);
        goto out;
    }
    uint64_t cluster = (uint64_t)1 << q->cluster_bits;
    uint64_t header_len = 72;
    if (q->version == 3) {
        if ((e = rd(r, 72, h + 72, 32, err, errlen, "qcow2 v3 header")) < 0)
            goto out;
        q->incompatible_features = qp_be64(h + 72);
        q->refcount_order = qp_be32(h + 96);
        header_len = qp_be32(h + 100);
        if (header_len < 104 || header_len > cluster) {
            e = fail(err, errlen, -EINVAL, "bad header_length %llu",
                     (unsigned long long)header_len);
            goto out;
        }
        if (q->incompatible_features & ~KNOWN_INCOMPATIBLE) {
            e = fail(err, errlen, -ENOTSUP, "unsupported incompatible features 0x%llx",
                     (unsigned long long)(q->incompatible_features & ~KNOWN_INCOMPATIBLE));
            goto out;
        }
    }
    if (backing_off > cluster) {
        e = fail(err, errlen, -EINVAL, "backing file offset %llu is past the first cluster",
                 (unsigned long long)backing_off);
        goto out;
    }
    /* extensions run up to the backing file name, else to the end of the
     * first cluster (QEMU: ext_end) */
    uint64_t ext_end = backing_off ? backing_off : cluster;
    if (ext_end > r->size)
        ext_end = r->size;
    if (ext_end > header_len && (e = read_extensions(r, q, header_len, ext_end, err, errlen)) < 0)
        goto out;
    if (backing_off && backing_len) {
        if (backing_len > QP_QCOW2_MAX_BACKING || backing_len > cluster - backing_off) {
            e = fail(err, errlen, -EINVAL, "backing file name too long (%u bytes)", backing_len);
            goto out;
        }
        unsigned char name[QP_QCOW2_MAX_BACKING];
        if ((e = rd(r, backing_off, name, backing_len, err, errlen, "backing file name")) < 0)
            goto out;
        q->backing = cstr(name, backing_len);
        if (!q->backing) {
            e = fail(err, errlen, -ENOMEM, "out of memory");
            goto out;
        }
        if (!q->backing[0]) { /* QEMU: an empty name is no backing file */
            free(q->backing);
            q->backing = NULL;
        }
    }
    if (!q->backing) { /* a format without a file means nothing */
        free(q->backing_format);
        q->backing_format = NULL;
    }
    if (flags & QP_QCOW2_NO_SNAPSHOTS)
        q->nsnaps = nb_snapshots <= QP_QCOW2_MAX_SNAPSHOTS ? nb_snapshots : 0;
    else
        e = read_snapshots(r, q, snapshots_off, nb_snapshots, err, errlen);
out:
    free(r);
    if (e < 0)
        qp_qcow2_free(out);
    return e;
}

int qp_qcow2_read(const char *path, unsigned flags, qp_qcow2 *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* never block on a FIFO */
    if (fd < 0) {
        int e = errno;
        return fail(err, errlen, -e, "cannot open '%s': %s", path, strerror(e));
    }
    int r = qp_qcow2_read_fd(fd, flags, out, err, errlen);
    close(fd);
    return r;
}

int qp_qcow2_has_protocol(const char *name)
{
    size_t colon = strcspn(name, ":/");
    return name[colon] == ':';
}

char *qp_qcow2_backing_path(const char *image, const char *backing)
{
    if (backing[0] == '/' || qp_qcow2_has_protocol(backing)) {
        char *s = malloc(strlen(backing) + 1);
        if (s)
            strcpy(s, backing);
        return s;
    }
    const char *slash = strrchr(image, '/');
    size_t dl = slash ? (size_t)(slash - image) + 1 : 0; /* keep the '/' */
    size_t bl = strlen(backing);
    char *s = malloc(dl + bl + 1);
    if (s) {
        memcpy(s, image, dl);
        memcpy(s + dl, backing, bl + 1);
    }
    return s;
}
