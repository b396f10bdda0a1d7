/* cli_names_order (namesort.h).  Each name's first 8 bytes, folded with
 * tolower() as strcasecmp() folds them, are packed big-endian into one
 * integer: most comparisons of a big listing (s1 ... s99999) are decided
 * by that integer alone, and strcasecmp() runs only on names that share
 * their first 8 folded bytes.  qsort() with strcasecmp() on every
 * comparison cost more than the whole store's load at 100 000 names. */
#include "namesort.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

typedef struct key {
    uint64_t head; /* folded first 8 bytes; a short name padded with 0 */
    const char *name;
    size_t pos;
} key;

static int by_key(const void *a, const void *b)
{
    const key *x = a, *y = b;
    if (x->head != y->head)
        return x->head < y->head ? -1 : 1;
    /* the same 8 folded bytes: a NUL among them ended both names there */
    int r = (x->head & 0xFF) ? strcasecmp(x->name + 8, y->name + 8) : 0;
    return r ? r : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

int cli_names_order(const char *const *names, size_t n, size_t **order)
{
    key *k = malloc((n ? n : 1) * sizeof(*k));
    size_t *o = malloc((n ? n : 1) * sizeof(*o));
    if (!k || !o) {
        free(k);
        free(o);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = (const unsigned char *)names[i];
        uint64_t h = 0;
        for (int j = 0; j < 8; j++) {
            h <<= 8;
            if (*s)
                h |= (uint8_t)tolower(*s++);
        }
        k[i] = (key){ h, names[i], i };
    }
    qsort(k, n, sizeof(*k), by_key);
    for (size_t i = 0; i < n; i++)
        o[i] = k[i].pos;
    free(k);
    *order = o;
    return 0;
}
