/* The store: open/close, locking, transactions and the mutations that both
 * change the tree and record ops (store.h).  Replay is store_load.c,
 * intents store_intent.c, compaction store_compact.c, checks
 * store_check.c. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"
#include "store/names.h"
#include "store/safe_path.h"

size_t sb_store__compact_min = SB_STORE_COMPACT_MIN;

static int usable(const sb_store *s)
{
    if (s->broken)
        return sb_error_set(SB_ERR_STORE, "store '%s' failed to reload; reopen it", s->dir);
    return 0;
}

/* A new log is created complete (header written and synced) under a
 * temporary name and renamed in, so a crash never leaves a half header. */
static int create_log(sb_store *s)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.new", s->log_path) < 0)
        return sb_error_oom();
    int fd;
    /* a leftover of a crash (or anything planted there) goes; O_EXCL then
     * guarantees the file written is the one just created */
    (void)unlink(tmp);
    int rc = sb_fs_open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600, &fd);
    if (rc < 0)
        goto out;
    uint8_t hdr[SB_LOG_HEADER_SIZE];
    sb_log_header(hdr);
    rc = sb_fs_pwrite_all(fd, hdr, sizeof(hdr), 0, tmp);
    if (rc == 0 && fsync(fd) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot fsync '%s'", tmp);
    close(fd);
    if (rc == 0)
        sb_store__changing(s);
    if (rc == 0 && rename(tmp, s->log_path) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot rename '%s'", tmp);
    if (rc == 0)
        rc = sb_fs_fsync_dir(s->dir);
    if (rc < 0)
        (void)unlink(tmp);
out:
    free(tmp);
    return rc;
}

/* Cut a torn tail off (exclusive lock held), so appends follow valid
 * records directly. */
static int truncate_tail(sb_store *s)
{
    if (!s->tail_off || !(s->flags & SB_STORE_WRITABLE))
        return 0;
    sb_store__changing(s);
    if (ftruncate(s->log_fd, (off_t)s->tail_off) < 0 || fdatasync(s->log_fd) < 0)
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot truncate '%s' at %zu",
                                  s->log_path, s->tail_off);
    sb_store__truncated(s, s->tail_off);
    s->tail_off = 0;
    return 0;
}

static int open_lock_file(sb_store *s)
{
    if (s->lock_fd >= 0)
        return 0;
    bool w = s->flags & SB_STORE_WRITABLE;
    int create = (s->flags & SB_STORE_NO_CREATE) ? 0 : O_CREAT;
    /* 1: read-only (or NO_CREATE) and no store yet */
    int rc = sb_fs_open(s->lock_path, w ? O_RDWR | create : O_RDONLY, 0600, &s->lock_fd);
    return rc < 0 ? rc : 0;
}

static int load_initial(sb_store *s)
{
    int rc = open_lock_file(s);
    if (rc < 0)
        return rc;
    if (s->lock_fd < 0) { /* read-only or NO_CREATE, nothing stored yet */
        s->flags &= ~(unsigned)SB_STORE_WRITABLE;
        s->tree = sb_tree_new();
        return s->tree ? 0 : sb_error_oom();
    }
    bool w = s->flags & SB_STORE_WRITABLE;
    if ((rc = sb_fs_lock(s->lock_fd, w ? LOCK_EX : LOCK_SH, true, s->lock_path)) < 0)
        return rc;
    /* A reader maps the shared page at its first refresh (the first time
     * it asks whether anything changed), not here: many handles are opened
     * for one read and closed (the CLI, the fleet view's store per domain),
     * and in a process with threads on other CPUs every munmap is a TLB
     * shootdown on each of them.  A writer needs it now (group commit). */
    if (w)
        sb_store__shared_map(s);
    if (w && access(s->log_path, F_OK) < 0)
        rc = create_log(s);
    if (rc == 0)
        rc = sb_store__sync(s, true);
    if (rc == 0 && w)
        rc = truncate_tail(s);
    if (rc == 0 && w)
        rc = sb_store__shared_adopt(s);
    sb_store__unlock(s);
    return rc;
}

