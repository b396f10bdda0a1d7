/* Disk alignment policies and the default external file name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/error.h"
#include "snapbroker/xml.h"
#include "xml/snapdef.h"

static char dir[64];
static char domain_xml[2048];

static int setup(void **state)
{
    (void)state;
    char path[128];
    snprintf(dir, sizeof(dir), "/tmp/sbalign.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/sys.qcow2", dir);
    fclose(fopen(path, "w"));
    snprintf(path, sizeof(path), "%s/data.img", dir);
    fclose(fopen(path, "w"));
    /* vda: no snapshot= attr; vdb: snapshot='no'; vdc: snapshot='external';
     * hdd: empty cdrom. */
    snprintf(domain_xml, sizeof(domain_xml),
             "<domain type='test'><name>d</name><devices>"
             "<disk type='file'><source file='%s/sys.qcow2'/><target dev='vda'/></disk>"
             "<disk type='file' snapshot='no'><source file='%s/data.img'/><target dev='vdb'/></disk>"
             "<disk type='file' snapshot='external'><source file='%s/data.img'/>"
             "<target dev='vdc'/></disk>"
             "<disk type='file' device='cdrom'><target dev='hdd'/></disk>"
             "</devices></domain>", dir, dir, dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/sys.qcow2", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/data.img", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* Parse disks, align with the test domain under pol; return rc and leave
 * *out (caller frees) on success. */
static int align(const char *disks, const struct sb_align_policy *pol, sb_snapdef **out)
{
    char xml[1024];
    sb_domdef *dom;
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>s1</name><disks>%s</disks></domainsnapshot>",
             disks);
    sb_error_clear();
    assert_int_equal(sb_snapdef_parse(xml, strlen(xml), NULL, 0, out), 0);
    assert_int_equal(sb_domdef_parse(domain_xml, strlen(domain_xml), &dom), 0);
    int rc = sb_snapdef_align_disks(*out, dom, pol);
    sb_domdef_free(dom);
    if (rc < 0) {
        sb_snapdef_free(*out);
        *out = NULL;
    }
    return rc;
}

static struct sb_align_policy qemu(int def)
{
    struct sb_align_policy p = {def, true, false, true, true, "qemu", false};
    return p;
}

static void fills_in_domain_order(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_INTERNAL);
    sb_snapdef *def;
    assert_int_equal(align("<disk name='vdb' snapshot='no'/>", &p, &def), 0);
    assert_int_equal(def->ndisks, 4);
    assert_string_equal(def->disks[0].name, "vda");
    assert_int_equal(def->disks[0].snapshot, SB_LOCATION_INTERNAL);
    assert_string_equal(def->disks[1].name, "vdb");
    assert_int_equal(def->disks[1].snapshot, SB_LOCATION_NO);
    /* An unlisted disk takes the domain disk's own snapshot= (step 4),
     * even under "all internal or nothing". */
    assert_int_equal(def->disks[2].snapshot, SB_LOCATION_EXTERNAL);
    assert_int_equal(def->disks[3].snapshot, SB_LOCATION_NO); /* empty cdrom */
    sb_snapdef_free(def);
}

static void uniform_internal(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_INTERNAL);
    sb_snapdef *def;
    assert_int_equal(align("<disk name='vda' snapshot='external'/>", &p, &def),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "must use snapshot mode 'internal'"));
    /* Listed with default mode: the domain's 'external' is ignored when a
     * match is required, so vdc becomes internal. */
    assert_int_equal(align("<disk name='vdc'/>", &p, &def), 0);
    assert_int_equal(def->disks[2].snapshot, SB_LOCATION_INTERNAL);
    sb_snapdef_free(def);
    /* Without uniform_internal, mixing is fine. */
    p.uniform_internal = false;
    assert_int_equal(align("<disk name='vda' snapshot='external'/>", &p, &def), 0);
    assert_int_equal(def->disks[0].snapshot, SB_LOCATION_EXTERNAL);
    sb_snapdef_free(def);
}

static void no_override(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_EXTERNAL);
    p.allow_override = false;
    p.plugin_name = "esx";
    sb_snapdef *def;
    assert_int_equal(align("<disk name='vdb' snapshot='internal'/>", &p, &def),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "esx does not allow per-disk overrides"));
    /* vda has no snapshot= of its own: any explicit mode is an override. */
    assert_int_equal(align("<disk name='vda' snapshot='external'/>", &p, &def),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    assert_int_equal(align("<disk name='vdb' snapshot='no'/><disk name='vdc' snapshot='external'/>",
                           &p, &def), 0);
    sb_snapdef_free(def);
}

static void no_disk_entries(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_INTERNAL);
    p.allow_disk_entries = false;
    p.plugin_name = "esx";
    sb_snapdef *def;
    assert_int_equal(align("<disk name='vda'/>", &p, &def), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "not supported by esx"));
    assert_null(def);
}

static void force_default(void **state)
{
    (void)state;
    struct sb_align_policy p = {SB_LOCATION_EXTERNAL, false, true, true, true, NULL, false};
    sb_snapdef *def;
    /* vdc is listed as 'no' so that only vdb uses data.img. */
    assert_int_equal(align("<disk name='vdc' snapshot='no'/>", &p, &def), 0);
    /* vdb's snapshot='no' is skipped; the empty cdrom still gets 'no'. */
    assert_int_equal(def->disks[1].snapshot, SB_LOCATION_EXTERNAL);
    assert_int_equal(def->disks[3].snapshot, SB_LOCATION_NO);
    char want[128];
    snprintf(want, sizeof(want), "%s/sys.s1", dir);
    assert_string_equal(def->disks[0].src_path, want);
    sb_snapdef_free(def);
}

