/* qemu plugin - delete one snapshot's data (spec 6.1 "Delete").
 *
 * The broker calls us once per snapshot (children first) and maintains the
 * tree itself.  METADATA_ONLY: no disk work at all.
 *
 * internal: qemu-img snapshot -d (image not in use) or the QMP
 *   snapshot-delete job (image is the running disk's top).
 * external, per disk, with O = the overlay made by the snapshot and B =
 *   the image it captured (O's backing file):
 *   - O needed by nothing (not in the domain's chain, not under another
 *     snapshot's <domain>): unlink O.
 *   - otherwise merge O into B (QMP block-commit, active commit + pivot
 *     when O is the running top; qemu-img commit when shut off), rebase
 *     the images above O onto B, point every stored reference to O at B,
 *     and unlink O.  B must have no other user whose data would change.
 *   Every disk is checked before any is changed (disk_plan), so a refusal
 *   changes nothing.  While it runs the snapshot's disks carry
 *   <snapshotDeleteInProgress/> (persisted with tree_update_xml); running
 *   the delete again finishes it, with the help of the note a merge
 *   leaves between commit and rebase (merge_note.c).
 * Images are never removed while anything still needs them (libvirt issue
 * 734 lost data by deleting the image of an internal snapshot).
 */
#include "job.h"
#include "snapshot_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int qp_delete_internal(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v)
{
    qp_domain *dom = NULL, *cur = NULL;
    qp_qmp *q = NULL;
    qp_strv offline = {0}, mine = {0};
    json_object *devs = json_object_new_array();
    int r = qp_domain_load(ctx, domain, &cur);
    if (r < 0)
        goto out;
    if (v->domain_xml) {
        if ((r = qp_domain_parse(ctx, v->domain_xml, &dom)) < 0)
            goto out;
    }
    const qp_domain *src = dom ? dom : cur;
    pid_t pid = 0;
    if ((r = qp_proc_pid(ctx, domain, &pid)) < 0)
        goto out;
    if (pid > 0 && (r = qp_proc_connect(ctx, domain, &q)) < 0)
        goto out;
    int online = 0;
    /* only images the domain uses: a redefined <domain> may name any */
    if ((r = qp_domain_images(ctx, domain, cur, 1, &mine)) < 0)
        goto out;
    for (size_t i = 0; i < v->ndisks; i++) {
        if (v->disks[i].snapshot != SB_LOCATION_INTERNAL)
            continue;
        const qp_disk *k = qp_domain_disk(src, v->disks[i].name);
        if (!k || !k->source)
            continue;
        char *img = qp_realpath_or_copy(k->source);
        if (!qp_file_exists(img)) {
            r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT,
                               "image '%s' of disk '%s' (snapshot '%s'); delete with "
                               "METADATA_ONLY to drop the metadata", img, k->target, v->name);
            free(img);
            goto out;
        }
        if ((r = qp_check_domain_image(ctx, domain, &mine, img, v->name,
                                       "deleting its internal snapshot", 1)) < 0) {
            free(img);
            goto out;
        }
        int in_vm = 0;
        char node[64] = "";
        if (q) {
            /* the chains' files, and the top's node when the image is a
             * top (query-block says both; no named nodes asked) */
            for (size_t t = 0; t < cur->ndisks && !in_vm; t++) {
                qp_strv files = {0};
                if (qp_vm_disk_chain(q, cur->disks[t].target, &files, NULL) == 0) {
                    for (size_t f = 0; f < files.n; f++)
                        if (!strcmp(files.v[f], img))
                            in_vm = f == 0 ? 1 : 2;
                }
                if (in_vm == 1 &&
                    (r = qp_vm_top_node(q, cur->disks[t].target, node, sizeof node)) < 0) {
                    qp_strv_free(&files);
                    free(img);
                    goto out;
                }
                qp_strv_free(&files);
            }
        }
        if (in_vm == 2) {
            r = qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                         "disk image '%s' for internal snapshot '%s' is not the same image as "
                         "the one used by the running domain (it is a backing file now)",
                         img, v->name);
            free(img);
            goto out;
        }
        int has = qp_img_has_snapshot(ctx, img, v->name, 1);
        if (has < 0) {
            r = has;
            free(img);
            goto out;
        }
        if (!has) {
            qp_log(ctx, SB_LOG_INFO, "image '%s' no longer has internal snapshot '%s'", img, v->name);
        } else if (in_vm == 1) {
            json_object_array_add(devs, json_object_new_string(node));
            online = 1;
        } else if (qp_strv_add(&offline, img) < 0) {
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            free(img);
            goto out;
        }
        free(img);
    }
    if (online) {
        char jid[64];
        json_object *args = json_object_new_object();
        qp_job_id(jid, sizeof jid, "del");
        json_object_object_add(args, "job-id", json_object_new_string(jid));
        json_object_object_add(args, "tag", json_object_new_string(v->name));
        json_object_object_add(args, "devices", json_object_get(devs));
        if ((r = qp_qmp_job(q, "snapshot-delete", args, jid)) < 0)
            goto out;
    }
    for (size_t i = 0; i < offline.n && r == 0; i++)
        r = qp_img_snapshot_delete(ctx, offline.v[i], v->name);
