/* The string scan that spares a delete from parsing every other snapshot
 * (qp_xml_may_name) against the parse it stands in for
 * (qp_xml_replace_source): whenever the parse would repoint a <source>,
 * the scan must say so; the same for the list of every source a
 * snapshot's references keep (qp_xml_source_values), by which a delete
 * repoints only the snapshots its one walk saw naming the overlay.  And
 * the path map of one walk (qp_strmap), and the pool the memo keeps its
 * sets of references in (qp_refs_pool).  No QEMU needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot_common.h"

static char dir[] = "/tmp/sb-qemu-refs-XXXXXX";
static qp_ctx qc; /* no host: errors stay in qc.err_msg */

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    char p[256], l[256];
    snprintf(p, sizeof p, "%s/disk.qcow2", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fclose(f);
    snprintf(l, sizeof l, "%s/link.qcow2", dir);
    return symlink(p, l);
}

static int teardown(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof p, "%s/disk.qcow2", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/link.qcow2", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

/* The scan and the parse agree on one document: the scan may only say
 * "maybe" more often, never less. */
static void agree(const char *xml, const char *path, int expect_scan)
{
    int changed = 0;
    char *out = qp_xml_replace_source(xml, path, "/new/path", &changed);
    int scan = qp_xml_may_name(xml, path, NULL);
    if (changed && !scan)
        fail_msg("the scan missed a source the parse repoints: %s", xml);
    if (expect_scan >= 0)
        assert_int_equal(scan, expect_scan);
    free(out);
}

static void scan_never_misses_a_source(void **state)
{
    (void)state;
    char disk[256], link[256], rel[256], doc[2048];
    snprintf(disk, sizeof disk, "%s/disk.qcow2", dir);
    snprintf(link, sizeof link, "%s/link.qcow2", dir);
    snprintf(rel, sizeof rel, "%s/./disk.qcow2", dir);
    const char *forms[] = {
        "<domainsnapshot><disks><disk name='vda'><source file='%s'/></disk></disks></domainsnapshot>",
        "<domainsnapshot><domain><devices><disk><source file=\"%s\"/></disk></devices></domain>"
        "</domainsnapshot>",
        "<domainsnapshot><domain><devices><disk type='block'><source dev='%s'/></disk></devices>"
        "</domain></domainsnapshot>",
        "<domainsnapshot><domain><devices><disk><source\n  file='%s'/></disk></devices>"
        "</domain></domainsnapshot>",
        "<domainsnapshot><domain xmlns:x='urn:x'><devices><x:source file='%s'/></devices>"
        "</domain></domainsnapshot>",
        "<domainsnapshot><revertDisks><disk name='vda'><source index='1' file='%s'></source>"
        "</disk></revertDisks></domainsnapshot>",
    };
    const char *paths[] = { disk, link, rel };
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++)
        for (size_t p = 0; p < 3; p++) {
            snprintf(doc, sizeof doc, forms[f], paths[p]);
            agree(doc, disk, 1); /* every form names disk, directly or not */
            agree(doc, "/elsewhere/other.qcow2", f == 4 ? 1 : 0);
        }
    /* entities and characters the parser changes: decoded or "maybe" */
    snprintf(doc, sizeof doc, "<domainsnapshot><disks><disk><source file='%s/a&amp;b'/></disk>"
                              "</disks></domainsnapshot>", dir);
    char amp[256];
    snprintf(amp, sizeof amp, "%s/a&b", dir);
    agree(doc, amp, 1);
    agree(doc, disk, 0);
    snprintf(doc, sizeof doc, "<domainsnapshot><disks><disk><source file='%s/a&#38;b'/></disk>"
                              "</disks></domainsnapshot>", dir);
    agree(doc, amp, 1);
    agree("<domainsnapshot><disks><disk><source file='/x\ty'/></disk></disks></domainsnapshot>",
          "/x y", 1);
    /* attributes that are not file/dev, and look-alike elements */
    agree("<domainsnapshot><sourcex file='/d'/><source protocol='nbd' name='/d'/>"
          "</domainsnapshot>", "/d", 0);
}

