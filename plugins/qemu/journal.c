/* qemu plugin - its own intent records, in the domain's log
 * (domain_log.c: STATE/ours/<domain>.list).
 *
 * The broker's intent covers one plugin call as a whole; inside it some
 * operations take several steps that each change an image (an offline
 * internal revert applies a tag disk by disk; an external revert or
 * create makes one overlay per disk, then stores the definition).  Such an
 * operation writes its record first, updates it at its commit point
 * (the new definition stored, or QEMU switched onto new overlays and a
 * memory file to keep; overlays alone need no update: QEMU names them),
 * and closes it when done - all under the domain lock.
 *
 * A record found open by a process that holds the domain lock therefore
 * belongs to a process that died in the middle: the lock is held for the
 * whole operation, and by any qemu-img that process left running
 * (run.c).  qp_journal_recover() then undoes the operation when it had not
 * reached its commit point (the images back to the undo tag, the files it
 * created removed, the definition it replaced stored back, a guest it
 * paused resumed) and finishes it otherwise (the undo tags dropped).  It
 * never reads the broker's tree, so it may run in any call that names the
 * domain: the next command - `check` included (domain_get_state) - puts
 * things right before it does anything else.
 *
 * Files an operation creates are recorded in the record and on the
 * domain's list of the plugin's files *before* they are created
 * exclusively, so no file the plugin made is ever unknown, and recovery
 * never removes a file it did not create, nor one a definition or QEMU
 * uses.  Both go in one record of the log, one write and one fdatasync
 * (they were two files in two directories, each a temp file, fsync,
 * rename and directory fsync).
 *
 * Closing a record is synced as well (at the latest at the end of the
 * call, with the call's other records: domain_log.c) when the record,
 * opened again by a power loss that lost the close, would change
 * something: an offline create's undo stores the old definition back and
 * removes its overlay, an internal revert's recovery applies its tag
 * again - after a later change (a guest that wrote to its disk, a revert
 * that pointed the definition elsewhere) that would lose data.  A record
 * past its commit point (create, external revert) changes nothing, and a
 * running guest's disk-only create removes only the files still empty
 * (undo_empty_only: QEMU formats its overlays in the transaction), so
 * their close is written and left to the log's next sync.  (The previous
 * layout removed the record's file without syncing its directory; its
 * recovery of a running create never removed anything, having taken
 * journal_load's 1 for an error.)
 *
 * A record of the previous layout (STATE/journal/<domain>.json, its own
 * file, rewritten whole) is still found, dealt with the same way, and its
 * file removed: an upgrade in place. */
#include "journal.h"
#include "domain_log.h"
#include "snapshot_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The previous layout's record: read (and removed) only. */
static char *legacy_path(qp_ctx *ctx, const char *domain)
{
    return qp_printf("%s/journal/%s.json", ctx->state_dir, domain);
}

void qp_journal_free(qp_journal *j)
{
    free(j->domain);
    free(j->op);
    free(j->snapshot);
    free(j->undo_tag);
    free(j->new_xml);
    free(j->old_xml);
    qp_strv_free(&j->images);
    qp_strv_free(&j->created);
    memset(j, 0, sizeof *j);
}

static json_object *strv_json(const qp_strv *v)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < v->n; i++)
        json_object_array_add(a, json_object_new_string(v->v[i]));
    return a;
}

