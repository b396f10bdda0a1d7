/* Replaying snapshots.log into the tree: full loads and incremental catch-up
 * with other processes' commits.  The rules for damage are here:
 *   - a bad record with no valid record after it is a torn tail (a crash
 *     during a commit): it is dropped, the state is the one before it;
 *   - a bad record followed by valid ones is damage in the middle: it is
 *     reported (file and offset), and the records after it still load. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"
#include "store/log_reader.h"
#include "store/tree.h"

/* ------------------------------------------------------------- warnings */

int sb_store__warn(sb_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_strlist_addv(&s->warnings, fmt, ap);
    va_end(ap);
    return rc;
}

void sb_store__clear_warnings(sb_store *s)
{
    sb_strlist_clear(&s->warnings);
}

/* -------------------------------------------------------------- intents */

sb_intent_rec *sb_store__intent_find(sb_store *s, uint64_t id, size_t *idx)
{
    for (size_t i = 0; i < s->nintents; i++)
        if (s->intents[i].id == id) {
            if (idx)
                *idx = i;
            return &s->intents[i];
        }
    return NULL;
}

void sb_store__intent_drop(sb_store *s, size_t idx)
{
    sb_intent_rec *r = &s->intents[idx];
    free(r->op);
    free(r->snapshot);
    free(r->payload);
    memmove(r, r + 1, (s->nintents - idx - 1) * sizeof(*r));
    s->nintents--;
}

void sb_store__intents_clear(sb_store *s)
{
    while (s->nintents)
        sb_store__intent_drop(s, s->nintents - 1);
}

int sb_store__intent_add(sb_store *s, const sb_log_op *op, size_t size)
{
    if (s->nintents == s->cap_intents) {
        size_t cap = s->cap_intents ? s->cap_intents * 2 : 4;
        sb_intent_rec *v = realloc(s->intents, cap * sizeof(*v));
        if (!v)
            return sb_error_oom();
        s->intents = v;
        s->cap_intents = cap;
    }
    sb_intent_rec r = { .id = op->id, .time = op->time, .pid = (int)op->pid, .size = size };
    r.op = strdup(op->op);
    r.snapshot = strdup(op->snapshot);
    r.payload = strdup(op->payload);
    if (!r.op || !r.snapshot || !r.payload) {
        free(r.op);
        free(r.snapshot);
        free(r.payload);
        return sb_error_oom();
    }
    s->intents[s->nintents++] = r;
    if (op->id >= s->next_intent_id)
        s->next_intent_id = op->id + 1;
    return 0;
}

/* ------------------------------------------------------ garbage and ops */

static size_t node_put_size(const sb_tree_node *n)
{
    sb_tree_node *p = sb_tree_node_parent(n);
    sb_log_op op = { .type = SB_LOG_PUT, .name = sb_tree_node_name(n),
                     .parent = p ? sb_tree_node_name(p) : NULL, .xml = sb_tree_node_xml(n) };
    return sb_log_op_size(&op);
}

size_t sb_store__op_garbage(const sb_store *s, const sb_log_op *op)
{
    const sb_tree_node *n;
    switch (op->type) {
    case SB_LOG_PUT:
        n = sb_tree_lookup(s->tree, op->name);
        return n ? node_put_size(n) : 0;
    case SB_LOG_DEL:
        n = sb_tree_lookup(s->tree, op->name);
        return sb_log_op_size(op) + (n ? node_put_size(n) : 0);
    case SB_LOG_CUR:
    case SB_LOG_XML:
        /* approximately: each supersedes an earlier op of its kind */
        return sb_log_op_size(op);
    case SB_LOG_BASE:
        return sb_log_op_size(op); /* never needed once replayed */
    case SB_LOG_IEND: {
        const sb_intent_rec *r = NULL;
        for (size_t i = 0; i < s->nintents; i++)
            if (s->intents[i].id == op->id)
                r = &s->intents[i];
        return sb_log_op_size(op) + (r ? r->size : 0);
    }
    default:
        return 0;
    }
}

/* Apply one stored op.  Stored data may be damaged, so a reference to a
 * snapshot that does not exist is a warning, not a failure; only
 * out-of-memory fails. */