int sb_store_open(const char *state_dir, const char *host, const char *domain,
                  unsigned flags, sb_store **out)
{
    *out = NULL;
    if (flags & ~(unsigned)(SB_STORE_WRITABLE | SB_STORE_ALLOW_DAMAGED | SB_STORE_NO_CREATE))
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                            flags, "sb_store_open");
    if (!state_dir || !*state_dir)
        return sb_error_set(SB_ERR_INVALID_ARG, "no state directory given");
    int rc = sb_name_check_path_component("host", host);
    if (rc == 0)
        rc = sb_name_check_path_component("domain", domain);
    if (rc < 0)
        return rc;

    sb_store *s = calloc(1, sizeof(*s));
    if (!s)
        return sb_error_oom();
    s->flags = flags;
    s->lock_fd = s->oplock_fd = s->log_fd = -1;
    s->next_intent_id = 1;
    if (asprintf(&s->dir, "%s/hosts/%s/domains/%s", state_dir, host, domain) < 0 ||
        asprintf(&s->log_path, "%s/snapshots.log", s->dir) < 0 ||
        asprintf(&s->lock_path, "%s/lock", s->dir) < 0 ||
        asprintf(&s->oplock_path, "%s/oplock", s->dir) < 0 || !(s->domain = strdup(domain))) {
        sb_store_close(s);
        return sb_error_oom();
    }
    /* hosts/<host>/domains/<domain>, created (writable) or checked: no
     * symbolic link, nothing writable by others (safe_path.h) */
    char *rel = NULL;
    if (asprintf(&rel, "hosts/%s/domains/%s", host, domain) < 0) {
        sb_store_close(s);
        return sb_error_oom();
    }
    rc = sb_safe_dir(state_dir, rel, (flags & SB_STORE_WRITABLE) && !(flags & SB_STORE_NO_CREATE),
                     NULL);
    free(rel);
    if (rc >= 0)
        rc = load_initial(s);
    if (rc == 0 && s->damaged && !(flags & SB_STORE_ALLOW_DAMAGED))
        rc = sb_error_set(SB_ERR_STORE, "%s: damaged record at offset %zu; the store was not "
                                        "opened (snapbroker check --repair keeps what still loads)",
                          s->log_path, s->damage_off);
    if (rc < 0) {
        sb_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sb_store_close(sb_store *s)
{
    if (!s)
        return;
    if (s->in_txn) {
        /* dropping the batch is enough: nothing was written */
        sb_buf_free(&s->batch);
        s->in_txn = false;
    }
    sb_store__not_operating(s); /* closing oplock_fd below releases the lock */
    sb_store__shared_unmap(s);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* closing releases the flock */
    if (s->oplock_fd >= 0)
        close(s->oplock_fd);
    if (s->log_fd >= 0)
        close(s->log_fd);
    sb_tree_free(s->tree);
    sb_store__intents_clear(s);
    free(s->intents);
    free(s->own);
    free(s->ending);
    sb_strlist_free(&s->warnings);
    sb_buf_free(&s->batch);
    free(s->dir);
    free(s->log_path);
    free(s->lock_path);
    free(s->oplock_path);
    free(s->domain);
    free(s);
}

const sb_tree *sb_store_tree(const sb_store *s) { return s->tree; }
const char *sb_store_dir(const sb_store *s) { return s->dir; }
bool sb_store_damaged(const sb_store *s) { return s->damaged; }
bool sb_store_in_transaction(const sb_store *s) { return s->in_txn; }

size_t sb_store_warnings(const sb_store *s, const char *const **out)
{
    if (out)
        *out = (const char *const *)s->warnings.v;
    return s->warnings.n;
}

int sb_store_refresh(sb_store *s)
{
    int rc = usable(s);
    if (rc < 0)
        return rc;
    if (s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID, "refresh inside a transaction");
    if (sb_store__shared_unchanged(s))
        return 0; /* nobody wrote since this handle last read the log */
    if ((rc = open_lock_file(s)) < 0 || s->lock_fd < 0)
        return rc;
    if ((rc = sb_fs_lock(s->lock_fd, LOCK_SH, true, s->lock_path)) < 0)
        return rc;
    sb_store__shared_map(s);
    rc = sb_store__sync(s, false);
    sb_store__unlock(s);
    return rc;
}

/* ------------------------------------------------------------ transactions */

/* A batch starts with room for its BASE op (log_format.h): filled in when
 * the record is appended under group commit, left out of a record
 * committed synchronously. */
#define BASE_OP_SIZE 9u

static void batch_start(sb_store *s)
{
    sb_log_op base = { .type = SB_LOG_BASE };
    sb_buf_reset(&s->batch);
    sb_log_encode_op(&s->batch, &base);
    s->batch_garbage = 0;
}

static bool batch_empty(const sb_store *s)
{
    return s->batch.len <= BASE_OP_SIZE;
}

/* Exclusive lock held: catch up with other writers, drop a torn tail. */
int sb_store__begin_locked(sb_store *s)
{
    int rc = sb_store__sync(s, false);
    if (rc == 0)
        rc = truncate_tail(s);
    if (rc == 0)
        rc = sb_store__shared_adopt(s);
    if (rc == 0 && s->damaged)
        rc = sb_error_set(SB_ERR_STORE, "%s: damaged record at offset %zu; writes are refused "
                                        "until the store is repaired (snapbroker check --repair)",
                          s->log_path, s->damage_off);
    return rc;
}

int sb_store_begin(sb_store *s)
{
    int rc = usable(s);
    if (rc < 0)
        return rc;
    if (!(s->flags & SB_STORE_WRITABLE))
        return sb_error_set(SB_ERR_OPERATION_DENIED, "store '%s' is open read-only", s->dir);
    if (s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID, "a transaction is already open");
    /* A removal changes seq (sb_store_remove): while it is the one this
     * handle saw, the lock file is still linked, no fstat needed. */
    if ((rc = sb_store__lock_exclusive(s)) < 0 ||
        (!sb_store__shared_unchanged(s) && (rc = sb_fs_check_linked(s->lock_fd, s->lock_path)) < 0))
        return rc;
    if ((rc = sb_store__begin_locked(s)) < 0) {
        sb_store__unlock(s);
        return rc;
    }
    batch_start(s);
    s->nending = 0;
    s->in_txn = true;
    return 0;
}

/* Append the batch as one record.  Under group commit (*group set) the
 * record is durable only after sb_store__group_sync(end); otherwise it is
 * fdatasync'd here, under the lock, unless defer (sb_store__commit). */
int sb_store__write_locked(sb_store *s, bool defer, bool *group, size_t *end)
{
    *group = false;
    *end = s->valid_end;
    if (s->batch.oom)
        return sb_error_oom();
    if (batch_empty(s))
        return 0;
    *group = sb_store__group_commit(s);
    const uint8_t *payload = s->batch.p;
    size_t len = s->batch.len;
    if (*group) {
        uint64_t base = sb_store__durable_base(s);
        for (int i = 0; i < 8; i++)
            s->batch.p[1 + i] = (uint8_t)(base >> (8 * i));
    } else {
        payload += BASE_OP_SIZE;
        len -= BASE_OP_SIZE;
    }
    uint8_t hdr[SB_LOG_REC_HEADER];
    int rc = sb_log_frame_header(hdr, payload, len);
    if (rc == 0)
        sb_store__changing(s);
    if (rc == 0)
        rc = sb_fs_pwrite2(s->log_fd, hdr, sizeof(hdr), payload, len, (off_t)s->valid_end,
                           s->log_path);
    if (rc == 0 && !*group && !defer && fdatasync(s->log_fd) < 0)
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot fdatasync '%s'",
                                s->log_path);
    if (rc < 0) {
        /* best effort: cut a partial write so the next writer appends after
         * valid data; if even this fails the next open drops it as a torn
         * tail */
        (void)!ftruncate(s->log_fd, (off_t)s->valid_end);
        *group = false;
        return rc;
    }
    s->valid_end += sizeof(hdr) + len;
    s->garbage += s->batch_garbage + SB_LOG_REC_HEADER + (*group ? BASE_OP_SIZE : 0);
    *end = s->valid_end;
    if (*group)
        sb_store__appended(s);
    return 0;
}

