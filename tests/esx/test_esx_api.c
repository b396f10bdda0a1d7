/* The esx plugin end to end through the public API, against VMware's
 * vSphere simulator (tests/esx-sim): domains and their XML, every
 * snapshot call, and ESX's rules, which the plugin enforces itself.
 *
 * The simulator is faithful on protocol, not on semantics: it ignores
 * memory, quiesce, suppressPowerOn, consolidate and disk modes for
 * snapshots, and a revert changes no power state.  So where the
 * simulator cannot show an effect, a test checks the plugin's refusal
 * and the requests it sent (the simulator logs them); each such test
 * says so.  Every test gets a fresh VM: one persistent and one
 * independent SCSI disk and a persistent IDE disk, powered on. */
#include "esx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h" /* the plugin's ABI 1.1 callbacks, through the broker's host */

static const char VM_QUERY[] = "disks=persistent,independent_persistent,ide:persistent&power=on";

static int group_setup(void **state)
{
    static const char *const args[] = { "-vm", "0", NULL };
    (void)state;
    return esx_fx_start(args, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    esx_fx_stop();
    return 0;
}

static int vm_setup(void **state)
{
    (void)state;
    esx_fx_vm(VM_QUERY);
    return 0;
}

static int vm_teardown(void **state)
{
    (void)state;
    free(esxsim_ctl(&fx.sim, "vm/destroy?vm=%s", fx.moref));
    return 0;
}

static void ctl_ok(const char *fmt, const char *arg)
{
    char path[512];
    snprintf(path, sizeof(path), fmt, fx.moref, arg ? arg : "");
    char *r = esxsim_ctl(&fx.sim, "%s", path);
    if (!r)
        fail_msg("control %s failed", path);
    free(r);
}

/* Arm one of the simulator's faults (tests/esx-sim/control.go). */
static void arm(const char *query)
{
    char *r = esxsim_ctl(&fx.sim, "fault?%s", query);
    if (!r)
        fail_msg("arming %s failed", query);
    free(r);
}

static char *snap_xml(const char *name)
{
    char *xml = NULL;
    if (sb_snapshot_get_xml(&xml, fx.c, fx.vm, name, 0) != 0)
        fail_msg("get_xml %s: %s", name, sb_error_last()->message);
    return xml;
}

static void assert_current(const char *want)
{
    char *cur = NULL;
    if (sb_snapshot_current(&cur, fx.c, fx.vm) != 0)
        fail_msg("current: %s", sb_error_last()->message);
    assert_string_equal(cur, want);
    free(cur);
}

static void assert_parent(const char *name, const char *want)
{
    char *p = NULL;
    int rc = sb_snapshot_parent(&p, fx.c, fx.vm, name);
    if (!want) {
        expect_error(rc, SB_ERR_NO_DOMAIN_SNAPSHOT, "does not have a parent");
        return;
    }
    if (rc != 0)
        fail_msg("parent %s: %s", name, sb_error_last()->message);
    assert_string_equal(p, want);
    free(p);
}

static void assert_list(const char *from, unsigned flags, const char *want)
{
    char *got = list_str(from, flags);
    if (strcmp(got, want) != 0)
        fail_msg("list from %s flags 0x%x: got '%s', want '%s'", from ? from : "(domain)", flags,
                 got, want);
    free(got);
}

static int domain_state(void)
{
    int st = -1;
    if (sb_domain_get_state(&st, fx.c, fx.vm) != 0)
        fail_msg("state: %s", sb_error_last()->message);
    return st;
}

/* ---- domains ---- */

static void domains_and_xml(void **state)
{
    char **names = NULL, *xml = NULL, want[512];
    size_t n = 0;
    int found = 0;
    (void)state;

    assert_int_equal(sb_domain_list(&names, &n, fx.c, 0), 0);
    for (size_t i = 0; i < n; i++)
        found |= strcmp(names[i], fx.vm) == 0;
    sb_names_free(names, n);
    assert_true(found);
    assert_int_equal(domain_state(), SB_DOMAIN_RUNNING);

    assert_int_equal(sb_domain_get_xml(&xml, fx.c, fx.vm, 0), 0);
    snprintf(want, sizeof(want), "<name>%s</name>", fx.vm);
    assert_non_null(strstr(xml, want));
    assert_non_null(strstr(xml, "<uuid>"));
    assert_non_null(strstr(xml, "<memory unit='KiB'>131072</memory>"));
    assert_non_null(strstr(xml, "<vcpu>2</vcpu>"));
    /* disks in device order, each with its datastore path and mode */
    snprintf(want, sizeof(want),
             "<disk type='file' device='disk' snapshot='internal'>\n"
             "      <source file='[LocalDS_0] %s/%s.vmdk'/>\n"
             "      <target dev='sda' bus='scsi'/>",
             fx.vm, fx.vm);
    assert_non_null(strstr(xml, want));
    snprintf(want, sizeof(want),
             "<disk type='file' device='disk' snapshot='no'>\n"
             "      <source file='[LocalDS_0] %s/%s_1.vmdk'/>\n"
             "      <target dev='sdb' bus='scsi'/>",
             fx.vm, fx.vm);
    assert_non_null(strstr(xml, want));
    assert_non_null(strstr(xml, "<target dev='hda' bus='ide'/>"));
    free(xml);

    expect_error(sb_domain_get_xml(&xml, fx.c, "no-such-vm", 0), SB_ERR_NO_DOMAIN,
                 "no domain named 'no-such-vm'");
}

static void reconnect(void)
{
    if (esx_fx_connect(NULL, NULL) != 0)
        fail_msg("reconnect: %s", sb_error_last()->message);
}

static char *list_of(const char *domain)
{
    char name[64];
    snprintf(name, sizeof(name), "%s", fx.vm);
    snprintf(fx.vm, sizeof(fx.vm), "%s", domain);
    char *l = list_str(NULL, 0);
    snprintf(fx.vm, sizeof(fx.vm), "%s", name);
    return l;
}

/* A copied VM keeps its original's BIOS uuid: a BIOS uuid two VMs share
 * is refused, naming both, instead of meaning either; an instance uuid
 * (unique) wins over a BIOS uuid that happens to equal it.  Each step
 * starts on a new connection: a connection keeps its listing. */
static void shared_bios_uuid(void **state)
{
    char copy[64], moref[32], inst[64], bios[64];
    (void)state;
    create_ok("mine", NULL, 0);
    snprintf(copy, sizeof(copy), "%s", esxsim_unique("copy"));
    char *r = esxsim_ctl(&fx.sim, "vm/create?name=%s&power=on", copy);
    if (!r || sscanf(r, "%31s %63s %63s", moref, inst, bios) != 3)
        fail_msg("could not create VM %s: %s", copy, r ? r : "");
    free(r);

    ctl_ok("vm/uuid?vm=%s&uuid=%s", bios);
    reconnect();
    char **names = NULL;
    size_t n = 0;
    expect_error(sb_snapshot_list(&names, &n, fx.c, bios, NULL, 0), SB_ERR_INVALID_ARG,
                 "2 VMs on ");
    char want[128];
    snprintf(want, sizeof(want), "'%s'", fx.vm);
    assert_non_null(strstr(sb_error_last()->message, want));
    snprintf(want, sizeof(want), "'%s'", copy);
    assert_non_null(strstr(sb_error_last()->message, want));
    assert_non_null(strstr(sb_error_last()->message, "BIOS uuid"));
    expect_error(sb_snapshot_delete(fx.c, bios, "mine", 0), SB_ERR_INVALID_ARG, "BIOS uuid");
    char *l = list_of(inst); /* the copy, by its instance uuid */
    assert_string_equal(l, "");
    free(l);

    /* this VM's BIOS uuid is now the copy's instance uuid */
    ctl_ok("vm/uuid?vm=%s&uuid=%s", inst);
    reconnect();
    l = list_of(inst);
    assert_string_equal(l, "");
    free(l);
    l = list_of(bios); /* the copy's alone now */
    assert_string_equal(l, "");
    free(l);
    l = list_str(NULL, 0);
    assert_string_equal(l, "mine");
    free(l);
    free(esxsim_ctl(&fx.sim, "vm/destroy?vm=%s", moref));
}

static void domain_power(void **state)
{
    (void)state;
    assert_int_equal(sb_domain_destroy(fx.c, fx.vm), 0);
    assert_int_equal(domain_state(), SB_DOMAIN_SHUTOFF);
    expect_error(sb_domain_destroy(fx.c, fx.vm), SB_ERR_OPERATION_INVALID, "is not running");
    /* a flag is named by its libvirt name, and nothing is sent */
    expect_error(sb_domain_start(fx.c, fx.vm, SB_DOMAIN_START_PAUSED), SB_ERR_CONFIG_UNSUPPORTED,
                 "VIR_DOMAIN_START_PAUSED");
    assert_int_equal(domain_state(), SB_DOMAIN_SHUTOFF);
    assert_int_equal(sb_domain_start(fx.c, fx.vm, 0), 0);
    assert_int_equal(domain_state(), SB_DOMAIN_RUNNING);
    assert_int_equal(sb_domain_suspend(fx.c, fx.vm), 0);
    assert_int_equal(domain_state(), SB_DOMAIN_PAUSED);
    assert_int_equal(sb_domain_resume(fx.c, fx.vm), 0);
    assert_int_equal(domain_state(), SB_DOMAIN_RUNNING);
    expect_error(sb_domain_shutdown(fx.c, fx.vm), SB_ERR_OPERATION_INVALID, "VMware Tools");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "PowerOffVM_Task"), 1);
    assert_int_equal(esxsim_count(reqs, "PowerOnVM_Task"), 2);
    assert_int_equal(esxsim_count(reqs, "SuspendVM_Task"), 1);
    assert_int_equal(esxsim_count(reqs, "ShutdownGuest"), 0);
    free(reqs);
}

