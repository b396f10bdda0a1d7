/* qemu plugin - revert (spec 6.1 "Revert").
 *
 * internal, running target, same disks and machine size: QMP snapshot-load
 *   job in the running QEMU (no restart).
 * internal, otherwise: stop QEMU if needed, domain definition from the
 *   snapshot's <domain>, then start paused + snapshot-load (running
 *   target) or qemu-img snapshot -a (offline target).
 * external: new qcow2 overlays on top of the images the snapshot captured
 *   (<base>.<epoch>); a running target is restored from the memory file
 *   with -incoming defer + migrate-incoming.  The new overlays go to
 *   <revertDisks> when the snapshot has children, else they replace its
 *   <disks>.
 * Afterwards the previous top overlays are removed when they were made by
 * us and no snapshot (nor the domain) needs them any more.
 * Before an internal snapshot is applied, the active-layer guard
 * (snapshot_guard.c) refuses when another snapshot still needs the
 * images' current contents.
 */
#include "journal.h"
#include "snapshot_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* In place only when the running QEMU has the device model the snapshot
 * was taken with: the same command line (machine, memory, vcpus, every
 * disk's bus, device, format, read-only flag and image, serial, balloon,
 * agent) - snapshot-load into other devices would load a foreign state. */
static int same_machine(qp_ctx *ctx, const qp_domain *a, const qp_domain *b)
{
    if (a->ndisks != b->ndisks)
        return 0;
    for (size_t i = 0; i < a->ndisks; i++) {
        const qp_disk *x = &a->disks[i], *y = &b->disks[i];
        if (strcmp(x->target, y->target) || !x->source != !y->source)
            return 0;
        if (x->source) {
            char *cx = qp_realpath_or_copy(x->source), *cy = qp_realpath_or_copy(y->source);
            int eq = cx && cy && !strcmp(cx, cy);
            free(cx);
            free(cy);
            if (!eq)
                return 0;
        }
    }
    qp_strv va = {0}, vb = {0};
    int same = qp_proc_argv(ctx, a, &va) == 0 && qp_proc_argv(ctx, b, &vb) == 0 && va.n == vb.n;
    /* sources were compared canonically above; the rest must match as is */
    for (size_t i = 0; same && i < va.n; i++)
        if (strcmp(va.v[i], vb.v[i]) && !strstr(va.v[i], "filename="))
            same = 0;
    qp_strv_free(&va);
    qp_strv_free(&vb);
    return same;
}

/* The snapshot-load job's arguments: the nodes of the snapshot's internal
 * disks, looked up in the graph (kept from the checks before the
 * operation while no command changed it: so before the guest is
 * stopped). */
static int load_args(qp_ctx *ctx, qp_qmp *q, const struct sb_snapshot_view *v, char *jid,
                     size_t jlen, json_object **out)
{
    json_object *devs = json_object_new_array();
    char vmstate[64] = "", node[64];
    int r = 0;
    *out = NULL;
    for (size_t i = 0; i < v->ndisks; i++) {
        if (v->disks[i].snapshot != SB_LOCATION_INTERNAL)
            continue;
        if ((r = qp_vm_top_node(q, v->disks[i].name, node, sizeof node)) < 0) {
            json_object_put(devs);
            return r;
        }
        if (!vmstate[0])
            snprintf(vmstate, sizeof vmstate, "%s", node);
        json_object_array_add(devs, json_object_new_string(node));
    }
    if (!vmstate[0]) {
        json_object_put(devs);
        return qp_error(ctx, SB_ERR_INTERNAL_ERROR, "snapshot '%s' has no internal disk", v->name);
    }
    json_object *args = json_object_new_object();
    qp_job_id(jid, jlen, "load");
    json_object_object_add(args, "job-id", json_object_new_string(jid));
    json_object_object_add(args, "tag", json_object_new_string(v->name));
    json_object_object_add(args, "vmstate", json_object_new_string(vmstate));
    json_object_object_add(args, "devices", devs);
    *out = args;
    return 0;
}

static int internal_load(qp_ctx *ctx, qp_qmp *q, const struct sb_snapshot_view *v)
{
    char jid[64];
    json_object *args = NULL;
    int r = load_args(ctx, q, v, jid, sizeof jid, &args);
    return r < 0 ? r : qp_qmp_job(q, "snapshot-load", args, jid);
}

/* A QEMU migration stream starts with "QEVM" and version 3: checked
 * before the running guest is destroyed for it. */
