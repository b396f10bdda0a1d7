/* Whole hierarchies through the public API (sb_snapshot_export,
 * sb_snapshot_import) on the reference plugins (test fixtures standing in
 * for a hypervisor: tests/plugins): "ref" keeps its metadata in the
 * broker's store (like qemu), "refhv" follows libvirt's ESX driver (no
 * redefine), "refhv-vbox" its VirtualBox driver (the hypervisor keeps the
 * tree, redefine works).  Also the internal pieces the import stands on:
 * the parents-first order (sb_hier_order) and the document reader
 * (sb_snapcoll_read).  Each test gets fresh state directories. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "api_fixture.h"
#include "core/hier.h"
#include "snapbroker/snapbroker.h"
#include "xml/snapcoll.h"

#define REF "ref:///default"
#define VBOX "refhv-vbox:///default"
#define ESX "refhv:///default"
#define DOM "test"

static int setup(void **state)
{
    *state = api_fx_open(REF, 0);
    return 0;
}

static int teardown(void **state)
{
    api_fx_close(*state);
    return 0;
}

static void expect_error(int rc, int code, const char *fragment)
{
    if (rc != -code || sb_error_last()->code != code)
        fail_msg("expected error %d, got rc %d (%s)", code, rc, sb_error_last()->message);
    if (!strstr(sb_error_last()->message, fragment))
        fail_msg("message '%s' lacks '%s'", sb_error_last()->message, fragment);
}

/* A snapshot named name as a child of the current one (create). */
static void create(struct api_fx *f, const char *name)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    if (sb_snapshot_create_xml(NULL, f->c, DOM, xml, 0) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

static void revert(struct api_fx *f, const char *name)
{
    if (sb_snapshot_revert(f->c, DOM, name, 0) != 0)
        fail_msg("revert %s: %s", name, sb_error_last()->message);
}

/*   a ─┬─ b ── c        made in the order a b c d e; current: e
 *      └─ d ── e */
static void make_tree(struct api_fx *f)
{
    create(f, "a");
    create(f, "b");
    create(f, "c");
    revert(f, "a");
    create(f, "d");
    create(f, "e");
}

static char *export(struct api_fx *f, const char *from)
{
    char *xml = NULL;
    if (sb_snapshot_export(&xml, f->c, DOM, from, 0) != 0)
        fail_msg("export: %s", sb_error_last()->message);
    return xml;
}

static size_t import(struct api_fx *f, const char *xml, const sb_path_map *maps, size_t nmaps,
                     unsigned flags)
{
    size_t n = 0;
    if (sb_snapshot_import(&n, f->c, DOM, xml, strlen(xml), "doc.xml", maps, nmaps, flags) != 0)
        fail_msg("import: %s", sb_error_last()->message);
    return n;
}

static int try_import(struct api_fx *f, const char *xml, unsigned flags)
{
    return sb_snapshot_import(NULL, f->c, DOM, xml, strlen(xml), "doc.xml", NULL, 0, flags);
}

/* The names of the entries of a document, in document order. */
static char *entry_names(const char *xml)
{
    static char buf[512];
    sb_snapcoll c;
    buf[0] = '\0';
    if (sb_snapcoll_read(&c, xml, strlen(xml), NULL) != 0)
        fail_msg("read: %s", sb_error_last()->message);
    for (size_t i = 0; i < c.n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, c.v[i].name);
        if (c.v[i].current)
            strcat(buf, "*");
    }
    sb_snapcoll_clear(&c);
    return buf;
}

/* "name<parent" in topological order (the plugin's own order where it
 * has no TOPOLOGICAL: the refhv fixtures list depth-first), '*' marks the
 * current snapshot. */