/* qp_xml_source_values lists a value resolving to path whenever the
 * parse would repoint one (or says it cannot tell). */
static void values_agree(const char *xml, const char *path)
{
    int changed = 0;
    char *out = qp_xml_replace_source(xml, path, "/new/path", &changed);
    free(out);
    qp_strv v = {0};
    int unsure = qp_xml_source_values(&qc, xml, &v);
    assert_true(unsure >= 0);
    int named = unsure == 1;
    for (size_t i = 0; i < v.n && !named; i++) {
        char *c = qp_realpath_or_copy(v.v[i]);
        named = !strcmp(v.v[i], path) || (c && !strcmp(c, path));
        free(c);
    }
    qp_strv_free(&v);
    if (changed && !named)
        fail_msg("the values miss a source the parse repoints: %s", xml);
}

static void source_values_never_miss_a_source(void **state)
{
    (void)state;
    char disk[256], link[256], doc[2048];
    snprintf(disk, sizeof disk, "%s/disk.qcow2", dir);
    snprintf(link, sizeof link, "%s/link.qcow2", dir);
    const char *forms[] = {
        "<domainsnapshot><disks><disk name='vda'><source file='%s'/></disk></disks></domainsnapshot>",
        "<domainsnapshot><inactiveDomain><devices><disk><source file=\"%s\"/></disk></devices>"
        "</inactiveDomain></domainsnapshot>",
        "<domainsnapshot><domain><devices><disk type='block'><source dev='%s'/></disk></devices>"
        "</domain></domainsnapshot>",
        "<domainsnapshot><revertDisks><disk name='vda'><source index='1' file='%s'></source>"
        "</disk></revertDisks></domainsnapshot>",
    };
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        snprintf(doc, sizeof doc, forms[f], link);
        values_agree(doc, disk);
        qp_strv v = {0};
        assert_int_equal(qp_xml_source_values(&qc, doc, &v), 0);
        assert_int_equal(v.n, 1);
        assert_string_equal(v.v[0], link);
        qp_strv_free(&v);
    }
    /* a prefixed <source>, a value it cannot decode: "cannot tell" */
    qp_strv v = {0};
    assert_int_equal(qp_xml_source_values(&qc, "<d xmlns:x='urn:x'><x:source file='/a'/></d>", &v), 1);
    assert_int_equal(qp_xml_source_values(&qc, "<d><source file='/a&#38;b'/></d>", &v), 1);
    qp_strv_free(&v);
    /* not file/dev, look-alikes: nothing */
    assert_int_equal(qp_xml_source_values(&qc, "<d><sourcex file='/d'/><source protocol='nbd' "
                                                "name='/d'/></d>", &v), 0);
    assert_int_equal(v.n, 0);
}

static void memo_remembers_resolutions(void **state)
{
    (void)state;
    char disk[256], doc[1024];
    snprintf(disk, sizeof disk, "%s/disk.qcow2", dir);
    snprintf(doc, sizeof doc, "<a><source file='%s/link.qcow2'/></a>", dir);
    qp_strmap m = {0};
    assert_int_equal(qp_xml_may_name(doc, disk, &m), 1);
    assert_int_equal(qp_xml_may_name(doc, disk, &m), 1);
    snprintf(doc, sizeof doc, "%s/link.qcow2", dir);
    assert_int_equal(qp_strmap_find(&m, doc), 1);
    qp_strmap_free(&m);
}

static void set_of(qp_refs *r, int external, const char *captured, const char *named)
{
    memset(r, 0, sizeof *r);
    r->external = external;
    assert_int_equal(qp_strv_add(&r->captured, captured), 0);
    if (named)
        assert_int_equal(qp_strv_add(&r->named, named), 0);
}

static void free_set(qp_refs *r)
{
    qp_strv_free(&r->captured);
    qp_strv_free(&r->named);
}