static int check_memory_file(qp_ctx *ctx, const char *file, const char *snap)
{
    unsigned char hdr[8];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno,
                              "memory state file '%s' of snapshot '%s'", file, snap);
    ssize_t n = read(fd, hdr, sizeof hdr);
    close(fd);
    if (n != (ssize_t)sizeof hdr || memcmp(hdr, "QEVM", 4) || hdr[4] || hdr[5] || hdr[6] ||
        hdr[7] != 3)
        return qp_error(ctx, SB_ERR_OPERATION_FAILED,
                        "memory state file '%s' of snapshot '%s' is not a QEMU migration stream "
                        "(no QEVM v3 header); nothing was changed", file, snap);
    return 0;
}

static int load_memory(qp_ctx *ctx, qp_qmp *q, const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot open memory file '%s'",
                              file);
    json_object *a = json_object_new_object();
    json_object_object_add(a, "fdname", json_object_new_string("sbmem"));
    int r = qp_qmp_execute_fd(q, "getfd", a, fd, NULL);
    close(fd);
    if (r < 0)
        return r;
    a = json_object_new_object();
    json_object_object_add(a, "uri", json_object_new_string("fd:sbmem"));
    if ((r = qp_qmp_execute(q, "migrate-incoming", a, NULL)) < 0)
        return r;
    return qp_wait_migration(q, ctx->job_timeout_ms);
}

/* Unique "<base minus suffix>.<epoch>[.N]" next to base: neither a file
 * nor a name this revert picked already (two disks' images may differ in
 * their suffix alone: a.vda and a.vdb). */
static char *revert_overlay_name(const char *base, const qp_strv *taken)
{
    char tag[64];
    snprintf(tag, sizeof tag, "%lld", (long long)time(NULL));
    char *p = qp_default_external_name(base, tag);
    for (int i = 1; p && (qp_file_exists(p) || qp_strv_has(taken, p)) && i < 1000; i++) {
        free(p);
        snprintf(tag, sizeof tag, "%lld.%d", (long long)time(NULL), i);
        p = qp_default_external_name(base, tag);
    }
    return p;
}

/* After a revert: remove the files the plugin made that nothing needs any
 * more - the old tops, and the overlays the snapshot's XML stops naming
 * (its <revertDisks>, replaced by the new overlays; its external <disks>
 * too when it has no children: `replaced_disks`).  Forgetting the latter
 * used to leave the snapshot's own first overlay on disk, unknown to the
 * tree, where it blocked the snapshot's delete (an overlay outside the
 * tree on the image it would merge into) and the reuse of its name.
 * Only a file on the plugin's list is removed (qp_ours_unlink): never one
 * a redefined snapshot merely names. */
static void drop_unneeded(qp_ctx *ctx, const char *domain, const qp_domain *old,
                          const qp_domain *now, const struct sb_snapshot_view *v,
                          int replaced_disks)
{
    qp_strv all = {0}, cand = {0}, used = {0};
    int r = 0; /* out of memory keeps every file (logged below) */
    for (size_t i = 0; old && i < old->ndisks && r == 0; i++)
        r = qp_strv_add_canon(&all, old->disks[i].source);
    for (size_t i = 0; i < v->nrevert_disks && r == 0; i++)
        r = qp_strv_add_canon(&all, v->revert_disks[i].source);
    for (size_t i = 0; replaced_disks && i < v->ndisks && r == 0; i++)
        if (v->disks[i].snapshot == SB_LOCATION_EXTERNAL)
            r = qp_strv_add_canon(&all, v->disks[i].source);
    /* What the domain now runs on stays, and so does a file the plugin did
     * not make or that is gone: neither needs the walk over every
     * snapshot below.  An internal revert keeps the domain's images, so it
     * has no candidate left and does not walk the tree at all (that walk
     * made it grow with the number of snapshots). */
    for (size_t i = 0; now && i < now->ndisks && r == 0; i++)
        r = qp_strv_add_canon(&used, now->disks[i].source);
    for (size_t i = 0; i < all.n && r == 0; i++)
        if (!qp_strv_has(&used, all.v[i]) && qp_file_exists(all.v[i]) &&
            qp_ours_has(ctx, domain, all.v[i]))
            r = qp_strv_add(&cand, all.v[i]);
    qp_strv_free(&all);
    qp_strv_free(&used);
    qp_needed n;
    if (r < 0 || !cand.n || qp_needed_compute(ctx, domain, NULL, now, &n) < 0) {
        if (r < 0 || cand.n)
            qp_log(ctx, SB_LOG_WARN, "cannot tell which old overlays are still needed; keeping "
                   "them");
        qp_strv_free(&cand);
        return;
    }
    for (size_t i = 0; i < cand.n; i++) {
        const char *c = cand.v[i];
        char *user = NULL;
        /* the tree still holds this snapshot's old XML: its own names do
         * not count, another snapshot's do */
        if (qp_strv_has(&n.all, c) || qp_needed_ref_by_other(&n, c, v->name) ||
            !qp_ours_has(ctx, domain, c) || !qp_file_exists(c))
            continue;
        /* an overlay the tree does not know (NO_METADATA) may sit on it */
        if (qp_image_has_dependents(ctx, c, NULL, &user) != 0) {
            qp_log(ctx, SB_LOG_INFO, "keeping overlay '%s': '%s' is backed by it", c,
                   user ? user : "another image");
        } else {
            qp_log(ctx, SB_LOG_INFO, "removing overlay '%s' (no snapshot needs it)", c);
            (void)qp_ours_unlink(ctx, domain, c);
        }
        free(user);
    }
    qp_needed_free(&n);
    qp_strv_free(&cand);
}