static char *tree_of(struct api_fx *f)
{
    static char buf[512];
    char **names = NULL, *cur = NULL;
    size_t n = 0;
    sb_connection_caps caps;
    buf[0] = '\0';
    assert_int_equal(sb_connection_get_caps(&caps, f->c), 0);
    assert_int_equal(sb_snapshot_list(&names, &n, f->c, DOM, NULL,
                                      caps.list_flags & SB_SNAPSHOT_LIST_TOPOLOGICAL),
                     0);
    if (sb_snapshot_current(&cur, f->c, DOM) != 0)
        sb_error_clear();
    for (size_t i = 0; i < n; i++) {
        char *p = NULL;
        if (i)
            strcat(buf, " ");
        strcat(buf, names[i]);
        if (sb_snapshot_parent(&p, f->c, DOM, names[i]) == 0) {
            strcat(buf, "<");
            strcat(buf, p);
            free(p);
        }
        if (cur && strcmp(cur, names[i]) == 0)
            strcat(buf, "*");
    }
    sb_names_free(names, n);
    free(cur);
    return buf;
}

/* ---- the order ---- */

static void order_is(const char *const *names, const char *const *parents, size_t n,
                     const char *want)
{
    size_t order[16];
    char got[128] = "";
    assert_int_equal(sb_hier_order(names, parents, n, order, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(got, ",");
        strcat(got, names[order[i]]);
    }
    assert_string_equal(got, want);
}

static void order_parents_first(void **state)
{
    (void)state;
    /* input order of siblings is kept; roots too */
    const char *names[] = { "c", "b", "a", "x", "d", "e" };
    const char *parents[] = { "b", "a", NULL, NULL, "a", "d" };
    order_is(names, parents, 6, "a,b,c,d,e,x");
    /* a parent outside the set makes a root of it */
    const char *n2[] = { "y", "z" };
    const char *p2[] = { "elsewhere", "y" };
    order_is(n2, p2, 2, "y,z");
    order_is(NULL, NULL, 0, "");
}

static void order_refuses(void **state)
{
    size_t order[8], parent[8];
    (void)state;
    const char *dup[] = { "a", "b", "a" };
    const char *dp[] = { NULL, NULL, NULL };
    expect_error(sb_hier_order(dup, dp, 3, order, NULL), SB_ERR_INVALID_ARG,
                 "snapshot 'a' is given more than once");
    /* r is fine; x -> y -> z -> x is a cycle, w hangs off it */
    const char *cyc[] = { "r", "w", "x", "y", "z" };
    const char *cp[] = { NULL, "x", "z", "x", "y" };
    expect_error(sb_hier_order(cyc, cp, 5, order, NULL), SB_ERR_INVALID_ARG,
                 "its own ancestor");
    assert_null(strstr(sb_error_last()->message, "'w'"));
    const char *self[] = { "s" };
    const char *sp[] = { "s" };
    expect_error(sb_hier_order(self, sp, 1, order, parent), SB_ERR_INVALID_ARG,
                 "snapshot 's' is its own ancestor");
}

/* ---- the document reader ---- */

static void reader_skips_what_is_between(void **state)
{
    (void)state;
    const char *doc =
        "<?xml version='1.0'?>\n<!-- a comment <domainsnapshot> -->\n<domainsnapshots>\n"
        "  text <![CDATA[ <domainsnapshot> ]]> <?pi <x>?>\n"
        "<domainsnapshot descr='a > b'><name>o&amp;k</name><parent><name>p</name></parent>"
        "<!-- </domainsnapshot> --></domainsnapshot>\n"
        "<domainsnapshot\n current = \"yes\" ><name><![CDATA[c<1>]]></name>"
        "<description><name>not me</name></description></domainsnapshot>"
        "<domainsnapshot current='no'><name/></domainsnapshot>\n"
        "</domainsnapshots>\n";
    sb_snapcoll c;
    assert_int_equal(sb_snapcoll_read(&c, doc, strlen(doc), "d"), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].name, "o&k");
    assert_string_equal(c.v[0].parent, "p");
    assert_false(c.v[0].current);
    assert_string_equal(c.v[1].name, "c<1>");
    assert_null(c.v[1].parent);
    assert_true(c.v[1].current);
    assert_string_equal(c.v[2].name, "");
    /* the bytes of each entry, and of its current= attribute */
    assert_memory_equal(doc + c.v[0].offset, "<domainsnapshot descr='a > b'>", 30);
    assert_memory_equal(doc + c.v[0].offset + c.v[0].len - 17, "</domainsnapshot>", 17);
    assert_int_equal(c.v[0].attr_len, 0);
    assert_memory_equal(doc + c.v[1].offset + c.v[1].attr_off, "\n current = \"yes\"",
                        c.v[1].attr_len);
    assert_memory_equal(doc + c.v[2].offset, "<domainsnapshot current='no'><name/>", 36);
    assert_int_equal(c.v[1].line, 7); /* where its start tag ends */
    sb_snapcoll_clear(&c);
}

