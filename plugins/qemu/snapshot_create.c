/* qemu plugin - snapshot creation (spec 6.1 combination table).
 *
 * Everything is checked before anything is touched; then one of:
 *   shut off, internal      qemu-img snapshot -c on every internal disk
 *   shut off, external      qemu-img create -f qcow2 -b old -F fmt, domain repointed
 *   running, internal       QMP snapshot-save job (vmstate in the first internal disk)
 *   running, external disks one QMP transaction of blockdev-snapshot-sync (atomic)
 *   running, external mem   stop (unless LIVE), migrate to an fd on the memory file,
 *                           then the disk transaction, then cont
 * Files created by a failed attempt are removed.
 */
#include "journal.h"
#include "snapshot_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct plan_disk {
    const qp_disk *dd;
    int mode;             /* SB_LOCATION_* (never DEFAULT) */
    char *file;           /* external target */
    int created;          /* we created file */
    char node[64];        /* running: current top node */
    char new_node[32];
} plan_disk;

typedef struct plan {
    qp_domain *dom;
    struct sb_snapshot_view *view;
    int active;           /* QEMU process running */
    char status[64];      /* query-status when active */
    int dom_state;        /* SB_DOMAIN_* */
    int memory;           /* final memory location */
    char *memory_file;
    int n_internal, n_external, n_manual;
    size_t ndisks;
    plan_disk *disks;
    qp_qmp *q;
    int mem_created;
    qp_journal j;     /* external snapshots: the files made, until done */
    int journaled;
} plan;

static void plan_free(qp_ctx *ctx, plan *p)
{
    if (p->journaled)
        qp_journal_end(ctx, &p->j);
    for (size_t i = 0; i < p->ndisks; i++)
        free(p->disks[i].file);
    free(p->disks);
    free(p->memory_file);
    qp_qmp_close(p->q);
    qp_view_free(ctx, p->view);
    qp_domain_free(p->dom);
}

static const char *loc_name(int l)
{
    switch (l) {
    case SB_LOCATION_NO: return "no";
    case SB_LOCATION_INTERNAL: return "internal";
    case SB_LOCATION_EXTERNAL: return "external";
    case SB_LOCATION_MANUAL: return "manual";
    default: return "default";
    }
}

/* Resolve a <disks> entry name (target or absolute source path). */
static const qp_disk *find_domain_disk(qp_ctx *ctx, const qp_domain *d, const char *name, int *err)
{
    *err = 0;
    if (name && name[0] != '/') {
        const qp_disk *k = qp_domain_disk(d, name);
        if (!k)
            *err = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "no disk named '%s'", name);
        return k;
    }
    const qp_disk *found = NULL;
    for (size_t i = 0; i < d->ndisks; i++)
        if (d->disks[i].source && !strcmp(d->disks[i].source, name)) {
            if (found) {
                *err = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "disk path '%s' is ambiguous", name);
                return NULL;
            }
            found = &d->disks[i];
        }
    if (!found)
        *err = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "no disk named '%s'", name ? name : "");
    return found;
}

static const char *file_kind(mode_t m)
{
    return S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ? "a directory"
         : S_ISLNK(m) ? "a symbolic link" : "not a regular file";
}

/* A non-empty memory file handed over with REUSE_EXT is truncated and
 * overwritten: it must hold nothing anyone needs - no image of a backing
 * chain of the domain or of a stored snapshot (a memory file put over a
 * disk's base destroyed it, and the guest's disk with it), and no other
 * snapshot's memory state (overwritten, then removed by this snapshot's
 * delete). */
static int check_reused_memory(qp_ctx *ctx, const plan *p, const char *domain, const char *m)
{
    qp_needed n;
    char *owner = NULL;
    int r = qp_needed_compute(ctx, domain, NULL, p->dom, &n);
    if (r < 0)
        return r;
    if (qp_strv_has(&n.all, m))
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "memory state file '%s' is a disk image the domain or a snapshot still "
                     "uses; the memory state would overwrite it", p->memory_file);
    qp_needed_free(&n);
    if (r == 0 && (r = qp_memory_file_named(ctx, domain, m, NULL, &owner)) > 0)
        r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                     "memory state file '%s' is the memory state of snapshot '%s'; the new "
                     "snapshot's would overwrite it", p->memory_file, owner);
    free(owner);
    return r;
}

/* The memory state file: QEMU streams the guest's RAM into it and a
 * delete removes it, so it must be a regular file - new (the plugin
 * creates it), or an existing empty one (a non-empty one only with
 * REUSE_EXT) - and no other part of this snapshot may use that path: a
 * disk's image or external file would be overwritten by the memory
 * state.  An existing device (/dev/null), FIFO (the open would block with
 * the guest paused), socket, directory or symlink is refused. */