static void release_own_ended(sb_store *s)
{
    for (size_t i = 0; i < s->nending; i++)
        for (size_t k = 0; k < s->nown; k++)
            if (s->own[k] == s->ending[i]) {
                s->own[k] = s->own[--s->nown];
                break;
            }
    if (s->nending)
        sb_store__oplock_release_if_idle(s);
    s->nending = 0;
}

int sb_store_commit(sb_store *s)
{
    return sb_store__commit(s, false);
}

int sb_store__commit(sb_store *s, bool defer)
{
    if (!s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID, "commit without a transaction");
    bool group;
    size_t end, start = s->valid_end;
    int rc = sb_store__write_locked(s, defer, &group, &end);
    s->in_txn = false;
    if (rc < 0) {
        /* the tree holds uncommitted changes: reload what is on disk */
        int saved_code = sb_error_last()->code;
        char saved[sizeof(sb_error_last()->message)];
        memcpy(saved, sb_error_last()->message, sizeof(saved));
        (void)sb_store__sync(s, true);
        sb_store__unlock(s);
        s->nending = 0;
        return sb_error_set(saved_code, "%s", saved);
    }
    sb_buf_reset(&s->batch);
    dev_t dev = s->log_dev;
    ino_t ino = s->log_ino;
    bool compacted = false;
    if (s->valid_end >= sb_store__compact_min && s->garbage > s->valid_end / 2) {
        if (sb_store__compact_locked(s) < 0)
            (void)sb_store__warn(s, "compaction failed: %s", sb_error_last()->message);
        else
            group = false, compacted = true; /* the new log was fsync'd whole */
    }
    /* Nobody to share an fdatasync with: sync before the unlock. */
    int alone = group && !defer ? sb_store__sync_alone(s, start) : 0;
    if (alone != 0)
        group = false;
    sb_store__unlock(s);
    if (defer) {
        /* durable at sb_store_intent_sync, or with the next commit; a
         * compaction above wrote the whole log durably already */
        if (!compacted) {
            s->unsynced = true;
            s->unsynced_group = group;
            s->unsynced_end = end;
            s->unsynced_dev = dev;
            s->unsynced_ino = ino;
        }
        release_own_ended(s);
        return 0;
    }
    /* Group commit: other writers append while this one waits for an
     * fdatasync that covers its record, run by whoever gets there first. */
    if (alone < 0)
        rc = alone;
    else if (group)
        rc = sb_store__group_sync(s, end, dev, ino);
    if (rc < 0)
        sb_error_prefix("the change is in the log, but was not made durable");
    /* this commit's sync covered an intent appended before it without
     * one (an empty batch wrote and synced nothing) */
    if (rc == 0 && end > start && s->unsynced && s->unsynced_dev == dev &&
        s->unsynced_ino == ino && s->unsynced_end <= end)
        s->unsynced = false;
    release_own_ended(s);
    return rc;
}

