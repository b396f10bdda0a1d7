/* vbox plugin - taking a snapshot of a powered-off machine, as VirtualBox
 * does: a new <Snapshot> under the current one with a copy of the
 * machine's state (hardware and attachments), a new empty differencing
 * VDI for every normal hard disk, registered under the image it grows
 * from, and the machine's attachments moved to the new images.  The new
 * snapshot becomes current.  A running machine goes through VBoxManage. */
#include "vb.h"
#include "ops.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* VirtualBox's limit (settings.h:SETTINGS_SNAPSHOT_DEPTH_MAX): deeper
 * trees would overflow libxml2's nesting limits when VirtualBox reads them. */
#define VB_DEPTH_MAX 250

typedef struct plan {
    size_t att;               /* attachment index in the machine's state */
    long parent;              /* medium the new image grows from */
    char uuid[VB_UUID_LEN];
    char *path, *location;
} plan;

static void plans_free(plan *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].path);
        free(p[i].location);
    }
    free(p);
}

/* One new differencing image per normal hard disk of the current state. */
static int make_plans(vb_ctx *ctx, const vb_machine *m, plan **out, size_t *n)
{
    char **targets = NULL;
    plan *p = calloc(m->hw.natt + 1, sizeof *p);
    size_t k = 0;
    int rc = p ? vb_disk_targets(ctx, &m->hw, &targets) : vb_oom(ctx);

    for (size_t i = 0; rc == 0 && i < m->hw.natt; i++) {
        const vb_attach *a = &m->hw.att[i];
        const char *target = targets[i] ? targets[i] : a->controller;
        if (a->dev != VB_DEV_HDD || !a->image[0])
            continue;
        long md = vb_medium_index(m, a->image);
        if (md < 0) {
            rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                          "disk '%s' refers to medium {%s}, which no media registry lists",
                          target, a->image);
            break;
        }
        if (!vb_medium_snapshotted(m, &m->media[md]))
            continue;
        p[k].att = i;
        p[k].parent = md;
        rc = vb_plan_diff(ctx, m, md, target, p[k].uuid, &p[k].path, &p[k].location);
        k++;
    }
    vb_targets_free(targets, m->hw.natt);
    if (rc < 0) {
        plans_free(p, k);
        return rc;
    }
    *out = p;
    *n = k;
    return 0;
}

static int edit(vb_ctx *ctx, vb_doc *d, const char *snap, const char *name, const char *desc,
                const plan *p, size_t n, long long now);

/* The new settings as text (settings_splice.c), or through the document
 * when the file's shape does not allow that. */
static int write_settings(vb_ctx *ctx, vb_doc *d, const char *snap, const char *name,
                          const char *desc, const plan *p, size_t n, long long now)
{
    vb_new_disk *nd = calloc(n + 1, sizeof *nd);
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (!nd)
        return vb_oom(ctx);
    for (size_t i = 0; i < n; i++) {
        nd[i].att = p[i].att;
        nd[i].parent = p[i].parent;
        nd[i].uuid = p[i].uuid;
        nd[i].location = p[i].location;
    }
    rc = ctx->no_splice ? 1
                        : vb_splice_snapshot(ctx, d->m, d->old, d->old_len, snap, name, desc, now,
                                             nd, n, &text, &len);
    free(nd);
    vb_test_point(ctx, "create-settings");
    if (rc == 0)
        rc = vb_doc_save_text(ctx, d, text, len);
    else if (rc == 1 && (rc = vb_doc_dom(ctx, d)) == 0 &&
             (rc = edit(ctx, d, snap, name, desc, p, n, now)) == 0)
        rc = vb_doc_save(ctx, d);
    free(text);
    return rc;
}