static int check_memory_target(qp_ctx *ctx, const plan *p, const char *domain, unsigned flags)
{
    char *m = qp_realpath_or_copy(p->memory_file);
    int r = m ? 0 : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < p->ndisks && r == 0; i++) {
        const plan_disk *pd = &p->disks[i];
        char *img = pd->dd->source ? qp_realpath_or_copy(pd->dd->source) : NULL;
        char *ext = pd->file ? qp_realpath_or_copy(pd->file) : NULL;
        if ((pd->dd->source && !img) || (pd->file && !ext))
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        else if ((img && !strcmp(img, m)) || (ext && !strcmp(ext, m)))
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "memory state file '%s' is also %s of disk '%s'", p->memory_file,
                         img && !strcmp(img, m) ? "the image" : "the external snapshot file",
                         pd->dd->target);
        free(img);
        free(ext);
    }
    struct stat st;
    if (r == 0 && lstat(p->memory_file, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "memory state file '%s' exists and is %s; it must be a regular file "
                         "(or not exist)", p->memory_file, file_kind(st.st_mode));
        else if (st.st_size > 0 && !(flags & SB_SNAPSHOT_CREATE_REUSE_EXT))
            r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                         "memory state file '%s' already exists and is not empty",
                         p->memory_file);
        else if (st.st_size > 0)
            r = check_reused_memory(ctx, p, domain, m);
    }
    free(m);
    return r;
}

