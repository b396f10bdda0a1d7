/* qemu plugin - declarations shared by snapshot_*.c */
#ifndef QP_SNAPSHOT_COMMON_H
#define QP_SNAPSHOT_COMMON_H

#include "qp.h"

/* The broker's view of a snapshot document (snapshot_view.c): shared with
 * every other holder of the same bytes, so never written (copy the struct
 * to change it); qp_view_free gives it back. */
int qp_view(qp_ctx *ctx, const char *xml, struct sb_snapshot_view **out);
void qp_view_free(qp_ctx *ctx, struct sb_snapshot_view *v);
/* snapshot_format into malloc'ed memory */
int qp_format(qp_ctx *ctx, const struct sb_snapshot_view *v, char **out);
const struct sb_snapshot_disk_view *qp_view_disk(const struct sb_snapshot_view *v,
                                                 const char *target, int revert);
int qp_domain_from_view(qp_ctx *ctx, const struct sb_snapshot_view *v, qp_domain **out);

/* A string -> int map for one walk (paths to indexes). */
typedef struct qp_strmap {
    char **keys;
    int *vals;
    size_t n, cap;
} qp_strmap;
int qp_strmap_find(const qp_strmap *m, const char *key); /* -1: absent */
int qp_strmap_put(qp_strmap *m, const char *key, int val);
void qp_strmap_free(qp_strmap *m);

/* Paths resolved (realpath) once for one walk: a path as given -> its
 * canonical form. */
typedef struct qp_canon_cache {
    qp_strmap index; /* path as given -> index in canon */
    qp_strv canon;
} qp_canon_cache;
/* The canonical path of path, borrowed from the cache until
 * qp_canon_cache_free; NULL when out of memory. */
const char *qp_canon_cached(qp_canon_cache *cc, const char *path);
void qp_canon_cache_free(qp_canon_cache *cc);

/* One image that something needs, with its backing chain (canonical
 * paths, top first).  owner: snapshot name, NULL for the current domain. */
typedef struct qp_needed_top {
    char *owner;
    int internal_owner; /* the owner is an internal snapshot (state inside the image) */
    qp_strv chain;
} qp_needed_top;

typedef struct qp_needed {
    qp_needed_top *tops;
    size_t ntops;
    qp_strv all;       /* union of the chains */
    qp_strv refs;      /* overlays the tree's <disks>/<revertDisks> name (canonical) */
    qp_strv ref_owner; /* refs.v[i] belongs to snapshot ref_owner.v[i] */
    /* while computing: a top's path as given -> its index; members of all;
     * the references resolved so far */
    qp_strmap by_path, in_all;
    qp_strmap by_kind; /* 'i'/'e' + a snapshot's top as given -> its first top */
    /* Optional, set by qp_needed_compute_watch: canonical paths whose
     * naming snapshots are wanted; hit_name.v[i] names hit_path.v[i] in
     * its XML (or may: a document the scan could not read counts). */
    const qp_strv *watch;
    qp_strv hit_path, hit_name;
    qp_strv watched;  /* a copy of watch, owned, once the walk is done */
    int watch_done;
    qp_canon_cache canon;
} qp_needed;

/* Disk sources of a stored <domain> XML, read-only ones included (not
 * canonicalized): every image the domain uses is needed. */
int qp_domain_xml_sources(qp_ctx *ctx, const char *xml, qp_strv *out);

/* The active-layer guard (snapshot_guard.c).  Rewriting the active layer
 * of an image in place (qemu-img snapshot -a, QMP snapshot-load) changes
 * what every overlay above it reads.  Refuse with OPERATION_INVALID,
 * before anything is touched, when a snapshot of the broker's tree still
 * needs the current contents of one of `images` (canonical paths):
 *   - an external snapshot whose captured image (its <domain> source) is
 *     the image itself: its state IS the active layer;
 *   - any snapshot whose <domain>, <disks> or <revertDisks> sources have
 *     the image below them in their backing chain (directly or not).
 * The current domain is not counted: a revert replaces its state.
 * `what` names the operation for the message ("revert to snapshot 'x'"). */