/* ---- the tree ---- */

static void tree_and_listings(void **state)
{
    sb_snapshot_info info;
    (void)state;

    create_ok("s1", "<description>first</description>", 0);
    create_ok("s2", NULL, 0);
    assert_current("s2");
    assert_parent("s2", "s1");
    assert_parent("s1", NULL);
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "s1", 0), 0);
    assert_current("s1");
    create_ok("s3", NULL, 0); /* a new branch under the current one */
    assert_parent("s3", "s1");

    assert_list(NULL, 0, "s1,s2,s3");
    assert_list(NULL, SB_SNAPSHOT_LIST_ROOTS, "s1");
    assert_list(NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, "s1,s2,s3");
    assert_list("s1", 0, "s2,s3");
    assert_list("s1", SB_SNAPSHOT_LIST_DESCENDANTS, "s2,s3");
    assert_list("s2", 0, "");
    assert_list(NULL, SB_SNAPSHOT_LIST_LEAVES, "s2,s3");
    assert_list(NULL, SB_SNAPSHOT_LIST_NO_LEAVES, "s1");
    assert_list(NULL, SB_SNAPSHOT_LIST_LEAVES | SB_SNAPSHOT_LIST_NO_LEAVES, "");
    assert_list(NULL, SB_SNAPSHOT_LIST_ACTIVE, "s1,s2,s3");
    assert_list(NULL, SB_SNAPSHOT_LIST_INACTIVE, "");
    assert_list(NULL, SB_SNAPSHOT_LIST_METADATA, ""); /* vSphere keeps it, not the broker */
    assert_list(NULL, SB_SNAPSHOT_LIST_NO_METADATA, "s1,s2,s3");
    assert_list(NULL, SB_SNAPSHOT_LIST_INTERNAL, "s1,s2,s3");
    assert_list(NULL, SB_SNAPSHOT_LIST_EXTERNAL, "");

    assert_int_equal(sb_snapshot_info_get(&info, fx.c, fx.vm, "s1"), 0);
    assert_int_equal(info.children, 2);
    assert_int_equal(info.descendants, 2);
    assert_int_equal(info.is_current, 0); /* s3 is */
    assert_int_equal(info.state, SB_STATE_RUNNING);

    char *xml = snap_xml("s2");
    assert_non_null(strstr(xml, "<name>s2</name>"));
    assert_non_null(strstr(xml, "<parent>\n    <name>s1</name>\n  </parent>"));
    assert_non_null(strstr(xml, "<state>running</state>"));
    assert_non_null(strstr(xml, "<memory snapshot='internal'/>"));
    assert_non_null(strstr(xml, "<disk name='sda' snapshot='internal'/>"));
    assert_non_null(strstr(xml, "<disk name='sdb' snapshot='no'/>"));
    assert_non_null(strstr(xml, "<disk name='hda' snapshot='internal'/>"));
    assert_non_null(strstr(xml, "<domain type='vmware'>"));
    assert_non_null(strstr(xml, "<creationTime>"));
    free(xml);
    xml = snap_xml("s1");
    assert_non_null(strstr(xml, "<description>first</description>"));
    free(xml);

    char *reqs = requests();
    assert_true(request_has(reqs, "RevertToSnapshot_Task", "<suppressPowerOn>false</suppressPowerOn>"));
    free(reqs);
}

