/* qemu plugin - where the references memo (snapshot_refs.c) keeps what it
 * remembers: its keys, and each distinct set of references once.
 *
 * The snapshots of a domain name the same few images over and over: a
 * chain of internal snapshots of one disk has one set of references,
 * however long it is.  Kept as a malloc per string and per list of every
 * snapshot, that was most of the memory a walk touched: at 10 000
 * snapshots about 600 of a CLI call's 2 500 page faults (some 20 µs each
 * on a virtual machine).  Here strings and sets are interned (kept once,
 * shared, never written again) in blocks that are freed together, when
 * the memo starts over; nothing is freed one by one.  A set an entry stops
 * using stays until then, counted in bytes like everything else here, so
 * the memo's bound covers it. */
#include "snapshot_common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK_BYTES = 64 * 1024 };

struct qp_pool_block {
    struct qp_pool_block *next;
    max_align_t data[];
};

/* n bytes of the pool, 8-aligned; NULL when memory is out. */
static void *pool_alloc(qp_refs_pool *p, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > p->left) {
        size_t size = n > BLOCK_BYTES / 4 ? n : BLOCK_BYTES;
        struct qp_pool_block *b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        p->bytes += sizeof *b + size;
        if (size == n) { /* a large one alone: the current block goes on */
            b->next = p->blocks ? p->blocks->next : NULL;
            if (p->blocks)
                p->blocks->next = b;
            else
                p->blocks = b;
            return b->data;
        }
        b->next = p->blocks;
        p->blocks = b;
        p->at = (char *)b->data;
        p->left = size;
    }
    void *at = p->at;
    p->at += n;
    p->left -= n;
    return at;
}

/* ---- the two tables: open addressing, at most half full ---- */

typedef struct qp_pool_slot {
    uint64_t hash;
    const void *item;
} slot;

static int table_grow(qp_refs_pool *p, slot **tab, size_t *cap, size_t n)
{
    if ((n + 1) * 2 <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    slot *t = calloc(nc, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < *cap; i++)
        if ((*tab)[i].item) {
            size_t k = (*tab)[i].hash & (nc - 1);
            while (t[k].item)
                k = (k + 1) & (nc - 1);
            t[k] = (*tab)[i];
        }
    p->bytes += (nc - *cap) * sizeof *t;
    free(*tab);
    *tab = t;
    *cap = nc;
    return 0;
}

static const char *intern_str(qp_refs_pool *p, const char *s)
{
    size_t len = strlen(s);
    uint64_t h = qp_hash64(s, len);
    if (table_grow(p, &p->strs, &p->cap_strs, p->n_strs) < 0)
        return NULL;
    size_t i = h & (p->cap_strs - 1);
    for (; p->strs[i].item; i = (i + 1) & (p->cap_strs - 1))
        if (p->strs[i].hash == h && !strcmp(p->strs[i].item, s))
            return p->strs[i].item;
    char *copy = pool_alloc(p, len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len + 1);
    p->strs[i] = (slot){ h, copy };
    p->n_strs++;
    return copy;
}

static const qp_strv *lists_of(const qp_refs *r, int k)
{
    return k == 0 ? &r->captured : k == 1 ? &r->overlays : k == 2 ? &r->reverts : &r->named;
}

/* Two sets the same, their strings interned: the same pointers. */
static int same_set(const qp_refs *a, const qp_refs *b)
{
    if (a->external != b->external || a->named_unsure != b->named_unsure)
        return 0;
    for (int k = 0; k < 4; k++) {
        const qp_strv *x = lists_of(a, k), *y = lists_of(b, k);
        if (x->n != y->n || (x->n && memcmp(x->v, y->v, x->n * sizeof *x->v)))
            return 0;
    }
    return 1;
}

/* The pool's copy of a set whose strings are interned (s's lists point at
 * them; they are copied as they are). */
static const qp_refs *keep_set(qp_refs_pool *p, const qp_refs *s, uint64_t h, size_t i)
{
    qp_refs *set = pool_alloc(p, sizeof *set);
    if (!set)
        return NULL;
    *set = (qp_refs){ .external = s->external, .named_unsure = s->named_unsure };
    for (int k = 0; k < 4; k++) {
        const qp_strv *from = lists_of(s, k);
        qp_strv *to = (qp_strv *)lists_of(set, k);
        if (!from->n)
            continue;
        if (!(to->v = pool_alloc(p, (from->n + 1) * sizeof *to->v)))
            return NULL;
        memcpy(to->v, from->v, from->n * sizeof *to->v);
        to->v[from->n] = NULL;
        to->n = from->n; /* cap 0: not the list's to grow or free */
    }
    p->sets[i] = (slot){ h, set };
    p->n_sets++;
    return set;
}

const qp_refs *qp_refs_pool_set(qp_refs_pool *p, const qp_refs *r)
{
    size_t total = 0;
    for (int k = 0; k < 4; k++)
        total += lists_of(r, k)->n;
    char *local[32], **ptrs = total <= 32 ? local : malloc(total * sizeof *ptrs);
    if (!ptrs)
        return NULL;
    /* the set with its strings interned, in a frame of lists over ptrs */
    qp_refs s = { .external = r->external, .named_unsure = r->named_unsure };
    uint64_t h = (uint64_t)r->external * 31 + (uint64_t)r->named_unsure;
    const qp_refs *found = NULL;
    size_t at = 0;
    for (int k = 0; k < 4; k++) {
        const qp_strv *from = lists_of(r, k);
        qp_strv *to = (qp_strv *)lists_of(&s, k);
        to->v = ptrs + at;
        to->n = from->n;
        for (size_t j = 0; j < from->n; j++, at++) {
            if (!(ptrs[at] = (char *)intern_str(p, from->v[j])))
                goto out;
            h = (h ^ (uint64_t)(uintptr_t)ptrs[at]) * 0x100000001b3ull;
        }
        h = (h ^ from->n) * 0x100000001b3ull;
    }
    if (table_grow(p, &p->sets, &p->cap_sets, p->n_sets) < 0)
        goto out;
    size_t i = h & (p->cap_sets - 1);
    for (; p->sets[i].item; i = (i + 1) & (p->cap_sets - 1))
        if (p->sets[i].hash == h && same_set(p->sets[i].item, &s)) {
            found = p->sets[i].item;
            goto out;
        }
    found = keep_set(p, &s, h, i);
out:
    if (ptrs != local)
        free(ptrs);
    return found;
}

const char *qp_refs_pool_key(qp_refs_pool *p, const char *key, size_t klen)
{
    char *copy = pool_alloc(p, klen + 1);
    if (copy) {
        memcpy(copy, key, klen);
        copy[klen] = '\0';
    }
    return copy;
}

void qp_refs_pool_free(qp_refs_pool *p)
{
    for (struct qp_pool_block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(p->strs);
    free(p->sets);
    memset(p, 0, sizeof *p);
}
