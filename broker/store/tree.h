/* In-memory snapshot tree of one domain (libvirt's moment tree, docs/semantics.md §5).
 *
 * Structure: a hash by name, an invisible metaroot that is the parent of
 * every root, per node a doubly linked child list with the NEWEST child
 * first (children are prepended, as libvirt does), a child count, and at
 * most one current snapshot.  Two more intrusive lists make the common
 * queries O(result): all nodes in insertion order (the "hash walk" of
 * libvirt) and all leaves.
 *
 * Nothing here recurses: every walk follows parent/sibling pointers, so a
 * 100k-deep chain costs no C stack.
 *
 * Ownership: the tree owns every node and every string in a node.  Strings
 * passed in are copied.  A node pointer stays valid until that node is
 * removed or the tree is freed; the arrays returned by sb_tree_list() are
 * malloc'd and freed by the caller with free() (the nodes in them are
 * borrowed).  The tree is not thread-safe; the store serialises access.
 *
 * Errors: functions return 0 or -SB_ERR_* and set the thread's error
 * (core/error.h) with libvirt's class and a message naming the snapshot.
 */
#ifndef SB_STORE_TREE_H
#define SB_STORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "snapbroker/flags.h"

typedef struct sb_tree sb_tree;
typedef struct sb_tree_node sb_tree_node;

/* The data of one snapshot as handed to add/redefine.  All pointers are
 * borrowed for the call.  parent NULL = a root.  xml may be NULL (stored
 * as NULL: "no XML"). */
typedef struct sb_tree_snapshot {
    const char *name;
    const char *parent;
    int state;               /* enum sb_snapshot_state */
    bool external;           /* memory or any disk external */
    long long creation_time; /* seconds since the epoch */
    const char *xml;         /* canonical <domainsnapshot> XML, opaque here */
    /* xml points into the tree's arena (sb_tree_adopt_arena) and stays
     * valid as long as the tree: kept as it is instead of copied (a
     * store's full load; saves a copy of every XML, and the load never
     * touches it).  The name is copied into a pool freed with the tree:
     * one small block for all names instead of a malloc each. */
    bool borrow;
} sb_tree_snapshot;

sb_tree *sb_tree_new(void);
void sb_tree_free(sb_tree *t); /* accepts NULL */
/* Give the tree a block of memory that the XML of snapshots added with
 * .borrow points into; release(base, len) runs when the tree is freed.
 * One per tree. */
void sb_tree_adopt_arena(sb_tree *t, void *base, size_t len,
                         void (*release)(void *base, size_t len));

/* ---- lookups and relations: all O(1) ---- */
size_t sb_tree_count(const sb_tree *t);
size_t sb_tree_num_leaves(const sb_tree *t);
size_t sb_tree_num_roots(const sb_tree *t);
/* NULL when there is no such snapshot; never sets an error. */
sb_tree_node *sb_tree_lookup(const sb_tree *t, const char *name);
/* Like lookup, but a missing name is SB_ERR_NO_DOMAIN_SNAPSHOT
 * ("no domain snapshot with matching name 'X'"). */
int sb_tree_get(const sb_tree *t, const char *name, sb_tree_node **out);
/* NULL when there is no current snapshot. */
sb_tree_node *sb_tree_current(const sb_tree *t);
/* name NULL clears the current snapshot.  Unknown name: NO_DOMAIN_SNAPSHOT. */
int sb_tree_set_current(sb_tree *t, const char *name);

