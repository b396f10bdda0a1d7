/* The public API on hypervisor-owned snapshot metadata
 * (caps.meta_owner = SB_META_HYPERVISOR), through the "refhv" fixtures
 * (tests/plugins/refhv): refhv follows libvirt's ESX driver (spec §6.2),
 * refhv-vbox its VirtualBox driver (§6.3).  Every call the broker
 * dispatches to such a plugin is covered in both modes: flag masks
 * refused before the plugin runs (the plugin's state file is then
 * untouched: same inode, same bytes, since every write of it is a rename),
 * per-disk entries, create-as-redefine parsing, the listings and lookups
 * answered by the plugin, set_current through redefine, check, undefine,
 * and a few CLI commands.  Each test gets a fresh state directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "api_fixture.h"
#include "snapbroker/snapbroker.h"

#define ESX "refhv:///default"
#define VBOX "refhv-vbox:///default"
#define DOM "test"

static int setup_uri(void **state, const char *uri)
{
    *state = api_fx_open(uri, 0);
    return 0;
}

static int setup_esx(void **state)
{
    return setup_uri(state, ESX);
}

static int setup_vbox(void **state)
{
    return setup_uri(state, VBOX);
}

static int teardown(void **state)
{
    api_fx_close(*state);
    return 0;
}

static void expect_error(int rc, int code, const char *fragment)
{
    if (rc != -code || sb_error_last()->code != code)
        fail_msg("expected error %d, got rc %d (%s)", code, rc,
                 sb_error_last() ? sb_error_last()->message : "no message");
    if (!strstr(sb_error_last()->message, fragment))
        fail_msg("message '%s' lacks '%s'", sb_error_last()->message, fragment);
}

/* ---- the plugin's state file: proof that a call never reached it ---- */

struct stamp {
    ino_t ino;
    char *bytes;
};

static void state_path(struct api_fx *f, char *out, size_t size)
{
    snprintf(out, size, "%s/hosts/%s/plugin-%s/refhv", f->dir, sb_connection_host(f->c),
             sb_connection_plugin(f->c));
}

static struct stamp stamp_take(struct api_fx *f)
{
    char path[512];
    struct stamp s = { 0 };
    struct stat st;
    FILE *fp;
    long n;

    state_path(f, path, sizeof(path));
    assert_int_equal(stat(path, &st), 0); /* tests stamp after a first write */
    s.ino = st.st_ino;
    assert_non_null(fp = fopen(path, "rb"));
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    s.bytes = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(s.bytes, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return s;
}

static void stamp_same(struct api_fx *f, struct stamp *before)
{
    struct stamp now = stamp_take(f);
    assert_true(now.ino == before->ino); /* never rewritten */
    assert_string_equal(now.bytes, before->bytes);
    free(now.bytes);
}

/* ---- helpers ---- */

static int try_create(struct api_fx *f, const char *name, unsigned flags)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    return sb_snapshot_create_xml(NULL, f->c, DOM, xml, flags);
}