static int edit(vb_ctx *ctx, vb_doc *d, const char *snap, const char *name, const char *desc,
                const plan *p, size_t n, long long now)
{
    const vb_snap *cur = vb_current(d->m);
    xmlNode *parent = cur ? vb_doc_snapshot(d->machine, cur->uuid) : NULL;
    xmlNode *s;
    if (cur && !parent)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "snapshot {%s} vanished from '%s'",
                        cur->uuid, d->path);
    if (!(s = vb_doc_new_snapshot(d->machine, parent, snap, name, desc, now)) ||
        vb_doc_copy_state(d->machine, s) < 0)
        return vb_oom(ctx);
    for (size_t i = 0; i < n; i++) {
        const vb_attach *a = &d->m->hw.att[p[i].att];
        if (vb_doc_add_diff(d->machine, d->m->media[p[i].parent].uuid, p[i].uuid,
                            p[i].location) < 0 ||
            vb_doc_set_image(d->machine, a, p[i].uuid) < 0)
            return vb_error(ctx, SB_ERR_INTERNAL_ERROR,
                            "cannot attach new image {%s} in '%s'", p[i].uuid, d->path);
    }
    if (vb_doc_set_current(d->machine, snap, 0, now) < 0)
        return vb_oom(ctx);
    return 0;
}

static int take_with_vboxmanage(vb_ctx *ctx, const vb_machine *m, const char *name,
                                const char *desc)
{
    const char *args[] = { "snapshot", m->uuid, "take", name, desc ? "--description" : NULL,
                           desc, NULL };
    return vb_vboxmanage(ctx, args);
}

int vb_op_create(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags)
{
    vb_doc d;
    vb_intent in;
    plan *p = NULL;
    size_t n = 0;
    char *name = NULL, *desc = NULL, snap[VB_UUID_LEN], ignored[VB_UUID_LEN];
    long long now = (long long)time(NULL);
    int rc, journaled = 0;

    /* VALIDATE is the broker's; NO_METADATA is not declared (plugin.c),
     * so the broker refuses it before this runs */
    (void)flags;
    memset(&in, 0, sizeof in);
    if (vb_xml_fields(xml, &name, &desc, ignored) < 0 || !name)
        return vb_error(ctx, SB_ERR_XML_ERROR, "snapshot definition without a name");
    if ((rc = vb_doc_open(ctx, settings_path, &d)) < 0)
        goto out_free;
    const vb_machine *m = d.m;
    if ((rc = vb_writable(ctx, m, "taking a snapshot of")) == 1) {
        rc = take_with_vboxmanage(ctx, m, name, desc);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (m->state_file) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "domain '%s' is in saved state; snapshotting a saved machine needs "
                      "VirtualBox", m->name);
        goto out;
    }
    const vb_snap *cur = vb_current(m);
    if (cur && cur->depth >= VB_DEPTH_MAX) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "cannot take another snapshot of domain '%s': it would exceed "
                      "VirtualBox's maximum snapshot depth (%d); delete an earlier snapshot",
                      m->name, VB_DEPTH_MAX);
        goto out;
    }
    if ((rc = make_plans(ctx, m, &p, &n)) < 0)
        goto out;
    vb_uuid_generate(snap);
    snprintf(in.op, sizeof in.op, "create");
    for (size_t i = 0; i < n; i++)
        if (vb_intent_add(&in, &in.created, p[i].uuid, p[i].path) < 0) {
            rc = vb_oom(ctx);
            goto out;
        }
    if (n) {
        if ((rc = vb_intent_write(ctx, settings_path, &in)) < 0)
            goto out;
        journaled = 1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = vb_make_diff(ctx, m, p[i].parent, p[i].uuid, p[i].path);
        vb_test_point(ctx, "create-image");
    }
    if (rc == 0)
        rc = write_settings(ctx, &d, snap, name, desc, p, n, now);
    vb_test_point(ctx, "create-committed");
out:
    /* committed: nothing to remove; failed: the new images go */
    if (journaled)
        rc = vb_intent_done(ctx, settings_path, &in, rc);
    vb_intent_free(&in);
    plans_free(p, n);
    vb_doc_close(&d);
out_free:
    free(name);
    free(desc);
    return rc;
}
