/* qemu plugin - the space one internal snapshot of a qcow2 image holds
 * (qcow2_usage.h).
 *
 * A cluster is freed by deleting the snapshot exactly when only the
 * snapshot references it: its refcount is 1 and the snapshot's L1/L2
 * tables point at it (QEMU raises the refcount of an L2 table and of every
 * data cluster under it for each L1 table that shares it, so a cluster the
 * active layer or another snapshot also uses has a refcount of 2 or
 * more).  Counted: the snapshot's own L1 table, its L2 tables with
 * refcount 1 and the data clusters under them with refcount 1, which
 * include the saved memory state QEMU keeps past the virtual disk.
 * Shared L2 tables are not read at all (everything under them is shared).
 * Compressed clusters are left out (they share host clusters with each
 * other).  Read-only with pread, every offset checked against the file's
 * size and QEMU's limits, one L2 table and one refcount block in memory
 * at a time, following QEMU's docs/interop/qcow2.txt. */
#include "qcow2_usage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2.h"

#define OFFSET_MASK 0x00fffffffffffe00ULL /* L1 and L2 entries: host offset */
#define REFTABLE_MASK 0xfffffffffffffe00ULL
#define COMPRESSED (1ULL << 62)
#define INCOMPAT_DATA_FILE (1ULL << 2)
#define INCOMPAT_EXTENDED_L2 (1ULL << 4)
#define MAX_TABLE (64u * 1024u * 1024u) /* refcount / L1 tables: QEMU stays far below */

struct img {
    int fd;
    uint64_t size;
    uint32_t cluster_bits, refcount_order;
    uint64_t *reftable;
    size_t reftable_n;
    unsigned char *refblock; /* the cached refcount block */
    uint64_t refblock_off;   /* its offset, 0 when none is cached */
    char *err;
    size_t errlen;
};

static int fail(struct img *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct img *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (m->err && m->errlen)
        vsnprintf(m->err, m->errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int rd(struct img *m, uint64_t off, void *dst, size_t len, const char *what)
{
    if (off > m->size || len > m->size - off)
        return fail(m, -EINVAL, "%s at %llu lies past the end of the image", what,
                    (unsigned long long)off);
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(m->fd, (char *)dst + done, len - done, (off_t)(off + done));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return fail(m, -EIO, "cannot read the %s: %s", what, n < 0 ? strerror(errno) : "short");
        }
        done += (size_t)n;
    }
    return 0;
}

static int cluster_aligned(struct img *m, uint64_t off, const char *what)
{
    if (off & ((1ULL << m->cluster_bits) - 1))
        return fail(m, -EINVAL, "%s offset %llu is not cluster aligned", what,
                    (unsigned long long)off);
    return 0;
}

/* Refcount of the cluster at host offset off (>= 0), or a negative errno. */
static long long refcount(struct img *m, uint64_t off)
{
    uint64_t cluster = off >> m->cluster_bits;
    unsigned entry_bits = m->cluster_bits + 3 - m->refcount_order; /* log2 entries per block */
    uint64_t ti = cluster >> entry_bits;
    if (ti >= m->reftable_n)
        return 0;
    uint64_t block = m->reftable[ti] & REFTABLE_MASK;
    if (!block)
        return 0;
    size_t csize = (size_t)1 << m->cluster_bits;
    if (block != m->refblock_off) {
        int e = cluster_aligned(m, block, "refcount block");
        if (e < 0 || (e = rd(m, block, m->refblock, csize, "refcount block")) < 0)
            return e;
        m->refblock_off = block;
    }
    uint64_t k = cluster & ((1ULL << entry_bits) - 1);
    unsigned bits = 1u << m->refcount_order;
    if (bits < 8)
        return (m->refblock[k * bits / 8] >> (k * bits % 8)) & ((1u << bits) - 1);
    uint64_t v = 0;
    const unsigned char *p = m->refblock + k * (bits / 8);
    for (unsigned i = 0; i < bits / 8; i++)
        v = v << 8 | p[i];
    return (long long)(v > (uint64_t)INT64_MAX ? INT64_MAX : v);
}

/* The image's refcount table, from the header qp_qcow2_read_fd parsed
 * on the same descriptor. */
