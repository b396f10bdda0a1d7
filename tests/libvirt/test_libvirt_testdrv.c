/* The libvirt plugin on libvirt's in-process test driver (libvirt 9.0, a
 * real libvirt component, no daemon).  Each test has a test driver node
 * file of its own (lvt_new_node: a fresh instance per connection, the
 * domain "test" of test:///default).  Scenarios run twice, through
 * snapbroker (public API, URI libvirt+test://NODE) and straight through
 * libvirt on a second connection, and the results must be the same: listings with every
 * filter, current, parent, the snapshot XML, the domain's state after
 * flags that act on it.  Also: the capabilities the plugin declares for
 * this driver (the broker refuses what the driver would), libvirt's
 * errors as the broker's classes, credentials from the config group and
 * from an auth file (test driver <auth> users), the ABI 1.1 callbacks,
 * the domain verbs, and the CLI's URI mapping. */
#include "lvt.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lvp.h"
#include "plugin/dispatch.h"

#define URI "libvirt+test:///default"
#define DOM "test"

static int setup(void **state)
{
    *state = lvt_new_node();
    return 0;
}

static int teardown(void **state)
{
    lvt_free(*state);
    return 0;
}

/* ---- pass-through: the same scenario through snapbroker and libvirt ---- */

static void vir_create(virConnectPtr vc, const char *name, unsigned flags)
{
    char xml[256];
    virDomainPtr d = virDomainLookupByName(vc, DOM);
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    virDomainSnapshotPtr s = virDomainSnapshotCreateXML(d, xml, flags);
    if (!s)
        fail_msg("libvirt create %s: %s", name, lvt_vir_err());
    virDomainSnapshotFree(s);
    virDomainFree(d);
}

static void vir_on(virConnectPtr vc, const char *name, int revert, unsigned flags)
{
    virDomainPtr d = virDomainLookupByName(vc, DOM);
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, name, 0);
    assert_non_null(s);
    int rc = revert ? virDomainRevertToSnapshot(s, flags) : virDomainSnapshotDelete(s, flags);
    if (rc < 0)
        fail_msg("libvirt %s %s: %s", revert ? "revert" : "delete", name, lvt_vir_err());
    virDomainSnapshotFree(s);
    virDomainFree(d);
}

static int vir_state(virConnectPtr vc)
{
    virDomainPtr d = virDomainLookupByName(vc, DOM);
    int st, reason;
    assert_int_equal(virDomainGetState(d, &st, &reason, 0), 0);
    virDomainFree(d);
    return st;
}

/* libvirt's XML of a snapshot without <creationTime> (the two sides take
 * their snapshots a few microseconds apart, possibly across a second). */
static char *xml_no_time(char *xml)
{
    char *a = strstr(xml, "<creationTime>"), *b = a ? strstr(a, "</creationTime>") : NULL;
    if (a && b)
        memmove(a, b + strlen("</creationTime>"), strlen(b + strlen("</creationTime>")) + 1);
    return xml;
}

static void same_listings(struct lvt *t, virConnectPtr vc, const char *const *froms)
{
    static const unsigned filters[] = {
        0,
        SB_SNAPSHOT_LIST_ROOTS,
        SB_SNAPSHOT_LIST_LEAVES,
        SB_SNAPSHOT_LIST_NO_LEAVES,
        SB_SNAPSHOT_LIST_LEAVES | SB_SNAPSHOT_LIST_NO_LEAVES,
        SB_SNAPSHOT_LIST_METADATA,
        SB_SNAPSHOT_LIST_NO_METADATA,
        SB_SNAPSHOT_LIST_INACTIVE,
        SB_SNAPSHOT_LIST_ACTIVE,
        SB_SNAPSHOT_LIST_DISK_ONLY,
        SB_SNAPSHOT_LIST_INTERNAL,
        SB_SNAPSHOT_LIST_EXTERNAL,
        SB_SNAPSHOT_LIST_TOPOLOGICAL,
        SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_TOPOLOGICAL,
    };
    for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
        for (size_t k = 0; froms[k] || k == 0; k++) {
            char *a = lvt_list(t->c, DOM, froms[k], filters[f]);
            char *b = lvt_vir_list(vc, DOM, froms[k], filters[f]);
            if (strcmp(a, b) != 0)
                fail_msg("from %s flags 0x%x: snapbroker '%s', libvirt '%s'",
                         froms[k] ? froms[k] : "-", filters[f], a, b);
            free(a);
            free(b);
            if (!froms[k])
                break;
        }
    }
}

static void same_snapshot(struct lvt *t, virConnectPtr vc, const char *name)
{
    char *mine = NULL, *parent = NULL;
    virDomainPtr d = virDomainLookupByName(vc, DOM);
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, name, 0);
    char *theirs = virDomainSnapshotGetXMLDesc(s, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
    virDomainSnapshotPtr p = virDomainSnapshotGetParent(s, 0);

    lvt_ok(sb_snapshot_get_xml(&mine, t->c, DOM, name, SB_SNAPSHOT_XML_SECURE), "get_xml");
    assert_string_equal(xml_no_time(mine), xml_no_time(theirs));
    if (p) {
        lvt_ok(sb_snapshot_parent(&parent, t->c, DOM, name), "parent");
        assert_string_equal(parent, virDomainSnapshotGetName(p));
        virDomainSnapshotFree(p);
    } else {
        virResetLastError();
        lvt_expect_error(sb_snapshot_parent(&parent, t->c, DOM, name),
                         SB_ERR_NO_DOMAIN_SNAPSHOT, name);
    }
    free(mine);
    free(parent);
    free(theirs);
    virDomainSnapshotFree(s);
    virDomainFree(d);
}