static int apply_op(sb_store *s, const sb_log_op *op)
{
    s->garbage += sb_store__op_garbage(s, op);
    sb_tree_snapshot snap = { .name = op->name, .parent = op->parent, .state = op->state,
                              .external = op->external, .creation_time = op->ctime,
                              .xml = op->xml, .borrow = s->replay_borrows };
    size_t idx;
    switch (op->type) {
    case SB_LOG_PUT:
        return sb_tree_load_put(s->tree, &snap);
    case SB_LOG_DEL:
        if (!sb_tree_lookup(s->tree, op->name))
            return sb_store__warn(s, "%s: delete of unknown snapshot '%s' ignored", s->log_path,
                                  op->name);
        return sb_tree_remove(s->tree, op->name);
    case SB_LOG_CUR:
        if (op->name && !sb_tree_lookup(s->tree, op->name)) {
            (void)sb_tree_set_current(s->tree, NULL);
            return sb_store__warn(s, "%s: current snapshot '%s' does not exist; no current",
                                  s->log_path, op->name);
        }
        return sb_tree_set_current(s->tree, op->name);
    case SB_LOG_XML:
        if (!sb_tree_lookup(s->tree, op->name))
            return sb_store__warn(s, "%s: XML of unknown snapshot '%s' ignored", s->log_path,
                                  op->name);
        return sb_tree_set_xml(s->tree, op->name, op->xml);
    case SB_LOG_IBEG:
        return sb_store__intent_add(s, op, sb_log_op_size(op));
    case SB_LOG_IEND:
        if (sb_store__intent_find(s, op->id, &idx))
            sb_store__intent_drop(s, idx);
        return 0;
    case SB_LOG_BASE:
        return 0; /* read by replay() when it meets damage */
    default:
        return sb_error_set(SB_ERR_INTERNAL_ERROR, "unknown op %d", op->type);
    }
}

/* An op decoded from the payload p whose copy in the tree's arena (the
 * mapped log) is at mapped: the XML the tree borrows is the arena's, so
 * it stays valid after p's buffer is reused, and it is never touched
 * here (store.md, "Cold start"). */
static int apply_op_at(sb_store *s, sb_log_op *op, const uint8_t *p, const uint8_t *mapped)
{
    if (mapped && op->xml)
        op->xml = (const char *)mapped + ((const uint8_t *)op->xml - p);
    return apply_op(s, op);
}

/* Decode the whole record first so a malformed one changes nothing.  The
 * ops of a small record (a commit: a few ops) are kept from that pass; a
 * big one (a compaction chunk) is decoded again op by op.  mapped: the
 * payload's address in the tree's arena when the tree borrows from it,
 * else NULL. */
#define RECORD_OPS_KEPT 8
static int apply_record(sb_store *s, const uint8_t *p, size_t len, size_t off,
                        const uint8_t *mapped)
{
    sb_log_op kept[RECORD_OPS_KEPT], op;
    size_t pos = 0, nops = 0;
    int r, rc = 0;
    while ((r = sb_log_decode_op(p, len, &pos, nops < RECORD_OPS_KEPT ? &kept[nops] : &op)) == 1)
        nops++;
    if (r < 0 || nops == 0)
        return 1; /* malformed: the caller reports it as damage */
    if (nops <= RECORD_OPS_KEPT) {
        for (size_t i = 0; i < nops && rc == 0; i++)
            rc = apply_op_at(s, &kept[i], p, mapped);
    } else {
        pos = 0;
        while (rc == 0 && sb_log_decode_op(p, len, &pos, &op) == 1)
            rc = apply_op_at(s, &op, p, mapped);
    }
    if (rc < 0)
        sb_error_prefix("%s: record at offset %zu", s->log_path, off);
    return rc;
}

static int note_damage(sb_store *s, size_t off, size_t skipped)
{
    if (!s->damaged) {
        s->damaged = true;
        s->damage_off = off;
    }
    return sb_store__warn(s, "%s: damaged record at offset %zu (%zu bytes skipped); "
                             "the records after it were loaded",
                          s->log_path, off, skipped);
}

/* A bad record at bad_off with valid records after it (from on) is damage,
 * unless every valid record after it was appended before anything from
 * bad_off on was durable (its BASE op says how far the log was durable
 * then).  Such a record can never have been acknowledged: its writer
 * returns only after an fdatasync that would also have made bad_off's
 * bytes durable.  So the whole range is the torn tail of a group commit. */
bool sb_store__unacknowledged_after(const uint8_t *data, size_t size, size_t bad_off,
                                    size_t from)
{
    for (size_t o = from; o < size;) {
        const uint8_t *p;
        size_t plen, next, pos = 0;
        sb_log_op op;
        if (sb_log_scan(data, size, o, &p, &plen, &next) != SB_SCAN_OK) {
            o = sb_log_resync(data, size, o);
            continue;
        }
        if (sb_log_decode_op(p, plen, &pos, &op) != 1 || op.type != SB_LOG_BASE ||
            op.id > bad_off)
            return false;
        o = next;
    }
    return true;
}