/* The plugin keeps the last snapshot XML it handed out: asked again it
 * is the same text, and once the tree changed (the parent removed) the
 * text follows the tree. */
static void xml_follows_the_tree(void **state)
{
    (void)state;
    create_ok("p", NULL, 0);
    create_ok("c", NULL, 0);
    char *first = snap_xml("c"), *again = snap_xml("c");
    assert_string_equal(first, again);
    assert_non_null(strstr(first, "<parent>\n    <name>p</name>\n  </parent>"));
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "p", 0), 0);
    char *after = snap_xml("c");
    assert_null(strstr(after, "<parent>"));
    assert_non_null(strstr(after, "<name>c</name>"));
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "c", 0), 0);
    assert_current("c");
    free(first);
    free(again);
    free(after);
}

/* Names and descriptions with XML's special characters and UTF-8. */
static void awkward_names(void **state)
{
    const char *name = "a&amp;b &lt;c&gt; &quot;q&quot; 'x' \xc3\xbcn\xc3\xaf";
    const char *plain = "a&b <c> \"q\" 'x' \xc3\xbcn\xc3\xaf";
    (void)state;

    create_ok(name, "<description>line one\nline &amp; two</description>", 0);
    assert_current(plain);
    char *xml = snap_xml(plain);
    assert_non_null(strstr(xml, "<name>a&amp;b &lt;c&gt; &quot;q&quot; &apos;x&apos; "));
    assert_non_null(strstr(xml, "line one\nline &amp; two"));
    free(xml);
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, plain, 0), 0);
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, plain, 0), 0);
    assert_list(NULL, 0, "");
}

