/* tests/qemu - a typical server VM on the qemu plugin (issue 14): NICs
 * (user, bridge, ethernet taps; virtio and e1000), VNC, a serial console,
 * a virtio-scsi disk, SCSI and IDE cdroms, through the public API with
 * real QEMU (TCG).
 *
 * What QEMU has is asked from QEMU itself (query-pci, query-block,
 * query-vnc, query-chardev, HMP `info network`) after the start and after
 * every revert; data is written and checked through QEMU (HMP qemu-io on
 * the SCSI disk) and on the images.  Refusals: each unsupported element
 * or attribute is named and nothing is defined.
 *
 * Run as root, the whole program first moves into a network namespace of
 * its own (lo up): the VNC ports and the taps and bridge of the tap cases
 * are then private to it, nothing appears on the host's network.  Not
 * root: the tap cases are skipped (TAP skip), the rest runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "test_wait.h"

static int netns; /* 1: a network namespace of our own (root) */

/* Run a program (no shell); its exit status. */
static int run(const char *const argv[])
{
    char *out = NULL, *err = NULL;
    int st = qp_run(&E.t, (char *const *)argv, &out, &err);
    if (st != 0)
        print_message("# %s: exit %d: %s%s\n", argv[0], st, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return st;
}

/* sda (qcow2, boots the tick counter, 0xaa at 1 MiB) and a 1 MiB raw
 * "iso" for the IDE cdrom */
static void make_images(const char *dom)
{
    char sda[400], iso[400];
    snprintf(sda, sizeof sda, "%s/%s-sda.qcow2", E.dir, dom);
    snprintf(iso, sizeof iso, "%s/%s.iso", E.dir, dom);
    assert_int_equal(qp_img_create(&E.t, sda, "qcow2", "16M"), 0);
    char *out = NULL, *cmd = qp_printf("write -s %s 0 512", e2e_path("mbr.bin"));
    assert_int_equal(qp_io(&E.t, sda, "qcow2", cmd, &out), 0);
    free(out);
    free(cmd);
    assert_int_equal(qp_io(&E.t, sda, "qcow2", "write -P 0xaa 1M 64k", &out), 0);
    free(out);
    assert_int_equal(qp_img_create(&E.t, iso, "raw", "1M"), 0);
}

/* The server VM: virtio-scsi disk sda, empty SCSI cdrom sdb, IDE cdrom
 * hdc with an image, `nics`, VNC on 127.0.0.1 (autoport), a pty serial
 * console; no <video> (libvirt's default, cirrus, is added). */
static char *server_xml(const char *dom, const char *nics)
{
    char *sda = qp_printf("%s/%s-sda.qcow2", E.dir, dom), *iso = qp_printf("%s/%s.iso", E.dir, dom);
    char *x = qp_printf(
        "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='sda' bus='scsi'/></disk>"
        "<disk type='file' device='cdrom'><target dev='sdb' bus='scsi'/><readonly/></disk>"
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='%s'/>"
        "<target dev='hdc' bus='ide'/><readonly/></disk>"
        "<controller type='scsi' index='0' model='virtio-scsi'/>%s"
        "<graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/>"
        "</graphics>"
        "<serial type='pty'><target port='0'/></serial>"
        "<console type='pty'><target type='serial' port='0'/></console>"
        "<memballoon model='none'/></devices></domain>",
        dom, sda, iso, nics);
    free(sda);
    free(iso);
    return x;
}

static void define_ok(const char *xml)
{
    char *name = NULL;
    int r = sb_domain_define(&name, E.c, xml);
    if (r < 0)
        print_message("# define: %s\n", e2e_err());
    assert_int_equal(r, 0);
    free(name);
}

static json_object *qmp(const char *dom, const char *cmd)
{
    qp_qmp *q = NULL;
    assert_int_equal(qp_proc_connect(&E.t, dom, &q), 0);
    json_object *ret = NULL;
    int r = qp_qmp_execute(q, cmd, NULL, &ret);
    if (r < 0)
        print_message("# %s: %s\n", cmd, E.t.err_msg);
    assert_int_equal(r, 0);
    qp_qmp_close(q);
    return ret;
}

static char *hmp(const char *dom, const char *cmd)
{
    qp_qmp *q = NULL;
    assert_int_equal(qp_proc_connect(&E.t, dom, &q), 0);
    char *out = NULL;
    int r = qp_qmp_hmp(q, cmd, &out);
    if (r < 0)
        print_message("# hmp %s: %s\n", cmd, E.t.err_msg);
    assert_int_equal(r, 0);
    qp_qmp_close(q);
    return out ? out : qp_strdup("");
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int jint(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -1;
}

/* The PCI device with this qdev id has vendor:device. */
static void pci_has(json_object *buses, const char *id, int vendor, int device)
{
    for (size_t b = 0; b < json_object_array_length(buses); b++) {
        json_object *devs = NULL, *bus = json_object_array_get_idx(buses, b);
        json_object_object_get_ex(bus, "devices", &devs);
        for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
            json_object *d = json_object_array_get_idx(devs, i), *ids = NULL;
            const char *q = jstr(d, "qdev_id");
            if (!q || strcmp(q, id))
                continue;
            json_object_object_get_ex(d, "id", &ids);
            if (jint(ids, "vendor") != vendor || jint(ids, "device") != device)
                fail_msg("PCI device '%s' is %04x:%04x, not %04x:%04x", id, jint(ids, "vendor"),
                         jint(ids, "device"), vendor, device);
            return;
        }
    }
    fail_msg("no PCI device '%s' in query-pci", id);
}

/* query-block's entry of a device (qdev "sda" or ".../sda/...") */
static json_object *block_of(json_object *blocks, const char *id)
{
    char mid[64];
    snprintf(mid, sizeof mid, "/%s/", id);
    for (size_t i = 0; i < json_object_array_length(blocks); i++) {
        json_object *b = json_object_array_get_idx(blocks, i);
        const char *q = jstr(b, "qdev");
        if (q && (!strcmp(q, id) || strstr(q, mid)))
            return b;
    }
    fail_msg("no block device '%s' in query-block", id);
    return NULL;
}

/* Everything the server VM has, as QEMU reports it.  nic_models: the
 * QEMU model of net0, net1, ... ("virtio-net-pci", "e1000"). */
static void devices_present(const char *dom, const char *const *nic_models, const char *netdev)
{
    json_object *pci = qmp(dom, "query-pci");
    pci_has(pci, "scsi0", 0x1af4, 0x1004);  /* virtio-scsi */
    pci_has(pci, "video0", 0x1013, 0x00b8); /* cirrus, libvirt's default */
    for (size_t i = 0; nic_models[i]; i++) {
        char id[32];
        snprintf(id, sizeof id, "net%zu", i);
        if (!strcmp(nic_models[i], "virtio-net-pci"))
            pci_has(pci, id, 0x1af4, 0x1000);
        else
            pci_has(pci, id, 0x8086, 0x100e); /* e1000 */
    }
    json_object_put(pci);

    json_object *blocks = qmp(dom, "query-block"), *ins = NULL, *v = NULL;
    json_object *sda = block_of(blocks, "sda"), *sdb = block_of(blocks, "sdb");
    json_object *hdc = block_of(blocks, "hdc");
    assert_true(json_object_object_get_ex(sda, "inserted", &ins));
    assert_true(json_object_object_get_ex(ins, "ro", &v) && !json_object_get_boolean(v));
    assert_false(json_object_object_get_ex(sdb, "inserted", &ins)); /* empty cdrom */
    assert_true(json_object_object_get_ex(sdb, "removable", &v) && json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(hdc, "inserted", &ins));
    assert_true(json_object_object_get_ex(ins, "ro", &v) && json_object_get_boolean(v));
    assert_non_null(strstr(jstr(ins, "file"), ".iso"));
    json_object_put(blocks);

    json_object *vnc = qmp(dom, "query-vnc");
    assert_true(json_object_object_get_ex(vnc, "enabled", &v) && json_object_get_boolean(v));
    assert_string_equal(jstr(vnc, "host"), "127.0.0.1");
    int port = atoi(jstr(vnc, "service") ? jstr(vnc, "service") : "0");
    assert_true(port >= 5900 && port <= 65535);
    json_object_put(vnc);

    json_object *chr = qmp(dom, "query-chardev");
    int pty = 0;
    for (size_t i = 0; i < json_object_array_length(chr); i++) {
        json_object *c = json_object_array_get_idx(chr, i);
        const char *f = jstr(c, "filename");
        pty |= !strcmp(jstr(c, "label"), "charserial0") && f && !strncmp(f, "pty:/dev/pts/", 13);
    }
    json_object_put(chr);
    assert_true(pty);

    char *net = hmp(dom, "info network");
    for (size_t i = 0; nic_models[i]; i++) {
        char want[128], back[64];
        snprintf(want, sizeof want, "net%zu: index=0,type=nic,model=%s,macaddr=52:54:00:", i,
                 nic_models[i]);
        snprintf(back, sizeof back, "hostnet%zu: index=0,type=%s", i, netdev);
        if (!strstr(net, want) || !strstr(net, back))
            fail_msg("info network lacks '%s' / '%s':\n%s", want, back, net);
    }
    free(net);
}

/* Data on the SCSI disk, through QEMU (HMP qemu-io on the device) */
static void scsi_write(const char *dom, int pattern)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "qemu-io -d sda \"write -P 0x%02x 1M 64k\"", pattern);
    char *o = hmp(dom, cmd);
    assert_null(strstr(o, "rror"));
    free(o);
}

