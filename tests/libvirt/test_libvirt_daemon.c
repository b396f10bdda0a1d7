/* The libvirt plugin against a real libvirtd 9.0 with real QEMU guests
 * (KVM when /dev/kvm works, else TCG): the test starts its own daemon
 * (private-libvirtd.sh: private config, sockets and state, nothing of the
 * machine's libvirt touched) once for the whole program, and stops it at
 * the end, also on failure (its namespace dies with this process).
 *
 * - The same snapshot scenario runs on the libvirt host (unix socket) and
 *   on the qemu plugin; every step must give the same result, except the
 *   differences listed in `differences` below, which the test checks and
 *   prints.
 * - The remote transport: the same daemon over TCP on 127.0.0.1, through
 *   a relay the test can cut (reconnect once per call), freeze (keepalive
 *   declares the connection dead; a read is retried, a write is not) and
 *   close (the daemon is gone: the error names the host).
 * - The ABI 1.1 callbacks on a real guest, the CLI against virsh. */
#include "lvd.h"
#include "lvt.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/dispatch.h"

static struct lvd D;
static int daemon_state; /* 1 running, 0 skipped (reason in why), -1 failed */
static char why[256];
static char images[128]; /* scratch dir for the guests' disks */
static const char *virt_type;

static int group_setup(void **state)
{
    (void)state;
    int rc = lvd_start(&D, why, sizeof(why));
    daemon_state = rc == 0 ? 1 : rc == -1 ? 0 : -1;
    /* TCG without /dev/kvm, or when SB_TEST_NO_KVM asks for it (README) */
    const char *no_kvm = getenv("SB_TEST_NO_KVM");
    int kvm = !(no_kvm && *no_kvm && strcmp(no_kvm, "0")) && access("/dev/kvm", R_OK | W_OK) == 0;
    virt_type = kvm ? "kvm" : "qemu";
    snprintf(images, sizeof(images), "/tmp/sb-lvd-img-XXXXXX");
    if (!mkdtemp(images))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[160];
    (void)state;
    lvt_cleanup_all(); /* what a failed case left: its guests, its dirs */
    lvd_stop(&D);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", images);
    return system(cmd) == 0 ? 0 : -1;
}

static void need_daemon(void)
{
    if (daemon_state < 0)
        fail_msg("the private libvirtd did not start (see above)");
    if (daemon_state == 0) {
        print_message("# SKIP: %s\n", why);
        skip();
    }
}

/* A 64 MiB guest with one 32 MiB qcow2 disk (no OS: SeaBIOS finds nothing
 * to boot and waits, which is all a snapshot needs). */
static char *domain_xml(const char *name, const char *tag)
{
    char *img = NULL, *cmd = NULL, *xml = NULL;

    assert_true(asprintf(&img, "%s/%s-%s.qcow2", images, name, tag) > 0);
    assert_true(asprintf(&cmd, "qemu-img create -q -f qcow2 '%s' 32M", img) > 0);
    assert_int_equal(system(cmd), 0);
    assert_true(asprintf(&xml,
                         "<domain type='%s'><name>%s</name><memory unit='MiB'>64</memory>"
                         "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
                         "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
                         "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                         "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
                         "<memballoon model='none'/></devices></domain>",
                         virt_type, name, img) > 0);
    free(img);
    free(cmd);
    return xml;
}

static void define_and_start(sb_connection *c, const char *name, const char *tag)
{
    char *xml = domain_xml(name, tag), *got = NULL;
    lvt_ok(sb_domain_define(&got, c, xml), "define");
    assert_string_equal(got, name);
    lvt_ok(sb_domain_start(c, name, 0), "start");
    free(got);
    free(xml);
}