int qp_guard_active_layers(qp_ctx *ctx, const char *domain, const qp_strv *images,
                           const char *what);

/* Remove an internal snapshot's tag from each of its images (QMP when the
 * image is the running top, qemu-img otherwise); tags already gone are
 * skipped (snapshot_delete.c). */
int qp_delete_internal(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v);

int qp_needed_compute(qp_ctx *ctx, const char *domain, const char *skip, const qp_domain *current,
                      qp_needed *out);
/* 1 when a stored snapshot other than skip (NULL: none skipped) names
 * path (canonical) as its memory state file, *owner (may be NULL) getting
 * its name; 0 when none; a negative class when the tree cannot be read. */
int qp_memory_file_named(qp_ctx *ctx, const char *domain, const char *path, const char *skip,
                         char **owner);
/* The same, also noting which snapshots name each path of watch (kept
 * borrowed until the walk ends) in out->hit_path/hit_name, so a later
 * repoint of such a path rewrites those snapshots without another walk. */
int qp_needed_compute_watch(qp_ctx *ctx, const char *domain, const char *skip,
                            const qp_domain *current, const qp_strv *watch, qp_needed *out);

/* What one stored snapshot refers to (snapshot_refs.c). */
typedef struct qp_refs {
    int external;     /* its captured state is the image as left, not a tag */
    qp_strv captured; /* <domain> disk sources, read-only ones included */
    qp_strv overlays; /* <disks> sources of external snapshots */
    qp_strv reverts;  /* <revertDisks> sources */
    /* every <source file=|dev=> value in the document, <inactiveDomain>
     * included (qp_xml_source_values): what a repoint of a path rewrites */
    qp_strv named;
    int named_unsure; /* the scan could not read them all: may name anything */
} qp_refs;

/* Where the references memo keeps its keys and sets (refs_pool.c):
 * strings and whole sets interned, in blocks freed together. */
typedef struct qp_refs_pool {
    struct qp_pool_block *blocks;
    char *at;
    size_t left;
    size_t bytes; /* all it holds, tables included */
    struct qp_pool_slot *strs, *sets;
    size_t n_strs, cap_strs, n_sets, cap_sets;
} qp_refs_pool;
/* The pool's one copy of a set equal to r (r is left as it is); NULL when
 * memory is out.  Its lists must not be grown or freed. */
const qp_refs *qp_refs_pool_set(qp_refs_pool *p, const qp_refs *r);
const char *qp_refs_pool_key(qp_refs_pool *p, const char *key, size_t klen); /* a copy */
void qp_refs_pool_free(qp_refs_pool *p); /* everything it gave out */

/* fn(name, refs) for every snapshot of domain but skip, in the tree's
 * order; stops at the first negative return.  The references of an XML
 * seen before in this process are not parsed again. */
int qp_refs_each(qp_ctx *ctx, const char *domain, const char *skip,
                 int (*fn)(qp_ctx *ctx, const char *name, const qp_refs *refs, void *opaque),
                 void *opaque);
/* What qp_refs_each knows once a process has seen the tree: kept on disk
 * for the next process (refs_file.c), each snapshot's references under a
 * digest of its document. */
#define QP_REFS_DIGEST 16
void qp_refs_digest(const char *xml, size_t len, unsigned char out[QP_REFS_DIGEST]);
typedef struct qp_refs_rec {
    const char *name;
    unsigned char digest[QP_REFS_DIGEST];
    uint64_t doc_len;
    qp_refs refs;
} qp_refs_rec;
/* Best effort: a failure is logged (debug), never returned. */
void qp_refs_file_save(qp_ctx *ctx, const char *domain, const qp_refs_rec *recs, size_t n);
/* keep(arg, rec) for each entry of the domain's file, which may move
 * rec->refs out (rec->name is valid for the call only) and returns 0 when
 * it kept it.  Returns how many were kept, -1 when the file is missing,
 * not one of ours or damaged (nothing is then passed on, or only the
 * entries before the damage, which the checksum vouches for). */