int sb_store_intent_sync(sb_store *s)
{
    if (!s->unsynced)
        return 0;
    int rc = 0;
    if (s->unsynced_group) {
        rc = sb_store__group_sync(s, s->unsynced_end, s->unsynced_dev, s->unsynced_ino);
    } else if (s->log_fd >= 0 && s->log_dev == s->unsynced_dev && s->log_ino == s->unsynced_ino &&
               fdatasync(s->log_fd) < 0) {
        /* (another log: a compaction wrote it whole, durably, with the
         * record in it) */
        rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot fdatasync '%s'",
                                s->log_path);
    }
    if (rc < 0)
        sb_error_prefix("the operation's intent is in the log, but was not made durable");
    else
        s->unsynced = false;
    return rc;
}

int sb_store_rollback(sb_store *s)
{
    if (!s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID, "rollback without a transaction");
    s->in_txn = false;
    s->nending = 0;
    batch_start(s);
    int rc = sb_store__sync(s, true);
    sb_store__unlock(s);
    return rc;
}

/* ---------------------------------------------------------------- mutations */

/* End a one-mutation transaction that failed.  Validation failures change
 * nothing and record nothing: just release.  A failure after recording
 * (out of memory) reloads, keeping the error. */
static void abort_auto(sb_store *s)
{
    if (batch_empty(s) && !s->batch.oom) {
        s->in_txn = false;
        sb_store__unlock(s);
        return;
    }
    int code = sb_error_last()->code;
    char msg[sizeof(sb_error_last()->message)];
    memcpy(msg, sb_error_last()->message, sizeof(msg));
    (void)sb_store_rollback(s);
    sb_error_set(code, "%s", msg);
}