static void same_current(struct lvt *t, virConnectPtr vc)
{
    char *mine = NULL;
    virDomainPtr d = virDomainLookupByName(vc, DOM);
    virDomainSnapshotPtr cur = virDomainSnapshotCurrent(d, 0);

    lvt_ok(sb_snapshot_current(&mine, t->c, DOM), "current");
    assert_non_null(cur);
    assert_string_equal(mine, virDomainSnapshotGetName(cur));
    free(mine);
    virDomainSnapshotFree(cur);
    virDomainFree(d);
}

static void same_state(struct lvt *t, virConnectPtr vc)
{
    int st;
    lvt_ok(sb_domain_get_state(&st, t->c, DOM), "state");
    assert_int_equal(st, vir_state(vc));
}

/* A tree built with the flags that act on the domain (HALT, revert
 * RUNNING/PAUSED, delete CHILDREN/CHILDREN_ONLY, redefine CURRENT): both
 * sides end in the same tree and the same domain state at every step. */
static void tree_and_flags_pass_through(void **state)
{
    struct lvt *t = *state;
    virConnectPtr vc = virConnectOpen(t->uri);
    static const char *const froms[] = { "s1", "s2", "s3", NULL };
    char *xml = NULL;

    assert_non_null(vc);
    /* s1 - s2, s1 - s3 - s4 (HALT: the domain is shut off after) */
    lvt_ok(lvt_create(t->c, DOM, "s1", 0), "create s1");
    vir_create(vc, "s1", 0);
    lvt_ok(lvt_create(t->c, DOM, "s2", SB_SNAPSHOT_CREATE_ATOMIC), "create s2");
    vir_create(vc, "s2", VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
    lvt_ok(sb_snapshot_revert(t->c, DOM, "s1", SB_SNAPSHOT_REVERT_PAUSED), "revert s1");
    vir_on(vc, "s1", 1, VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    same_state(t, vc);
    assert_int_equal(vir_state(vc), VIR_DOMAIN_PAUSED);
    lvt_ok(lvt_create(t->c, DOM, "s3", 0), "create s3");
    vir_create(vc, "s3", 0);
    lvt_ok(lvt_create(t->c, DOM, "s4", SB_SNAPSHOT_CREATE_HALT), "create s4");
    vir_create(vc, "s4", VIR_DOMAIN_SNAPSHOT_CREATE_HALT);
    same_state(t, vc);
    assert_int_equal(vir_state(vc), VIR_DOMAIN_SHUTOFF);
    lvt_ok(lvt_create(t->c, DOM, "off", 0), "create off"); /* a shut-off snapshot */
    vir_create(vc, "off", 0);
    same_listings(t, vc, froms);
    same_current(t, vc);
    for (const char *const *n = (const char *const[]){ "s1", "s2", "s3", "s4", "off", NULL };
         *n; n++)
        same_snapshot(t, vc, *n);

    /* revert RUNNING to a snapshot of a paused guest */
    lvt_ok(sb_snapshot_revert(t->c, DOM, "s3", SB_SNAPSHOT_REVERT_RUNNING), "revert s3");
    vir_on(vc, "s3", 1, VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    same_state(t, vc);
    same_current(t, vc);

    /* redefine CURRENT (virsh's snapshot-current NAME) */
    lvt_ok(sb_snapshot_set_current(t->c, DOM, "s2"), "set current");
    virDomainPtr d = virDomainLookupByName(vc, DOM);
    virDomainSnapshotPtr s2 = virDomainSnapshotLookupByName(d, "s2", 0);
    char *s2xml = virDomainSnapshotGetXMLDesc(s2, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
    virDomainSnapshotFree(s2);
    virDomainSnapshotPtr re = virDomainSnapshotCreateXML(
        d, s2xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT);
    assert_non_null(re);
    virDomainSnapshotFree(re);
    free(s2xml);
    virDomainFree(d);
    same_current(t, vc);

    /* delete CHILDREN_ONLY, then CHILDREN */
    lvt_ok(sb_snapshot_delete(t->c, DOM, "s3", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), "delete");
    vir_on(vc, "s3", 0, VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    same_listings(t, vc, froms);
    lvt_ok(sb_snapshot_delete(t->c, DOM, "s1", SB_SNAPSHOT_DELETE_CHILDREN), "delete");
    vir_on(vc, "s1", 0, VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    same_listings(t, vc, (const char *const[]){ NULL });
    lvt_expect_error(sb_snapshot_current(&xml, t->c, DOM), SB_ERR_NO_DOMAIN_SNAPSHOT, "current");
    virConnectClose(vc);
}

/* ---- where the plugin gives more than the test driver ---- */

/* REVERT_RUNNING / REVERT_PAUSED to a shut-off snapshot start the domain
 * (the test driver only queues the events); libvirt's metadata is
 * has_metadata 1; a create without <name> is named after libvirt's own
 * creationTime. */
static void semantics_the_driver_lacks(void **state)
{
    struct lvt *t = *state;
    sb_snapshot_info info;
    char *name = NULL, *xml = NULL;
    int st = 0;

    lvt_ok(sb_domain_destroy(t->c, DOM), "destroy");
    lvt_ok(lvt_create(t->c, DOM, "off", 0), "create off");
    lvt_ok(sb_snapshot_revert(t->c, DOM, "off", SB_SNAPSHOT_REVERT_RUNNING), "revert running");
    lvt_ok(sb_domain_get_state(&st, t->c, DOM), "state");
    assert_int_equal(st, SB_DOMAIN_RUNNING);
    lvt_ok(sb_snapshot_revert(t->c, DOM, "off", SB_SNAPSHOT_REVERT_PAUSED), "revert paused");
    lvt_ok(sb_domain_get_state(&st, t->c, DOM), "state");
    assert_int_equal(st, SB_DOMAIN_PAUSED);
    lvt_ok(sb_snapshot_revert(t->c, DOM, "off", 0), "revert");
    lvt_ok(sb_domain_get_state(&st, t->c, DOM), "state");
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);

    lvt_ok(sb_snapshot_info_get(&info, t->c, DOM, "off"), "info");
    assert_int_equal(info.has_metadata, 1);
    lvt_ok(sb_snapshot_create_xml(&name, t->c, DOM, "<domainsnapshot/>", 0), "unnamed create");
    lvt_ok(sb_snapshot_get_xml(&xml, t->c, DOM, name, 0), "its XML");
    char want[64];
    snprintf(want, sizeof(want), "<creationTime>%s</creationTime>", name);
    if (!strstr(xml, want))
        fail_msg("snapshot '%s' lacks %s:\n%s", name, want, xml);
    free(name);
    free(xml);
}

/* ---- capabilities: what test:///default accepts, refused up front ---- */

static void caps_from_the_driver(void **state)
{
    struct lvt *t = *state;
    const struct sb_plugin_caps *caps = t->c->caps;
    struct sb_plugin_caps qemu, any;

    /* the connection's caps are the probe's, not the plugin's "any" */
    assert_ptr_equal(caps, &t->c->conn_caps);
    assert_int_equal(caps->meta_owner, SB_META_HYPERVISOR);
    assert_int_equal(caps->create_flags & SB_SNAPSHOT_CREATE_DISK_ONLY, 0);
    assert_int_equal(caps->delete_flags & SB_SNAPSHOT_DELETE_METADATA_ONLY, 0);
    assert_int_equal(caps->revert_flags & SB_SNAPSHOT_REVERT_RESET_NVRAM, 0);
    /* refused by the broker, before libvirt (whose message would name
     * testDomainSnapshotCreateXML) */
    lvt_expect_error(lvt_create(t->c, DOM, "d", SB_SNAPSHOT_CREATE_DISK_ONLY),
                     SB_ERR_INVALID_ARG, "(0x10) for snapshot_create in plugin 'libvirt'");
    lvt_expect_error(lvt_create(t->c, DOM, "d", SB_SNAPSHOT_CREATE_NO_METADATA),
                     SB_ERR_INVALID_ARG, "in plugin 'libvirt'");
    lvt_ok(lvt_create(t->c, DOM, "s1", 0), "create");
    lvt_expect_error(sb_snapshot_delete(t->c, DOM, "s1", SB_SNAPSHOT_DELETE_METADATA_ONLY),
                     SB_ERR_INVALID_ARG, "in plugin 'libvirt'");
    lvt_expect_error(sb_snapshot_revert(t->c, DOM, "s1", SB_SNAPSHOT_REVERT_RESET_NVRAM),
                     SB_ERR_INVALID_ARG, "in plugin 'libvirt'");
    /* the other drivers' tables (the probe picks by virConnectGetType) */
    assert_int_equal(lvp_caps_for_driver(&qemu, "QEMU"), 0);
    assert_int_equal(qemu.create_flags, SB_SNAPSHOT_CREATE_ALL);
    assert_int_equal(qemu.delete_flags, SB_SNAPSHOT_DELETE_ALL);
    assert_int_equal(lvp_caps_for_driver(&qemu, "ESX"), 1); /* lists by name */
    assert_int_equal(qemu.disk_override, SB_DISK_OVERRIDE_NONE);
    assert_int_equal(qemu.revert_flags, 0);
    lvp_caps_for_driver(&qemu, "VBOX");
    assert_int_equal(qemu.create_parse, SB_CREATE_PARSE_REDEFINE);
    lvp_caps_for_driver(&any, "BHYVE"); /* not known: everything, libvirt decides */
    assert_int_equal(any.create_flags, SB_SNAPSHOT_CREATE_ALL);
    assert_int_equal(any.meta_owner, SB_META_HYPERVISOR);
}

/* ---- errors: libvirt's code as the broker's class, message kept ---- */

static void errors_mapped(void **state)
{
    struct lvt *t = *state;
    char *s = NULL, **names = NULL;
    size_t n = 0;
    int st;

    lvt_expect_error(sb_domain_get_state(&st, t->c, "nope"), SB_ERR_NO_DOMAIN, "'nope'");
    lvt_expect_error(sb_snapshot_list(&names, &n, t->c, "nope", NULL, 0), SB_ERR_NO_DOMAIN,
                     "nope");
    lvt_expect_error(sb_snapshot_get_xml(&s, t->c, DOM, "ghost", 0), SB_ERR_NO_DOMAIN_SNAPSHOT,
                     "'ghost'");
    lvt_expect_error(sb_snapshot_current(&s, t->c, DOM), SB_ERR_NO_DOMAIN_SNAPSHOT, "current");
    lvt_ok(lvt_create(t->c, DOM, "root", 0), "create");
    lvt_expect_error(sb_snapshot_parent(&s, t->c, DOM, "root"), SB_ERR_NO_DOMAIN_SNAPSHOT,
                     "parent");
    /* a duplicate name: libvirt's own check */
    lvt_expect_error(lvt_create(t->c, DOM, "root", 0), SB_ERR_OPERATION_FAILED, "root");
    /* lifecycle in the wrong state (the test driver calls it an internal
     * error; qemu says OPERATION_INVALID, see test_libvirt_daemon.c) */
    lvt_expect_error(sb_domain_start(t->c, DOM, 0), SB_ERR_INTERNAL_ERROR, "already running");
    /* libvirt's own XML refusals on define */
    lvt_expect_error(sb_domain_define(&s, t->c, "<domain type='test'><name>x</name>"),
                     SB_ERR_XML_DETAIL, NULL);
    lvt_expect_error(sb_domain_define(&s, t->c, "<domain type='test'><name>x</name>"
                                                "<memory>-1</memory></domain>"),
                     SB_ERR_XML_ERROR, NULL);
    /* redefining a new snapshot without <domain> (spec §9.2) */
    lvt_expect_error(sb_snapshot_create_xml(NULL, t->c, DOM,
                                            "<domainsnapshot><name>r</name><state>running"
                                            "</state><creationTime>1</creationTime>"
                                            "</domainsnapshot>",
                                            SB_SNAPSHOT_CREATE_REDEFINE),
                     SB_ERR_INTERNAL_ERROR, "domain");
}

/* Every libvirt error number, against the table in errors.c. */
static void error_class_table(void **state)
{
    (void)state;
    static const int same[] = {
        VIR_ERR_INTERNAL_ERROR,   VIR_ERR_NO_MEMORY,          VIR_ERR_NO_SUPPORT,
        VIR_ERR_INVALID_ARG,      VIR_ERR_OPERATION_FAILED,   VIR_ERR_XML_ERROR,
        VIR_ERR_OPERATION_DENIED, VIR_ERR_XML_DETAIL,         VIR_ERR_SYSTEM_ERROR,
        VIR_ERR_NO_DOMAIN,        VIR_ERR_OPERATION_INVALID,  VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_ERR_OPERATION_TIMEOUT, VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_SNAPSHOT_REVERT_RISKY,
        VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_XML_INVALID_SCHEMA,
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_int_equal(lvp_error_class(same[i]), same[i]);
        assert_string_not_equal(sb_error_class_name(same[i]), "UNKNOWN");
    }
    assert_int_equal(lvp_error_class(VIR_ERR_AUTH_FAILED), SB_ERR_OPERATION_DENIED);
    assert_int_equal(lvp_error_class(VIR_ERR_ACCESS_DENIED), SB_ERR_OPERATION_DENIED);
    assert_int_equal(lvp_error_class(VIR_ERR_INVALID_DOMAIN_SNAPSHOT), SB_ERR_INVALID_ARG);
    assert_int_equal(lvp_error_class(VIR_ERR_RESOURCE_BUSY), SB_ERR_OPERATION_INVALID);
    assert_int_equal(lvp_error_class(VIR_ERR_DOM_EXIST), SB_ERR_OPERATION_FAILED);
    assert_int_equal(lvp_error_class(VIR_ERR_OPERATION_ABORTED), SB_ERR_OPERATION_FAILED);
    assert_int_equal(lvp_error_class(VIR_ERR_CPU_INCOMPATIBLE), SB_ERR_CONFIG_UNSUPPORTED);
    assert_int_equal(lvp_error_class(VIR_ERR_RPC), SB_ERR_HYPERVISOR);
    assert_int_equal(lvp_error_class(VIR_ERR_AGENT_UNRESPONSIVE), SB_ERR_HYPERVISOR);
    assert_int_equal(lvp_error_class(VIR_ERR_NO_NETWORK), SB_ERR_HYPERVISOR);
    assert_true(lvp_error_is_connection(VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC));
    assert_true(lvp_error_is_connection(VIR_ERR_NO_CONNECT, VIR_FROM_NONE));
    assert_false(lvp_error_is_connection(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU));

    /* the hints name what lifts a refusal */
    sb_conn c = { .host = (char *)"kvm7", .lib_version = 9000000 };
    char hint[256];
    lvp_error_hint(&c, VIR_ERR_CONFIG_UNSUPPORTED,
                   "unsupported configuration: revert to external snapshot not supported yet",
                   hint, sizeof(hint));
    assert_non_null(strstr(hint, "libvirt 9.0.0"));
    assert_non_null(strstr(hint, "9.9.0 and later"));
    c.lib_version = 9009000;
    lvp_error_hint(&c, VIR_ERR_CONFIG_UNSUPPORTED, "revert to external snapshot not supported",
                   hint, sizeof(hint));
    assert_string_equal(hint, "");
    lvp_error_hint(&c, VIR_ERR_OPERATION_UNSUPPORTED,
                   "deleting external snapshot that has internal snapshot as parent not "
                   "supported",
                   hint, sizeof(hint));
    assert_non_null(strstr(hint, "--metadata"));
}

/* ---- domains ---- */

static void domain_verbs(void **state)
{
    struct lvt *t = *state;
    const char *xml = "<domain type='test'><name>vm2</name><memory>65536</memory>"
                      "<os><type>hvm</type></os></domain>";
    char *name = NULL, **names = NULL, *dx = NULL;
    size_t n = 0;
    int st, reason, rc;

    lvt_ok(sb_domain_define(&name, t->c, xml), "define");
    assert_string_equal(name, "vm2");
    free(name);
    lvt_ok(sb_domain_list(&names, &n, t->c, SB_DOMAIN_LIST_INACTIVE), "list");
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "vm2");
    sb_names_free(names, n);
    lvt_ok(sb_domain_get_xml(&dx, t->c, "vm2", 0), "xml");
    assert_non_null(strstr(dx, "<name>vm2</name>"));
    free(dx);
    /* the test driver takes no start flag: libvirt's refusal */
    lvt_expect_error(sb_domain_start(t->c, "vm2", SB_DOMAIN_START_PAUSED), SB_ERR_INVALID_ARG,
                     "unsupported flags (0x1)");
    lvt_ok(sb_domain_start(t->c, "vm2", 0), "start");
    lvt_ok(sb_domain_suspend(t->c, "vm2"), "suspend");
    lvt_ok(sb_domain_resume(t->c, "vm2"), "resume");
    /* ABI 1.1 domain_get_state_reason: libvirt's reason for the state */
    SB_DISPATCH(rc, t->c->plugin, domain_get_state_reason, &st, &reason, t->c->conn, "vm2");
    assert_int_equal(rc, 0);
    assert_int_equal(st, VIR_DOMAIN_RUNNING);
    assert_int_equal(reason, VIR_DOMAIN_RUNNING_UNPAUSED);
    lvt_ok(sb_domain_suspend(t->c, "vm2"), "suspend");
    lvt_ok(sb_domain_get_state(&st, t->c, "vm2"), "state");
    assert_int_equal(st, SB_DOMAIN_PAUSED);
    lvt_ok(sb_domain_resume(t->c, "vm2"), "resume");
    lvt_ok(sb_domain_shutdown(t->c, "vm2"), "shutdown");
    lvt_ok(sb_domain_get_state(&st, t->c, "vm2"), "state");
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    lvt_ok(sb_domain_start(t->c, "vm2", 0), "start");
    lvt_ok(sb_domain_destroy(t->c, "vm2"), "destroy");
    SB_DISPATCH(rc, t->c->plugin, domain_get_state_reason, &st, &reason, t->c->conn, "vm2");
    assert_int_equal(rc, 0);
    assert_int_equal(st, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(reason, VIR_DOMAIN_SHUTOFF_DESTROYED);
    lvt_ok(sb_domain_undefine(t->c, "vm2", 0), "undefine");
    lvt_expect_error(sb_domain_get_state(&st, t->c, "vm2"), SB_ERR_NO_DOMAIN, "vm2");
    lvt_ok(sb_domain_list(&names, &n, t->c, 0), "list");
    assert_int_equal(n, 1);
    sb_names_free(names, n);
}

/* The plugin keeps the last domain and snapshot handles: a domain defined
 * again under the same name (a new uuid) and a deleted snapshot are seen
 * exactly as a fresh lookup would see them. */
static void cached_handles_stay_true(void **state)
{
    struct lvt *t = *state;
    const char *xml = "<domain type='test'><name>vm3</name><memory>65536</memory>"
                      "<os><type>hvm</type></os></domain>";
    char *name = NULL, *x = NULL, *uuid1 = NULL;
    int st;

    lvt_ok(sb_domain_define(&name, t->c, xml), "define");
    free(name);
    lvt_ok(sb_domain_get_xml(&x, t->c, "vm3", 0), "xml");
    assert_non_null(uuid1 = strstr(x, "<uuid>"));
    uuid1 = strndup(uuid1, 44);
    free(x);
    lvt_ok(sb_domain_undefine(t->c, "vm3", 0), "undefine");
    lvt_expect_error(sb_domain_get_state(&st, t->c, "vm3"), SB_ERR_NO_DOMAIN, "vm3");
    lvt_ok(sb_domain_define(&name, t->c, xml), "define again");
    free(name);
    lvt_ok(sb_domain_get_state(&st, t->c, "vm3"), "state of the new vm3");
    assert_int_equal(st, SB_DOMAIN_SHUTOFF);
    /* once more with the old handle cached right before the redefine */
    lvt_ok(sb_domain_undefine(t->c, "vm3", 0), "undefine");
    lvt_ok(sb_domain_define(&name, t->c, xml), "define a third time");
    free(name);
    lvt_ok(sb_domain_get_xml(&x, t->c, "vm3", 0), "xml of the third vm3");
    assert_null(strstr(x, uuid1));
    free(x);
    free(uuid1);

    lvt_ok(lvt_create(t->c, DOM, "h1", 0), "create");
    lvt_ok(sb_snapshot_get_xml(&x, t->c, DOM, "h1", 0), "xml");
    free(x);
    lvt_ok(sb_snapshot_delete(t->c, DOM, "h1", 0), "delete");
    lvt_expect_error(sb_snapshot_get_xml(&x, t->c, DOM, "h1", 0), SB_ERR_NO_DOMAIN_SNAPSHOT,
                     "h1");
    lvt_ok(lvt_create(t->c, DOM, "h1", 0), "create again");
    lvt_ok(sb_snapshot_get_xml(&x, t->c, DOM, "h1", 0), "xml of the new h1");
    free(x);
}

/* Another client renames the domain whose handle the plugin keeps: the
 * old name is gone (NO_DOMAIN), and a new domain of that name is a
 * different one; no call reaches the renamed domain.  test:///default is
 * one instance per process, shared by the broker's connection and the
 * direct one. */
static void renamed_domain_not_acted_on(void **state)
{
    (void)state;
    struct lvt *t = lvt_new(NULL, "libvirt+test:///default");
    virConnectPtr vc = virConnectOpen("test:///default");
    const char *xml = "<domain type='test'><name>rn</name><memory>65536</memory>"
                      "<os><type>hvm</type></os></domain>";
    char *name = NULL, **names = NULL;
    size_t n = 0;
    int st;

    assert_non_null(vc);
    lvt_ok(sb_domain_define(&name, t->c, xml), "define");
    free(name);
    lvt_ok(lvt_create(t->c, "rn", "a1", 0), "create a1"); /* the plugin keeps rn's handle */
    virDomainPtr d = virDomainLookupByName(vc, "rn");
    assert_non_null(d);
    assert_int_equal(virDomainRename(d, "rn-other", 0), 0);
    virDomainFree(d);

    lvt_expect_error(sb_domain_get_state(&st, t->c, "rn"), SB_ERR_NO_DOMAIN, "rn");
    lvt_expect_error(sb_snapshot_delete(t->c, "rn", "a1", 0), SB_ERR_NO_DOMAIN, "rn");
    /* a new rn: its own (no) snapshots */
    lvt_ok(lvt_create(t->c, "rn-other", "a2", 0), "create a2 of rn-other");
    lvt_ok(sb_domain_define(&name, t->c, xml), "define a new rn");
    free(name);
    lvt_ok(sb_snapshot_list(&names, &n, t->c, "rn", NULL, 0), "list");
    assert_int_equal(n, 0);
    sb_names_free(names, n);
    lvt_expect_error(sb_snapshot_delete(t->c, "rn", "a2", 0), SB_ERR_NO_DOMAIN_SNAPSHOT, "a2");
    d = virDomainLookupByName(vc, "rn-other");
    assert_non_null(d);
    assert_int_equal(virDomainSnapshotNum(d, 0), 2);
    assert_int_equal(virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), 0);
    virDomainFree(d);
    lvt_ok(sb_domain_undefine(t->c, "rn", 0), "undefine rn");
    virConnectClose(vc);
    lvt_free(t);
}

/* snapshot-current NAME on a hypervisor-owned host is a redefine of the
 * snapshot as it is: with its secrets, or the stored definition loses
 * them (a VNC password here, as virsh keeps it). */
static void set_current_keeps_secrets(void **state)
{
    struct lvt *t = *state;
    const char *xml = "<domain type='test'><name>sec</name><memory>65536</memory>"
                      "<os><type>hvm</type></os>"
                      "<devices><graphics type='vnc' passwd='sekrit'/></devices></domain>";
    char *name = NULL, *x = NULL;

    lvt_ok(sb_domain_define(&name, t->c, xml), "define");
    free(name);
    lvt_ok(sb_domain_start(t->c, "sec", 0), "start");
    lvt_ok(lvt_create(t->c, "sec", "s1", 0), "create s1");
    lvt_ok(lvt_create(t->c, "sec", "s2", 0), "create s2");
    lvt_ok(sb_snapshot_get_xml(&x, t->c, "sec", "s1", SB_SNAPSHOT_XML_SECURE), "xml");
    assert_non_null(strstr(x, "passwd='sekrit'"));
    free(x);
    lvt_ok(sb_snapshot_set_current(t->c, "sec", "s1"), "set current");
    lvt_ok(sb_snapshot_get_xml(&x, t->c, "sec", "s1", SB_SNAPSHOT_XML_SECURE), "xml after");
    assert_non_null(strstr(x, "passwd='sekrit'"));
    free(x);
    lvt_ok(sb_snapshot_current(&x, t->c, "sec"), "current");
    assert_string_equal(x, "s1");
    free(x);
}

/* A name that looks like a time is the caller's: kept even when it is
 * the creationTime in the request (a script naming snapshots after
 * `date +%s` on a client whose clock is not the host's).  Only a create
 * the broker named (no <name>) is left for libvirt to name (ABI 1.6,
 * create_name_defaulted); the plugin is called directly here, with no
 * create of the broker's in progress. */
static void time_like_name_kept(void **state)
{
    struct lvt *t = *state;
    char *out = NULL, *x = NULL;
    int rc;

    SB_DISPATCH(rc, t->c->plugin, snapshot_create, &out, t->c->conn, DOM,
                "<domainsnapshot><name>1700000000</name>"
                "<creationTime>1700000000</creationTime></domainsnapshot>",
                0);
    assert_int_equal(rc, 0);
    free(out);
    lvt_ok(sb_snapshot_get_xml(&x, t->c, DOM, "1700000000", 0), "the snapshot by its name");
    free(x);
    /* without a name the broker names it, libvirt's way */
    lvt_ok(sb_snapshot_create_xml(&out, t->c, DOM, "<domainsnapshot/>", 0), "unnamed");
    assert_true(out && strspn(out, "0123456789") == strlen(out));
    free(out);
}

/* ---- ABI 1.1 callbacks on the test driver ---- */

static void extras_on_test_driver(void **state)
{
    struct lvt *t = *state;
    struct sb_snapshot_usage u = { .struct_size = sizeof(u) };
    struct sb_job_info j = { .struct_size = sizeof(j) };
    char *dx = NULL;
    int rc;

    /* domain_validate: the test driver has no domain capabilities to ask,
     * so a well-formed definition passes; a broken one does not */
    lvt_ok(sb_domain_get_xml(&dx, t->c, DOM, 0), "xml");
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn, dx, 0);
    assert_int_equal(rc, 0);
    free(dx);
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn, "<domain", 0);
    lvt_expect_error(rc, SB_ERR_XML_ERROR, "well-formed");
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn, "<domain><name>x</name></domain>",
                0);
    lvt_expect_error(rc, SB_ERR_XML_ERROR, "type=");
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn, "<domain type='test'/>", 1);
    lvt_expect_error(rc, SB_ERR_INVALID_ARG, "flags");

    /* snapshot_usage: an internal snapshot lives in the disk image, and
     * which clusters only it holds is not known */
    lvt_ok(lvt_create(t->c, DOM, "u1", 0), "create");
    SB_DISPATCH(rc, t->c->plugin, snapshot_usage, &u, t->c->conn, DOM, "u1", NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(u.known_bytes, 0);
    assert_string_equal(u.location, "/guest/diskimage1");
    SB_DISPATCH(rc, t->c->plugin, snapshot_usage, &u, t->c->conn, DOM, "ghost", NULL);
    lvt_expect_error(rc, SB_ERR_NO_DOMAIN_SNAPSHOT, "ghost");

    /* jobs: the test driver has none (and no block jobs at all) */
    SB_DISPATCH(rc, t->c->plugin, domain_job_info, &j, t->c->conn, DOM);
    assert_int_equal(rc, 0);
    assert_int_equal(j.active, 0);
    SB_DISPATCH(rc, t->c->plugin, domain_job_abort, t->c->conn, DOM, 0);
    lvt_expect_error(rc, SB_ERR_OPERATION_INVALID, "no job is running on domain 'test'");
}

/* ---- the Num + ListNames listing (ESX, VirtualBox), on this driver ---- */

static int h_set_error(sb_host *h, int code, const char *fmt, ...)
{
    (void)h;
    (void)fmt;
    return -code;
}

static void h_log(sb_host *h, int level, const char *fmt, ...)
{
    (void)h;
    (void)level;
    (void)fmt;
}

static void *h_alloc(size_t n)
{
    return calloc(1, n);
}

static const struct sb_host_api unit_host = {
    .struct_size = sizeof(struct sb_host_api),
    .set_error = h_set_error,
    .log = h_log,
    .alloc = h_alloc,
    .strdup = strdup,
    .free = free,
};

static void list_names_fallback(void **state)
{
    (void)state;
    sb_conn c = { .host = (char *)"localhost", .uri = (char *)"test:///default" };
    char **a = NULL, **b = NULL;
    size_t na = 0, nb = 0;
    static const unsigned flags[] = { 0, SB_SNAPSHOT_LIST_ROOTS, SB_SNAPSHOT_LIST_LEAVES,
                                      SB_SNAPSHOT_LIST_METADATA };

    lvp_host = &unit_host;
    assert_int_equal(lvp_connect(&c), 0);
    assert_string_equal(c.driver, "TEST");
    virDomainPtr d = virDomainLookupByName(c.vc, DOM);
    for (const char *const *n = (const char *const[]){ "a", "b", "c", NULL }; *n; n++) {
        char xml[64];
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", *n);
        virDomainSnapshotFree(virDomainSnapshotCreateXML(d, xml, 0));
    }
    virDomainFree(d);
    for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
        for (int from = 0; from < 2; from++) {
            const char *start = from ? "a" : NULL;
            assert_int_equal(lvp_snapshot_list(&a, &na, &c, DOM, start, flags[f]), 0);
            assert_int_equal(lvp_snapshot_list_names(&b, &nb, &c, DOM, start, flags[f]), 0);
            assert_int_equal(na, nb);
            for (size_t i = 0; i < na; i++) {
                int found = 0;
                for (size_t k = 0; k < nb; k++)
                    found |= strcmp(a[i], b[k]) == 0;
                assert_true(found);
            }
            lvp_free_names(a, na);
            lvp_free_names(b, nb);
        }
    }
    lvp_close_all(&c);
    lvp_host = NULL;
}