/* Table + alignment + prepare checks.  Touches nothing. */
static int plan_build(qp_ctx *ctx, plan *p, const char *domain, unsigned flags)
{
    int r;
    const struct sb_snapshot_view *v = p->view;
    int disk_only = (flags & SB_SNAPSHOT_CREATE_DISK_ONLY) != 0;

    if (flags & SB_SNAPSHOT_CREATE_REDEFINE)
        return qp_error(ctx, SB_ERR_INVALID_ARG, "REDEFINE is handled by the broker, not the plugin");
    if ((flags & SB_SNAPSHOT_CREATE_QUIESCE) && !disk_only)
        return qp_error(ctx, SB_ERR_INVALID_ARG, "QUIESCE requires DISK_ONLY");

    pid_t pid = 0;
    if ((r = qp_proc_pid(ctx, domain, &pid)) < 0)
        return r;
    p->active = pid > 0;
    p->dom_state = SB_DOMAIN_SHUTOFF;
    if (p->active) {
        if ((r = qp_proc_connect(ctx, domain, &p->q)) < 0)
            return r;
        if ((r = qp_qmp_status(p->q, p->status, sizeof p->status)) < 0)
            return r;
        if (!strcmp(p->status, "running"))
            p->dom_state = SB_DOMAIN_RUNNING;
        else if (!strcmp(p->status, "suspended"))
            return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                            "domain '%s' is pmsuspended: cannot snapshot it", domain);
        else if (!strcmp(p->status, "inmigrate") || !strcmp(p->status, "finish-migrate") ||
                 !strcmp(p->status, "save-vm") || !strcmp(p->status, "restore-vm"))
            return qp_error(ctx, SB_ERR_OPERATION_INVALID,
                            "domain '%s' is busy (QEMU status '%s')", domain, p->status);
        else
            p->dom_state = SB_DOMAIN_PAUSED;
    }

    /* memory, per the combination table */
    int mem = v->memory;
    if (!p->active || disk_only) {
        if (mem == SB_LOCATION_INTERNAL || mem == SB_LOCATION_EXTERNAL)
            return qp_error(ctx, SB_ERR_XML_ERROR,
                            "memory state cannot be saved with offline or disk-only snapshot");
        if (mem == SB_LOCATION_MANUAL)
            return qp_error(ctx, SB_ERR_XML_ERROR, "memory snapshot='manual' is not allowed");
        mem = SB_LOCATION_NO;
    } else {
        if (mem == SB_LOCATION_NO)
            return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                            "internal snapshot of a running VM must include the memory state");
        if (mem == SB_LOCATION_MANUAL)
            return qp_error(ctx, SB_ERR_XML_ERROR, "memory snapshot='manual' is not allowed");
        if (mem == SB_LOCATION_DEFAULT)
            mem = SB_LOCATION_INTERNAL;
    }
    if (flags & SB_SNAPSHOT_CREATE_LIVE) {
        if (!p->active || mem != SB_LOCATION_EXTERNAL)
            return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                            "LIVE needs a running domain and an external memory snapshot");
    }
    p->memory = mem;
    if (mem == SB_LOCATION_EXTERNAL) {
        if (!v->memory_file || v->memory_file[0] != '/')
            return qp_error(ctx, SB_ERR_XML_ERROR, "external memory snapshot needs an absolute file");
        p->memory_file = qp_strdup(v->memory_file);
    }
    int default_loc = (disk_only || mem == SB_LOCATION_EXTERNAL) ? SB_LOCATION_EXTERNAL
                                                                 : SB_LOCATION_INTERNAL;
    int uniform_internal = default_loc == SB_LOCATION_INTERNAL;

    /* alignment: one entry per domain disk, in domain order */
    p->ndisks = p->dom->ndisks;
    p->disks = calloc(p->ndisks ? p->ndisks : 1, sizeof *p->disks);
    if (!p->disks)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (v->ndisks > p->dom->ndisks)
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "too many disk snapshot requests");
    const struct sb_snapshot_disk_view **given = calloc(p->ndisks ? p->ndisks : 1, sizeof *given);
    if (!given)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < v->ndisks; i++) {
        int err;
        const qp_disk *k = find_domain_disk(ctx, p->dom, v->disks[i].name, &err);
        if (!k) {
            free(given);
            return err;
        }
        size_t idx = (size_t)(k - p->dom->disks);
        if (given[idx]) {
            free(given);
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED, "disk '%s' specified twice",
                            v->disks[i].name);
        }
        given[idx] = &v->disks[i];
    }
    for (size_t i = 0; i < p->ndisks; i++) {
        plan_disk *pd = &p->disks[i];
        const qp_disk *k = &p->dom->disks[i];
        const struct sb_snapshot_disk_view *g = given[i];
        pd->dd = k;
        int mode = g ? g->snapshot : SB_LOCATION_DEFAULT;
        if (!k->source) {
            mode = SB_LOCATION_NO; /* empty drive */
        } else if (mode == SB_LOCATION_DEFAULT) {
            if (k->snapshot != SB_LOCATION_DEFAULT &&
                (!uniform_internal || k->snapshot == SB_LOCATION_NO))
                mode = k->snapshot;
            else if (k->readonly)
                mode = SB_LOCATION_NO; /* a read-only disk never changes */
            else
                mode = default_loc;
        } else if (uniform_internal && mode != SB_LOCATION_INTERNAL &&
                   !(mode == SB_LOCATION_NO && k->snapshot == SB_LOCATION_NO) &&
                   !(mode == SB_LOCATION_NO && k->readonly) &&
                   !(mode == SB_LOCATION_EXTERNAL && k->snapshot == SB_LOCATION_EXTERNAL)) {
            free(given);
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "disk '%s' must use snapshot mode 'internal'", k->target);
        }
        if (g && g->source && mode != SB_LOCATION_EXTERNAL) {
            free(given);
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "file '%s' for disk '%s' requires use of external snapshot mode",
                            g->source, k->target);
        }
        /* a read-only disk never changes: it is 'no' for internal and
         * external snapshots alike (QEMU could not merge into a read-only
         * node).  The broker aligns an unlisted <readonly/> disk 'no'
         * (caps.readonly_unlisted_no), so another mode for one was asked
         * for: refused rather than recorded as 'no'.  A cdrom without
         * <readonly/> is aligned like any disk and quietly 'no'. */
        if (k->readonly && mode != SB_LOCATION_NO && g && strcmp(k->device, "cdrom")) {
            free(given);
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "disk '%s' is read-only: it is never snapshotted, so snapshot "
                            "mode '%s' cannot be used for it (only 'no')", k->target,
                            loc_name(mode));
        }
        if (k->readonly && mode != SB_LOCATION_NO)
            mode = SB_LOCATION_NO;
        pd->mode = mode;
        if (mode == SB_LOCATION_EXTERNAL) {
            if (g && g->driver_type && strcmp(g->driver_type, "qcow2")) {
                free(given);
                return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                "external snapshot format for disk '%s' is unsupported: %s "
                                "(only qcow2)", k->target, g->driver_type);
            }
            if (g && g->type == SB_DISK_TYPE_BLOCK) {
                free(given);
                return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                                "disk '%s': external snapshots onto block devices are not "
                                "supported", k->target);
            }
            if (g && g->source)
                pd->file = qp_strdup(g->source);
            else {
                if (strcmp(k->type, "file")) {
                    free(given);
                    return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                    "cannot generate an external snapshot name for disk '%s' "
                                    "on a non-regular file", k->target);
                }
                pd->file = qp_default_external_name(k->source, v->name);
            }
            if (!pd->file || pd->file[0] != '/') {
                free(given);
                return qp_error(ctx, SB_ERR_XML_ERROR,
                                "external snapshot file for disk '%s' must be an absolute path",
                                k->target);
            }
        }
        switch (mode) {
        case SB_LOCATION_INTERNAL: p->n_internal++; break;
        case SB_LOCATION_EXTERNAL: p->n_external++; break;
        case SB_LOCATION_MANUAL: p->n_manual++; break;
        default: break;
        }
    }
    free(given);

    /* offline: external disks only means a disk-only external snapshot */
    if (!p->active && p->n_external && !p->n_internal)
        disk_only = 1;

    /* global prepare checks */
    if (!p->n_internal && !p->n_external && p->memory != SB_LOCATION_INTERNAL &&
        p->memory != SB_LOCATION_EXTERNAL && !p->n_manual)
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "nothing selected for snapshot");
    int mem_int = p->memory == SB_LOCATION_INTERNAL;
    int mem_ext = p->memory == SB_LOCATION_EXTERNAL;
    if ((p->n_internal || mem_int) && (p->n_external || mem_ext))
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "mixing internal and external targets for a snapshot is not yet "
                        "supported");
    if (p->n_internal || mem_int) {
        if (mem_int && !p->n_internal)
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "internal snapshot of a running VM needs at least one internal disk");
        for (size_t i = 0; i < p->ndisks; i++) {
            const plan_disk *pd = &p->disks[i];
            if ((pd->mode == SB_LOCATION_NO && pd->dd->source && !pd->dd->readonly) ||
                pd->mode == SB_LOCATION_MANUAL)
                return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                "internal and full system snapshots require all disks to be "
                                "selected for snapshot (disk '%s' is '%s')",
                                pd->dd->target, loc_name(pd->mode));
            if (pd->mode == SB_LOCATION_INTERNAL && strcmp(pd->dd->format, "qcow2"))
                return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                "internal snapshot for disk '%s' unsupported for storage type %s",
                                pd->dd->target, pd->dd->format);
        }
    }
    if (p->active && disk_only && !p->n_external)
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "disk-only snapshots require at least one disk to be selected for "
                        "external snapshot");
    /* external targets */
    for (size_t i = 0; i < p->ndisks; i++) {
        plan_disk *pd = &p->disks[i];
        if (pd->mode != SB_LOCATION_EXTERNAL)
            continue;
        for (size_t k = 0; k < i; k++)
            if (p->disks[k].file && !strcmp(p->disks[k].file, pd->file))
                return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                                "disks '%s' and '%s' would use the same external file '%s'",
                                p->disks[k].dd->target, pd->dd->target, pd->file);
        if (pd->dd->source && !strcmp(pd->dd->source, pd->file))
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "external file '%s' for disk '%s' is the disk's own image", pd->file,
                            pd->dd->target);
        struct stat st;
        int exists = stat(pd->file, &st) == 0;
        if (flags & SB_SNAPSHOT_CREATE_REUSE_EXT) {
            if (!exists)
                return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT,
                                      "REUSE_EXT: external file '%s' for disk '%s'", pd->file,
                                      pd->dd->target);
            qp_img_info info;
            if ((r = qp_img_query(ctx, pd->file, 1, &info)) < 0)
                return r;
            char *want = qp_realpath_or_copy(pd->dd->source);
            char *have = info.backing ? qp_realpath_or_copy(info.backing) : NULL;
            int ok = info.format && !strcmp(info.format, "qcow2") && have && want &&
                     !strcmp(have, want);
            qp_img_info_free(&info);
            if (!ok) {
                r = qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                             "REUSE_EXT: '%s' must be a qcow2 image whose backing file is '%s' "
                             "(it has '%s')", pd->file, want ? want : "", have ? have : "none");
                free(want);
                free(have);
                return r;
            }
            free(want);
            free(have);
        } else if (exists && (!S_ISREG(st.st_mode) || st.st_size > 0)) {
            return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "external snapshot file for disk '%s' already exists and is not a "
                            "block device or empty: '%s'", pd->dd->target, pd->file);
        }
        if (!qp_file_exists(pd->dd->source))
            return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT,
                                  "disk '%s' image '%s'", pd->dd->target, pd->dd->source);
    }
    if (p->memory == SB_LOCATION_EXTERNAL && (r = check_memory_target(ctx, p, domain, flags)) < 0)
        return r;
    for (size_t i = 0; i < p->ndisks; i++)
        if (p->disks[i].mode == SB_LOCATION_INTERNAL && !qp_file_exists(p->disks[i].dd->source))
            return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, ENOENT, "disk '%s' image '%s'",
                                  p->disks[i].dd->target, p->disks[i].dd->source);
    if (flags & SB_SNAPSHOT_CREATE_QUIESCE) {
        if (!p->active)
            return qp_error(ctx, SB_ERR_OPERATION_INVALID,
                            "QUIESCE needs a running domain (guest agent)");
        if (!p->dom->agent_path)
            return qp_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                            "QUIESCE needs the QEMU guest agent, and domain '%s' has no "
                            "org.qemu.guest_agent.0 channel", domain);
    }
    /* running: map targets to QEMU nodes and check the images match */
    if (p->active) {
        for (size_t i = 0; i < p->ndisks; i++) {
            plan_disk *pd = &p->disks[i];
            if (pd->mode != SB_LOCATION_INTERNAL && pd->mode != SB_LOCATION_EXTERNAL)
                continue;
            if ((r = qp_vm_top_node(p->q, pd->dd->target, pd->node, sizeof pd->node)) < 0)
                return r;
            qp_new_node_name(pd->new_node, sizeof pd->new_node, pd->dd->target);
        }
    } else if (p->n_internal) {
        for (size_t i = 0; i < p->ndisks; i++) {
            plan_disk *pd = &p->disks[i];
            if (pd->mode != SB_LOCATION_INTERNAL)
                continue;
            int has = qp_img_has_snapshot(ctx, pd->dd->source, v->name, 0);
            if (has < 0)
                return has;
            if (has)
                return qp_error(ctx, SB_ERR_OPERATION_FAILED,
                                "image '%s' of disk '%s' already has an internal snapshot '%s'",
                                pd->dd->source, pd->dd->target, v->name);
        }
    }
    if (p->active)
        p->dom_state = p->dom_state; /* kept */
    (void)disk_only;
    return 0;
}