out:
    json_object_put(devs);
    qp_strv_free(&offline);
    qp_strv_free(&mine);
    qp_qmp_close(q);
    qp_domain_free(dom);
    qp_domain_free(cur);
    return r;
}

/* Persist <snapshotDeleteInProgress/> on this snapshot's external disks. */
static int mark_in_progress(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v)
{
    if (!ctx->api->tree_update_xml)
        return 0;
    struct sb_snapshot_view nv = *v;
    struct sb_snapshot_disk_view *dv = calloc(v->ndisks ? v->ndisks : 1, sizeof *dv);
    if (!dv)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < v->ndisks; i++) {
        dv[i] = v->disks[i];
        if (dv[i].snapshot == SB_LOCATION_EXTERNAL)
            dv[i].delete_in_progress = 1;
    }
    nv.disks = dv;
    char *xml = NULL;
    int r = qp_format(ctx, &nv, &xml);
    free(dv);
    if (r == 0)
        r = ctx->api->tree_update_xml(ctx->h, domain, v->name, xml);
    free(xml);
    return r;
}

/* 1 when path is one of need's watched paths whose naming snapshots the
 * walk noted (qp_needed_compute_watch). */
static int watched(const qp_needed *need, const char *path)
{
    return need && need->watch_done && qp_strv_has(&need->watched, path);
}

/* The domain's definition with every disk on old_path moved to new_path
 * (*out NULL when no disk is on old_path). */
static int definition_repointed(qp_ctx *ctx, const char *domain, const char *old_path,
                                const char *new_path, const char *new_fmt, char **out)
{
    *out = NULL;
    qp_domain *cur = NULL;
    int r = qp_domain_load(ctx, domain, &cur);
    if (r < 0)
        return r;
    char *xml = qp_strdup(cur->xml);
    int changed = 0;
    for (size_t i = 0; i < cur->ndisks && xml; i++) {
        char *c = qp_realpath_or_copy(cur->disks[i].source);
        if (cur->disks[i].source && !c) { /* unknown: the disk may be on old_path */
            free(xml);
            xml = NULL;
        } else if (c && !strcmp(c, old_path)) {
            char *nx = qp_domain_xml_set_disk(xml, cur->disks[i].target, new_path, new_fmt);
            free(xml);
            xml = nx;
            changed = 1;
        }
        free(c);
    }
    qp_domain_free(cur);
    if (!xml)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (changed)
        *out = xml;
    else
        free(xml);
    return 0;
}

/* A snapshot that names the merged overlay and could not be repointed:
 * an error, so the caller stops before it removes the overlay (the
 * snapshot keeps naming a file that reads as before; docs/qemu.md says
 * why a re-run of a shut-off delete cannot finish from there). */
static int repoint_failed(qp_ctx *ctx, const char *snapshot)
{
    return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory repointing snapshot '%s'", snapshot);
}

/* Point every stored reference to old_path at new_path: other snapshots'
 * XML and the domain definition.  Only the snapshots the walk of need
 * found naming old_path are read again when it watched old_path; else
 * every snapshot is. */