static void create(struct api_fx *f, const char *name, unsigned flags)
{
    if (try_create(f, name, flags) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

/* A VirtualBox create: parsed as a redefine, so name, state and
 * creationTime are required; the live <domain> is embedded (see
 * vbox_plain_create_needs_no_domain for why). */
static char *vbox_xml(struct api_fx *f, const char *name, const char *parent, const char *state,
                      long long ctime)
{
    char *dom = NULL, *xml = NULL, par[300] = "";
    assert_int_equal(sb_domain_get_xml(&dom, f->c, DOM, 0), 0);
    if (parent)
        snprintf(par, sizeof(par), "<parent><name>%s</name></parent>", parent);
    assert_true(asprintf(&xml,
                         "<domainsnapshot><name>%s</name><state>%s</state>%s"
                         "<creationTime>%lld</creationTime>%s</domainsnapshot>",
                         name, state, par, ctime, dom) > 0);
    free(dom);
    return xml;
}

static int vbox_try(struct api_fx *f, const char *name, const char *parent, unsigned flags)
{
    char *xml = vbox_xml(f, name, parent, "running", 1000);
    int rc = sb_snapshot_create_xml(NULL, f->c, DOM, xml, flags);
    free(xml);
    return rc;
}

static void vbox_create(struct api_fx *f, const char *name)
{
    if (vbox_try(f, name, NULL, 0) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

static void assert_current(struct api_fx *f, const char *want)
{
    char *cur = NULL;
    int rc = sb_snapshot_current(&cur, f->c, DOM);
    if (!want) {
        assert_int_not_equal(rc, 0);
        assert_null(cur);
        return;
    }
    if (rc != 0)
        fail_msg("current: %s", sb_error_last()->message);
    assert_string_equal(cur, want);
    free(cur);
}

static void assert_parent(struct api_fx *f, const char *name, const char *want)
{
    char *p = NULL;
    int rc = sb_snapshot_parent(&p, f->c, DOM, name);
    if (!want) {
        expect_error(rc, SB_ERR_NO_DOMAIN_SNAPSHOT, "does not have a parent");
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(p, want);
    free(p);
}

/* Names joined with ',' in listing order; NULL on error. */
static const char *list(struct api_fx *f, const char *from, unsigned flags)
{
    static char buf[512];
    char **names = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (sb_snapshot_list(&names, &n, f->c, DOM, from, flags) < 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, names[i]);
    }
    sb_names_free(names, n);
    return buf;
}

static void assert_list(struct api_fx *f, const char *from, unsigned flags, const char *want)
{
    const char *got = list(f, from, flags);
    if (!got)
        fail_msg("list from %s flags 0x%x: %s", from ? from : "-", flags,
                 sb_error_last()->message);
    assert_string_equal(got, want);
}

static int domain_state(struct api_fx *f)
{
    int st = -1;
    assert_int_equal(sb_domain_get_state(&st, f->c, DOM), 0);
    return st;
}

/* ======================= ESX (refhv) ======================= */

/* s1 -> {s2, s3}, current s3: the plugin answers every listing. */
static void esx_tree_and_listings(void **state)
{
    struct api_fx *f = *state;
    size_t count = 0;

    assert_string_equal(sb_connection_plugin(f->c), "refhv");
    assert_list(f, NULL, 0, "");
    expect_error(sb_snapshot_current(&(char *){ NULL }, f->c, DOM), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "no current snapshot");
    create(f, "s1", 0);
    create(f, "s2", 0);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "s1", 0), 0);
    create(f, "s3", 0);
    assert_current(f, "s3");
    assert_parent(f, "s2", "s1");
    assert_parent(f, "s3", "s1");
    assert_parent(f, "s1", NULL);
    assert_list(f, NULL, 0, "s1,s2,s3");
    assert_list(f, NULL, SB_SNAPSHOT_LIST_ROOTS, "s1");
    assert_list(f, NULL, SB_SNAPSHOT_LIST_LEAVES, "s2,s3");
    assert_list(f, NULL, SB_SNAPSHOT_LIST_METADATA, ""); /* ESX: none has libvirt metadata */
    assert_list(f, "s1", 0, "s2,s3");
    assert_list(f, "s1", SB_SNAPSHOT_LIST_DESCENDANTS | SB_SNAPSHOT_LIST_LEAVES, "s2,s3");
    assert_list(f, "s2", 0, "");
    expect_error(sb_snapshot_list(&(char **){ NULL }, &count, f->c, DOM, "zz", 0),
                 SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");
    assert_int_equal(sb_snapshot_count(&count, f->c, DOM, NULL, SB_SNAPSHOT_LIST_LEAVES), 0);
    assert_int_equal(count, 2);
    assert_int_equal(sb_snapshot_count(&count, f->c, DOM, "s1", 0), 0);
    assert_int_equal(count, 2);
    expect_error(sb_snapshot_parent(&(char *){ NULL }, f->c, DOM, "zz"),
                 SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");
    expect_error(sb_snapshot_get_xml(&(char *){ NULL }, f->c, DOM, "zz", 0),
                 SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");
    expect_error(sb_snapshot_list(&(char **){ NULL }, &count, f->c, "nodom", NULL, 0),
                 SB_ERR_NO_DOMAIN, "nodom");
}

/* §6.2's masks: refused by the broker, the plugin never runs. */
static void esx_flags_outside_masks(void **state)
{
    struct api_fx *f = *state;
    const char *xml = "<domainsnapshot><name>x</name></domainsnapshot>";
    const unsigned bad_create[] = { SB_SNAPSHOT_CREATE_HALT, SB_SNAPSHOT_CREATE_REUSE_EXT,
                                    SB_SNAPSHOT_CREATE_ATOMIC, SB_SNAPSHOT_CREATE_LIVE,
                                    SB_SNAPSHOT_CREATE_REDEFINE };
    const unsigned bad_list[] = { SB_SNAPSHOT_LIST_NO_LEAVES, SB_SNAPSHOT_LIST_NO_METADATA,
                                  SB_SNAPSHOT_LIST_INACTIVE, SB_SNAPSHOT_LIST_ACTIVE,
                                  SB_SNAPSHOT_LIST_DISK_ONLY, SB_SNAPSHOT_LIST_INTERNAL,
                                  SB_SNAPSHOT_LIST_EXTERNAL, SB_SNAPSHOT_LIST_TOPOLOGICAL };
    char **names = NULL;
    size_t n = 0;

    create(f, "s1", 0);
    struct stamp before = stamp_take(f);
    for (size_t i = 0; i < sizeof(bad_create) / sizeof(*bad_create); i++)
        expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, xml, bad_create[i]),
                     SB_ERR_INVALID_ARG, "for snapshot_create in plugin 'refhv'");
    /* REDEFINE|CURRENT passes the API rule, not the mask */
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, xml,
                                        SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT),
                 SB_ERR_INVALID_ARG, "in plugin 'refhv'");
    expect_error(sb_snapshot_revert(f->c, DOM, "s1", SB_SNAPSHOT_REVERT_RUNNING),
                 SB_ERR_INVALID_ARG, "for snapshot_revert in plugin 'refhv'");
    expect_error(sb_snapshot_revert(f->c, DOM, "s1", SB_SNAPSHOT_REVERT_PAUSED),
                 SB_ERR_INVALID_ARG, "for snapshot_revert in plugin 'refhv'");
    expect_error(sb_snapshot_revert(f->c, DOM, "s1", SB_SNAPSHOT_REVERT_FORCE),
                 SB_ERR_INVALID_ARG, "for snapshot_revert in plugin 'refhv'");
    expect_error(sb_snapshot_delete(f->c, DOM, "s1", SB_SNAPSHOT_DELETE_CHILDREN_ONLY),
                 SB_ERR_INVALID_ARG, "for snapshot_delete in plugin 'refhv'");
    for (size_t i = 0; i < sizeof(bad_list) / sizeof(*bad_list); i++) {
        expect_error(sb_snapshot_list(&names, &n, f->c, DOM, NULL, bad_list[i]),
                     SB_ERR_INVALID_ARG, "in plugin 'refhv'");
        expect_error(sb_snapshot_list(&names, &n, f->c, DOM, "s1", bad_list[i]),
                     SB_ERR_INVALID_ARG, "in plugin 'refhv'");
    }
    expect_error(sb_snapshot_get_xml(&(char *){ NULL }, f->c, DOM, "s1", SB_SNAPSHOT_XML_SECURE),
                 SB_ERR_INVALID_ARG, "in plugin 'refhv'");
    stamp_same(f, &before);
    free(before.bytes);
    assert_list(f, NULL, 0, "s1");
}

/* QUIESCE, VALIDATE and NO_METADATA reach the plugin; ESX takes a
 * NO_METADATA snapshot like any other (it keeps no metadata). */
static void esx_accepted_create_flags(void **state)
{
    struct api_fx *f = *state;

    create(f, "q1", SB_SNAPSHOT_CREATE_QUIESCE);
    create(f, "v1", SB_SNAPSHOT_CREATE_VALIDATE);
    create(f, "n1", SB_SNAPSHOT_CREATE_NO_METADATA);
    assert_list(f, NULL, 0, "q1,v1,n1");
    assert_current(f, "n1");
    /* the store's file-name rules are not the hypervisor's */
    create(f, "a/b", 0);
    create(f, ".dot", 0);
    assert_parent(f, ".dot", "a/b");
    /* A nameless create gets the epoch time as its name (create mode). */
    char *name = NULL;
    assert_int_equal(sb_snapshot_create_xml(&name, f->c, DOM, "<domainsnapshot/>", 0), 0);
    assert_non_null(name);
    assert_true(strspn(name, "0123456789") == strlen(name));
    assert_current(f, name);
    free(name);
}

/* The plugin's limits hold when the hypervisor keeps the tree: refhv
 * declares vSphere's depth of 31, the broker asks the plugin's own
 * current/parent calls and refuses the 32nd level before the plugin runs. */
static void esx_depth_limit(void **state)
{
    struct api_fx *f = *state;
    char name[16];

    for (int i = 1; i <= 31; i++) {
        snprintf(name, sizeof(name), "l%d", i);
        if (try_create(f, name, 0) != 0)
            fail_msg("create %s: %s", name, sb_error_last()->message);
    }
    int rc = try_create(f, "l32", 0);
    assert_int_equal(rc, -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(sb_error_last()->message, "deeper"));
    size_t n = 0;
    assert_int_equal(sb_snapshot_count(&n, f->c, DOM, NULL, 0), 0);
    assert_int_equal(n, 31);
}

/* ESX's DISK_ONLY is a vSphere snapshot without memory: the disks stay
 * vSphere's (delta disks it names itself), and libvirt's ESX driver never
 * aligns disks.  A plugin without per-disk entries gets no disk alignment
 * from the broker (it once generated external file names here and refused
 * datastore paths as "not a regular file"). */
static void esx_disk_only_create(void **state)
{
    struct api_fx *f = *state;
    sb_snapshot_info info;
    int rc = try_create(f, "d1", SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE);

    if (rc != 0)
        fail_msg("disk-only create: %s", sb_error_last()->message);
    /* ESX records the VM's power state, not disk-snapshot */
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "d1"), 0);
    assert_int_equal(info.state, SB_STATE_RUNNING);
    assert_false(info.external);
}

