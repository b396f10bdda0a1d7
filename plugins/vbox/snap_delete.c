/* vbox plugin - deleting snapshots of a powered-off machine, as VirtualBox
 * deletes one: for each normal hard disk, the snapshot's image X and its
 * only child Y (the image of the next state) become one image.
 *   - X is a base image: Y is merged into X (backward), every state that
 *     used Y uses X, Y's children hang under X, Y goes;
 *   - X is a differencing image: the smaller of the two is merged into the
 *     larger (VirtualBox's preferred direction): forward, X into Y, which
 *     then hangs under X's parent, X goes; or backward as above;
 *   - X has no child: a differencing X goes, a base stays (detached);
 *   - X has several children: refused, as VirtualBox refuses it.
 * The snapshot's children move up to its parent; if it was current, its
 * parent becomes current.  CHILDREN deletes the descendants first, each
 * the same way; METADATA_ONLY only removes the <Snapshot> elements. */
#include "vb.h"
#include "ops.h"
#include "settings.h"
#include "vdi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct step {
    long x;        /* the snapshot's image */
    long y;        /* its only child, -1 when none */
    int forward;   /* merge X into Y (else Y into X) */
} step;

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* How many states (snapshots and the current one) attach medium uuid. */
static size_t users(const vb_machine *m, const char *uuid)
{
    size_t n = 0;
    for (size_t k = 0; k < m->hw.natt; k++)
        n += strcmp(m->hw.att[k].image, uuid) == 0;
    for (size_t i = 0; i < m->nsnaps; i++)
        for (size_t k = 0; k < m->snaps[i].hw.natt; k++)
            n += strcmp(m->snaps[i].hw.att[k].image, uuid) == 0;
    return n;
}

static int forced_direction(const vb_strv *forced, const char *uuid)
{
    for (size_t i = 0; forced && i < forced->n; i++) {
        char u[VB_UUID_LEN], dir[8];
        if (sscanf(forced->v[i], "%36s %7s", u, dir) == 2 && strcmp(u, uuid) == 0)
            return strcmp(dir, "fwd") == 0;
    }
    return -1;
}

static int writable_vdi(vb_ctx *ctx, const vb_medium *md, const char *target)
{
    if (md->global || !md->format || strcmp(md->format, "VDI") != 0)
        return vb_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "disk '%s': image '%s' is %s; the plugin merges VDI images of the "
                        "machine's own registry only (VirtualBox is needed)", target, md->path,
                        md->global ? "registered in VirtualBox.xml" : "not a VDI image");
    if (!vb_file_exists(md->path))
        return vb_error(ctx, SB_ERR_OPERATION_INVALID, "disk '%s': medium {%s} ('%s') is missing",
                        target, md->uuid, md->path);
    return 0;
}

/* Whether x and y can be merged, asked of their headers and block maps
 * before anything is written: a disk whose merge fails after another
 * disk's has run leaves the snapshot holding newer data (the earlier merge
 * wrote into its image), and an intent the next writer can only retry.  A
 * damaged block map would fail the merge part-way, and every retry. */
static int check_mergeable(vb_ctx *ctx, const vb_medium *x, const vb_medium *y)
{
    vb_vdi *a = NULL, *b = NULL;
    int rc = vb_vdi_open(ctx, x->path, 0, &a);
    if (rc == 0)
        rc = vb_vdi_open(ctx, y->path, 0, &b);
    if (rc == 0)
        rc = vb_vdi_mergeable(ctx, a, b);
    if (rc == 0)
        rc = vb_vdi_check(ctx, a);
    if (rc == 0)
        rc = vb_vdi_check(ctx, b);
    vb_vdi_close(a);
    vb_vdi_close(b);
    return rc;
}