static int open_tables(struct img *m, const qp_qcow2 *q)
{
    int e = 0;
    m->cluster_bits = q->cluster_bits;
    m->refcount_order = q->refcount_order;
    if (q->incompatible_features & (INCOMPAT_DATA_FILE | INCOMPAT_EXTENDED_L2))
        return fail(m, -ENOTSUP, "images with an external data file or extended L2 "
                                 "entries are not measured");
    if (m->refcount_order > 6)
        return fail(m, -EINVAL, "bad refcount_order %u", m->refcount_order);
    uint64_t rt_off = q->refcount_table_offset;
    uint64_t rt_len = (uint64_t)q->refcount_table_clusters << m->cluster_bits;
    if (rt_len > MAX_TABLE || (e = cluster_aligned(m, rt_off, "refcount table")) < 0)
        return e < 0 ? e : fail(m, -EINVAL, "refcount table of %llu bytes",
                                (unsigned long long)rt_len);
    m->reftable_n = (size_t)(rt_len / 8);
    unsigned char *raw = malloc(rt_len ? rt_len : 1);
    m->reftable = malloc((m->reftable_n + 1) * sizeof(uint64_t));
    m->refblock = malloc((size_t)1 << m->cluster_bits);
    if (!raw || !m->reftable || !m->refblock) {
        free(raw);
        return fail(m, -ENOMEM, "out of memory");
    }
    if ((e = rd(m, rt_off, raw, (size_t)rt_len, "refcount table")) == 0)
        for (size_t i = 0; i < m->reftable_n; i++)
            m->reftable[i] = qp_be64(raw + 8 * i);
    free(raw);
    return e;
}

/* Bytes of the clusters under one L2 table that only it references. */
static int count_l2(struct img *m, uint64_t l2_off, unsigned char *l2, uint64_t *bytes)
{
    size_t csize = (size_t)1 << m->cluster_bits;
    int e = cluster_aligned(m, l2_off, "L2 table");
    if (e < 0 || (e = rd(m, l2_off, l2, csize, "L2 table")) < 0)
        return e;
    for (size_t i = 0; i < csize / 8; i++) {
        uint64_t entry = qp_be64(l2 + 8 * i), off = entry & OFFSET_MASK;
        if ((entry & COMPRESSED) || !off)
            continue;
        long long rc = refcount(m, off);
        if (rc < 0)
            return (int)rc;
        if (rc == 1)
            *bytes += csize;
    }
    return 0;
}

int qp_qcow2_snapshot_bytes(const char *path, const char *tag, uint64_t *bytes,
                            uint64_t *vm_state, char *err, size_t errlen)
{
    struct img m = { .fd = -1, .err = err, .errlen = errlen };
    qp_qcow2 q;
    unsigned char *l1 = NULL, *l2 = NULL;
    const qp_qcow2_snap *snap = NULL;
    int e;

    *bytes = *vm_state = 0;
    /* one descriptor and one header parse for the snapshot table and the
     * refcount and L1/L2 tables (O_NONBLOCK: never block on a FIFO) */
    m.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (m.fd < 0)
        return fail(&m, -errno, "cannot open '%s': %s", path, strerror(errno));
    if ((e = qp_qcow2_read_fd(m.fd, 0, &q, err, errlen)) != 0) {
        close(m.fd);
        return e == QP_QCOW2_NOT_QCOW2 ? fail(&m, -ENOTSUP, "'%s' is not a qcow2 image", path) : e;
    }
    m.size = q.file_size;
    for (uint32_t i = 0; i < q.nsnaps && !snap; i++)
        if (strcmp(q.snaps[i].name, tag) == 0)
            snap = &q.snaps[i];
    if (!snap) {
        e = fail(&m, -ENOENT, "'%s' has no internal snapshot '%s'", path, tag);
        goto out;
    }
    *vm_state = snap->vm_state_size;
    size_t csize = (size_t)1 << q.cluster_bits;
    uint64_t l1_len = (uint64_t)snap->l1_size * 8;
    if ((e = open_tables(&m, &q)) < 0)
        goto out;
    if (l1_len > MAX_TABLE) {
        e = fail(&m, -EINVAL, "L1 table of %llu bytes", (unsigned long long)l1_len);
        goto out;
    }
    if (!(l1 = malloc(l1_len ? l1_len : 1)) || !(l2 = malloc(csize))) {
        e = fail(&m, -ENOMEM, "out of memory");
        goto out;
    }
    if ((e = rd(&m, snap->l1_offset, l1, (size_t)l1_len, "snapshot L1 table")) < 0)
        goto out;
    /* its own L1 table goes with it */
    *bytes = (l1_len + csize - 1) / csize * csize;
    for (uint64_t i = 0; i < snap->l1_size && e == 0; i++) {
        uint64_t l2_off = qp_be64(l1 + 8 * i) & OFFSET_MASK;
        long long rc;
        if (!l2_off)
            continue;
        if ((rc = refcount(&m, l2_off)) < 0) {
            e = (int)rc;
        } else if (rc == 1) {
            *bytes += csize;
            e = count_l2(&m, l2_off, l2, bytes);
        }
    }
out:
    free(l1);
    free(l2);
    free(m.reftable);
    free(m.refblock);
    if (m.fd >= 0)
        close(m.fd);
    qp_qcow2_free(&q);
    return e;
}
