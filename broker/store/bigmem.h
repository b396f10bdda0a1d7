/* Memory for the big blocks a store's load fills at once (the tree's node
 * slab and hash buckets, the log reader's buffer): zeroed, and backed by
 * transparent huge pages where the kernel offers them (madvise mode).
 *
 * Why: a load touches every page of these blocks once, right after
 * allocating them, and each first touch of a 4 KiB page is a fault.  On
 * the virtual machines this runs on a fault costs 5-30 us (measured:
 * 16 MiB touched a page at a time 110-170 ms, the same in 2 MiB pages
 * 1-7 ms), more than everything else the load does per snapshot.  Small
 * stores never come here: a 2 MiB block is only worth it for a tree of
 * thousands of snapshots (tree.c, log_reader.c). */
#ifndef SB_STORE_BIGMEM_H
#define SB_STORE_BIGMEM_H

#include <stddef.h>

#define SB_BIG_PAGE ((size_t)2 << 20)

/* size bytes (rounded up to SB_BIG_PAGE), zeroed; NULL when out of
 * memory (no error set). */
void *sb_big_alloc(size_t size);
/* p and size as given to sb_big_alloc; accepts NULL. */
void sb_big_free(void *p, size_t size);

#endif
