/* Intents: a durable note written before the hypervisor is touched and
 * resolved after, so a crash in between is found by the next open.
 *
 * Liveness: the process that begins an intent holds the oplock until it
 * has no unresolved intents left.  A reconciler takes the same lock before
 * listing, so an intent it sees unresolved belongs to a process that died
 * (flock locks vanish with their process), never to one still working. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

static int grow_ids(uint64_t **v, size_t *n, size_t *cap)
{
    if (*n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 4;
    uint64_t *p = realloc(*v, c * sizeof(*p));
    if (!p)
        return sb_error_oom();
    *v = p;
    *cap = c;
    return 0;
}

/* Take the oplock, exclusive (LOCK_EX) or shared (LOCK_SH, metadata-only
 * operations), once per handle.  Returns 1 when there is no store on disk
 * to lock. */
static int take_oplock_as(sb_store *s, bool wait, int how)
{
    if (s->oplock_held && how == LOCK_EX && s->oplock_shared)
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "'%s' is held shared: a metadata-only "
                                                   "operation cannot begin an intent",
                            s->oplock_path);
    if (s->oplock_held)
        return 0;
    if (s->oplock_fd < 0) {
        bool w = s->flags & SB_STORE_WRITABLE;
        int rc = sb_fs_open(s->oplock_path, w ? O_RDWR | O_CREAT : O_RDONLY, 0600,
                            &s->oplock_fd);
        if (rc != 0)
            return rc; /* 1: read-only, no store on disk */
    }
    int rc = sb_fs_lock(s->oplock_fd, how, wait, s->oplock_path);
    if (rc < 0) {
        if (rc == -SB_ERR_OPERATION_INVALID)
            sb_error_set(SB_ERR_OPERATION_INVALID,
                         "another process is operating on domain '%s' ('%s' is locked)",
                         s->domain, s->oplock_path);
        return rc;
    }
    s->oplock_held = true;
    s->oplock_shared = how == LOCK_SH;
    sb_store__operating(s, how == LOCK_EX);
    return 0;
}

static int take_oplock(sb_store *s, bool wait)
{
    return take_oplock_as(s, wait, LOCK_EX);
}

void sb_store__oplock_release_if_idle(sb_store *s)
{
    if (s->oplock_held && s->nown == 0 && s->op_holds == 0) {
        sb_store__not_operating(s);
        sb_fs_unlock(s->oplock_fd);
        s->oplock_held = false;
        s->oplock_shared = false;
    }
}

static void drop_oplock_if_idle(sb_store *s)
{
    sb_store__oplock_release_if_idle(s);
}

static int operation_begin(sb_store *s, int how)
{
    if (s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "an operation must begin outside a transaction (lock order)");
    if (!(s->flags & SB_STORE_WRITABLE))
        return sb_error_set(SB_ERR_OPERATION_DENIED, "store '%s' is open read-only", s->dir);
    int rc = take_oplock_as(s, true, how);
    if (rc < 0)
        return rc;
    s->op_holds++;
    /* Whatever other processes did before we got the lock. */
    if ((rc = sb_store_refresh(s)) < 0) {
        s->op_holds--;
        drop_oplock_if_idle(s);
    }
    return rc;
}

int sb_store_operation_begin(sb_store *s)
{
    return operation_begin(s, LOCK_EX);
}

int sb_store_operation_begin_shared(sb_store *s)
{
    return operation_begin(s, LOCK_SH);
}

bool sb_store_foreign_intents(const sb_store *s)
{
    return s->nintents > s->nown;
}

void sb_store_operation_end(sb_store *s)
{
    if (s->op_holds > 0)
        s->op_holds--;
    drop_oplock_if_idle(s);
}

