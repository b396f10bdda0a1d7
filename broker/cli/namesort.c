/* cli_names_order (namesort.h).
 *
 * Each name's first 8 bytes, folded with tolower() as strcasecmp() folds
 * them, are packed big-endian into one integer (a shorter name padded
 * with 0, which sorts first as its NUL does).  A stable LSD radix sort on
 * that integer orders the names a byte at a time, and a pass over a byte
 * every name shares ("s0" ... "s99999" all share the first) is skipped.
 * Names with the same 8 folded bytes that go on past them are then put in
 * order by strcasecmp() on the rest, a run at a time.
 *
 * Why not qsort() on the integer: at 100 000 names its O(n log n)
 * comparisons through a function pointer were most of the CLI's listing
 * time once the store loaded fast; the radix sort does at most 8 linear
 * passes over 16-byte keys. */
#include "namesort.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct key {
    uint64_t head; /* folded first 8 bytes, big-endian */
    uint32_t pos;  /* index into names */
} key;

static uint64_t folded_head(const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    uint64_t h = 0;
    for (int j = 0; j < 8; j++) {
        h <<= 8;
        if (*s)
            h |= (uint8_t)tolower(*s++);
    }
    return h;
}

/* Stable passes over the bytes of head, least significant first; the
 * result ends in k or tmp, whichever the last pass wrote: returned. */
static key *radix_by_head(key *k, key *tmp, size_t n)
{
    uint64_t all_or = 0, all_and = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        all_or |= k[i].head;
        all_and &= k[i].head;
    }
    for (int shift = 0; shift < 64; shift += 8) {
        /* a byte that is the same in every key orders nothing */
        if (((all_or ^ all_and) >> shift & 0xFF) == 0)
            continue;
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[k[i].head >> shift & 0xFF]++;
        size_t at = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[k[i].head >> shift & 0xFF]++] = k[i];
        key *swap = k;
        k = tmp;
        tmp = swap;
    }
    return k;
}

/* Within equal heads: the rest of the names, then the given order. */
static int by_tail(const void *a, const void *b, void *names)
{
    const key *x = a, *y = b;
    const char *const *v = names;
    int r = strcasecmp(v[x->pos] + 8, v[y->pos] + 8);
    return r ? r : (x->pos > y->pos) - (x->pos < y->pos);
}

int cli_names_order(const char *const *names, size_t n, size_t **order)
{
    if (n > UINT32_MAX || n > SIZE_MAX / (2 * sizeof(key)))
        return -1;
    key *k = malloc((n ? n : 1) * 2 * sizeof(*k));
    size_t *o = malloc((n ? n : 1) * sizeof(*o));
    if (!k || !o) {
        free(k);
        free(o);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (key){ folded_head(names[i]), (uint32_t)i };
    key *sorted = radix_by_head(k, k + n, n);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && sorted[j].head == sorted[i].head)
            j++;
        /* a name whose 8th byte is NUL-padded ended within the 8: every
         * name of the run is then the same but for case, and the radix
         * sort kept them in the given order */
        if (j - i > 1 && (sorted[i].head & 0xFF))
            qsort_r(sorted + i, j - i, sizeof(*sorted), by_tail, (void *)names);
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        o[i] = sorted[i].pos;
    free(k);
    *order = o;
    return 0;
}
