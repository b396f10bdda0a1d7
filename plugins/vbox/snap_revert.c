/* vbox plugin - reverting a powered-off machine to a snapshot, as
 * VirtualBox restores one: the machine's state becomes a copy of the
 * snapshot's, every normal hard disk gets a fresh empty differencing
 * image on the snapshot's image, and the differencing images of the
 * current state that nothing else uses are discarded (as is a saved
 * state).  The snapshot becomes current. */
#include "vb.h"
#include "ops.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct fresh {
    size_t att;        /* attachment index in the snapshot's state */
    long parent;       /* the snapshot's image */
    char uuid[VB_UUID_LEN];
    char *path, *location;
} fresh;

static void fresh_free(fresh *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].location);
    }
    free(f);
}

int vb_medium_in_snapshots(const vb_machine *m, const char *uuid)
{
    for (size_t i = 0; i < m->nsnaps; i++)
        for (size_t k = 0; k < m->snaps[i].hw.natt; k++)
            if (strcmp(m->snaps[i].hw.att[k].image, uuid) == 0)
                return 1;
    return 0;
}

static int plan_fresh(vb_ctx *ctx, const vb_machine *m, const vb_snap *s, fresh **out,
                      size_t *n)
{
    char **targets = NULL;
    fresh *f = calloc(s->hw.natt + 1, sizeof *f);
    size_t k = 0;
    int rc = f ? vb_disk_targets(ctx, &s->hw, &targets) : vb_oom(ctx);

    for (size_t i = 0; rc == 0 && i < s->hw.natt; i++) {
        const vb_attach *a = &s->hw.att[i];
        const char *target = targets[i] ? targets[i] : a->controller;
        long md = a->dev == VB_DEV_HDD && a->image[0] ? vb_medium_index(m, a->image) : -1;
        if (a->dev == VB_DEV_HDD && a->image[0] && md < 0) {
            rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                          "disk '%s' of snapshot '%s' refers to medium {%s}, which no media "
                          "registry lists", target, s->name, a->image);
            break;
        }
        if (md < 0 || !vb_medium_snapshotted(m, &m->media[md]))
            continue;
        f[k].att = i;
        f[k].parent = md;
        rc = vb_plan_diff(ctx, m, md, target, f[k].uuid, &f[k].path, &f[k].location);
        k++;
    }
    vb_targets_free(targets, s->hw.natt);
    if (rc < 0) {
        fresh_free(f, k);
        return rc;
    }
    *out = f;
    *n = k;
    return 0;
}

/* The current state's own differencing images: discarded by the revert. */
static int plan_discard(vb_ctx *ctx, const vb_machine *m, vb_intent *in)
{
    for (size_t i = 0; i < m->hw.natt; i++) {
        long md = vb_medium_index(m, m->hw.att[i].image);
        if (md < 0 || m->media[md].parent < 0 || m->media[md].global ||
            vb_medium_children(m, md, NULL) || vb_medium_in_snapshots(m, m->media[md].uuid))
            continue;
        if (vb_intent_add(in, &in->obsolete, m->media[md].uuid, m->media[md].path) < 0)
            return vb_oom(ctx);
    }
    if (m->state_file) {
        char *sav = vb_path_join(m->dir, m->state_file);
        int r = sav ? vb_intent_add(in, &in->obsolete, NULL, sav) : -1;
        free(sav);
        if (r < 0)
            return vb_oom(ctx);
    }
    return 0;
}

