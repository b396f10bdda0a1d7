/* Differential test: the same snapshot tree redefined into libvirt 9.0's
 * test:///default driver and into sb_tree, then every one of the 2048 list
 * flag combinations compared, domain-level and from every snapshot (names,
 * order where libvirt promises one, and counts).  This pins §5.3/§9.1 to
 * what libvirt really does rather than to our reading of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tree_helpers.h"

typedef struct fx {
    const char *name, *parent, *state;
    int st;
    bool external;
} fx;

/* both status and location vary; the order of definition fixes the
 * newest-first child order */
static const fx fixture[] = {
    { "r1", NULL, "running", SB_STATE_RUNNING, false },
    { "a", "r1", "shutoff", SB_STATE_SHUTOFF, false },
    { "b", "r1", "running", SB_STATE_RUNNING, false },
    { "a1", "a", "disk-snapshot", SB_STATE_DISK_SNAPSHOT, true },
    { "a2", "a", "paused", SB_STATE_PAUSED, true },
    { "a3", "a", "shutoff", SB_STATE_SHUTOFF, true },
    { "r2", NULL, "shutoff", SB_STATE_SHUTOFF, true },
    { "r2x", "r2", "running", SB_STATE_RUNNING, false },
};
#define NFX (sizeof(fixture) / sizeof(fixture[0]))

static virConnectPtr conn;
static virDomainPtr dom;
static sb_tree *t;

static void quiet(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e;
}

static int setup(void **state)
{
    (void)state;
    virSetErrorFunc(NULL, quiet);
    conn = virConnectOpen("test:///default");
    if (!conn)
        return -1;
    dom = virDomainLookupByName(conn, "test");
    char *dxml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    t = sb_tree_new();
    for (size_t i = 0; i < NFX; i++) {
        const fx *f = &fixture[i];
        char *x = NULL;
        char parent[128] = "";
        if (f->parent)
            snprintf(parent, sizeof(parent), "<parent><name>%s</name></parent>", f->parent);
        const char *disks = f->external ? "<disks><disk name='vda' snapshot='external'>"
                                          "<source file='/guest/ext.img'/></disk></disks>"
                                        : "";
        if (asprintf(&x, "<domainsnapshot><name>%s</name><state>%s</state>%s"
                         "<creationTime>1000</creationTime>%s%s</domainsnapshot>",
                     f->name, f->state, parent, disks, dxml) < 0)
            return -1;
        virDomainSnapshotPtr s = virDomainSnapshotCreateXML(dom, x, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
        if (!s) {
            fprintf(stderr, "libvirt redefine %s: %s\n", f->name, virGetLastErrorMessage());
            return -1;
        }
        virDomainSnapshotFree(s);
        free(x);
        sb_tree_snapshot ts = snap(f->name, f->parent, f->st, f->external);
        if (sb_tree_add(t, &ts, NULL) < 0)
            return -1;
    }
    free(dxml);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_tree_free(t);
    virDomainFree(dom);
    virConnectClose(conn);
    return 0;
}

static int cmpp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* libvirt's answer as "a,b,c" (sorted unless ordered). */
static char *lv_names(virDomainSnapshotPtr *v, int n, bool ordered)
{
    const char **s = calloc((size_t)n + 1, sizeof(*s));
    for (int i = 0; i < n; i++)
        s[i] = virDomainSnapshotGetName(v[i]);
    if (!ordered)
        qsort(s, (size_t)n, sizeof(*s), cmpp);
    static char buf[1024];
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, s[i]);
    }
    free(s);
    for (int i = 0; i < n; i++)
        virDomainSnapshotFree(v[i]);
    free(v);
    return buf;
}