/* Remove the files this attempt created (and only those). */
static void undo_files(qp_ctx *ctx, plan *p)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    for (size_t i = 0; i < p->ndisks; i++)
        if (p->disks[i].created) {
            (void)qp_ours_unlink(&quiet, p->dom->name, p->disks[i].file);
            p->disks[i].created = 0;
        }
    if (p->mem_created && p->memory_file) {
        (void)qp_ours_unlink(&quiet, p->dom->name, p->memory_file);
        p->mem_created = 0;
    }
}

/* A new external target: created empty by the plugin (journaled and
 * recorded as its file first), then formatted by qemu-img or QEMU.  An
 * existing empty file (plan_build allowed it) is the user's: it is used,
 * never recorded nor removed. */
static int make_target(qp_ctx *ctx, plan *p, plan_disk *pd)
{
    int fd = qp_journal_create_file(ctx, &p->j, pd->file);
    if (fd >= 0) {
        close(fd);
        pd->created = 1;
        return 0;
    }
    return fd == -EEXIST ? 0 : fd;
}

/* After success: REUSE_EXT targets become the snapshot's, like the ones
 * the plugin made (a delete may merge and remove them). */
static void adopt_reused(qp_ctx *ctx, plan *p, unsigned flags)
{
    if (!(flags & SB_SNAPSHOT_CREATE_REUSE_EXT) || (flags & SB_SNAPSHOT_CREATE_NO_METADATA))
        return;
    for (size_t i = 0; i < p->ndisks; i++)
        if (p->disks[i].mode == SB_LOCATION_EXTERNAL) {
            char *c = qp_realpath_or_copy(p->disks[i].file);
            if (c && qp_ours_add(ctx, p->dom->name, c) < 0)
                qp_log(ctx, SB_LOG_WARN, "'%s' is not recorded as the snapshot's", c);
            free(c);
        }
}

