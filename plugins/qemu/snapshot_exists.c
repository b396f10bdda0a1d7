/* qemu plugin - does QEMU's storage really hold this snapshot?
 *
 * The broker asks when it reconciles an operation whose process died
 * (an open journal intent): a create that got this far is adopted, a
 * delete that got this far has its metadata removed.  So the answer must
 * be "yes" only when the snapshot is whole:
 *   internal: every internal disk's image (the snapshot's <domain> source)
 *             lists the tag (qemu-img info -U: the image may be open in a
 *             running QEMU); tags left on some images only are removed;
 *   external: every overlay exists and is backed by the image the
 *             snapshot captured (a file of that name that sits on another
 *             image is not ours), and the memory file exists if any.
 *             A snapshot the tree does not hold yet (a create being
 *             reconciled) must also be the domain's top: an overlay made
 *             by a process killed before the domain moved onto it holds
 *             nothing and is reported as "no" (the file is left alone: it
 *             may be a REUSE_EXT file the user made).
 * Repair first: a running domain whose QEMU already writes to the
 * overlays (the QMP transaction finished) while the stored definition
 * still names the old images (the process died in between) would start
 * next time on the old images and lose what QEMU wrote; QEMU is the truth,
 * so the stored definition is pointed at QEMU's top images (this also
 * covers a delete killed after QEMU pivoted back to the base).  Jobs an
 * interrupted process left in QEMU (a block commit waiting at "ready")
 * are finished first, so QEMU's state is final when it is read.
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

/* 1 if at least one of the snapshot's images lists the tag. */
static int internal_any(qp_ctx *ctx, const struct sb_snapshot_view *v, const qp_domain *dom)
{
    for (size_t i = 0; i < v->ndisks; i++) {
        const qp_disk *k = qp_domain_disk(dom, v->disks[i].name);
        if (v->disks[i].snapshot != SB_LOCATION_INTERNAL || !k || !k->source ||
            !qp_file_exists(k->source))
            continue;
        int has = qp_img_has_snapshot(ctx, k->source, v->name, 1);
        if (has != 0)
            return has;
    }
    return 0;
}

/* A create or delete killed between two disks leaves the tag on some
 * images only: the snapshot is not whole, so it does not exist, and the
 * leftover tags would make a new snapshot of that name fail as a
 * duplicate.  Finish the removal (what a failed create does itself). */
static void drop_partial(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                         const qp_domain *dom)
{
    if (internal_any(ctx, v, dom) <= 0)
        return;
    qp_log(ctx, SB_LOG_WARN, "snapshot '%s' is on some disks only; removing the leftover tags",
           v->name);
    if (qp_delete_internal(ctx, domain, v) < 0)
        qp_log(ctx, SB_LOG_WARN, "leftover tags of '%s' kept: %s", v->name, ctx->err_msg);
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
    /* an answer memory ran out for is no answer ("absent" would let a
     * check drop the snapshot's metadata) */
    int same = (info.backing && !b) || !c ? qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory")
                                           : b && !strcmp(b, c);
    free(b);
    free(c);
    qp_img_info_free(&info);
    return same;
}

/* Point the stored definition at the images QEMU runs on. */
int qp_follow_qemu(qp_ctx *ctx, const char *domain)
{
    pid_t pid = 0;
    int r = qp_proc_pid(ctx, domain, &pid);
    if (r < 0 || pid <= 0)
        return r;
    qp_qmp *q = NULL;
    qp_domain *cur = NULL;
    if ((r = qp_proc_connect(ctx, domain, &q)) < 0)
        return r;
    /* an interrupted delete's block commit may still wait to pivot */
    if ((r = qp_qmp_finish_jobs(q)) < 0 || (r = qp_domain_load(ctx, domain, &cur)) < 0) {
        qp_qmp_close(q);
        return r;
    }
    char *xml = qp_strdup(cur->xml);
    int changed = 0;
    for (size_t i = 0; i < cur->ndisks && xml && r == 0; i++) {
        const qp_disk *k = &cur->disks[i];
        if (!k->source || k->readonly)
            continue;
        qp_strv files = {0}; /* the files only: no node names asked */
        if ((r = qp_vm_disk_chain(q, k->target, &files, NULL)) == 0 && files.n) {
            char *s = qp_realpath_or_copy(k->source);
            qp_img_info info;
            if (s && strcmp(files.v[0], s) && (r = qp_img_query(ctx, files.v[0], 1, &info)) == 0) {
                qp_log(ctx, SB_LOG_WARN, "domain '%s' disk '%s': QEMU writes to '%s' but the "
                       "definition names '%s'; following QEMU", domain, k->target, files.v[0], s);
                char *nx = qp_domain_xml_set_disk(xml, k->target, files.v[0], info.format);
                qp_img_info_free(&info);
                free(xml);
                xml = nx;
                changed = 1;
            }
            free(s);
        }
        qp_strv_free(&files);
    }
    if (r == 0 && !xml)
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r == 0 && changed)
        r = qp_domain_store(ctx, domain, xml);
    free(xml);
    qp_domain_free(cur);
    qp_qmp_close(q);
    return r;
}