/* disk_override NONE: any <disks> entry is the broker's refusal. */
static void esx_disk_entries_refused(void **state)
{
    struct api_fx *f = *state;
    const char *docs[] = {
        "<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='internal'/>"
        "</disks></domainsnapshot>",
        "<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='no'/>"
        "</disks></domainsnapshot>",
        "<domainsnapshot><name>x</name><disks><disk name='vda'/></disks></domainsnapshot>",
    };

    create(f, "s1", 0);
    struct stamp before = stamp_take(f);
    for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
        expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, docs[i], 0),
                     SB_ERR_CONFIG_UNSUPPORTED, "not supported by refhv");
        assert_non_null(strstr(sb_error_last()->message, "'vda'"));
    }
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, docs[0], SB_SNAPSHOT_CREATE_DISK_ONLY),
                 SB_ERR_CONFIG_UNSUPPORTED, "refhv");
    stamp_same(f, &before);
    free(before.bytes);
    /* <memory> is parsed and does not matter */
    assert_int_equal(sb_snapshot_create_xml(NULL, f->c, DOM,
                                            "<domainsnapshot><name>m</name>"
                                            "<memory snapshot='internal'/></domainsnapshot>",
                                            0),
                     0);
}

/* A name used anywhere in the tree: OPERATION_INVALID (not libvirt's
 * OPERATION_FAILED of the shared tree code), from the plugin. */
static void esx_duplicate_name_anywhere(void **state)
{
    struct api_fx *f = *state;

    create(f, "a", 0);
    create(f, "b", 0);
    create(f, "c", 0);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "a", 0), 0);
    expect_error(try_create(f, "c", 0), SB_ERR_OPERATION_INVALID, "'c'");
    expect_error(try_create(f, "a", SB_SNAPSHOT_CREATE_NO_METADATA), SB_ERR_OPERATION_INVALID,
                 "'a'");
    assert_list(f, NULL, 0, "a,b,c");
    assert_current(f, "a");
}