static void reader_refuses(void **state)
{
    sb_snapcoll c;
    (void)state;
    static const struct { const char *doc; int code; const char *msg; } bad[] = {
        { "<domainsnapshot><name>a</name></domainsnapshot>", SB_ERR_XML_ERROR,
          "d:1: a snapshot hierarchy has the root element <domainsnapshots>, not <domainsnapshot>" },
        { "<domainsnapshots>\n<snapshot/></domainsnapshots>", SB_ERR_XML_ERROR,
          "d:2: only <domainsnapshot> elements may be inside <domainsnapshots>, not <snapshot>" },
        { "<domainsnapshots><domainsnapshot current='1'/></domainsnapshots>", SB_ERR_XML_ERROR,
          "attribute current of <domainsnapshot> must be 'yes' or 'no'" },
        { "<domainsnapshots><domainsnapshot></domainsnapshots>", SB_ERR_XML_DETAIL, "d:1:" },
        { "<!DOCTYPE x [<!ENTITY e 'x'>]><domainsnapshots/>", SB_ERR_XML_ERROR, "DOCTYPE" },
        { "", SB_ERR_XML_ERROR, "empty XML document" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(sb_snapcoll_read(&c, bad[i].doc, strlen(bad[i].doc), "d"), bad[i].code,
                     bad[i].msg);
}

/* ---- export ---- */

static void export_empty(void **state)
{
    struct api_fx *f = *state;
    char *xml = export(f, NULL);
    assert_string_equal(xml, "<domainsnapshots>\n</domainsnapshots>\n");
    free(xml);
}

static void export_order_and_entries(void **state)
{
    struct api_fx *f = *state;
    make_tree(f);
    char *xml = export(f, NULL);
    /* parents first, the children of a oldest first, e marked current */
    assert_string_equal(entry_names(xml), "a,b,c,d,e*");
    /* every entry is the snapshot's dumpxml, byte for byte */
    sb_snapcoll c;
    assert_int_equal(sb_snapcoll_read(&c, xml, strlen(xml), NULL), 0);
    for (size_t i = 0; i < c.n; i++) {
        char *one = NULL;
        assert_int_equal(sb_snapshot_get_xml(&one, f->c, DOM, c.v[i].name, 0), 0);
        size_t skip = c.v[i].attr_len;
        const char *e = xml + c.v[i].offset;
        assert_memory_equal(e, one, strlen("<domainsnapshot"));
        assert_memory_equal(e + strlen("<domainsnapshot") + skip, one + strlen("<domainsnapshot"),
                            strlen(one) - strlen("<domainsnapshot"));
        free(one);
    }
    sb_snapcoll_clear(&c);
    free(xml);
    /* a subtree: from and its descendants; the current is in it */
    xml = export(f, "d");
    assert_string_equal(entry_names(xml), "d,e*");
    assert_non_null(strstr(xml, "<parent>\n    <name>a</name>")); /* d keeps its parent */
    free(xml);
    xml = export(f, "b");
    assert_string_equal(entry_names(xml), "b,c");
    free(xml);
}

static void export_errors(void **state)
{
    struct api_fx *f = *state;
    char *xml = NULL;
    make_tree(f);
    expect_error(sb_snapshot_export(&xml, f->c, DOM, "nosuch", 0), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "'nosuch'");
    expect_error(sb_snapshot_export(&xml, f->c, "nosuchdom", NULL, 0), SB_ERR_NO_DOMAIN,
                 "nosuchdom");
    expect_error(sb_snapshot_export(&xml, f->c, DOM, NULL, 1u << 7), SB_ERR_INVALID_ARG,
                 "unsupported flags");
    expect_error(sb_snapshot_export(NULL, f->c, DOM, NULL, 0), SB_ERR_INVALID_ARG, "NULL output");
    assert_null(xml);
    /* secrets stay out unless asked for, and asking needs a writable connection */
    struct api_fx *ro = api_fx_open(REF, SB_CONNECT_READONLY);
    setenv("SNAPBROKER_STATE_DIR", f->dir, 1);
    expect_error(sb_snapshot_export(&xml, ro->c, DOM, NULL, SB_SNAPSHOT_XML_SECURE),
                 SB_ERR_OPERATION_DENIED, "secure");
    api_fx_close(ro);
}

/* ---- import: broker-owned metadata ---- */

static void import_round_trip(void **state)
{
    struct api_fx *f = *state;
    make_tree(f);
    char *xml = export(f, NULL);
    char *want = strdup(tree_of(f));
    struct api_fx *g = api_fx_open(REF, 0);
    assert_int_equal(import(g, xml, NULL, 0, SB_SNAPSHOT_IMPORT_CURRENT), 5);
    assert_string_equal(tree_of(g), want);
    /* the same document again: every entry replaces itself */
    assert_int_equal(import(g, xml, NULL, 0, SB_SNAPSHOT_IMPORT_CURRENT), 5);
    char *again = export(g, NULL);
    assert_string_equal(again, xml);
    free(again);
    api_fx_close(g);
    /* without CURRENT the current snapshot stays as it was (none) */
    g = api_fx_open(REF, 0);
    import(g, xml, NULL, 0, 0);
    assert_string_equal(tree_of(g), "a d<a e<d b<a c<b");
    api_fx_close(g);
    free(want);
    free(xml);
}

/* The entries reversed: import orders them itself. */
static void import_any_order(void **state)
{
    struct api_fx *f = *state;
    make_tree(f);
    char *xml = export(f, NULL);
    sb_snapcoll c;
    assert_int_equal(sb_snapcoll_read(&c, xml, strlen(xml), NULL), 0);
    char *rev = calloc(strlen(xml) + 64, 1);
    strcat(rev, "<domainsnapshots>");
    for (size_t i = c.n; i > 0; i--)
        strncat(rev, xml + c.v[i - 1].offset, c.v[i - 1].len);
    strcat(rev, "</domainsnapshots>");
    sb_snapcoll_clear(&c);
    struct api_fx *g = api_fx_open(REF, 0);
    import(g, rev, NULL, 0, SB_SNAPSHOT_IMPORT_CURRENT);
    /* d and b were imported in the other order: a's children listed the
     * other way round, the tree the same */
    assert_string_equal(tree_of(g), "a b<a c<b d<a e<d*");
    assert_string_equal(tree_of(f), "a d<a e<d* b<a c<b");
    api_fx_close(g);
    free(rev);
    free(xml);
}

/* A document with entries spliced in: "%s" is replaced by entries. */
static char *doc_with(const char *entries)
{
    char *d = NULL;
    assert_true(asprintf(&d, "<domainsnapshots>\n%s</domainsnapshots>\n", entries) > 0);
    return d;
}

/* The ref plugin's domain "test" (its uuid is fixed). */
#define TEST_DOMAIN \
    "<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>" \
    "<memory>8192</memory><devices><disk type='file' device='disk'>" \
    "<source file='/guest/diskimage1'/><target dev='vda'/></disk></devices></domain>"
#define ENTRY(name, parent_xml) \
    "<domainsnapshot><name>" name "</name><state>shutoff</state>" parent_xml \
    "<creationTime>1700000000</creationTime>" TEST_DOMAIN "</domainsnapshot>\n"
#define PARENT(p) "<parent><name>" p "</name></parent>"

static void assert_untouched(struct api_fx *f, const char *before)
{
    char *now = export(f, NULL);
    assert_string_equal(now, before);
    free(now);
}

static void import_all_or_nothing(void **state)
{
    struct api_fx *f = *state;
    make_tree(f);
    char *before = export(f, NULL);
    static const struct { const char *entries; int code; const char *msg; } bad[] = {
        /* the third entry's parent is nowhere */
        { ENTRY("n1", "") ENTRY("n2", PARENT("n1")) ENTRY("n3", PARENT("ghost")),
          SB_ERR_INVALID_ARG, "doc.xml:4: snapshot 'n3': " },
        /* a state no parser knows, after two good entries */
        { ENTRY("n1", "") ENTRY("n2", PARENT("n1"))
          "<domainsnapshot><name>n3</name><state>bogus</state><creationTime>1</creationTime>"
          "</domainsnapshot>\n",
          SB_ERR_CONFIG_UNSUPPORTED, "doc.xml:4: snapshot 'n3'" },
        /* another domain's uuid */
        { ENTRY("n1", "") "<domainsnapshot><name>n2</name><state>shutoff</state>"
          "<creationTime>1</creationTime><domain type='test'><name>test</name>"
          "<uuid>00000000-0000-0000-0000-000000000001</uuid><memory>8192</memory></domain>"
          "</domainsnapshot>\n",
          SB_ERR_INVALID_ARG, "must use uuid" },
        /* parents in a cycle, against the store: a (stored, a root) under n1 under a */
        { ENTRY("n1", PARENT("a")) ENTRY("a", PARENT("n1")), SB_ERR_INVALID_ARG,
          "its own ancestor" },
        /* through the store: b is stored under a; a redefined under b */
        { ENTRY("a", PARENT("c")), SB_ERR_INVALID_ARG, "snapshot 'a'" },
        { ENTRY("n1", "") ENTRY("n1", ""), SB_ERR_INVALID_ARG, "'n1' is given more than once" },
        { "<domainsnapshot current='yes'><name>x</name></domainsnapshot>"
          "<domainsnapshot current='yes'><name>y</name></domainsnapshot>",
          SB_ERR_INVALID_ARG, "'x' and 'y' are both marked current='yes'" },
        { "<domainsnapshot><state>shutoff</state></domainsnapshot>", SB_ERR_XML_ERROR,
          "doc.xml:2: a snapshot without a name" },
        /* its name differs from the first <name> the reader took */
        { "<domainsnapshot><name>n1</name><state>shutoff</state><creationTime>1</creationTime>"
          "<name>n2</name></domainsnapshot>", 0, NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *d = doc_with(bad[i].entries);
        int rc = try_import(f, d, SB_SNAPSHOT_IMPORT_CURRENT);
        if (bad[i].code)
            expect_error(rc, bad[i].code, bad[i].msg);
        else if (rc < 0) /* refused either way: never half-applied */
            sb_error_clear();
        else
            fail_msg("case %zu imported", i);
        assert_untouched(f, before);
        free(d);
    }
    free(before);
}

/* Names written with layout around a comment or CDATA: the reader of the
 * document (a scan) and each entry's own parse must read the same name,
 * the one libvirt reads ("a", not "\n  a\n"), or the import is refused
 * as an entry whose definition is named otherwise. */
static void import_names_with_layout(void **state)
{
    struct api_fx *f = *state;
    char *d = doc_with(ENTRY("\n    <!-- the root -->\n    <![CDATA[a]]>\n  ", "")
                           ENTRY("b", PARENT("\n      <![CDATA[a]]>\n    ")));
    assert_int_equal(import(f, d, NULL, 0, 0), 2);
    assert_string_equal(tree_of(f), "a b<a");
    free(d);

    /* entries past the reader's 64 KiB chunks read the same way: a name
     * whose blank run crosses the boundary, one ending right at it */
    /* the blank run after c's CDATA starts 350 bytes before 65536 */
    size_t pad = 65536 - 350 - strlen(" -->\n<domainsnapshot><name>\n<![CDATA[c]]>");
    char *big = calloc(pad + 4096, 1);
    strcpy(big, "<domainsnapshots>\n<!-- ");
    memset(big + strlen(big), 'p', pad - strlen(big));
    strcat(big, " -->\n" ENTRY("\n<![CDATA[c]]>"
                                "                                                        "
                                "                                                        "
                                "                                                        "
                                "                                                        "
                                "                                                        "
                                "                                                        "
                                "                                                        "
                                "                                                        "
                                                                "\n", PARENT("b"))
                "</domainsnapshots>\n");
    assert_int_equal(import(f, big, NULL, 0, 0), 1);
    assert_string_equal(tree_of(f), "a b<a c<b");
    free(big);

    const char *spaced = "<domainsnapshots xml:space='preserve'>" ENTRY("x", "")
                         "</domainsnapshots>";
    expect_error(try_import(f, spaced, 0), SB_ERR_XML_ERROR, "xml:space is not accepted");
}

static void import_refused_up_front(void **state)
{
    struct api_fx *f = *state;
    const char *doc = "<domainsnapshots/>";
    expect_error(sb_snapshot_import(NULL, f->c, "nosuchdom", doc, strlen(doc), NULL, NULL, 0, 0),
                 SB_ERR_NO_DOMAIN, "nosuchdom");
    expect_error(try_import(f, doc, 1u << 5), SB_ERR_INVALID_ARG, "unsupported flags");
    sb_path_map rel = { "images", "/x" };
    expect_error(sb_snapshot_import(NULL, f->c, DOM, doc, strlen(doc), NULL, &rel, 1, 0),
                 SB_ERR_INVALID_ARG, "must be absolute");
    expect_error(sb_snapshot_import(NULL, f->c, DOM, NULL, 0, NULL, NULL, 0, 0),
                 SB_ERR_INVALID_ARG, "no XML");
    struct api_fx *ro = api_fx_open(REF, SB_CONNECT_READONLY);
    expect_error(try_import(ro, doc, 0), SB_ERR_OPERATION_DENIED, "");
    api_fx_close(ro);
    /* an empty hierarchy imports nothing */
    assert_int_equal(import(f, doc, NULL, 0, 0), 0);
}

static void import_maps_paths(void **state)
{
    struct api_fx *f = *state;
    const char *d =
        "<domainsnapshots><domainsnapshot><name>m</name><state>running</state>"
        "<creationTime>1</creationTime><memory snapshot='external' file='/old/mem/m.save'/>"
        "<disks><disk name='vda' snapshot='external'><source file='/old/images/vm.m'/></disk>"
        "<disk name='vdb' snapshot='no'/></disks><domain type='test'><name>test</name>"
        "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>8192</memory><devices>"
        "<disk type='file' device='disk'><source file='/old/images/vm.img'/>"
        "<backingStore type='file'><source file='/old/base/b.img'/></backingStore>"
        "<target dev='vda'/></disk><disk type='file' device='disk'>"
        "<source file='/oldish/x.img'/><target dev='vdb'/></disk></devices></domain>"
        "</domainsnapshot></domainsnapshots>";
    sb_path_map maps[] = { { "/old", "/new" }, { "/old/images/", "/fast/" } };
    assert_int_equal(import(f, d, maps, 2, 0), 1);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "m", 0), 0);
    assert_non_null(strstr(xml, "file='/new/mem/m.save'"));   /* memory */
    assert_non_null(strstr(xml, "file='/fast/vm.m'"));        /* snapshot disk, longest rule */
    assert_non_null(strstr(xml, "file='/fast/vm.img'"));      /* domain disk */
    assert_non_null(strstr(xml, "file='/new/base/b.img'"));   /* its backing chain */
    assert_non_null(strstr(xml, "file='/oldish/x.img'"));     /* not under /old */
    assert_null(strstr(xml, "'/old/"));
    free(xml);
}

static void import_validate_flag(void **state)
{
    struct api_fx *f = *state;
    /* an unknown state: CONFIG_UNSUPPORTED from the redefine's own parse,
     * the schema's complaint first with VALIDATE (as for one redefine) */
    char *d = doc_with("<domainsnapshot><name>v</name><state>bogus</state>"
                       "<creationTime>1</creationTime>" TEST_DOMAIN "</domainsnapshot>");
    expect_error(try_import(f, d, 0), SB_ERR_CONFIG_UNSUPPORTED, "snapshot 'v'");
    expect_error(try_import(f, d, SB_SNAPSHOT_IMPORT_VALIDATE), SB_ERR_XML_INVALID_SCHEMA,
                 "snapshot 'v'");
    free(d);
    d = doc_with(ENTRY("v", ""));
    assert_int_equal(import(f, d, NULL, 0, SB_SNAPSHOT_IMPORT_VALIDATE), 1);
    free(d);
}

/* ---- hypervisor-owned metadata ---- */

static void hv_esx_refused(void **state)
{
    (void)state;
    struct api_fx *f = api_fx_open(ESX, 0);
    const char *doc = "not even XML";
    expect_error(try_import(f, doc, 0), SB_ERR_INVALID_ARG,
                 "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE");
    api_fx_close(f);
}

/* refhv-vbox keeps the tree itself: an import is one redefine per entry,
 * and a failing entry undoes what came before it. */
static void hv_vbox_import_and_undo(void **state)
{
    (void)state;
    struct api_fx *f = api_fx_open(VBOX, 0);
#define K1(desc)                                                                           \
    "<domainsnapshot><name>k1</name><description>" desc "</description>"                   \
    "<state>shutoff</state>" PARENT("r") "<creationTime>1700000000</creationTime>"         \
    TEST_DOMAIN "</domainsnapshot>\n"
    char *d = doc_with("<domainsnapshot current='yes'><name>r</name><state>shutoff</state>"
                       "<creationTime>1700000000</creationTime>" TEST_DOMAIN
                       "</domainsnapshot>" K1("old") ENTRY("k2", PARENT("k1")));
    assert_int_equal(import(f, d, NULL, 0, SB_SNAPSHOT_IMPORT_CURRENT), 3);
    assert_string_equal(tree_of(f), "r* k1<r k2<k1");
    char *before = export(f, NULL);
    assert_string_equal(entry_names(before), "r*,k1,k2");
    free(d);
    /* k1 replaced, k3 new and made current, then k4 fails: all undone */
    d = doc_with(K1("new") "<domainsnapshot current='yes'><name>k3</name><state>shutoff</state>"
                 PARENT("k2") "<creationTime>1700000000</creationTime>" TEST_DOMAIN
                 "</domainsnapshot>" ENTRY("k4", PARENT("nowhere")));
    expect_error(try_import(f, d, SB_SNAPSHOT_IMPORT_CURRENT), SB_ERR_INTERNAL_ERROR,
                 "doc.xml:3: snapshot 'k4': parent snapshot 'nowhere'");
    char *after = export(f, NULL);
    assert_string_equal(after, before);
    free(after);
    free(before);
    free(d);
    api_fx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_parents_first),
        cmocka_unit_test(order_refuses),
        cmocka_unit_test(reader_skips_what_is_between),
        cmocka_unit_test(reader_refuses),
        cmocka_unit_test_setup_teardown(export_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(export_order_and_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(export_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(import_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(import_any_order, setup, teardown),
        cmocka_unit_test_setup_teardown(import_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(import_names_with_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(import_refused_up_front, setup, teardown),
        cmocka_unit_test_setup_teardown(import_maps_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(import_validate_flag, setup, teardown),
        cmocka_unit_test(hv_esx_refused),
        cmocka_unit_test(hv_vbox_import_and_undo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