static void add_str(json_object *o, const char *key, const char *v)
{
    if (v)
        json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *journal_json(const qp_journal *j)
{
    json_object *o = json_object_new_object();
    add_str(o, "op", j->op);
    add_str(o, "snapshot", j->snapshot);
    add_str(o, "undo_tag", j->undo_tag);
    add_str(o, "old_definition", j->old_xml);
    add_str(o, "new_definition", j->new_xml);
    json_object_object_add(o, "images", strv_json(&j->images));
    json_object_object_add(o, "created", strv_json(&j->created));
    json_object_object_add(o, "committed", json_object_new_boolean(j->committed));
    json_object_object_add(o, "resume", json_object_new_boolean(j->resume));
    if (j->undo_empty_only)
        json_object_object_add(o, "undo_empty_only", json_object_new_boolean(1));
    return o;
}

/* The record as *j says, with a file becoming (add) or ceasing to be
 * (drop) the plugin's in the same record of the log. */
static int journal_write(qp_ctx *ctx, qp_journal *j, const char *add, const char *drop)
{
    json_object *o = journal_json(j);
    qp_dlog_rec rec = {.add = add, .drop = drop, .intent = o};
    int r = qp_dlog_append(ctx, j->domain, &rec);
    json_object_put(o);
    if (r == 0)
        j->on_disk = 1;
    return r;
}

int qp_journal_save(qp_ctx *ctx, qp_journal *j)
{
    return journal_write(ctx, j, NULL, NULL);
}

int qp_journal_begin(qp_ctx *ctx, qp_journal *j, const char *domain, const char *op,
                     const char *snapshot, const char *old_xml)
{
    int r = qp_journal_init(ctx, j, domain, op, snapshot, old_xml);
    if (r == 0 && (r = qp_journal_save(ctx, j)) < 0)
        qp_journal_free(j);
    return r;
}

int qp_journal_init(qp_ctx *ctx, qp_journal *j, const char *domain, const char *op,
                    const char *snapshot, const char *old_xml)
{
    memset(j, 0, sizeof *j);
    j->domain = qp_strdup(domain);
    j->op = qp_strdup(op);
    j->snapshot = qp_strdup(snapshot);
    j->old_xml = qp_strdup(old_xml);
    if (!j->domain || !j->op || (snapshot && !j->snapshot) || (old_xml && !j->old_xml)) {
        qp_journal_free(j);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    return 0;
}

int qp_journal_commit(qp_ctx *ctx, qp_journal *j)
{
    j->committed = 1;
    return qp_journal_save(ctx, j);
}

void qp_journal_end(qp_ctx *ctx, qp_journal *j)
{
    if (j->legacy) {
        char *path = legacy_path(ctx, j->domain);
        if (path && unlink(path) < 0 && errno != ENOENT)
            qp_log(ctx, SB_LOG_WARN, "cannot remove '%s': %s", path, strerror(errno));
        free(path);
    } else if (j->on_disk) {
        /* The close is on disk before the call returns when the record,
         * opened again by a power loss that lost the close, would change
         * something (see the top of this file).  It need not be when the
         * record as last synced changes nothing: a create or external
         * revert past its commit point is left as it is, and a running
         * guest's disk-only create undoes only files QEMU never wrote to
         * (undo_empty_only).  The next synced record of the log, or the
         * kernel's writeback, puts it on disk. */
        int harmless = (j->committed && strcmp(j->op, "revert-internal")) ||
                       (!j->committed && j->undo_empty_only && !j->old_xml && !j->resume);
        qp_dlog_rec rec = {.end = 1, .sync_at_end = !harmless, .no_sync = harmless};
        if (qp_dlog_append(ctx, j->domain, &rec) < 0)
            qp_log(ctx, SB_LOG_WARN, "domain '%s': cannot close the intent record: %s",
                   j->domain, ctx->err_msg);
    }
    qp_journal_free(j);
}

int qp_journal_create_file(qp_ctx *ctx, qp_journal *j, const char *path)
{
    char *c = qp_realpath_or_copy(path);
    if (!c || qp_strv_add(&j->created, c) < 0) {
        free(c);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    /* the record and the list entry: one line of the log, one fdatasync
     * (a path already the plugin's stays so whatever happens here) */
    int was_ours = qp_ours_has(ctx, j->domain, c);
    int r = journal_write(ctx, j, was_ours ? NULL : c, NULL);
    if (r < 0) {
        free(j->created.v[--j->created.n]);
        j->created.v[j->created.n] = NULL;
        free(c);
        return r;
    }
    int fd = open(c, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        /* not ours after all (EEXIST: someone else's file) */
        free(j->created.v[--j->created.n]);
        j->created.v[j->created.n] = NULL;
        qp_ctx quiet = *ctx;
        quiet.api = NULL;
        (void)journal_write(&quiet, j, NULL, was_ours ? NULL : c);
        r = e == EEXIST ? -EEXIST
                        : qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot create '%s'", c);
        free(c);
        return r;
    }
    free(c);
    return fd;
}

static int strv_from_json(json_object *o, const char *key, qp_strv *out)
{
    json_object *a;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(a, i));
        if (s && qp_strv_add(out, s) < 0)
            return -SB_ERR_NO_MEMORY;
    }
    return 0;
}

static char *str_from_json(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? qp_strdup(json_object_get_string(v)) : NULL;
}

static int journal_from_json(qp_ctx *ctx, const char *domain, json_object *o, qp_journal *j)
{
    json_object *v;
    j->domain = qp_strdup(domain);
    j->op = str_from_json(o, "op");
    j->snapshot = str_from_json(o, "snapshot");
    j->undo_tag = str_from_json(o, "undo_tag");
    j->old_xml = str_from_json(o, "old_definition");
    j->new_xml = str_from_json(o, "new_definition");
    j->committed = json_object_object_get_ex(o, "committed", &v) && json_object_get_boolean(v);
    j->resume = json_object_object_get_ex(o, "resume", &v) && json_object_get_boolean(v);
    j->undo_empty_only =
        json_object_object_get_ex(o, "undo_empty_only", &v) && json_object_get_boolean(v);
    j->on_disk = 1;
    if (strv_from_json(o, "images", &j->images) < 0 ||
        strv_from_json(o, "created", &j->created) < 0 || !j->domain || !j->op) {
        qp_journal_free(j);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    return 1;
}

/* A record of the previous layout: 1 and *j filled, 0 when none. */
static int legacy_load(qp_ctx *ctx, const char *domain, qp_journal *j)
{
    char *path = legacy_path(ctx, domain), *text = NULL;
    if (!path)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (!qp_file_exists(path)) {
        free(path);
        return 0;
    }
    int r = qp_read_file(ctx, path, &text, NULL);
    json_object *o = r == 0 ? json_tokener_parse(text) : NULL;
    free(text);
    if (r == 0 && !o)
        r = qp_error(ctx, SB_ERR_INTERNAL_ERROR,
                     "the plugin's intent record '%s' is unreadable; look at domain '%s' and "
                     "remove the file", path, domain);
    free(path);
    if (r < 0)
        return r;
    r = journal_from_json(ctx, domain, o, j);
    j->legacy = r > 0;
    json_object_put(o);
    return r;
}

/* 1 and *j filled when the domain has an open record, 0 when not. */
static int journal_load(qp_ctx *ctx, const char *domain, qp_journal *j)
{
    memset(j, 0, sizeof *j);
    int r = legacy_load(ctx, domain, j);
    if (r != 0)
        return r;
    qp_dlog l;
    if ((r = qp_dlog_read(ctx, domain, &l)) < 0)
        return r;
    r = l.intent ? journal_from_json(ctx, domain, l.intent, j) : 0;
    qp_dlog_free(&l);
    return r;
}

int qp_journal_pending(qp_ctx *ctx, const char *domain)
{
    char *path = legacy_path(ctx, domain);
    int has = path && qp_file_exists(path);
    free(path);
    if (!has) {
        qp_ctx quiet = *ctx;
        quiet.api = NULL;
        qp_dlog l;
        int r = qp_dlog_read(&quiet, domain, &l);
        /* an unreadable log is pending too: the locked call reports it */
        has = r < 0 || l.intent;
        if (r == 0)
            qp_dlog_free(&l);
    }
    return has;
}

/* ---- recovery ---------------------------------------------------------- */

/* The images the domain's definition and, when it runs, QEMU use (their
 * whole chains): never removed by a recovery.  A list memory ran out for
 * is an error: an image missing from it could be removed. */
static int images_in_use(qp_ctx *ctx, const char *domain, qp_strv *out)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    qp_domain *d = NULL;
    int r = 0;
    if (qp_domain_load(&quiet, domain, &d) == 0)
        r = qp_domain_images(&quiet, domain, d, 0, out);
    qp_qmp *q = NULL;
    if (r == 0 && d && qp_proc_connect(&quiet, domain, &q) == 0) {
        for (size_t i = 0; i < d->ndisks && r == 0; i++) {
            qp_strv files = {0};
            if (qp_vm_disk_chain(q, d->disks[i].target, &files, NULL) == 0)
                for (size_t k = 0; k < files.n && r == 0; k++)
                    if (!qp_strv_has(out, files.v[k]))
                        r = qp_strv_add(out, files.v[k]);
            qp_strv_free(&files);
        }
        qp_qmp_close(q);
    }
    qp_domain_free(d);
    return r < 0 ? qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory listing the images domain "
                            "'%s' uses; the interrupted operation's files are kept", domain) : 0;
}