static void domain_level_all_flags(void **state)
{
    (void)state;
    /* the fixture really exercises each group on libvirt's side */
    assert_int_equal(virDomainSnapshotNum(dom, SB_SNAPSHOT_LIST_EXTERNAL), 4);
    assert_int_equal(virDomainSnapshotNum(dom, SB_SNAPSHOT_LIST_INACTIVE), 3);
    assert_int_equal(virDomainSnapshotNum(dom, SB_SNAPSHOT_LIST_DISK_ONLY), 1);
    assert_int_equal(virDomainSnapshotNum(dom, SB_SNAPSHOT_LIST_LEAVES), 5);
    assert_int_equal(virDomainSnapshotNum(dom, SB_SNAPSHOT_LIST_LEAVES |
                                                   SB_SNAPSHOT_LIST_NO_LEAVES), 0);
    for (unsigned f = 0; f <= 0x7FF; f++) {
        virDomainSnapshotPtr *v = NULL;
        int n = virDomainListAllSnapshots(dom, &v, f);
        if (n < 0)
            fail_msg("libvirt refused flags 0x%x: %s", f, virGetLastErrorMessage());
        bool ordered = f & SB_SNAPSHOT_LIST_TOPOLOGICAL;
        char lv[1024];
        snprintf(lv, sizeof(lv), "%s", lv_names(v, n, ordered));
        const char *ours = names(t, NULL, f, !ordered);
        if (strcmp(lv, ours) != 0)
            fail_msg("flags 0x%x: libvirt [%s], sb_tree [%s]", f, lv, ours);
        int num = virDomainSnapshotNum(dom, f);
        if (num != count(t, NULL, f))
            fail_msg("flags 0x%x: libvirt counts %d, sb_tree %ld", f, num, count(t, NULL, f));
    }
}

static void from_each_snapshot_all_flags(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFX; i++) {
        virDomainSnapshotPtr s = virDomainSnapshotLookupByName(dom, fixture[i].name, 0);
        assert_non_null(s);
        for (unsigned f = 0; f <= 0x7FF; f++) {
            virDomainSnapshotPtr *v = NULL;
            int n = virDomainSnapshotListAllChildren(s, &v, f);
            if (n < 0)
                fail_msg("libvirt refused flags 0x%x: %s", f, virGetLastErrorMessage());
            char lv[1024];
            snprintf(lv, sizeof(lv), "%s", lv_names(v, n, true));
            const char *ours = names(t, fixture[i].name, f, false);
            if (strcmp(lv, ours) != 0)
                fail_msg("from %s, flags 0x%x: libvirt [%s], sb_tree [%s]", fixture[i].name,
                         f, lv, ours);
            int num = virDomainSnapshotNumChildren(s, f);
            if (num != count(t, fixture[i].name, f))
                fail_msg("from %s, flags 0x%x: libvirt counts %d, sb_tree %ld",
                         fixture[i].name, f, num, count(t, fixture[i].name, f));
        }
        virDomainSnapshotFree(s);
    }
}

/* ---- mutations: delete rules, current moves, redefine relinking ---- */

static char *dxml;

/* (Re)build both trees: root, x (x1 (x2)), y, other; the given current. */
static sb_tree *rebuild(const char *current)
{
    virDomainSnapshotPtr *v = NULL;
    int n = virDomainListAllSnapshots(dom, &v, SB_SNAPSHOT_LIST_ROOTS);
    for (int i = 0; i < n; i++) {
        virDomainSnapshotDelete(v[i], VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
        virDomainSnapshotFree(v[i]);
    }
    free(v);
    static const char *const spec[][2] = {
        { "top", NULL }, { "x", "top" }, { "x1", "x" }, { "x2", "x1" }, { "x3", "x1" },
        { "y", "top" }, { "other", NULL },
    };
    sb_tree *m = sb_tree_new();
    for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
        char parent[64] = "", *x = NULL;
        if (spec[i][1])
            snprintf(parent, sizeof(parent), "<parent><name>%s</name></parent>", spec[i][1]);
        assert_true(asprintf(&x, "<domainsnapshot><name>%s</name><state>running</state>%s"
                                 "<creationTime>1000</creationTime>%s</domainsnapshot>",
                             spec[i][0], parent, dxml) > 0);
        bool cur = current && strcmp(current, spec[i][0]) == 0;
        virDomainSnapshotPtr sp = virDomainSnapshotCreateXML(
            dom, x, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE |
                        (cur ? VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT : 0));
        if (!sp)
            fail_msg("redefine %s: %s", spec[i][0], virGetLastErrorMessage());
        virDomainSnapshotFree(sp);
        free(x);
        sb_tree_snapshot ts = snap(spec[i][0], spec[i][1], SB_STATE_RUNNING, false);
        assert_int_equal(sb_tree_redefine(m, &ts, NULL), 0);
        if (cur)
            assert_int_equal(sb_tree_set_current(m, spec[i][0]), 0);
    }
    return m;
}

