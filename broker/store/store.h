/* Durable, crash-safe snapshot metadata of one (state_dir, host, domain).
 *
 * Layout: STATE/hosts/<host>/domains/<domain>/
 *     snapshots.log  append-only log of checksummed batch records
 *     lock           flock(): shared while reading the log, exclusive
 *                    while appending, truncating or compacting it
 *     oplock         flock(): held exclusively from intent_begin() to the
 *                    matching intent_end(), i.e. while a hypervisor
 *                    operation on this domain is in flight
 * docs/store.md describes the format and the crash-safety argument.
 *
 * Life cycle: open -> read the tree -> (begin -> mutate... -> commit or
 * rollback)* -> close.  Mutations outside begin/commit commit at once, one
 * batch each.  Every commit is one record written with one pwrite and made
 * durable with fdatasync before the call returns, so after a crash the
 * store holds the state before or after each commit, never a mix.
 *
 * Processes: any number may open the same store.  begin() takes the
 * exclusive lock and first replays whatever other processes appended, so
 * no update is lost; commit()/rollback() release it.  Lock order: oplock
 * before lock, so intent_begin() and pending_intents() refuse to run inside
 * a transaction.
 *
 * Threads: a handle is used by one thread at a time; separate handles (in
 * one process or several) coordinate through the locks.
 *
 * Ownership: strings passed in are copied.  sb_store_tree() returns a tree
 * owned by the store; it (and every node pointer from it) is valid until
 * the next begin, refresh, rollback, repair or close, which may replace it
 * after a reload: ask sb_store_tree() again afterwards.  Arrays and strings
 * documented as "malloc'd" are freed by the caller with free().
 *
 * Errors: 0 or -SB_ERR_* with the thread's error set.  SB_ERR_STORE for a
 * damaged or unusable store (the message names the file and offset),
 * SB_ERR_SYSTEM_ERROR for a failed system call, tree errors as tree.h.
 */
#ifndef SB_STORE_STORE_H
#define SB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/tree.h"

typedef struct sb_store sb_store;

enum sb_store_open_flags {
    /* create the directories and files; allow transactions */
    SB_STORE_WRITABLE = 1u << 0,
    /* open even when a record in the middle of the log is damaged: the
     * valid records before AND after it are loaded, the damage is listed in
     * the warnings, and writes are refused until sb_store_repair().
     * Without this flag such a store fails to open with SB_ERR_STORE. */
    SB_STORE_ALLOW_DAMAGED = 1u << 1,
    /* with WRITABLE: create nothing.  A store that is not on disk opens
     * as a read-only open does (empty, sb_store_on_disk false, writes
     * refused); one that is opens writable, loaded once. */
    SB_STORE_NO_CREATE = 1u << 2
};

/* host and domain must be storable names (store/names.h): else
 * SB_ERR_INVALID_ARG.  A read-only open of a store that does not exist
 * yet gives an empty tree and creates nothing.  A torn last record (a
 * crash during a commit) is dropped: truncated when writable, ignored
 * otherwise; either way a warning says so. */
int sb_store_open(const char *state_dir, const char *host, const char *domain,
                  unsigned flags, sb_store **out);
/* Rolls back an open transaction.  Accepts NULL. */
void sb_store_close(sb_store *s);

const sb_tree *sb_store_tree(const sb_store *s);
/* The domain directory (borrowed). */
const char *sb_store_dir(const sb_store *s);
/* Catch up with records other processes appended (shared lock).  Not
 * inside a transaction (begin already does it). */
int sb_store_refresh(sb_store *s);

/* Load warnings: torn tail dropped, damaged records, parents attached to
 * the top.  Borrowed; valid until the next reload or close. */
size_t sb_store_warnings(const sb_store *s, const char *const **out);
/* True when the log has damage in the middle (see ALLOW_DAMAGED). */
bool sb_store_damaged(const sb_store *s);

/* ---- transactions ---- */
int sb_store_begin(sb_store *s);
/* Write the batch (one record, fdatasync) and release the lock.  May
 * compact the log afterwards (when garbage exceeds live data); a failed
 * compaction is reported as a warning only, the commit stands. */
int sb_store_commit(sb_store *s);
/* Drop the batch: the tree is reloaded from the log. */
int sb_store_rollback(sb_store *s);
bool sb_store_in_transaction(const sb_store *s);

/* ---- mutations (the tree rules are tree.h's; each also records ops) ----
 * snap->name must pass sb_name_check_snapshot (SB_ERR_XML_DETAIL).
 * A mutation that fails validation changes nothing, in or out of a
 * transaction.  Only out-of-memory can leave a transaction half-changed:
 * the caller then rolls back (outside a transaction that is automatic). */
/* New snapshot; does not touch current (call set_current). */
int sb_store_add(sb_store *s, const sb_tree_snapshot *snap);
/* Create (docs/semantics.md §5.2, not REDEFINE): the parent is the current snapshot (none
 * when there is no current; snap->parent is ignored) and the new snapshot
 * becomes current, in one batch.  Duplicate: SB_ERR_OPERATION_FAILED. */
int sb_store_create(sb_store *s, const sb_tree_snapshot *snap);
/* Redefine: tree rules of docs/semantics.md §6.1 (sb_tree_redefine). */
int sb_store_redefine(sb_store *s, const sb_tree_snapshot *snap);
/* Replace only the XML (e.g. the parent's XML after a delete). */
int sb_store_set_xml(sb_store *s, const char *name, const char *xml);
/* flags: 0 (children move to the parent), SB_SNAPSHOT_DELETE_CHILDREN or
 * SB_SNAPSHOT_DELETE_CHILDREN_ONLY; METADATA_ONLY is accepted and has no
 * effect here (the store only holds metadata).  Current moves as docs/semantics.md §5.4 says.
 * CHILDREN together with CHILDREN_ONLY, or other bits: SB_ERR_INVALID_ARG. */