/* Leave nothing running or defined (also after a failure in a case). */
static void remove_domain(sb_connection *c, const char *name)
{
    int st;
    if (sb_domain_get_state(&st, c, name) != 0)
        return;
    if (st != SB_DOMAIN_SHUTOFF)
        sb_domain_destroy(c, name);
    sb_domain_undefine(c, name, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
    sb_error_clear();
}

/* ---- one scenario, two plugins ---------------------------------------- */

struct rec {
    char line[96][200];
    int n;
};

static const char *result(int rc)
{
    return rc == 0 ? "ok" : sb_error_class_name(sb_error_last()->code);
}

static void rec(struct rec *r, const char *fmt, ...) SB_PRINTF(2, 3);
static void rec(struct rec *r, const char *fmt, ...)
{
    va_list ap;
    assert_true(r->n < 96);
    va_start(ap, fmt);
    vsnprintf(r->line[r->n++], sizeof(r->line[0]), fmt, ap);
    va_end(ap);
}

static void step_rc(struct rec *r, const char *label, int rc)
{
    rec(r, "%s: %s", label, result(rc));
    if (rc != 0)
        print_message("#   (%s: %s)\n", label, sb_error_last()->message);
}

static void step_list(struct rec *r, sb_connection *c, const char *dom, const char *label,
                      const char *from, unsigned flags)
{
    char **names = NULL;
    size_t n = 0;
    int rc = sb_snapshot_list(&names, &n, c, dom, from, flags);
    if (rc != 0) {
        step_rc(r, label, rc);
        return;
    }
    sb_names_free(names, n);
    char *s = lvt_list(c, dom, from, flags);
    rec(r, "%s: %s", label, s);
    free(s);
}

static void step_current(struct rec *r, sb_connection *c, const char *dom)
{
    char *cur = NULL;
    int rc = sb_snapshot_current(&cur, c, dom);
    rec(r, "current: %s", rc == 0 ? cur : result(rc));
    free(cur);
}

static void step_state(struct rec *r, sb_connection *c, const char *dom, const char *when)
{
    int st = -1, rc = sb_domain_get_state(&st, c, dom);
    rec(r, "state %s: %s", when, rc == 0 ? sb_domain_state_name(st) : result(rc));
}

/* Shut the guest off if it runs (the two plugins may leave it in
 * different states after a step that differs on purpose). */
static void stop_if_running(sb_connection *c, const char *dom)
{
    int st = -1;
    lvt_ok(sb_domain_get_state(&st, c, dom), "state");
    if (st != SB_DOMAIN_SHUTOFF)
        lvt_ok(sb_domain_destroy(c, dom), "destroy");
}

static void step_info(struct rec *r, sb_connection *c, const char *dom, const char *name)
{
    sb_snapshot_info i;
    lvt_ok(sb_snapshot_info_get(&i, c, dom, name), "info");
    rec(r, "info %s: %s %s parent=%s current=%d children=%zu descendants=%zu", name,
        sb_snapshot_state_name(i.state), i.external ? "external" : "internal", i.parent,
        i.is_current, i.children, i.descendants);
}

static int snap(sb_connection *c, const char *dom, const char *name, unsigned flags)
{
    return lvt_create(c, dom, name, flags);
}

/* Internal snapshots of a running, paused and shut-off guest; reverts
 * with RUNNING/PAUSED; delete CHILDREN_ONLY / CHILDREN; undefine. */
static void scenario_internal(struct rec *r, sb_connection *c, const char *tag)
{
    const char *d = "sa";
    define_and_start(c, d, tag);
    step_rc(r, "create s1", snap(c, d, "s1", 0));
    step_rc(r, "create s2", snap(c, d, "s2", 0));
    step_list(r, c, d, "list", NULL, 0);
    step_list(r, c, d, "roots", NULL, SB_SNAPSHOT_LIST_ROOTS);
    step_list(r, c, d, "leaves", NULL, SB_SNAPSHOT_LIST_LEAVES);
    step_current(r, c, d);
    step_info(r, c, d, "s1");
    step_info(r, c, d, "s2");
    step_rc(r, "revert s1", sb_snapshot_revert(c, d, "s1", 0));
    step_state(r, c, d, "after revert s1");
    step_current(r, c, d);
    step_rc(r, "create s3", snap(c, d, "s3", 0));
    step_list(r, c, d, "children of s1", "s1", 0);
    step_rc(r, "suspend", sb_domain_suspend(c, d));
    step_rc(r, "create p1", snap(c, d, "p1", 0));
    step_info(r, c, d, "p1");
    step_rc(r, "resume", sb_domain_resume(c, d));
    step_rc(r, "revert s2 paused", sb_snapshot_revert(c, d, "s2", SB_SNAPSHOT_REVERT_PAUSED));
    step_state(r, c, d, "after revert s2 paused");
    step_rc(r, "revert p1 running", sb_snapshot_revert(c, d, "p1", SB_SNAPSHOT_REVERT_RUNNING));
    step_state(r, c, d, "after revert p1 running");
    step_list(r, c, d, "topological", NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL | SB_SNAPSHOT_LIST_ROOTS);
    step_rc(r, "delete s3 children-only",
            sb_snapshot_delete(c, d, "s3", SB_SNAPSHOT_DELETE_CHILDREN_ONLY));
    step_list(r, c, d, "list", NULL, 0);
    step_current(r, c, d);
    step_rc(r, "destroy", sb_domain_destroy(c, d));
    step_rc(r, "create o1 (shut off)", snap(c, d, "o1", 0));
    step_info(r, c, d, "o1");
    step_list(r, c, d, "inactive", NULL, SB_SNAPSHOT_LIST_INACTIVE);
    step_list(r, c, d, "active", NULL, SB_SNAPSHOT_LIST_ACTIVE);
    step_rc(r, "revert s2 (guest off)", sb_snapshot_revert(c, d, "s2", 0));
    step_state(r, c, d, "after revert s2 (guest off)");
    step_rc(r, "destroy", sb_domain_destroy(c, d));
    step_rc(r, "undefine with snapshots", sb_domain_undefine(c, d, 0));
    /* o1 first: libvirtd 9.0 crashes (segfault) deleting s1 --children
     * while o1, an offline snapshot under s3, is in the subtree and the
     * current snapshot is s2 on the other branch (reproduced with virsh) */
    step_rc(r, "delete o1", sb_snapshot_delete(c, d, "o1", 0));
    step_rc(r, "delete s1 children", sb_snapshot_delete(c, d, "s1", SB_SNAPSHOT_DELETE_CHILDREN));
    step_list(r, c, d, "list", NULL, 0);
    step_current(r, c, d);
    step_rc(r, "start", sb_domain_start(c, d, 0));
    step_rc(r, "undefine running", sb_domain_undefine(c, d, 0));
    step_state(r, c, d, "after undefine running");
    step_rc(r, "destroy", sb_domain_destroy(c, d));
    step_state(r, c, d, "after destroy of the undefined guest");
}

/* Disk-only external snapshots: create, internal on top, revert to it,
 * delete, and an external snapshot whose parent is internal. */
static void scenario_external(struct rec *r, sb_connection *c, const char *tag)
{
    const char *d = "sb";
    define_and_start(c, d, tag);
    step_rc(r, "create e1 disk-only", snap(c, d, "e1", SB_SNAPSHOT_CREATE_DISK_ONLY));
    step_info(r, c, d, "e1");
    step_list(r, c, d, "external", NULL, SB_SNAPSHOT_LIST_EXTERNAL);
    step_list(r, c, d, "disk-only", NULL, SB_SNAPSHOT_LIST_DISK_ONLY);
    step_rc(r, "create i1", snap(c, d, "i1", 0));
    step_info(r, c, d, "i1");
    int rc = sb_snapshot_revert(c, d, "e1", 0);
    step_rc(r, "revert e1", rc);
    if (rc != 0) /* the refusal names the release that lifts it */
        assert_non_null(strstr(sb_error_last()->message, "libvirt 9.9.0 and later"));
    step_state(r, c, d, "after revert e1");
    step_rc(r, "delete i1", sb_snapshot_delete(c, d, "i1", 0));
    step_current(r, c, d);
    step_rc(r, "delete e1", sb_snapshot_delete(c, d, "e1", 0));
    step_list(r, c, d, "list", NULL, 0);
    step_rc(r, "create i2", snap(c, d, "i2", 0));
    step_rc(r, "create e2 disk-only", snap(c, d, "e2", SB_SNAPSHOT_CREATE_DISK_ONLY));
    rc = sb_snapshot_delete(c, d, "e2", 0);
    step_rc(r, "delete e2 (internal parent)", rc);
    if (rc != 0)
        assert_non_null(strstr(sb_error_last()->message, "--metadata"));
    step_rc(r, "delete e2 metadata", sb_snapshot_delete(c, d, "e2",
                                                        SB_SNAPSHOT_DELETE_METADATA_ONLY));
    step_list(r, c, d, "list", NULL, 0);
    stop_if_running(c, d);
    step_rc(r, "undefine keeping metadata", sb_domain_undefine(c, d, 0));
    step_rc(r, "undefine dropping metadata",
            sb_domain_undefine(c, d, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA));
}

/* VALIDATE, and REDEFINE (with and without CURRENT) of a snapshot whose
 * metadata was removed: each side redefines the XML it gave out. */
static void scenario_redefine(struct rec *r, sb_connection *c, const char *tag)
{
    const char *d = "sc";
    char *xml = NULL;
    define_and_start(c, d, tag);
    step_rc(r, "create v1 validate", snap(c, d, "v1", SB_SNAPSHOT_CREATE_VALIDATE));
    lvt_ok(sb_snapshot_get_xml(&xml, c, d, "v1", SB_SNAPSHOT_XML_SECURE), "xml of v1");
    step_rc(r, "delete v1 metadata", sb_snapshot_delete(c, d, "v1",
                                                        SB_SNAPSHOT_DELETE_METADATA_ONLY));
    step_list(r, c, d, "list", NULL, 0);
    step_rc(r, "redefine v1", sb_snapshot_create_xml(NULL, c, d, xml,
                                                     SB_SNAPSHOT_CREATE_REDEFINE |
                                                         SB_SNAPSHOT_CREATE_VALIDATE));
    step_list(r, c, d, "list", NULL, 0);
    step_current(r, c, d);
    step_rc(r, "redefine v1 current", sb_snapshot_create_xml(NULL, c, d, xml,
                                                             SB_SNAPSHOT_CREATE_REDEFINE |
                                                                 SB_SNAPSHOT_CREATE_CURRENT));
    step_current(r, c, d);
    step_rc(r, "revert v1", sb_snapshot_revert(c, d, "v1", 0));
    step_state(r, c, d, "after revert v1");
    step_rc(r, "delete v1", sb_snapshot_delete(c, d, "v1", 0));
    step_list(r, c, d, "list", NULL, 0);
    stop_if_running(c, d);
    step_rc(r, "undefine", sb_domain_undefine(c, d, 0));
    free(xml);
}

/* Where the two plugins differ on purpose; every other step must match.
 * libvirt / qemu: the results each side must give. */
static const struct difference {
    const char *step;
    const char *libvirt;
    const char *qemu;
    const char *why;
} differences[] = {
    { "undefine running: ", "undefine running: ok", "undefine running: OPERATION_INVALID",
      "libvirt makes a running domain transient (it goes when it stops); the qemu plugin "
      "refuses" },
    { "state after destroy of the undefined guest: ",
      "state after destroy of the undefined guest: NO_DOMAIN",
      "state after destroy of the undefined guest: shut off", "follows from the step above" },
    { "revert e1: ", "revert e1: CONFIG_UNSUPPORTED", "revert e1: ok",
      "libvirt 9.0's qemu driver cannot revert to an external snapshot (9.9.0 can); "
      "the qemu plugin can" },
    { "state after revert e1: ", "state after revert e1: running",
      "state after revert e1: shut off",
      "a disk-only snapshot has no memory: reverted, the guest is off" },
    { "delete e2 (internal parent): ", "delete e2 (internal parent): OPERATION_UNSUPPORTED",
      "delete e2 (internal parent): ok",
      "no libvirt release deletes an external snapshot whose parent is internal; "
      "the qemu plugin does" },
    { "delete e2 metadata: ", "delete e2 metadata: ok", "delete e2 metadata: NO_DOMAIN_SNAPSHOT",
      "on the qemu plugin e2 is gone already" },
};

static const struct difference *find_difference(const char *line)
{
    for (size_t i = 0; i < sizeof(differences) / sizeof(differences[0]); i++)
        if (strncmp(line, differences[i].step, strlen(differences[i].step)) == 0)
            return &differences[i];
    return NULL;
}

static void compare(const struct rec *lv, const struct rec *qm)
{
    int bad = 0;
    for (int i = 0; i < lv->n || i < qm->n; i++) {
        const char *a = i < lv->n ? lv->line[i] : "(none)", *b = i < qm->n ? qm->line[i] : "(none)";
        const struct difference *d = find_difference(a);
        if (d) {
            print_message("# difference: libvirt '%s', qemu plugin '%s': %s\n", a, b, d->why);
            if ((d->libvirt && strcmp(a, d->libvirt) != 0) || (d->qemu && strcmp(b, d->qemu) != 0))
                bad = 1;
        } else if (strcmp(a, b) != 0) {
            print_message("# MISMATCH: libvirt '%s', qemu plugin '%s'\n", a, b);
            bad = 1;
        }
    }
    if (bad)
        fail_msg("the libvirt and qemu plugins differ beyond the recorded differences");
}

static void same_scenario_as_qemu_plugin(void **state)
{
    (void)state;
    need_daemon();
    char host[200];
    struct rec lv = { .n = 0 }, qm = { .n = 0 };
    snprintf(host, sizeof(host), "libvirt+%s", D.unix_uri);
    struct lvt *l = lvt_new(NULL, host);
    struct lvt *q = lvt_new(NULL, "qemu:///session");
    assert_string_equal(sb_connection_plugin(q->c), "qemu");

    scenario_internal(&lv, l->c, "lv");
    scenario_internal(&qm, q->c, "qm");
    scenario_external(&lv, l->c, "lv");
    scenario_external(&qm, q->c, "qm");
    scenario_redefine(&lv, l->c, "lv");
    scenario_redefine(&qm, q->c, "qm");
    for (int i = 0; i < lv.n; i++)
        print_message("#   libvirt: %s\n", lv.line[i]);
    for (int i = 0; i < qm.n; i++)
        print_message("#   qemu:    %s\n", qm.line[i]);
    for (const char *const *d = (const char *const[]){ "sa", "sb", "sc", NULL }; *d; d++) {
        remove_domain(l->c, *d);
        remove_domain(q->c, *d);
    }
    lvt_free(l);
    lvt_free(q);
    compare(&lv, &qm);
}

/* ---- what only libvirt runs ---------------------------------------------- */

/* A guest with an LSI Logic SCSI controller holding its disk, a NIC
 * (user networking) and a serial console: libvirt defines, runs and
 * snapshots it; the qemu plugin takes the NIC and the console but refuses
 * the definition for the controller (its SCSI is virtio-scsi only,
 * docs/qemu.md), which is why libvirt hosts go through this plugin. */
static void richer_domains_than_the_qemu_plugin(void **state)
{
    (void)state;
    need_daemon();
    char host[200], *img = NULL, *xml = NULL, *name = NULL, **names = NULL;
    size_t n = 0;
    snprintf(host, sizeof(host), "libvirt+%s", D.unix_uri);
    struct lvt *l = lvt_new(NULL, host);
    struct lvt *q = lvt_new(NULL, "qemu:///session");

    assert_true(asprintf(&img, "%s/rich.qcow2", images) > 0);
    assert_true(asprintf(&xml, "qemu-img create -q -f qcow2 '%s' 32M", img) > 0);
    assert_int_equal(system(xml), 0);
    free(xml);
    assert_true(asprintf(&xml,
                         "<domain type='%s'><name>rich</name><memory unit='MiB'>64</memory>"
                         "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
                         "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
                         "<controller type='scsi' model='lsilogic'/>"
                         "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                         "<source file='%s'/><target dev='sda' bus='scsi'/></disk>"
                         "<interface type='user'><model type='virtio'/></interface>"
                         "<serial type='pty'/><memballoon model='none'/></devices></domain>",
                         virt_type, img) > 0);
    lvt_ok(sb_domain_define(&name, l->c, xml), "define on libvirt");
    free(name);
    lvt_ok(sb_domain_start(l->c, "rich", 0), "start on libvirt");
    lvt_ok(lvt_create(l->c, "rich", "r1", 0), "snapshot on libvirt");
    lvt_ok(sb_snapshot_list(&names, &n, l->c, "rich", NULL, 0), "list");
    assert_int_equal(n, 1);
    sb_names_free(names, n);
    lvt_ok(sb_snapshot_revert(l->c, "rich", "r1", 0), "revert on libvirt");
    lvt_ok(sb_snapshot_delete(l->c, "rich", "r1", 0), "delete on libvirt");
    int rc = sb_domain_define(&name, q->c, xml);
    print_message("# difference: an LSI Logic SCSI controller: libvirt runs the "
                  "guest, the qemu plugin says %s: %s\n",
                  sb_error_class_name(sb_error_last()->code), sb_error_last()->message);
    lvt_expect_error(rc, SB_ERR_CONFIG_UNSUPPORTED, NULL);
    remove_domain(l->c, "rich");
    lvt_free(l);
    lvt_free(q);
    free(img);
    free(xml);
}

/* ---- the remote transport: TCP on 127.0.0.1, through a relay ---------- */

static char *relay_config(int port)
{
    char *conf = NULL;
    /* keepalive: a probe after 5 s of silence, dead after 2 unanswered
     * (about 15 s): what the frozen relay must cause, while a daemon on a
     * loaded machine still answers in time (a 1 s probe would be a timing
     * assumption: a slow answer would count as a lost connection) */
    assert_true(asprintf(&conf,
                         "hosts = ( { name = \"kvm7\"; plugin = \"libvirt\";\n"
                         "  uri = \"qemu+tcp://127.0.0.1:%d/system\";\n"
                         "  libvirt = { keepalive_interval = 5; keepalive_count = 2; }; } );\n",
                         port) > 0);
    return conf;
}

/* The guest's state as the daemon sees it (over the unix socket). */
static int vir_state(const char *dom)
{
    virConnectPtr vc = virConnectOpen(D.unix_uri);
    virDomainPtr d = vc ? virDomainLookupByName(vc, dom) : NULL;
    int st = -1, reason;
    assert_non_null(d);
    assert_int_equal(virDomainGetState(d, &st, &reason, 0), 0);
    virDomainFree(d);
    virConnectClose(vc);
    return st;
}

static void remote_reconnect_and_keepalive(void **state)
{
    (void)state;
    need_daemon();
    struct lvd_relay relay;
    lvd_relay_start(&relay, D.port);
    char *conf = relay_config(relay.port), **names = NULL, *out = NULL;
    size_t n = 0;
    int st;
    struct lvt *t = lvt_new(conf, "kvm7");
    char unix_host[200];
    snprintf(unix_host, sizeof(unix_host), "libvirt+%s", D.unix_uri);
    struct lvt *u = lvt_new(NULL, unix_host);

    /* over TCP: the same daemon as over the unix socket */
    define_and_start(t->c, "rt", "tcp");
    lvt_ok(lvt_create(t->c, "rt", "r1", 0), "create over tcp");
    lvt_ok(sb_snapshot_current(&out, u->c, "rt"), "current over unix");
    assert_string_equal(out, "r1");
    free(out);
    assert_int_equal(lvd_relay_accepted(&relay), 1);

    /* the connection is cut: the next call reconnects (once) and works */
    lvd_relay_cut(&relay);
    lvt_ok(sb_domain_get_state(&st, t->c, "rt"), "state after a cut");
    assert_int_equal(st, SB_DOMAIN_RUNNING);
    lvd_relay_cut(&relay);
    lvt_ok(sb_snapshot_list(&names, &n, t->c, "rt", NULL, 0), "list after a cut");
    assert_int_equal(n, 1);
    sb_names_free(names, n);
    assert_int_equal(lvd_relay_accepted(&relay), 3);

    /* silence: keepalive declares the connection dead in the middle of a
     * read, which is then retried on a new connection */
    lvd_relay_freeze(&relay);
    lvt_ok(sb_domain_get_state(&st, t->c, "rt"), "state through a frozen connection");
    assert_int_equal(st, SB_DOMAIN_RUNNING);
    assert_int_equal(lvd_relay_accepted(&relay), 4);

    /* ...but a write is never sent twice: the caller learns that it may
     * or may not have happened (here it did not: the relay held it) */
    lvd_relay_freeze(&relay);
    lvt_expect_error(sb_domain_suspend(t->c, "rt"), SB_ERR_HYPERVISOR,
                     "lost during suspend");
    assert_non_null(strstr(sb_error_last()->message, "may have done it"));
    assert_int_equal(vir_state("rt"), VIR_DOMAIN_RUNNING);
    lvt_ok(sb_domain_suspend(t->c, "rt"), "suspend on a new connection");
    assert_int_equal(vir_state("rt"), VIR_DOMAIN_PAUSED);

    /* the daemon is gone: a clear error naming the host */
    lvd_relay_close_listener(&relay);
    lvd_relay_cut(&relay);
    lvt_expect_error(sb_domain_get_state(&st, t->c, "rt"), SB_ERR_HYPERVISOR,
                     "host '127.0.0.1' was lost and could not be made again");
    assert_non_null(strstr(sb_error_last()->message, "Connection refused"));
    /* and a new connection says the same at open */
    sb_connection *c2 = NULL;
    lvt_expect_error(sb_connect(&c2, t->b, "kvm7", 0), SB_ERR_HYPERVISOR,
                     "cannot open host 'kvm7'");
    assert_non_null(strstr(sb_error_last()->message, "cannot connect to libvirt on host "
                                                     "'127.0.0.1'"));

    remove_domain(u->c, "rt");
    lvt_free(t);
    lvt_free(u);
    lvd_relay_stop(&relay);
    free(conf);
}

/* ---- ABI 1.1 callbacks on a real guest ------------------------------- */

static long long allocated(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long long)st.st_blocks * 512;
}