/* A carriage return, newline and tab in a name and a description come
 * back as they went in: an XML parser (the host's) reads a raw \r as \n,
 * so the plugin's SOAP text carries them as character references. */
static void control_characters(void **state)
{
    const char *name = "a&#13;b&#10;c&#9;d";
    const char *plain = "a\rb\nc\td";
    (void)state;

    create_ok(name, "<description>one&#13;two&#13;&#10;three&#9;four</description>", 0);
    assert_list(NULL, 0, plain);
    assert_current(plain);
    char *xml = snap_xml(plain);
    assert_non_null(strstr(xml, "<name>a&#13;b\nc\td</name>"));
    assert_non_null(strstr(xml, "<description>one&#13;two&#13;\nthree\tfour</description>"));
    free(xml);
    char *reqs = requests();
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<name>a&#13;b&#10;c&#9;d</name>"));
    assert_true(request_has(reqs, "CreateSnapshot_Task",
                            "<description>one&#13;two&#13;&#10;three&#9;four</description>"));
    free(reqs);
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, plain, 0), 0);
    assert_list(NULL, 0, "");
}

/* ---- create: memory, quiesce, disks, names ---- */

/* A snapshot of a powered-off VM: no memory, state shutoff. */
static void create_offline(void **state)
{
    (void)state;
    ctl_ok("vm/power?vm=%s&state=off", NULL);
    create_ok("o1", NULL, 0);
    char *reqs = requests();
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<name>o1</name>"));
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<description></description>"));
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<memory>false</memory>"));
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<quiesce>false</quiesce>"));
    free(reqs);
    char *xml = snap_xml("o1");
    assert_non_null(strstr(xml, "<state>shutoff</state>"));
    assert_non_null(strstr(xml, "<memory snapshot='no'/>"));
    free(xml);
}