/* A guest the interrupted create paused for its memory state: the
 * migration (if QEMU still runs it) is cancelled and the guest resumed. */
static void resume_guest(qp_ctx *ctx, const char *domain)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    qp_qmp *q = NULL;
    char st[64];
    if (qp_proc_connect(&quiet, domain, &q) < 0)
        return;
    (void)qp_qmp_execute(q, "migrate_cancel", NULL, NULL);
    for (int i = 0; i < 2000; i++) { /* cancelling -> cancelled */
        if (qp_qmp_status(q, st, sizeof st) < 0 || strcmp(st, "finish-migrate"))
            break;
        qp_sleep_ms(1);
    }
    if (qp_qmp_status(q, st, sizeof st) == 0 && strcmp(st, "running") &&
        qp_qmp_execute(q, "cont", NULL, NULL) == 0)
        qp_log(ctx, SB_LOG_WARN, "domain '%s': resumed the guest the interrupted operation had "
               "paused", domain);
    qp_qmp_close(q);
}

static int undo_created(qp_ctx *ctx, const qp_journal *j)
{
    qp_strv used = {0};
    int r = images_in_use(ctx, j->domain, &used);
    for (size_t i = j->created.n; i-- > 0 && r == 0;) {
        struct stat st;
        if (qp_strv_has(&used, j->created.v[i])) {
            qp_log(ctx, SB_LOG_WARN, "domain '%s': keeping '%s': the domain uses it", j->domain,
                   j->created.v[i]);
            continue;
        }
        if (j->undo_empty_only && lstat(j->created.v[i], &st) == 0 && st.st_size > 0) {
            qp_log(ctx, SB_LOG_WARN, "domain '%s': keeping '%s': QEMU wrote to it", j->domain,
                   j->created.v[i]);
            continue;
        }
        r = qp_ours_unlink(ctx, j->domain, j->created.v[i]);
    }
    qp_strv_free(&used);
    return r;
}