const char *sb_tree_node_name(const sb_tree_node *n);
/* NULL for a root (the metaroot is never returned). */
sb_tree_node *sb_tree_node_parent(const sb_tree_node *n);
/* Newest child first; iterate with node_next_sibling.  NULL when none. */
sb_tree_node *sb_tree_node_first_child(const sb_tree_node *n);
sb_tree_node *sb_tree_node_next_sibling(const sb_tree_node *n);
size_t sb_tree_node_num_children(const sb_tree_node *n);
int sb_tree_node_state(const sb_tree_node *n);
bool sb_tree_node_external(const sb_tree_node *n);
long long sb_tree_node_creation_time(const sb_tree_node *n);
const char *sb_tree_node_xml(const sb_tree_node *n); /* borrowed, may be NULL */
/* Eight bits the tree's user may cache about a node's XML (what the
 * broker learnt scanning it); the tree resets them to 0 whenever the
 * node's XML or parent changes, so a non-zero hint is about the current
 * XML and parent. */
unsigned sb_tree_node_hint(const sb_tree_node *n);
void sb_tree_node_set_hint(const sb_tree_node *n, unsigned hint);
/* A number no other node of any tree of this process has had, renewed
 * whenever the node's XML or parent changes (with the hint): two reads of
 * the same version saw the same XML and the same parent, so anything
 * derived from those two alone (the document tree_get_xml gives) may be
 * remembered by it.  Never 0. */
uint64_t sb_tree_node_version(const sb_tree_node *n);
bool sb_tree_node_is_current(const sb_tree *t, const sb_tree_node *n);
/* First root (newest first) / all roots through next_sibling. */
sb_tree_node *sb_tree_first_root(const sb_tree *t);

/* ---- mutations (each is all-or-nothing: validated before it changes
 *      anything, so a failed call leaves the tree as it was) ---- */

/* A new snapshot.  Duplicate name: SB_ERR_OPERATION_FAILED "snapshot 'X'
 * already exists"; parent not found: SB_ERR_INVALID_ARG.  It does NOT
 * become current (creation callers set that explicitly, docs/semantics.md §5.2). */
int sb_tree_add(sb_tree *t, const sb_tree_snapshot *s, sb_tree_node **out);

/* Redefine validation (docs/semantics.md §6.1), without changing
 * anything: parent = self, parent not found, a cycle, and for an existing
 * snapshot an online (running/paused) <-> offline switch or a
 * disk-snapshot <-> full-system switch.  All SB_ERR_INVALID_ARG with
 * libvirt's messages. */
int sb_tree_redefine_check(const sb_tree *t, const sb_tree_snapshot *s);

/* Validate, then add or replace.  Replacing keeps the node (and so its
 * children and current status), replaces its data, and rebuilds the
 * parent link: like libvirt, the node is dropped from its old parent's
 * child list and prepended to the new parent's (even when the parent did
 * not change).  xml NULL on a replacement keeps the old XML (libvirt keeps
 * the stored <domain> when the new definition has none). */
int sb_tree_redefine(sb_tree *t, const sb_tree_snapshot *s, sb_tree_node **out);

/* Replace the XML of an existing snapshot only (no relinking). */
int sb_tree_set_xml(sb_tree *t, const char *name, const char *xml);

/* Delete one snapshot (docs/semantics.md §5.4): its children move to
 * its parent (spliced at the head of the parent's child list, keeping
 * their order), and if it was current its parent becomes current (or
 * none for a root). */
int sb_tree_remove(sb_tree *t, const char *name);

/* Delete all descendants of name; with include_self also name itself
 * (DELETE_CHILDREN), without it name stays (DELETE_CHILDREN_ONLY).
 * Current rules: a current snapshot among the removed descendants makes
 * name current; then, if name itself is removed while current, its parent
 * becomes current.  O(size of the subtree), no recursion. */
int sb_tree_remove_subtree(sb_tree *t, const char *name, bool include_self);

