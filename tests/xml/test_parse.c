/* Parse modes, error classes, the formatter and secure stripping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/error.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static int parse(const char *xml, unsigned flags, sb_snapdef **def)
{
    sb_error_clear();
    return sb_snapdef_parse(xml, strlen(xml), "s.xml", flags, def);
}

static void expect_error(const char *xml, unsigned flags, int code, const char *fragment)
{
    sb_snapdef *def = NULL;
    int rc = parse(xml, flags, &def);
    if (rc != -code || !strstr(sb_error_last()->message, fragment))
        fail_msg("expected %d '%s', got %d '%s'", code, fragment, -rc, sb_error_last()->message);
    assert_null(def);
}

#define REDEF SB_SNAP_PARSE_REDEFINE
#define HEAD "<name>s</name><state>running</state><creationTime>7</creationTime>"

static void create_ignores_readonly_fields(void **state)
{
    (void)state;
    sb_snapdef *def;
    assert_int_equal(parse("<domainsnapshot><state>x</state><parent><name>p</name></parent>"
                           "<creationTime>junk</creationTime><domain type='kvm'/>"
                           "<revertDisks><disk name='vda'/></revertDisks>"
                           "<inactiveDomain type='kvm'/></domainsnapshot>",
                           0, &def),
                     0);
    assert_null(def->name);
    assert_int_equal(def->state, SB_STATE_NOSTATE);
    assert_null(def->parent);
    assert_false(def->has_creation_time);
    assert_null(def->domain);
    assert_null(def->inactive_domain);
    assert_int_equal(def->nrevert_disks, 0);
    assert_int_equal(def->memory, SB_LOCATION_DEFAULT); /* the driver decides */
    assert_int_equal(def->active, -1);
    sb_snapdef_free(def);
}

static void redefine_reads_everything(void **state)
{
    (void)state;
    sb_snapdef *def;
    assert_int_equal(
        parse("<domainsnapshot>" HEAD "<parent><name>p</name></parent>"
              "<disks><disk name='vda' snapshot='external'><source file='/a'/></disk></disks>"
              "<revertDisks><disk name='vda'><source file='/b'/></disk></revertDisks>"
              "<domain type='test'><name>d</name><devices><disk><target dev='vda'/>"
              "</disk></devices></domain><cookie><cpu/></cookie></domainsnapshot>",
              REDEF, &def),
        0);
    assert_string_equal(def->name, "s");
    assert_int_equal(def->state, SB_STATE_RUNNING);
    assert_string_equal(def->parent, "p");
    assert_int_equal(def->creation_time, 7);
    assert_int_equal(def->memory, SB_LOCATION_INTERNAL); /* online default */
    assert_int_equal(def->ndisks, 1);
    assert_string_equal(def->disks[0].src_path, "/a");
    assert_int_equal(def->nrevert_disks, 1);
    assert_int_equal(def->revert_disks[0].snapshot, SB_LOCATION_EXTERNAL);
    assert_non_null(def->domain);
    assert_non_null(def->cookie);
    assert_true(sb_snapdef_is_external(def));
    sb_snapdef_free(def);
}

static void redefine_required_fields(void **state)
{
    (void)state;
    expect_error("<domainsnapshot><state>running</state><creationTime>1</creationTime>"
                 "</domainsnapshot>", REDEF, SB_ERR_XML_ERROR, "must have a <name>");
    expect_error("<domainsnapshot><name>s</name><creationTime>1</creationTime>"
                 "</domainsnapshot>", REDEF, SB_ERR_XML_ERROR, "missing <state>");
    expect_error("<domainsnapshot><name>s</name><state>nostate</state>"
                 "<creationTime>1</creationTime></domainsnapshot>", REDEF,
                 SB_ERR_CONFIG_UNSUPPORTED, "Invalid state 'nostate'");
    expect_error("<domainsnapshot><name>s</name><state>running</state></domainsnapshot>",
                 REDEF, SB_ERR_INTERNAL_ERROR, "creationTime");
    expect_error("<domainsnapshot><name>s</name><state>running</state>"
                 "<creationTime>1.5</creationTime></domainsnapshot>",
                 REDEF, SB_ERR_INTERNAL_ERROR, "s.xml:1:");
}

static void pmsuspended_parses(void **state)
{
    (void)state;
    sb_snapdef *def;
    assert_int_equal(parse("<domainsnapshot><name>s</name><state>pmsuspended</state>"
                           "<creationTime>1</creationTime></domainsnapshot>", REDEF, &def), 0);
    assert_int_equal(def->state, SB_STATE_PMSUSPENDED);
    sb_snapdef_free(def);
}