static int repoint_refs(qp_ctx *ctx, const char *domain, const char *skip, const char *old_path,
                        const char *new_path, const char *new_fmt, const qp_needed *need)
{
    int r = 0;
    char **names = NULL;
    size_t nn = 0;
    qp_strmap resolved = {0};
    int noted = watched(need, old_path);
    if (noted && ctx->api->tree_update_xml) {
        for (size_t i = 0; i < need->hit_path.n && r == 0; i++) {
            if (strcmp(need->hit_path.v[i], old_path) || !strcmp(need->hit_name.v[i], skip))
                continue;
            char *xml = NULL, *nx = NULL;
            int changed = 0;
            if ((r = ctx->api->tree_get_xml(ctx->h, domain, need->hit_name.v[i], &xml)) < 0)
                break;
            if (!(nx = qp_xml_replace_source(xml, old_path, new_path, &changed)))
                r = repoint_failed(ctx, need->hit_name.v[i]);
            else if (changed)
                r = ctx->api->tree_update_xml(ctx->h, domain, need->hit_name.v[i], nx);
            free(nx);
            if (xml)
                ctx->api->free(xml);
        }
    } else if (!ctx->api->tree_list || !ctx->api->tree_update_xml) {
        r = qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                     "the broker offers no snapshot tree to update: cannot repoint the "
                     "snapshots that name '%s'", old_path);
    } else if ((r = ctx->api->tree_list(ctx->h, domain, &names, &nn)) == 0) {
        for (size_t i = 0; i < nn; i++) {
            char *xml = NULL;
            if (r == 0 && strcmp(names[i], skip) &&
                (r = ctx->api->tree_get_xml(ctx->h, domain, names[i], &xml)) == 0) {
                int changed = 0;
                char *nx = NULL;
                if (!qp_xml_may_name(xml, old_path, &resolved))
                    ; /* nothing to repoint: no parse */
                else if (!(nx = qp_xml_replace_source(xml, old_path, new_path, &changed)))
                    r = repoint_failed(ctx, names[i]);
                else if (changed)
                    r = ctx->api->tree_update_xml(ctx->h, domain, names[i], nx);
                free(nx);
                ctx->api->free(xml);
            }
            ctx->api->free(names[i]);
        }
        ctx->api->free(names);
    }
    qp_strmap_free(&resolved);
    if (r < 0)
        return r;
    char *xml = NULL;
    if ((r = definition_repointed(ctx, domain, old_path, new_path, new_fmt, &xml)) == 0 && xml)
        r = qp_domain_store(ctx, domain, xml);
    free(xml);
    return r;
}

/* A merge stopped half-way (domjobabort, the stall timeout): B may hold
 * part of O's data, so the state the snapshot captured is gone, while
 * everything above O still reads as before (O's data wins over B's).  The
 * snapshot keeps its <snapshotDeleteInProgress/> mark: it can no longer be
 * reverted to (snapshot_revert.c refuses it), and deleting it again
 * finishes the merge. */
static int stopped_merge(qp_ctx *ctx, qp_job *job, const struct sb_snapshot_view *v,
                         const char *O, const char *B)
{
    return qp_error(ctx, job->stop_code,
                    "deleting snapshot '%s': %s while merging '%s' into '%s'; the snapshot "
                    "stays, marked as being deleted: '%s' may hold part of the merge, so it can "
                    "no longer be reverted to; run snapshot-delete again to finish", v->name,
                    job->stop_msg, O, B, B);
}

/* The disk's chain as QEMU has it open (files, top first) and its nodes:
 * the top's from query-block, those below from the node book when it
 * names them all (*from_book 1), else asked of QEMU. */
static int chain_nodes(qp_ctx *ctx, qp_qmp *q, const char *domain, pid_t pid,
                       const char *target, qp_strv *files, qp_strv *nodes, int *from_book)
{
    char top[128];
    int r = qp_vm_disk_chain(q, target, files, NULL);
    if (r == 0)
        r = qp_vm_top_node(q, target, top, sizeof top);
    if (r < 0)
        return r;
    *from_book = qp_book_chain_nodes(ctx, domain, pid, top, files, nodes);
    return *from_book ? 0 : qp_vm_chain_nodes(q, files, nodes);
}

/* One disk of a delete, decided (and checked) before the delete changes
 * anything: a refusal of any disk leaves every disk, and the snapshot's
 * mark, as they were. */
typedef struct disk_plan {
    enum { PLAN_NONE, PLAN_UNLINK, PLAN_MERGE } kind;
    const char *target;
    char *O, *B;            /* canonical: the overlay, the image it captured */
    char *bfmt;             /* B's format */
    unsigned long long vsize;
    int resume;             /* marked by an earlier run of the delete */
    int noted;              /* that run's commit is done (merge_note.c) */
    int merging;            /* this run merges (not noted, not merged by QEMU already) */
    qp_strv rebase;         /* the images above O to move onto B */
    qp_strv files, nodes;   /* the disk's chain in QEMU (running) */
    int o_idx, b_idx, from_book;
} disk_plan;

static void disk_plan_free(disk_plan *p)
{
    free(p->O);
    free(p->B);
    free(p->bfmt);
    qp_strv_free(&p->rebase);
    qp_strv_free(&p->files);
    qp_strv_free(&p->nodes);
}

/* B must have no other user whose data the merge would change: in the
 * tree, and on disk (a file backed by B the tree does not know). */