static int offline_internal(qp_ctx *ctx, plan *p)
{
    size_t done = 0;
    int r = 0;
    for (; done < p->ndisks; done++) {
        plan_disk *pd = &p->disks[done];
        if (pd->mode != SB_LOCATION_INTERNAL)
            continue;
        if ((r = qp_img_snapshot_create(ctx, pd->dd->source, p->view->name)) < 0)
            break;
    }
    if (r < 0) { /* roll back the tags made so far */
        for (size_t i = 0; i < done; i++)
            if (p->disks[i].mode == SB_LOCATION_INTERNAL) {
                qp_ctx quiet = *ctx;
                quiet.api = NULL;
                (void)qp_img_snapshot_delete(&quiet, p->disks[i].dd->source, p->view->name);
            }
    }
    return r;
}

/* The domain definition with every external disk on its new overlay. */
static char *repointed_xml(plan *p)
{
    char *xml = qp_strdup(p->dom->xml);
    for (size_t i = 0; i < p->ndisks && xml; i++) {
        if (p->disks[i].mode != SB_LOCATION_EXTERNAL)
            continue;
        char *nx = qp_domain_xml_set_disk(xml, p->disks[i].dd->target, p->disks[i].file, "qcow2");
        free(xml);
        xml = nx;
    }
    return xml;
}

static int repoint_domain(qp_ctx *ctx, plan *p)
{
    char *xml = repointed_xml(p);
    if (!xml)
        return qp_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot update the domain definition");
    int r = qp_domain_store(ctx, p->dom->name, xml);
    free(xml);
    return r;
}

static int offline_external(qp_ctx *ctx, plan *p, unsigned flags)
{
    int r = 0;
    for (size_t i = 0; i < p->ndisks && r == 0; i++) {
        plan_disk *pd = &p->disks[i];
        if (pd->mode != SB_LOCATION_EXTERNAL || (flags & SB_SNAPSHOT_CREATE_REUSE_EXT))
            continue;
        if ((r = make_target(ctx, p, pd)) == 0)
            r = qp_img_create_overlay(ctx, pd->file, pd->dd->source, pd->dd->format);
    }
    if (r == 0)
        r = repoint_domain(ctx, p);
    if (r < 0)
        undo_files(ctx, p);
    return r;
}

static json_object *disk_transaction(plan *p, unsigned flags)
{
    json_object *actions = json_object_new_array();
    for (size_t i = 0; i < p->ndisks; i++) {
        plan_disk *pd = &p->disks[i];
        if (pd->mode != SB_LOCATION_EXTERNAL)
            continue;
        json_object *data = json_object_new_object();
        json_object_object_add(data, "node-name", json_object_new_string(pd->node));
        json_object_object_add(data, "snapshot-file", json_object_new_string(pd->file));
        json_object_object_add(data, "snapshot-node-name", json_object_new_string(pd->new_node));
        json_object_object_add(data, "format", json_object_new_string("qcow2"));
        json_object_object_add(data, "mode",
                               json_object_new_string((flags & SB_SNAPSHOT_CREATE_REUSE_EXT)
                                                          ? "existing" : "absolute-paths"));
        json_object *act = json_object_new_object();
        json_object_object_add(act, "type", json_object_new_string("blockdev-snapshot-sync"));
        json_object_object_add(act, "data", data);
        json_object_array_add(actions, act);
    }
    json_object *args = json_object_new_object();
    json_object_object_add(args, "actions", actions);
    return args;
}

