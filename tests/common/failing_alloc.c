/* tests/common - the failing allocator (failing_alloc.h). */
#include "failing_alloc.h"

#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static uintptr_t watch_lo, watch_hi; /* the watched object's mapped segments */
static long fail_at;                 /* 0: off; else which counted call fails */
static long calls;                   /* the watched object's calls since arming */

static int should_fail(const void *caller)
{
    uintptr_t a = (uintptr_t)caller;
    if (!__atomic_load_n(&fail_at, __ATOMIC_RELAXED) || a < watch_lo || a >= watch_hi)
        return 0;
    if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) != fail_at)
        return 0;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    return should_fail(__builtin_return_address(0)) ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return should_fail(__builtin_return_address(0)) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return should_fail(__builtin_return_address(0)) ? NULL : __libc_realloc(p, n);
}

/* strdup and strndup by hand: libc's would allocate from libc's code */
static char *copy_of(const char *s, size_t n)
{
    char *p = __libc_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *strdup(const char *s)
{
    return should_fail(__builtin_return_address(0)) ? NULL : copy_of(s, strlen(s));
}

char *strndup(const char *s, size_t n)
{
    return should_fail(__builtin_return_address(0)) ? NULL : copy_of(s, strnlen(s, n));
}

static int find_object(struct dl_phdr_info *info, size_t size, void *name)
{
    (void)size;
    const char *slash = strrchr(info->dlpi_name, '/');
    const char *base = slash ? slash + 1 : info->dlpi_name;
    if (strcmp(base, name))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!watch_lo || lo < watch_lo)
            watch_lo = lo;
        if (hi > watch_hi)
            watch_hi = hi;
    }
    return 1;
}

int fa_watch(const char *name)
{
    watch_lo = watch_hi = 0;
    dl_iterate_phdr(find_object, (void *)name);
    return watch_hi ? 0 : -1;
}

void fa_arm(long at)
{
    __atomic_store_n(&calls, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_at, at ? at : LONG_MAX, __ATOMIC_RELAXED);
}

long fa_disarm(void)
{
    __atomic_store_n(&fail_at, 0, __ATOMIC_RELAXED);
    return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}