static int check_merge_users(qp_ctx *ctx, const struct sb_snapshot_view *v,
                             const qp_needed *need, const qp_dir_scan *scan, const char *O,
                             const char *B)
{
    for (size_t i = 0; i < need->ntops; i++) {
        const qp_needed_top *t = &need->tops[i];
        for (size_t k = 0; k < t->chain.n; k++) {
            if (strcmp(t->chain.v[k], B))
                continue;
            int bad = 0;
            if (k == 0)
                bad = !t->internal_owner; /* B is someone's live or captured state */
            else if (strcmp(t->chain.v[k - 1], O))
                bad = 1; /* another overlay sits on B */
            if (bad)
                return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                                "cannot delete snapshot '%s': merging '%s' into '%s' would change "
                                "data that %s%s%s still uses; delete with METADATA_ONLY instead",
                                v->name, O, B, t->owner ? "snapshot '" : "the domain",
                                t->owner ? t->owner : "", t->owner ? "'" : "");
        }
    }
    qp_strv users = {0};
    int r = qp_dir_scan_users(ctx, scan, B, &users);
    for (size_t i = 0; r == 0 && i < users.n; i++)
        if (strcmp(users.v[i], O))
            r = qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                         "cannot delete snapshot '%s': merging '%s' into '%s' would change the "
                         "data of '%s', which is also backed by it (an overlay outside the "
                         "snapshot tree, e.g. from a NO_METADATA snapshot); delete with "
                         "METADATA_ONLY instead", v->name, O, B, users.v[i]);
    qp_strv_free(&users);
    return r;
}

/* The images directly above O, which are to be moved onto B once O is
 * merged: those the tree knows, and those on disk.  One missing would
 * still point at O after the merge, and O is removed: out of memory stops
 * the delete before it starts.  (A running merge's own chain is moved by
 * QEMU; the others, e.g. the overlay of a snapshot that a later one
 * captured, QEMU does not have open.) */
static int collect_above(qp_ctx *ctx, const qp_needed *need, const qp_dir_scan *scan,
                         disk_plan *p)
{
    const char *O = p->O;
    int r = 0;
    for (size_t i = 0; i < need->ntops && r == 0; i++) {
        const qp_needed_top *t = &need->tops[i];
        for (size_t k = 1; k < t->chain.n && r == 0; k++)
            if (!strcmp(t->chain.v[k], O) && qp_file_exists(t->chain.v[k - 1]) &&
                !qp_strv_has(&p->rebase, t->chain.v[k - 1]) &&
                qp_strv_add(&p->rebase, t->chain.v[k - 1]) < 0)
                r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    qp_strv disk = {0};
    if (r == 0)
        r = qp_dir_scan_covers(scan, O) ? qp_dir_scan_users(ctx, scan, O, &disk)
                                        : qp_image_dependents(ctx, O, &disk);
    for (size_t i = 0; i < disk.n && r == 0; i++)
        if (!qp_strv_has(&p->rebase, disk.v[i]) && qp_strv_add(&p->rebase, disk.v[i]) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    qp_strv_free(&disk);
    return r;
}

/* Everything a merge of p->O into p->B needs to know, and every reason to
 * refuse it, with nothing changed yet.  q: the running domain's QMP. */
static int plan_merge(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                      const qp_needed *need, qp_qmp *q, pid_t pid, disk_plan *p)
{
    const char *O = p->O, *B = p->B;
    qp_img_info info;
    int r = qp_img_query(ctx, O, 1, &info);
    if (r < 0)
        return r;
    char *ob = info.backing ? qp_realpath_or_copy(info.backing) : NULL;
    int nsnaps = (int)info.nsnaps, nofmt = !info.backing_format;
    p->vsize = info.virtual_size;
    p->bfmt = qp_strdup(info.backing_format);
    qp_img_info_free(&info);
    if (!ob || strcmp(ob, B)) {
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "snapshot '%s' disk '%s': overlay '%s' is backed by '%s', not by the "
                     "captured image '%s'", v->name, p->target, O, ob ? ob : "nothing", B);
        free(ob);
        return r;
    }
    free(ob);
    if (nofmt) {
        qp_img_info bi;
        if ((r = qp_img_query(ctx, B, 1, &bi)) < 0)
            return r;
        p->bfmt = qp_strdup(bi.format);
        qp_img_info_free(&bi);
    }
    if (!p->bfmt)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (nsnaps > 0)
        return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "cannot merge '%s' (snapshot '%s', disk '%s') into its backing file: it "
                        "holds %d internal snapshot(s) that would be lost; delete them first",
                        O, v->name, p->target, nsnaps);
    /* an earlier run that committed already: B changes no more */
    if (p->resume && (r = qp_merge_note_find(ctx, domain, O, B, &p->rebase)) < 0)
        return r;
    p->noted = p->resume && r > 0;
    p->o_idx = p->b_idx = -1;
    if (q && (r = chain_nodes(ctx, q, domain, pid, p->target, &p->files, &p->nodes,
                              &p->from_book)) < 0)
        return r;
    for (size_t i = 0; i < p->files.n; i++) {
        if (!strcmp(p->files.v[i], O))
            p->o_idx = (int)i;
        if (!strcmp(p->files.v[i], B))
            p->b_idx = (int)i;
    }
    if (p->o_idx >= 0 && (p->b_idx != p->o_idx + 1 || !p->nodes.v[p->o_idx][0] ||
                          !p->nodes.v[p->b_idx][0]))
        return qp_error(ctx, SB_ERR_HYPERVISOR, "disk '%s': QEMU's chain does not have '%s' on '%s'",
                        p->target, O, B);
    if (p->o_idx < 0 && p->b_idx >= 0 && !p->resume)
        return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "image '%s' is in use by the running domain; cannot merge '%s' into it",
                        B, O);
    /* A merge to run (not one an earlier run finished, nor one QEMU
     * finished for a run that left no note: pivoted, or killed during a
     * job that went on): B's other users must not change.  The images
     * above O are to be moved either way.  Both from one scan of the
     * directory (O is made next to B). */
    p->merging = !p->noted && (p->o_idx >= 0 || !q || p->b_idx < 0);
    if (p->noted)
        return 0;
    qp_dir_scan scan;
    if ((r = qp_dir_scan_read(ctx, B, &scan)) < 0)
        return r;
    if (!p->merging || (r = check_merge_users(ctx, v, need, &scan, O, B)) == 0)
        r = collect_above(ctx, need, &scan, p);
    qp_dir_scan_free(&scan);
    return r;
}