static void offline_rules(void **state)
{
    (void)state;
    sb_snapdef *def;
    expect_error("<domainsnapshot><memory snapshot='internal'/></domainsnapshot>",
                 SB_SNAP_PARSE_OFFLINE, SB_ERR_XML_ERROR, "offline or disk-only");
    assert_int_equal(parse("<domainsnapshot><name>s</name><state>shutoff</state>"
                           "<creationTime>1</creationTime><cookie><x/></cookie>"
                           "</domainsnapshot>", REDEF, &def), 0);
    assert_int_equal(def->memory, SB_LOCATION_NO);
    assert_null(def->cookie); /* not parsed when offline */
    sb_snapdef_free(def);
}

static void internal_active(void **state)
{
    (void)state;
    sb_snapdef *def;
    unsigned f = REDEF | SB_SNAP_PARSE_INTERNAL;
    expect_error("<domainsnapshot>" HEAD "</domainsnapshot>", f, SB_ERR_INTERNAL_ERROR,
                 "<active>");
    assert_int_equal(parse("<domainsnapshot>" HEAD "<active>1</active></domainsnapshot>", f,
                           &def), 0);
    assert_int_equal(def->active, 1);
    char *out;
    assert_int_equal(sb_snapdef_format(def, SB_SNAP_FORMAT_INTERNAL, &out), 0);
    assert_non_null(strstr(out, "  <active>0</active>\n</domainsnapshot>"));
    free(out);
    assert_int_equal(sb_snapdef_format(def, SB_SNAP_FORMAT_INTERNAL | SB_SNAP_FORMAT_CURRENT,
                                       &out), 0);
    assert_non_null(strstr(out, "<active>1</active>"));
    free(out);
    assert_int_equal(sb_snapdef_format(def, 0, &out), 0);
    assert_null(strstr(out, "<active>"));
    free(out);
    sb_snapdef_free(def);
}

static void disk_rules(void **state)
{
    (void)state;
    sb_snapdef *def;
    expect_error("<domainsnapshot><disks><disk/></disks></domainsnapshot>", 0,
                 SB_ERR_INTERNAL_ERROR, "missing name");
    expect_error("<domainsnapshot><disks><disk name='a' type='dir'/></disks></domainsnapshot>",
                 0, SB_ERR_XML_ERROR, "unsupported disk snapshot type 'dir'");
    expect_error("<domainsnapshot><disks><disk name='a'><driver type='qcow9'/></disk></disks>"
                 "</domainsnapshot>", 0, SB_ERR_CONFIG_UNSUPPORTED, "qcow9");
    expect_error("<domainsnapshot><disks><disk name='a'><source file='x'/></disk></disks>"
                 "</domainsnapshot>", 0, SB_ERR_XML_ERROR, "must be absolute");
    /* deleteInProgress only on redefine */
    assert_int_equal(parse("<domainsnapshot><disks><disk name='a'>"
                           "<snapshotDeleteInProgress/></disk></disks></domainsnapshot>",
                           0, &def), 0);
    assert_false(def->disks[0].delete_in_progress);
    assert_int_equal(def->disks[0].snapshot, SB_LOCATION_DEFAULT);
    sb_snapdef_free(def);
    /* A format alone implies external. */
    assert_int_equal(parse("<domainsnapshot><disks><disk name='a'><driver type='qcow2'/>"
                           "</disk><disk name='b' type='block'><source dev='/dev/x'/></disk>"
                           "</disks></domainsnapshot>", 0, &def), 0);
    assert_int_equal(def->disks[0].snapshot, SB_LOCATION_EXTERNAL);
    assert_int_equal(def->disks[1].type, SB_SNAPDISK_BLOCK);
    assert_string_equal(def->disks[1].src_path, "/dev/x");
    sb_snapdef_free(def);
}

static unsigned long long cache_of(const char *unit, const char *value)
{
    char xml[300];
    sb_snapdef *def;
    snprintf(xml, sizeof(xml),
             "<domainsnapshot><disks><disk name='a'><driver type='qcow2'><metadata_cache>"
             "<max_size%s%s%s>%s</max_size></metadata_cache></driver></disk></disks>"
             "</domainsnapshot>", unit ? " unit='" : "", unit ? unit : "", unit ? "'" : "",
             value);
    assert_int_equal(parse(xml, 0, &def), 0);
    assert_true(def->disks[0].has_metadata_cache);
    unsigned long long v = def->disks[0].metadata_cache_max_size;
    sb_snapdef_free(def);
    return v;
}

static void scaled_units(void **state)
{
    (void)state;
    assert_int_equal(cache_of(NULL, "10"), 10);
    assert_int_equal(cache_of("bytes", "10"), 10);
    assert_int_equal(cache_of("k", "1"), 1024);
    assert_int_equal(cache_of("KB", "1"), 1000);
    assert_int_equal(cache_of("MiB", "2"), 2 * 1024 * 1024);
    assert_int_equal(cache_of("G", "1"), 1024ULL * 1024 * 1024);
    assert_true(cache_of("EiB", "15") == 15ULL << 60);
    expect_error("<domainsnapshot><disks><disk name='a'><driver><metadata_cache>"
                 "<max_size>-1</max_size></metadata_cache></driver></disk></disks>"
                 "</domainsnapshot>", 0, SB_ERR_XML_ERROR, "Invalid value '-1'");
}