/* Replay [from, size) of the mapped log. */
static int replay(sb_store *s, const uint8_t *data, size_t size, size_t from)
{
    size_t off = from;
    s->tail_off = 0;
    for (;;) {
        const uint8_t *p;
        size_t plen, next;
        int r = sb_log_scan(data, size, off, &p, &plen, &next);
        if (r == SB_SCAN_END)
            break;
        if (r == SB_SCAN_OK) {
            int rc = apply_record(s, p, plen, off,
                                  s->replay_borrows ? data + off + SB_LOG_REC_HEADER : NULL);
            if (rc < 0)
                return rc;
            if (rc > 0 && (rc = note_damage(s, off, next - off)) < 0)
                return rc;
            off = next;
            s->valid_end = off;
            continue;
        }
        size_t resync = sb_log_resync(data, size, off);
        if (resync < size && sb_store__unacknowledged_after(data, size, off, resync)) {
            /* a group commit interrupted before its fdatasync: none of it
             * was acknowledged (docs/store.md, "Group commit") */
            s->tail_off = off;
            int rc = sb_store__warn(s, "%s: incomplete records from offset %zu (%zu bytes) "
                                       "dropped: commits were interrupted before they were "
                                       "durable",
                                    s->log_path, off, size - off);
            if (rc < 0)
                return rc;
            break;
        }
        if (resync == size) {
            /* nothing valid after it: the torn tail of an interrupted commit */
            s->tail_off = off;
            int rc = sb_store__warn(s, "%s: incomplete last record at offset %zu (%zu bytes) "
                                       "dropped: a commit was interrupted",
                                    s->log_path, off, size - off);
            if (rc < 0)
                return rc;
            break;
        }
        int rc = note_damage(s, off, resync - off);
        if (rc < 0)
            return rc;
        off = resync;
    }
    return 0;
}

/* replay() of [from, size) over a mapping of its own: the damage rules
 * of a log read through a buffer. */
static int replay_mapped(sb_store *s, int fd, size_t size, size_t from)
{
    uint8_t *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED)
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot map '%s'", s->log_path);
    int rc = replay(s, data, size, from);
    munmap(data, size);
    return rc;
}

/* Replay [from, size) of the log read through fd, a record at a time
 * (log_reader.h); data is the mapped log when the tree borrows from it
 * (its arena), else NULL.  From a record that is not valid on, the log is
 * replayed over a mapping by replay() instead: damage is rare, and its
 * rules live there once. */
static int replay_read(sb_store *s, int fd, const uint8_t *data, size_t size, size_t from)
{
    sb_log_reader rd;
    size_t off = from;
    int rc = 0;
    sb_log_reader_init(&rd, fd, size, s->log_path);
    s->tail_off = 0;
    for (;;) {
        const uint8_t *p;
        size_t plen, next;
        int r = sb_log_reader_next(&rd, off, &p, &plen, &next);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == SB_SCAN_END)
            break;
        if (r != SB_SCAN_OK) {
            rc = data ? replay(s, data, size, off) : replay_mapped(s, fd, size, off);
            break;
        }
        rc = apply_record(s, p, plen, off,
                          s->replay_borrows ? data + off + SB_LOG_REC_HEADER : NULL);
        if (rc < 0)
            break;
        if (rc > 0 && (rc = note_damage(s, off, next - off)) < 0)
            break;
        rc = 0;
        off = next;
        s->valid_end = off;
    }
    sb_log_reader_free(&rd);
    return rc;
}

static void unmap_arena(void *base, size_t len)
{
    munmap(base, len);
}

static void free_arena(void *base, size_t len)
{
    (void)len;
    free(base);
}

static void reset_state(sb_store *s)
{
    sb_tree_free(s->tree);
    s->tree = NULL;
    sb_store__intents_clear(s);
    sb_store__clear_warnings(s);
    s->garbage = 0;
    s->damaged = false;
    s->damage_off = 0;
    s->valid_end = 0;
    s->tail_off = 0;
    s->have_log = false;
}

/* Move the tree's load warnings into the store's list. */
static int take_tree_warnings(sb_store *s)
{
    const char *const *w;
    size_t n = sb_tree_warnings(s->tree, &w);
    for (size_t i = 0; i < n; i++) {
        int rc = sb_store__warn(s, "%s: %s", s->log_path, w[i]);
        if (rc < 0)
            return rc;
    }
    sb_tree_clear_warnings(s->tree);
    return 0;
}

/* The slow part of a sync (the caller holds the lock): stat, replay. */
static int sync_log(sb_store *s, bool full);

int sb_store__sync(sb_store *s, bool full)
{
    /* Under the lock seq is stable (a writer changes the log only under
     * the exclusive lock); read before the log, so a later change is seen
     * as one. */
    uint64_t seq = sb_store__shared_seq(s);
    if (!full && sb_store__shared_unchanged(s))
        return 0;
    int rc = sync_log(s, full);
    /* A seq seen on a removed store is not remembered: sb_store_removed
     * answers "not removed" without a system call while seq is the one
     * remembered, and a refresh that ran just after the removal (between
     * the caller's sb_store_removed and its refresh) would otherwise hide
     * the removal from every later call. */
    if (rc == 0 && !sb_store__unlinked(s))
        s->seen_seq = seq;
    return rc;
}