static void usage_of(struct lvt *t, const char *dom, const char *name,
                     struct sb_snapshot_usage *u)
{
    int rc;
    memset(u, 0, sizeof(*u));
    u->struct_size = sizeof(*u);
    SB_DISPATCH(rc, t->c->plugin, snapshot_usage, u, t->c->conn, dom, name, NULL);
    lvt_ok(rc, "snapshot_usage");
}

static void abi_1_1_on_qemu(void **state)
{
    (void)state;
    need_daemon();
    char host[200], *xml = NULL, *img = NULL, *overlay = NULL, *mem = NULL;
    struct sb_snapshot_usage u;
    struct sb_job_info j;
    int rc, st, reason;
    snprintf(host, sizeof(host), "libvirt+%s", D.unix_uri);
    struct lvt *t = lvt_new(NULL, host);
    const char *dom = "x1";

    /* conn_caps: the QEMU driver's table */
    assert_int_equal(t->c->caps->create_flags, SB_SNAPSHOT_CREATE_ALL);
    assert_int_equal(t->c->caps->xml_flags, SB_SNAPSHOT_XML_SECURE);

    /* domain_get_state_reason: libvirt's reasons */
    define_and_start(t->c, dom, "x");
    SB_DISPATCH(rc, t->c->plugin, domain_get_state_reason, &st, &reason, t->c->conn, dom);
    lvt_ok(rc, "state reason");
    assert_int_equal(st, VIR_DOMAIN_RUNNING);
    assert_int_equal(reason, VIR_DOMAIN_RUNNING_BOOTED);
    lvt_ok(lvt_create(t->c, dom, "i1", 0), "create i1");
    lvt_ok(sb_snapshot_revert(t->c, dom, "i1", 0), "revert i1");
    SB_DISPATCH(rc, t->c->plugin, domain_get_state_reason, &st, &reason, t->c->conn, dom);
    assert_int_equal(reason, VIR_DOMAIN_RUNNING_FROM_SNAPSHOT);
    lvt_ok(sb_domain_suspend(t->c, dom), "suspend");
    SB_DISPATCH(rc, t->c->plugin, domain_get_state_reason, &st, &reason, t->c->conn, dom);
    assert_int_equal(st, VIR_DOMAIN_PAUSED);
    assert_int_equal(reason, VIR_DOMAIN_PAUSED_USER);
    lvt_ok(sb_domain_resume(t->c, dom), "resume");

    /* domain_validate: this host runs its own definition, not one that
     * names a missing emulator or a virt type it lacks */
    lvt_ok(sb_domain_get_xml(&xml, t->c, dom, 0), "xml");
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn, xml, 0);
    lvt_ok(rc, "validate");
    char *bad = strdup(xml), *e = strstr(bad, "/usr/bin/qemu-system-x86_64");
    assert_non_null(e);
    memcpy(e, "/usr/bin/qemu-system-nonexi", strlen("/usr/bin/qemu-system-nonexi"));
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn, bad, 0);
    lvt_expect_error(rc, SB_ERR_CONFIG_UNSUPPORTED, "qemu-system-nonexi");
    free(bad);
    SB_DISPATCH(rc, t->c->plugin, domain_validate, t->c->conn,
                "<domain type='xen'><name>x</name><os><type>hvm</type></os></domain>", 0);
    lvt_expect_error(rc, SB_ERR_CONFIG_UNSUPPORTED, "'xen'");

    /* snapshot_usage: an internal snapshot is in the image, its share
     * unknown; a disk-only external one is its overlay, known while it is
     * the guest's top image (virDomainGetBlockInfo) */
    assert_true(asprintf(&img, "%s/%s-x.qcow2", images, dom) > 0);
    usage_of(t, dom, "i1", &u);
    assert_int_equal(u.known_bytes, 0);
    assert_string_equal(u.location, img);
    lvt_ok(lvt_create(t->c, dom, "e1", SB_SNAPSHOT_CREATE_DISK_ONLY), "create e1");
    assert_true(asprintf(&overlay, "%s/%s-x.e1", images, dom) > 0);
    usage_of(t, dom, "e1", &u);
    assert_int_equal(u.known_bytes, 1);
    assert_string_equal(u.location, overlay);
    assert_true((long long)u.bytes == allocated(overlay));
    assert_int_equal(u.memory_bytes, 0);

    /* an external snapshot with memory, taken after e1: e1's overlay is no
     * longer the top image, and the memory file is nobody's disk; libvirt
     * knows both as volumes of a storage pool over the directory */
    assert_true(asprintf(&mem, "%s/%s-x.m1.mem", images, dom) > 0);
    char *m1 = NULL;
    assert_true(asprintf(&m1, "<domainsnapshot><name>m1</name>"
                              "<memory snapshot='external' file='%s'/></domainsnapshot>",
                         mem) > 0);
    lvt_ok(sb_snapshot_create_xml(NULL, t->c, dom, m1, 0), "create m1");
    usage_of(t, dom, "e1", &u);
    assert_int_equal(u.known_bytes, 0); /* no pool yet */
    virConnectPtr vc = virConnectOpen(D.unix_uri);
    char *pool = NULL;
    assert_true(asprintf(&pool, "<pool type='dir'><name>images</name><target><path>%s</path>"
                                "</target></pool>",
                         images) > 0);
    virStoragePoolPtr p = virStoragePoolCreateXML(vc, pool, 0);
    if (!p)
        fail_msg("pool: %s", lvt_vir_err());
    usage_of(t, dom, "e1", &u);
    assert_int_equal(u.known_bytes, 1);
    assert_true((long long)u.bytes == allocated(overlay));
    usage_of(t, dom, "m1", &u);
    assert_int_equal(u.known_bytes, 1);
    assert_true((long long)u.memory_bytes == allocated(mem));
    assert_true(u.memory_bytes > 0);
    assert_true(u.bytes > u.memory_bytes);

    /* jobs: none; then an active block commit started outside snapbroker
     * (it waits, ready, for a pivot), seen and cancelled */
    memset(&j, 0, sizeof(j));
    j.struct_size = sizeof(j);
    SB_DISPATCH(rc, t->c->plugin, domain_job_info, &j, t->c->conn, dom);
    lvt_ok(rc, "job info");
    assert_int_equal(j.active, 0);
    virDomainPtr d = virDomainLookupByName(vc, dom);
    if (virDomainBlockCommit(d, "vda", NULL, NULL, 0, VIR_DOMAIN_BLOCK_COMMIT_ACTIVE) < 0)
        fail_msg("block commit: %s", lvt_vir_err());
    SB_DISPATCH(rc, t->c->plugin, domain_job_info, &j, t->c->conn, dom);
    lvt_ok(rc, "job info");
    assert_int_equal(j.active, 1);
    assert_string_equal(j.operation, "active-block-commit");
    SB_DISPATCH(rc, t->c->plugin, domain_job_abort, t->c->conn, dom, 0);
    lvt_ok(rc, "job abort");
    virDomainBlockJobInfo bi;
    assert_int_equal(virDomainGetBlockJobInfo(d, "vda", &bi, 0), 0); /* gone */
    SB_DISPATCH(rc, t->c->plugin, domain_job_abort, t->c->conn, dom, 0);
    lvt_expect_error(rc, SB_ERR_OPERATION_INVALID, "no job is running");

    virDomainFree(d);
    virStoragePoolDestroy(p);
    virStoragePoolFree(p);
    virConnectClose(vc);
    remove_domain(t->c, dom);
    lvt_free(t);
    free(pool);
    free(m1);
    free(mem);
    free(overlay);
    free(img);
    free(xml);
}

