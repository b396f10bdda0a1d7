/* Listings and their filters (semantics.md §5.3).  The kit builds a tree
 * whose shape it knows, reads each snapshot's state, location and
 * metadata from the API's own answers (XML, info), and checks every
 * listing against what the filter rules give for that tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

#define MAXN 8

struct node {
    char name[16];
    int parent; /* index, -1 for a root */
    int state;  /* enum sb_snapshot_state */
    int external, meta;
};

struct model {
    struct node v[MAXN];
    int n;
};

static int state_of(const char *word)
{
    for (int s = 0; s <= SB_STATE_DISK_SNAPSHOT; s++)
        if (word && strcmp(word, sb_snapshot_state_name(s)) == 0)
            return s;
    return -1;
}

static int add(struct k *k, struct model *m, const char *name, int parent)
{
    struct node *nd = &m->v[m->n];
    sb_snapshot_info info;
    char *xml = k_get_xml(k, name), *st;

    if (!xml)
        return K_FAIL;
    snprintf(nd->name, sizeof(nd->name), "%s", name);
    nd->parent = parent;
    st = k_xml_field(xml, "state");
    nd->state = state_of(st);
    nd->external = k_xml_external(xml);
    free(xml);
    if (nd->state < 0) {
        int r = k_fail(k, "snapshot %s has state '%s'", name, st ? st : "(none)");
        free(st);
        return r;
    }
    free(st);
    if (sb_snapshot_info_get(&info, k->c, k->dom, name) < 0)
        return k_fail(k, "snapshot info of %s: %s", name, k_errstr());
    nd->meta = info.has_metadata;
    m->n++;
    return K_PASS;
}

/* The branch tree (trees.c), names l1..l5. */
static int build_branch(struct k *k, struct model *m)
{
    static const int parent[] = { -1, 0, 1, 0, 3 };
    char name[8];
    K_TRY(k_build_branch(k, "l"));
    m->n = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "l%d", i + 1);
        K_TRY(add(k, m, name, parent[i]));
    }
    return K_PASS;
}

/* A chain whose snapshots differ in state: m1 shut off, m2 running, and
 * m3 disk-only while running when DISK_ONLY is declared. */
static int build_mixed(struct k *k, struct model *m)
{
    m->n = 0;
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create(k, "m1", 0));
    K_TRY(add(k, m, "m1", -1));
    K_TRY(k_set_state(k, SB_DOMAIN_RUNNING));
    K_TRY(k_create(k, "m2", 0));
    K_TRY(add(k, m, "m2", 0));
    if (k->caps.create_flags & SB_SNAPSHOT_CREATE_DISK_ONLY) {
        K_TRY(k_create(k, "m3", SB_SNAPSHOT_CREATE_DISK_ONLY));
        K_TRY(add(k, m, "m3", 1));
    }
    return k_set_state(k, SB_DOMAIN_SHUTOFF);
}

static int nchildren(const struct model *m, int i)
{
    int c = 0;
    for (int j = 0; j < m->n; j++)
        c += m->v[j].parent == i;
    return c;
}

static int below(const struct model *m, int i, int top)
{
    for (int p = m->v[i].parent; p >= 0; p = m->v[p].parent)
        if (p == top)
            return 1;
    return 0;
}