static int intent_begin(sb_store *s, const char *op, const char *snapshot,
                        const char *payload, uint64_t *id, bool defer)
{
    if (s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "an intent must begin outside a transaction (lock order)");
    if (!(s->flags & SB_STORE_WRITABLE))
        return sb_error_set(SB_ERR_OPERATION_DENIED, "store '%s' is open read-only", s->dir);
    if (!op || !*op)
        return sb_error_set(SB_ERR_INVALID_ARG, "an intent needs an operation name");
    int rc = grow_ids(&s->own, &s->nown, &s->cap_own);
    if (rc < 0)
        return rc;
    if ((rc = take_oplock(s, true)) < 0)
        return rc;
    if ((rc = sb_store_begin(s)) < 0) {
        drop_oplock_if_idle(s);
        return rc;
    }
    /* ids are unique: begin() caught up under the exclusive lock */
    sb_log_op rec = { .type = SB_LOG_IBEG, .id = s->next_intent_id, .time = (long long)time(NULL),
                      .pid = (uint32_t)getpid(), .op = op, .snapshot = snapshot ? snapshot : "",
                      .payload = payload ? payload : "" };
    sb_log_encode_op(&s->batch, &rec);
    /* in memory before the commit: a compaction right after the append
     * rewrites the log from memory and must keep this intent */
    if (s->batch.oom || (rc = sb_store__intent_add(s, &rec, sb_log_op_size(&rec))) < 0) {
        (void)sb_store_rollback(s);
        drop_oplock_if_idle(s);
        return sb_error_oom();
    }
    rc = sb_store__commit(s, defer);
    if (rc < 0) { /* a failed commit reloads from disk */
        drop_oplock_if_idle(s);
        return rc;
    }
    s->own[s->nown++] = rec.id;
    if (id)
        *id = rec.id;
    return 0;
}

int sb_store_intent_begin(sb_store *s, const char *op, const char *snapshot,
                          const char *payload, uint64_t *id)
{
    return intent_begin(s, op, snapshot, payload, id, false);
}

int sb_store_intent_begin_deferred(sb_store *s, const char *op, const char *snapshot,
                                   const char *payload, uint64_t *id)
{
    return intent_begin(s, op, snapshot, payload, id, true);
}

int sb_store_intent_end(sb_store *s, uint64_t id)
{
    bool auto_txn = !s->in_txn;
    int rc = grow_ids(&s->ending, &s->nending, &s->cap_ending);
    if (rc < 0)
        return rc;
    if (auto_txn && (rc = sb_store_begin(s)) < 0)
        return rc;
    size_t idx;
    if (!sb_store__intent_find(s, id, &idx)) {
        rc = sb_error_set(SB_ERR_INVALID_ARG, "no unresolved intent %llu in '%s'",
                          (unsigned long long)id, s->log_path);
        if (auto_txn)
            (void)sb_store_rollback(s);
        return rc;
    }
    sb_log_op rec = { .type = SB_LOG_IEND, .id = id };
    s->batch_garbage += sb_store__op_garbage(s, &rec);
    sb_log_encode_op(&s->batch, &rec);
    sb_store__intent_drop(s, idx);
    s->ending[s->nending++] = id; /* released from "own" at commit */
    if (auto_txn)
        return sb_store_commit(s);
    return 0;
}

int sb_store_pending_intents(sb_store *s, unsigned flags, sb_store_intent **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (flags & ~(unsigned)SB_STORE_NOWAIT)
        return sb_error_set(SB_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                            flags, "sb_store_pending_intents");
    if (s->in_txn)
        return sb_error_set(SB_ERR_OPERATION_INVALID,
                            "pending intents cannot be listed inside a transaction (lock order)");
    int rc = take_oplock(s, !(flags & SB_STORE_NOWAIT));
    if (rc < 0)
        return rc;
    if (rc == 1)
        return 0; /* no store on disk: nothing pending */
    if ((rc = sb_store_refresh(s)) < 0)
        return rc;
    sb_store_intent *v = calloc(s->nintents + 1, sizeof(*v));
    if (!v)
        return sb_error_oom();
    size_t k = 0;
    for (size_t i = 0; i < s->nintents; i++) {
        const sb_intent_rec *r = &s->intents[i];
        bool mine = false;
        for (size_t j = 0; j < s->nown; j++)
            mine |= s->own[j] == r->id;
        if (mine)
            continue;
        v[k++] = (sb_store_intent){ .id = r->id, .op = r->op, .snapshot = r->snapshot,
                                    .payload = r->payload, .time = r->time, .pid = r->pid };
    }
    *out = v;
    *n = k;
    return 0;
}
