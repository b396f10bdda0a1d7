/* sb_xml_same_tree: the broker skips printing a redefined snapshot's
 * <domain>, and asking a plugin's domain_validate about it, when it is
 * the same as the last one the connection kept (snap_create.c,
 * domain_memo), so "same" must never hold for two trees that print
 * differently: checked over every
 * pair of a set of documents that differ in one thing each (a name, an
 * attribute, a namespace, text, a comment, a child more or less, deep or
 * shallow), against the printer itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>

#include "core/error.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static const char *const docs[] = {
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/></disk></devices></domain>",
    /* the same written with other quotes: the same tree after the parse */
    "<domain type=\"kvm\"><name>a</name><devices><disk type=\"file\"><source file=\"/x\"/>"
    "<target dev=\"vda\"></target></disk></devices></domain>",
    "<domain type='qemu'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/></disk></devices></domain>",
    "<domain type='kvm' id='1'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/></disk></devices></domain>",
    "<domain type='kvm'><name>b</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/></disk></devices></domain>",
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/y'/>"
    "<target dev='vda'/></disk></devices></domain>",
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vdb'/></disk></devices></domain>",
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/></disk><disk type='file'/></devices></domain>",
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "</disk></devices></domain>",
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/><shareable/></disk></devices></domain>",
    "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/>"
    "<target dev='vda'/></disk></devices><on_crash>destroy</on_crash></domain>",
    "<domain type='kvm'><name>a</name></domain>",
    "<domain type='kvm'><name>a</name><devices/></domain>",
    "<domain type='kvm'><name>a</name><devices>text</devices></domain>",
    "<domain type='kvm'><name>a</name><devices>other</devices></domain>",
    "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
    "<name>a</name><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>",
    "<domain type='kvm' xmlns:qemu='http://example.org/other'>"
    "<name>a</name><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>",
    "<domain type='kvm' xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>"
    "<name>a</name><q:commandline><q:arg value='-x'/></q:commandline></domain>",
    "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
    "<name>a</name><qemu:commandline><qemu:arg value='-y'/></qemu:commandline></domain>",
    "<domain type='kvm'><name>a</name><!-- c --></domain>",
    "<domain type='kvm'><name>a</name><!-- d --></domain>",
    "<domain type='kvm'><name>a</name><description>x &amp; y</description></domain>",
    "<domain type='kvm'><name>a</name><description>x &lt; y</description></domain>",
    "<inactiveDomain type='kvm'><name>a</name></inactiveDomain>",
};
#define NDOCS (sizeof docs / sizeof docs[0])

static xmlDoc *parse(const char *s)
{
    xmlDoc *d = xmlReadMemory(s, (int)strlen(s), NULL, NULL, XML_PARSE_NONET);
    assert_non_null(d);
    return d;
}

static char *print(const xmlDoc *d)
{
    sb_buf b = { 0 };
    char *out = NULL;
    sb_xml_print_node(&b, xmlDocGetRootElement(d), 0, 0);
    assert_int_equal(sb_buf_finish(&b, &out), 0);
    return out;
}

static void same_only_when_printed_the_same(void **state)
{
    (void)state;
    xmlDoc *d[NDOCS];
    char *p[NDOCS];
    for (size_t i = 0; i < NDOCS; i++) {
        d[i] = parse(docs[i]);
        p[i] = print(d[i]);
    }
    for (size_t i = 0; i < NDOCS; i++)
        for (size_t j = 0; j < NDOCS; j++) {
            bool same = sb_xml_same_tree(xmlDocGetRootElement(d[i]),
                                         xmlDocGetRootElement(d[j]), false);
            if (same && strcmp(p[i], p[j]) != 0)
                fail_msg("documents %zu and %zu called the same, printed:\n%s\n%s", i, j,
                         p[i], p[j]);
            /* every document differs from the others but for 0 and 1 */
            bool want = i == j || (i < 2 && j < 2);
            if (same != want)
                fail_msg("documents %zu and %zu: same %d, expected %d", i, j, same, want);
        }
    /* the root's own name only when asked: <inactiveDomain> goes to a
     * plugin as a <domain> */
    xmlDoc *plain = parse("<domain type='kvm'><name>a</name></domain>");
    size_t inactive = NDOCS - 1;
    assert_false(sb_xml_same_tree(xmlDocGetRootElement(plain),
                                  xmlDocGetRootElement(d[inactive]), false));
    assert_true(sb_xml_same_tree(xmlDocGetRootElement(plain),
                                 xmlDocGetRootElement(d[inactive]), true));
    /* but only the root's */
    assert_false(sb_xml_same_tree(xmlDocGetRootElement(d[0]), xmlDocGetRootElement(d[4]), true));
    xmlFreeDoc(plain);
    for (size_t i = 0; i < NDOCS; i++) {
        xmlFreeDoc(d[i]);
        free(p[i]);
    }
}

