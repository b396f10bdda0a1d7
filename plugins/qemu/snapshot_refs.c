/* qemu plugin - the images every snapshot of the broker's tree refers to
 * (snapshot_common.h, qp_refs_each), for the walks over the whole tree
 * that the guards make (qp_needed_compute, qp_guard_active_layers).
 *
 * A snapshot's references are read from its XML: the broker's snapshot
 * view (a parse of the document) and the broker's domain view of the
 * <domain> inside (another).  With thousands of snapshots that was nearly
 * all the time of an operation, spent again on every operation.  A
 * snapshot's references depend on its XML alone, so they are remembered
 * per process, by domain and snapshot name, with what tells that the
 * document is still the one they were read from:
 *  - from a broker of ABI 1.4, the document's version (tree_each_versioned):
 *    the walk of an unchanged tree compares one number per snapshot and
 *    reads no document (comparing each 1.3 KB document with its kept copy
 *    streamed two copies of the whole tree through the caches: 2-3 ms a
 *    walk at 10 000 snapshots, two walks per operation);
 *  - from an older one, a copy of the XML, compared byte for byte.
 * Looking an entry up hashes the short name, not the document (hashing
 * every document of a large tree was most of a walk).  The memory is
 * bounded (MEMO_MAX bytes of entries, kept XML and the pool of names and
 * sets, refs_pool.c; beyond, it starts over).
 *
 * What a process learns is kept on disk for the next one (refs_file.c):
 * a process that has not seen the domain yet (each CLI call) first reads
 * the domain's references file, whose entries carry a digest of their
 * document, and takes an entry only for a document with that digest, so
 * a walk hashes each document once instead of parsing it.  A walk that
 * had to parse one document in REWRITE_SHARE or more writes the file
 * anew. */
#include "snapshot_common.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MEMO_MAX (64u << 20)
/* the references file is written anew by a walk that parsed at least one
 * document in REWRITE_SHARE (qp_refs_each) */
#define REWRITE_SHARE 64
/* the references files a process remembers having read (qp_strv_has is a
 * linear search: a few thousand keep it under a walk's own cost) */
#define LOADED_MAX 1024

typedef struct memo_entry {
    uint64_t hash;   /* of key */
    const char *key; /* domain, '\0', snapshot name, '\0' (klen bytes, the last NUL not
                      * counted; in the pool) */
    size_t klen;
    uint64_t version; /* the document's (ABI 1.4), else 0 and: */
    size_t len;       /* the document itself, a copy (none for an entry from the file) */
    char *xml;
    /* the document's digest and length, for the references file */
    int has_digest;
    unsigned char digest[QP_REFS_DIGEST];
    uint64_t doc_len;
    uint64_t seen;   /* the last walk (memo.walks) that visited it */
    size_t counted;  /* what memo.bytes counts for it */
    const qp_refs *refs; /* in the pool, shared with every entry of the same set */
} memo_entry;

/* The entries in one array (never removed one by one: the memo starts
 * over whole), found through a table of their indexes.  A table of the
 * entries themselves was 5 MB at 10 000 snapshots, every page of it
 * touched while it filled and again at each doubling: most of the page
 * faults of a CLI call (4 300 of 5 200, at about 20 µs each on a virtual
 * machine); the indexes are 4 bytes a slot, and the array grows by
 * realloc, which keeps the pages it has. */
static struct {
    pthread_mutex_t lock;
    memo_entry *v;   /* n entries (cap_v allocated) */
    size_t n, cap_v;
    uint32_t *slots; /* open addressing: 0 free, else the entry's index + 1 */
    size_t cap;      /* slots, a power of two */
    size_t bytes;    /* the entries' own (the pool counts its own) */
    qp_refs_pool pool; /* the entries' keys and sets of references */
    uint64_t walks, clears;
    qp_strv loaded;  /* "<state dir>/<domain>" whose references file was read */
} memo = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, NULL, 0, 0, { 0 }, 0, 0, { NULL, 0, 0 } };

static void refs_clear(qp_refs *r)
{
    qp_strv_free(&r->captured);
    qp_strv_free(&r->overlays);
    qp_strv_free(&r->reverts);
    qp_strv_free(&r->named);
    memset(r, 0, sizeof *r);
}