/* ---- listing (docs/semantics.md §5.3, and libvirt 9.0's behaviour) ----
 *
 * from NULL: domain level.  Without ROOTS every snapshot, with ROOTS only
 * the roots.  from a name: its direct children, or with DESCENDANTS (same
 * bit as ROOTS) every descendant.  Filters as libvirt:
 *   leaves   LEAVES keeps childless nodes, NO_LEAVES nodes with children;
 *            both set gives nothing (libvirt 9.0 applies both);
 *   metadata every snapshot has metadata: NO_METADATA alone gives 0
 *            results, METADATA alone or both do not filter;
 *   status   INACTIVE keeps shutoff, DISK_ONLY keeps disk-snapshot, ACTIVE
 *            keeps every other state; no bit or all three: no filter;
 *   location INTERNAL keeps non-external, EXTERNAL keeps external; both
 *            set: no filter.
 * Order: with TOPOLOGICAL (and always for from-snapshot listings) a
 * depth-first walk, parents before children, newest child first.  A
 * domain-level listing without TOPOLOGICAL is in no promised order (today:
 * insertion order, or leaf order for a pure LEAVES listing).
 * Unknown flag bits: SB_ERR_INVALID_ARG; unknown from: NO_DOMAIN_SNAPSHOT.
 *
 * out may be NULL to only count (O(1) for whole-domain, roots, children
 * and leaves counts).  Otherwise *out is a malloc'd array of *n borrowed
 * node pointers followed by a NULL; free() it. */
int sb_tree_list(const sb_tree *t, const char *from, unsigned flags,
                 const sb_tree_node ***out, size_t *n);

/* out[i] = number of descendants of nodes[i] (nodes of t), for all of
 * them in one O(N) walk.  Uses the nodes' scratch space; changes nothing
 * else. */
int sb_tree_count_descendants(const sb_tree *t, const sb_tree_node *const *nodes, size_t n,
                              size_t *out);

/* ---- loading: libvirt's load-time rules ----
 *
 * Lenient put used when replaying stored state: adds or replaces like
 * redefine but never fails on the relation: a parent that is missing, is
 * the snapshot itself or would form a cycle is replaced by "no parent"
 * (the node is attached to the metaroot) and a warning is recorded.
 * Still fails on out-of-memory or an empty name. */
int sb_tree_load_put(sb_tree *t, const sb_tree_snapshot *s);

/* A load about to add about `nodes` snapshots: size the hash table for
 * them at once (no doubling and rehashing on the way).  Only a hint: a
 * wrong guess costs empty buckets or a rehash, never correctness, and out
 * of memory it changes nothing. */
void sb_tree_expect(sb_tree *t, size_t nodes);

/* Bulk loading of independent records (e.g. one metadata file per
 * snapshot, in any order): load_add() stores the node unlinked and
 * remembers its parent name; claims_current marks a record that says it
 * is current (more than one: the last one wins, with a warning).
 * load_finish() links every pending node; a missing parent, self-parent
 * or cycle attaches the node to the metaroot with a warning.  O(N). */
int sb_tree_load_add(sb_tree *t, const sb_tree_snapshot *s, bool claims_current);
int sb_tree_load_finish(sb_tree *t);

/* Warnings collected by the load functions (borrowed, valid until the
 * next load call or sb_tree_free; cleared by sb_tree_clear_warnings). */
size_t sb_tree_warnings(const sb_tree *t, const char *const **out);
void sb_tree_clear_warnings(sb_tree *t);

/* ---- walks for the store ---- */
/* Pre-order successor of n inside the subtree of top (top excluded),
 * newest child first; NULL at the end.  n == NULL starts the walk.
 * top NULL means the whole tree. */
sb_tree_node *sb_tree_walk_next(const sb_tree *t, const sb_tree_node *top,
                                const sb_tree_node *n);
/* The same, but each sibling group OLDEST first: replaying puts in this
 * order (prepending each child) rebuilds exactly the same child order. */
sb_tree_node *sb_tree_walk_next_oldest(const sb_tree *t, const sb_tree_node *n);

/* Check the invariants (hash finds every node, parents exist, child
 * counts, leaf list, no cycle, current exists); one line per problem is
 * written to report.  Returns the number of problems. */
int sb_tree_verify(const sb_tree *t, FILE *report);

#endif