/* Run one mutation inside the caller's transaction, or in its own. */
#define WITH_TXN(s, body)                                                                      \
    do {                                                                                       \
        int rc_ = usable(s);                                                                   \
        if (rc_ < 0)                                                                           \
            return rc_;                                                                        \
        bool auto_ = !(s)->in_txn;                                                             \
        if (auto_ && (rc_ = sb_store_begin(s)) < 0)                                            \
            return rc_;                                                                        \
        if (!(s)->in_txn)                                                                      \
            return sb_error_set(SB_ERR_INTERNAL_ERROR, "no transaction");                      \
        rc_ = (body);                                                                          \
        if (auto_) {                                                                           \
            if (rc_ < 0)                                                                       \
                abort_auto(s);                                                                 \
            else                                                                               \
                rc_ = sb_store_commit(s);                                                      \
        }                                                                                      \
        return rc_;                                                                            \
    } while (0)

static void record(sb_store *s, const sb_log_op *op)
{
    s->batch_garbage += sb_store__op_garbage(s, op);
    sb_log_encode_op(&s->batch, op);
}

static int do_put(sb_store *s, const sb_tree_snapshot *snap, bool redefine)
{
    int rc = sb_name_check_snapshot(snap->name);
    if (rc < 0)
        return rc;
    rc = redefine ? sb_tree_redefine_check(s->tree, snap) : 0;
    if (rc == 0 && !redefine && sb_tree_lookup(s->tree, snap->name))
        rc = sb_error_set(SB_ERR_OPERATION_FAILED, "snapshot '%s' already exists", snap->name);
    if (rc < 0)
        return rc;
    if (snap->state < SB_STATE_NOSTATE || snap->state > SB_STATE_DISK_SNAPSHOT)
        return sb_error_set(SB_ERR_INVALID_ARG, "invalid state %d for snapshot '%s'",
                            snap->state, snap->name);
    sb_log_op op = { .type = SB_LOG_PUT, .name = snap->name, .parent = snap->parent,
                     .state = snap->state, .external = snap->external,
                     .ctime = snap->creation_time, .xml = snap->xml };
    size_t g = sb_store__op_garbage(s, &op);
    rc = redefine ? sb_tree_redefine(s->tree, snap, NULL) : sb_tree_add(s->tree, snap, NULL);
    if (rc < 0)
        return rc;
    s->batch_garbage += g;
    sb_log_encode_op(&s->batch, &op);
    return s->batch.oom ? sb_error_oom() : 0;
}

static int add_body(sb_store *s, const sb_tree_snapshot *snap) { return do_put(s, snap, false); }
static int redef_body(sb_store *s, const sb_tree_snapshot *snap) { return do_put(s, snap, true); }

int sb_store_add(sb_store *s, const sb_tree_snapshot *snap) { WITH_TXN(s, add_body(s, snap)); }