/* The simulator records every snapshot with the VM's power state and
 * never saves memory: what the plugin asks for is in the request. */
static void create_memory_flag(void **state)
{
    (void)state;
    create_ok("m1", NULL, 0);
    char *reqs = requests();
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<memory>true</memory>"));
    free(reqs);
    create_ok("d1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY);
    reqs = requests();
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<memory>false</memory>"));
    free(reqs);
    create_ok("n1", "<memory snapshot='no'/>", 0);
    reqs = requests();
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<memory>false</memory>"));
    free(reqs);
}

/* vSphere (and the simulator) would take the snapshot without quiescing
 * when VMware Tools are not running: the plugin refuses instead. */
static void quiesce_needs_tools(void **state)
{
    const unsigned q = SB_SNAPSHOT_CREATE_QUIESCE | SB_SNAPSHOT_CREATE_DISK_ONLY;
    (void)state;

    expect_error(try_create("q1", NULL, q), SB_ERR_OPERATION_INVALID,
                 "VMware Tools are not running");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 0);
    free(reqs);

    ctl_ok("vm/tools?vm=%s&running=1", NULL);
    create_ok("q1", NULL, q);
    reqs = requests();
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<quiesce>true</quiesce>"));
    assert_true(request_has(reqs, "CreateSnapshot_Task", "<memory>false</memory>"));
    free(reqs);

    ctl_ok("vm/power?vm=%s&state=off", NULL);
    expect_error(try_create("q2", NULL, q), SB_ERR_OPERATION_INVALID, "not running");
}

/* The simulator treats independent disks like any other for snapshots,
 * so their exclusion cannot be observed: the tests check that a request
 * overriding a disk's own mode is refused before anything is sent. */
static void disk_modes(void **state)
{
    (void)state;
    expect_error(try_create("x", "<disks><disk name='sdb' snapshot='internal'/></disks>", 0),
                 SB_ERR_CONFIG_UNSUPPORTED, "sdb");
    expect_error(try_create("x", "<disks><disk name='sda' snapshot='no'/></disks>", 0),
                 SB_ERR_CONFIG_UNSUPPORTED, "sda");
    expect_error(try_create("x", "<disks><disk name='sda' snapshot='external'/></disks>", 0),
                 SB_ERR_CONFIG_UNSUPPORTED, "sda");
    expect_error(try_create("x", "<disks><disk name='nope' snapshot='internal'/></disks>", 0),
                 SB_ERR_CONFIG_UNSUPPORTED, "nope");
    expect_error(try_create("x", "<memory snapshot='external' file='/tmp/mem.save'/>", 0),
                 SB_ERR_CONFIG_UNSUPPORTED, "memory");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 0);
    free(reqs);

    create_ok("ok", "<disks><disk name='sda' snapshot='internal'/>"
                    "<disk name='sdb' snapshot='no'/></disks>", 0);
    create_ok("ok2", "<disks><disk name='sdb'/></disks>", 0);
}

/* The plugin checks the request against the disks it reads itself, not
 * against what the broker passed: a definition that skipped the broker's
 * alignment is refused too. */