/* Offline internal revert: before the commit point every image that has
 * the undo tag goes back to it (the images after it were never applied,
 * and applying the tag to an image that was not reverted yet changes
 * nothing) and the old definition is stored back; then, in both cases,
 * the undo tags go. */
/* Run op(image, undo tag) on every image that has the undo tag. */
static int on_undo_tags(qp_ctx *ctx, const qp_journal *j,
                        int (*op)(qp_ctx *, const char *, const char *))
{
    int r = 0;
    for (size_t i = 0; i < j->images.n && r == 0; i++) {
        int has = qp_file_exists(j->images.v[i])
                      ? qp_img_has_snapshot(ctx, j->images.v[i], j->undo_tag, 0) : 0;
        r = has < 0 ? has : has ? op(ctx, j->images.v[i], j->undo_tag) : 0;
    }
    return r;
}

static int recover_internal_revert(qp_ctx *ctx, const qp_journal *j)
{
    int r = 0;
    if (j->committed && j->new_xml && j->snapshot) {
        /* one image, finished forward: applying the tag again gives the
         * same contents whether or not the dead process got that far */
        for (size_t i = 0; i < j->images.n && r == 0; i++)
            r = qp_img_snapshot_apply(ctx, j->images.v[i], j->snapshot);
        return r < 0 ? r : qp_domain_store(ctx, j->domain, j->new_xml);
    }
    if (!j->committed)
        r = on_undo_tags(ctx, j, qp_img_snapshot_apply);
    if (r == 0 && !j->committed && j->old_xml)
        r = qp_domain_store(ctx, j->domain, j->old_xml);
    return r < 0 ? r : on_undo_tags(ctx, j, qp_img_snapshot_delete);
}

int qp_journal_recover(qp_ctx *ctx, const char *domain)
{
    qp_journal j;
    int r = journal_load(ctx, domain, &j);
    if (r <= 0)
        return r;
    r = 0; /* (1 said "found": the steps below run on 0) */
    qp_log(ctx, SB_LOG_WARN, "domain '%s': %s the %s of snapshot '%s' that a process left "
           "half-done", domain, j.committed ? "finishing" : "undoing", j.op,
           j.snapshot ? j.snapshot : "");
    if (!strcmp(j.op, "revert-internal")) {
        r = recover_internal_revert(ctx, &j);
    } else if (!j.committed) {
        /* revert-external, create: the definition back, then the files */
        if (j.old_xml)
            r = qp_domain_store(ctx, domain, j.old_xml);
        if (r == 0)
            r = undo_created(ctx, &j);
        if (r == 0 && j.resume)
            resume_guest(ctx, domain);
    }
    if (r < 0) {
        char msg[sizeof ctx->err_msg];
        snprintf(msg, sizeof msg, "%s", ctx->err_msg);
        r = qp_error(ctx, -r, "domain '%s': the %s of snapshot '%s' that a process left "
                     "half-done could not be %s: %s; nothing else was done (the record stays "
                     "in '%s/%s')", domain, j.op, j.snapshot ? j.snapshot : "",
                     j.committed ? "finished" : "undone", msg, ctx->state_dir,
                     j.legacy ? "journal" : "ours");
        qp_journal_free(&j);
        return r;
    }
    qp_journal_end(ctx, &j);
    return 0;
}
