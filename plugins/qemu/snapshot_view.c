/* qemu plugin - the broker's views of snapshot documents, shared by
 * document.
 *
 * A view is the broker's parse of a snapshot's XML (host snapshot_view):
 * about 180 000 instructions for the 1.3 KB documents of the benchmark's
 * guest.  One operation asked for views of the same few documents again
 * and again (the snapshot it acts on at its checks, its plan, its walks
 * over the tree, the next call's checks): a fifth of the instructions of
 * the API's operations.  A view is read-only (include/snapbroker/plugin.h:
 * a plugin that wants another one copies the struct and edits its copy),
 * so one view can serve every holder of the same bytes: views are kept
 * per process by the document's bytes, counted by holder, and one
 * nobody holds goes when a new document needs its slot (least recently
 * used first).  A view of a document larger than VIEW_MAX_BYTES, or made
 * while every slot is held, is the caller's alone, as before. */
#include "snapshot_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_SLOTS 32
#define VIEW_MAX_BYTES (256 * 1024)

typedef struct view_slot {
    uint64_t hash;
    size_t len;
    char *xml; /* NULL: free slot */
    const struct sb_host_api *api; /* the broker that made it frees it */
    struct sb_snapshot_view *v;
    unsigned holders;
    uint64_t used;
} view_slot;

static struct {
    pthread_mutex_t lock;
    view_slot s[VIEW_SLOTS];
    uint64_t clock;
} views = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A held view of these bytes, or NULL. */
static struct sb_snapshot_view *find(const struct sb_host_api *api, const char *xml, size_t len,
                                     uint64_t hash)
{
    struct sb_snapshot_view *v = NULL;
    pthread_mutex_lock(&views.lock);
    for (size_t i = 0; i < VIEW_SLOTS; i++) {
        view_slot *s = &views.s[i];
        if (s->xml && s->api == api && s->hash == hash && s->len == len &&
            !memcmp(s->xml, xml, len)) {
            s->holders++;
            s->used = ++views.clock;
            v = s->v;
            break;
        }
    }
    pthread_mutex_unlock(&views.lock);
    return v;
}

/* Keep v (held once, by the caller) when a slot is free or held by
 * nobody; best effort. */
static void keep(const struct sb_host_api *api, const char *xml, size_t len, uint64_t hash,
                 struct sb_snapshot_view *v)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, xml, len + 1);
    view_slot old = {0};
    pthread_mutex_lock(&views.lock);
    view_slot *slot = NULL;
    for (size_t i = 0; i < VIEW_SLOTS; i++) {
        view_slot *s = &views.s[i];
        if (!s->xml) {
            slot = s;
            break;
        }
        if (!s->holders && (!slot || s->used < slot->used))
            slot = s;
    }
    if (slot) {
        old = *slot;
        *slot = (view_slot){.hash = hash, .len = len, .xml = copy, .api = api, .v = v,
                            .holders = 1, .used = ++views.clock};
        copy = NULL;
    }
    pthread_mutex_unlock(&views.lock);
    free(copy);
    free(old.xml);
    if (old.v)
        old.api->snapshot_view_free(old.v);
}

int qp_view(qp_ctx *ctx, const char *xml, struct sb_snapshot_view **out)
{
    const struct sb_host_api *api = ctx->api;
    if (!api || !api->snapshot_view || !api->snapshot_view_free)
        return qp_error(ctx, SB_ERR_INTERNAL_ERROR, "no snapshot_view host service");
    *out = NULL;
    size_t len = xml ? strlen(xml) : 0;
    int shared = xml && len <= VIEW_MAX_BYTES;
    uint64_t hash = shared ? qp_hash64(xml, len) : 0;
    if (shared && (*out = find(api, xml, len, hash)))
        return 0;
    int r = api->snapshot_view(ctx->h, xml, out);
    if (r < 0 || !*out)
        return r < 0 ? r : qp_error(ctx, SB_ERR_INTERNAL_ERROR, "snapshot_view returned nothing");
    if (shared)
        keep(api, xml, len, hash, *out);
    return 0;
}

void qp_view_free(qp_ctx *ctx, struct sb_snapshot_view *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&views.lock);
    for (size_t i = 0; i < VIEW_SLOTS; i++)
        if (views.s[i].v == v && views.s[i].xml) {
            views.s[i].holders--;
            v = NULL; /* kept for the next holder */
            break;
        }
    pthread_mutex_unlock(&views.lock);
    if (v && ctx->api && ctx->api->snapshot_view_free)
        ctx->api->snapshot_view_free(v);
}