static void plugin_enforces_modes(void **state)
{
    char xml[512], *out = NULL;
    (void)state;
    const sb_loaded_plugin *p = fx.c->plugin;
    snprintf(xml, sizeof(xml),
             "<domainsnapshot><name>raw</name><state>running</state>"
             "<creationTime>1</creationTime><memory snapshot='internal'/>"
             "<disks><disk name='sdb' snapshot='internal'/></disks></domainsnapshot>");
    sb_error_clear();
    int rc = p->ops.snapshot_create(&out, fx.c->conn, fx.vm, xml, 0);
    assert_null(out);
    expect_error(rc, SB_ERR_CONFIG_UNSUPPORTED, "is left out of every vSphere snapshot");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 0);
    free(reqs);
}

static void duplicate_and_unknown(void **state)
{
    char *xml = NULL, *p = NULL;
    (void)state;

    create_ok("s1", NULL, 0);
    free(requests());
    expect_error(try_create("s1", NULL, 0), SB_ERR_OPERATION_INVALID,
                 "already has a snapshot named 's1'");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 0);
    free(reqs);

    expect_error(sb_snapshot_get_xml(&xml, fx.c, fx.vm, "nope", 0), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "'nope'");
    expect_error(sb_snapshot_revert(fx.c, fx.vm, "nope", 0), SB_ERR_NO_DOMAIN_SNAPSHOT, "'nope'");
    expect_error(sb_snapshot_delete(fx.c, fx.vm, "nope", 0), SB_ERR_NO_DOMAIN_SNAPSHOT, "'nope'");
    expect_error(sb_snapshot_parent(&p, fx.c, fx.vm, "nope"), SB_ERR_NO_DOMAIN_SNAPSHOT, "'nope'");
    expect_error(sb_snapshot_create_xml(NULL, fx.c, "no-such-vm",
                                        "<domainsnapshot><name>z</name></domainsnapshot>", 0),
                 SB_ERR_NO_DOMAIN, "no-such-vm");
    char **names = NULL;
    size_t n = 0;
    expect_error(sb_snapshot_list(&names, &n, fx.c, "no-such-vm", NULL, 0), SB_ERR_NO_DOMAIN,
                 "no-such-vm");
    /* REDEFINE and CURRENT have no vSphere counterpart */
    expect_error(try_create("s1", NULL, SB_SNAPSHOT_CREATE_REDEFINE), SB_ERR_INVALID_ARG,
                 "unsupported flags");
}

static void no_current_without_snapshots(void **state)
{
    char *cur = NULL;
    (void)state;
    expect_error(sb_snapshot_current(&cur, fx.c, fx.vm), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "does not have a current snapshot");
    assert_list(NULL, 0, "");
}

/* ---- revert ---- */

/* A revert that must succeed, and how many power-ons it sent. */
static void revert_powering_on(const char *name, unsigned flags, int power_ons)
{
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, name, flags), 0);
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RevertToSnapshot_Task"), 1);
    assert_int_equal(esxsim_count(reqs, "PowerOnVM_Task"), power_ons);
    free(reqs);
}

/* A revert in the simulator changes no power state; vSphere would leave
 * the VM off after reverting to a snapshot without memory.  RUNNING then
 * powers it on: the test powers the VM off by hand to see that. */
static void revert_flags(void **state)
{
    (void)state;
    create_ok("r1", NULL, 0);
    ctl_ok("vm/power?vm=%s&state=off", NULL);
    create_ok("off1", NULL, 0);
    free(requests());

    revert_powering_on("r1", 0, 0);
    assert_int_equal(domain_state(), SB_DOMAIN_SHUTOFF);

    revert_powering_on("off1", SB_SNAPSHOT_REVERT_RUNNING, 1);
    assert_int_equal(domain_state(), SB_DOMAIN_RUNNING);
    assert_current("off1");

    /* already running: RUNNING needs no power-on */
    revert_powering_on("r1", SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_FORCE, 0);

    expect_error(sb_snapshot_revert(fx.c, fx.vm, "r1", SB_SNAPSHOT_REVERT_PAUSED),
                 SB_ERR_INVALID_ARG, "unsupported flags VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED (0x2)");
    expect_error(sb_snapshot_revert(fx.c, fx.vm, "r1", SB_SNAPSHOT_REVERT_RESET_NVRAM),
                 SB_ERR_INVALID_ARG,
                 "unsupported flags VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM (0x8)");
}