/* 1 when a stored snapshot other than skip may name path: the walk noted
 * which do when it watched path, else any may. */
static int others_name(const qp_needed *need, const char *path, const char *skip)
{
    if (!watched(need, path))
        return 1;
    for (size_t i = 0; i < need->hit_path.n; i++)
        if (!strcmp(need->hit_path.v[i], path) && strcmp(need->hit_name.v[i], skip))
            return 1;
    return 0;
}

/* The running merge: a block-commit job of O into B (active commit and
 * pivot when O is the top). */
static int merge_running(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                         disk_plan *p, qp_qmp *q, qp_pending_def *def)
{
    const char *O = p->O, *B = p->B;
    int o_idx = p->o_idx, b_idx = p->b_idx, r;
    char jid[64];
    json_object *a = json_object_new_object();
    qp_job_id(jid, sizeof jid, "commit");
    json_object_object_add(a, "job-id", json_object_new_string(jid));
    json_object_object_add(a, "device", json_object_new_string(p->nodes.v[0]));
    json_object_object_add(a, "top-node", json_object_new_string(p->nodes.v[o_idx]));
    json_object_object_add(a, "base-node", json_object_new_string(p->nodes.v[b_idx]));
    json_object_object_add(a, "auto-dismiss", json_object_new_boolean(0));
    if (ctx->test_job_rate > 0) /* test-only throttle, see qp.h */
        json_object_object_add(a, "speed", json_object_new_int64(ctx->test_job_rate));
    /* the definition the merge ends with (an active commit moves the
     * disk onto B), written now and synced while QEMU merges; the
     * store after the job renames it in place (qp_domain_store) */
    char *after = NULL;
    if ((r = definition_repointed(ctx, domain, O, B, p->bfmt, &after)) == 0 && after &&
        (r = qp_domain_store_prepare(ctx, domain, after, def)) == 0) {
        ctx->pending_def = def;
        qp_qmp_meanwhile(q, qp_domain_store_sync, def);
    }
    free(after);
    if (r < 0) {
        json_object_put(a);
        return r;
    }
    qp_job job;
    qp_job_begin(ctx, &job, domain, o_idx == 0 ? "active-block-commit" : "block-commit", v->name);
    r = qp_qmp_job(q, "block-commit", a, jid);
    if (r < 0 && p->from_book)
        qp_book_remove(ctx, domain); /* cannot be wrong; if it was, ask next time */
    if (r < 0 && job.stop_code)
        r = stopped_merge(ctx, &job, v, O, B);
    qp_job_end(&job);
    if (r < 0)
        return r;
    /* The commit took only O out of the chain: the start's nodes found at
     * another place in it before (on B or below) still hold an image of
     * the chain, and the graph need not be asked again. */
    if (!qp_vm_start_nodes_stay(p->target, &p->nodes, o_idx) &&
        (r = qp_vm_drop_start_nodes(q, p->target)) < 0)
        return r;
    /* QEMU may run on B now (active commit pivoted): if recording that
     * fails below, the definition follows QEMU at the next operation
     * (qp_follow_qemu), and a re-run of the delete finishes it */
    ctx->store_fail_armed = 1; /* test-only injection point (qp.h) */
    return 0;
}