/* ---- the CLI on a libvirt host, next to virsh ------------------------- */

static char *virsh(const char *args)
{
    char *cmd = NULL, *out;
    assert_true(asprintf(&cmd, "LC_ALL=C TZ=UTC virsh -c '%s' %s 2>&1", D.unix_uri, args) > 0);
    out = lvt_sh(cmd, NULL);
    free(cmd);
    return out;
}

static void cli_next_to_virsh(void **state)
{
    (void)state;
    need_daemon();
    char host[200], *env = NULL;
    snprintf(host, sizeof(host), "libvirt+%s", D.unix_uri);
    struct lvt *t = lvt_new(NULL, host);
    assert_true(asprintf(&env, "SNAPBROKER_STATE_DIR='%s'", t->dir) > 0);
    define_and_start(t->c, "cv", "cli");
    static const char *const cmds[] = {
        "snapshot-create-as cv c1 first",
        "snapshot-create-as cv c2 second",
        "snapshot-list cv --name",
        "snapshot-list cv --tree",
        "snapshot-list cv --parent",
        "snapshot-current cv --name",
        "snapshot-parent cv c2",
        "snapshot-revert cv c1",
        "snapshot-current cv --name",
        "domstate cv",
        "snapshot-delete cv c1 --children",
        "snapshot-list cv --name",
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *args = NULL, *mine, *theirs;
        int st;
        assert_true(asprintf(&args, "-c '%s' %s", host, cmds[i]) > 0);
        mine = lvt_cli(env, args, &st);
        theirs = virsh(strncmp(cmds[i], "snapshot-create-as", 18) == 0
                           ? "snapshot-list cv --name" /* create each once: ours */
                           : cmds[i]);
        if (strncmp(cmds[i], "snapshot-create-as", 18) != 0 &&
            strncmp(cmds[i], "snapshot-revert", 15) != 0 &&
            strncmp(cmds[i], "snapshot-delete", 15) != 0 && strcmp(mine, theirs) != 0)
            fail_msg("'%s': snapbroker\n%s\nvirsh\n%s", cmds[i], mine, theirs);
        if (st != 0)
            fail_msg("'%s' failed: %s", cmds[i], mine);
        free(args);
        free(mine);
        free(theirs);
    }
    /* several hosts in one configuration: the same daemon as "local"
     * (unix socket, read-only) and as "remote" (TCP) */
    char conf[128];
    snprintf(conf, sizeof(conf), "%s/hosts.conf", t->dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "hosts = (\n"
            "  { name = \"local\"; plugin = \"libvirt\"; uri = \"%s\";\n"
            "    libvirt = { readonly = true; }; },\n"
            "  { name = \"remote\"; plugin = \"libvirt\"; uri = \"%s\"; }\n"
            ");\n",
            D.unix_uri, D.tcp_uri);
    fclose(f);
    free(env);
    assert_true(asprintf(&env, "SNAPBROKER_STATE_DIR='%s' SNAPBROKER_CONFIG='%s'", t->dir,
                         conf) > 0);
    int st;
    char *a = lvt_cli(env, "-c remote snapshot-create-as cv c3", &st);
    assert_int_equal(st, 0);
    free(a);
    a = lvt_cli(env, "-c local snapshot-list cv --name", &st);
    char *b = lvt_cli(env, "-c remote snapshot-list cv --name", &st);
    assert_int_equal(st, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "c3"));
    free(a);
    free(b);
    a = lvt_cli(env, "-c local snapshot-delete cv c3", &st);
    assert_int_equal(st, 1);
    assert_non_null(strstr(a, "OPERATION_DENIED"));
    assert_non_null(strstr(a, "read only"));
    free(a);
    remove_domain(t->c, "cv");
    lvt_free(t);
    free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_scenario_as_qemu_plugin),
        cmocka_unit_test(richer_domains_than_the_qemu_plugin),
        cmocka_unit_test(remote_reconnect_and_keepalive),
        cmocka_unit_test(abi_1_1_on_qemu),
        cmocka_unit_test(cli_next_to_virsh),
    };
    return cmocka_run_group_tests_name("libvirt plugin on a private libvirtd", tests,
                                       group_setup, group_teardown);
}