/* One step per normal hard disk of snapshot t. */
static int plan(vb_ctx *ctx, const vb_machine *m, const vb_snap *t, const vb_strv *forced,
                step **out, size_t *n)
{
    char **targets = NULL;
    step *st = calloc(t->hw.natt + 1, sizeof *st);
    size_t k = 0;
    int rc = st ? vb_disk_targets(ctx, &t->hw, &targets) : vb_oom(ctx);

    for (size_t i = 0; rc == 0 && i < t->hw.natt; i++) {
        const vb_attach *a = &t->hw.att[i];
        const char *target = targets[i] ? targets[i] : a->controller;
        long x = a->dev == VB_DEV_HDD ? vb_medium_index(m, a->image) : -1, y = -1;
        if (x < 0 || !vb_medium_snapshotted(m, &m->media[x]))
            continue;
        size_t kids = vb_medium_children(m, x, &y);
        if (kids > 1) {
            rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                          "cannot delete snapshot '%s': hard disk '%s' has more than one child "
                          "hard disk (%zu)", t->name, m->media[x].path, kids);
            break;
        }
        if (users(m, m->media[x].uuid) > 1) {
            rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                          "cannot delete snapshot '%s': its image '%s' of disk '%s' is also "
                          "attached elsewhere", t->name, m->media[x].path, target);
            break;
        }
        if (kids == 0 && m->media[x].parent < 0)
            continue; /* a base nobody grows from: it stays, detached */
        if ((rc = writable_vdi(ctx, &m->media[x], target)) < 0 ||
            (y >= 0 && (rc = writable_vdi(ctx, &m->media[y], target)) < 0) ||
            (y >= 0 && (rc = check_mergeable(ctx, &m->media[x], &m->media[y])) < 0))
            break;
        st[k].x = x;
        st[k].y = y;
        if (y >= 0 && m->media[x].parent >= 0) {
            int f = forced_direction(forced, m->media[x].uuid);
            st[k].forward = f >= 0 ? f
                                   : file_size(m->media[x].path) <= file_size(m->media[y].path);
        }
        k++;
    }
    vb_targets_free(targets, t->hw.natt);
    if (rc < 0) {
        free(st);
        return rc;
    }
    *out = st;
    *n = k;
    return 0;
}

static int journal(vb_ctx *ctx, const vb_machine *m, const vb_snap *t, const step *st, size_t n,
                   vb_intent *in)
{
    int bad = 0;
    snprintf(in->op, sizeof in->op, "delete");
    memcpy(in->snapshot, t->uuid, VB_UUID_LEN);
    for (size_t i = 0; i < n; i++) {
        const vb_medium *x = &m->media[st[i].x];
        if (st[i].y < 0) {
            bad |= vb_intent_add(in, &in->obsolete, x->uuid, x->path) < 0;
            continue;
        }
        const vb_medium *y = &m->media[st[i].y];
        bad |= vb_intent_add(in, &in->merges, x->uuid, st[i].forward ? "fwd" : "bwd") < 0;
        if (st[i].forward) {
            bad |= vb_intent_add(in, &in->obsolete, x->uuid, x->path) < 0;
            bad |= vb_intent_add(in, &in->reparent, y->uuid, y->path) < 0;
        } else {
            bad |= vb_intent_add(in, &in->obsolete, y->uuid, y->path) < 0;
            for (size_t c = 0; c < m->nmedia; c++)
                if (m->media[c].parent == st[i].y)
                    bad |= vb_intent_add(in, &in->reparent, m->media[c].uuid,
                                         m->media[c].path) < 0;
        }
    }
    if (t->state_file) {
        char *sav = vb_path_join(m->dir, t->state_file);
        bad |= !sav || vb_intent_add(in, &in->obsolete, NULL, sav) < 0;
        free(sav);
    }
    return bad ? vb_oom(ctx) : 0;
}

/* *snapshot_changed: a backward merge got as far as writing into the
 * snapshot's own image (from then on the delete can only go forward). */
static int merge(vb_ctx *ctx, const vb_machine *m, const step *s, int *snapshot_changed)
{
    const vb_medium *x = &m->media[s->x], *y = &m->media[s->y];
    vb_vdi *src = NULL, *dst = NULL;
    size_t copied = 0;
    int rc;
    if ((rc = vb_vdi_open(ctx, s->forward ? x->path : y->path, 0, &src)) == 0 &&
        (rc = vb_vdi_open(ctx, s->forward ? y->path : x->path, 1, &dst)) == 0) {
        *snapshot_changed |= !s->forward;
        rc = vb_vdi_merge(ctx, src, dst, s->forward, &copied);
    }
    if (rc == 0)
        vb_log(ctx, SB_LOG_INFO, "merged '%s' into '%s' (%zu blocks)", src->path, dst->path,
               copied);
    vb_vdi_close(src);
    vb_vdi_close(dst);
    return rc;
}