/* 1 when the tree already holds the snapshot (a delete, not a create). */
static int in_tree(qp_ctx *ctx, const char *domain, const char *name)
{
    char *xml = NULL;
    if (!ctx->api || !ctx->api->tree_get_xml ||
        ctx->api->tree_get_xml(ctx->h, domain, name, &xml) < 0)
        return 0;
    ctx->api->free(xml);
    return 1;
}

/* A new snapshot's overlays are the tops of the stored definition. */
static int domain_on_overlays(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v)
{
    qp_domain *cur = NULL;
    int r = qp_domain_load(ctx, domain, &cur);
    if (r < 0)
        return r;
    int on = 1;
    for (size_t i = 0; i < v->ndisks && on; i++) {
        const struct sb_snapshot_disk_view *d = &v->disks[i];
        const qp_disk *k = qp_domain_disk(cur, d->name);
        if (d->snapshot != SB_LOCATION_EXTERNAL || !d->source)
            continue;
        char *o = qp_realpath_or_copy(d->source);
        char *s = k && k->source ? qp_realpath_or_copy(k->source) : NULL;
        if (!o || (k && k->source && !s))
            on = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        else
            on = s && !strcmp(o, s);
        free(o);
        free(s);
    }
    qp_domain_free(cur);
    return on;
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

/* A delete that marked the snapshot <snapshotDeleteInProgress/> had
 * started merging: the image the snapshot captured may hold its overlay's
 * data already (QEMU may even run on it), so the snapshot's state is gone
 * whatever the overlay files say.  Such a delete is finished (the steps
 * are idempotent) and the snapshot reported absent, so the reconciler's
 * "its data was removed" is true - answering "present" made it report a
 * delete that had switched QEMU onto the base image as interrupted
 * "before the hypervisor changed".  1 when it was finished, 0 when the
 * snapshot carries no mark, negative when finishing failed. */
static int finish_started_delete(qp_ctx *ctx, const char *domain, const char *name)
{
    char *xml = NULL;
    struct sb_snapshot_view *tv = NULL;
    if (!ctx->api || !ctx->api->tree_get_xml ||
        ctx->api->tree_get_xml(ctx->h, domain, name, &xml) < 0)
        return 0;
    int marked = 0;
    if (qp_view(ctx, xml, &tv) == 0)
        for (size_t i = 0; i < tv->ndisks; i++)
            marked |= tv->disks[i].delete_in_progress;
    qp_view_free(ctx, tv);
    int r = 0;
    if (marked) {
        qp_log(ctx, SB_LOG_WARN, "snapshot '%s': finishing the delete an interrupted process had "
               "started (its merge may have changed the captured image already)", name);
        r = qp_snapshot_delete(ctx, domain, xml, 0);
        r = r < 0 ? r : 1;
    }
    ctx->api->free(xml);
    return r;
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
    if (r == 0 && v->external)
        r = qp_follow_qemu(ctx, domain);
    if (r == 0)
        r = v->external ? external_whole(ctx, v, dom) : internal_whole(ctx, v, dom);
    if (r == 1 && v->external && !in_tree(ctx, domain, v->name))
        r = domain_on_overlays(ctx, domain, v);
    else if (r == 1 && v->external) {
        int done = finish_started_delete(ctx, domain, v->name);
        r = done < 0 ? done : done ? 0 : 1;
    }
    if (r == 0 && !v->external)
        drop_partial(ctx, domain, v, dom);
    qp_domain_free(dom);
    qp_view_free(ctx, v);
    return r;
}