static void esx_xml_and_info(void **state)
{
    struct api_fx *f = *state;
    char *xml = NULL;
    sb_snapshot_info info, one;

    assert_int_equal(sb_snapshot_create_xml(NULL, f->c, DOM,
                                            "<domainsnapshot><name>p</name>"
                                            "<description>a&amp;b &lt;c&gt;</description>"
                                            "</domainsnapshot>",
                                            0),
                     0);
    create(f, "k", 0);
    create(f, "g", 0);
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "k", 0), 0);
    assert_non_null(strstr(xml, "<name>k</name>"));
    assert_non_null(strstr(xml, "<state>running</state>"));
    assert_non_null(strstr(xml, "<parent>\n    <name>p</name>\n  </parent>"));
    assert_non_null(strstr(xml, "<creationTime>"));
    assert_non_null(strstr(xml, "<domain>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"));
    assert_null(strstr(xml, "<memory"));
    assert_null(strstr(xml, "<disks>"));
    assert_null(strstr(xml, "<domain type"));
    free(xml);
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "p", 0), 0);
    assert_non_null(strstr(xml, "<description>a&amp;b &lt;c&gt;</description>"));
    assert_null(strstr(xml, "<parent>"));
    free(xml);

    /* info is assembled from the plugin's answers */
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "p"), 0);
    assert_int_equal(info.state, SB_STATE_RUNNING);
    assert_false(info.external);
    assert_false(info.is_current);
    assert_false(info.has_metadata); /* the hypervisor keeps it, not the broker */
    assert_int_equal(info.children, 1);
    assert_int_equal(info.descendants, 2);
    assert_string_equal(info.parent, "");
    assert_true(info.creation_time > 1000000000LL);
    /* details come from the plugin's XML, as the XML itself */
    sb_snapshot_details *x = NULL;
    assert_int_equal(sb_snapshot_get_details(&x, f->c, DOM, "p"), 0);
    assert_string_equal(x->description, "a&b <c>");
    /* no <memory> in ESX's XML: a running snapshot's memory is internal,
     * as libvirt reads a redefined definition without it */
    assert_string_equal(x->memory, "internal");
    assert_null(x->memory_file);
    assert_int_equal(x->ndisks, 0);
    sb_snapshot_details_free(x);
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "g"), 0);
    assert_true(info.is_current);
    assert_string_equal(info.parent, "k");
    assert_int_equal(info.children, 0);
    expect_error(sb_snapshot_info_get(&info, f->c, DOM, "zz"), SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");

    /* the bulk call agrees with one call per snapshot */
    char **names = NULL;
    sb_snapshot_info *infos = NULL;
    size_t n = 0;
    assert_int_equal(sb_snapshot_list_info(&names, &infos, &n, f->c, DOM, NULL, 0), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sb_snapshot_info_get(&one, f->c, DOM, names[i]), 0);
        assert_memory_equal(&one, &infos[i], sizeof(one));
    }
    sb_names_free(names, n);
    free(infos);
}

static void esx_revert_and_delete(void **state)
{
    struct api_fx *f = *state;

    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    create(f, "off", 0); /* taken shut off */
    assert_int_equal(sb_domain_start(f->c, DOM, 0), 0);
    create(f, "on1", 0);
    create(f, "on2", 0);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "off", 0), 0);
    assert_int_equal(domain_state(f), SB_DOMAIN_SHUTOFF);
    assert_current(f, "off");
    create(f, "side", 0);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "on1", 0), 0);
    assert_int_equal(domain_state(f), SB_DOMAIN_RUNNING);
    assert_current(f, "on1");
    expect_error(sb_snapshot_revert(f->c, DOM, "zz", 0), SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");
    /* off -> {on1 -> on2, side}; METADATA_ONLY is a no-op on ESX */
    struct stamp before = stamp_take(f);
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "off", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "off", SB_SNAPSHOT_DELETE_METADATA_ONLY |
                                                              SB_SNAPSHOT_DELETE_CHILDREN),
                     0);
    stamp_same(f, &before);
    free(before.bytes);
    assert_list(f, NULL, 0, "off,on1,on2,side");
    expect_error(sb_snapshot_delete(f->c, DOM, "zz", SB_SNAPSHOT_DELETE_METADATA_ONLY),
                 SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");
    /* plain delete of the current one: children re-parented, current up */
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "on1", 0), 0);
    assert_parent(f, "on2", "off");
    assert_current(f, "off");
    assert_list(f, NULL, 0, "off,on2,side");
    /* CHILDREN: the subtree goes */
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "on2", 0), 0);
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "off", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    assert_list(f, NULL, 0, "");
    expect_error(sb_snapshot_current(&(char *){ NULL }, f->c, DOM), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "no current");
}

/* virsh snapshot-current NAME is a redefine with CURRENT: not for ESX. */
static void esx_set_current_refused(void **state)
{
    struct api_fx *f = *state;

    create(f, "a", 0);
    create(f, "b", 0);
    struct stamp before = stamp_take(f);
    expect_error(sb_snapshot_set_current(f->c, DOM, "a"), SB_ERR_INVALID_ARG,
                 "in plugin 'refhv'");
    expect_error(sb_snapshot_set_current(f->c, DOM, "zz"), SB_ERR_NO_DOMAIN_SNAPSHOT, "zz");
    stamp_same(f, &before);
    free(before.bytes);
    assert_current(f, "b");
}

/* The broker keeps no metadata: check has nothing to do. */
static void check_has_nothing_to_check(void **state)
{
    struct api_fx *f = *state;
    char *report = NULL;

    if (strcmp(f->uri, ESX) == 0)
        create(f, "a", 0);
    else
        vbox_create(f, "a");
    assert_int_equal(sb_check(&report, f->c, DOM, 0), 0);
    assert_non_null(strstr(report, "keeps snapshot metadata in the hypervisor; nothing to check"));
    assert_non_null(strstr(report, sb_connection_plugin(f->c)));
    free(report);
    assert_int_equal(sb_check(&report, f->c, NULL, SB_CHECK_DISCARD_UNRESOLVED), 0);
    free(report);
    sb_check_domain *r = (sb_check_domain *)1;
    size_t n = 7;
    assert_int_equal(sb_check_domains(&r, &n, f->c, NULL, 0), 0);
    assert_int_equal(n, 0);
    sb_check_domains_free(r, n);
    /* no store was made for the domain either */
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/hosts/%s/domains", f->dir, sb_connection_host(f->c));
    assert_int_not_equal(stat(path, &st), 0);
}