/* Equal sets are one copy, strings are shared between sets, a set differs
 * by any field or list; the copies hold what was given, NULL-terminated,
 * across many blocks and with a string larger than a block's quarter. */
static void pool_interns_sets(void **state)
{
    (void)state;
    qp_refs_pool pool = {0};
    qp_refs a, b, c, d;
    set_of(&a, 0, "/i/disk.qcow2", "/i/disk.qcow2");
    set_of(&b, 0, "/i/disk.qcow2", "/i/disk.qcow2");
    set_of(&c, 1, "/i/disk.qcow2", "/i/disk.qcow2");
    set_of(&d, 0, "/i/disk.qcow2", NULL);
    const qp_refs *pa = qp_refs_pool_set(&pool, &a), *pb = qp_refs_pool_set(&pool, &b);
    const qp_refs *pc = qp_refs_pool_set(&pool, &c), *pd = qp_refs_pool_set(&pool, &d);
    assert_non_null(pa);
    assert_ptr_equal(pa, pb);
    assert_true(pc != pa && pd != pa && pd != pc);
    qp_refs u;
    set_of(&u, 0, "/i/disk.qcow2", "/i/disk.qcow2");
    u.named_unsure = 1;
    const qp_refs *pu = qp_refs_pool_set(&pool, &u);
    assert_true(pu != pa && pu->named_unsure == 1);
    free_set(&u);
    assert_int_equal(pc->external, 1);
    assert_int_equal(pd->named.n, 0);
    assert_ptr_equal(pa->captured.v[0], pa->named.v[0]); /* one string */
    assert_ptr_equal(pa->captured.v[0], pd->captured.v[0]);
    assert_null(pa->captured.v[1]);
    assert_string_equal(pa->named.v[0], "/i/disk.qcow2");
    assert_true(pa->captured.v[0] != a.captured.v[0]); /* a copy: a is the caller's */
    free_set(&a);
    free_set(&b);
    free_set(&c);
    free_set(&d);

    char big[40000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const qp_refs *first = NULL;
    for (int i = 0; i < 3000; i++) {
        char p[64];
        snprintf(p, sizeof p, "/i/overlay-%d.qcow2", i);
        qp_refs r;
        set_of(&r, 1, i == 1500 ? big : p, p);
        const qp_refs *k = qp_refs_pool_set(&pool, &r);
        assert_non_null(k);
        assert_string_equal(k->captured.v[0], i == 1500 ? big : p);
        assert_string_equal(k->named.v[0], p);
        if (i == 0)
            first = k;
        free_set(&r);
    }
    assert_string_equal(first->named.v[0], "/i/overlay-0.qcow2");
    assert_ptr_equal(qp_refs_pool_set(&pool, pa), pa); /* a pooled set is its own copy */
    const char *key = qp_refs_pool_key(&pool, "dom\0snap", 8);
    assert_memory_equal(key, "dom\0snap", 9);
    assert_true(pool.bytes > sizeof big);
    qp_refs_pool_free(&pool);
    assert_int_equal(pool.bytes, 0);
}

static void strmap_grows_and_finds(void **state)
{
    (void)state;
    qp_strmap m = {0};
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "/img/%d.qcow2", i);
        assert_int_equal(qp_strmap_put(&m, k, i), 0);
    }
    assert_int_equal(qp_strmap_put(&m, "/img/7.qcow2", 70000), 0); /* replaced */
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "/img/%d.qcow2", i);
        assert_int_equal(qp_strmap_find(&m, k), i == 7 ? 70000 : i);
    }
    assert_int_equal(qp_strmap_find(&m, "/img/5000.qcow2"), -1);
    assert_int_equal(m.n, 5000);
    qp_strmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_never_misses_a_source),
        cmocka_unit_test(source_values_never_miss_a_source),
        cmocka_unit_test(memo_remembers_resolutions),
        cmocka_unit_test(strmap_grows_and_finds),
        cmocka_unit_test(pool_interns_sets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