static int has_children(qp_ctx *ctx, const char *domain, const char *name)
{
    if (!ctx->api || !ctx->api->tree_children)
        return 1; /* unknown: the safe answer keeps <disks> intact */
    char **names = NULL;
    size_t n = 0;
    if (ctx->api->tree_children(ctx->h, domain, name, &names, &n) < 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        ctx->api->free(names[i]);
    ctx->api->free(names);
    return n > 0;
}

/* 1 when path may go on reading through an image a revert rewrites: a
 * file of the plugin's that the domain runs on now (the revert leaves it,
 * and drop_unneeded removes it) and that no snapshot names. */
static int abandoned_top(qp_ctx *ctx, const char *domain, const qp_strv *mine,
                         const qp_needed *need, const char *path)
{
    return qp_strv_has(mine, path) && qp_ours_has(ctx, domain, path) &&
           !qp_needed_ref_by_other(need, path, NULL);
}

/* The active-layer guard (qp_guard_active_layers) knows the tree; the
 * images on disk read through the reverted images as well: a NO_METADATA
 * snapshot's overlay, a hand-made one (the domain's disk, say).  Rewriting
 * the image changes what they read, so the revert is refused naming one -
 * unless each such file, and each file above it, is a top the domain
 * leaves (abandoned_top).  The external delete refuses the same way
 * (check_merge_users). */
static int guard_unknown_users(qp_ctx *ctx, const char *domain, const qp_strv *images,
                               const char *snapshot)
{
    qp_strv todo = {0}, deps = {0}, mine = {0};
    qp_domain *cur = NULL;
    qp_needed need;
    qp_dir_scan scan = {0}; /* one read per directory (the disks share one) */
    int have_need = 0, r = 0;
    for (size_t i = 0; i < images->n && r == 0; i++)
        if (qp_strv_add(&todo, images->v[i]) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    /* breadth first over what is backed by the images, and by those */
    for (size_t i = 0; i < todo.n && r == 0; i++) {
        qp_strv_free(&deps);
        if (!qp_dir_scan_covers(&scan, todo.v[i])) {
            qp_dir_scan_free(&scan);
            if ((r = qp_dir_scan_read(ctx, todo.v[i], &scan)) < 0)
                break;
        }
        if ((r = qp_dir_scan_users(ctx, &scan, todo.v[i], &deps)) < 0 || !deps.n)
            continue;
        if (!have_need && (r = qp_domain_load(ctx, domain, &cur)) == 0 &&
            (r = qp_domain_images(ctx, domain, cur, 0, &mine)) == 0 &&
            (r = qp_needed_compute(ctx, domain, NULL, cur, &need)) == 0)
            have_need = 1;
        for (size_t k = 0; k < deps.n && r == 0; k++) {
            if (qp_strv_has(&todo, deps.v[k]))
                continue;
            if (!abandoned_top(ctx, domain, &mine, &need, deps.v[k]))
                r = qp_error(ctx, SB_ERR_OPERATION_INVALID,
                             "reverting to internal snapshot '%s' would rewrite image '%s' in "
                             "place, but '%s' is backed by it (an overlay outside the snapshot "
                             "tree, e.g. from a NO_METADATA snapshot) and would read changed "
                             "data; nothing was changed", snapshot, todo.v[i], deps.v[k]);
            else if (qp_strv_add(&todo, deps.v[k]) < 0)
                r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
    }
    if (have_need)
        qp_needed_free(&need);
    qp_domain_free(cur);
    qp_dir_scan_free(&scan);
    qp_strv_free(&todo);
    qp_strv_free(&deps);
    qp_strv_free(&mine);
    return r;
}

/* The active-layer guard for the images an internal snapshot is applied
 * to (every path: qemu-img snapshot -a, snapshot-load in place or after a
 * restart). */
static int guard_internal(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                          const qp_domain *snapdom)
{
    qp_strv images = {0};
    for (size_t i = 0; i < v->ndisks; i++) {
        const qp_disk *k = qp_domain_disk(snapdom, v->disks[i].name);
        if (v->disks[i].snapshot != SB_LOCATION_INTERNAL || !k || !k->source)
            continue;
        char *c = qp_realpath_or_copy(k->source);
        if (!c || qp_strv_add(&images, c) < 0) {
            free(c);
            qp_strv_free(&images);
            return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
        free(c);
    }
    char what[320];
    snprintf(what, sizeof what, "reverting to internal snapshot '%s'", v->name);
    int r = qp_guard_active_layers(ctx, domain, &images, what);
    if (r == 0)
        r = guard_unknown_users(ctx, domain, &images, v->name);
    qp_strv_free(&images);
    return r;
}

/* Offline internal revert, all or nothing across disks: a temporary
 * internal snapshot is taken on every image first (which needs the
 * image's write lock, so an image another process holds fails here,
 * before anything changed); a disk that fails later, or a definition that
 * cannot be stored, rolls the reverted disks back to it.  The temporary
 * snapshots are removed at the end. */
/* Offline internal revert of ONE image, without the temporary snapshot:
 * there is no other image to keep in step, and applying a tag again gives
 * the same contents, so the revert is finished rather than undone.  The
 * intent record is written once, past its commit point, with the tag, the
 * image and the new definition: a process killed anywhere after it is
 * finished by the next command on the domain (qp_journal_recover applies
 * the tag again and stores the definition).  Before it, the image must
 * hold the tag and nobody may hold QEMU's lock on it, so the usual refusals
 * (a tag gone, an image in use) come before anything changed.  Returns 1
 * when it does not apply (the caller takes the general way). */
static int offline_apply_one(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                             const char *image, const char *newxml, const char *oldxml)
{
    if (qp_image_locked(image) != 0 || qp_img_has_snapshot(ctx, image, v->name, 0) != 1)
        return 1;
    qp_journal j;
    int r = qp_journal_init(ctx, &j, domain, "revert-internal", v->name, oldxml);
    if (r < 0)
        return r;
    j.committed = 1;
    j.new_xml = qp_strdup(newxml);
    if (!j.new_xml || qp_strv_add(&j.images, image) < 0) {
        qp_journal_free(&j);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    if ((r = qp_journal_save(ctx, &j)) < 0) {
        qp_journal_free(&j);
        return r;
    }
    if ((r = qp_img_snapshot_apply(ctx, image, v->name)) == 0 &&
        (r = qp_domain_store(ctx, domain, newxml)) == 0) {
        qp_journal_end(ctx, &j);
        return 0;
    }
    /* Failed after the commit point: the record stays, and the next
     * command on the domain finishes the revert (or says why it cannot). */
    qp_journal_free(&j);
    return r;
}

static int offline_apply_all(qp_ctx *ctx, const char *domain, const struct sb_snapshot_view *v,
                             const qp_domain *newdom, const char *newxml, const char *oldxml)
{
    qp_strv one = {0};
    int done = 1;
    for (size_t i = 0; i < v->ndisks && done > 0; i++) {
        const qp_disk *k = v->disks[i].snapshot == SB_LOCATION_INTERNAL
                               ? qp_domain_disk(newdom, v->disks[i].name) : NULL;
        if (k && k->source && !qp_strv_has(&one, k->source) && qp_strv_add(&one, k->source) < 0)
            done = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    if (done > 0 && one.n == 1)
        done = offline_apply_one(ctx, domain, v, one.v[0], newxml, oldxml);
    qp_strv_free(&one);
    if (done <= 0)
        return done;
    char undo[64];
    snprintf(undo, sizeof undo, "sb-undo-%ld-%lld", (long)getpid(), (long long)time(NULL));
    qp_journal j;
    int r = qp_journal_begin(ctx, &j, domain, "revert-internal", v->name, oldxml);
    if (r < 0)
        return r;
    j.undo_tag = qp_strdup(undo);
    int oom = !j.undo_tag; /* an image missing from the list would not be reverted */
    for (size_t i = 0; i < v->ndisks && !oom; i++) {
        if (v->disks[i].snapshot != SB_LOCATION_INTERNAL)
            continue;
        const qp_disk *k = qp_domain_disk(newdom, v->disks[i].name);
        if (k && k->source && !qp_strv_has(&j.images, k->source))
            oom = qp_strv_add(&j.images, k->source) < 0;
    }
    /* a process killed from here on is finished or undone by the next
     * command on the domain (qp_journal_recover) */
    if (oom || (r = qp_journal_save(ctx, &j)) < 0) {
        qp_journal_end(ctx, &j);
        return r < 0 ? r : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    const qp_strv *imgs = &j.images;
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    size_t marked = 0, applied = 0;
    for (; marked < imgs->n && r == 0; marked++)
        if ((r = qp_img_snapshot_create(ctx, imgs->v[marked], undo)) < 0)
            break;
    for (; r == 0 && applied < imgs->n; applied++)
        if ((r = qp_img_snapshot_apply(ctx, imgs->v[applied], v->name)) < 0) {
            applied++; /* it may be partly applied: roll it back too */
            break;
        }
    if (r == 0)
        r = qp_domain_store(ctx, domain, newxml);
    if (r == 0 && qp_journal_commit(ctx, &j) < 0)
        qp_log(ctx, SB_LOG_WARN, "cannot record the commit point: %s", ctx->err_msg);
    int stuck = 0;
    if (r < 0) {
        for (size_t i = 0; i < applied; i++)
            if (qp_img_snapshot_apply(&quiet, imgs->v[i], undo) < 0) {
                qp_log(ctx, SB_LOG_ERROR, "cannot roll image '%s' back: %s", imgs->v[i],
                       quiet.err_msg);
                stuck = 1;
            }
    }
    for (size_t i = 0; i < marked && !stuck; i++)
        if (qp_img_snapshot_delete(&quiet, imgs->v[i], undo) < 0)
            qp_log(ctx, SB_LOG_WARN, "temporary snapshot '%s' left in '%s': %s", undo, imgs->v[i],
                   quiet.err_msg);
    if (stuck) /* the record stays: the next command tries the rollback again */
        qp_journal_free(&j);
    else
        qp_journal_end(ctx, &j);
    return r;
}

int qp_snapshot_revert(qp_ctx *ctx, const char *domain, const char *snapshot_xml, unsigned flags,
                       char **out_xml)
{
    struct sb_snapshot_view *v = NULL;
    qp_domain *cur = NULL, *snapdom = NULL, *newdom = NULL;
    qp_qmp *q = NULL;
    char *newxml = NULL;
    qp_strv overlays = {0};
    qp_journal j; /* external: the overlays it makes, the definition it replaces */
    int journaled = 0, replaced_disks = 0;
    int r;
    *out_xml = NULL;

    if ((flags & SB_SNAPSHOT_REVERT_RUNNING) && (flags & SB_SNAPSHOT_REVERT_PAUSED))
        return qp_error(ctx, SB_ERR_INVALID_ARG, "RUNNING and PAUSED are mutually exclusive");
    if ((r = qp_domain_load(ctx, domain, &cur)) < 0)
        return r;
    if ((r = qp_view(ctx, snapshot_xml, &v)) < 0)
        goto out;
    if (!v->domain_xml) {
        r = qp_error(ctx, SB_ERR_SNAPSHOT_REVERT_RISKY,
                     "snapshot '%s' lacks domain '%s' rollback info", v->name, domain);
        goto out;
    }
    /* a delete that was stopped (or died) half-way through merging the
     * snapshot's overlay into the image it captured: that image may hold
     * part of the overlay, the captured state is gone (snapshot_delete.c) */
    for (size_t i = 0; i < v->ndisks; i++)
        if (v->disks[i].delete_in_progress) {
            r = qp_error(ctx, SB_ERR_OPERATION_INVALID,
                         "snapshot '%s' is being deleted (disk '%s' was partly merged into the "
                         "image it captured): it can no longer be reverted to; run "
                         "snapshot-delete to finish", v->name, v->disks[i].name);
            goto out;
        }
    int online_target;
    switch (v->state) {
    case SB_STATE_RUNNING:
    case SB_STATE_PAUSED:
        online_target = 1;
        break;
    case SB_STATE_SHUTDOWN:
    case SB_STATE_SHUTOFF:
    case SB_STATE_CRASHED:
    case SB_STATE_DISK_SNAPSHOT: /* disks only: the guest restarts from them */
        online_target = 0;
        break;
    case SB_STATE_PMSUSPENDED:
        r = qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                     "qemu doesn't support reversion of snapshot taken in PMSUSPENDED state");
        goto out;
    default:
        r = qp_error(ctx, SB_ERR_INTERNAL_ERROR,
                     "Invalid target domain state '%d'. Refusing snapshot reversion", v->state);
        goto out;
    }
    if ((r = qp_domain_parse(ctx, v->domain_xml, &snapdom)) < 0)
        goto out;
    if (cur->uuid && snapdom->uuid && strcasecmp(cur->uuid, snapdom->uuid)) {
        r = qp_error(ctx, SB_ERR_INVALID_ARG, "snapshot '%s' belongs to domain uuid %s, not %s",
                     v->name, snapdom->uuid, cur->uuid);
        goto out;
    }
    if (online_target && v->external &&
        (v->memory != SB_LOCATION_EXTERNAL || !v->memory_file)) {
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "snapshot '%s' is external with state running but has no memory file",
                     v->name);
        goto out;
    }
    if (online_target && v->external && !qp_file_exists(v->memory_file)) {
        r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT, "memory state file '%s' of snapshot '%s'",
                           v->memory_file, v->name);
        goto out;
    }
    if (online_target && v->external && (r = check_memory_file(ctx, v->memory_file, v->name)) < 0)
        goto out;

    /* the new definition: the snapshot's, under the current name.  A
     * guest that ends shut off gets the persistent definition the snapshot
     * recorded (<inactiveDomain>, taken of a running guest), as libvirt's
     * qemu driver does; a running one the definition QEMU ran with. */
    const char *persistent =
        !online_target && v->inactive_domain_xml ? v->inactive_domain_xml : v->domain_xml;
    newxml = qp_domain_xml_set_name(persistent, domain);
    if (!newxml) {
        r = qp_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot rename the snapshot's domain");
        goto out;
    }
    pid_t pid = 0;
    if ((r = qp_proc_pid(ctx, domain, &pid)) < 0)
        goto out;
    int running = pid > 0;

    /* check the images hold what we need before touching anything */
    for (size_t i = 0; i < v->ndisks; i++) {
        const qp_disk *k = qp_domain_disk(snapdom, v->disks[i].name);
        if (v->disks[i].snapshot == SB_LOCATION_NO || v->disks[i].snapshot == SB_LOCATION_MANUAL)
            continue;
        if (!k || !k->source) {
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "snapshot '%s': disk '%s' is not in its domain definition", v->name,
                         v->disks[i].name);
            goto out;
        }
        if (!qp_file_exists(k->source)) {
            r = qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT,
                               "snapshot '%s': image '%s' of disk '%s'", v->name, k->source,
                               k->target);
            goto out;
        }
        if (v->disks[i].snapshot == SB_LOCATION_INTERNAL) {
            int has = qp_img_has_snapshot(ctx, k->source, v->name, 1);
            if (has < 0) {
                r = has;
                goto out;
            }
            if (!has) {
                r = qp_error(ctx, SB_ERR_OPERATION_FAILED,
                             "image '%s' of disk '%s' has no internal snapshot '%s'", k->source,
                             k->target, v->name);
                goto out;
            }
        }
    }
    /* applying an internal snapshot rewrites its images: only images the
     * domain uses (a redefined <domain> may name any) */
    if (!v->external) {
        qp_strv mine = {0};
        r = qp_domain_images(ctx, domain, cur, 1, &mine);
        for (size_t i = 0; i < v->ndisks && r == 0; i++) {
            const qp_disk *k = qp_domain_disk(snapdom, v->disks[i].name);
            if (v->disks[i].snapshot == SB_LOCATION_INTERNAL && k && k->source)
                r = qp_check_domain_image(ctx, domain, &mine, k->source, v->name,
                                          "reverting to it", 0);
        }
        qp_strv_free(&mine);
        if (r < 0)
            goto out;
    }
    /* applying an internal snapshot rewrites its images in place: refuse
     * while another snapshot still reads their current contents */
    if (!v->external && (r = guard_internal(ctx, domain, v, snapdom)) < 0)
        goto out;
    qp_domain *cmpdom = NULL;
    if ((r = qp_domain_parse(ctx, newxml, &cmpdom)) < 0)
        goto out;
    int inplace = online_target && running && same_machine(ctx, cur, cmpdom);
    qp_domain_free(cmpdom);
    int want = qp_run_state_after(v->state, flags);
    double t0 = qp_now_ms();

    if (!v->external) {
        if (inplace) {
            /* in place: no QEMU restart */
            if ((r = qp_proc_connect(ctx, domain, &q)) < 0)
                goto out;
            char st[64];
            if ((r = qp_qmp_status(q, st, sizeof st)) < 0)
                goto out;
            char jid[64];
            json_object *args = NULL;
            if ((r = load_args(ctx, q, v, jid, sizeof jid, &args)) < 0)
                goto out;
            /* stopped first, so the loaded guest never runs unless wanted */
            if (!strcmp(st, "running") && (r = qp_qmp_execute(q, "stop", NULL, NULL)) < 0) {
                json_object_put(args);
                goto out;
            }
            if ((r = qp_qmp_job(q, "snapshot-load", args, jid)) < 0) {
                if (!strcmp(st, "running"))
                    (void)qp_set_run_state(q, SB_DOMAIN_RUNNING);
                goto out;
            }
            /* the guest is paused now (stopped above, or it was): only a
             * running one needs a word, without asking its state first */
            r = want == SB_DOMAIN_RUNNING ? qp_qmp_execute(q, "cont", NULL, NULL)
                : want == SB_DOMAIN_PAUSED ? 0 : qp_set_run_state(q, want);
            if (r == 0 && strcmp(cur->xml, newxml))
                r = qp_domain_store(ctx, domain, newxml);
            goto done;
        }
        if (running && (r = qp_proc_destroy(ctx, domain)) < 0)
            goto out;
        if ((r = qp_domain_parse(ctx, newxml, &newdom)) < 0)
            goto out;
        /* offline: the definition is stored once every image is reverted */
        if (online_target && (r = qp_domain_store(ctx, domain, newxml)) < 0)
            goto out;
        if (online_target) {
            if ((r = qp_proc_start(ctx, newdom, 1, 0, &q)) < 0)
                goto out;
            if ((r = internal_load(ctx, q, v)) < 0 || (r = qp_set_run_state(q, want)) < 0) {
                qp_qmp_close(q);
                q = NULL;
                (void)qp_proc_destroy(ctx, domain);
                goto out;
            }
        } else {
            if ((r = offline_apply_all(ctx, domain, v, newdom, newxml, cur->xml)) < 0)
                goto out;
            if (flags & (SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED))
                if ((r = qp_proc_start(ctx, newdom, (flags & SB_SNAPSHOT_REVERT_PAUSED) != 0, 0,
                                       NULL)) < 0)
                    goto out;
        }
        goto done;
    }

    /* external: new overlays on top of the captured images */
    char *xml = qp_strdup(newxml);
    for (size_t i = 0; i < v->ndisks && xml; i++) {
        const qp_disk *k = qp_domain_disk(snapdom, v->disks[i].name);
        const qp_disk *now = k ? qp_domain_disk(cur, k->target) : NULL;
        int captured = v->disks[i].snapshot == SB_LOCATION_EXTERNAL;
        /* A writable disk the snapshot did not capture ('no', 'manual')
         * keeps what the domain runs it on now: it is not reverted.  The
         * snapshot's <domain> names the image it ran on then, which a
         * later snapshot may have captured since: running on it again
         * would write into that snapshot's state.  (A disk the domain no
         * longer has gets an overlay on that image instead.) */
        if (!captured && k && k->source && !k->readonly && now && now->source) {
            char *nx = qp_strv_add(&overlays, "") == 0
                           ? qp_domain_xml_set_disk(xml, k->target, now->source, now->format)
                           : NULL;
            free(xml);
            xml = nx;
            continue;
        }
        /* a read-only disk (external only in trees made before read-only
         * disks became 'no') goes back to its captured image itself: it
         * never changes, so it needs no overlay; nor does an empty drive */
        if (!k || !k->source || k->readonly) {
            if (qp_strv_add(&overlays, "") < 0) { /* one entry per disk, in order */
                free(xml);
                xml = NULL;
            }
            continue;
        }
        char *ov = revert_overlay_name(k->source, &overlays);
        char *nx = ov && qp_strv_add(&overlays, ov) == 0
                       ? qp_domain_xml_set_disk(xml, k->target, ov, "qcow2") : NULL;
        free(xml);
        xml = nx;
        free(ov);
    }
    if (!xml) {
        r = qp_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot build the reverted domain definition");
        goto out;
    }
    free(newxml);
    newxml = xml;
    if (running && (r = qp_proc_destroy(ctx, domain)) < 0)
        goto out;
    /* a process killed from here until the definition is stored is undone
     * by the next command (journal.c): the overlays go, the old definition
     * comes back; killed later, the revert stands */
    if ((r = qp_journal_begin(ctx, &j, domain, "revert-external", v->name, cur->xml)) < 0)
        goto out;
    journaled = 1;
    for (size_t i = 0; i < v->ndisks && r == 0; i++) {
        if (!overlays.v[i][0])
            continue;
        const qp_disk *k = qp_domain_disk(snapdom, v->disks[i].name);
        int fd = qp_journal_create_file(ctx, &j, overlays.v[i]);
        if (fd < 0) {
            r = fd == -EEXIST ? qp_error(ctx, SB_ERR_OPERATION_FAILED,
                                         "'%s' appeared while reverting; nothing was changed",
                                         overlays.v[i])
                              : fd;
            break;
        }
        close(fd);
        r = qp_img_create_overlay(ctx, overlays.v[i], k->source, k->format);
    }
    if (r == 0)
        r = qp_domain_parse(ctx, newxml, &newdom);
    if (r == 0)
        r = qp_domain_store(ctx, domain, newxml);
    if (r == 0 && qp_journal_commit(ctx, &j) < 0)
        qp_log(ctx, SB_LOG_WARN, "cannot record the commit point: %s", ctx->err_msg);
    if (r < 0) {
        for (size_t i = 0; i < j.created.n; i++)
            (void)qp_ours_unlink(ctx, domain, j.created.v[i]);
        goto out;
    }
    if (online_target) {
        if ((r = qp_proc_start(ctx, newdom, 1, 1, &q)) < 0 ||
            (r = load_memory(ctx, q, v->memory_file)) < 0 || (r = qp_set_run_state(q, want)) < 0) {
            /* the real cause is in QEMU's log (e.g. "Not a migration
             * stream"); what follows from it ("not running") is not */
            char msg[sizeof ctx->err_msg];
            snprintf(msg, sizeof msg, "%s", ctx->err_msg);
            qp_qmp_close(q);
            q = NULL;
            qp_ctx quiet = *ctx;
            quiet.api = NULL;
            /* a failed incoming migration makes QEMU exit: let it finish
             * writing its reason, then read the log */
            pid_t p2 = 0;
            if (qp_proc_pid(&quiet, domain, &p2) == 0 && p2 > 0 &&
                qp_proc_wait_gone(p2, 2000) < 0)
                (void)qp_proc_destroy(&quiet, domain);
            char *tail = qp_proc_log_tail(ctx, domain);
            for (char *c = tail; c && *c; c++)
                if (*c == '\n')
                    *c = ' '; /* one line */
            (void)qp_proc_pid(&quiet, domain, &p2); /* stale pid file and socket go */
            /* back to the previous definition; the new overlays go */
            if (qp_domain_store(&quiet, domain, cur->xml) < 0)
                qp_log(ctx, SB_LOG_WARN, "cannot restore the definition of '%s': %s", domain,
                       quiet.err_msg);
            for (size_t i = 0; i < j.created.n; i++)
                (void)qp_ours_unlink(&quiet, domain, j.created.v[i]);
            r = qp_error(ctx, r == -SB_ERR_OPERATION_TIMEOUT ? SB_ERR_OPERATION_TIMEOUT
                                                             : SB_ERR_HYPERVISOR,
                         "cannot restore the memory state of snapshot '%s' from '%s': %s; QEMU "
                         "log: %s; the domain is shut off with its previous definition",
                         v->name, v->memory_file, msg, tail ? tail : "(none)");
            free(tail);
            goto out;
        }
    } else if (flags & (SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED)) {
        if ((r = qp_proc_start(ctx, newdom, (flags & SB_SNAPSHOT_REVERT_PAUSED) != 0, 0, NULL)) < 0)
            goto out;
    }
    {
        /* record the new overlays in the snapshot */
        struct sb_snapshot_view nv = *v;
        int kids = has_children(ctx, domain, v->name);
        replaced_disks = !kids; /* the new overlays replace its <disks> */
        struct sb_snapshot_disk_view *dv = calloc(v->ndisks ? v->ndisks : 1, sizeof *dv);
        if (!dv) {
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            goto out;
        }
        size_t n = 0;
        for (size_t i = 0; i < v->ndisks; i++) {
            if (kids && !overlays.v[i][0])
                continue;
            dv[n] = v->disks[i];
            if (overlays.v[i][0]) {
                dv[n].source = overlays.v[i];
                dv[n].driver_type = "qcow2";
                dv[n].type = SB_DISK_TYPE_FILE;
                dv[n].snapshot = SB_LOCATION_EXTERNAL;
            }
            n++;
        }
        if (kids) {
            nv.revert_disks = dv;
            nv.nrevert_disks = n;
        } else {
            nv.disks = dv;
            nv.ndisks = n;
            nv.revert_disks = NULL;
            nv.nrevert_disks = 0;
        }
        r = qp_format(ctx, &nv, out_xml);
        free(dv);
        if (r < 0)
            goto out;
    }
done:
    qp_log(ctx, SB_LOG_DEBUG, "reverted '%s' to '%s' in %.1f ms", domain, v->name,
           qp_now_ms() - t0);
    if (journaled) {
        qp_journal_end(ctx, &j);
        journaled = 0;
    }
    if (r == 0) {
        qp_domain *now = newdom;
        qp_domain *tmp = NULL;
        if (!now && qp_domain_load(ctx, domain, &tmp) == 0)
            now = tmp;
        /* tree metadata still lists the old <disks> for this snapshot; the
         * overlays recorded in *out_xml are the new top and are in `now` */
        drop_unneeded(ctx, domain, cur, now, v, replaced_disks);
        qp_domain_free(tmp);
    }
out:
    if (journaled) /* failed: what it made is undone already */
        qp_journal_end(ctx, &j);
    qp_qmp_close(q);
    qp_strv_free(&overlays);
    free(newxml);
    qp_domain_free(newdom);
    qp_domain_free(snapdom);
    qp_domain_free(cur);
    qp_view_free(ctx, v);
    return r;
}