static int edit(vb_ctx *ctx, vb_doc *d, const vb_snap *s, const fresh *f, size_t n,
                const vb_intent *in)
{
    xmlNode *sn = vb_doc_snapshot(d->machine, s->uuid);
    if (!sn || vb_doc_restore_state(d->machine, sn) < 0)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot restore the state of snapshot '%s'",
                        s->name);
    for (size_t i = 0; i < n; i++) {
        if (vb_doc_add_diff(d->machine, d->m->media[f[i].parent].uuid, f[i].uuid,
                            f[i].location) < 0 ||
            vb_doc_set_image(d->machine, &s->hw.att[f[i].att], f[i].uuid) < 0)
            return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot attach new image {%s} in '%s'",
                            f[i].uuid, d->path);
    }
    for (size_t i = 0; i < in->obsolete.n; i++) {
        char uuid[VB_UUID_LEN];
        if (sscanf(in->obsolete.v[i], "%36s", uuid) == 1 && vb_uuid_parse(uuid, uuid) == 0 &&
            vb_doc_remove_disk(d->machine, uuid) < 0)
            return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot unregister image {%s} in '%s'",
                            uuid, d->path);
    }
    xmlUnsetProp(d->machine, (const xmlChar *)"stateFile");
    if (vb_doc_set_current(d->machine, s->uuid, 0, (long long)time(NULL)) < 0)
        return vb_oom(ctx);
    return 0;
}

static int start_after(vb_ctx *ctx, const vb_machine *m, unsigned flags)
{
    if (!(flags & (SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED)))
        return 0;
    const char *start[] = { "startvm", m->uuid, "--type", "headless", NULL };
    const char *pause[] = { "controlvm", m->uuid, "pause", NULL };
    int rc = vb_vboxmanage(ctx, start);
    if (rc == 0 && (flags & SB_SNAPSHOT_REVERT_PAUSED))
        rc = vb_vboxmanage(ctx, pause);
    return rc;
}

int vb_op_revert(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags)
{
    vb_doc d;
    vb_intent in;
    fresh *f = NULL;
    size_t n = 0;
    int rc;

    memset(&in, 0, sizeof in);
    if ((flags & (SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED)) && !ctx->vboxmanage)
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "%s: starting the machine after a revert needs VirtualBox's "
                        "VBoxManage, which is not installed on this host",
                        (flags & SB_SNAPSHOT_REVERT_RUNNING)
                            ? "VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING"
                            : "VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED");
    if ((rc = vb_doc_open(ctx, settings_path, &d)) < 0)
        return rc;
    const vb_machine *m = d.m;
    if ((rc = vb_doc_dom(ctx, &d)) < 0)
        goto out;
    long si = vb_snapshot_from_xml(ctx, m, xml, &rc);
    if (si < 0)
        goto out;
    const vb_snap *s = &m->snaps[si];
    vb_procs procs;
    if ((rc = vb_procs_find(ctx, m, &procs)) < 0)
        goto out;
    if (procs.vm) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "cannot revert snapshot of running domain '%s' (process %ld): power it "
                      "off first", m->name, (long)procs.vm);
        goto out;
    }
    if ((rc = vb_writable(ctx, m, "reverting")) == 1) {
        const char *args[] = { "snapshot", m->uuid, "restore", s->uuid, NULL };
        if ((rc = vb_vboxmanage(ctx, args)) == 0)
            rc = start_after(ctx, m, flags);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (s->state_file) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "snapshot '%s' holds a saved machine state; restoring it needs "
                      "VirtualBox's VBoxManage", s->name);
        goto out;
    }
    snprintf(in.op, sizeof in.op, "revert");
    if ((rc = plan_fresh(ctx, m, s, &f, &n)) < 0 || (rc = plan_discard(ctx, m, &in)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (vb_intent_add(&in, &in.created, f[i].uuid, f[i].path) < 0) {
            rc = vb_oom(ctx);
            goto out;
        }
    if ((rc = vb_intent_write(ctx, settings_path, &in)) < 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = vb_make_diff(ctx, m, f[i].parent, f[i].uuid, f[i].path);
        vb_test_point(ctx, "revert-image");
    }
    if (rc == 0)
        rc = edit(ctx, &d, s, f, n, &in);
    vb_test_point(ctx, "revert-settings");
    if (rc == 0)
        rc = vb_doc_save(ctx, &d);
    vb_test_point(ctx, "revert-committed");
    rc = vb_intent_done(ctx, settings_path, &in, rc);
    if (rc == 0)
        rc = start_after(ctx, m, flags);
out:
    vb_intent_free(&in);
    fresh_free(f, n);
    vb_doc_close(&d);
    return rc;
}
