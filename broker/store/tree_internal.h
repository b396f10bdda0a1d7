/* Private layout of the snapshot tree, shared by tree.c, tree_list.c and
 * tree_load.c only. */
#ifndef SB_STORE_TREE_INTERNAL_H
#define SB_STORE_TREE_INTERNAL_H

#include <stdint.h>

#include "core/strlist.h"
#include "store/tree.h"

struct sb_tree_node {
    /* tree links; parent is &tree->metaroot for a root */
    sb_tree_node *parent;
    sb_tree_node *first_child, *last_child; /* first = newest */
    sb_tree_node *prev_sibling, *next_sibling;
    size_t nchildren;
    /* hash chain */
    sb_tree_node *hash_next;
    uint64_t hash;
    /* all nodes, insertion order */
    sb_tree_node *all_prev, *all_next;
    /* leaves (nchildren == 0), only for real nodes */
    sb_tree_node *leaf_prev, *leaf_next;
    /* data */
    char *name;
    char *xml;
    long long creation_time;
    int state;
    bool external;
    /* sb_tree_node_hint(): the broker's cache about xml; 0 whenever xml or
     * parent changes */
    unsigned char hint;
    /* sb_tree_node_version(): renewed with hint (node_changed) */
    uint64_t version;
    /* name in the tree's name pool / xml in its arena: not freed one by
     * one */
    bool name_borrowed, xml_borrowed;
    /* loader scratch: parent name awaiting load_finish, walk mark */
    char *pending_parent;
    uint32_t mark;
};

/* One block of the node slab: malloc'd, or big (bigmem.h). */
struct sb_tree_chunk {
    sb_tree_node *nodes;
    size_t n;
    bool big;
};

struct sb_tree {
    sb_tree_node metaroot; /* name NULL, never hashed, never a leaf */
    sb_tree_node **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    sb_tree_node *all_head, *all_tail;
    sb_tree_node *leaf_head, *leaf_tail;
    size_t nleaves;
    sb_tree_node *current;
    /* load warnings */
    sb_strlist warnings;
    /* node slab: nodes live in chunks so walks touch dense memory; freed
     * nodes are kept on a free list (linked through hash_next) */
    struct sb_tree_chunk *chunks;
    size_t nchunks, cap_chunks, chunk_used;
    bool buckets_big; /* buckets from sb_big_alloc (bigmem.h) */
    sb_tree_node *free_nodes;
    /* bulk load */
    size_t npending;
    bool pending_current_set;
    sb_tree_node *pending_current;
    /* names of snapshots added with .borrow, copied into chunks freed
     * with the tree (each chunk starts with a pointer to the previous) */
    char *pool;
    size_t pool_used, pool_cap;
    /* sb_tree_adopt_arena */
    void *arena;
    size_t arena_len;
    void (*arena_release)(void *base, size_t len);
};

uint64_t sb_tree__hash(const char *s);
int sb_tree__reserve(sb_tree *t);
sb_tree_node *sb_tree__node_new(sb_tree *t, const sb_tree_snapshot *s);
void sb_tree__node_free(sb_tree *t, sb_tree_node *n);
void sb_tree__insert(sb_tree *t, sb_tree_node *n); /* hash + all list + leaf */
void sb_tree__link(sb_tree *t, sb_tree_node *n, sb_tree_node *parent);
void sb_tree__unlink(sb_tree *t, sb_tree_node *n);
bool sb_tree__is_ancestor(const sb_tree_node *anc, const sb_tree_node *n);
int sb_tree__warn(sb_tree *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_tree__set_data(sb_tree_node *n, const sb_tree_snapshot *s);
/* Replace n's XML with a copy of xml (NULL: none). */
int sb_tree__replace_xml(sb_tree_node *n, const char *xml);

#endif
