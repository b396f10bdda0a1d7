/* Snapshot tree: hash, links, relations and mutations (docs/semantics.md
 * §5, §6; docs/store.md, "Tree semantics").  Listing is in tree_list.c,
 * loading in tree_load.c. */
#include "store/tree_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/bigmem.h"

#define MIN_BUCKETS 64

uint64_t sb_tree__hash(const char *s)
{
    /* FNV-1a: names are short, and an attacker who can pick snapshot names
     * can already fill the store, so a keyed hash buys nothing here. */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

sb_tree *sb_tree_new(void)
{
    sb_tree *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->buckets = calloc(MIN_BUCKETS, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->nbuckets = MIN_BUCKETS;
    return t;
}

/* The first chunks are malloc'd (a small tree stays small: the fleet view
 * opens hundreds of them); a tree that outgrows them takes its nodes in
 * 2 MiB blocks, each one fault to fill instead of 512 (bigmem.h). */
#define FIRST_CHUNK_NODES 256
#define SMALL_CHUNK_NODES 1024
#define SMALL_CHUNKS 2

static int chunk_add(sb_tree *t)
{
    if (t->nchunks == t->cap_chunks) {
        size_t cap = t->cap_chunks ? t->cap_chunks * 2 : 8;
        struct sb_tree_chunk *c = realloc(t->chunks, cap * sizeof(*c));
        if (!c)
            return -1;
        t->chunks = c;
        t->cap_chunks = cap;
    }
    struct sb_tree_chunk c = { NULL, t->nchunks ? SMALL_CHUNK_NODES : FIRST_CHUNK_NODES, false };
    if (t->nchunks >= SMALL_CHUNKS) {
        c.n = SB_BIG_PAGE / sizeof(sb_tree_node);
        c.nodes = sb_big_alloc(c.n * sizeof(sb_tree_node));
        c.big = c.nodes != NULL;
    }
    if (!c.nodes) {
        c.n = t->nchunks ? SMALL_CHUNK_NODES : FIRST_CHUNK_NODES;
        if (!(c.nodes = malloc(c.n * sizeof(sb_tree_node))))
            return -1;
    }
    t->chunks[t->nchunks++] = c;
    t->chunk_used = 0;
    return 0;
}

static sb_tree_node *node_alloc(sb_tree *t)
{
    sb_tree_node *n = t->free_nodes;
    if (n) {
        t->free_nodes = n->hash_next;
    } else {
        if ((t->nchunks == 0 || t->chunk_used == t->chunks[t->nchunks - 1].n) &&
            chunk_add(t) < 0)
            return NULL;
        n = &t->chunks[t->nchunks - 1].nodes[t->chunk_used++];
    }
    memset(n, 0, sizeof(*n));
    return n;
}

static void chunks_free(sb_tree *t)
{
    for (size_t i = 0; i < t->nchunks; i++) {
        if (t->chunks[i].big)
            sb_big_free(t->chunks[i].nodes, t->chunks[i].n * sizeof(sb_tree_node));
        else
            free(t->chunks[i].nodes);
    }
    free(t->chunks);
}

/* Buckets of at least this many bytes come from sb_big_alloc (zeroed). */
#define BIG_BUCKETS_BYTES ((size_t)128 << 10)

static sb_tree_node **buckets_new(size_t nb, bool *big)
{
    *big = nb * sizeof(sb_tree_node *) >= BIG_BUCKETS_BYTES;
    sb_tree_node **b = *big ? sb_big_alloc(nb * sizeof(*b)) : NULL;
    if (!b) {
        *big = false;
        b = calloc(nb, sizeof(*b));
    }
    return b;
}

static void buckets_free(sb_tree_node **b, size_t nb, bool big)
{
    if (big)
        sb_big_free(b, nb * sizeof(*b));
    else
        free(b);
}

void sb_tree__node_free(sb_tree *t, sb_tree_node *n)
{
    if (!n)
        return;
    if (!n->name_borrowed)
        free(n->name);
    if (!n->xml_borrowed)
        free(n->xml);
    free(n->pending_parent);
    n->name = n->xml = n->pending_parent = NULL;
    n->hash_next = t->free_nodes;
    t->free_nodes = n;
}

/* Names pooled for .borrow snapshots: allocated in chunks of this size
 * (a longer name gets a chunk of its own). */
#define POOL_CHUNK (64u << 10)

static char *pool_strdup(sb_tree *t, const char *s)
{
    size_t n = strlen(s) + 1;
    if (!t->pool || n > t->pool_cap - t->pool_used) {
        size_t cap = n > POOL_CHUNK ? n : POOL_CHUNK;
        char *c = malloc(sizeof(char *) + cap);
        if (!c)
            return NULL;
        memcpy(c, &t->pool, sizeof(char *)); /* link to the previous chunk */
        t->pool = c;
        t->pool_cap = cap;
        t->pool_used = 0;
    }
    char *d = t->pool + sizeof(char *) + t->pool_used;
    memcpy(d, s, n);
    t->pool_used += n;
    return d;
}

static void pool_free(sb_tree *t)
{
    while (t->pool) {
        char *prev;
        memcpy(&prev, t->pool, sizeof(char *));
        free(t->pool);
        t->pool = prev;
    }
}

void sb_tree_adopt_arena(sb_tree *t, void *base, size_t len,
                         void (*release)(void *base, size_t len))
{
    t->arena = base;
    t->arena_len = len;
    t->arena_release = release;
}

void sb_tree_free(sb_tree *t)
{
    if (!t)
        return;
    for (sb_tree_node *n = t->all_head; n; n = n->all_next) {
        if (!n->name_borrowed)
            free(n->name);
        if (!n->xml_borrowed)
            free(n->xml);
        free(n->pending_parent);
    }
    if (t->arena_release)
        t->arena_release(t->arena, t->arena_len);
    pool_free(t);
    chunks_free(t);
    sb_strlist_free(&t->warnings);
    buckets_free(t->buckets, t->nbuckets, t->buckets_big);
    free(t);
}

/* ---------------------------------------------------------------- hash */

/* Move every node into nb buckets (a power of two). */
static int rehash(sb_tree *t, size_t nb)
{
    bool big;
    sb_tree_node **b = buckets_new(nb, &big);
    if (!b)
        return sb_error_oom();
    for (size_t i = 0; i < t->nbuckets; i++) {
        sb_tree_node *n = t->buckets[i];
        while (n) {
            sb_tree_node *next = n->hash_next;
            size_t k = (size_t)n->hash & (nb - 1);
            n->hash_next = b[k];
            b[k] = n;
            n = next;
        }
    }
    buckets_free(t->buckets, t->nbuckets, t->buckets_big);
    t->buckets = b;
    t->nbuckets = nb;
    t->buckets_big = big;
    return 0;
}

/* Make room for one more node: double the buckets when the load factor
 * would exceed 1, so chains stay O(1) long on average. */
int sb_tree__reserve(sb_tree *t)
{
    if (t->count + 1 <= t->nbuckets)
        return 0;
    return rehash(t, t->nbuckets * 2);
}

void sb_tree_expect(sb_tree *t, size_t nodes)
{
    size_t nb = t->nbuckets;
    while (nb < nodes && nb <= SIZE_MAX / 4 / sizeof(*t->buckets))
        nb *= 2;
    if (nb > t->nbuckets && rehash(t, nb) < 0)
        sb_error_clear();
}

sb_tree_node *sb_tree_lookup(const sb_tree *t, const char *name)
{
    if (!name)
        return NULL;
    uint64_t h = sb_tree__hash(name);
    for (sb_tree_node *n = t->buckets[(size_t)h & (t->nbuckets - 1)]; n; n = n->hash_next)
        if (n->hash == h && strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

int sb_tree_get(const sb_tree *t, const char *name, sb_tree_node **out)
{
    sb_tree_node *n = sb_tree_lookup(t, name);
    if (!n)
        return sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT,
                            "no domain snapshot with matching name '%s'", name ? name : "(null)");
    *out = n;
    return 0;
}

static void leaf_add(sb_tree *t, sb_tree_node *n)
{
    n->leaf_next = NULL;
    n->leaf_prev = t->leaf_tail;
    if (t->leaf_tail)
        t->leaf_tail->leaf_next = n;
    else
        t->leaf_head = n;
    t->leaf_tail = n;
    t->nleaves++;
}

static void leaf_del(sb_tree *t, sb_tree_node *n)
{
    if (n->leaf_prev)
        n->leaf_prev->leaf_next = n->leaf_next;
    else
        t->leaf_head = n->leaf_next;
    if (n->leaf_next)
        n->leaf_next->leaf_prev = n->leaf_prev;
    else
        t->leaf_tail = n->leaf_prev;
    n->leaf_prev = n->leaf_next = NULL;
    t->nleaves--;
}

/* The caller guarantees the name is new and has grown the buckets. */
void sb_tree__insert(sb_tree *t, sb_tree_node *n)
{
    size_t k = (size_t)n->hash & (t->nbuckets - 1);
    n->hash_next = t->buckets[k];
    t->buckets[k] = n;
    n->all_next = NULL;
    n->all_prev = t->all_tail;
    if (t->all_tail)
        t->all_tail->all_next = n;
    else
        t->all_head = n;
    t->all_tail = n;
    t->count++;
    if (n->nchildren == 0)
        leaf_add(t, n);
}

static void hash_remove(sb_tree *t, sb_tree_node *n)
{
    sb_tree_node **pp = &t->buckets[(size_t)n->hash & (t->nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->hash_next;
    *pp = n->hash_next;
    if (n->all_prev)
        n->all_prev->all_next = n->all_next;
    else
        t->all_head = n->all_next;
    if (n->all_next)
        n->all_next->all_prev = n->all_prev;
    else
        t->all_tail = n->all_prev;
    if (n->nchildren == 0)
        leaf_del(t, n);
    t->count--;
}

/* ---------------------------------------------------------------- links */

/* The node's XML or parent changed: what was learnt about them is gone
 * (hint) and it gets a version no node of this process had
 * (sb_tree_node_version; atomic: every tree of the process counts). */
static void node_changed(sb_tree_node *n)
{
    static uint64_t last_version;
    n->hint = 0;
    n->version = __atomic_add_fetch(&last_version, 1, __ATOMIC_RELAXED);
}

/* Prepend n to parent's children: newest first, as libvirt. */
void sb_tree__link(sb_tree *t, sb_tree_node *n, sb_tree_node *parent)
{
    if (parent != &t->metaroot && parent->nchildren == 0)
        leaf_del(t, parent);
    n->parent = parent;
    node_changed(n);
    n->prev_sibling = NULL;
    n->next_sibling = parent->first_child;
    if (parent->first_child)
        parent->first_child->prev_sibling = n;
    else
        parent->last_child = n;
    parent->first_child = n;
    parent->nchildren++;
}

void sb_tree__unlink(sb_tree *t, sb_tree_node *n)
{
    sb_tree_node *p = n->parent;
    if (!p)
        return;
    if (n->prev_sibling)
        n->prev_sibling->next_sibling = n->next_sibling;
    else
        p->first_child = n->next_sibling;
    if (n->next_sibling)
        n->next_sibling->prev_sibling = n->prev_sibling;
    else
        p->last_child = n->prev_sibling;
    n->prev_sibling = n->next_sibling = NULL;
    n->parent = NULL;
    p->nchildren--;
    if (p != &t->metaroot && p->nchildren == 0)
        leaf_add(t, p);
}

bool sb_tree__is_ancestor(const sb_tree_node *anc, const sb_tree_node *n)
{
    for (const sb_tree_node *p = n; p; p = p->parent)
        if (p == anc)
            return true;
    return false;
}

sb_tree_node *sb_tree__node_new(sb_tree *t, const sb_tree_snapshot *s)
{
    sb_tree_node *n = node_alloc(t);
    if (!n)
        return NULL;
    if (s->borrow) {
        n->name = pool_strdup(t, s->name);
        n->xml = (char *)s->xml;
        n->name_borrowed = n->xml_borrowed = true;
    } else {
        n->name = strdup(s->name);
        n->xml = s->xml ? strdup(s->xml) : NULL;
    }
    if (!n->name || (s->xml && !n->xml)) {
        sb_tree__node_free(t, n);
        return NULL;
    }
    n->hash = sb_tree__hash(n->name);
    node_changed(n);
    n->state = s->state;
    n->external = s->external;
    n->creation_time = s->creation_time;
    return n;
}

/* Replace the data of an existing node; NULL xml keeps the old one. */
int sb_tree__replace_xml(sb_tree_node *n, const char *xml)
{
    char *x = NULL;
    if (xml && !(x = strdup(xml)))
        return sb_error_oom();
    if (!n->xml_borrowed)
        free(n->xml);
    n->xml = x;
    n->xml_borrowed = false;
    node_changed(n);
    return 0;
}

int sb_tree__set_data(sb_tree_node *n, const sb_tree_snapshot *s)
{
    if (s->xml && s->borrow) {
        if (!n->xml_borrowed)
            free(n->xml);
        n->xml = (char *)s->xml;
        n->xml_borrowed = true;
        node_changed(n);
    } else if (s->xml) {
        int rc = sb_tree__replace_xml(n, s->xml);
        if (rc < 0)
            return rc;
    }
    n->state = s->state;
    n->external = s->external;
    n->creation_time = s->creation_time;
    return 0;
}

static int check_name(const char *name)
{
    if (!name || !*name)
        return sb_error_set(SB_ERR_INVALID_ARG, "snapshot name must not be empty");
    return 0;
}

/* -------------------------------------------------------- simple getters */

size_t sb_tree_count(const sb_tree *t) { return t->count; }
size_t sb_tree_num_leaves(const sb_tree *t) { return t->nleaves; }
size_t sb_tree_num_roots(const sb_tree *t) { return t->metaroot.nchildren; }
sb_tree_node *sb_tree_current(const sb_tree *t) { return t->current; }
sb_tree_node *sb_tree_first_root(const sb_tree *t) { return t->metaroot.first_child; }
const char *sb_tree_node_name(const sb_tree_node *n) { return n->name; }
sb_tree_node *sb_tree_node_first_child(const sb_tree_node *n) { return n->first_child; }
sb_tree_node *sb_tree_node_next_sibling(const sb_tree_node *n) { return n->next_sibling; }
size_t sb_tree_node_num_children(const sb_tree_node *n) { return n->nchildren; }
int sb_tree_node_state(const sb_tree_node *n) { return n->state; }
bool sb_tree_node_external(const sb_tree_node *n) { return n->external; }
long long sb_tree_node_creation_time(const sb_tree_node *n) { return n->creation_time; }
const char *sb_tree_node_xml(const sb_tree_node *n) { return n->xml; }
unsigned sb_tree_node_hint(const sb_tree_node *n) { return n->hint; }
uint64_t sb_tree_node_version(const sb_tree_node *n) { return n->version; }
void sb_tree_node_set_hint(const sb_tree_node *n, unsigned hint)
{
    ((sb_tree_node *)n)->hint = (unsigned char)hint; /* a cache: every node is mutable */
}

sb_tree_node *sb_tree_node_parent(const sb_tree_node *n)
{
    /* the metaroot is the only node without a name */
    return (n->parent && n->parent->name) ? n->parent : NULL;
}

bool sb_tree_node_is_current(const sb_tree *t, const sb_tree_node *n)
{
    return t->current == n;
}

int sb_tree_set_current(sb_tree *t, const char *name)
{
    if (!name) {
        t->current = NULL;
        return 0;
    }
    sb_tree_node *n = NULL;
    int rc = sb_tree_get(t, name, &n);
    if (rc < 0)
        return rc;
    t->current = n;
    return 0;
}

/* ------------------------------------------------------------ mutations */

static int resolve_parent(const sb_tree *t, const sb_tree_snapshot *s, sb_tree_node **out)
{
    if (!s->parent) {
        *out = (sb_tree_node *)&t->metaroot;
        return 0;
    }
    sb_tree_node *p = sb_tree_lookup(t, s->parent);
    if (!p)
        return sb_error_set(SB_ERR_INVALID_ARG, "parent %s for snapshot %s not found",
                            s->parent, s->name);
    *out = p;
    return 0;
}

static int add_node(sb_tree *t, const sb_tree_snapshot *s, sb_tree_node *parent,
                    sb_tree_node **out)
{
    int rc = sb_tree__reserve(t);
    if (rc < 0)
        return rc;
    sb_tree_node *n = sb_tree__node_new(t, s);
    if (!n)
        return sb_error_oom();
    sb_tree__insert(t, n);
    sb_tree__link(t, n, parent);
    if (out)
        *out = n;
    return 0;
}

int sb_tree_add(sb_tree *t, const sb_tree_snapshot *s, sb_tree_node **out)
{
    int rc = check_name(s->name);
    if (rc < 0)
        return rc;
    if (sb_tree_lookup(t, s->name))
        return sb_error_set(SB_ERR_OPERATION_FAILED, "snapshot '%s' already exists", s->name);
    if (s->parent && strcmp(s->parent, s->name) == 0)
        return sb_error_set(SB_ERR_INVALID_ARG, "cannot set snapshot %s as its own parent",
                            s->name);
    sb_tree_node *parent = NULL;
    rc = resolve_parent(t, s, &parent);
    if (rc < 0)
        return rc;
    return add_node(t, s, parent, out);
}

static bool is_online(int state)
{
    return state == SB_STATE_RUNNING || state == SB_STATE_PAUSED;
}

int sb_tree_redefine_check(const sb_tree *t, const sb_tree_snapshot *s)
{
    int rc = check_name(s->name);
    if (rc < 0)
        return rc;
    if (s->parent && strcmp(s->parent, s->name) == 0)
        return sb_error_set(SB_ERR_INVALID_ARG, "cannot set snapshot %s as its own parent",
                            s->name);
    sb_tree_node *parent = NULL;
    rc = resolve_parent(t, s, &parent);
    if (rc < 0)
        return rc;
    sb_tree_node *other = sb_tree_lookup(t, s->name);
    if (!other)
        return 0; /* a new node has no descendants: no cycle possible */
    /* The proposed parent must not be a descendant of this snapshot.
     * O(depth of the parent), like libvirt's walk up the parent names --
     * except when the parent does not change (the common re-redefine),
     * which cannot create a cycle: then O(1), so redefining a whole chain
     * again is linear, not quadratic. */
    if (parent != &t->metaroot && parent != other->parent &&
        sb_tree__is_ancestor(other, parent)) {
        /* libvirt names the ancestor of the new parent whose own parent is
         * this snapshot (the last step of its walk up). */
        const sb_tree_node *step = parent;
        while (step->parent != other)
            step = step->parent;
        return sb_error_set(SB_ERR_INVALID_ARG, "parent %s would create cycle to %s",
                            step->name, s->name);
    }
    if (is_online(other->state) != is_online(s->state))
        return sb_error_set(SB_ERR_INVALID_ARG,
                            "cannot change between online and offline snapshot state "
                            "in snapshot %s", s->name);
    if ((other->state == SB_STATE_DISK_SNAPSHOT) != (s->state == SB_STATE_DISK_SNAPSHOT))
        return sb_error_set(SB_ERR_INVALID_ARG,
                            "cannot change between disk only and full system in snapshot %s",
                            s->name);
    return 0;
}

int sb_tree_redefine(sb_tree *t, const sb_tree_snapshot *s, sb_tree_node **out)
{
    int rc = sb_tree_redefine_check(t, s);
    if (rc < 0)
        return rc;
    sb_tree_node *parent = NULL;
    rc = resolve_parent(t, s, &parent);
    if (rc < 0)
        return rc;
    sb_tree_node *n = sb_tree_lookup(t, s->name);
    if (!n)
        return add_node(t, s, parent, out);
    rc = sb_tree__set_data(n, s);
    if (rc < 0)
        return rc;
    /* libvirt drops and rebuilds the parent link on every redefine, which
     * moves the node to the head (newest) of its siblings. */
    sb_tree__unlink(t, n);
    sb_tree__link(t, n, parent);
    if (out)
        *out = n;
    return 0;
}

int sb_tree_set_xml(sb_tree *t, const char *name, const char *xml)
{
    sb_tree_node *n = NULL;
    int rc = sb_tree_get(t, name, &n);
    if (rc < 0)
        return rc;
    return sb_tree__replace_xml(n, xml);
}

/* Remove n; its children are spliced, in order, at the head of its
 * parent's child list (libvirt's virDomainMomentMoveChildren). */
static void remove_node(sb_tree *t, sb_tree_node *n)
{
    sb_tree_node *p = n->parent;
    if (n->first_child) {
        for (sb_tree_node *c = n->first_child; c; c = c->next_sibling) {
            c->parent = p;
            node_changed(c);
        }
        n->last_child->next_sibling = p->first_child;
        if (p->first_child)
            p->first_child->prev_sibling = n->last_child;
        else
            p->last_child = n->last_child;
        p->first_child = n->first_child;
        p->nchildren += n->nchildren;
        n->first_child = n->last_child = NULL;
        n->nchildren = 0;
        leaf_add(t, n); /* keeps hash_remove's leaf bookkeeping exact */
    }
    if (t->current == n)
        t->current = (p != &t->metaroot) ? p : NULL;
    sb_tree__unlink(t, n);
    hash_remove(t, n);
    sb_tree__node_free(t, n);
}

int sb_tree_remove(sb_tree *t, const char *name)
{
    sb_tree_node *n = NULL;
    int rc = sb_tree_get(t, name, &n);
    if (rc < 0)
        return rc;
    remove_node(t, n);
    return 0;
}

int sb_tree_remove_subtree(sb_tree *t, const char *name, bool include_self)
{
    sb_tree_node *top = NULL;
    int rc = sb_tree_get(t, name, &top);
    if (rc < 0)
        return rc;
    /* Post-order without a stack: descend to a leaf, remove it, continue
     * from its parent.  Each node is visited O(1) times. */
    sb_tree_node *n = top->first_child;
    while (n) {
        if (n->first_child) {
            n = n->first_child;
            continue;
        }
        sb_tree_node *p = n->parent;
        if (t->current == n)
            t->current = top; /* a removed descendant was current: top becomes it */
        remove_node(t, n);
        n = (p == top) ? top->first_child : p;
    }
    if (include_self)
        remove_node(t, top); /* moves current to top's parent if top was current */
    return 0;
}

/* ---------------------------------------------------------------- walks */

sb_tree_node *sb_tree_walk_next(const sb_tree *t, const sb_tree_node *top,
                                const sb_tree_node *n)
{
    if (!top)
        top = &t->metaroot;
    if (!n)
        return top->first_child;
    if (n->first_child)
        return n->first_child;
    while (n != top) {
        if (n->next_sibling)
            return n->next_sibling;
        n = n->parent;
    }
    return NULL;
}

sb_tree_node *sb_tree_walk_next_oldest(const sb_tree *t, const sb_tree_node *n)
{
    const sb_tree_node *top = &t->metaroot;
    if (!n)
        return top->last_child;
    if (n->last_child)
        return n->last_child;
    while (n != top) {
        if (n->prev_sibling)
            return n->prev_sibling;
        n = n->parent;
    }
    return NULL;
}

/* ------------------------------------------------------------- warnings */

int sb_tree__warn(sb_tree *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_strlist_addv(&t->warnings, fmt, ap);
    va_end(ap);
    return rc;
}

size_t sb_tree_warnings(const sb_tree *t, const char *const **out)
{
    if (out)
        *out = (const char *const *)t->warnings.v;
    return t->warnings.n;
}

void sb_tree_clear_warnings(sb_tree *t)
{
    sb_strlist_clear(&t->warnings);
}