/* sb_domain_undefine's guard (OPERATION_INVALID "cannot undefine domain
 * ... with N snapshots") covers the broker's store only: with the
 * metadata in the hypervisor the broker does not count snapshots and
 * passes the undefine on with the caller's flags (libvirt refuses a
 * domain with snapshots unless SNAPSHOTS_METADATA is given).  What happens
 * to the snapshots is the hypervisor's business; refhv drops them with
 * the VM, so a new domain of that name has none. */
static void undefine_not_blocked(void **state)
{
    struct api_fx *f = *state;
    const char *dom_xml = "<domain type='vmware'><name>d2</name><memory>8192</memory>"
                          "<os><type>hvm</type></os></domain>";
    char *name = NULL;
    size_t n = 9;

    assert_int_equal(sb_domain_define(&name, f->c, dom_xml), 0);
    free(name);
    assert_int_equal(sb_snapshot_create_xml(NULL, f->c, "d2",
                                            "<domainsnapshot><name>a</name></domainsnapshot>", 0),
                     0);
    assert_int_equal(sb_snapshot_count(&n, f->c, "d2", NULL, 0), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sb_domain_undefine(f->c, "d2", 0), 0);
    expect_error(sb_snapshot_count(&n, f->c, "d2", NULL, 0), SB_ERR_NO_DOMAIN, "d2");
    assert_int_equal(sb_domain_define(&name, f->c, dom_xml), 0);
    free(name);
    assert_int_equal(sb_snapshot_count(&n, f->c, "d2", NULL, 0), 0);
    assert_int_equal(n, 0);
    /* the metadata flag is accepted and changes nothing */
    assert_int_equal(sb_snapshot_create_xml(NULL, f->c, "d2",
                                            "<domainsnapshot><name>b</name></domainsnapshot>", 0),
                     0);
    assert_int_equal(sb_domain_undefine(f->c, "d2", SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), 0);
    /* a running domain is the plugin's refusal */
    expect_error(sb_domain_undefine(f->c, DOM, 0), SB_ERR_OPERATION_INVALID, "running");
}

/* ======================= VirtualBox (refhv-vbox) ======================= */

/* create_parse REDEFINE: a plain create is parsed as a redefine. */
static void vbox_create_parse_errors(void **state)
{
    struct api_fx *f = *state;

    vbox_create(f, "v1");
    struct stamp before = stamp_take(f);
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM,
                                        "<domainsnapshot><name>n</name>"
                                        "<creationTime>5</creationTime></domainsnapshot>",
                                        0),
                 SB_ERR_XML_ERROR, "state");
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM,
                                        "<domainsnapshot><state>running</state>"
                                        "<creationTime>5</creationTime></domainsnapshot>",
                                        0),
                 SB_ERR_XML_ERROR, "name");
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM,
                                        "<domainsnapshot><name>n</name><state>running</state>"
                                        "</domainsnapshot>",
                                        0),
                 SB_ERR_INTERNAL_ERROR, "creationTime");
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM,
                                        "<domainsnapshot><name>n</name><state>nostate</state>"
                                        "<creationTime>5</creationTime></domainsnapshot>",
                                        0),
                 SB_ERR_CONFIG_UNSUPPORTED, "nostate");
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, "<domainsnapshot/>", 0),
                 SB_ERR_XML_ERROR, "name");
    /* a <domain> of another VM: §5.4 item 3 applies to redefine parsing */
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM,
                                        "<domainsnapshot><name>n</name><state>running</state>"
                                        "<creationTime>5</creationTime><domain type='vbox'>"
                                        "<name>o</name><uuid>00000000-0000-0000-0000-"
                                        "000000000001</uuid><memory>1</memory><os><type>hvm"
                                        "</type></os></domain></domainsnapshot>",
                                        0),
                 SB_ERR_INVALID_ARG, "uuid");
    stamp_same(f, &before);
    free(before.bytes);
}

/* libvirt's VirtualBox create parses as a redefine but takes a snapshot of
 * the live domain, so name + state + creationTime is a complete plain
 * create (the broker once answered "missing domain in snapshot" here). */
static void vbox_plain_create_needs_no_domain(void **state)
{
    struct api_fx *f = *state;
    int rc = sb_snapshot_create_xml(NULL, f->c, DOM,
                                    "<domainsnapshot><name>plain</name><state>shutoff</state>"
                                    "<creationTime>5</creationTime></domainsnapshot>",
                                    0);
    if (rc != 0)
        fail_msg("plain create: %s", sb_error_last()->message);
    assert_list(f, NULL, 0, "plain");
    assert_current(f, "plain");
    /* TakeSnapshot ignores the XML's state and time: the VM is running */
    sb_snapshot_info info;
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "plain"), 0);
    assert_int_equal(info.state, SB_STATE_RUNNING);
    assert_true(info.creation_time > 5);
}