int sb_store_redefine(sb_store *s, const sb_tree_snapshot *snap)
{
    WITH_TXN(s, redef_body(s, snap));
}

static int set_current_body(sb_store *s, const char *name);

static int create_body(sb_store *s, const sb_tree_snapshot *snap)
{
    const sb_tree_node *cur = sb_tree_current(s->tree);
    sb_tree_snapshot x = *snap;
    x.parent = cur ? sb_tree_node_name(cur) : NULL;
    int rc = do_put(s, &x, false);
    return rc < 0 ? rc : set_current_body(s, snap->name);
}

int sb_store_create(sb_store *s, const sb_tree_snapshot *snap)
{
    WITH_TXN(s, create_body(s, snap));
}

static int set_xml_body(sb_store *s, const char *name, const char *xml)
{
    sb_log_op op = { .type = SB_LOG_XML, .name = name, .xml = xml };
    int rc = sb_tree_set_xml(s->tree, name, xml);
    if (rc < 0)
        return rc;
    record(s, &op);
    return s->batch.oom ? sb_error_oom() : 0;
}

int sb_store_set_xml(sb_store *s, const char *name, const char *xml)
{
    WITH_TXN(s, set_xml_body(s, name, xml));
}

static int set_current_body(sb_store *s, const char *name)
{
    int rc = sb_tree_set_current(s->tree, name);
    if (rc < 0)
        return rc;
    sb_log_op op = { .type = SB_LOG_CUR, .name = name };
    record(s, &op);
    return s->batch.oom ? sb_error_oom() : 0;
}

int sb_store_set_current(sb_store *s, const char *name)
{
    WITH_TXN(s, set_current_body(s, name));
}

/* Remove one node and record it; current moves as the tree rule says. */
static void del_one(sb_store *s, const char *name)
{
    sb_log_op op = { .type = SB_LOG_DEL, .name = name };
    record(s, &op); /* before the removal: garbage needs the node */
    (void)sb_tree_remove(s->tree, name);
}

static int delete_body(sb_store *s, const char *name, unsigned flags)
{
    const unsigned children = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY;
    if (flags & ~(unsigned)SB_SNAPSHOT_DELETE_ALL)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                            flags & ~(unsigned)SB_SNAPSHOT_DELETE_ALL, "sb_store_delete");
    if ((flags & children) == children)
        return sb_error_set(SB_ERR_INVALID_ARG, "flags 'children' and 'children-only' are "
                                                "mutually exclusive");
    sb_tree_node *n = NULL;
    int rc = sb_tree_get(s->tree, name, &n);
    if (rc < 0)
        return rc;
    if (flags & children) {
        const sb_tree_node **desc;
        size_t nd;
        rc = sb_tree_list(s->tree, name, SB_SNAPSHOT_LIST_DESCENDANTS, &desc, &nd);
        if (rc < 0)
            return rc;
        /* reverse pre-order: every node goes after all its descendants, so
         * each is a leaf when removed and replay sees the same steps */
        for (size_t i = nd; i-- > 0;)
            del_one(s, sb_tree_node_name(desc[i]));
        free(desc);
    }
    /* the name may belong to a node we are about to free: copy it */
    char *keep = strdup(name);
    if (!keep)
        return sb_error_oom();
    if (!(flags & SB_SNAPSHOT_DELETE_CHILDREN_ONLY))
        del_one(s, keep);
    free(keep);
    /* the removals moved current already; say where it ended explicitly so
     * the log does not depend on replay re-deriving it */
    const sb_tree_node *cur = sb_tree_current(s->tree);
    sb_log_op op = { .type = SB_LOG_CUR, .name = cur ? sb_tree_node_name(cur) : NULL };
    record(s, &op);
    return s->batch.oom ? sb_error_oom() : 0;
}

int sb_store_delete(sb_store *s, const char *name, unsigned flags)
{
    WITH_TXN(s, delete_body(s, name, flags));
}
