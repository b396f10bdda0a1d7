/* Compaction and repair: rewrite the log as the live state only.
 *
 * Crash safety: the new log is written under a temporary name, fsync'd,
 * then renamed over snapshots.log and the directory fsync'd.  rename() is
 * atomic, so a crash leaves either the old log or the complete new one;
 * both describe the same state.  A leftover temporary file is ignored (and
 * overwritten by the next compaction). */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

static int flush_chunk(sb_buf *payload, sb_buf *rec, int fd, off_t *off, const char *path)
{
    if (payload->oom)
        return sb_error_oom();
    if (payload->len == 0)
        return 0;
    sb_buf_reset(rec);
    int rc = sb_log_frame(rec, payload->p, payload->len);
    if (rc == 0)
        rc = sb_fs_pwrite_all(fd, rec->p, rec->len, *off, path);
    if (rc == 0)
        *off += (off_t)rec->len;
    sb_buf_reset(payload);
    return rc;
}

/* Write the live state to fd: puts in an order that rebuilds the same
 * sibling order (oldest first, each prepended on replay), then current,
 * then unresolved intents (keeping their ids). */
static int write_state(sb_store *s, int fd, const char *path, off_t *end)
{
    uint8_t hdr[SB_LOG_HEADER_SIZE];
    sb_log_header(hdr);
    int rc = sb_fs_pwrite_all(fd, hdr, sizeof(hdr), 0, path);
    off_t off = SB_LOG_HEADER_SIZE;
    sb_buf payload = { 0 }, rec = { 0 };
    for (const sb_tree_node *n = sb_tree_walk_next_oldest(s->tree, NULL); n && rc == 0;
         n = sb_tree_walk_next_oldest(s->tree, n)) {
        const sb_tree_node *p = sb_tree_node_parent(n);
        sb_log_op op = { .type = SB_LOG_PUT, .name = sb_tree_node_name(n),
                         .parent = p ? sb_tree_node_name(p) : NULL,
                         .state = sb_tree_node_state(n), .external = sb_tree_node_external(n),
                         .ctime = sb_tree_node_creation_time(n), .xml = sb_tree_node_xml(n) };
        sb_log_encode_op(&payload, &op);
        if (payload.len >= SB_STORE_COMPACT_CHUNK)
            rc = flush_chunk(&payload, &rec, fd, &off, path);
    }
    const sb_tree_node *cur = sb_tree_current(s->tree);
    if (rc == 0 && cur) {
        sb_log_op op = { .type = SB_LOG_CUR, .name = sb_tree_node_name(cur) };
        sb_log_encode_op(&payload, &op);
    }
    for (size_t i = 0; rc == 0 && i < s->nintents; i++) {
        const sb_intent_rec *r = &s->intents[i];
        sb_log_op op = { .type = SB_LOG_IBEG, .id = r->id, .time = r->time,
                         .pid = (uint32_t)r->pid, .op = r->op, .snapshot = r->snapshot,
                         .payload = r->payload };
        sb_log_encode_op(&payload, &op);
    }
    if (rc == 0)
        rc = flush_chunk(&payload, &rec, fd, &off, path);
    sb_buf_free(&payload);
    sb_buf_free(&rec);
    *end = off;
    return rc;
}

int sb_store__compact_locked(sb_store *s)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.compact", s->log_path) < 0)
        return sb_error_oom();
    int fd;
    (void)unlink(tmp); /* a crash's leftover, or planted: O_EXCL creates anew */
    int rc = sb_fs_open(tmp, O_RDWR | O_CREAT | O_EXCL, 0600, &fd);
    if (rc < 0) {
        free(tmp);
        return rc;
    }
    off_t end = 0;
    rc = write_state(s, fd, tmp, &end);
    if (rc == 0 && fsync(fd) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot fsync '%s'", tmp);
    if (rc == 0)
        sb_store__changing(s);
    if (rc == 0 && rename(tmp, s->log_path) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot rename '%s' to '%s'", tmp,
                                s->log_path);
    if (rc < 0) {
        close(fd);
        (void)unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    /* the rename happened: from here on the new file is the log */
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        s->have_log = false; /* force a full reload next time */
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot stat '%s'", s->log_path);
    }
    if (s->log_fd >= 0)
        close(s->log_fd);
    s->log_fd = fd;
    s->log_dev = st.st_dev;
    s->log_ino = st.st_ino;
    s->valid_end = (size_t)end;
    s->tail_off = 0;
    s->garbage = 0;
    rc = sb_fs_fsync_dir(s->dir);
    /* Only now is the new log durable under its name: writers waiting for
     * a group fdatasync of the old one may now count on it. */
    if (rc == 0)
        sb_store__shared_new_log(s);
    return rc;
}

int sb_store_compact(sb_store *s)
{
    int rc = sb_store_begin(s);
    if (rc < 0)
        return rc;
    rc = sb_store__compact_locked(s);
    s->in_txn = false;
    sb_store__unlock(s);
    return rc;
}

int sb_store_repair(sb_store *s)
{
    if (!(s->flags & SB_STORE_WRITABLE))
        return sb_error_set(SB_ERR_OPERATION_DENIED, "store '%s' is open read-only", s->dir);
    if (s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID, "repair inside a transaction");
    int rc = sb_fs_lock(s->lock_fd, LOCK_EX, true, s->lock_path);
    if (rc < 0)
        return rc;
    /* catch up first: damage stays damage, but later records still count */
    rc = sb_store__sync(s, false);
    char *keep = NULL;
    if (rc == 0 && s->damaged) {
        if (asprintf(&keep, "%s.damaged-%lld-%d", s->log_path, (long long)time(NULL),
                     (int)getpid()) < 0) {
            keep = NULL;
            rc = sb_error_oom();
        } else if (link(s->log_path, keep) < 0) {
            rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot keep '%s' as '%s'",
                                    s->log_path, keep);
        }
    }
    if (rc == 0)
        rc = sb_store__compact_locked(s);
    if (rc == 0) {
        s->damaged = false;
        s->damage_off = 0;
        /* The damage is history now: what the load said about it no longer
         * describes the store, only where the old log went does. */
        if (keep) {
            sb_store__clear_warnings(s);
            (void)sb_store__warn(s, "damaged log kept as '%s'", keep);
        }
    }
    free(keep);
    sb_store__unlock(s);
    return rc;
}