static void vbox_tree_and_listings(void **state)
{
    struct api_fx *f = *state;
    char **names = NULL;
    size_t n = 0;
    sb_snapshot_info info;

    assert_string_equal(sb_connection_plugin(f->c), "refhv-vbox");
    expect_error(sb_snapshot_current(&(char *){ NULL }, f->c, DOM), SB_ERR_OPERATION_INVALID,
                 "no current snapshot");
    vbox_create(f, "v1");
    vbox_create(f, "v2");
    vbox_create(f, "v3");
    assert_current(f, "v3");
    assert_parent(f, "v3", "v2");
    assert_parent(f, "v1", NULL);
    assert_list(f, NULL, 0, "v1,v2,v3");
    assert_list(f, NULL, SB_SNAPSHOT_LIST_ROOTS, "v1"); /* one root at most */
    assert_list(f, NULL, SB_SNAPSHOT_LIST_METADATA, "");
    /* not found is OPERATION_INVALID in VirtualBox */
    expect_error(sb_snapshot_get_xml(&(char *){ NULL }, f->c, DOM, "zz", 0),
                 SB_ERR_OPERATION_INVALID, "has no snapshots with name 'zz'");
    expect_error(sb_snapshot_parent(&(char *){ NULL }, f->c, DOM, "zz"),
                 SB_ERR_OPERATION_INVALID, "zz");
    /* outside the masks: LEAVES and the other filters */
    expect_error(sb_snapshot_list(&names, &n, f->c, DOM, NULL, SB_SNAPSHOT_LIST_LEAVES),
                 SB_ERR_INVALID_ARG, "for snapshot_list in plugin 'refhv-vbox'");
    expect_error(sb_snapshot_list(&names, &n, f->c, DOM, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL),
                 SB_ERR_INVALID_ARG, "in plugin 'refhv-vbox'");
    /* VirtualBox has no children listing: the plugin says so */
    expect_error(sb_snapshot_list(&names, &n, f->c, DOM, "v1", 0), SB_ERR_NO_SUPPORT,
                 "children");
    /* ... so the broker's info counts them from the domain's listing and
     * the parents */
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "v1"), 0);
    assert_int_equal(info.children, 1);
    assert_int_equal(info.descendants, 2);
    assert_false(info.has_metadata);
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "v2"), 0);
    assert_string_equal(info.parent, "v1");
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "v3"), 0);
    assert_true(info.is_current);
    /* the XML carries the VM's <domain> */
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "v2", 0), 0);
    assert_non_null(strstr(xml, "<domain type='vbox'>"));
    assert_non_null(strstr(xml, "<parent>\n    <name>v1</name>"));
    free(xml);
    expect_error(sb_snapshot_get_xml(&xml, f->c, DOM, "v2", SB_SNAPSHOT_XML_SECURE),
                 SB_ERR_INVALID_ARG, "in plugin 'refhv-vbox'");
}

static void vbox_flags_outside_masks(void **state)
{
    struct api_fx *f = *state;
    const unsigned bad_create[] = { SB_SNAPSHOT_CREATE_HALT, SB_SNAPSHOT_CREATE_DISK_ONLY,
                                    SB_SNAPSHOT_CREATE_REUSE_EXT, SB_SNAPSHOT_CREATE_QUIESCE,
                                    SB_SNAPSHOT_CREATE_ATOMIC, SB_SNAPSHOT_CREATE_LIVE };

    vbox_create(f, "v1");
    struct stamp before = stamp_take(f);
    for (size_t i = 0; i < sizeof(bad_create) / sizeof(*bad_create); i++)
        expect_error(vbox_try(f, "x", NULL, bad_create[i]), SB_ERR_INVALID_ARG,
                     "for snapshot_create in plugin 'refhv-vbox'");
    expect_error(sb_snapshot_revert(f->c, DOM, "v1", SB_SNAPSHOT_REVERT_RUNNING),
                 SB_ERR_INVALID_ARG, "for snapshot_revert in plugin 'refhv-vbox'");
    expect_error(sb_snapshot_revert(f->c, DOM, "v1", SB_SNAPSHOT_REVERT_FORCE),
                 SB_ERR_INVALID_ARG, "for snapshot_revert in plugin 'refhv-vbox'");
    expect_error(sb_snapshot_delete(f->c, DOM, "v1", SB_SNAPSHOT_DELETE_CHILDREN_ONLY),
                 SB_ERR_INVALID_ARG, "for snapshot_delete in plugin 'refhv-vbox'");
    /* the API rules come first: CURRENT needs REDEFINE */
    expect_error(vbox_try(f, "x", NULL, SB_SNAPSHOT_CREATE_CURRENT), SB_ERR_INVALID_ARG,
                 "flag VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT requires flag "
                 "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE");
    stamp_same(f, &before);
    free(before.bytes);
    /* NO_METADATA and VALIDATE are accepted: a snapshot like any other */
    assert_int_equal(vbox_try(f, "nm", NULL, SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    assert_int_equal(vbox_try(f, "va", NULL, SB_SNAPSHOT_CREATE_VALIDATE), 0);
    assert_list(f, NULL, 0, "v1,nm,va");
}

/* REDEFINE goes to the plugin (it edits the machine's settings). */
static void vbox_redefine_and_set_current(void **state)
{
    struct api_fx *f = *state;
    sb_snapshot_info info;
    char *xml;

    vbox_create(f, "v1");
    vbox_create(f, "v2");
    /* a new snapshot under v1, not made current; its time is kept */
    xml = vbox_xml(f, "r", "v1", "shutoff", 4242);
    assert_int_equal(sb_snapshot_create_xml(NULL, f->c, DOM, xml, SB_SNAPSHOT_CREATE_REDEFINE), 0);
    free(xml);
    assert_current(f, "v2");
    assert_parent(f, "r", "v1");
    assert_int_equal(sb_snapshot_info_get(&info, f->c, DOM, "r"), 0);
    assert_int_equal(info.creation_time, 4242);
    assert_int_equal(info.state, SB_STATE_SHUTOFF);
    /* with CURRENT it becomes current */
    xml = vbox_xml(f, "r2", "r", "running", 4343);
    assert_int_equal(sb_snapshot_create_xml(NULL, f->c, DOM, xml,
                                            SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT),
                     0);
    free(xml);
    assert_current(f, "r2");
    /* a child only after its parent; one root only */
    xml = vbox_xml(f, "orphan", "nosuch", "running", 1);
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, xml, SB_SNAPSHOT_CREATE_REDEFINE),
                 SB_ERR_INTERNAL_ERROR, "redefined first");
    free(xml);
    xml = vbox_xml(f, "root2", NULL, "running", 1);
    expect_error(sb_snapshot_create_xml(NULL, f->c, DOM, xml, SB_SNAPSHOT_CREATE_REDEFINE),
                 SB_ERR_INTERNAL_ERROR, "one root");
    free(xml);
    /* REDEFINE is exclusive with NO_METADATA (API rule) */
    expect_error(vbox_try(f, "x", NULL, SB_SNAPSHOT_CREATE_REDEFINE |
                                            SB_SNAPSHOT_CREATE_NO_METADATA),
                 SB_ERR_INVALID_ARG, "mutually exclusive");
    /* virsh snapshot-current NAME: redefine of its own XML with CURRENT */
    assert_int_equal(sb_snapshot_set_current(f->c, DOM, "v1"), 0);
    assert_current(f, "v1");
    assert_list(f, NULL, 0, "v1,v2,r,r2");
    expect_error(sb_snapshot_set_current(f->c, DOM, "zz"), SB_ERR_OPERATION_INVALID, "zz");
    assert_current(f, "v1");
}