int sb_store_delete(sb_store *s, const char *name, unsigned flags);
/* name NULL: no current snapshot. */
int sb_store_set_current(sb_store *s, const char *name);

/* ---- intents: hypervisor operations in flight ----
 *
 * intent_begin() takes the oplock (waiting for another process's
 * operation on this domain to finish), then durably records the intent
 * before returning: call it BEFORE touching the hypervisor.  op and
 * snapshot name the operation ("create", "delete", ...); payload is free
 * text for the reconciler (e.g. the XML or the disk files involved).
 *
 * intent_end() records the resolution.  Called inside a transaction it
 * is part of that batch, so "metadata written" and "intent resolved" are
 * one atomic step.  The oplock is released when this handle has no
 * unresolved intents left (after the commit, inside a transaction).
 * Ending an intent another (dead) process began is how a reconciler
 * resolves it.  Unknown id: SB_ERR_INVALID_ARG. */
int sb_store_intent_begin(sb_store *s, const char *op, const char *snapshot,
                          const char *payload, uint64_t *id);
int sb_store_intent_end(sb_store *s, uint64_t id);
/* intent_begin() that appends the record without waiting for the disk:
 * for a caller that calls sb_store_intent_sync() before it touches the
 * hypervisor, and overlaps the wait with work that changes nothing (a
 * plugin's first queries, answered while the disk syncs).  Any later
 * commit of this handle makes the record durable too (the log is
 * append-only: one fdatasync covers everything before it). */
int sb_store_intent_begin_deferred(sb_store *s, const char *op, const char *snapshot,
                                   const char *payload, uint64_t *id);
/* The intents this handle began are on disk when it returns 0 (an
 * fdatasync, a share of another writer's, or nothing when a later commit
 * or a compaction already covered them). */
int sb_store_intent_sync(sb_store *s);

/* A whole operation on this domain (several intents and commits, e.g. a
 * delete with its descendants): takes the oplock, waiting for another
 * process's operation to finish, and keeps it until the matching
 * operation_end() or close, however many intents begin and end in
 * between; then catches up with the log.  Nests. */
int sb_store_operation_begin(sb_store *s);
/* The same for an operation that only changes metadata (a redefine, a
 * metadata-only delete): the oplock is taken shared, so such operations
 * run side by side (and their commits share fdatasyncs) while each
 * hypervisor operation, which holds it exclusively, still runs alone.
 * No intent may begin under it.  Reconcile dead processes' intents
 * (sb_store_foreign_intents) under the exclusive form first. */
int sb_store_operation_begin_shared(sb_store *s);
void sb_store_operation_end(sb_store *s);
/* Unresolved intents of other handles are in the log (after a refresh,
 * with the oplock held: of processes that died). */
bool sb_store_foreign_intents(const sb_store *s);

typedef struct sb_store_intent {
    uint64_t id;
    const char *op, *snapshot, *payload; /* borrowed from the store */
    long long time;                      /* when it began, epoch seconds */
    int pid;                             /* process that began it */
} sb_store_intent;

enum sb_store_intent_flags {
    SB_STORE_NOWAIT = 1u << 0 /* busy oplock: SB_ERR_OPERATION_INVALID */
};
/* Unresolved intents of OTHER handles, i.e. of operations that died: takes
 * the oplock (so no live operation is mistaken for a dead one; this handle
 * keeps holding it until close or its own intents end), refreshes, and
 * lists.  *out is malloc'd (free() it); the strings are borrowed until the
 * next reload.  Not inside a transaction. */
int sb_store_pending_intents(sb_store *s, unsigned flags, sb_store_intent **out, size_t *n);

/* ---- maintenance ---- */
/* Rewrite the log as the live state only (temp file, fsync, rename,
 * directory fsync).  Not inside a transaction. */
int sb_store_compact(sb_store *s);
/* For a damaged store: keep the damaged log as snapshots.log.damaged-<time>
 * and write the loaded state as a fresh log.  Clears the damage. */
int sb_store_repair(sb_store *s);

/* False for a read-only (or NO_CREATE) handle of a store that does not
 * exist (yet): its open created nothing and the tree is empty. */
bool sb_store_on_disk(const sb_store *s);
/* The domain is gone: remove its store (files and directory) when it
 * holds nothing - no snapshot, no unresolved intent, no damage; else keep
 * it.  Needs the operation lock (sb_store_operation_begin); afterwards
 * only close is useful.  A process waiting for this store's exclusive
 * lock meanwhile gets OPERATION_INVALID (sb_fs_lock), never a write into
 * the removed files. */
int sb_store_remove(sb_store *s);
/* True when this handle's files were removed since it opened them (by
 * sb_store_remove in some process): reopen. */
bool sb_store_removed(const sb_store *s);

/* Verify invariants: the log re-read from disk has valid checksums and
 * decodes, every parent exists, no cycles, child counts and leaf list
 * agree, at most one current, current exists.  *report (malloc'd, may be
 * NULL) gets one line per finding, or "ok\n".  Returns 0 when clean, else
 * -SB_ERR_STORE with the first finding as the message. */
int sb_store_check(sb_store *s, char **report);

#endif