/* ---- URIs and the auth file format ---- */

static void uris(void **state)
{
    (void)state;
    char *s;
    struct {
        const char *in, *libvirt, *host;
    } cases[] = {
        { "libvirt+qemu:///system", "qemu:///system", "localhost" },
        { "qemu:///system", "qemu:///system", "localhost" },
        { "libvirt+qemu+ssh://root@kvm7:2222/system", "qemu+ssh://root@kvm7:2222/system?no_tty=1",
          "kvm7" },
        { "qemu+ssh://kvm7/system?keyfile=/k", "qemu+ssh://kvm7/system?keyfile=/k&no_tty=1",
          "kvm7" },
        { "qemu+ssh://kvm7/system?no_tty=0", "qemu+ssh://kvm7/system?no_tty=0", "kvm7" },
        { "qemu+tcp://127.0.0.1:16509/system", "qemu+tcp://127.0.0.1:16509/system",
          "127.0.0.1" },
        { "qemu+libssh://[fe80::1]:22/system", "qemu+libssh://[fe80::1]:22/system",
          "[fe80::1]" },
        { "esx://user@esx1.example/?no_verify=1", "esx://user@esx1.example/?no_verify=1",
          "esx1.example" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_non_null(s = lvp_uri_for_libvirt(cases[i].in));
        assert_string_equal(s, cases[i].libvirt);
        free(s);
        assert_non_null(s = lvp_uri_host(cases[i].libvirt));
        assert_string_equal(s, cases[i].host);
        free(s);
    }
}

static void auth_file_format(void **state)
{
    (void)state;
    char path[] = "/tmp/sb-lvt-auth-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n"
                       "[credentials-ops]\n"
                       "authname = alice\n"
                       "password=s3cret \n"
                       "\n"
                       "[auth-libvirt-kvm7]\n"
                       "credentials=ops\n"
                       "[auth-libvirt-kvm7b]\n"
                       "credentials=other\n";
    char *v;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_non_null(v = lvp_auth_file_lookup(path, "credentials-ops", "authname"));
    assert_string_equal(v, "alice");
    free(v);
    assert_non_null(v = lvp_auth_file_lookup(path, "credentials-ops", "password"));
    assert_string_equal(v, "s3cret");
    free(v);
    assert_non_null(v = lvp_auth_file_lookup(path, "auth-libvirt-kvm7", "credentials"));
    assert_string_equal(v, "ops");
    free(v);
    assert_null(lvp_auth_file_lookup(path, "auth-libvirt-kvm", "credentials"));
    assert_null(lvp_auth_file_lookup(path, "credentials-ops", "realm"));
    assert_null(lvp_auth_file_lookup("/nonexistent/auth.conf", "x", "y"));
    unlink(path);
}

/* ---- credentials: the test driver's <auth> users ---- */

static void log_has_no_secret(void *opaque, const char *level, const char *origin,
                              const char *msg)
{
    (void)level;
    (void)origin;
    if (strstr(msg, "s3cret"))
        *(int *)opaque = 1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void credentials(void **state)
{
    (void)state;
    struct lvt *t = lvt_new(NULL, NULL); /* a scratch dir for the files */
    char node[128], authf[128], *conf = NULL;
    sb_connection *c = NULL;
    sb_broker *b = NULL;
    int leaked = 0, st;

    snprintf(node, sizeof(node), "%s/auth-node.xml", t->dir);
    write_file(node, "<node><auth><user password='s3cret'>alice</user></auth>"
                     "<domain type='test'><name>vm1</name><memory>65536</memory>"
                     "<os><type>hvm</type></os></domain></node>");
    snprintf(authf, sizeof(authf), "%s/auth.conf", t->dir);
    write_file(authf, "[credentials-t]\nauthname=alice\npassword=s3cret\n"
                      "[auth-test-localhost]\ncredentials=t\n");
    assert_true(asprintf(&conf,
                         "hosts = (\n"
                         "  { name = \"good\"; plugin = \"libvirt\"; uri = \"test://%s\";\n"
                         "    libvirt = { username = \"alice\"; password = \"s3cret\"; }; },\n"
                         "  { name = \"bad\"; plugin = \"libvirt\"; uri = \"test://%s\";\n"
                         "    libvirt = { username = \"alice\"; password = \"wrong\"; }; },\n"
                         "  { name = \"nopw\"; plugin = \"libvirt\"; uri = \"test://%s\";\n"
                         "    libvirt = { username = \"alice\"; }; },\n"
                         "  { name = \"file\"; plugin = \"libvirt\"; uri = \"test://%s\";\n"
                         "    libvirt = { auth_file = \"%s\"; }; }\n"
                         ");\n",
                         node, node, node, node, authf) > 0);
    snprintf(t->config, sizeof(t->config), "%s/snapbroker.conf", t->dir);
    write_file(t->config, conf);
    unsetenv("LIBVIRT_AUTH_FILE");
    lvt_ok(sb_broker_new(&b, t->config), "broker");
    lvt_ok(sb_connect(&c, b, "good", 0), "good");
    lvt_ok(sb_domain_get_state(&st, c, "vm1"), "state");
    sb_disconnect(c);
    lvt_ok(sb_connect(&c, b, "file", 0), "auth file");
    sb_disconnect(c);
    c = NULL;
    lvt_expect_error(sb_connect(&c, b, "bad", 0), SB_ERR_OPERATION_DENIED, "host 'bad'");
    assert_null(strstr(sb_error_last()->message, "wrong"));
    lvt_expect_error(sb_connect(&c, b, "nopw", 0), SB_ERR_OPERATION_DENIED, "password");
    assert_null(strstr(sb_error_last()->message, "s3cret"));
    sb_log_drain(log_has_no_secret, &leaked);
    assert_int_equal(leaked, 0);
    sb_broker_free(b);
    lvt_free(t);
    free(conf);
}

/* ---- the CLI: -c libvirt+URI and a configured libvirt host ---- */

static void cli_uri_mapping(void **state)
{
    struct lvt *t = *state;
    char *env = NULL, *out;
    int st;

    assert_true(asprintf(&env, "SNAPBROKER_STATE_DIR='%s'", t->dir) > 0);
    out = lvt_cli(env, "-c " URI " list --all", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, " test "));
    assert_non_null(strstr(out, "running"));
    free(out);
    /* one process: create, then the listing of the fresh test driver
     * shows what that process made (each test:///default opens fresh) */
    out = lvt_cli(env, "-c " URI " snapshot-create-as test s1 first", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "Domain snapshot s1 created"));
    free(out);
    out = lvt_cli(env, "-c " URI " snapshot-revert test nope", &st);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "NO_DOMAIN_SNAPSHOT"));
    assert_non_null(strstr(out, "'nope'"));
    free(out);
    /* a configured host entry with plugin libvirt */
    char conf[128];
    snprintf(conf, sizeof(conf), "%s/c.conf", t->dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "hosts = ( { name = \"kvm7\"; plugin = \"libvirt\"; "
               "uri = \"test:///default\"; } );\n");
    fclose(f);
    free(env);
    assert_true(asprintf(&env, "SNAPBROKER_STATE_DIR='%s' SNAPBROKER_CONFIG='%s'", t->dir,
                         conf) > 0);
    out = lvt_cli(env, "-c kvm7 domstate test", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "running"));
    free(out);
    free(env);
}

static int group_teardown(void **state)
{
    (void)state;
    lvt_cleanup_all(); /* what a failed case left */
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tree_and_flags_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(semantics_the_driver_lacks, setup, teardown),
        cmocka_unit_test_setup_teardown(caps_from_the_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_mapped, setup, teardown),
        cmocka_unit_test(error_class_table),
        cmocka_unit_test_setup_teardown(domain_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(cached_handles_stay_true, setup, teardown),
        cmocka_unit_test(renamed_domain_not_acted_on),
        cmocka_unit_test_setup_teardown(set_current_keeps_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(time_like_name_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(extras_on_test_driver, setup, teardown),
        cmocka_unit_test(list_names_fallback),
        cmocka_unit_test(uris),
        cmocka_unit_test(auth_file_format),
        cmocka_unit_test(credentials),
        cmocka_unit_test_setup_teardown(cli_uri_mapping, setup, teardown),
    };
    return cmocka_run_group_tests_name("libvirt plugin on the test driver", tests, NULL,
                                       group_teardown);
}
