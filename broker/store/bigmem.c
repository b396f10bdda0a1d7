/* Huge-page-backed blocks for load-time structures (bigmem.h). */
#include "store/bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

static size_t rounded(size_t size)
{
    return (size + SB_BIG_PAGE - 1) & ~(SB_BIG_PAGE - 1);
}

void *sb_big_alloc(size_t size)
{
    size_t len = rounded(size);
    if (len < size) /* overflow */
        return NULL;
    /* one huge page more than asked, then the unaligned ends cut off:
     * only an aligned 2 MiB range can be one huge page */
    uint8_t *raw = mmap(NULL, len + SB_BIG_PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + SB_BIG_PAGE - 1) & ~(uintptr_t)(SB_BIG_PAGE - 1);
    uint8_t *p = (uint8_t *)start;
    size_t head = (size_t)(p - raw);
    if (head)
        munmap(raw, head);
    if (SB_BIG_PAGE - head)
        munmap(p + len, SB_BIG_PAGE - head);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* a kernel without THP: 4 KiB pages */
#endif
    return p;
}

void sb_big_free(void *p, size_t size)
{
    if (p)
        munmap(p, rounded(size));
}
