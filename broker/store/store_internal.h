/* Private state of the store, shared by store*.c only. */
#ifndef SB_STORE_STORE_INTERNAL_H
#define SB_STORE_STORE_INTERNAL_H

#include <sys/types.h>

#include "core/strlist.h"
#include "store/log_format.h"
#include "store/store.h"

/* Compact when the log is at least this big and over half of it is
 * superseded ops: keeps the log within 2x the live data while never
 * rewriting tiny logs.  Every new process (each CLI call) reads and
 * replays the whole log, so the floor is low: at 1 MiB, a domain with a
 * few snapshots and daily create/delete churn made every call replay up
 * to 1 MiB of dead records (240 KiB of them cost a CLI call 1.5 ms and 60
 * page faults here).  A compaction of such a log is one small write, an
 * fsync, a rename and a directory fsync, every few dozen changes. */
#define SB_STORE_COMPACT_MIN (64u << 10)
/* Compaction writes records of about this size (atomicity comes from the
 * rename, so the batch size only bounds memory). */
#define SB_STORE_COMPACT_CHUNK (1u << 20)

/* The threshold in effect; tests lower it to exercise compaction. */
extern size_t sb_store__compact_min;

typedef struct sb_intent_rec {
    uint64_t id;
    char *op, *snapshot, *payload;
    long long time;
    int pid;
    size_t size; /* bytes of its IBEG op, for garbage accounting */
} sb_intent_rec;

struct sb_store {
    unsigned flags;
    char *dir, *log_path, *lock_path, *oplock_path, *domain;
    int lock_fd, oplock_fd, log_fd;
    bool oplock_held;
    bool oplock_shared; /* held with LOCK_SH (sb_store_operation_begin_shared) */
    bool counted_operating; /* counted in the shared page (sb_store__operating) */
    bool broken; /* a reload failed half-way: only close is allowed */

    sb_tree *tree;

    /* what of the log is reflected in tree */
    bool have_log;
    dev_t log_dev;
    ino_t log_ino;
    size_t valid_end; /* offset after the last record replayed */
    size_t tail_off;  /* start of a torn tail not yet truncated, or 0 */
    size_t garbage;   /* bytes of superseded ops, to decide on compaction */
    bool damaged;
    size_t damage_off;

    sb_intent_rec *intents;
    size_t nintents, cap_intents;
    uint64_t next_intent_id;
    uint64_t *own; /* intents begun by this handle, unresolved */
    size_t nown, cap_own;
    unsigned op_holds; /* sb_store_operation_begin() without its end */
    uint64_t *ending; /* own intents ended in the open transaction */
    size_t nending, cap_ending;

    bool in_txn;
    /* a record sb_store__commit(defer) appended without syncing, which
     * waits for sb_store_intent_sync: its end, the log it is in, and
     * whether group commit syncs it */
    bool unsynced, unsynced_group;
    size_t unsynced_end;
    dev_t unsynced_dev;
    ino_t unsynced_ino;
    sb_buf batch;
    size_t batch_garbage;

    sb_strlist warnings;

    /* store_shared.c: the lock file's shared page (NULL: not mapped), the
     * even seq this handle's tree matches, and whether this handle has
     * changed the log under the exclusive lock it holds */
    struct sb_store_shared *shared;
    uint64_t seen_seq;
    bool log_changing;
    /* replaying a full load: names and XML borrowed from the mapped log */
    bool replay_borrows;
};

int sb_store__warn(sb_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_store__clear_warnings(sb_store *s);
/* Bring tree up to date with the log on disk; the caller holds the lock
 * (shared or exclusive).  full forces a reload from the start. */
int sb_store__sync(sb_store *s, bool full);
/* Rewrite the log from the live state; caller holds the exclusive lock. */
int sb_store__compact_locked(sb_store *s);
/* Garbage an op makes of earlier ops, computed before it is applied. */
size_t sb_store__op_garbage(const sb_store *s, const sb_log_op *op);
int sb_store__intent_add(sb_store *s, const sb_log_op *op, size_t size);
sb_intent_rec *sb_store__intent_find(sb_store *s, uint64_t id, size_t *idx);
void sb_store__intent_drop(sb_store *s, size_t idx);
void sb_store__intents_clear(sb_store *s);
int sb_store__write_locked(sb_store *s, bool defer, bool *group, size_t *end);
/* sb_store_commit; with defer, the record is appended without waiting for
 * the disk and is noted as unsynced (sb_store_intent_begin_deferred). */
int sb_store__commit(sb_store *s, bool defer);
int sb_store__begin_locked(sb_store *s);
/* store_load.c: whether the bad record at bad_off, with valid records from
 * `from` on, is the torn tail of a group commit (no record after it can
 * have been acknowledged: docs/store.md, "Group commit"). */
bool sb_store__unacknowledged_after(const uint8_t *data, size_t size, size_t bad_off,
                                    size_t from);

/* The shared page (store_shared.c).  map: after lock_fd is open, with the
 * lock held (a writer may grow and initialise the file).  unchanged: the
 * log is still what this handle's tree reflects, known without a system
 * call.  changing: call under the exclusive lock before any change to the
 * log file.  unlock: release lock_fd, publishing a change first. */
void sb_store__shared_map(sb_store *s);
void sb_store__shared_unmap(sb_store *s);
uint64_t sb_store__shared_seq(const sb_store *s);
bool sb_store__shared_unchanged(const sb_store *s);
void sb_store__changing(sb_store *s);
/* Whether this handle's lock file was unlinked (its store removed): one
 * fstat, for the paths where seq already said something changed. */
bool sb_store__unlinked(const sb_store *s);
void sb_store__unlock(sb_store *s);

/* Group commit (store_shared.c).  adopt: a writer holding the exclusive
 * lock makes the page describe its log (fdatasync first: "synced" must
 * never claim too little); new_log: the log was created or replaced and
 * is durable up to valid_end.  group_commit: this handle may append
 * without fdatasync under the lock; durable_base: what its record's BASE
 * op says; appended: its record is complete in the file; truncated: the
 * log was cut at end.  group_sync: make [0, end) of the log (dev, ino)
 * durable, sharing one fdatasync with every writer that appended before
 * it ran. */
int sb_store__shared_adopt(sb_store *s);
void sb_store__shared_new_log(sb_store *s);
bool sb_store__group_commit(const sb_store *s);
uint64_t sb_store__durable_base(const sb_store *s);
void sb_store__appended(sb_store *s);
void sb_store__truncated(sb_store *s, size_t end);
int sb_store__group_sync(sb_store *s, size_t end, dev_t dev, ino_t ino);
/* lock_exclusive: take lock_fd exclusively, counted in the page's
 * "waiting" while blocked.  sync_alone: under the exclusive lock, right
 * after a group-commit append of the record that starts at start: when
 * nobody waits for the lock and everything before the record is durable
 * already, fdatasync now, before the unlock (no sync lock to take, two
 * system calls fewer) and return 1; 0: sync the group way after the
 * unlock. */
int sb_store__lock_exclusive(sb_store *s);
/* operating: this handle took the operation lock (exclusive: alone by the
 * lock); not_operating: it released it, or closes.  Counted in the page's
 * "operating" (store_shared.c), once per handle. */
void sb_store__operating(sb_store *s, bool exclusive);
void sb_store__not_operating(sb_store *s);
int sb_store__sync_alone(sb_store *s, size_t start);

/* Release the oplock when nothing of this handle needs it any more. */
void sb_store__oplock_release_if_idle(sb_store *s);

#endif