/* On ESXi a revert has hardly ever ended by the first poll, and a poll
 * of a running task reads no VM: RUNNING must still see the VM is off
 * (the simulator's task reports running for two polls here). */
static void revert_running_task(void **state)
{
    (void)state;
    ctl_ok("vm/power?vm=%s&state=off", NULL);
    create_ok("off1", NULL, 0);
    free(requests());

    arm("method=RevertToSnapshot_Task&action=running&polls=2");
    revert_powering_on("off1", SB_SNAPSHOT_REVERT_RUNNING, 1);
    assert_int_equal(domain_state(), SB_DOMAIN_RUNNING);

    /* running already: no power-on */
    arm("method=RevertToSnapshot_Task&action=running&polls=1");
    revert_powering_on("off1", SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_FORCE, 0);
    assert_int_equal(domain_state(), SB_DOMAIN_RUNNING);
}

/* ---- delete ---- */

static void delete_variants(void **state)
{
    (void)state;
    /* a - b - c, and a - d */
    create_ok("a", NULL, 0);
    create_ok("b", NULL, 0);
    create_ok("c", NULL, 0);
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "a", 0), 0);
    create_ok("d", NULL, 0);
    free(requests());

    /* METADATA_ONLY: there is no metadata of ours; nothing is sent */
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "b", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RemoveSnapshot_Task"), 0);
    free(reqs);
    assert_list(NULL, 0, "a,b,c,d");

    /* plain: vSphere re-parents the children */
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "b", 0), 0);
    reqs = requests();
    assert_true(request_has(reqs, "RemoveSnapshot_Task", "<removeChildren>false</removeChildren>"));
    assert_true(request_has(reqs, "RemoveSnapshot_Task", "<consolidate>true</consolidate>"));
    free(reqs);
    assert_parent("c", "a");

    /* CHILDREN_ONLY: each child's subtree (current first moved to a, or
     * the simulator would keep pointing at a removed snapshot) */
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "a", 0), 0);
    free(requests());
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "a", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RemoveSnapshot_Task"), 2);
    assert_true(request_has(reqs, "RemoveSnapshot_Task", "<removeChildren>true</removeChildren>"));
    free(reqs);
    assert_list(NULL, 0, "a");

    /* CHILDREN: one task for the subtree */
    create_ok("e", NULL, 0);
    free(requests());
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "a", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RemoveSnapshot_Task"), 1);
    assert_true(request_has(reqs, "RemoveSnapshot_Task", "<removeChildren>true</removeChildren>"));
    free(reqs);
    assert_list(NULL, 0, "");
    expect_error(sb_snapshot_delete(fx.c, fx.vm, "a", SB_SNAPSHOT_DELETE_CHILDREN |
                                                         SB_SNAPSHOT_DELETE_CHILDREN_ONLY),
                 SB_ERR_INVALID_ARG, "mutually exclusive");
}

/* The simulator never needs a consolidation; the control endpoint makes
 * the VM report one, and the delete says so. */
static void consolidation_reported(void **state)
{
    (void)state;
    create_ok("c1", NULL, 0);
    ctl_ok("vm/consolidation?vm=%s&needed=1", NULL);
    free(drain_log());
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "c1", 0), 0);
    char *log = drain_log();
    assert_non_null(log);
    assert_non_null(strstr(log, "needs its disks consolidated"));
    free(log);
}

/* The same with a delete task still running at the first poll, as on
 * ESXi, whose poll reads no VM: the VM is read after it. */
