/* qemu plugin - a small read-only qcow2 header reader.
 *
 * Reads what the plugin's safety checks need (backing file name and
 * format, virtual size, the internal snapshot table) straight from the
 * image with pread() on an O_RDONLY descriptor, following QEMU's
 * docs/interop/qcow2.txt, instead of starting `qemu-img info` for each
 * look.  Every offset and length read from the file is checked against
 * the file's size and against QEMU's own limits before it is used, so a
 * damaged or hostile image gives an error, never a crash or an unbounded
 * allocation.  Nothing is ever written and no lock is taken (see
 * docs/qemu.md, "Reading qcow2 headers directly", for why that is safe).
 */
#ifndef QP_QCOW2_H
#define QP_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#define QP_QCOW2_MAX_SNAPSHOTS 65536u            /* QEMU's QCOW_MAX_SNAPSHOTS */
#define QP_QCOW2_MAX_SNAPSHOTS_SIZE (1024u * 65536u) /* QCOW_MAX_SNAPSHOTS_SIZE */
#define QP_QCOW2_MAX_EXTRA_DATA 1024u             /* QCOW_MAX_SNAPSHOT_EXTRA_DATA */
#define QP_QCOW2_MAX_BACKING 1023u                /* QEMU's backing name limit */

/* Big-endian fields of the image (every qcow2 number is stored so). */
static inline uint64_t qp_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline uint32_t qp_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Results besides 0 (success). */
#define QP_QCOW2_NOT_QCOW2 1 /* no 'QFI\xfb' magic: some other format */
/* Errors are negative errno values: -EIO for a read that failed, -EINVAL
 * for a damaged header (err says what), -ENOMEM, -ENOTSUP for a version
 * or incompatible feature QEMU itself would refuse. */

typedef struct qp_qcow2_snap {
    char *id;                  /* id string (NUL-terminated, may be "") */
    char *name;                /* name */
    uint64_t l1_offset;
    uint32_t l1_size;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;    /* 64-bit field when extra data holds it */
    uint64_t disk_size;        /* only when has_disk_size */
    int has_disk_size;
    uint64_t icount;           /* only when has_icount */
    int has_icount;
} qp_qcow2_snap;

typedef struct qp_qcow2 {
    uint32_t version;          /* 2 or 3 */
    uint32_t cluster_bits;
    uint64_t size;             /* virtual size in bytes */
    uint64_t incompatible_features;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t refcount_order;   /* v3 header; 4 (16-bit refcounts) for v2 */
    uint64_t file_size;        /* of the image file (its end: a block device's too) */
    char *backing;             /* backing file name as stored, NULL if none */
    char *backing_format;      /* from header extension 0xe2792aca, or NULL */
    uint32_t nsnaps;
    qp_qcow2_snap *snaps;      /* NULL unless the table was read */
} qp_qcow2;

/* Flags for qp_qcow2_read*(). */
#define QP_QCOW2_NO_SNAPSHOTS 1u /* header and extensions only */

/* Parse the qcow2 image open on fd.  Returns 0, QP_QCOW2_NOT_QCOW2, or a
 * negative errno (err, when not NULL, gets a message). */
int qp_qcow2_read_fd(int fd, unsigned flags, qp_qcow2 *out, char *err, size_t errlen);
/* Same, opening path O_RDONLY (symlinks followed, as QEMU does). */
int qp_qcow2_read(const char *path, unsigned flags, qp_qcow2 *out, char *err, size_t errlen);
void qp_qcow2_free(qp_qcow2 *q);

/* 1 if QEMU would see a protocol prefix in name ("nbd:", "json:",
 * "file:"): a ':' before any '/'. */
int qp_qcow2_has_protocol(const char *name);
/* The backing name resolved as QEMU does (path_combine): absolute names
 * as they are, relative ones against the directory of image (the path as
 * given, not its canonical form).  malloc'ed; NULL on OOM. */
char *qp_qcow2_backing_path(const char *image, const char *backing);

#endif
