/* qemu plugin - merge notes: how far a delete's merge got.
 *
 * A delete of an external snapshot commits its overlay O into the image
 * below it, B (qemu-img commit shut off, a block-commit job running),
 * then points the images directly above O at B (qemu-img rebase -u,
 * header only; QEMU moves the one in its own chain itself), then every
 * stored reference to O (snapshot_delete.c).  Once the first rebase ran, the
 * images above O sit on B, and the delete's check that nothing else uses
 * B ("merging would change data that ... still uses") refuses: a delete
 * run again after a kill, or after running out of memory while
 * repointing, could not tell its own rebases (or QEMU's) from another
 * overlay on B.
 *
 * So between the commit and the first rebase the delete writes a note in
 * the domain's log (domain_log.c, synced): O is merged into B, and these
 * are the images to rebase.  A delete of the snapshot run again finds it
 * and knows the commit is done: it neither checks B's other users (B's
 * data does not change again) nor commits again (which, had anything
 * written to B since, would undo that write); it rebases the images the
 * note names that are still on O, repoints, and removes O.  The note ends
 * once nothing names O any more (before O is removed, so no note outlives
 * its file; a run again removes O as unneeded), when O leaves the
 * plugin's files otherwise (a drop in the log), or when the snapshot's
 * metadata alone is deleted (METADATA_ONLY: nothing will finish it).
 *
 * The note holds O's inode number: a later file at O's path (the
 * snapshot deleted with METADATA_ONLY, another made under the same name)
 * is not the merged overlay, and its note is ignored.  And a delete that
 * starts afresh (its snapshot not marked yet) ends, synced, any note a
 * power loss or a kill left for its overlay's path before it marks the
 * snapshot (qp_merge_note_clear): ext4 gives a new file the inode number
 * of a removed one, so only a note the same delete wrote is trusted. */
#include "domain_log.h"
#include "snapshot_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* json-c takes a NULL value (a failed constructor) as JSON null: a note
 * with a null "onto", or a null image, would be wrong, so each is checked
 * (1: failed, the value released). */
static int add_key(json_object *o, const char *key, json_object *v)
{
    if (v && json_object_object_add(o, key, v) == 0)
        return 0;
    json_object_put(v);
    return 1;
}

static int add_item(json_object *a, json_object *v)
{
    if (v && json_object_array_add(a, v) == 0)
        return 0;
    json_object_put(v);
    return 1;
}

int qp_merge_note_save(qp_ctx *ctx, const char *domain, const char *overlay, const char *onto,
                       const qp_strv *rebase)
{
    struct stat st;
    if (stat(overlay, &st) < 0)
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot stat '%s'", overlay);
    json_object *note = json_object_new_object(), *a = json_object_new_array();
    int bad = !note || !a;
    for (size_t i = 0; i < rebase->n && !bad; i++)
        bad = add_item(a, json_object_new_string(rebase->v[i]));
    if (!bad)
        bad = add_key(note, "onto", json_object_new_string(onto)) ||
              add_key(note, "ino", json_object_new_int64((int64_t)st.st_ino)) ||
              add_key(note, "rebase", json_object_get(a));
    json_object_put(a);
    int r = bad ? qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory") : 0;
    if (r == 0) {
        qp_dlog_rec rec = {.merged = overlay, .note = note};
        r = qp_dlog_append(ctx, domain, &rec);
    }
    json_object_put(note);
    return r;
}

int qp_merge_note_find(qp_ctx *ctx, const char *domain, const char *overlay, const char *onto,
                       qp_strv *rebase)
{
    qp_dlog l;
    int r = qp_dlog_read(ctx, domain, &l);
    if (r < 0)
        return r;
    json_object *note = NULL, *v;
    struct stat st;
    if (l.merged && json_object_object_get_ex(l.merged, overlay, &note) &&
        json_object_object_get_ex(note, "onto", &v) && !strcmp(json_object_get_string(v), onto) &&
        json_object_object_get_ex(note, "ino", &v) && stat(overlay, &st) == 0 &&
        json_object_get_int64(v) == (int64_t)st.st_ino &&
        json_object_object_get_ex(note, "rebase", &v) && json_object_is_type(v, json_type_array)) {
        r = 1;
        for (size_t i = 0; i < json_object_array_length(v) && r > 0; i++) {
            const char *p = json_object_get_string(json_object_array_get_idx(v, i));
            if (p && *p == '/' && qp_strv_add(rebase, p) < 0)
                r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        }
    }
    qp_dlog_free(&l);
    return r;
}

/* Append "unmerge" for overlay when the log holds a note for its path:
 * synced now, or with the call's other records (sync_at_end). */
static int end_note(qp_ctx *ctx, const char *domain, const char *overlay, int sync)
{
    qp_dlog l;
    int r = qp_dlog_read(ctx, domain, &l);
    json_object *note;
    int open = r == 0 && l.merged && json_object_object_get_ex(l.merged, overlay, &note);
    qp_dlog_free(&l);
    if (r < 0 || !open)
        return r;
    qp_dlog_rec rec = {.unmerge = overlay, .sync_at_end = !sync};
    return qp_dlog_append(ctx, domain, &rec);
}

void qp_merge_note_end(qp_ctx *ctx, const char *domain, const char *overlay)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    (void)end_note(&quiet, domain, overlay, 0);
}

int qp_merge_note_clear(qp_ctx *ctx, const char *domain, const char *overlay)
{
    return end_note(ctx, domain, overlay, 1);
}