/* The QMP transaction switches QEMU onto the overlays: from then on they
 * hold the guest's writes and are never removed.  So everything that can
 * fail for lack of space (the new definition, written to a temp file) is
 * done before it; the temp file's sync runs while QEMU serves the
 * transaction, and only a rename is left afterwards.  Should that fail
 * too (or the sync), the overlays stay, are recorded as the domain's own,
 * and the definition follows QEMU at the next operation (qp_follow_qemu:
 * destroy, shutdown, snapshot calls, snapshot_exists). */
static int online_disks(qp_ctx *ctx, plan *p, unsigned flags)
{
    if (!p->n_external)
        return 0;
    char *xml = repointed_xml(p);
    qp_pending_def def;
    if (!xml)
        return qp_error(ctx, SB_ERR_INTERNAL_ERROR, "cannot update the domain definition");
    int r = qp_domain_store_prepare(ctx, p->dom->name, xml, &def);
    free(xml);
    if (r < 0)
        return r;
    /* the new targets, made empty by the plugin (QEMU formats them) */
    for (size_t i = 0; i < p->ndisks && r == 0; i++)
        if (p->disks[i].mode == SB_LOCATION_EXTERNAL && !(flags & SB_SNAPSHOT_CREATE_REUSE_EXT))
            r = make_target(ctx, p, &p->disks[i]);
    if (r == 0) {
        qp_qmp_meanwhile(p->q, qp_domain_store_sync, &def);
        r = qp_qmp_execute(p->q, "transaction", disk_transaction(p, flags), NULL);
    }
    if (r < 0) {
        qp_domain_store_drop(&def);
        return r;
    }
    /* QEMU writes to the overlays now: they are QEMU's, never removed */
    for (size_t i = 0; i < p->ndisks; i++) {
        p->disks[i].created = 0;
        if (p->disks[i].mode == SB_LOCATION_EXTERNAL) /* the node it made, for a commit */
            qp_book_add(ctx, p->dom->name, p->disks[i].new_node, p->disks[i].file);
    }
    p->mem_created = 0;
    /* The commit point needs its own record only for a memory file (and
     * the guest's resume) that nothing else would protect from a
     * recovery.  Overlays need none: a recovery keeps every image that
     * QEMU's chains or the stored definition name (journal.c,
     * images_in_use), and QEMU names them from the transaction on, the
     * definition from the rename below on.  A disk-only snapshot so saves
     * the record's two fsyncs and its rename. */
    if (p->memory == SB_LOCATION_EXTERNAL && qp_journal_commit(ctx, &p->j) < 0)
        qp_log(ctx, SB_LOG_WARN, "cannot record the commit point: %s", ctx->err_msg);
    ctx->store_fail_armed = 1; /* test-only injection point (qp.h) */
    r = qp_domain_store_commit(ctx, &def);
    ctx->store_fail_armed = 0;
    if (r < 0) {
        char msg[sizeof ctx->err_msg];
        snprintf(msg, sizeof msg, "%s", ctx->err_msg);
        for (size_t i = 0; i < p->ndisks; i++) /* REUSE_EXT targets too: QEMU's now */
            if (p->disks[i].mode == SB_LOCATION_EXTERNAL) {
                char *c = qp_realpath_or_copy(p->disks[i].file);
                if (c)
                    (void)qp_ours_add(ctx, p->dom->name, c);
                free(c);
            }
        r = qp_error(ctx, -r,
                     "QEMU now writes to the new overlays of snapshot '%s', but the domain "
                     "definition could not be updated (%s); the overlays are kept and the "
                     "definition follows QEMU at the next operation on the domain; the snapshot "
                     "is not recorded", p->view->name, msg);
    }
    return r;
}

/* The memory file, opened before the guest is paused: a new file is
 * created exclusively (and recorded as the plugin's, so a delete may
 * remove it); an existing one is opened without following a symlink and
 * without blocking, must still be a regular file (check_memory_target
 * looked before), and is truncated.  Returns the fd or negative. */
static int open_memory_file(qp_ctx *ctx, plan *p)
{
    int fd = qp_journal_create_file(ctx, &p->j, p->memory_file);
    if (fd >= 0) {
        p->mem_created = 1;
        return fd;
    }
    if (fd != -EEXIST)
        return fd;
    fd = open(p->memory_file, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : 0;
        if (fd >= 0)
            close(fd);
        return e ? qp_error_errno(ctx, SB_ERR_CONFIG_UNSUPPORTED, e,
                                  "memory state file '%s' must be a regular file",
                                  p->memory_file)
                 : qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "memory state file '%s' must be a regular file", p->memory_file);
    }
    if (ftruncate(fd, 0) < 0) {
        int e = errno;
        close(fd);
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot truncate memory file '%s'",
                              p->memory_file);
    }
    return fd;
}