/* A copy (what the connection keeps) is the same as its original. */
static void a_copy_is_the_same(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDOCS; i++) {
        xmlDoc *d = parse(docs[i]), *c = xmlCopyDoc(d, 1);
        assert_non_null(c);
        assert_true(sb_xml_same_tree(xmlDocGetRootElement(d), xmlDocGetRootElement(c), false));
        xmlFreeDoc(c);
        xmlFreeDoc(d);
    }
}

/* What the memo holds (sb_snapdef_print_domain) put into the document in
 * place of the <domain>'s own print gives the same bytes; a document
 * formatted without SB_SNAP_FORMAT_SECURE ignores it (the memo keeps
 * secrets, that form strips them). */
static void format_with_a_printed_domain(void **state)
{
    (void)state;
    static const char *const snaps[] = {
        "<domainsnapshot><name>s</name><state>running</state><creationTime>5</creationTime>"
        "<domain type='kvm'><name>a</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
        "<memory>65536</memory><devices><disk type='file' device='disk'>"
        "<source file='/x &amp; y'/><target dev='vda'/></disk>"
        "<graphics type='vnc' passwd='s3cret'/></devices></domain></domainsnapshot>",
        "<domainsnapshot><name>t</name><state>shutoff</state><creationTime>6</creationTime>"
        "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
        "<name>b</name><!-- kept --><qemu:commandline><qemu:arg value='-x'/>"
        "</qemu:commandline></domain></domainsnapshot>",
        "<domainsnapshot><name>u</name><state>shutoff</state><creationTime>7</creationTime>"
        "</domainsnapshot>",
    };
    for (size_t i = 0; i < sizeof snaps / sizeof snaps[0]; i++) {
        sb_snapdef *def = NULL;
        char *domain = NULL, *plain = NULL, *with = NULL;
        assert_int_equal(sb_snapdef_parse(snaps[i], strlen(snaps[i]), "s.xml",
                                          SB_SNAP_PARSE_REDEFINE, &def), 0);
        assert_int_equal(sb_snapdef_print_domain(def, &domain), 0);
        if (i < 2)
            assert_non_null(strstr(domain, "  <domain "));
        else
            assert_string_equal(domain, "");
        unsigned flags[] = { SB_SNAP_FORMAT_SECURE, 0, SB_SNAP_FORMAT_SECURE |
                             SB_SNAP_FORMAT_INTERNAL };
        for (size_t f = 0; f < 3; f++) {
            assert_int_equal(sb_snapdef_format(def, flags[f], &plain), 0);
            assert_int_equal(sb_snapdef_format_with(def, flags[f], domain, &with), 0);
            assert_string_equal(with, plain);
            if (i == 0)
                assert_true((strstr(with, "s3cret") != NULL) ==
                            ((flags[f] & SB_SNAP_FORMAT_SECURE) != 0));
            free(plain);
            free(with);
        }
        free(domain);
        sb_snapdef_free(def);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_only_when_printed_the_same),
        cmocka_unit_test(a_copy_is_the_same),
        cmocka_unit_test(format_with_a_printed_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