/* The shut-off merge: qemu-img commit of O into B. */
static int merge_offline(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                         disk_plan *p)
{
    qp_job job;
    qp_job_begin(ctx, &job, domain, "block-commit", v->name);
    job.total = p->vsize; /* what qemu-img's percent is of */
    int r = qp_img_commit(ctx, p->O, p->B);
    if (r < 0 && job.stop_code)
        r = stopped_merge(ctx, &job, v, p->O, p->B);
    qp_job_end(&job);
    return r;
}

/* After the commit B reads as O did: pointing the headers of the images
 * above O at B (rebase -u) keeps them unchanged.  Those already on B (an
 * earlier run's, or QEMU's own) and those gone are left alone. */
static int rebase_above(qp_ctx *ctx, const disk_plan *p)
{
    int r = 0;
    for (size_t i = 0; i < p->rebase.n && r == 0; i++) {
        const char *x = p->rebase.v[i];
        if (!qp_file_exists(x))
            continue;
        qp_img_info info;
        if ((r = qp_img_query(ctx, x, 1, &info)) < 0)
            break;
        char *xb = info.backing ? qp_realpath_or_copy(info.backing) : NULL;
        if (info.backing && !xb)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        else if (xb && !strcmp(xb, p->O))
            r = qp_img_rebase_unsafe(ctx, x, p->B, p->bfmt);
        free(xb);
        qp_img_info_free(&info);
    }
    return r;
}

static int merge_disk(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                      disk_plan *p, qp_needed *need, qp_qmp *q)
{
    qp_pending_def def = {.fd = -1};
    int r = 0;
    if (p->o_idx >= 0)
        r = merge_running(ctx, domain, v, p, q, &def);
    else if (q && p->b_idx >= 0) /* resume: an earlier run already merged and
                                   pivoted; the start's nodes may still hold O */
        r = qp_vm_drop_start_nodes(q, p->target);
    else if (!p->noted)
        r = merge_offline(ctx, domain, v, p);
    /* B holds O's data now: a run again must know it (merge_note.c), as
     * what follows moves images onto B and points snapshots at it, which
     * its check would take for other users of B.  With nothing above O and
     * no other snapshot naming O, only the definition is left to change:
     * a run again then finds nothing else on B, and needs no note. */
    if (r == 0 && !p->noted && (p->rebase.n || others_name(need, p->O, v->name)) &&
        (r = qp_merge_note_save(ctx, domain, p->O, p->B, &p->rebase)) == 0)
        p->noted = 1;
    if (r == 0)
        r = rebase_above(ctx, p);
    if (r == 0)
        r = repoint_refs(ctx, domain, v->name, p->O, p->B, p->bfmt, need);
    ctx->store_fail_armed = 0;
    /* nothing names O now: a run again removes it as unneeded, so the note
     * ends before O goes (never a note left for a path a later file takes) */
    if (r == 0 && p->noted)
        qp_merge_note_end(ctx, domain, p->O);
    if (r == 0)
        r = qp_ours_unlink(ctx, domain, p->O); /* only a file the plugin made (or adopted) */
    ctx->pending_def = NULL;
    qp_domain_store_drop(&def); /* not committed: the merge or the store failed */
    return r;
}

/* Remove an image nothing in the tree needs - unless a file the tree
 * does not know (a NO_METADATA snapshot's overlay) is backed by it, or the
 * plugin did not make it (a redefined snapshot may name any file). */
static int unlink_unless_used(qp_ctx *ctx, const char *domain, const char *path)
{
    char *user = NULL;
    int r = qp_image_has_dependents(ctx, path, NULL, &user);
    if (r > 0)
        qp_log(ctx, SB_LOG_INFO, "keeping '%s': '%s' is backed by it", path, user);
    else if (r == 0)
        r = qp_ours_unlink(ctx, domain, path);
    free(user);
    return r < 0 ? r : 0;
}

/* A merge rewrites B: it must be an image the domain uses.  The images
 * (every backing chain: header reads) are listed at the first merge of
 * the delete and serve its other disks, not listed again per disk. */