static void vbox_revert(void **state)
{
    struct api_fx *f = *state;

    vbox_create(f, "on"); /* the VM runs: an online snapshot */
    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    vbox_create(f, "off");
    assert_int_equal(sb_domain_start(f->c, DOM, 0), 0);
    struct stamp before = stamp_take(f);
    expect_error(sb_snapshot_revert(f->c, DOM, "on", 0), SB_ERR_OPERATION_INVALID, "running");
    stamp_same(f, &before);
    free(before.bytes);
    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    expect_error(sb_snapshot_revert(f->c, DOM, "zz", 0), SB_ERR_OPERATION_INVALID, "zz");
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "on", 0), 0);
    assert_int_equal(domain_state(f), SB_DOMAIN_RUNNING); /* started again */
    assert_current(f, "on");
    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "off", 0), 0);
    assert_int_equal(domain_state(f), SB_DOMAIN_SHUTOFF);
    assert_current(f, "off");
}

static void vbox_delete(void **state)
{
    struct api_fx *f = *state;

    vbox_create(f, "a");
    vbox_create(f, "b");
    vbox_create(f, "c");
    /* METADATA_ONLY: children -> INTERNAL_ERROR; a leaf goes even while
     * the VM runs, and current moves to its parent */
    expect_error(sb_snapshot_delete(f->c, DOM, "b", SB_SNAPSHOT_DELETE_METADATA_ONLY),
                 SB_ERR_INTERNAL_ERROR, "children");
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "c", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_list(f, NULL, 0, "a,b");
    assert_current(f, "b");
    /* a real delete needs the VM stopped */
    expect_error(sb_snapshot_delete(f->c, DOM, "b", 0), SB_ERR_OPERATION_INVALID, "running");
    expect_error(sb_snapshot_delete(f->c, DOM, "zz", 0), SB_ERR_OPERATION_INVALID, "zz");
    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    vbox_create(f, "d"); /* a -> b -> d */
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "b", 0), 0); /* merged: d under a */
    assert_parent(f, "d", "a");
    assert_current(f, "d");
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "a", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    assert_list(f, NULL, 0, "");
    expect_error(sb_snapshot_current(&(char *){ NULL }, f->c, DOM), SB_ERR_OPERATION_INVALID,
                 "no current");
}

/* names_unique 0: VirtualBox takes a second snapshot of the same name;
 * lookups by name find the first in tree order. */
static void vbox_names_not_unique(void **state)
{
    struct api_fx *f = *state;
    char *xml = NULL;

    vbox_create(f, "same");
    vbox_create(f, "same");
    assert_list(f, NULL, 0, "same,same");
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "same", 0), 0);
    assert_null(strstr(xml, "<parent>")); /* the first, the root */
    free(xml);
    char *desc = NULL;
    assert_int_equal(sb_plugin_describe(&desc, f->b, "refhv-vbox", 0), 0);
    assert_non_null(strstr(desc, "Names unique:      no"));
    free(desc);
}

/* ======================= the CLI ======================= */

/* Runs the build tree's snapbroker (one process per command, so the
 * plugin's state file is what carries the tree) and returns its stdout. */
static char *cli(struct api_fx *f, const char *args, int *status)
{
    const char *root = getenv("SB_BUILD_ROOT");
    char cmd[1024], *out = NULL;
    size_t len = 0;
    FILE *p;

    assert_non_null(root);
    snprintf(cmd, sizeof(cmd),
             "SB='%s/broker/cli/snapbroker'; export TZ=UTC LC_ALL=C; \"$SB\" -c '%s' %s 2>&1",
             root, f->uri, args);
    assert_non_null(p = popen(cmd, "r"));
    FILE *mem = open_memstream(&out, &len);
    int ch;
    while ((ch = fgetc(p)) != EOF)
        fputc(ch, mem);
    fclose(mem);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static void cli_on_refhv(void **state)
{
    struct api_fx *f = *state;
    int st;
    char *out;

    out = cli(f, "snapshot-create-as test s1 first", &st);
    assert_int_equal(st, 0);
    free(out);
    out = cli(f, "snapshot-create-as test s2", &st);
    assert_int_equal(st, 0);
    free(out);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "s1", 0), 0);
    create(f, "s3", 0);
    out = cli(f, "snapshot-list test --tree", &st);
    assert_int_equal(st, 0);
    assert_string_equal(out, "s1\n  |\n  +- s2\n  +- s3\n    \n\n");
    free(out);
    out = cli(f, "snapshot-info test s1", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "Current:        no"));
    assert_non_null(strstr(out, "Children:       2"));
    assert_non_null(strstr(out, "Metadata:       no"));
    free(out);
    out = cli(f, "--json snapshot-list test", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"name\":\"s3\""));
    assert_non_null(strstr(out, "\"parent\":\"s1\""));
    assert_non_null(strstr(out, "\"metadata\":false"));
    free(out);
    out = cli(f, "snapshot-current test --name", &st);
    assert_int_equal(st, 0);
    assert_string_equal(out, "s3\n");
    free(out);
    out = cli(f, "snapshot-list test --topological", &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "INVALID_ARG"));
    free(out);
    out = cli(f, "check", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "nothing to check"));
    free(out);
}