int qp_refs_file_load(qp_ctx *ctx, const char *domain,
                      int (*keep)(void *arg, qp_refs_rec *rec), void *arg);
void qp_refs_file_remove(qp_ctx *ctx, const char *domain);
void qp_needed_free(qp_needed *n);
/* 1 when a snapshot other than `snapshot` (NULL: any) names path (canonical)
 * in its <disks> or <revertDisks>. */
int qp_needed_ref_by_other(const qp_needed *n, const char *path, const char *snapshot);

/* The images a domain uses, the only ones a delete or revert may change
 * (canonical): the backing chains of its current disks and, with_owned,
 * of the files the plugin made for it (qp_ours_*).  A snapshot's own
 * <domain> does not count: a redefine may name any image.  NO_MEMORY
 * (reported) when the list could not be completed. */
int qp_domain_images(qp_ctx *ctx, const char *domain, const qp_domain *cur, int with_owned,
                     qp_strv *out) QP_MUST_CHECK;
/* Images a stored definition stops naming stay the domain's
 * (domain_used.c): note_dropped compares the stored definition with
 * new_xml before it is stored (best effort); load appends them. */
void qp_used_note_dropped(qp_ctx *ctx, const char *name, const char *new_xml);
int qp_used_load(qp_ctx *ctx, const char *name, qp_strv *out) QP_MUST_CHECK;

/* OPERATION_UNSUPPORTED naming image and snapshot unless image is in
 * images; `what` says what would change it ("deleting its internal
 * snapshot"); deleting: the operation is a delete, and the message says
 * how to drop the metadata alone. */
int qp_check_domain_image(qp_ctx *ctx, const char *domain, const qp_strv *images,
                          const char *image, const char *snapshot, const char *what,
                          int deleting);

/* Merge notes (merge_note.c): a delete committed overlay into
 * onto and is to rebase these images from overlay onto it.  save writes
 * it (synced); find gives 1 and appends the images when a note for this
 * very file (same inode) and onto exists, 0 when none, or a negative
 * class; end ends it (synced at the end of the call). */
int qp_merge_note_save(qp_ctx *ctx, const char *domain, const char *overlay, const char *onto,
                       const qp_strv *rebase);
int qp_merge_note_find(qp_ctx *ctx, const char *domain, const char *overlay, const char *onto,
                       qp_strv *rebase) QP_MUST_CHECK;
void qp_merge_note_end(qp_ctx *ctx, const char *domain, const char *overlay);
/* End, synced, a note left for overlay's path by a delete that never
 * finished (a delete starting afresh calls it before its mark). */
int qp_merge_note_clear(qp_ctx *ctx, const char *domain, const char *overlay) QP_MUST_CHECK;

char *qp_xml_replace_source(const char *xml, const char *old_path, const char *new_path,
                            int *changed);
/* 0 when no <source file=|dev=> of xml names path, directly or through
 * realpath; 1 when one may (then qp_xml_replace_source has work).  A
 * string scan instead of a parse; memo (may be NULL) keeps what each value
 * resolves to across the calls of one walk. */
int qp_xml_may_name(const char *xml, const char *path, qp_strmap *memo);
/* Every <source file=|dev=> value of xml appended to out (as written, not
 * resolved).  1 when the scan may have missed one (a prefixed <source>,
 * a value it cannot decode): the document may name any path; 0, or a
 * negative class when out of memory. */
int qp_xml_source_values(qp_ctx *ctx, const char *xml, qp_strv *out);
int qp_job_id(char *buf, size_t len, const char *what);
void qp_new_node_name(char *buf, size_t len, const char *target);
int qp_run_state_after(int snapshot_state, unsigned flags);
int qp_set_run_state(qp_qmp *q, int want);
int qp_wait_migration(qp_qmp *q, int timeout_ms);

#endif