/* readonly_no (a plugin that never snapshots read-only disks): an
 * unlisted <readonly/> disk is 'no' instead of the default location; a
 * listed one keeps what the request says (the plugin judges it). */
static void readonly_unlisted(void **state)
{
    (void)state;
    char saved[sizeof(domain_xml)];
    memcpy(saved, domain_xml, sizeof(saved));
    snprintf(domain_xml, sizeof(domain_xml),
             "<domain type='test'><name>d</name><devices>"
             "<disk type='file'><source file='%s/sys.qcow2'/><target dev='vda'/></disk>"
             "<disk type='file'><source file='%s/data.img'/><target dev='vdb'/><readonly/>"
             "</disk></devices></domain>", dir, dir);
    struct sb_align_policy p = {SB_LOCATION_EXTERNAL, false, false, true, true, NULL, true};
    sb_snapdef *def;
    assert_int_equal(align("", &p, &def), 0);
    assert_int_equal(def->disks[0].snapshot, SB_LOCATION_EXTERNAL);
    assert_int_equal(def->disks[1].snapshot, SB_LOCATION_NO);
    sb_snapdef_free(def);
    assert_int_equal(align("<disk name='vdb' snapshot='external'/>", &p, &def), 0);
    assert_int_equal(def->disks[1].snapshot, SB_LOCATION_EXTERNAL);
    sb_snapdef_free(def);
    p.readonly_no = false; /* libvirt's rule: like any disk */
    assert_int_equal(align("", &p, &def), 0);
    assert_int_equal(def->disks[1].snapshot, SB_LOCATION_EXTERNAL);
    sb_snapdef_free(def);
    memcpy(domain_xml, saved, sizeof(saved));
}

static void collision_of_generated_names(void **state)
{
    (void)state;
    /* vdb and vdc share data.img: both would become data.s1. */
    struct sb_align_policy p = {SB_LOCATION_EXTERNAL, false, true, true, true, NULL, false};
    sb_snapdef *def;
    assert_int_equal(align("<disk name='vda' snapshot='no'/>", &p, &def),
                     -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "collision with disk 'vdb'"));
}

static void lookup_by_path(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_INTERNAL);
    sb_snapdef *def;
    char disks[256];
    snprintf(disks, sizeof(disks), "<disk name='%s/sys.qcow2'/>", dir);
    assert_int_equal(align(disks, &p, &def), 0);
    assert_string_equal(def->disks[0].name, "vda");
    sb_snapdef_free(def);
    /* data.img backs two disks: ambiguous. */
    snprintf(disks, sizeof(disks), "<disk name='%s/data.img' snapshot='no'/>", dir);
    assert_int_equal(align(disks, &p, &def), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "more than one disk"));
    /* Named twice: once by target, once by path. */
    snprintf(disks, sizeof(disks), "<disk name='vda'/><disk name='%s/sys.qcow2'/>", dir);
    assert_int_equal(align(disks, &p, &def), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "sys.qcow2' specified twice"));
}

static void count_check_first(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_INTERNAL);
    sb_snapdef *def;
    assert_int_equal(align("<disk name='x1'/><disk name='x2'/><disk name='x3'/><disk name='x4'/>"
                           "<disk name='x5'/>", &p, &def), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(sb_error_last()->message, "too many disk snapshot requests"));
}

static void missing_domain(void **state)
{
    (void)state;
    struct sb_align_policy p = qemu(SB_LOCATION_INTERNAL);
    sb_snapdef *def = sb_snapdef_new();
    def->name = strdup("s");
    assert_int_equal(sb_snapdef_align_disks(def, NULL, &p), -SB_ERR_INTERNAL_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "missing domain in snapshot"));
    sb_snapdef_free(def);
}

static void default_path_rule(void **state)
{
    (void)state;
    char *p;
    assert_int_equal(sb_snap_default_path("/img/vm.qcow2", "s1", &p), 0);
    assert_string_equal(p, "/img/vm.s1");
    free(p);
    assert_int_equal(sb_snap_default_path("/img.d/vm", "s1", &p), 0);
    assert_string_equal(p, "/img.d/vm.s1"); /* dot not in the last component */
    free(p);
    assert_int_equal(sb_snap_default_path("/img/a.b.c", "x", &p), 0);
    assert_string_equal(p, "/img/a.b.x");
    free(p);
}

static void normalize_api(void **state)
{
    (void)state;
    sb_normalize_opts o = {0};
    char *out = NULL;
    const char *xml = "<domainsnapshot/>";
    o.creation_time = 42;
    assert_int_equal(sb_xml_normalize(xml, strlen(xml), NULL, &o, &out), 0);
    assert_non_null(strstr(out, "<name>42</name>"));
    free(out);
    /* creation_time 0 means now. */
    o.creation_time = 0;
    assert_int_equal(sb_xml_normalize(xml, strlen(xml), NULL, NULL, &out), 0);
    assert_null(strstr(out, "<name>0</name>"));
    free(out);
    assert_int_equal(sb_xml_normalize(NULL, 0, NULL, NULL, &out), -SB_ERR_INVALID_ARG);
    assert_int_equal(sb_xml_normalize(xml, strlen(xml), NULL, NULL, NULL), -SB_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fills_in_domain_order),
        cmocka_unit_test(uniform_internal),
        cmocka_unit_test(no_override),
        cmocka_unit_test(no_disk_entries),
        cmocka_unit_test(force_default),
        cmocka_unit_test(readonly_unlisted),
        cmocka_unit_test(collision_of_generated_names),
        cmocka_unit_test(lookup_by_path),
        cmocka_unit_test(count_check_first),
        cmocka_unit_test(missing_domain),
        cmocka_unit_test(default_path_rule),
        cmocka_unit_test(normalize_api),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
