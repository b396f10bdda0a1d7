/* On-disk format of snapshots.log (docs/store.md has the long form).
 *
 *   file   = header record*
 *   header = "SBSTLOG1" u32 version(=1) u32 reserved(=0)           16 bytes
 *   record = u32 magic(0x31524253, "SBR1") u32 len u32 crc payload[len]
 *            crc = CRC-32C (crc32c.h) of the 4 little-endian len bytes followed
 *            by the payload, so a damaged length is caught as well.
 *   payload = op+   (one record = one batch, applied all or nothing)
 *   op     = u8 type, then
 *     PUT  str name, opt-str parent, u8 state, u8 external, i64 ctime, opt-str xml
 *     DEL  str name
 *     CUR  opt-str name
 *     XML  str name, opt-str xml
 *     IBEG u64 id, i64 time, u32 pid, str op, str snapshot, str payload
 *     IEND u64 id
 *   str = u32 n, n bytes, '\0' (the NUL lets the loader use the bytes in
 *         place as C strings; it is checked)
 *   opt-str = u8 present, [str]
 * All integers little-endian. */
#ifndef SB_STORE_LOG_FORMAT_H
#define SB_STORE_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_LOG_FILE_MAGIC "SBSTLOG1"
#define SB_LOG_VERSION 1u
#define SB_LOG_HEADER_SIZE 16u
#define SB_LOG_REC_MAGIC 0x31524253u
#define SB_LOG_REC_HEADER 12u
/* A record larger than this is treated as damage: no batch we write is
 * near it (compaction splits into 1 MiB records; a single snapshot XML is
 * bounded by the XML parser's limits well below this). */
#define SB_LOG_REC_MAX (256u << 20)

enum sb_log_op_type {
    SB_LOG_PUT = 1,
    SB_LOG_DEL = 2,
    SB_LOG_CUR = 3,
    SB_LOG_XML = 4,
    SB_LOG_IBEG = 5,
    SB_LOG_IEND = 6,
    /* First op of a record appended under group commit: the offset up to
     * which the log was known durable when it was appended (docs/store.md,
     * "Group commit").  Changes no state. */
    SB_LOG_BASE = 7
};

/* One decoded op.  Strings point into the record (borrowed). */
typedef struct sb_log_op {
    int type;
    const char *name, *parent, *xml;
    int state;
    bool external;
    long long ctime;
    uint64_t id;      /* IBEG, IEND; BASE: the durable offset */
    long long time;
    uint32_t pid;
    const char *op, *snapshot, *payload;
} sb_log_op;

/* Growable byte buffer for building records. */
typedef struct sb_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} sb_buf;

void sb_buf_free(sb_buf *b);
void sb_buf_reset(sb_buf *b);
/* Append one op (oom is sticky in b->oom). */
void sb_log_encode_op(sb_buf *b, const sb_log_op *op);
/* Bytes an op would take. */
size_t sb_log_op_size(const sb_log_op *op);
/* The 12 header bytes of a record holding payload (so a writer can
 * writev header + payload without copying the payload). */
int sb_log_frame_header(uint8_t hdr[12], const uint8_t *payload, size_t len);
/* Wrap payload into a framed record appended to out. */
int sb_log_frame(sb_buf *out, const uint8_t *payload, size_t len);
void sb_log_header(uint8_t hdr[SB_LOG_HEADER_SIZE]);
bool sb_log_header_ok(const uint8_t *data, size_t size);

enum sb_log_scan {
    SB_SCAN_OK = 0,   /* a valid record; *next is the offset after it */
    SB_SCAN_END = 1,  /* off == size */
    SB_SCAN_BAD = 2   /* incomplete, bad magic, bad length or checksum */
};
/* Check the record at off; on OK give its payload and the next offset. */
int sb_log_scan(const uint8_t *data, size_t size, size_t off, const uint8_t **payload,
                size_t *plen, size_t *next);
/* First offset > off where a valid record starts, or size when none. */
size_t sb_log_resync(const uint8_t *data, size_t size, size_t off);

/* Decode the op at *pos of payload; 1 = an op, 0 = end, -1 = malformed. */
int sb_log_decode_op(const uint8_t *payload, size_t len, size_t *pos, sb_log_op *op);

#endif