static void memo_clear(void)
{
    for (size_t i = 0; i < memo.n; i++)
        free(memo.v[i].xml);
    qp_refs_pool_free(&memo.pool);
    free(memo.v);
    free(memo.slots);
    memo.v = NULL;
    memo.slots = NULL;
    memo.n = memo.cap_v = memo.cap = memo.bytes = 0;
    /* memo.loaded stays: reading the files again would only fill the
     * memo up to its bound again */
    memo.clears++;
}

/* The slot of key: the one that holds it, or the free one it would go to. */
static uint32_t *memo_slot(uint64_t hash, const char *key, size_t klen)
{
    for (size_t i = hash & (memo.cap - 1);; i = (i + 1) & (memo.cap - 1)) {
        uint32_t *slot = &memo.slots[i];
        const memo_entry *e = *slot ? &memo.v[*slot - 1] : NULL;
        if (!e || (e->hash == hash && e->klen == klen && !memcmp(e->key, key, klen)))
            return slot;
    }
}

static memo_entry *memo_find(uint64_t hash, const char *key, size_t klen)
{
    if (!memo.cap)
        return NULL;
    uint32_t slot = *memo_slot(hash, key, klen);
    return slot ? &memo.v[slot - 1] : NULL;
}

/* Room for one more entry: the array, and the table at most half full. */
static int memo_room(void)
{
    if (memo.n >= UINT32_MAX - 1)
        return -1;
    if (memo.n == memo.cap_v) {
        size_t cap_v = memo.cap_v ? memo.cap_v * 2 : 128;
        memo_entry *v = realloc(memo.v, cap_v * sizeof *v);
        if (!v)
            return -1;
        memo.v = v;
        memo.cap_v = cap_v;
    }
    if ((memo.n + 1) * 2 > memo.cap) {
        size_t cap = memo.cap ? memo.cap * 2 : 256;
        uint32_t *slots = calloc(cap, sizeof *slots), *old = memo.slots;
        if (!slots)
            return -1;
        memo.slots = slots;
        memo.cap = cap;
        for (size_t i = 0; i < memo.n; i++)
            *memo_slot(memo.v[i].hash, memo.v[i].key, memo.v[i].klen) = (uint32_t)i + 1;
        free(old);
    }
    return 0;
}