static void format_escaping(void **state)
{
    (void)state;
    sb_snapdef *def = sb_snapdef_new();
    char *out;
    def->name = strdup("a<b>&\"c'");
    def->description = strdup("line1\n  line2\t&");
    def->memory = SB_LOCATION_EXTERNAL;
    def->memory_file = strdup("/m/it's \"x\"\n");
    assert_int_equal(sb_snapdef_format(def, 0, &out), 0);
    assert_string_equal(out,
                        "<domainsnapshot>\n"
                        "  <name>a&lt;b&gt;&amp;&quot;c&apos;</name>\n"
                        "  <description>line1\n  line2\t&amp;</description>\n"
                        "  <memory snapshot='external' file='/m/it&apos;s &quot;x&quot;&#10;'/>\n"
                        "</domainsnapshot>\n");
    free(out);
    sb_snapdef_free(def);
}

static void printer_rules(void **state)
{
    (void)state;
    const char *xml = "<r xmlns:q='urn:q' a='1' q:b='&amp;'>\n  <!-- c -->\n  <e/>\n"
                      "  text <f>  kept  </f>\n  <g>\n  </g><h> </h></r>";
    xmlDoc *doc;
    sb_buf b = {0};
    char *out;
    assert_int_equal(sb_xml_read(xml, strlen(xml), NULL, &doc), 0);
    sb_xml_print_node(&b, xmlDocGetRootElement(doc), 1, 0);
    assert_int_equal(sb_buf_finish(&b, &out), 0);
    assert_string_equal(out, "  <r xmlns:q='urn:q' a='1' q:b='&amp;'>\n"
                             "    <e/>\n"
                             "    text\n"
                             "    <f>  kept  </f>\n"
                             "    <g/>\n"
                             "    <h> </h>\n"
                             "  </r>\n");
    free(out);
    xmlFreeDoc(doc);
}

/* A redefine's <domain> leaves the parsed document without a copy when
 * nothing in it needs the rest (snap_parse.c take_domain), and is copied
 * when it uses a namespace declared on <domainsnapshot>: either way the
 * stored form is the same, with live-only content stripped. */
static void domain_moved_or_copied(void **state)
{
    (void)state;
    static const struct {
        const char *root, *before, *domain, *want;
    } cases[] = {
        /* moved: a comment and a PI beside the root go with the rest;
         * xml:lang is the document's own prefix and stays valid */
        {"<domainsnapshot>", "<!-- c --><?pi x?>",
         "<domain type='qemu' xml:lang='en'><name>d</name><devices>"
         "<serial type='pty'><source path='/dev/pts/3'/></serial></devices>"
         "<q:x xmlns:q='urn:q' q:a='1'/></domain>",
         "  <domain type='qemu' xml:lang='en'>\n    <name>d</name>\n"
         "    <devices>\n      <serial type='pty'/>\n    </devices>\n"
         "    <q:x xmlns:q='urn:q' q:a='1'/>\n  </domain>\n"},
        /* copied: q is declared on the root; the copy declares it on <domain> */
        {"<domainsnapshot xmlns:q='urn:q'>", "",
         "<domain type='qemu'><name>d</name><q:x q:a='1'/></domain>",
         "  <domain xmlns:q='urn:q' type='qemu'>\n    <name>d</name>\n"
         "    <q:x q:a='1'/>\n  </domain>\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char xml[1024], *out;
        sb_snapdef *def;
        snprintf(xml, sizeof xml, "%s%s" HEAD "%s</domainsnapshot>", cases[i].before,
                 cases[i].root, cases[i].domain);
        assert_int_equal(parse(xml, REDEF, &def), 0);
        assert_non_null(def->domain);
        assert_int_equal(sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &out), 0);
        if (!strstr(out, cases[i].want))
            fail_msg("case %zu: got\n%s", i, out);
        free(out);
        sb_snapdef_free(def);
    }
}

static const char secret_domain[] =
    "<domain type='test'><name>d</name><devices>"
    "<disk type='file'><source file='/i'><encryption format='luks'>"
    "<secret type='passphrase' uuid='u'/></encryption></source><target dev='vda'/></disk>"
    "<graphics type='vnc' passwd='pw'/><graphics type='spice' password='pw2'/>"
    "<launch><key>k</key><passphrase>p</passphrase></launch>"
    "</devices></domain>";

