/* Reading snapshots.log's records in order through one reused buffer
 * (pread) instead of through a mapping of the whole file.
 *
 * Why: the first touch of each page of a new mapping costs a fault (on
 * these virtual machines several microseconds per 4 KiB page, also when
 * the mapping was populated), so checking every record's CRC through a
 * mapping of a 14 MB log costs 3 500 faults; copying the same bytes into a
 * small buffer that stays in the cache costs a handful of them.  The
 * loader still maps the log, untouched, for the XML it keeps in place
 * (store_load.c). */
#ifndef SB_STORE_LOG_READER_H
#define SB_STORE_LOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A log up to this size is read whole (store_load.c) or through a buffer
 * its size; a bigger one through a 2 MiB block (bigmem.h). */
#define SB_LOG_SMALL ((size_t)256 << 10)

typedef struct sb_log_reader {
    int fd;
    size_t size;   /* bytes of the file to read */
    uint8_t *buf;
    size_t cap;    /* bytes buf can hold */
    bool big;      /* buf from sb_big_alloc */
    size_t off;    /* file offset of buf[0] */
    size_t len;    /* bytes of the file in buf */
    const char *path; /* for messages */
} sb_log_reader;

/* Read [0, size) of fd (a file named path); nothing is read yet. */
void sb_log_reader_init(sb_log_reader *r, int fd, size_t size, const char *path);
void sb_log_reader_free(sb_log_reader *r);
/* The record at off, as sb_log_scan() (log_format.h) returns it, but with
 * *payload in the reader's buffer (valid until the next call), or a
 * negative error (out of memory, a read error) set in the thread's
 * error. */
int sb_log_reader_next(sb_log_reader *r, size_t off, const uint8_t **payload, size_t *plen,
                       size_t *next);

/* Read exactly n bytes of fd at off into buf; a file that ends first (it
 * is cut only under the exclusive lock, which a reader excludes) or a
 * read error is an error naming path. */
int sb_log_read_at(int fd, void *buf, size_t n, size_t off, const char *path);

#endif