/* Parse the references out of one snapshot's XML. */
static int refs_parse(qp_ctx *ctx, const char *xml, qp_refs *out)
{
    struct sb_snapshot_view *v = NULL;
    int r = qp_view(ctx, xml, &v);
    if (r < 0)
        return r;
    out->external = v->external;
    if (v->domain_xml)
        r = qp_domain_xml_sources(ctx, v->domain_xml, &out->captured);
    for (size_t k = 0; k < v->ndisks && r == 0; k++)
        if (v->disks[k].snapshot == SB_LOCATION_EXTERNAL && v->disks[k].source &&
            qp_strv_add(&out->overlays, v->disks[k].source) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t k = 0; k < v->nrevert_disks && r == 0; k++)
        if (v->revert_disks[k].source && qp_strv_add(&out->reverts, v->revert_disks[k].source) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    qp_view_free(ctx, v);
    if (r == 0 && (r = qp_xml_source_values(ctx, xml, &out->named)) > 0) {
        out->named_unsure = 1;
        r = 0;
    }
    if (r < 0)
        refs_clear(out);
    return r;
}

/* Does e still describe the document (version, else xml and len)? */
static int memo_fresh(const memo_entry *e, uint64_t version, const char *xml, size_t len)
{
    if (version)
        return e->version == version;
    return !e->version && e->xml && e->len == len && !memcmp(e->xml, xml, len);
}

/* Does e describe the document whose digest and length these are? */
static int digest_fresh(const memo_entry *e, const unsigned char *digest, size_t doc_len)
{
    return e->has_digest && e->doc_len == doc_len && !memcmp(e->digest, digest, QP_REFS_DIGEST);
}

static size_t strv_bytes(const qp_strv *v)
{
    size_t n = v->n * sizeof(char *);
    for (size_t i = 0; i < v->n; i++)
        n += strlen(v->v[i]) + 1;
    return n;
}

/* What an entry holds in memory beside the pool, as memo.bytes counts it:
 * itself and its slots too (up to two array places, two to four slots),
 * and its copy of an older broker's document. */
static size_t entry_bytes(size_t len)
{
    return 2 * sizeof(memo_entry) + 4 * sizeof(uint32_t) + len;
}

/* What keeping a new entry adds: itself, its key and a set of references
 * like r the pool does not have yet; not a new block of the pool or the
 * growth of one of its tables, by which the memo can pass MEMO_MAX until
 * the next entry makes it start over. */
static size_t entry_need(size_t klen, size_t len, const qp_refs *r)
{
    return entry_bytes(len) + klen + 1 + sizeof *r + strv_bytes(&r->captured) +
           strv_bytes(&r->overlays) + strv_bytes(&r->reverts) + strv_bytes(&r->named) + 64;
}

static size_t memo_total(void)
{
    return memo.bytes + memo.pool.bytes;
}

/* Keep refs (the pool's set) and the document's identity in e, a new
 * entry or the snapshot's old one, whose document changed. */
static void memo_keep(memo_entry *e, uint64_t version, char *copy, size_t len,
                      const unsigned char *digest, size_t doc_len, const qp_refs *refs)
{
    memo.bytes -= e->counted;
    free(e->xml);
    e->version = version;
    e->xml = copy;
    e->len = len;
    e->has_digest = digest != NULL;
    if (digest)
        memcpy(e->digest, digest, QP_REFS_DIGEST);
    e->doc_len = doc_len;
    e->refs = refs;
    e->counted = entry_bytes(e->len);
    memo.bytes += e->counted;
}

/* One walk's callback and what it passes on, and what it found. */
typedef struct walk {
    qp_ctx *ctx;
    const char *domain, *skip;
    int (*fn)(qp_ctx *ctx, const char *name, const qp_refs *refs, void *opaque);
    void *opaque;
    size_t known, from_digest, parsed;
} walk;

/* A new, empty entry for key (klen bytes, not NUL-terminated), or NULL
 * when memory is out (the caller checked the bound).  Entries found before
 * are no longer where they were. */
static memo_entry *memo_new_entry(uint64_t h, const char *key, size_t klen)
{
    const char *kcopy;
    if (memo_room() < 0 || !(kcopy = qp_refs_pool_key(&memo.pool, key, klen)))
        return NULL;
    memo_entry *e = &memo.v[memo.n];
    *e = (memo_entry){ .hash = h, .key = kcopy, .klen = klen };
    *memo_slot(h, kcopy, klen) = (uint32_t)++memo.n;
    return e;
}

/* The references of snapshot `name` of the walk's domain, whose document
 * is xml (of version `version`, 0 when the broker gives none): remembered
 * (under the version, or under the document's digest: from the file),
 * else parsed and remembered (memo.lock held).  *out points into the
 * memo, or to tmp when it could not keep it. */
static int refs_of(walk *w, const char *name, uint64_t version, const char *xml, qp_refs *tmp,
                   const qp_refs **out)
{
    size_t dl = strlen(w->domain), nl = strlen(name), klen = dl + 1 + nl;
    char kbuf[512], *key = klen <= sizeof kbuf ? kbuf : malloc(klen);
    if (!key)
        return qp_error(w->ctx, SB_ERR_NO_MEMORY, "out of memory");
    memcpy(key, w->domain, dl + 1);
    memcpy(key + dl + 1, name, nl);
    uint64_t h = qp_hash64(key, klen);
    memo_entry *e = memo_find(h, key, klen);
    /* the length is needed only to compare or keep a copy */
    size_t len = version ? 0 : strlen(xml);
    if (e && memo_fresh(e, version, xml, len)) {
        w->known++;
        *out = e->refs;
        goto done;
    }
    size_t doc_len = len ? len : strlen(xml);
    unsigned char digest[QP_REFS_DIGEST];
    qp_refs_digest(xml, doc_len, digest);
    if (e && digest_fresh(e, digest, doc_len)) {
        /* the document the entry was read from: known from now on by its
         * version (an older broker's document: by the digest again) */
        e->version = version;
        w->from_digest++;
        *out = e->refs;
        goto done;
    }
    int r = refs_parse(w->ctx, xml, tmp);
    *out = tmp;
    if (r < 0) {
        if (key != kbuf)
            free(key);
        return r;
    }
    w->parsed++;
    size_t need = entry_need(klen, len, tmp);
    char *copy = version ? NULL : malloc(len + 1);
    if (!version && !copy)
        goto done; /* not remembered: tmp holds it */
    if (memo_total() + need > MEMO_MAX)
        e = NULL, memo_clear(); /* start over; e pointed into the old memo */
    const qp_refs *set = memo_total() + need <= MEMO_MAX ? qp_refs_pool_set(&memo.pool, tmp) : NULL;
    if (!set || (!e && !(e = memo_new_entry(h, key, klen)))) {
        free(copy);
        goto done; /* not remembered: tmp holds it */
    }
    if (copy) {
        memcpy(copy, xml, len);
        copy[len] = '\0';
    }
    memo_keep(e, version, copy, len, digest, doc_len, set);
    *out = set;
done:
    if (*out != tmp)
        e->seen = memo.walks;
    if (key != kbuf)
        free(key);
    return 0;
}

static int visit_versioned(void *arg, const char *name, uint64_t version, const char *xml)
{
    walk *w = arg;
    if (w->skip && !strcmp(name, w->skip))
        return 0;
    qp_refs tmp = { 0 };
    const qp_refs *refs = NULL;
    int r = refs_of(w, name, version, xml, &tmp, &refs);
    if (r == 0)
        r = w->fn(w->ctx, name, refs, w->opaque);
    refs_clear(&tmp);
    return r;
}

static int visit(void *arg, const char *name, const char *xml, size_t len)
{
    (void)len;
    return visit_versioned(arg, name, 0, xml);
}

#define HAS_SERVICE(api, member) \
    ((api)->struct_size >= offsetof(struct sb_host_api, member) + sizeof(void *) && (api)->member)

/* A broker of ABI 1.4 lends each document with its version
 * (tree_each_versioned), one of 1.3 without (tree_each); an older one
 * copies them out one by one. */
static int walk_tree(qp_ctx *ctx, const char *domain, walk *w)
{
    const struct sb_host_api *api = ctx->api;
    if (HAS_SERVICE(api, tree_each_versioned))
        return api->tree_each_versioned(ctx->h, domain, visit_versioned, w);
    if (HAS_SERVICE(api, tree_each))
        return api->tree_each(ctx->h, domain, visit, w);
    char **names = NULL;
    size_t nn = 0;
    int r = api->tree_list(ctx->h, domain, &names, &nn);
    for (size_t i = 0; i < nn; i++) {
        if (r == 0) {
            char *xml = NULL;
            r = api->tree_get_xml(ctx->h, domain, names[i], &xml);
            if (r == 0)
                r = visit(w, names[i], xml, strlen(xml));
            if (xml)
                api->free(xml);
        }
        api->free(names[i]);
    }
    if (names)
        api->free(names);
    return r;
}

/* An entry of the domain's references file (arg), kept unless this
 * process already knows the snapshot (or the memo is full: a file read
 * does not make it start over). */
static int keep_from_file(void *arg, qp_refs_rec *rec)
{
    const char *domain = arg;
    size_t dl = strlen(domain), nl = strlen(rec->name), klen = dl + 1 + nl;
    char *key = malloc(klen);
    if (!key)
        return -1;
    memcpy(key, domain, dl + 1);
    memcpy(key + dl + 1, rec->name, nl);
    uint64_t h = qp_hash64(key, klen);
    memo_entry *e = NULL;
    const qp_refs *set = NULL;
    int r = -1;
    if (!memo_find(h, key, klen) &&
        memo_total() + entry_need(klen, 0, &rec->refs) <= MEMO_MAX &&
        (set = qp_refs_pool_set(&memo.pool, &rec->refs)) && (e = memo_new_entry(h, key, klen))) {
        memo_keep(e, 0, NULL, 0, rec->digest, rec->doc_len, set);
        r = 0;
    }
    free(key);
    return r;
}

/* Write the domain's references file: every snapshot of the walk just
 * made (and the one it skipped), which is the tree as it is now. */
static void save_domain(qp_ctx *ctx, const char *domain, const char *skip)
{
    size_t dl = strlen(domain), n = 0;
    qp_refs_rec *recs = calloc(memo.n ? memo.n : 1, sizeof *recs);
    if (!recs)
        return;
    for (size_t i = 0; i < memo.n; i++) {
        const memo_entry *e = &memo.v[i];
        if (!e->has_digest || e->klen <= dl || memcmp(e->key, domain, dl + 1))
            continue;
        const char *name = e->key + dl + 1;
        if (e->seen != memo.walks && !(skip && !strcmp(name, skip)))
            continue;
        recs[n] = (qp_refs_rec){ .name = name, .doc_len = e->doc_len, .refs = *e->refs };
        memcpy(recs[n].digest, e->digest, QP_REFS_DIGEST);
        n++;
    }
    qp_refs_file_save(ctx, domain, recs, n);
    free(recs);
}

int qp_refs_each(qp_ctx *ctx, const char *domain, const char *skip,
                 int (*fn)(qp_ctx *ctx, const char *name, const qp_refs *refs, void *opaque),
                 void *opaque)
{
    if (!ctx->api || !ctx->api->tree_list || !ctx->api->tree_get_xml)
        return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "the broker offers no snapshot tree: cannot tell which images its "
                        "snapshots use");
    walk w = { ctx, domain, skip, fn, opaque, 0, 0, 0 };
    /* one walk at a time: the callbacks read the memo's entries */
    pthread_mutex_lock(&memo.lock);
    memo.walks++;
    uint64_t clears = memo.clears;
    char *seen_key = ctx->state_dir ? qp_printf("%s/%s", ctx->state_dir, domain) : NULL;
    if (seen_key && !qp_strv_has(&memo.loaded, seen_key)) {
        /* bounded (a long-lived process sees domains come and go): once
         * full it starts over, which costs a file read per domain */
        if (memo.loaded.n >= LOADED_MAX)
            qp_strv_free(&memo.loaded);
        if (qp_strv_add(&memo.loaded, seen_key) == 0)
            (void)qp_refs_file_load(ctx, domain, keep_from_file, (void *)domain);
    }
    free(seen_key);
    int r = walk_tree(ctx, domain, &w);
    /* rewriting the file costs about what parsing a sixty-fourth of the
     * tree does (at 10 000 snapshots, 1.1 MB and 9 M instructions against
     * 23 µs a document): a walk that parsed less leaves the file to a
     * later one, and the next process parses those few again */
    size_t seen = w.known + w.from_digest + w.parsed;
    /* (not after the memo started over during the walk: it no longer
     * holds the whole tree) */
    if (r == 0 && w.parsed && w.parsed * REWRITE_SHARE >= seen && ctx->state_dir &&
        memo.clears == clears)
        save_domain(ctx, domain, skip);
    qp_log(ctx, SB_LOG_DEBUG,
           "domain '%s': references of %zu snapshots: %zu known, %zu from the references file, "
           "%zu parsed", domain, w.known + w.from_digest + w.parsed, w.known, w.from_digest,
           w.parsed);
    pthread_mutex_unlock(&memo.lock);
    return r;
}