/* One process per command, eight at once: the plugin's flock keeps each
 * read-modify-write whole, so no snapshot is lost and, since every create
 * hangs below the current one and becomes current, they form one chain. */
static void cli_concurrent_creates(void **state)
{
    struct api_fx *f = *state;
    size_t n = 0;
    int st;
    char *out = cli(f, "snapshot-create-as test c0 & "
                       "for i in 1 2 3 4 5 6 7; do \"$SB\" -c refhv:///default "
                       "snapshot-create-as test c$i >/dev/null & done; wait",
                    &st);
    assert_int_equal(st, 0);
    free(out);
    assert_int_equal(sb_snapshot_count(&n, f->c, DOM, NULL, 0), 0);
    assert_int_equal(n, 8);
    assert_int_equal(sb_snapshot_count(&n, f->c, DOM, NULL, SB_SNAPSHOT_LIST_LEAVES), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sb_snapshot_count(&n, f->c, DOM, NULL, SB_SNAPSHOT_LIST_ROOTS), 0);
    assert_int_equal(n, 1);
}

static void cli_on_refhv_vbox(void **state)
{
    struct api_fx *f = *state;
    int st;
    char *out;

    vbox_create(f, "v1");
    vbox_create(f, "v2");
    /* the tree comes from the parents: VirtualBox lists no children */
    out = cli(f, "snapshot-list test --tree", &st);
    assert_int_equal(st, 0);
    assert_string_equal(out, "v1\n  |\n  +- v2\n    \n\n");
    free(out);
    out = cli(f, "snapshot-current test v1", &st);
    assert_int_equal(st, 0);
    free(out);
    assert_current(f, "v1");
    out = cli(f, "snapshot-info test --current", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "Name:           v1"));
    free(out);
}

/* ABI 1.1 conn_caps: the masks in force are the connection's, not the
 * plugin's, and a block that changes who owns the metadata is refused. */
static void conn_caps_per_connection(void **state)
{
    struct api_fx *f = *state;
    sb_connection *narrow = NULL, *bad = NULL;
    const char *xml = "<domainsnapshot><name>q</name></domainsnapshot>";

    assert_int_equal(sb_connect(&narrow, f->b, ESX "?no-quiesce", 0), 0);
    expect_error(sb_snapshot_create_xml(NULL, narrow, DOM, xml, SB_SNAPSHOT_CREATE_QUIESCE),
                 SB_ERR_INVALID_ARG, "for snapshot_create in plugin 'refhv'");
    /* the same plugin on a connection without the narrowing takes it */
    create(f, "q", SB_SNAPSHOT_CREATE_QUIESCE);
    sb_disconnect(narrow);

    expect_error(sb_connect(&bad, f->b, ESX "?bad-caps", 0), SB_ERR_PLUGIN_ABI,
                 "changes meta_owner");
    assert_null(bad);
    /* checked like the table's caps, contradictions too */
    expect_error(sb_connect(&bad, f->b, ESX "?current-alone", 0), SB_ERR_PLUGIN_ABI,
                 "CREATE_CURRENT without VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE");
    assert_null(bad);
}

int main(void)
{
#define ESX_TEST(t) cmocka_unit_test_setup_teardown(t, setup_esx, teardown)
#define VBOX_TEST(t) cmocka_unit_test_setup_teardown(t, setup_vbox, teardown)
    const struct CMUnitTest tests[] = {
        ESX_TEST(esx_tree_and_listings),
        ESX_TEST(esx_flags_outside_masks),
        ESX_TEST(esx_accepted_create_flags),
        ESX_TEST(esx_disk_only_create),
        ESX_TEST(esx_depth_limit),
        ESX_TEST(esx_disk_entries_refused),
        ESX_TEST(esx_duplicate_name_anywhere),
        ESX_TEST(esx_xml_and_info),
        ESX_TEST(esx_revert_and_delete),
        ESX_TEST(esx_set_current_refused),
        ESX_TEST(check_has_nothing_to_check),
        ESX_TEST(undefine_not_blocked),
        ESX_TEST(conn_caps_per_connection),
        VBOX_TEST(vbox_create_parse_errors),
        VBOX_TEST(vbox_plain_create_needs_no_domain),
        VBOX_TEST(vbox_tree_and_listings),
        VBOX_TEST(vbox_flags_outside_masks),
        VBOX_TEST(vbox_redefine_and_set_current),
        VBOX_TEST(vbox_revert),
        VBOX_TEST(vbox_delete),
        VBOX_TEST(vbox_names_not_unique),
        VBOX_TEST(check_has_nothing_to_check),
        ESX_TEST(cli_on_refhv),
        ESX_TEST(cli_concurrent_creates),
        VBOX_TEST(cli_on_refhv_vbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