static void secure_stripping(void **state)
{
    (void)state;
    sb_snapdef *def = sb_snapdef_new();
    char *out;
    def->name = strdup("s");
    assert_int_equal(sb_snapdef_set_domain(def, secret_domain), 0);
    assert_int_equal(sb_snapdef_format(def, 0, &out), 0);
    assert_null(strstr(out, "passwd"));
    assert_null(strstr(out, "password"));
    assert_null(strstr(out, "<secret"));
    assert_null(strstr(out, "<key>"));
    assert_null(strstr(out, "<passphrase>"));
    assert_non_null(strstr(out, "<encryption format='luks'/>"));
    assert_non_null(strstr(out, "<graphics type='vnc'/>"));
    free(out);
    assert_int_equal(sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, &out), 0);
    assert_non_null(strstr(out, "passwd='pw'"));
    assert_non_null(strstr(out, "password='pw2'"));
    assert_non_null(strstr(out, "<secret type='passphrase' uuid='u'/>"));
    assert_non_null(strstr(out, "<key>k</key>"));
    free(out);
    sb_snapdef_free(def);
}

static void set_domain_checks(void **state)
{
    (void)state;
    sb_snapdef *def = sb_snapdef_new();
    assert_int_equal(sb_snapdef_set_domain(def, "<domain><name>x</name></domain>"),
                     -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "type"));
    assert_int_equal(sb_snapdef_set_domain(def, "<dom type='x'/>"), -SB_ERR_XML_ERROR);
    assert_int_equal(sb_snapdef_set_domain(def, "<domain type='x'><name>x</name><devices>"
                                                "<disk><target dev='a'/></disk><disk>"
                                                "<target dev='a'/></disk></devices></domain>"),
                     -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "used twice"));
    /* fuzz: a target that looks like a path could never be found by name */
    assert_int_equal(sb_snapdef_set_domain(def, "<domain type='x'><name>x</name><devices>"
                                                "<disk><target dev='/vda'/></disk>"
                                                "</devices></domain>"),
                     -SB_ERR_XML_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "must not start with '/'"));
    assert_null(def->domain);
    sb_snapdef_free(def);
}

static void wrong_root_and_uuid_form(void **state)
{
    (void)state;
    sb_snapdef *def;
    expect_error("<snap/>", 0, SB_ERR_XML_ERROR, "unexpected root element <snap>");
    assert_int_equal(parse("<domainsnapshot>" HEAD "<domain><uuid>abc</uuid></domain>"
                           "</domainsnapshot>", REDEF, &def), 0);
    assert_null(def->domain);
    assert_string_equal(def->domain_uuid, "abc");
    char *out;
    assert_int_equal(sb_snapdef_format(def, 0, &out), 0);
    assert_non_null(strstr(out, "  <domain>\n    <uuid>abc</uuid>\n  </domain>\n"));
    free(out);
    sb_snapdef_free(def);
}

static void validate_flag(void **state)
{
    (void)state;
    sb_snapdef *def;
    expect_error("<domainsnapshot><memory snapshot='manual'/></domainsnapshot>",
                 SB_SNAP_PARSE_VALIDATE, SB_ERR_XML_INVALID_SCHEMA, "element <memory>");
    assert_int_equal(parse("<domainsnapshot><name>v</name></domainsnapshot>",
                           SB_SNAP_PARSE_VALIDATE, &def), 0);
    sb_snapdef_free(def);
    /* Without VALIDATE the schema is never applied, also not on redefine
     * (as libvirt): the parser's own rules and classes decide. */
    expect_error("<domainsnapshot><memory snapshot='manual'/></domainsnapshot>", 0,
                 SB_ERR_XML_ERROR, "'manual'");
    static const char pm[] = "<domainsnapshot><name>s</name><state>pmsuspended</state>"
                             "<creationTime>1</creationTime><future a='1'>x</future>"
                             "</domainsnapshot>";
    assert_int_equal(parse(pm, REDEF, &def), 0);
    assert_int_equal(def->state, SB_STATE_PMSUSPENDED);
    sb_snapdef_free(def);
    expect_error(pm, REDEF | SB_SNAP_PARSE_VALIDATE, SB_ERR_XML_INVALID_SCHEMA, "<state>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_ignores_readonly_fields),
        cmocka_unit_test(redefine_reads_everything),
        cmocka_unit_test(redefine_required_fields),
        cmocka_unit_test(pmsuspended_parses),
        cmocka_unit_test(offline_rules),
        cmocka_unit_test(internal_active),
        cmocka_unit_test(disk_rules),
        cmocka_unit_test(scaled_units),
        cmocka_unit_test(format_escaping),
        cmocka_unit_test(printer_rules),
        cmocka_unit_test(domain_moved_or_copied),
        cmocka_unit_test(secure_stripping),
        cmocka_unit_test(set_domain_checks),
        cmocka_unit_test(wrong_root_and_uuid_form),
        cmocka_unit_test(validate_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