static int keep(const struct model *m, int i, int from, unsigned f)
{
    const struct node *nd = &m->v[i];
    int leaf = nchildren(m, i) == 0;

    if (from < 0 && (f & SB_SNAPSHOT_LIST_ROOTS) && nd->parent >= 0)
        return 0;
    if (from >= 0 && !((f & SB_SNAPSHOT_LIST_DESCENDANTS) ? below(m, i, from)
                                                          : nd->parent == from))
        return 0;
    /* leaves: both bits filter both ways, so nothing is left (§5.3) */
    if ((f & SB_SNAPSHOT_LIST_LEAVES) && !leaf)
        return 0;
    if ((f & SB_SNAPSHOT_LIST_NO_LEAVES) && leaf)
        return 0;
    unsigned meta = f & SB_SNAPSHOT_FILTERS_METADATA;
    if (meta == SB_SNAPSHOT_LIST_METADATA && !nd->meta)
        return 0;
    if (meta == SB_SNAPSHOT_LIST_NO_METADATA && nd->meta)
        return 0;
    if (f & SB_SNAPSHOT_FILTERS_STATUS) {
        unsigned want = nd->state == SB_STATE_SHUTOFF         ? SB_SNAPSHOT_LIST_INACTIVE
                        : nd->state == SB_STATE_DISK_SNAPSHOT ? SB_SNAPSHOT_LIST_DISK_ONLY
                                                              : SB_SNAPSHOT_LIST_ACTIVE;
        if (!(f & want))
            return 0;
    }
    unsigned loc = f & SB_SNAPSHOT_FILTERS_LOCATION;
    if (loc == SB_SNAPSHOT_LIST_INTERNAL && nd->external)
        return 0;
    if (loc == SB_SNAPSHOT_LIST_EXTERNAL && !nd->external)
        return 0;
    return 1;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void expected(const struct model *m, int from, unsigned f, char *out, size_t len)
{
    const char *names[MAXN];
    int n = 0;
    for (int i = 0; i < m->n; i++)
        if (keep(m, i, from, f))
            names[n++] = m->v[i].name;
    qsort(names, (size_t)n, sizeof(names[0]), cmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", names[i]);
}

static int index_of(const struct model *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->v[i].name, name) == 0)
            return i;
    return -1;
}

/* One listing against the model, and its count against the listing. */
static int check(struct k *k, const struct model *m, const char *from, unsigned f)
{
    char want[256];
    size_t n = 0;

    expected(m, from ? index_of(m, from) : -1, f, want, sizeof(want));
    K_TRY(k_list_is(k, from, f, want));
    if (sb_snapshot_count(&n, k->c, k->dom, from, f) < 0)
        return k_fail(k, "counting with flags %s: %s",
                      k_flags(from ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST, f), k_errstr());
    size_t words = want[0] ? 1 : 0;
    for (const char *p = want; *p; p++)
        words += *p == ' ';
    if (n != words)
        return k_fail(k, "count with flags %s is %zu, the listing has %zu",
                      k_flags(from ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST, f), n, words);
    return K_PASS;
}

/* Parents come before their children in the listing. */
static int check_topological(struct k *k, const struct model *m, const char *from, unsigned f)
{
    char **names = NULL;
    size_t n = 0;
    int r = K_PASS;

    K_TRY(check(k, m, from, f));
    if (sb_snapshot_list(&names, &n, k->c, k->dom, from, f) < 0)
        return k_fail(k, "listing with flags %s: %s",
                      k_flags(from ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST, f), k_errstr());
    for (size_t i = 0; i < n && r == K_PASS; i++) {
        int me = index_of(m, names[i]);
        for (size_t j = i + 1; me >= 0 && j < n && r == K_PASS; j++)
            if (index_of(m, names[j]) == m->v[me].parent)
                r = k_fail(k, "%s is listed before its parent %s (flags %s)", names[i],
                           names[j], k_flags(from ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST, f));
    }
    sb_names_free(names, n);
    return r;
}

/* A plugin may have no listing from a snapshot at all (VirtualBox). */
static int children_listing(struct k *k, const char *from)
{
    char **names = NULL;
    size_t n = 0;
    int rc = sb_snapshot_list(&names, &n, k->c, k->dom, from, 0);
    sb_names_free(names, n);
    if (rc == -SB_ERR_NO_SUPPORT)
        return k_skip(k, "the plugin cannot list from a snapshot (NO_SUPPORT)");
    return K_PASS;
}

static int branch_list(struct k *k, const struct k_scenario *s)
{
    struct model m;
    K_TRY(build_branch(k, &m));
    if (s->sarg)
        K_TRY(children_listing(k, s->sarg));
    if (s->arg & SB_SNAPSHOT_LIST_TOPOLOGICAL)
        return check_topological(k, &m, s->sarg, s->arg);
    return check(k, &m, s->sarg, s->arg);
}

static int mixed_list(struct k *k, const struct k_scenario *s)
{
    struct model m;
    K_TRY(build_mixed(k, &m));
    return check(k, &m, s->sarg, s->arg);
}

/* Every combination of the declared filter bits, at the domain level and
 * from l1 and l4 (with and without DESCENDANTS). */