static void consolidation_after_running_task(void **state)
{
    (void)state;
    create_ok("c1", NULL, 0);
    create_ok("c2", NULL, 0);
    ctl_ok("vm/consolidation?vm=%s&needed=1", NULL);
    free(drain_log());
    arm("method=RemoveSnapshot_Task&action=running&polls=2");
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "c2", 0), 0);
    char *log = drain_log();
    if (!log || !strstr(log, "needs its disks consolidated"))
        fail_msg("no consolidation warning in the log: %s", log ? log : "(empty)");
    free(log);
    /* CHILDREN_ONLY with no child left removes nothing: nothing to warn of */
    free(requests());
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "c1", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "RemoveSnapshot_Task"), 0);
    free(reqs);
    log = drain_log();
    assert_true(!log || !strstr(log, "needs its disks consolidated"));
    free(log);
}

/* Simulator bug: removing an ancestor of the current snapshot with its
 * children leaves snapshot.currentSnapshot naming a removed snapshot
 * (vSphere moves it to the parent), and a create then hangs the
 * simulator.  The plugin reports no current snapshot and refuses to
 * create instead of hanging. */
static void dangling_current(void **state)
{
    char *cur = NULL;
    (void)state;
    create_ok("x", NULL, 0);
    create_ok("y", NULL, 0);
    create_ok("z", NULL, 0);
    assert_int_equal(sb_snapshot_delete(fx.c, fx.vm, "x", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    assert_list(NULL, 0, "x");
    expect_error(sb_snapshot_current(&cur, fx.c, fx.vm), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "does not have a current snapshot");
    free(requests());
    expect_error(try_create("w", NULL, 0), SB_ERR_HYPERVISOR, "revert to a snapshot");
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "CreateSnapshot_Task"), 0);
    free(reqs);
    assert_int_equal(sb_snapshot_revert(fx.c, fx.vm, "x", 0), 0); /* repairs it */
    create_ok("w", NULL, 0);
    assert_parent("w", "x");
}

/* vSphere's limit: a chain at most 31 deep (declared in the plugin's
 * capabilities; the broker checks it through the plugin's tree). */
static void depth_limit(void **state)
{
    char name[16];
    (void)state;
    for (int i = 1; i <= 31; i++) {
        snprintf(name, sizeof(name), "d%d", i);
        create_ok(name, NULL, 0);
    }
    expect_error(try_create("d32", NULL, 0), SB_ERR_OPERATION_INVALID, "deeper");
}

/* ABI 1.1 snapshot_usage, through the broker's own host services (the
 * fleet view that will call it is not built yet).  The simulator writes
 * empty .vmsn files, no memory files and no delta disks. */
static void usage_from_layout(void **state)
{
    struct sb_snapshot_usage u;
    (void)state;
    create_ok("u1", NULL, 0);
    memset(&u, 0, sizeof(u));
    u.struct_size = sizeof(u);
    const sb_loaded_plugin *p = fx.c->plugin;
    assert_non_null(p->ops.snapshot_usage);
    sb_error_clear();
    assert_int_equal(p->ops.snapshot_usage(&u, fx.c->conn, fx.vm, "u1", NULL), 0);
    assert_int_equal(u.known_bytes, 1);
    assert_int_equal(u.memory_bytes, 0);
    assert_non_null(strstr(u.location, "[LocalDS_0] "));
    assert_non_null(strstr(u.location, ".vmsn"));
    assert_non_null(strstr(u.location, fx.vm));
    sb_error_clear();
    expect_error(p->ops.snapshot_usage(&u, fx.c->conn, fx.vm, "nope", NULL),
                 SB_ERR_NO_DOMAIN_SNAPSHOT, "'nope'");
}

#define T(f) cmocka_unit_test_setup_teardown(f, vm_setup, vm_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(domains_and_xml),
        T(domain_power),
        T(shared_bios_uuid),
        T(tree_and_listings),
        T(xml_follows_the_tree),
        T(awkward_names),
        T(control_characters),
        T(create_offline),
        T(create_memory_flag),
        T(quiesce_needs_tools),
        T(disk_modes),
        T(plugin_enforces_modes),
        T(duplicate_and_unknown),
        T(no_current_without_snapshots),
        T(revert_flags),
        T(revert_running_task),
        T(delete_variants),
        T(consolidation_reported),
        T(consolidation_after_running_task),
        T(dangling_current),
        T(depth_limit),
        T(usage_from_layout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
