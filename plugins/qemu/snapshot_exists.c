/* qemu plugin - does QEMU's storage really hold this snapshot?
 *
 * The broker asks when it reconciles an operation whose process died
 * (an open journal intent): a create that got this far is adopted, a
 * delete that got this far has its metadata removed.  So the answer must
 * be "yes" only when the snapshot is whole:
 *   internal: every internal disk's image (the snapshot's <domain> source)
 *             lists the tag (qemu-img info -U: the image may be open in a
 *             running QEMU);
 *   external: every overlay exists and is backed by the image the
 *             snapshot captured (a file of that name that sits on another
 *             image is not ours), and the memory file exists if any.
 */
#include "snapshot_common.h"

#include <stdlib.h>
#include <string.h>

static int internal_whole(qp_ctx *ctx, const struct sb_snapshot_view *v, const qp_domain *dom)
{
    for (size_t i = 0; i < v->ndisks; i++) {
        if (v->disks[i].snapshot != SB_LOCATION_INTERNAL)
            continue;
        const qp_disk *k = qp_domain_disk(dom, v->disks[i].name);
        if (!k || !k->source || !qp_file_exists(k->source))
            return 0;
        int has = qp_img_has_snapshot(ctx, k->source, v->name, 1);
        if (has <= 0)
            return has;
    }
    return 1;
}

/* 1 when overlay is backed by captured (both canonicalized). */
static int backed_by(qp_ctx *ctx, const char *overlay, const char *captured)
{
    qp_img_info info;
    int r = qp_img_query(ctx, overlay, 1, &info);
    if (r < 0)
        return r;
    char *b = info.backing ? qp_realpath_or_copy(info.backing) : NULL;
    char *c = qp_realpath_or_copy(captured);
    int same = b && c && !strcmp(b, c);
    free(b);
    free(c);
    qp_img_info_free(&info);
    return same;
}

static int external_whole(qp_ctx *ctx, const struct sb_snapshot_view *v, const qp_domain *dom)
{
    for (size_t i = 0; i < v->ndisks; i++) {
        const struct sb_snapshot_disk_view *d = &v->disks[i];
        if (d->snapshot != SB_LOCATION_EXTERNAL || !d->source)
            continue;
        if (!qp_file_exists(d->source))
            return 0;
        const qp_disk *k = dom ? qp_domain_disk(dom, d->name) : NULL;
        if (k && k->source) {
            int r = backed_by(ctx, d->source, k->source);
            if (r <= 0)
                return r;
        }
    }
    if (v->memory == SB_LOCATION_EXTERNAL && v->memory_file && !qp_file_exists(v->memory_file))
        return 0;
    return 1;
}

int qp_snapshot_exists(qp_ctx *ctx, const char *domain, const char *snapshot_xml)
{
    struct sb_snapshot_view *v = NULL;
    qp_domain *dom = NULL;
    int r = qp_view(ctx, snapshot_xml, &v);
    if (r < 0)
        return r;
    /* the images the snapshot was taken of: its own <domain>, else today's */
    r = v->domain_xml ? qp_domain_parse(ctx, v->domain_xml, &dom)
                      : qp_domain_load(ctx, domain, &dom);
    if (r == 0)
        r = v->external ? external_whole(ctx, v, dom) : internal_whole(ctx, v, dom);
    qp_domain_free(dom);
    qp_view_free(ctx, v);
    return r;
}