static int combinations(struct k *k, const struct k_scenario *s)
{
    unsigned bits[16], nb = 0;
    unsigned mask = k->caps.list_flags & (SB_SNAPSHOT_FILTERS_ALL | SB_SNAPSHOT_LIST_ROOTS);
    const char *froms[] = { NULL, "l1", "l4" };
    struct model m;
    (void)s;
    K_TRY(build_branch(k, &m));
    for (unsigned b = 1; b; b <<= 1)
        if (mask & b)
            bits[nb++] = b;
    for (unsigned combo = 0; combo < (1u << nb); combo++) {
        unsigned f = 0;
        for (unsigned i = 0; i < nb; i++)
            if (combo & (1u << i))
                f |= bits[i];
        for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
            int r = check(k, &m, froms[i], f);
            if (r != K_PASS && froms[i] && sb_error_last()->code == SB_ERR_NO_SUPPORT)
                break; /* no children listing at all: the domain level was checked */
            K_TRY(r);
        }
    }
    return K_PASS;
}

static int empty_domain(struct k *k, const struct k_scenario *s)
{
    (void)s;
    return k_list_is(k, NULL, 0, "");
}

static int from_missing(struct k *k, const struct k_scenario *s)
{
    static const int classes[] = { SB_ERR_NO_DOMAIN_SNAPSHOT, SB_ERR_OPERATION_INVALID,
                                   SB_ERR_NO_SUPPORT, 0 };
    char **names = NULL;
    size_t n = 0;
    (void)s;
    K_TRY(k_create(k, "l1", 0));
    int rc = sb_snapshot_list(&names, &n, k->c, k->dom, "nosuch", 0);
    sb_names_free(names, n);
    return k_err_in(k, rc, classes, "listing from a snapshot that does not exist");
}

static int list_info(struct k *k, const struct k_scenario *s)
{
    char **names = NULL;
    sb_snapshot_info *info = NULL;
    size_t n = 0;
    int r = K_PASS;
    (void)s;
    K_TRY(k_build_branch(k, "l"));
    if (sb_snapshot_list_info(&names, &info, &n, k->c, k->dom, NULL, 0) < 0)
        return k_fail(k, "listing with info: %s", k_errstr());
    for (size_t i = 0; i < n && r == K_PASS; i++) {
        sb_snapshot_info one;
        if (sb_snapshot_info_get(&one, k->c, k->dom, names[i]) < 0)
            r = k_fail(k, "snapshot info of %s: %s", names[i], k_errstr());
        else if (one.state != info[i].state || one.is_current != info[i].is_current ||
                 one.children != info[i].children || one.descendants != info[i].descendants ||
                 strcmp(one.parent, info[i].parent) != 0 ||
                 one.creation_time != info[i].creation_time)
            r = k_fail(k, "the listing's info of %s differs from snapshot-info", names[i]);
    }
    sb_names_free(names, n);
    free(info);
    if (r == K_PASS && n != 5)
        r = k_fail(k, "the listing with info has %zu snapshots; expected 5", n);
    return r;
}

#define L(flag) SB_SNAPSHOT_LIST_##flag
#define B(id, rule, flags, from) \
    { "LIST-" id, "5.3", rule, { .list = (flags) & ~(unsigned)L(TOPOLOGICAL) }, branch_list, \
      (flags), 0, from }
#define BT(id, rule, flags, from) \
    { "LIST-" id, "5.3", rule, { .list = (flags) }, branch_list, (flags), 0, from }
#define MX(id, rule, flags) \
    { "LIST-" id, "5.3", rule, { .list = (flags), .ops = K_OPS_RUN }, mixed_list, (flags), 0, \
      NULL }

