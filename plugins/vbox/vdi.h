/* vbox plugin - VirtualBox Disk Images (VDI 1.1): header, block map,
 * differencing images, block-level merges.
 *
 * Layout (all little endian): a 72-byte pre-header (text, signature
 * 0xbeda107f, version 0x00010001), the header (cbHeader, image type,
 * flags, comment, block map and data offsets, geometry, disk size, block
 * size, block count, allocated count, then four UUIDs: the image's own,
 * its last modification, and for differencing images the parent's UUID
 * and the parent's modification UUID).  The block map holds one 32-bit
 * entry per block: an index into the data area, or FREE (~0: not here,
 * read the parent) or ZERO (~1: reads as zeros).  A block in a
 * differencing image always holds the whole block, so merges copy whole
 * blocks.
 */
#ifndef VB_VDI_H
#define VB_VDI_H

#include <stdint.h>

#include "vb.h"

#define VB_VDI_BLOCK_FREE 0xffffffffu
#define VB_VDI_BLOCK_ZERO 0xfffffffeu
#define VB_VDI_ALLOCATED(e) ((e) < VB_VDI_BLOCK_ZERO)

enum vb_vdi_type {
    VB_VDI_NORMAL = 1, /* dynamically growing base image */
    VB_VDI_FIXED = 2,
    VB_VDI_UNDO = 3,
    VB_VDI_DIFF = 4
};

typedef struct vb_vdi {
    int fd;
    char *path;
    int writable;
    unsigned char hdr[512];  /* pre-header and header as on disk */
    uint32_t header_size, type, off_blocks, off_data, block_size, block_extra;
    uint32_t nblocks, nalloc;
    uint64_t disk_size;
    unsigned char uuid[16], modify[16], parent[16], parent_modify[16];
    uint32_t *bmap;          /* host order */
} vb_vdi;

/* Open an image; with writable, an allocation count left stale by an
 * interrupted block write is put right. */
int vb_vdi_open(vb_ctx *ctx, const char *path, int writable, vb_vdi **out);
void vb_vdi_close(vb_vdi *v);
int vb_vdi_is_diff(const vb_vdi *v);
/* Check the block map (entries in range, none used twice, count right). */
int vb_vdi_check(vb_ctx *ctx, const vb_vdi *v);

/* Create an empty differencing image of parent at path (never replaces a
 * file), with the given UUID, as VirtualBox lays it out: 1 MiB aligned
 * block map and data, every block FREE. */
int vb_vdi_create_diff(vb_ctx *ctx, const char *path, const vb_vdi *parent, const char *uuid);

/* Point a differencing image at another parent (UUID and modification
 * UUID of the new parent). */
int vb_vdi_set_parent(vb_ctx *ctx, vb_vdi *v, const unsigned char parent[16],
                      const unsigned char parent_modify[16]);
/* Record a modification: a new modification UUID. */
int vb_vdi_touch(vb_ctx *ctx, vb_vdi *v);

/* Read bytes through a chain (chain[0] the top image, chain[n-1] its
 * base); blocks nobody holds read as zeros. */
int vb_vdi_chain_read(vb_ctx *ctx, vb_vdi *const *chain, size_t n, uint64_t off, void *buf,
                      size_t len);
/* Write bytes into chain[0]; a block written for the first time is filled
 * from the chain below first (copy on write of the whole block). */
int vb_vdi_chain_write(vb_ctx *ctx, vb_vdi *const *chain, size_t n, uint64_t off,
                       const void *buf, size_t len);

/* Merge one image of a chain into its neighbour, block by block.
 *   forward: src is the parent, dst its child; dst takes every block it
 *            lacks from src (its own blocks are newer);
 *   backward: src is the child, dst its parent; dst takes every block src
 *            holds.
 * Blocks are copied (data written and flushed before the block map points
 * at it), so a kill leaves dst's chain reading the same data as before:
 * the merge can simply be run again.  *copied counts written blocks. */
int vb_vdi_merge(vb_ctx *ctx, vb_vdi *src, vb_vdi *dst, int forward, size_t *copied);
/* 0 when a and b have the same size and block layout (what a merge needs),
 * else OPERATION_UNSUPPORTED naming both. */
int vb_vdi_mergeable(vb_ctx *ctx, const vb_vdi *a, const vb_vdi *b);

/* Bytes of data blocks the image holds. */
unsigned long long vb_vdi_allocated_bytes(const vb_vdi *v);

#endif
