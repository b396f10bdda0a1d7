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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(domain_level_all_flags),
        cmocka_unit_test(from_each_snapshot_all_flags),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