/* ---- a string -> index map for one walk ---- */

int qp_strmap_find(const qp_strmap *m, const char *key)
{
    if (!m->cap)
        return -1;
    uint64_t h = qp_hash64(key, strlen(key));
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return -1;
        if (!strcmp(m->keys[i], key))
            return m->vals[i];
    }
}

int qp_strmap_put(qp_strmap *m, const char *key, int val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **keys = calloc(cap, sizeof *keys);
        int *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t k = qp_hash64(m->keys[i], strlen(m->keys[i])) & (cap - 1);
                while (keys[k])
                    k = (k + 1) & (cap - 1);
                keys[k] = m->keys[i];
                vals[k] = m->vals[i];
            }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    size_t i = qp_hash64(key, strlen(key)) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        if (!(m->keys[i] = qp_strdup(key)))
            return -1;
        m->n++;
    }
    m->vals[i] = val;
    return 0;
}

void qp_strmap_free(qp_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- paths resolved once for one walk ---- */

const char *qp_canon_cached(qp_canon_cache *cc, const char *path)
{
    int k = qp_strmap_find(&cc->index, path);
    if (k >= 0)
        return cc->canon.v[k];
    char *c = qp_realpath_or_copy(path);
    int bad = !c || qp_strv_add(&cc->canon, c) < 0 ||
              qp_strmap_put(&cc->index, path, (int)cc->canon.n - 1) < 0;
    free(c);
    return bad ? NULL : cc->canon.v[cc->canon.n - 1];
}

void qp_canon_cache_free(qp_canon_cache *cc)
{
    qp_strmap_free(&cc->index);
    qp_strv_free(&cc->canon);
}