static int edit(vb_ctx *ctx, vb_doc *d, const vb_snap *t, const step *st, size_t n)
{
    const vb_machine *m = d->m;
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        const vb_medium *x = &m->media[st[i].x];
        if (st[i].y < 0) {
            bad = vb_doc_remove_disk(d->machine, x->uuid) < 0;
            continue;
        }
        const vb_medium *y = &m->media[st[i].y];
        if (st[i].forward) {
            bad = vb_doc_move_disk(d->machine, y->uuid, m->media[x->parent].uuid) < 0 ||
                  vb_doc_remove_disk(d->machine, x->uuid) < 0;
            continue;
        }
        for (size_t c = 0; c < m->nmedia && !bad; c++)
            if (m->media[c].parent == st[i].y)
                bad = vb_doc_move_disk(d->machine, m->media[c].uuid, x->uuid) < 0;
        bad = bad || vb_doc_replace_image(d->machine, y->uuid, x->uuid) < 0 ||
              vb_doc_remove_disk(d->machine, y->uuid) < 0;
    }
    xmlNode *sn = vb_doc_snapshot(d->machine, t->uuid);
    bad = bad || !sn || vb_doc_remove_snapshot(sn) < 0;
    if (!bad && strcmp(m->current, t->uuid) == 0)
        bad = vb_doc_set_current(d->machine, t->parent >= 0 ? m->snaps[t->parent].uuid : NULL,
                                 -1, -1) < 0;
    if (bad)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot remove snapshot '%s' from '%s'",
                        t->name, d->path);
    return 0;
}

/* Could an earlier run of this delete (killed, or failed) have written
 * into the snapshot's images?  Only a backward merge does. */
static int any_backward(const step *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (st[i].y >= 0 && !st[i].forward)
            return 1;
    return 0;
}

/* A merge failed (rc).  Forward merges only copy into the later image
 * blocks it reads through the snapshot's image anyway: while no backward
 * merge has written into a snapshot's image, every state still reads what
 * it read, so the delete is dropped (its intent with it) and the machine
 * stays usable.  Otherwise the snapshot's image holds part of the next
 * state's data and the delete can only be finished: the intent stays and
 * the next operation on the machine finishes it once the cause is gone. */
static int merge_failed(vb_ctx *ctx, const char *settings_path, const vb_machine *m,
                        const vb_snap *t, int snapshot_changed, int rc)
{
    char head[512];
    if (rc == -SB_ERR_NO_MEMORY)
        return rc; /* the next access finishes or drops it: no advice needed */
    if (!snapshot_changed && vb_intent_clear(ctx, settings_path) == 0) {
        snprintf(head, sizeof head, "cannot delete snapshot '%s' of domain '%s': ", t->name,
                 m->name);
        return vb_error_around(ctx, rc, head, "; nothing any snapshot or the machine reads was "
                               "changed, and the delete can be run again once that is put right");
    }
    vb_log(ctx, SB_LOG_WARN, "delete of snapshot '%s' stopped part-way; it is finished by the "
           "next operation on the machine", t->name);
    snprintf(head, sizeof head, "deleting snapshot '%s' of domain '%s' stopped part-way: ",
             t->name, m->name);
    return vb_error_around(ctx, rc, head, "; part of the next state's data is merged into the "
                           "snapshot's image already, so the delete can only be finished (no "
                           "data is lost): once that is put right (the image writable, space "
                           "freed), the next operation on the machine finishes it; until then "
                           "changes to the machine are refused, reads work");
}

int vb_delete_one(vb_ctx *ctx, const char *settings_path, const char *snap_uuid,
                  const vb_strv *forced)
{
    vb_doc d;
    vb_intent in;
    step *st = NULL;
    size_t n = 0;
    int rc;

    memset(&in, 0, sizeof in);
    if ((rc = vb_doc_open(ctx, settings_path, &d)) < 0)
        return rc;
    const vb_machine *m = d.m;
    if ((rc = vb_doc_dom(ctx, &d)) < 0)
        goto out;
    long ti = vb_snap_index(m, snap_uuid);
    if (ti < 0) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID, "domain '%s' has no snapshot {%s}", m->name,
                      snap_uuid);
        goto out;
    }
    const vb_snap *t = &m->snaps[ti];
    if (t->nchildren > 1) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "snapshot '%s' of domain '%s' cannot be deleted: it has %zu child "
                      "snapshots, and VirtualBox deletes a snapshot with at most one",
                      t->name, m->name, t->nchildren);
        goto out;
    }
    if ((rc = plan(ctx, m, t, forced, &st, &n)) < 0 || (rc = journal(ctx, m, t, st, n, &in)) < 0 ||
        (rc = vb_intent_write(ctx, settings_path, &in)) < 0)
        goto out;
    /* a run resumed from an intent cannot know how far the last one got */
    int snapshot_changed = forced ? any_backward(st, n) : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (st[i].y >= 0)
            rc = merge(ctx, m, &st[i], &snapshot_changed);
        vb_test_point(ctx, "delete-merged");
    }
    if (rc < 0) {
        rc = merge_failed(ctx, settings_path, m, t, snapshot_changed, rc);
        goto out;
    }
    rc = edit(ctx, &d, t, st, n);
    vb_test_point(ctx, "delete-settings");
    if (rc == 0)
        rc = vb_doc_save(ctx, &d);
    vb_test_point(ctx, "delete-committed");
    if (rc == 0) {
        rc = vb_intent_finish(ctx, settings_path, &in);
    } else if (rc != -SB_ERR_NO_MEMORY) {
        /* a merge may have begun: the next writer finishes the delete */
        vb_log(ctx, SB_LOG_WARN, "delete of snapshot '%s' interrupted; it is finished by the "
               "next operation on the machine", t->name);
    }
