/* CRC-32C (Castagnoli), the checksum of snapshots.log records.
 *
 * Why not zlib's CRC-32: loading a 100k-snapshot store spent a quarter of
 * its time in crc32(); CRC-32C has a CPU instruction on x86-64 (SSE4.2),
 * about five times faster, and the same error-detection strength for our
 * record sizes.  Other CPUs use a portable slice-by-8 table. */
#ifndef SB_STORE_CRC32C_H
#define SB_STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) with n bytes. */
uint32_t sb_crc32c(uint32_t crc, const void *buf, size_t n);

#endif
