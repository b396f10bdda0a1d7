/* qemu plugin - the active-layer guard (see snapshot_common.h).
 *
 * Why it exists: a qcow2 image's active layer is shared by every overlay
 * built on it.  Applying an internal snapshot (qemu-img snapshot -a, QMP
 * snapshot-load) rewrites that layer in place, so an external snapshot
 * that captured the image, or any image layered above it, silently reads
 * different data afterwards.  Which snapshot needs which image only the
 * broker's tree says, so the guard walks it before any such rewrite and
 * refuses while someone still needs the current contents.  The files on
 * disk that read through the image (their backing-file headers say so:
 * overlays the tree does not know) are the revert's own second check
 * (guard_unknown_users, snapshot_revert.c).
 *
 * Deleting an internal snapshot is NOT guarded: it only drops the
 * snapshot's table entry and cluster references; the active layer, and so
 * everything above it, reads the same bytes afterwards.
 */
#include "snapshot_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backing chains already read, by top (each costs one qemu-img run), and
 * references already resolved (realpath), for one walk over the tree. */
typedef struct chain_cache {
    qp_strv tops;
    qp_strv *chains;
    qp_canon_cache canon; /* references as stored, resolved */
} chain_cache;

static void cache_free(chain_cache *cc)
{
    for (size_t i = 0; i < cc->tops.n; i++)
        qp_strv_free(&cc->chains[i]);
    free(cc->chains);
    qp_strv_free(&cc->tops);
    qp_canon_cache_free(&cc->canon);
}

/* Canonical chain of `top`, top first; a missing file is a chain of one
 * (it holds no data anyone could read through it). */
static int chain_of(qp_ctx *ctx, chain_cache *cc, const char *top, const qp_strv **out)
{
    for (size_t i = 0; i < cc->tops.n; i++)
        if (!strcmp(cc->tops.v[i], top)) {
            *out = &cc->chains[i];
            return 0;
        }
    qp_strv *nc = realloc(cc->chains, (cc->tops.n + 1) * sizeof *nc);
    if (!nc)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    cc->chains = nc;
    qp_strv *ch = &cc->chains[cc->tops.n];
    memset(ch, 0, sizeof *ch);
    /* -U: the image may be open in a running QEMU */
    int r = qp_img_chain_names(ctx, top, ch);
    if (r == 0 && qp_strv_add(&cc->tops, top) < 0)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r < 0) { /* not kept: a later lookup must not find half a chain */
        qp_strv_free(ch);
        return r;
    }
    *out = ch;
    return 0;
}

enum ref_kind { REF_CAPTURED, REF_OVERLAY, REF_REVERT };

/* Does a reference of this snapshot need the active layer of `image`?
 * Returns 1 (with a reason in why), 0, or a negative class. */
static int ref_needs(qp_ctx *ctx, chain_cache *cc, const char *ref, enum ref_kind kind,
                     int external, const char *image, char *why, size_t len)
{
    const char *c = qp_canon_cached(&cc->canon, ref);
    if (!c)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    int needs = 0;
    if (!strcmp(c, image)) {
        /* an external snapshot's state is the image as it was left; an
         * internal one's lives in the image's own snapshot table */
        if (kind == REF_CAPTURED && external) {
            snprintf(why, len, "its captured state is that image");
            needs = 1;
        }
    } else {
        const qp_strv *ch = NULL;
        int r = chain_of(ctx, cc, c, &ch);
        if (r < 0)
            return r;
        for (size_t k = 1; k < ch->n && !needs; k++)
            if (!strcmp(ch->v[k], image)) {
                snprintf(why, len, "%s '%s' is backed by it",
                         kind == REF_CAPTURED ? "its image"
                         : kind == REF_OVERLAY ? "its overlay" : "its revert overlay",
                         c);
                needs = 1;
            }
    }
    return needs;
}

/* Every image reference of one stored snapshot, checked against images;
 * offenders are appended to found[i] (one text per image). */
struct guard_walk {
    chain_cache cc;
    const qp_strv *images;
    qp_strv *found;
};

static int check_snapshot(qp_ctx *ctx, const char *name, const qp_refs *refs, void *opaque)
{
    struct guard_walk *g = opaque;
    const qp_strv *lists[3] = { &refs->captured, &refs->overlays, &refs->reverts };
    const enum ref_kind kinds[3] = { REF_CAPTURED, REF_OVERLAY, REF_REVERT };
    int r = 0;
    for (size_t i = 0; i < g->images->n && r == 0; i++) {
        int hit = 0;
        for (int l = 0; l < 3 && !hit && r == 0; l++)
            for (size_t k = 0; k < lists[l]->n && !hit && r == 0; k++) {
                char why[1200];
                r = ref_needs(ctx, &g->cc, lists[l]->v[k], kinds[l], refs->external,
                              g->images->v[i], why, sizeof why);
                if (r == 1) {
                    hit = 1; /* one reason per snapshot and image is enough */
                    r = qp_strv_addf(&g->found[i], "'%s' (%s)", name, why) < 0
                            ? qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory") : 0;
                }
            }
    }
    return r;
}

static int refuse(qp_ctx *ctx, const char *what, const char *image, const qp_strv *found)
{
    size_t len = 1;
    for (size_t k = 0; k < found->n; k++)
        len += strlen(found->v[k]) + 2;
    char *list = calloc(1, len);
    if (!list)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t k = 0; k < found->n; k++) {
        if (k)
            strcat(list, ", ");
        strcat(list, found->v[k]);
    }
    int r = qp_error(ctx, SB_ERR_OPERATION_INVALID,
                     "%s would rewrite image '%s' in place, but snapshot%s %s still need%s its "
                     "current contents; nothing was changed (delete %s first: an external "
                     "snapshot is merged back into its image)",
                     what, image, found->n > 1 ? "s" : "", list, found->n > 1 ? "" : "s",
                     found->n > 1 ? "them" : "it");
    free(list);
    return r;
}

int qp_guard_active_layers(qp_ctx *ctx, const char *domain, const qp_strv *images,
                           const char *what)
{
    if (!images->n)
        return 0;
    if (!ctx->api || !ctx->api->tree_list || !ctx->api->tree_get_xml)
        return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "%s: the broker offers no snapshot tree, so it cannot be told whether "
                        "another snapshot needs the image", what);
    qp_strv *found = calloc(images->n, sizeof *found);
    if (!found)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    struct guard_walk g = { .images = images, .found = found };
    int r = qp_refs_each(ctx, domain, NULL, check_snapshot, &g);
    for (size_t i = 0; i < images->n && r == 0; i++)
        if (found[i].n)
            r = refuse(ctx, what, images->v[i], &found[i]);
    for (size_t i = 0; i < images->n; i++)
        qp_strv_free(&found[i]);
    free(found);
    cache_free(&g.cc);
    return r;
}