out:
    vb_intent_free(&in);
    free(st);
    vb_doc_close(&d);
    return rc;
}

/* The snapshots a delete removes, children before their parents. */
static int victims(vb_ctx *ctx, const vb_machine *m, long top, unsigned flags, vb_strv *out)
{
    /* reverse document order puts every child before its parent */
    if (flags & (SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY)) {
        for (size_t i = m->nsnaps; i-- > (size_t)top + 1;) {
            long p = m->snaps[i].parent;
            while (p >= 0 && p != top)
                p = m->snaps[p].parent;
            if (p == top && vb_strv_add(out, m->snaps[i].uuid) < 0)
                return vb_oom(ctx);
        }
    }
    if (!(flags & SB_SNAPSHOT_DELETE_CHILDREN_ONLY) && vb_strv_add(out, m->snaps[top].uuid) < 0)
        return vb_oom(ctx);
    return 0;
}

/* METADATA_ONLY: the <Snapshot> elements go, every image stays. */
static int delete_metadata(vb_ctx *ctx, vb_doc *d, long top, const vb_strv *gone)
{
    const vb_machine *m = d->m;
    long cur = vb_snap_index(m, m->current);
    int removed_current = 0;
    for (size_t i = 0; i < gone->n; i++) {
        xmlNode *sn = vb_doc_snapshot(d->machine, gone->v[i]);
        if (!sn || vb_doc_remove_snapshot(sn) < 0)
            return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot remove snapshot {%s} from '%s'",
                            gone->v[i], d->path);
        removed_current |= cur >= 0 && strcmp(m->snaps[cur].uuid, gone->v[i]) == 0;
    }
    if (removed_current) {
        /* the nearest ancestor that stays */
        long p = cur;
        for (int stays = 0; p >= 0 && !stays;) {
            p = m->snaps[p].parent;
            stays = 1;
            for (size_t i = 0; p >= 0 && i < gone->n; i++)
                if (strcmp(m->snaps[p].uuid, gone->v[i]) == 0)
                    stays = 0;
        }
        (void)top;
        if (vb_doc_set_current(d->machine, p >= 0 ? m->snaps[p].uuid : NULL, -1, -1) < 0)
            return vb_oom(ctx);
    }
    return vb_doc_save(ctx, d);
}

int vb_op_delete(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags)
{
    vb_doc d;
    vb_strv gone = { 0 };
    int rc;

    if ((rc = vb_doc_open(ctx, settings_path, &d)) < 0)
        return rc;
    const vb_machine *m = d.m;
    long top = vb_snapshot_from_xml(ctx, m, xml, &rc);
    if (top < 0)
        goto out;
    if ((rc = victims(ctx, m, top, flags, &gone)) < 0)
        goto out;
    if ((rc = vb_writable(ctx, m, "deleting a snapshot of")) == 1) {
        for (size_t i = 0; i < gone.n && rc >= 0; i++) {
            const char *args[] = { "snapshot", m->uuid, "delete", gone.v[i], NULL };
            rc = vb_vboxmanage(ctx, args);
        }
        goto out;
    }
    if (rc < 0)
        goto out;
    if (flags & SB_SNAPSHOT_DELETE_METADATA_ONLY) {
        if (!(flags & (SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY)) &&
            m->snaps[top].nchildren) {
            rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                          "cannot delete the metadata of snapshot '%s': it has children",
                          m->snaps[top].name);
            goto out;
        }
        if ((rc = vb_doc_dom(ctx, &d)) == 0)
            rc = delete_metadata(ctx, &d, top, &gone);
        goto out;
    }
    if (m->state_file) {
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "domain '%s' is in saved state; merging its images needs VirtualBox",
                      m->name);
        goto out;
    }
    vb_doc_close(&d); /* each delete reads the file as the previous one left it */
    for (size_t i = 0; i < gone.n && rc == 0; i++)
        rc = vb_delete_one(ctx, settings_path, gone.v[i], NULL);
    vb_strv_free(&gone);
    return rc;
out:
    vb_strv_free(&gone);
    vb_doc_close(&d);
    return rc;
}