static int save_memory(qp_ctx *ctx, plan *p, unsigned flags)
{
    int r;
    int fd = open_memory_file(ctx, p);
    if (fd < 0)
        return fd;
    json_object *params = json_object_new_object();
    json_object_object_add(params, "max-bandwidth", json_object_new_int64(1LL << 40));
    (void)qp_qmp_execute(p->q, "migrate-set-parameters", params, NULL);
    if (!(flags & SB_SNAPSHOT_CREATE_LIVE) && !strcmp(p->status, "running"))
        if ((r = qp_qmp_execute(p->q, "stop", NULL, NULL)) < 0) {
            close(fd);
            return r;
        }
    json_object *a = json_object_new_object();
    json_object_object_add(a, "fdname", json_object_new_string("sbmem"));
    r = qp_qmp_execute_fd(p->q, "getfd", a, fd, NULL);
    close(fd);
    if (r < 0)
        return r;
    a = json_object_new_object();
    json_object_object_add(a, "uri", json_object_new_string("fd:sbmem"));
    if ((r = qp_qmp_execute(p->q, "migrate", a, NULL)) < 0)
        return r;
    r = qp_wait_migration(p->q, ctx->job_timeout_ms);
    if (r < 0)
        return r;
    int sfd = open(p->memory_file, O_RDONLY | O_CLOEXEC);
    if (sfd >= 0) {
        fsync(sfd);
        close(sfd);
    }
    return 0;
}

static int resume_if_needed(plan *p, int was_running)
{
    char st[64];
    int r = qp_qmp_status(p->q, st, sizeof st);
    if (r < 0)
        return r;
    if (was_running && strcmp(st, "running"))
        return qp_qmp_execute(p->q, "cont", NULL, NULL);
    return 0;
}

static int online_create(qp_ctx *ctx, plan *p, unsigned flags)
{
    int r = 0;
    int was_running = !strcmp(p->status, "running");
    int frozen = 0;
    char jid[64];

    if (p->memory == SB_LOCATION_INTERNAL) {
        json_object *args = json_object_new_object(), *devs = json_object_new_array();
        const char *vmstate = NULL;
        for (size_t i = 0; i < p->ndisks; i++)
            if (p->disks[i].mode == SB_LOCATION_INTERNAL) {
                if (!vmstate)
                    vmstate = p->disks[i].node;
                json_object_array_add(devs, json_object_new_string(p->disks[i].node));
            }
        qp_job_id(jid, sizeof jid, "save");
        json_object_object_add(args, "job-id", json_object_new_string(jid));
        json_object_object_add(args, "tag", json_object_new_string(p->view->name));
        json_object_object_add(args, "vmstate", json_object_new_string(vmstate));
        json_object_object_add(args, "devices", devs);
        r = qp_qmp_job(p->q, "snapshot-save", args, jid);
        goto halt;
    }

    /* external: manual disks pause the guest and leave it paused */
    if (p->n_manual && was_running) {
        if ((r = qp_qmp_execute(p->q, "stop", NULL, NULL)) < 0)
            return r;
        qp_log(ctx, SB_LOG_INFO, "domain '%s' paused for manual disk snapshots; resume it when done",
               p->dom->name);
    }
    if (flags & SB_SNAPSHOT_CREATE_QUIESCE) {
        const char *path = *p->dom->agent_path ? p->dom->agent_path : NULL;
        char *def = path ? NULL : qp_printf("%s/run/%s/agent.sock", ctx->state_dir, p->dom->name);
        r = qp_agent_fsfreeze(ctx, path ? path : def, 1);
        free(def);
        if (r < 0)
            goto fail;
        frozen = 1;
    }
    if (p->memory == SB_LOCATION_EXTERNAL) {
        if ((r = save_memory(ctx, p, flags)) < 0)
            goto fail;
    }
    if ((r = online_disks(ctx, p, flags)) < 0)
        goto fail;
    if (frozen) {
        const char *path = *p->dom->agent_path ? p->dom->agent_path : NULL;
        char *def = path ? NULL : qp_printf("%s/run/%s/agent.sock", ctx->state_dir, p->dom->name);
        (void)qp_agent_fsfreeze(ctx, path ? path : def, 0);
        free(def);
        frozen = 0;
    }
halt:
    if (r < 0)
        goto fail;
    if (flags & SB_SNAPSHOT_CREATE_HALT) {
        qp_qmp_close(p->q);
        p->q = NULL;
        return qp_proc_destroy(ctx, p->dom->name);
    }
    if (!p->n_manual && p->memory == SB_LOCATION_EXTERNAL)
        return resume_if_needed(p, was_running);
    return 0;
fail:
    if (frozen) {
        const char *path = *p->dom->agent_path ? p->dom->agent_path : NULL;
        char *def = path ? NULL : qp_printf("%s/run/%s/agent.sock", ctx->state_dir, p->dom->name);
        qp_ctx quiet = *ctx;
        quiet.api = NULL;
        (void)qp_agent_fsfreeze(&quiet, path ? path : def, 0);
        free(def);
    }
    undo_files(ctx, p);
    if (p->q && was_running && !p->n_manual) {
        char st[64];
        if (qp_qmp_status(p->q, st, sizeof st) == 0 && strcmp(st, "running"))
            (void)qp_qmp_execute(p->q, "cont", NULL, NULL);
    }
    return r;
}