static int sync_log(sb_store *s, bool full)
{
    int writable = s->flags & SB_STORE_WRITABLE;
    struct stat st;
    /* Fast path for every begin() without a shared page: the log is still
     * the file we hold open (nobody compacted), so one stat() tells
     * whether anything was appended; nothing to do when its size is what
     * we replayed. */
    if (!full && s->have_log && s->log_fd >= 0 && stat(s->log_path, &st) == 0 &&
        st.st_dev == s->log_dev && st.st_ino == s->log_ino &&
        (size_t)st.st_size >= s->valid_end) {
        if ((size_t)st.st_size == s->valid_end)
            return 0;
        int rc = replay_read(s, s->log_fd, NULL, (size_t)st.st_size, s->valid_end);
        if (rc == 0)
            rc = take_tree_warnings(s);
        if (rc < 0)
            s->broken = true;
        return rc;
    }
    int fd;
    int orc = sb_fs_open(s->log_path, writable ? O_RDWR : O_RDONLY, 0, &fd);
    if (orc < 0)
        return orc;
    if (orc == 1) {
        if (s->have_log && sb_store__unlinked(s))
            return sb_error_set(SB_ERR_OPERATION_INVALID,
                                "'%s' was removed (the domain was undefined)", s->log_path);
        if (s->have_log)
            return sb_error_set(SB_ERR_STORE, "'%s' disappeared", s->log_path);
        if (!s->tree && !(s->tree = sb_tree_new()))
            return sb_error_oom();
        return 0; /* no store yet: empty */
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, e, "cannot stat '%s'", s->log_path);
    }
    size_t size = (size_t)st.st_size;
    if (!s->have_log || st.st_dev != s->log_dev || st.st_ino != s->log_ino ||
        size < s->valid_end)
        full = true; /* another process compacted (new file), or first load */

    if (full) {
        reset_state(s);
        if (!(s->tree = sb_tree_new())) {
            close(fd);
            s->broken = true;
            return sb_error_oom();
        }
    }
    int rc = 0;
    uint8_t *data = NULL;
    bool in_memory = false; /* data holds the whole log, read */
    if (size > 0 && full && size <= SB_LOG_SMALL) {
        /* A small log (a few dozen snapshots) is read whole into memory
         * that becomes the tree's arena: no mapping to make and unmap,
         * which in a process with several threads (the fleet view opens a
         * store per domain on each of them) is a TLB shootdown on every
         * other CPU each time. */
        if (!(data = malloc(size))) {
            rc = sb_error_oom();
            goto out;
        }
        if ((rc = sb_log_read_at(fd, data, size, 0, s->log_path)) < 0) {
            free(data);
            data = NULL;
            goto out;
        }
        sb_tree_adopt_arena(s->tree, data, size, free_arena);
        s->replay_borrows = true;
        in_memory = true;
    } else if (size > 0 && full) {
        /* Not populated: the records are read through a buffer
         * (replay_read); a page of the mapping is touched only when the
         * XML on it is asked for.  The new tree keeps the mapping: its XML
         * stays where it is in the log instead of being copied out one by
         * one.  The log is append-only and replaced by rename, never cut
         * below what was replayed, so the mapped records stay. */
        data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            rc = sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot map '%s'", s->log_path);
            data = NULL;
            goto out;
        }
        sb_tree_adopt_arena(s->tree, data, size, unmap_arena);
        s->replay_borrows = true;
        /* one snapshot per KiB errs high (a record with its <domain> is
         * 1-10 KiB, and the log holds replaced records too): it costs
         * empty buckets, never a rehash on the way, and never correctness */
        sb_tree_expect(s->tree, size / 1024);
    }
    if (full) {
        if (!sb_log_header_ok(data, size)) {
            rc = sb_error_set(SB_ERR_STORE, "'%s' is not a snapshot log (bad header)",
                              s->log_path);
            goto out;
        }
        s->valid_end = SB_LOG_HEADER_SIZE;
    }
    if (size > s->valid_end)
        rc = in_memory ? replay(s, data, size, s->valid_end)
                       : replay_read(s, fd, data, size, s->valid_end);
    if (rc == 0)
        rc = take_tree_warnings(s);
out:
    s->replay_borrows = false;
    if (rc < 0) {
        close(fd);
        s->broken = true;
        return rc;
    }
    if (s->log_fd >= 0)
        close(s->log_fd);
    s->log_fd = fd;
    s->log_dev = st.st_dev;
    s->log_ino = st.st_ino;
    s->have_log = true;
    return 0;
}