static int scsi_check(const char *dom, int pattern)
{
    char *o = hmp(dom, "qemu-io -d sda \"flush\"");
    free(o);
    return e2e_off_check(dom, "sda", pattern);
}

/* ---- refusals -------------------------------------------------------------- */

static void refusals(void **state)
{
    (void)state;
    static const struct {
        const char *devices;
        int code;
        const char *words[2];
    } bad[] = {
        {"<interface type='network'><source network='default'/></interface>",
         SB_ERR_CONFIG_UNSUPPORTED, {"interface net0", "type='bridge'"}},
        {"<interface type='direct'><source dev='eth0' mode='bridge'/></interface>",
         SB_ERR_CONFIG_UNSUPPORTED, {"interface net0", "'direct'"}},
        {"<interface type='user'><model type='ne2k_pci'/></interface>",
         SB_ERR_CONFIG_UNSUPPORTED, {"interface net0", "ne2k_pci"}},
        {"<interface type='user'><model type='virtio'/><driver name='vhost'/></interface>",
         SB_ERR_CONFIG_UNSUPPORTED, {"interface net0", "<driver>"}},
        {"<interface type='user'><boot order='1'/></interface>", SB_ERR_CONFIG_UNSUPPORTED,
         {"interface net0", "<boot>"}},
        {"<interface type='user'/><interface type='user'><mac address='53:54:00:00:00:01'/>"
         "</interface>", SB_ERR_XML_ERROR, {"interface net1", "multicast"}},
        {"<interface type='user'><mac address='52:54:00:zz:00:01'/></interface>",
         SB_ERR_XML_ERROR, {"interface net0", "mac address"}},
        {"<interface type='bridge'><model type='virtio'/></interface>", SB_ERR_XML_ERROR,
         {"interface net0", "source bridge"}},
        {"<interface type='user'><target dev='tap0'/></interface>", SB_ERR_CONFIG_UNSUPPORTED,
         {"interface net0", "<target>"}},
        {"<interface type='bridge'><source bridge='br0'/><target dev='t0' managed='no'/>"
         "</interface>", SB_ERR_CONFIG_UNSUPPORTED, {"interface net0", "managed='no'"}},
        {"<interface type='ethernet'><target dev='a/b'/></interface>", SB_ERR_XML_ERROR,
         {"interface net0", "a/b"}},
        {"<graphics type='spice'/>", SB_ERR_CONFIG_UNSUPPORTED, {"graphics", "spice"}},
        {"<graphics type='vnc' passwd='s3cret'/>", SB_ERR_CONFIG_UNSUPPORTED,
         {"graphics", "passwd"}},
        {"<graphics type='vnc'><listen type='network' network='default'/></graphics>",
         SB_ERR_CONFIG_UNSUPPORTED, {"listen type='network'", "type='address'"}},
        {"<graphics type='vnc' port='80' autoport='no'/>", SB_ERR_XML_ERROR,
         {"port='80'", "5900"}},
        {"<graphics type='vnc' listen='127.0.0.1'><listen type='address' address='0.0.0.0'/>"
         "</graphics>", SB_ERR_XML_ERROR, {"must match", "0.0.0.0"}},
        {"<graphics type='vnc'/><graphics type='vnc'/>", SB_ERR_CONFIG_UNSUPPORTED,
         {"only one <graphics>", NULL}},
        {"<video><model type='qxl'/></video>", SB_ERR_CONFIG_UNSUPPORTED, {"video", "qxl"}},
        {"<video><model type='vga'><acceleration accel3d='yes'/></model></video>",
         SB_ERR_CONFIG_UNSUPPORTED, {"video", "acceleration"}},
        {"<controller type='scsi' index='0' model='lsilogic'/>", SB_ERR_CONFIG_UNSUPPORTED,
         {"controller type='scsi'", "lsilogic"}},
        {"<controller type='scsi' index='0'><driver queues='4'/></controller>",
         SB_ERR_CONFIG_UNSUPPORTED, {"controller type='scsi'", "<driver>"}},
        {"<disk type='file' device='disk'><source file='/x.img'/><target dev='sdc' bus='scsi'/>"
         "<address type='pci' domain='0' bus='0' slot='9' function='0'/></disk>",
         SB_ERR_XML_ERROR, {"sdc", "type='drive'"}},
        {"<disk type='file' device='disk'><source file='/x.img'/><target dev='sdc' bus='scsi'/>"
         "</disk><disk type='file' device='cdrom'><target dev='sdd' bus='scsi'/>"
         "<address type='drive' controller='0' bus='0' target='0' unit='2'/></disk>",
         SB_ERR_XML_ERROR, {"'sdc' and 'sdd'", "same SCSI address"}},
        {"<disk type='file' device='lun'><source file='/x.img'/><target dev='sdc' bus='scsi'/>"
         "</disk>", SB_ERR_CONFIG_UNSUPPORTED, {"lun", NULL}},
        {"<console type='pty'><target type='virtio'/></console>", SB_ERR_CONFIG_UNSUPPORTED,
         {"console", "virtio"}},
        {"<serial type='pty'/><serial type='pty'/>", SB_ERR_CONFIG_UNSUPPORTED,
         {"only one serial port", NULL}},
        {"<serial type='tcp'/>", SB_ERR_CONFIG_UNSUPPORTED, {"serial type='tcp'", NULL}},
        {"<hostdev mode='subsystem' type='pci'/>", SB_ERR_CONFIG_UNSUPPORTED, {"hostdev", NULL}},
        {"<sound model='ich6'/>", SB_ERR_CONFIG_UNSUPPORTED, {"sound", NULL}},
        {"<input type='tablet' bus='usb'/>", SB_ERR_CONFIG_UNSUPPORTED, {"input", "usb"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *xml = qp_printf(
            "<domain type='qemu'><name>bad</name><memory unit='MiB'>64</memory>"
            "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
            "<source file='/x.qcow2'/><driver name='qemu' type='qcow2'/>"
            "<target dev='vda' bus='virtio'/></disk>%s</devices></domain>",
            bad[i].devices);
        int r = sb_domain_define(NULL, E.c, xml);
        free(xml);
        const char *msg = e2e_err();
        if (r != -bad[i].code || !strstr(msg, bad[i].words[0]) ||
            (bad[i].words[1] && !strstr(msg, bad[i].words[1])))
            fail_msg("case %zu (%s): got %d '%s'", i, bad[i].devices, r, msg);
        assert_null(strstr(msg, "s3cret")); /* a password is never echoed */
        char *x = NULL;
        assert_int_equal(sb_domain_get_xml(&x, E.c, "bad", 0), -SB_ERR_NO_DOMAIN);
    }
}

/* dumpxml gives what was defined (libvirt's formatting), plus what
 * libvirt adds at define: a MAC per interface, the SCSI controller the
 * disks need (virtio-scsi, explicit); defining that again changes
 * nothing. */
static void round_trip(void **state)
{
    (void)state;
    const char *xml =
        "<domain type=\"qemu\"><name>rt</name><memory unit=\"MiB\">64</memory>"
        "<os><type arch=\"x86_64\" machine=\"pc\">hvm</type></os><devices>"
        "<disk type=\"file\" device=\"disk\"><driver name=\"qemu\" type=\"qcow2\"/>"
        "<source file=\"/img/rt.qcow2\"/><target dev=\"sda\" bus=\"scsi\"/></disk>"
        "<disk type=\"file\" device=\"cdrom\"><target dev=\"sdi\" bus=\"scsi\"/><readonly/></disk>"
        "<interface type=\"user\"><mac address=\"52:54:00:12:34:56\"/><model type=\"e1000\"/>"
        "</interface>"
        "<interface type=\"bridge\"><source bridge=\"br0\"/><model type=\"virtio\"/></interface>"
        "<graphics type=\"vnc\" port=\"5907\" autoport=\"no\" listen=\"::1\"/>"
        "<video><model type=\"vga\" vram=\"16384\" heads=\"1\" primary=\"yes\"/></video>"
        "<serial type=\"pty\"/><console type=\"pty\"/></devices></domain>";
    define_ok(xml);
    char *got = NULL, *again = NULL;
    assert_int_equal(sb_domain_get_xml(&got, E.c, "rt", 0), 0);
    static const char *const want[] = {
        "<domain type='qemu'>\n  <name>rt</name>\n  <uuid>",
        "      <target dev='sda' bus='scsi'/>\n",
        "    <disk type='file' device='cdrom'>\n      <target dev='sdi' bus='scsi'/>\n"
        "      <readonly/>\n    </disk>\n"
        /* sdi is unit 1 of controller 1 (libvirt: 7 units a controller) */
        "    <controller type='scsi' index='0' model='virtio-scsi'/>\n"
        "    <controller type='scsi' index='1' model='virtio-scsi'/>\n",
        "    <interface type='user'>\n      <mac address='52:54:00:12:34:56'/>\n"
        "      <model type='e1000'/>\n    </interface>\n",
        "    <interface type='bridge'>\n      <mac address='52:54:00:",
        "      <source bridge='br0'/>\n      <model type='virtio'/>\n    </interface>\n",
        "    <graphics type='vnc' port='5907' autoport='no' listen='::1'/>\n",
        "<model type='vga' vram='16384' heads='1' primary='yes'/>",
        "    <serial type='pty'/>\n    <console type='pty'/>\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(got, want[i]))
            fail_msg("dumpxml lacks\n%s\nin\n%s", want[i], got);
    define_ok(got);
    assert_int_equal(sb_domain_get_xml(&again, E.c, "rt", 0), 0);
    assert_string_equal(again, got);
    /* the command line follows it: controllers 0 and 1, sdi at lun 1 of 1 */
    qp_domain *d = NULL;
    qp_strv argv = {0};
    assert_int_equal(qp_domain_parse(&E.t, got, &d), 0);
    assert_int_equal(qp_proc_argv(&E.t, d, &argv), 0);
    static const char *const args[] = {
        "virtio-scsi-pci,id=scsi0", "virtio-scsi-pci,id=scsi1",
        "scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=d-sda,id=sda",
        "scsi-cd,bus=scsi1.0,channel=0,scsi-id=0,lun=1,id=sdi", "user,id=hostnet0",
        "e1000,netdev=hostnet0,id=net0,mac=52:54:00:12:34:56", "tap,id=hostnet1,fd=65",
        "[::1]:7", "VGA,id=video0"};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        assert_true(qp_strv_has(&argv, args[i]));
    qp_strv_free(&argv);
    qp_domain_free(d);
    free(got);
    free(again);
    assert_int_equal(sb_domain_undefine(E.c, "rt", 0), 0);
}

/* ---- the server VM, running ---------------------------------------------------- */

static void server_vm_snapshots(void **state)
{
    (void)state;
    static const char *const models[] = {"virtio-net-pci", "e1000", NULL};
    make_images("srv");
    char *xml = server_xml("srv", "<interface type='user'><model type='virtio'/></interface>"
                                  "<interface type='user'><model type='e1000'/></interface>");
    define_ok(xml);
    free(xml);
    assert_int_equal(sb_domain_start(E.c, "srv", 0), 0);
    e2e_wait_ticking("srv"); /* SeaBIOS booted the SCSI disk */
    devices_present("srv", models, "user");
    char *sda0 = e2e_source("srv", "sda"), *hdc0 = e2e_source("srv", "hdc");

    /* internal, online (snapshot-save under TCG), then revert in place */
    scsi_write("srv", 0x11);
    assert_int_equal(e2e_snap("srv", "s1", NULL, 0), 0);
    assert_true(e2e_has_tag(sda0, "s1"));
    assert_false(e2e_has_tag(hdc0, "s1")); /* the read-only cdrom is not in it */
    scsi_write("srv", 0x22);
    assert_int_equal(e2e_revert("srv", "s1", 0), 0);
    assert_int_equal(e2e_state("srv"), SB_DOMAIN_RUNNING);
    assert_true(scsi_check("srv", 0x11));
    devices_present("srv", models, "user");

    /* external disk-only, online (QMP transaction) */
    assert_int_equal(e2e_snap("srv", "s2", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *sda2 = e2e_source("srv", "sda"), *hdc2 = e2e_source("srv", "hdc");
    assert_string_not_equal(sda2, sda0);
    assert_int_equal(e2e_chain_len(sda2), 2);
    assert_string_equal(hdc2, hdc0);
    scsi_write("srv", 0x33);
    devices_present("srv", models, "user");

    /* full external (memory + disk), revert: a new QEMU with the same
     * devices takes the saved state */
    assert_int_equal(sb_domain_suspend(E.c, "srv"), 0);
    unsigned t1 = e2e_tick("srv");
    char *mem = qp_printf("<memory snapshot='external' file='%s'/>", e2e_path("srv.mem"));
    assert_int_equal(e2e_snap("srv", "s3", mem, 0), 0);
    free(mem);
    assert_int_equal(sb_domain_resume(E.c, "srv"), 0);
    scsi_write("srv", 0x44);
    pid_t before = e2e_qemu_pid("srv");
    assert_int_equal(e2e_revert("srv", "s3", 0), 0);
    assert_true(e2e_qemu_pid("srv") != before);
    assert_int_equal(e2e_state("srv"), SB_DOMAIN_PAUSED);
    assert_int_equal(e2e_tick("srv"), t1);
    assert_true(scsi_check("srv", 0x33));
    devices_present("srv", models, "user");
    assert_int_equal(sb_domain_resume(E.c, "srv"), 0);
    e2e_wait_tick_moves("srv", t1);

    /* deletes while running: active commits on the SCSI disk's chain.
     * The QEMU restarted from the memory file opened the revert's overlay
     * as its top node; after the first commit pivoted off it, that node
     * must be gone, or the second commit fails ("Need a root block node") */
    scsi_write("srv", 0x66);
    if (e2e_del("srv", "s3", 0) < 0)
        fail_msg("delete s3: %s", e2e_err());
    assert_true(scsi_check("srv", 0x66));
    char *sda5 = e2e_source("srv", "sda");
    assert_string_equal(sda5, sda2);
    free(sda5);
    devices_present("srv", models, "user");
    if (e2e_del("srv", "s2", 0) < 0)
        fail_msg("delete s2 while running: %s", e2e_err());
    assert_int_equal(e2e_state("srv"), SB_DOMAIN_RUNNING);
    assert_true(scsi_check("srv", 0x66));
    sda5 = e2e_source("srv", "sda");
    assert_string_equal(sda5, sda0);
    free(sda5);
    devices_present("srv", models, "user");

    /* shut off: the merged data is on the base; offline external and back */
    e2e_stop("srv");
    assert_true(e2e_off_check("srv", "sda", 0x66));
    assert_int_equal(e2e_snap("srv", "s4", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    assert_int_equal(e2e_revert("srv", "s1", SB_SNAPSHOT_REVERT_RUNNING), -SB_ERR_OPERATION_INVALID);
    assert_int_equal(e2e_del("srv", "s4", 0), 0);
    assert_int_equal(e2e_revert("srv", "s1", SB_SNAPSHOT_REVERT_RUNNING), 0);
    devices_present("srv", models, "user");
    assert_true(scsi_check("srv", 0x11));
    e2e_stop("srv");
    free(sda0);
    free(hdc0);
    free(sda2);
    free(hdc2);
}


/* ---- figures: the server VM against the minimal one, same run ---------------- */

struct figures {
    double start, create, revert, full;
    long long mem;
};

static void measure(const char *dom, struct figures *f)
{
    double t0 = qp_now_ms();
    assert_int_equal(sb_domain_start(E.c, dom, 0), 0);
    f->start = qp_now_ms() - t0;
    e2e_wait_ticking(dom);
    assert_int_equal(e2e_snap(dom, "i1", NULL, 0), 0);
    f->create = E.last_ms;
    assert_int_equal(e2e_revert(dom, "i1", 0), 0);
    f->revert = E.last_ms;
    char mf[64];
    snprintf(mf, sizeof mf, "%s.mem", dom);
    char *mem = qp_printf("<memory snapshot='external' file='%s'/>", e2e_path(mf));
    assert_int_equal(sb_domain_suspend(E.c, dom), 0);
    assert_int_equal(e2e_snap(dom, "f1", mem, 0), 0);
    f->full = E.last_ms;
    f->mem = qp_file_size(e2e_path(mf));
    free(mem);
    e2e_stop(dom);
}

/* No assertion on time: printed for docs/qemu.md, as ratios to the
 * minimal domain of the other e2e tests (two virtio disks, nothing else)
 * measured in the same run. */
static void figures(void **state)
{
    (void)state;
    struct figures srv, mini;
    make_images("fig");
    char *xml = server_xml("fig", "<interface type='user'><model type='virtio'/></interface>"
                                  "<interface type='user'><model type='e1000'/></interface>");
    define_ok(xml);
    free(xml);
    e2e_define("mini");
    measure("fig", &srv);
    measure("mini", &mini);
    print_message("# server VM / minimal VM (same run, TCG): start %.0f/%.0f ms (%.2fx), "
                  "internal create %.0f/%.0f ms (%.2fx), internal revert %.0f/%.0f ms (%.2fx), "
                  "full external create %.0f/%.0f ms (%.2fx), memory file %lld/%lld KiB (%.2fx)\n",
                  srv.start, mini.start, srv.start / mini.start, srv.create, mini.create,
                  srv.create / mini.create, srv.revert, mini.revert, srv.revert / mini.revert,
                  srv.full, mini.full, srv.full / mini.full, srv.mem / 1024, mini.mem / 1024,
                  (double)srv.mem / (double)mini.mem);
}

/* ---- taps: bridge and ethernet (root, in our network namespace) ------------- */

static int tap_skip(void)
{
    if (!netns) {
        print_message("# not root or no network namespace: tap cases skipped\n");
        skip();
    }
    return 0;
}

/* Entries of a directory (a bridge's ports), -1 if it cannot be read. */
static int count_dir(const char *path, char *first, size_t len)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            if (n++ == 0 && first && strlen(e->d_name) < len)
                memcpy(first, e->d_name, strlen(e->d_name) + 1);
        }
    closedir(d);
    return n;
}

static int netdev_exists(const char *name)
{
    char p[128];
    struct stat st;
    snprintf(p, sizeof p, "/sys/class/net/%s", name);
    return stat(p, &st) == 0;
}

/* net0 on bridge sbbr0 (virtio), net1 an ethernet tap the plugin makes
 * (e1000), net2 the tap sbtap9 made beforehand (managed='no', virtio). */
static void tap_bridge(void **state)
{
    (void)state;
    tap_skip();
    const char *const br[] = {"ip", "link", "add", "sbbr0", "type", "bridge", NULL};
    const char *const br_up[] = {"ip", "link", "set", "sbbr0", "up", NULL};
    const char *const tap[] = {"ip", "tuntap", "add", "sbtap9", "mode", "tap", NULL};
    assert_int_equal(run(br), 0);
    assert_int_equal(run(br_up), 0);
    assert_int_equal(run(tap), 0);
    static const char *const models[] = {"virtio-net-pci", "e1000", "virtio-net-pci", NULL};
    make_images("tp");
    char *xml = server_xml(
        "tp", "<interface type='bridge'><source bridge='sbbr0'/><model type='virtio'/>"
              "<mac address='52:54:00:aa:bb:01'/></interface>"
              "<interface type='ethernet'><model type='e1000'/></interface>"
              "<interface type='ethernet'><target dev='sbtap9' managed='no'/>"
              "<model type='virtio'/></interface>");
    define_ok(xml);
    free(xml);
    assert_int_equal(sb_domain_start(E.c, "tp", 0), 0);
    devices_present("tp", models, "tap");
    /* one port on the bridge: the plugin's tap, with the guest's MAC
     * behind fe: (libvirt's rule: the bridge never takes the guest's) */
    char port[64] = "", path[256], *mac = NULL;
    assert_int_equal(count_dir("/sys/class/net/sbbr0/brif", port, sizeof port), 1);
    snprintf(path, sizeof path, "/sys/class/net/%s/address", port);
    assert_int_equal(qp_read_file(&E.t, path, &mac, NULL), 0);
    assert_int_equal(strncmp(mac, "fe:54:00:aa:bb:01", 17), 0);
    free(mac);
    /* snapshot and revert with the taps: in place, the same taps */
    assert_int_equal(e2e_snap("tp", "t1", NULL, 0), 0);
    scsi_write("tp", 0x55);
    assert_int_equal(e2e_revert("tp", "t1", 0), 0);
    assert_true(scsi_check("tp", 0xaa));
    devices_present("tp", models, "tap");
    e2e_stop("tp");
    /* the plugin's taps went with QEMU; the one made beforehand stays */
    assert_int_equal(count_dir("/sys/class/net/sbbr0/brif", NULL, 0), 0);
    assert_false(netdev_exists(port));
    assert_true(netdev_exists("sbtap9"));
    /* a revert that starts QEMU again opens them again */
    assert_int_equal(e2e_revert("tp", "t1", 0), 0);
    devices_present("tp", models, "tap");
    assert_int_equal(count_dir("/sys/class/net/sbbr0/brif", NULL, 0), 1);
    e2e_stop("tp");
}

/* A fixed VNC port (in our own network namespace, where no one else can
 * hold it) and a SCSI cdrom with a medium; a second guest on the same
 * port fails to start, QEMU's reason in the error, and nothing runs. */
static void vnc_port_scsi_medium(void **state)
{
    (void)state;
    tap_skip();
    make_images("vp");
    char *sda = qp_printf("%s/vp-sda.qcow2", E.dir), *iso = qp_printf("%s/vp.iso", E.dir);
    const char *fmt =
        "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='sda' bus='scsi'/></disk>"
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='%s'/>"
        "<target dev='sdb' bus='scsi'/><readonly/></disk>"
        "<interface type='user'><model type='e1000'/></interface>"
        "<graphics type='vnc' port='5907' autoport='no' listen='127.0.0.1'/>"
        "<video><model type='vga'/></video></devices></domain>";
    char *xml = qp_printf(fmt, "vp", sda, iso);
    define_ok(xml);
    free(xml);
    assert_int_equal(sb_domain_start(E.c, "vp", 0), 0);
    json_object *vnc = qmp("vp", "query-vnc"), *blocks = NULL, *ins = NULL, *v = NULL;
    assert_string_equal(jstr(vnc, "service"), "5907");
    json_object_put(vnc);
    blocks = qmp("vp", "query-block");
    json_object *sdb = block_of(blocks, "sdb");
    assert_true(json_object_object_get_ex(sdb, "inserted", &ins));
    assert_true(json_object_object_get_ex(ins, "ro", &v) && json_object_get_boolean(v));
    json_object_put(blocks);
    json_object *pci = qmp("vp", "query-pci");
    pci_has(pci, "video0", 0x1234, 0x1111); /* VGA */
    json_object_put(pci);
    assert_int_equal(e2e_snap("vp", "v1", NULL, 0), 0);
    assert_int_equal(e2e_revert("vp", "v1", 0), 0);
    vnc = qmp("vp", "query-vnc");
    assert_string_equal(jstr(vnc, "service"), "5907");
    json_object_put(vnc);
    /* the port is taken (the second guest has images of its own) */
    make_images("vq");
    char *sda2 = qp_printf("%s/vq-sda.qcow2", E.dir), *iso2 = qp_printf("%s/vq.iso", E.dir);
    xml = qp_printf(fmt, "vq", sda2, iso2);
    free(sda2);
    free(iso2);
    define_ok(xml);
    free(xml);
    int r = sb_domain_start(E.c, "vq", 0);
    print_message("# second guest on port 5907: %d %s\n", r, e2e_err());
    assert_int_equal(r, -SB_ERR_HYPERVISOR);
    assert_non_null(strstr(e2e_err(), "Address already in use"));
    assert_int_equal(e2e_state("vq"), SB_DOMAIN_SHUTOFF);
    assert_int_equal(e2e_state("vp"), SB_DOMAIN_RUNNING);
    e2e_stop("vp");
    free(sda);
    free(iso);
}

/* What the host cannot provide is refused at start, naming the
 * interface, with nothing left running. */
static void tap_errors(void **state)
{
    (void)state;
    tap_skip();
    make_images("te");
    static const struct {
        const char *nic;
        int code;
        const char *words[2];
    } bad[] = {
        {"<interface type='bridge'><source bridge='nosuchbr'/></interface>",
         SB_ERR_OPERATION_FAILED, {"interface net0 (bridge 'nosuchbr')", "no network device"}},
        {"<interface type='bridge'><source bridge='lo'/></interface>", SB_ERR_OPERATION_FAILED,
         {"interface net0 (bridge 'lo')", "not a bridge"}},
        {"<interface type='ethernet'><target dev='sbnone' managed='no'/></interface>",
         SB_ERR_OPERATION_FAILED, {"interface net0 (ethernet, tap 'sbnone')", "does not exist"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *xml = server_xml("te", bad[i].nic);
        define_ok(xml);
        free(xml);
        int r = sb_domain_start(E.c, "te", 0);
        const char *msg = e2e_err();
        if (r != -bad[i].code || !strstr(msg, bad[i].words[0]) || !strstr(msg, bad[i].words[1]))
            fail_msg("case %zu: got %d '%s'", i, r, msg);
        assert_int_equal(e2e_state("te"), SB_DOMAIN_SHUTOFF);
    }
    /* without CAP_NET_ADMIN (a child that dropped it): denied, named */
    char *xml = server_xml("te", "<interface type='user'/>"
                                 "<interface type='bridge'><source bridge='sbbr0'/></interface>");
    define_ok(xml);
    free(xml);
    pid_t pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d) < 0)
            _exit(3);
        d[0].effective &= ~(1u << CAP_NET_ADMIN);
        d[0].permitted &= ~(1u << CAP_NET_ADMIN);
        if (syscall(SYS_capset, &h, d) < 0)
            _exit(3);
        int r = sb_domain_start(E.c, "te", 0);
        const char *msg = e2e_err();
        fprintf(stderr, "# without CAP_NET_ADMIN: %d %s\n", r, msg);
        _exit(r == -SB_ERR_OPERATION_DENIED && strstr(msg, "interface net1 (bridge 'sbbr0')") &&
                      strstr(msg, "CAP_NET_ADMIN")
                  ? 0
                  : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(e2e_state("te"), SB_DOMAIN_SHUTOFF);
    assert_int_equal(count_dir("/sys/class/net/sbbr0/brif", NULL, 0), 0);
}

/* ---- the same XML under libvirt ------------------------------------------------- */

/* libvirt 9.0's qemu driver (qemu:///embed in a scratch root, no daemon)
 * turns our stored definition into its QEMU command line (virsh
 * domxml-to-native); every device of ours must be there with the same
 * driver and the same properties (ids, drive and netdev names aside, as
 * libvirt names them its own way), and every device of libvirt's kinds
 * must be ours, so the guest sees the same hardware under either.  The
 * driver looks its default user libvirt-qemu up even when qemu.conf says
 * root: private copies of passwd/group (bind-mounted in this test's own
 * mount namespace) have it when the machine does not. */
static int libvirt_skip(void)
{
    static const char *const drivers[] = {
        "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so",
        "/usr/lib/libvirt/connection-driver/libvirt_driver_qemu.so", NULL};
    int have = 0;
    for (size_t i = 0; drivers[i]; i++)
        have |= access(drivers[i], R_OK) == 0;
    const char *const v[] = {"virsh", "--version", NULL};
    if (!netns || !have || run(v) != 0) {
        print_message("# needs root, virsh and libvirt's qemu driver: skipped\n");
        skip();
    }
    return 0;
}

static void private_passwd(const char *file, const char *line)
{
    char copy[400], *data = NULL;
    snprintf(copy, sizeof copy, "%s/%s", E.dir, strrchr(file, '/') + 1);
    assert_int_equal(qp_read_file(&E.t, file, &data, NULL), 0);
    FILE *f = fopen(copy, "w");
    assert_non_null(f);
    fputs(data, f);
    if (!strstr(data, "\nlibvirt-qemu:") && strncmp(data, "libvirt-qemu:", 13))
        fputs(line, f);
    assert_int_equal(fclose(f), 0);
    free(data);
    assert_int_equal(mount(copy, file, NULL, MS_BIND, NULL), 0);
}

/* "drv,k=v,k=v": does libvirt's JSON device have drv and every k=v
 * (except id, drive, netdev)? */
static int same_device(const char *ours, json_object *lv)
{
    char *copy = qp_strdup(ours), *save = NULL;
    int same = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && same; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (tok == copy) {
            same = jstr(lv, "driver") && !strcmp(jstr(lv, "driver"), tok);
            continue;
        }
        if (!eq)
            continue;
        *eq = '\0';
        if (!strcmp(tok, "id") || !strcmp(tok, "drive") || !strcmp(tok, "netdev"))
            continue;
        same = jstr(lv, tok) && !strcmp(jstr(lv, tok), eq + 1);
    }
    free(copy);
    return same;
}

static void libvirt_command_line(void **state)
{
    (void)state;
    libvirt_skip();
    private_passwd("/etc/passwd", "libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin\n");
    private_passwd("/etc/group", "libvirt-qemu:x:64055:\n");
    char root[400], conf[440], uri[460], file[400];
    snprintf(root, sizeof root, "%s/lvroot", E.dir);
    snprintf(conf, sizeof conf, "%s/etc", root);
    assert_int_equal(qp_mkdir_p(conf, 0700), 0);
    snprintf(conf, sizeof conf, "%s/etc/qemu.conf", root);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs("user = \"root\"\ngroup = \"root\"\nsecurity_driver = \"none\"\nnamespaces = []\n"
          "stdio_handler = \"file\"\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(uri, sizeof uri, "qemu:///embed?root=%s", root);

    /* every kind of device of ours, as stored (with what define added) */
    make_images("lv");
    char *xml = server_xml(
        "lv", "<interface type='user'><model type='virtio'/></interface>"
              "<interface type='user'/>"
              "<interface type='bridge'><source bridge='br0'/><model type='e1000'/></interface>"
              "<interface type='ethernet'><target dev='lvtap' managed='no'/>"
              "<model type='virtio'/></interface>"
              "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
              "<source file='/dev/null'/><target dev='sdi' bus='scsi'/></disk>"
              "<video><model type='vga'/></video>");
    define_ok(xml);
    free(xml);
    char *stored = NULL;
    assert_int_equal(sb_domain_get_xml(&stored, E.c, "lv", 0), 0);
    snprintf(file, sizeof file, "%s/lv-stored.xml", E.dir);
    assert_int_equal(qp_write_file_atomic(&E.t, file, stored, strlen(stored)), 0);
    qp_domain *d = NULL;
    qp_strv ours = {0};
    assert_int_equal(qp_domain_parse(&E.t, stored, &d), 0);
    assert_int_equal(qp_proc_argv(&E.t, d, &ours), 0);
    qp_domain_free(d);
    free(stored);

    const char *const argv[] = {"virsh", "-q", "-c", uri, "domxml-to-native", "qemu-argv", file,
                                NULL};
    char *out = NULL, *err = NULL;
    int st = qp_run(&E.t, (char *const *)argv, &out, &err);
    if (st != 0)
        fail_msg("virsh domxml-to-native: %s%s", out ? out : "", err ? err : "");
    free(err);

    /* libvirt's devices: -device '{json}' */
    json_object *lv[64];
    size_t nlv = 0;
    for (const char *p = out; (p = strstr(p, "-device '")) && nlv < 64;) {
        p += 9;
        const char *e = strchr(p, '\'');
        assert_non_null(e);
        char *j = qp_printf("%.*s", (int)(e - p), p);
        assert_non_null(lv[nlv++] = json_tokener_parse(j));
        free(j);
        p = e;
    }
    const char *vnc = strstr(out, "-vnc ");
    assert_non_null(vnc);
    size_t matched = 0;
    for (size_t i = 0; i + 1 < ours.n; i++) {
        if (!strcmp(ours.v[i], "-vnc")) { /* the address, and the display when fixed */
            size_t l = strcspn(ours.v[i + 1], ",");
            if (strncmp(vnc + 5, ours.v[i + 1], l) || vnc[5 + l] != ',')
                fail_msg("our -vnc %s, libvirt's %.40s", ours.v[i + 1], vnc + 5);
            continue;
        }
        if (strcmp(ours.v[i], "-device"))
            continue;
        size_t k = 0;
        while (k < nlv && !same_device(ours.v[i + 1], lv[k]))
            k++;
        if (k == nlv)
            fail_msg("libvirt has no device like our '%s':\n%s", ours.v[i + 1], out);
        matched++;
    }
    /* and nothing more (but libvirt's default USB controller: we add
     * none, a server needs none, and it holds no guest state here) */
    size_t extra = 0;
    for (size_t k = 0; k < nlv; k++)
        extra += strcmp(jstr(lv[k], "driver"), "piix3-usb-uhci") != 0;
    if (extra != matched)
        fail_msg("libvirt has %zu devices, we have %zu:\n%s", extra, matched, out);
    print_message("# %zu devices the same as libvirt 9.0's for the same XML\n", matched);
    for (size_t k = 0; k < nlv; k++)
        json_object_put(lv[k]);
    free(out);
    qp_strv_free(&ours);
    assert_int_equal(umount("/etc/passwd"), 0);
    assert_int_equal(umount("/etc/group"), 0);
}

int main(void)
{
    /* a network namespace, and a mount namespace whose /sys shows it */
    if (geteuid() == 0 && unshare(CLONE_NEWNET | CLONE_NEWNS) == 0) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
            perror("mount /sys in the new namespaces");
            return 1;
        }
        const char *const up[] = {"ip", "link", "set", "lo", "up", NULL};
        qp_ctx t;
        qp_ctx_init(&t, NULL, NULL, "/nonexistent");
        netns = qp_run(&t, (char *const *)up, NULL, NULL) == 0;
        qp_ctx_fini(&t);
        if (!netns) {
            fprintf(stderr, "ip link set lo up failed in the new network namespace\n");
            return 1;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(server_vm_snapshots),
        cmocka_unit_test(figures),
        cmocka_unit_test(tap_bridge),
        cmocka_unit_test(tap_errors),
        cmocka_unit_test(vnc_port_scsi_medium),
        cmocka_unit_test(libvirt_command_line),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