static int build_output(qp_ctx *ctx, plan *p, unsigned flags, char **out_xml)
{
    struct sb_snapshot_view nv = *p->view;
    struct sb_snapshot_disk_view *dv = calloc(p->ndisks ? p->ndisks : 1, sizeof *dv);
    if (!dv)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < p->ndisks; i++) {
        const plan_disk *pd = &p->disks[i];
        dv[i].name = pd->dd->target;
        dv[i].snapshot = pd->mode;
        if (pd->mode == SB_LOCATION_EXTERNAL) {
            dv[i].type = SB_DISK_TYPE_FILE;
            dv[i].source = pd->file;
            dv[i].driver_type = "qcow2";
        }
    }
    nv.disks = dv;
    nv.ndisks = p->ndisks;
    nv.memory = p->memory;
    nv.memory_file = p->memory == SB_LOCATION_EXTERNAL ? p->memory_file : NULL;
    if (!p->active)
        nv.state = SB_STATE_SHUTOFF;
    else if (flags & SB_SNAPSHOT_CREATE_DISK_ONLY)
        nv.state = SB_STATE_DISK_SNAPSHOT;
    else
        nv.state = p->dom_state == SB_DOMAIN_PAUSED ? SB_STATE_PAUSED : SB_STATE_RUNNING;
    nv.external = p->n_external > 0 || p->memory == SB_LOCATION_EXTERNAL;
    nv.domain_xml = p->dom->xml; /* the definition the snapshot captured */
    /* a running guest's persistent definition too (libvirt records
     * <inactiveDomain> for every active persistent domain); a revert that
     * leaves the guest shut off restores it.  The plugin never changes the
     * stored definition of a running guest, so it is the same document. */
    nv.inactive_domain_xml = p->active ? p->dom->xml : NULL;
    int r = qp_format(ctx, &nv, out_xml);
    free(dv);
    return r;
}

int qp_snapshot_create(qp_ctx *ctx, const char *domain, const char *snapshot_xml, unsigned flags,
                       char **out_xml)
{
    plan p;
    memset(&p, 0, sizeof p);
    double t0 = qp_now_ms();
    int r = qp_domain_load(ctx, domain, &p.dom);
    if (r == 0)
        r = qp_view(ctx, snapshot_xml, &p.view);
    if (r == 0 && !qp_valid_name(p.view->name))
        r = qp_error(ctx, SB_ERR_XML_DETAIL, "invalid snapshot name '%s'", p.view->name);
    if (r == 0)
        r = plan_build(ctx, &p, domain, flags);
    if (r == 0 && (p.n_external || p.memory == SB_LOCATION_EXTERNAL)) {
        /* the files it makes, so a process killed half-way leaves none
         * behind (journal.c); shut off, the definition it replaces */
        r = qp_journal_init(ctx, &p.j, domain, "create", p.view->name,
                            p.active ? NULL : p.dom->xml);
        p.journaled = r == 0;
        p.j.resume = p.active && !strcmp(p.status, "running") && !p.n_manual &&
                     p.memory == SB_LOCATION_EXTERNAL && !(flags & SB_SNAPSHOT_CREATE_HALT);
        /* running, disks only: QEMU formats each overlay in the
         * transaction, so one it wrote to is its own (journal.h) */
        p.j.undo_empty_only = p.active && p.memory != SB_LOCATION_EXTERNAL;
        /* The record is written before the first thing it undoes: each
         * file the create makes is recorded before it exists, by
         * qp_journal_create_file, which writes the record (resume
         * included: the memory file is made before the guest is paused),
         * and nothing is touched before that.  Only REUSE_EXT makes no
         * file before it repoints a shut off domain's definition.  (An
         * empty record written first, and rewritten at once, cost two
         * syncs for nothing.) */
        if (r == 0 && (flags & SB_SNAPSHOT_CREATE_REUSE_EXT))
            r = qp_journal_save(ctx, &p.j);
    }
    if (r == 0) {
        if (p.active)
            r = online_create(ctx, &p, flags);
        else if (p.n_external)
            r = offline_external(ctx, &p, flags);
        else
            r = offline_internal(ctx, &p);
    }
    if (r == 0)
        adopt_reused(ctx, &p, flags);
    /* a NO_METADATA snapshot's files are the user's from now on: no tree
     * records them, so the plugin must never take them for its own */
    for (size_t i = 0; r == 0 && p.journaled && (flags & SB_SNAPSHOT_CREATE_NO_METADATA) &&
                       i < p.j.created.n; i++)
        qp_ours_remove(ctx, domain, p.j.created.v[i]);
    if (p.journaled) { /* done, either way: nothing for a recovery to do */
        qp_journal_end(ctx, &p.j);
        p.journaled = 0;
    }
    if (r == 0 && ctx->test_delay_ms > 0)
        qp_sleep_ms(ctx->test_delay_ms); /* test-only window, see qp.h */
    if (r == 0)
        r = build_output(ctx, &p, flags, out_xml);
    if (r == 0)
        qp_log(ctx, SB_LOG_DEBUG, "snapshot '%s' of '%s' created in %.1f ms", p.view->name,
               domain, qp_now_ms() - t0);
    plan_free(ctx, &p);
    return r;
}