static const struct k_scenario scenarios[] = {
    { "LIST-EMPTY", "5.3", "a domain without snapshots lists nothing", { 0 }, empty_domain },
    B("ALL", "no flags: every snapshot of the domain", 0, NULL),
    B("ROOTS", "LIST_ROOTS: only snapshots without a parent", L(ROOTS), NULL),
    B("LEAVES", "LIST_LEAVES: only snapshots without children", L(LEAVES), NULL),
    B("NO-LEAVES", "LIST_NO_LEAVES: only snapshots with children", L(NO_LEAVES), NULL),
    B("LEAVES-BOTH", "LIST_LEAVES with LIST_NO_LEAVES lists nothing",
      L(LEAVES) | L(NO_LEAVES), NULL),
    B("ROOTS-LEAVES", "LIST_ROOTS with LIST_LEAVES: roots without children",
      L(ROOTS) | L(LEAVES), NULL),
    B("ROOTS-NO-LEAVES", "LIST_ROOTS with LIST_NO_LEAVES: roots with children",
      L(ROOTS) | L(NO_LEAVES), NULL),
    B("METADATA", "LIST_METADATA: snapshots that have metadata (has_metadata 1)", L(METADATA),
      NULL),
    B("NO-METADATA", "LIST_NO_METADATA: snapshots without metadata (has_metadata 0)",
      L(NO_METADATA), NULL),
    B("METADATA-BOTH", "LIST_METADATA with LIST_NO_METADATA filters nothing",
      L(METADATA) | L(NO_METADATA), NULL),
    B("INTERNAL", "LIST_INTERNAL: snapshots without external files", L(INTERNAL), NULL),
    B("EXTERNAL", "LIST_EXTERNAL: snapshots with external files", L(EXTERNAL), NULL),
    B("LOCATION-BOTH", "LIST_INTERNAL with LIST_EXTERNAL filters nothing",
      L(INTERNAL) | L(EXTERNAL), NULL),
    BT("TOPOLOGICAL", "LIST_TOPOLOGICAL lists every snapshot, parents before children",
       L(TOPOLOGICAL), NULL),
    BT("ROOTS-TOPOLOGICAL", "LIST_ROOTS with LIST_TOPOLOGICAL: the roots",
       L(ROOTS) | L(TOPOLOGICAL), NULL),
    B("CHILDREN", "from a snapshot: its direct children", 0, "l1"),
    B("CHILDREN-OF-LEAF", "from a leaf: nothing", 0, "l3"),
    B("DESCENDANTS", "from a snapshot with LIST_DESCENDANTS: every descendant",
      L(DESCENDANTS), "l1"),
    B("CHILDREN-LEAVES", "from a snapshot with LIST_LEAVES: its children without children",
      L(LEAVES), "l1"),
    B("DESCENDANTS-LEAVES", "LIST_DESCENDANTS with LIST_LEAVES: descendant leaves",
      L(DESCENDANTS) | L(LEAVES), "l1"),
    B("DESCENDANTS-NO-LEAVES", "LIST_DESCENDANTS with LIST_NO_LEAVES: descendants with "
      "children", L(DESCENDANTS) | L(NO_LEAVES), "l1"),
    BT("DESCENDANTS-TOPOLOGICAL", "LIST_DESCENDANTS with LIST_TOPOLOGICAL: parents first",
       L(DESCENDANTS) | L(TOPOLOGICAL), "l1"),
    MX("INACTIVE", "LIST_INACTIVE: snapshots of a shut-off domain", L(INACTIVE)),
    MX("ACTIVE", "LIST_ACTIVE: snapshots of a running domain with memory", L(ACTIVE)),
    MX("DISK-ONLY", "LIST_DISK_ONLY: disk-only snapshots of a running domain", L(DISK_ONLY)),
    MX("STATUS-TWO", "LIST_INACTIVE with LIST_ACTIVE: either",
       L(INACTIVE) | L(ACTIVE)),
    MX("STATUS-ALL", "all three status filters together filter nothing",
       L(INACTIVE) | L(ACTIVE) | L(DISK_ONLY)),
    { "LIST-COMBINATIONS", "5.3",
      "every combination of the declared filters, from the domain and from snapshots, "
      "gives what the rules give, and the count agrees",
      { 0 }, combinations },
    { "LIST-FROM-MISSING", "5.3",
      "listing from a snapshot that does not exist is refused (NO_DOMAIN_SNAPSHOT)", { 0 },
      from_missing },
    { "LIST-INFO", "5.5",
      "the listing with info agrees with snapshot-info for every snapshot", { 0 },
      list_info },
};

const struct k_family k_family_list = { "list", scenarios,
                                        sizeof(scenarios) / sizeof(scenarios[0]) };