static int check_merge_target(qp_ctx *ctx, const char *domain, const qp_domain *cur,
                              qp_strv *mine, int *listed, const char *snapshot, const char *B)
{
    if (!*listed) {
        int r = qp_domain_images(ctx, domain, cur, 1, mine);
        if (r < 0)
            return r;
        *listed = 1;
    }
    return qp_check_domain_image(ctx, domain, mine, B, snapshot,
                                 "deleting it (merging its overlay into that image)", 1);
}

/* The snapshot's memory state file, when the plugin made it - unless
 * another snapshot names it too (a redefine may share one): its revert
 * would find it gone. */
static int unlink_memory_file(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v)
{
    char *m = qp_realpath_or_copy(v->memory_file), *owner = NULL;
    if (!m)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    int r = qp_memory_file_named(ctx, domain, m, v->name, &owner);
    if (r > 0)
        qp_log(ctx, SB_LOG_INFO, "keeping memory state file '%s': snapshot '%s' names it too",
               m, owner);
    else if (r == 0)
        r = qp_ours_unlink(ctx, domain, m);
    free(owner);
    free(m);
    return r < 0 ? r : 0;
}

static int delete_external(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v)
{
    qp_domain *cur = NULL, *snapdom = NULL;
    qp_needed need;
    qp_strv mine = {0}; /* the images the domain uses (check_merge_target) */
    disk_plan *plans = NULL;
    qp_qmp *q = NULL; /* the running domain's, for every merge */
    pid_t pid = 0;
    int have_need = 0, marked = 0, listed = 0;
    int r = qp_domain_load(ctx, domain, &cur);
    if (r < 0)
        return r;
    if (!v->domain_xml) {
        qp_domain_free(cur);
        return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "external snapshot '%s' has no stored domain: the images it captured "
                        "are unknown; delete with METADATA_ONLY", v->name);
    }
    if ((r = qp_domain_parse(ctx, v->domain_xml, &snapdom)) < 0)
        goto out;
    /* the walk also notes which snapshots name the overlays, the only ones
     * a merge repoints (repoint_refs): no second walk over the tree.  An
     * overlay that is also another disk's captured image (B) could be
     * named by a repoint of that disk: then the repoint walks again. */
    qp_strv watch = {0};
    for (size_t i = 0; i < v->ndisks && r == 0; i++)
        if (v->disks[i].snapshot == SB_LOCATION_EXTERNAL &&
            qp_strv_add_canon(&watch, v->disks[i].source) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r < 0) {
        qp_strv_free(&watch);
        goto out;
    }
    for (size_t i = 0; i < snapdom->ndisks; i++) {
        char *c = snapdom->disks[i].source ? qp_realpath_or_copy(snapdom->disks[i].source) : NULL;
        /* (a path that cannot be resolved counts as a clash: walk all) */
        int clash = snapdom->disks[i].source && (!c || qp_strv_has(&watch, c));
        free(c);
        if (clash) {
            qp_strv_free(&watch);
            break;
        }
    }
    r = qp_needed_compute_watch(ctx, domain, v->name, cur, &watch, &need);
    if (r == 0) {
        need.watched = watch; /* the paths noted, kept with the walk's result */
        need.watch_done = 1;
    } else
        qp_strv_free(&watch);
    if (r < 0)
        goto out;
    have_need = 1;
    plans = calloc(v->ndisks ? v->ndisks : 1, sizeof *plans);
    if (!plans) {
        r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    /* every disk decided and checked before any is changed */
    for (size_t i = 0; i < v->ndisks && r == 0; i++) {
        const struct sb_snapshot_disk_view *d = &v->disks[i];
        if (d->snapshot != SB_LOCATION_EXTERNAL || !d->source)
            continue;
        const qp_disk *k = qp_domain_disk(snapdom, d->name);
        disk_plan *p = &plans[i];
        p->target = d->name;
        p->resume = d->delete_in_progress;
        p->O = qp_realpath_or_copy(d->source);
        p->B = k && k->source ? qp_realpath_or_copy(k->source) : NULL;
        if (!p->O || (k && k->source && !p->B)) {
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        const char *O = p->O, *user = NULL;
        for (size_t t = 0; t < need.ntops && !user; t++)
            if (need.tops[t].chain.n && !strcmp(need.tops[t].chain.v[0], O))
                user = need.tops[t].owner ? need.tops[t].owner : "";
        if (!qp_file_exists(O) && user) {
            /* gone, but still named as a live image: not "already done" */
            r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT,
                               "overlay '%s' of snapshot '%s' (disk '%s') is missing, but %s%s%s "
                               "still uses it; restore the file, or delete with METADATA_ONLY",
                               O, v->name, d->name, *user ? "snapshot '" : "the domain "
                               "definition", user, *user ? "'" : "");
        } else if (!qp_file_exists(O)) {
            /* already gone (an earlier run finished this disk) */
        } else if (!qp_strv_has(&need.all, O)) {
            p->kind = PLAN_UNLINK;
        } else if (!p->B) {
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "snapshot '%s': disk '%s' is missing from its stored domain", v->name,
                         d->name);
        } else if ((r = check_merge_target(ctx, domain, cur, &mine, &listed, v->name,
                                           p->B)) < 0) {
            /* refused: merging would change an image the domain does not use */
        } else {
            p->kind = PLAN_MERGE;
            if (!q && (r = qp_proc_pid(ctx, domain, &pid)) == 0 && pid > 0 &&
                (r = qp_proc_connect(ctx, domain, &q)) == 0)
                /* a commit an interrupted run left in QEMU would make ours
                 * fail ("node is busy"); finishing it is what that run meant */
                r = qp_qmp_finish_jobs(q);
            if (r == 0)
                r = plan_merge(ctx, domain, v, &need, q, pid, p);
        }
    }
    for (size_t i = 0; i < v->ndisks && r == 0; i++) {
        disk_plan *p = &plans[i];
        if (p->kind == PLAN_UNLINK) {
            r = unlink_unless_used(ctx, domain, p->O);
        } else if (p->kind == PLAN_MERGE) {
            /* afresh: a note left for this path is not this delete's */
            if (!marked)
                for (size_t k = 0; k < v->ndisks && r == 0; k++)
                    if (plans[k].kind == PLAN_MERGE && !plans[k].resume)
                        r = qp_merge_note_clear(ctx, domain, plans[k].O);
            if (r == 0 && !marked && (r = mark_in_progress(ctx, domain, v)) < 0)
                break;
            marked = 1;
            if (r == 0)
                r = merge_disk(ctx, domain, v, p, &need, q);
        }
    }
    /* overlays made by reverts to this snapshot */
    for (size_t i = 0; i < v->nrevert_disks && r == 0; i++) {
        const char *s = v->revert_disks[i].source;
        char *c = s ? qp_realpath_or_copy(s) : NULL;
        if (s && !c)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        else if (c && qp_file_exists(c) && !qp_strv_has(&need.all, c))
            r = unlink_unless_used(ctx, domain, c);
        else if (c && qp_file_exists(c))
            /* still needed (the domain runs on it): no snapshot records
             * it after this one is gone, so the domain keeps it as its own */
            r = qp_ours_add(ctx, domain, c);
        free(c);
    }
    /* only a memory file the plugin created (never /dev/null, nor a file
     * the user had made for it) */
    if (r == 0 && v->memory == SB_LOCATION_EXTERNAL && v->memory_file)
        r = unlink_memory_file(ctx, domain, v);