/* Topological order with parents, plus the current snapshot. */
static void compare(sb_tree *m, const char *what)
{
    virDomainSnapshotPtr *v = NULL;
    int n = virDomainListAllSnapshots(dom, &v, SB_SNAPSHOT_LIST_TOPOLOGICAL);
    char lv[1024];
    snprintf(lv, sizeof(lv), "%s", lv_names(v, n, true));
    const char *ours = names(m, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, false);
    if (strcmp(lv, ours) != 0)
        fail_msg("%s: libvirt order [%s], sb_tree [%s]", what, lv, ours);
    for (const sb_tree_node *x = sb_tree_walk_next(m, NULL, NULL); x;
         x = sb_tree_walk_next(m, NULL, x)) {
        virDomainSnapshotPtr sp = virDomainSnapshotLookupByName(dom, sb_tree_node_name(x), 0);
        virDomainSnapshotPtr par = virDomainSnapshotGetParent(sp, 0);
        const sb_tree_node *p = sb_tree_node_parent(x);
        const char *lp = par ? virDomainSnapshotGetName(par) : "-";
        if (strcmp(lp, p ? sb_tree_node_name(p) : "-") != 0)
            fail_msg("%s: parent of %s: libvirt %s", what, sb_tree_node_name(x), lp);
        if (par)
            virDomainSnapshotFree(par);
        virDomainSnapshotFree(sp);
    }
    virDomainSnapshotPtr cur = virDomainSnapshotCurrent(dom, 0);
    const sb_tree_node *c = sb_tree_current(m);
    const char *lc = cur ? virDomainSnapshotGetName(cur) : "-";
    if (strcmp(lc, c ? sb_tree_node_name(c) : "-") != 0)
        fail_msg("%s: libvirt current %s, sb_tree %s", what, lc,
                 c ? sb_tree_node_name(c) : "-");
    if (cur)
        virDomainSnapshotFree(cur);
}

static void lv_delete(const char *name, unsigned flags)
{
    virDomainSnapshotPtr sp = virDomainSnapshotLookupByName(dom, name, 0);
    assert_non_null(sp);
    if (virDomainSnapshotDelete(sp, flags) < 0)
        fail_msg("delete %s: %s", name, virGetLastErrorMessage());
    virDomainSnapshotFree(sp);
}

static void deletes_and_current_match_libvirt(void **state)
{
    (void)state;
    dxml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    static const struct {
        const char *current, *victim;
        unsigned flags;
    } cases[] = {
        { "x1", "x1", 0 },                                    /* current deleted */
        { "x2", "x1", 0 },                                    /* children re-parented */
        { "x2", "x", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN },   /* current inside */
        { "x2", "x", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY },
        { "x", "x", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN },
        { "y", "top", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY },
        { "other", "top", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN },
        { "top", "top", 0 },                                  /* current root */
        { NULL, "x", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[128];
        snprintf(what, sizeof(what), "case %zu (current %s, delete %s flags %u)", i,
                 cases[i].current ? cases[i].current : "-", cases[i].victim, cases[i].flags);
        sb_tree *m = rebuild(cases[i].current);
        compare(m, "after build");
        lv_delete(cases[i].victim, cases[i].flags);
        if (cases[i].flags == 0)
            assert_int_equal(sb_tree_remove(m, cases[i].victim), 0);
        else
            assert_int_equal(sb_tree_remove_subtree(m, cases[i].victim,
                                                    cases[i].flags ==
                                                        VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN),
                             0);
        compare(m, what);
        sb_tree_free(m);
    }

    /* redefining an existing snapshot relinks it at the head of its parent */
    sb_tree *m = rebuild("x1");
    char *x = NULL;
    assert_true(asprintf(&x, "<domainsnapshot><name>x</name><state>running</state>"
                             "<parent><name>top</name></parent>"
                             "<creationTime>1000</creationTime>%s</domainsnapshot>", dxml) > 0);
    virDomainSnapshotPtr sp = virDomainSnapshotCreateXML(dom, x, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
    assert_non_null(sp);
    virDomainSnapshotFree(sp);
    free(x);
    sb_tree_snapshot ts = snap("x", "top", SB_STATE_RUNNING, false);
    assert_int_equal(sb_tree_redefine(m, &ts, NULL), 0);
    compare(m, "redefine existing x");
    sb_tree_free(m);
    free(dxml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(domain_level_all_flags),
        cmocka_unit_test(from_each_snapshot_all_flags),
        cmocka_unit_test(deletes_and_current_match_libvirt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