out:
    for (size_t i = 0; plans && i < v->ndisks; i++)
        disk_plan_free(&plans[i]);
    free(plans);
    qp_qmp_close(q);
    if (have_need)
        qp_needed_free(&need);
    qp_strv_free(&mine);
    qp_domain_free(snapdom);
    qp_domain_free(cur);
    return r;
}

/* A delete stopped after a merge and ended with METADATA_ONLY: its notes
 * go with it (nothing will finish that merge). */
static void end_merge_notes(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v)
{
    for (size_t i = 0; i < v->ndisks; i++) {
        if (!v->disks[i].delete_in_progress || !v->disks[i].source)
            continue;
        char *o = qp_realpath_or_copy(v->disks[i].source);
        if (o)
            qp_merge_note_end(ctx, domain, o);
        free(o);
    }
}

int qp_snapshot_delete(qp_ctx *ctx, const char *domain, const char *snapshot_xml, unsigned flags)
{
    struct sb_snapshot_view *v = NULL;
    qp_domain *cur = NULL;
    int r = qp_domain_load(ctx, domain, &cur);
    if (r < 0)
        return r;
    qp_domain_free(cur);
    if ((r = qp_view(ctx, snapshot_xml, &v)) < 0)
        return r;
    if (!(flags & SB_SNAPSHOT_DELETE_METADATA_ONLY))
        r = v->external ? delete_external(ctx, domain, v) : qp_delete_internal(ctx, domain, v);
    else
        end_merge_notes(ctx, domain, v);
    if (r == 0 && ctx->test_delay_ms > 0)
        qp_sleep_ms(ctx->test_delay_ms); /* test-only window, see qp.h */
    qp_view_free(ctx, v);
    return r;
}
