/* The esx plugin's parsers on their own (no simulator, no broker): the
 * URI, libvirt-style auth files, thumbprints, xsd:dateTime, disk names
 * and modes from a device list, the snapshot tree, fault classes, XML
 * escaping, which kept configuration a read may take, the change
 * counter's file, and which task answers are scanned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "esx.h"

#define XSI "xmlns:X=\"http://www.w3.org/2001/XMLSchema-instance\""

static void uri_forms(void **state)
{
    esx_uri u;
    char why[256];
    (void)state;

    assert_int_equal(esx_uri_parse("esx://h.example.com/", &u, why, sizeof(why)), 0);
    assert_int_equal(u.https, 1);
    assert_string_equal(u.host, "h.example.com");
    assert_int_equal(u.port, 0);
    assert_null(u.user);
    assert_string_equal(u.path, "");
    esx_uri_clear(&u);

    assert_int_equal(esx_uri_parse("esx+http://root@127.0.0.1:8989/DC0/host/C0/?transport=http",
                                   &u, why, sizeof(why)), 0);
    assert_int_equal(u.https, 0);
    assert_string_equal(u.user, "root");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8989);
    assert_string_equal(u.path, "DC0/host/C0");
    esx_uri_clear(&u);

    /* vCenter users: a raw '@' or %40 */
    assert_int_equal(esx_uri_parse("esx://administrator@vsphere.local@vc/DC1", &u, why,
                                   sizeof(why)), 0);
    assert_string_equal(u.user, "administrator@vsphere.local");
    assert_string_equal(u.host, "vc");
    esx_uri_clear(&u);
    assert_int_equal(esx_uri_parse("esx://administrator%40vsphere.local@vc/", &u, why,
                                   sizeof(why)), 0);
    assert_string_equal(u.user, "administrator@vsphere.local");
    esx_uri_clear(&u);
    assert_int_equal(esx_uri_parse("esx://a%4@vc/", &u, why, sizeof(why)), -SB_ERR_INVALID_ARG);

    assert_int_equal(esx_uri_parse("esx://[::1]:443", &u, why, sizeof(why)), 0);
    assert_string_equal(u.host, "[::1]");
    assert_int_equal(u.port, 443);
    esx_uri_clear(&u);

    assert_int_equal(esx_uri_parse("esx+https://vc?transport=http", &u, why, sizeof(why)), 0);
    assert_int_equal(u.https, 0);
    esx_uri_clear(&u);

    assert_int_equal(esx_uri_parse("esx://root:pw@h/", &u, why, sizeof(why)),
                     -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(why, "must not carry a password"));
    assert_int_equal(esx_uri_parse("esx://h:99999/", &u, why, sizeof(why)), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(why, "bad port"));
    assert_int_equal(esx_uri_parse("esx:///x", &u, why, sizeof(why)), -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(why, "no host"));
    assert_int_equal(esx_uri_parse("vpx://h/", &u, why, sizeof(why)), -SB_ERR_INVALID_ARG);
    assert_int_equal(esx_uri_parse("esx://h/?no_verify=1", &u, why, sizeof(why)),
                     -SB_ERR_INVALID_ARG);
    assert_non_null(strstr(why, "'no_verify=1'"));
    assert_int_equal(esx_uri_parse("esx://@h/", &u, why, sizeof(why)), -SB_ERR_INVALID_ARG);
    assert_int_equal(esx_uri_parse("esx://[::1/", &u, why, sizeof(why)), -SB_ERR_INVALID_ARG);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void auth_files(void **state)
{
    char dir[] = "/tmp/esx-unit-XXXXXX", path[64];
    char *user, *pass;
    int line;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/auth.conf", dir);
    write_file(path, "; comment\n[credentials-a]\n  authname = root \npassword=p w=d\n"
                     "[credentials-b]\nauthname=admin\npassword=x\n"
                     "[auth-vpx-vc]\ncredentials=b\n[auth-esx-h1]\ncredentials=a\n"
                     "[auth-esx-default]\ncredentials=b\n");
    assert_int_equal(esx_auth_file_lookup(path, "h1", &user, &pass, &line), 1);
    assert_string_equal(user, "root");
    assert_string_equal(pass, "p w=d");
    free(user);
    free(pass);
    assert_int_equal(esx_auth_file_lookup(path, "vc", &user, &pass, &line), 1);
    assert_string_equal(user, "admin");
    free(user);
    free(pass);
    assert_int_equal(esx_auth_file_lookup(path, "other", &user, &pass, &line), 1); /* default */
    assert_string_equal(user, "admin");
    free(user);
    free(pass);

    write_file(path, "[auth-esx-h1]\ncredentials=missing\n");
    assert_int_equal(esx_auth_file_lookup(path, "h1", &user, &pass, &line), 0);
    assert_null(user);
    write_file(path, "[credentials-a]\npassword=only\n[auth-esx-h1]\ncredentials=a\n");
    assert_int_equal(esx_auth_file_lookup(path, "h1", &user, &pass, &line), 1);
    assert_null(user); /* no authname: the user must come from elsewhere */
    assert_string_equal(pass, "only");
    free(pass);
    write_file(path, "[credentials-a]\n\nnot a key\n");
    assert_int_equal(esx_auth_file_lookup(path, "h1", &user, &pass, &line), -1);
    assert_int_equal(line, 3);
    write_file(path, "key=before any section\n");
    assert_int_equal(esx_auth_file_lookup(path, "h1", &user, &pass, &line), -1);
    assert_int_equal(line, 1);
    unlink(path);
    assert_int_equal(esx_auth_file_lookup(path, "h1", &user, &pass, &line), -1);
    assert_int_equal(line, 0);
    rmdir(dir);
}

static void thumbprints(void **state)
{
    unsigned char d[32];
    char text[100];
    (void)state;

    const char *s256 = "ab:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
                       "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89";
    assert_int_equal(esx_thumbprint_parse(s256, d), 32);
    esx_thumbprint_format(d, 32, text);
    assert_string_equal(text, "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                              "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
    assert_int_equal(esx_thumbprint_parse("sha1:00112233445566778899aabbccddeeff00112233", d),
                     20);
    assert_int_equal(d[19], 0x33);
    assert_int_equal(esx_thumbprint_parse("SHA256:00 11", d), -1);       /* too short */
    assert_int_equal(esx_thumbprint_parse("zz", d), -1);
    assert_int_equal(esx_thumbprint_parse("0", d), -1);                  /* half a byte */
    char long_hex[80];
    memset(long_hex, 'a', 66);
    long_hex[66] = '\0';
    assert_int_equal(esx_thumbprint_parse(long_hex, d), -1);
}

static void times(void **state)
{
    long long t;
    (void)state;
    assert_int_equal(ex_parse_time("2026-11-22T01:43:12.975407425Z", &t), 0);
    assert_int_equal(t, 1795311792LL);
    assert_int_equal(ex_parse_time("2026-11-22T03:43:12+02:00", &t), 0);
    assert_int_equal(t, 1795311792LL);
    assert_int_equal(ex_parse_time("1970-01-01T00:00:00", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(ex_parse_time("2026-11-22 01:43:12Z", &t), -1);
    assert_int_equal(ex_parse_time("2026-11-22T01:43:12.Z", &t), -1);
    assert_int_equal(ex_parse_time("2026-11-22T01:43:12Zjunk", &t), -1);
}

static xmlDoc *parse(const char *xml)
{
    xmlDoc *doc = ex_parse(xml, strlen(xml), NULL);
    assert_non_null(doc);
    return doc;
}

/* Controllers and disks as the simulator (and ESXi) encode them. */
static const char devices[] =
    "<val " XSI " X:type=\"ArrayOfVirtualDevice\">"
    "<VirtualDevice X:type=\"ParaVirtualSCSIController\"><key>1000</key><busNumber>0</busNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualLsiLogicSASController\"><key>1001</key><busNumber>1</busNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualIDEController\"><key>201</key><busNumber>1</busNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualAHCIController\"><key>15000</key><busNumber>0</busNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualNVMEController\"><key>31000</key><busNumber>0</busNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualCdrom\"><key>3000</key><controllerKey>201</controllerKey><unitNumber>0</unitNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2000</key><backing X:type=\"VirtualDiskFlatVer2BackingInfo\">"
    "<fileName>[ds] vm/vm.vmdk</fileName><diskMode>persistent</diskMode></backing>"
    "<controllerKey>1000</controllerKey><unitNumber>0</unitNumber><capacityInKB>1024</capacityInKB></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2001</key><backing X:type=\"VirtualDiskFlatVer2BackingInfo\">"
    "<fileName>[ds] vm/vm_1.vmdk</fileName><diskMode>independent_nonpersistent</diskMode></backing>"
    "<controllerKey>1000</controllerKey><unitNumber>8</unitNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2002</key><backing X:type=\"VirtualDiskRawDiskMappingVer1BackingInfo\">"
    "<fileName>[ds] vm/rdm.vmdk</fileName><compatibilityMode>physicalMode</compatibilityMode>"
    "<diskMode>persistent</diskMode></backing><controllerKey>1001</controllerKey><unitNumber>1</unitNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2003</key><backing X:type=\"VirtualDiskRawDiskMappingVer1BackingInfo\">"
    "<fileName>[ds] vm/rdmv.vmdk</fileName><compatibilityMode>virtualMode</compatibilityMode>"
    "<diskMode>persistent</diskMode></backing><controllerKey>201</controllerKey><unitNumber>1</unitNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2004</key><backing X:type=\"VirtualDiskFlatVer2BackingInfo\">"
    "<fileName>[ds] vm/s.vmdk</fileName><diskMode>persistent</diskMode></backing>"
    "<controllerKey>15000</controllerKey><unitNumber>2</unitNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2005</key><backing X:type=\"VirtualDiskFlatVer2BackingInfo\">"
    "<fileName>[ds] vm/n.vmdk</fileName><diskMode>persistent</diskMode></backing>"
    "<controllerKey>31000</controllerKey><unitNumber>0</unitNumber></VirtualDevice>"
    "<VirtualDevice X:type=\"VirtualDisk\"><key>2006</key><controllerKey>999</controllerKey><unitNumber>0</unitNumber></VirtualDevice>"
    "</val>";

static void disk_names_and_modes(void **state)
{
    esx_conn c = { 0 };
    esx_conf conf = { 0 };
    (void)state;

    xmlDoc *doc = parse(devices);
    assert_int_equal(esx_conf_apply(&c, &conf, "hardware.device", xmlDocGetRootElement(doc)), 0);
    assert_int_equal(conf.ndisks, 7);
    const struct {
        const char *target, *bus;
        int excluded;
    } want[] = { { "sda", "scsi", 0 },  { "sdh", "scsi", 1 }, { "sdq", "scsi", 1 },
                 { "hdd", "ide", 0 },   { "sdbk", "sata", 0 }, { "nvme0n1", "nvme", 0 },
                 { "disk2006", "", 0 } };
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(conf.disks[i].target, want[i].target);
        assert_string_equal(conf.disks[i].bus, want[i].bus);
        assert_int_equal(conf.disks[i].excluded, want[i].excluded);
    }
    assert_string_equal(conf.disks[0].file, "[ds] vm/vm.vmdk");
    assert_int_equal(conf.disks[0].capacity_kb, 1024);
    assert_int_equal(conf.disks[2].rdm, 1);

    char *xml = NULL;
    conf.name = strdup("a<b");
    conf.memory_mb = 64;
    conf.ncpus = 2;
    assert_int_equal(esx_domain_xml(&c, &conf, &xml), 0);
    assert_non_null(strstr(xml, "<name>a&lt;b</name>"));
    assert_non_null(strstr(xml, "<memory unit='KiB'>65536</memory>"));
    assert_non_null(strstr(xml, "<disk type='file' device='disk' snapshot='no'>\n"
                                "      <source file='[ds] vm/vm_1.vmdk'/>\n"
                                "      <target dev='sdh' bus='scsi'/>"));
    assert_non_null(strstr(xml, "<target dev='disk2006'/>"));
    free(xml);
    esx_conf_clear(&conf);
    xmlFreeDoc(doc);
}

/* Answers keep only the device fields the readers use: labels,
 * summaries and other fields of a device (and of its backing) are not
 * in the tree; the same element names elsewhere are.  One parser
 * context serves several answers. */
static void answers_keep_device_fields(void **state)
{
    static const char answer[] =
        "<r " XSI "><val X:type=\"ArrayOfVirtualDevice\">"
        "<VirtualDevice X:type=\"VirtualDisk\"><key>2000</key>"
        "<deviceInfo X:type=\"Description\"><label>a &amp; b</label><!-- c --><summary>s</summary>"
        "</deviceInfo><connectable><connected>true</connected></connectable>"
        "<backing X:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>[ds] a&amp;b.vmdk</fileName>"
        "<datastore type=\"Datastore\">ds-1</datastore><diskMode>persistent</diskMode>"
        "<parent><fileName>[ds] base.vmdk</fileName></parent></backing>"
        "<controllerKey>1000</controllerKey><unitNumber>0</unitNumber></VirtualDevice>"
        "<VirtualDevice X:type=\"ParaVirtualSCSIController\"><key>1000</key>"
        "<deviceInfo><label>SCSI</label></deviceInfo><busNumber>0</busNumber></VirtualDevice>"
        "</val><deviceInfo>kept</deviceInfo></r>";
    void *reuse = NULL;
    (void)state;

    for (int round = 0; round < 2; round++) {
        xmlDoc *doc = ex_parse(answer, strlen(answer), &reuse);
        assert_non_null(doc);
        assert_non_null(reuse);
        xmlNode *root = xmlDocGetRootElement(doc);
        xmlNode *disk = ex_child(ex_child(root, "val"), "VirtualDevice");
        xmlNode *backing = ex_child(disk, "backing");
        assert_null(ex_child(disk, "deviceInfo"));
        assert_null(ex_child(disk, "connectable"));
        assert_null(ex_child(backing, "datastore"));
        assert_null(ex_child(backing, "parent"));
        char *t = ex_child_text(backing, "fileName");
        assert_string_equal(t, "[ds] a&b.vmdk");
        free(t);
        t = ex_xsi_type(backing);
        assert_string_equal(t, "VirtualDiskFlatVer2BackingInfo");
        free(t);
        long long v = 0;
        assert_true(ex_child_ll(disk, "unitNumber", &v));
        xmlNode *ctrl = ex_next(disk);
        assert_null(ex_child(ctrl, "deviceInfo"));
        assert_true(ex_child_ll(ctrl, "busNumber", &v));
        t = ex_child_text(root, "deviceInfo"); /* not a device's */
        assert_string_equal(t, "kept");
        free(t);

        esx_conn c = { 0 };
        esx_conf conf = { 0 };
        assert_int_equal(esx_conf_apply(&c, &conf, "hardware.device", ex_child(root, "val")), 0);
        assert_int_equal(conf.ndisks, 1);
        assert_string_equal(conf.disks[0].target, "sda");
        assert_string_equal(conf.disks[0].mode, "persistent");
        esx_conf_clear(&conf);
        xmlFreeDoc(doc);
    }
    assert_null(ex_parse("<r><unclosed></r>", 17, &reuse));
    ex_parser_free(&reuse);
    assert_null(reuse);
}

/* Device lists are set aside before an answer is parsed, and read when
 * asked for: here as a real host sends them (xsi declared on the
 * envelope, the default namespace on the response), with a '>' in an
 * attribute and an empty element on the way. */
static const char host_answer[] =
    "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
    "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects>"
    "<obj type=\"VirtualMachine\">vm-7</obj>"
    "<propSet><name>config.hardware.device</name>\n  <val xsi:type=\"ArrayOfVirtualDevice\">"
    "<VirtualDevice xsi:type=\"ParaVirtualSCSIController\"><key>1000</key>"
    "<deviceInfo><label a=\"x>y\">SCSI &gt; 0</label></deviceInfo><busNumber>0</busNumber>"
    "<hotAddRemove/></VirtualDevice>"
    "<VirtualDevice xsi:type=\"VirtualDisk\"><key>2000</key>"
    "<backing xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>[ds] vm/vm.vmdk</fileName>"
    "<diskMode>independent_persistent</diskMode></backing><controllerKey>1000</controllerKey>"
    "<unitNumber>1</unitNumber></VirtualDevice></val></propSet>"
    "<propSet><name>name</name><val xsi:type=\"xsd:string\">web</val></propSet>"
    "</objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>";

static void device_lists_read_when_needed(void **state)
{
    char display[] = "test";
    esx_conn c = { .display = display };
    esx_result r = { 0 };
    esx_buf b = { 0 };
    esx_vm *vm = NULL;
    char *token = NULL;
    (void)state;

    eb_adds(&b, host_answer);
    assert_int_equal(ex_defer_devices(&b, &r.deferred), 0);
    assert_int_equal(r.deferred.n, 1);
    assert_null(strstr(b.p, "VirtualDevice"));
    assert_non_null(strstr(b.p, "<name>config.hardware.device</name>\n  <esxDeferred>0</esxDeferred>"));
    assert_true(strncmp(r.deferred.v[0], "<val xsi:type", 13) == 0);
    xmlDoc *doc = ex_parse(b.p, b.len, &c.parser);
    assert_non_null(doc);
    xmlNode *resp = ex_child(ex_child(xmlDocGetRootElement(doc), "Body"), NULL);
    assert_int_equal(esx_result_take_page(&c, &r, doc, resp, &token), 0);
    assert_null(token);
    assert_int_equal(r.nobjs, 1);
    assert_int_equal(esx_vm_from_obj(&c, &r.objs[0], 0, &vm), 0);
    esx_result_clear(&r); /* the VM keeps its own copy */
    assert_string_equal(vm->conf.name, "web");
    assert_int_equal(vm->conf.ndisks, 0);
    assert_non_null(vm->conf.devices_text);
    assert_int_equal(esx_conf_disks(&c, &vm->conf), 0);
    assert_null(vm->conf.devices_text);
    assert_int_equal(vm->conf.ndisks, 1);
    assert_string_equal(vm->conf.disks[0].target, "sdb");
    assert_string_equal(vm->conf.disks[0].bus, "scsi");
    assert_string_equal(vm->conf.disks[0].file, "[ds] vm/vm.vmdk");
    assert_int_equal(vm->conf.disks[0].excluded, 1);

    /* the same text again: the disks read last, without a parse (a
     * capacity only the memo has tells them from a parse of the text,
     * which would give the same disks otherwise) */
    assert_non_null(c.devices_memo.devices_text);
    assert_int_equal(c.devices_memo.ndisks, 1);
    c.devices_memo.disks[0].capacity_kb = 4242;
    esx_conf again = { 0 };
    again.devices_text = strdup(c.devices_memo.devices_text);
    assert_int_equal(esx_conf_disks(&c, &again), 0);
    assert_null(again.devices_text);
    assert_int_equal(again.ndisks, 1);
    assert_int_equal(again.disks[0].capacity_kb, 4242);
    assert_string_equal(again.disks[0].target, "sdb");
    assert_string_equal(again.disks[0].file, "[ds] vm/vm.vmdk");
    esx_conf_clear(&again);

    /* a device list that does not parse is an error when read */
    free(vm->conf.devices_text);
    vm->conf.devices_text = strdup("<esxDeferred><val><VirtualDevice></val></esxDeferred>");
    assert_int_equal(esx_conf_disks(&c, &vm->conf), -SB_ERR_HYPERVISOR);
    assert_non_null(strstr(c.err_msg, "not well-formed"));
    esx_vm_free(vm);
    esx_conf_clear(&c.devices_memo);
    free(c.memo_vm);
    free(c.memo_cv);
    eb_free(&b);
    ex_parser_free(&c.parser);
}

/* A read that left the VM's configuration out (a task's poll) takes the
 * configuration kept from an earlier read only when that one is of the
 * same VM and the same config.changeVersion; another version, a host
 * that reports none, or another VM: the configuration is read again
 * (here, with no host to answer, the read fails, which shows it was
 * tried and the kept one not taken). */
static void kept_configuration_by_version(void **state)
{
    char display[] = "test", url[] = "http://unit.invalid/sdk";
    char pc_type[] = "PropertyCollector", pc_value[] = "pc";
    esx_conn c = { .display = display, .url = url };
    (void)state;

    c.property_collector.type = pc_type;
    c.property_collector.value = pc_value;
    c.devices_memo.uuid = strdup("bios-uuid");
    c.devices_memo.memory_mb = 64;
    c.devices_memo.ncpus = 2;
    c.devices_memo.disks = calloc(2, sizeof(esx_disk));
    c.devices_memo.ndisks = 1;
    c.devices_memo.disks[0].file = strdup("[ds] a.vmdk");
    snprintf(c.devices_memo.disks[0].target, sizeof(c.devices_memo.disks[0].target), "sda");
    c.memo_vm = strdup("vm-7");
    c.memo_cv = strdup("5");

    esx_conf light = { .vm = strdup("vm-7"), .change_version = strdup("5"), .unread = 1 };
    assert_int_equal(esx_conf_disks(&c, &light), 0);
    assert_int_equal(light.unread, 0);
    assert_string_equal(light.uuid, "bios-uuid");
    assert_int_equal(light.memory_mb, 64);
    assert_int_equal(light.ncpus, 2);
    assert_int_equal(light.ndisks, 1);
    assert_string_equal(light.disks[0].file, "[ds] a.vmdk");
    assert_string_equal(light.disks[0].target, "sda");
    esx_conf_clear(&light);

    static const char *const other[][2] = { { "vm-7", "6" }, { "vm-7", NULL }, { "vm-7", "" },
                                            { "vm-8", "5" } };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        esx_conf conf = { .vm = strdup(other[i][0]), .unread = 1 };
        conf.change_version = other[i][1] ? strdup(other[i][1]) : NULL;
        c.err_msg[0] = '\0';
        assert_true(esx_conf_disks(&c, &conf) < 0);
        assert_non_null(strstr(c.err_msg, "no answer from http://unit.invalid/sdk"));
        assert_int_equal(conf.unread, 1);
        assert_int_equal(conf.ndisks, 0);
        assert_null(conf.uuid);
        esx_conf_clear(&conf);
    }
    esx_conf_clear(&c.devices_memo);
    free(c.memo_vm);
    free(c.memo_cv);
    ex_parser_free(&c.parser);
}

/* The change counter (changes.c) is read through a mapping of its file:
 * a read makes no file, an add made by another connection shows at once,
 * and so does one written with pwrite under the file's lock (as a plugin
 * that does not map the file writes it). */
static void change_counter(void **state)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600];
    esx_conn a = { 0 }, b = { 0 };
    (void)state;

    snprintf(dir, sizeof(dir), "%s/esx-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/changes", dir);
    assert_int_equal(esx_changes_init(&a, dir), 0);
    assert_int_equal(esx_changes_init(&b, dir), 0);
    assert_int_equal(esx_changes_now(&a), 0);
    assert_int_equal(access(path, F_OK), -1); /* a read makes no file */
    assert_int_equal(esx_changes_add(&a), 1);
    assert_int_equal(esx_changes_now(&b), 1);
    assert_non_null(a.changes_map);
    assert_non_null(b.changes_map);
    assert_int_equal(esx_changes_add(&b), 2);
    assert_int_equal(esx_changes_now(&a), 2);

    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    uint64_t v = 41;
    assert_int_equal(pwrite(fd, &v, sizeof(v), 0), (ssize_t)sizeof(v));
    close(fd);
    assert_int_equal(esx_changes_now(&a), 41);
    assert_int_equal(esx_changes_add(&b), 42);
    assert_int_equal(esx_changes_now(&a), 42);

    esx_changes_end(&a);
    esx_changes_end(&b);
    free(a.changes_path);
    free(b.changes_path);
    unlink(path);
    rmdir(dir);
}

/* A *_Task method's answer is scanned for its reference when it has the
 * plain shape vSphere sends; every other shape is left to the parser
 * (0), which reads faults, prefixes and references. */
static void task_answers_scanned(void **state)
{
#define ENV_HEAD                                                                           \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope "                       \
    "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>"
#define ENV_TAIL "</soapenv:Body></soapenv:Envelope>"
    static const char plain[] = ENV_HEAD
        "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">"
        "haTask-2-vim.VirtualMachine.createSnapshot-123</returnval>"
        "</CreateSnapshot_TaskResponse>" ENV_TAIL;
    static const char *const other[] = {
        /* another method's answer */
        ENV_HEAD "<RemoveSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">"
        "task-1</returnval></RemoveSnapshot_TaskResponse>" ENV_TAIL,
        /* a fault */
        ENV_HEAD "<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>x"
        "</faultstring></soapenv:Fault>" ENV_TAIL,
        /* a prefix, a reference in the value, an attribute more, no type */
        ENV_HEAD "<vim25:CreateSnapshot_TaskResponse xmlns:vim25=\"urn:vim25\"><vim25:returnval "
        "type=\"Task\">task-1</vim25:returnval></vim25:CreateSnapshot_TaskResponse>" ENV_TAIL,
        ENV_HEAD "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">"
        "task&#45;1</returnval></CreateSnapshot_TaskResponse>" ENV_TAIL,
        ENV_HEAD "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\" "
        "x=\"1\">task-1</returnval></CreateSnapshot_TaskResponse>" ENV_TAIL,
        ENV_HEAD "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval>task-1"
        "</returnval></CreateSnapshot_TaskResponse>" ENV_TAIL,
        /* an empty value, something after the reference, cut short */
        ENV_HEAD "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">"
        "</returnval></CreateSnapshot_TaskResponse>" ENV_TAIL,
        ENV_HEAD "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">"
        "task-1</returnval><returnval type=\"Task\">task-2</returnval>"
        "</CreateSnapshot_TaskResponse>" ENV_TAIL,
        ENV_HEAD "<CreateSnapshot_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">"
        "task-1</returnval></CreateSnap",
    };
    esx_ref r = { 0 };
    (void)state;

    assert_int_equal(ex_scan_ref(plain, strlen(plain), "CreateSnapshot_Task", &r), 1);
    assert_string_equal(r.type, "Task");
    assert_string_equal(r.value, "haTask-2-vim.VirtualMachine.createSnapshot-123");
    esx_ref_clear(&r);
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        assert_int_equal(ex_scan_ref(other[i], strlen(other[i]), "CreateSnapshot_Task", &r), 0);
        assert_null(r.value);
    }
#undef ENV_HEAD
#undef ENV_TAIL
}

/* Values are read in place when an element holds one text node, and
 * through libxml2 otherwise (a comment splitting the text, an element
 * with children): both give the same text. */
static void texts_plain_and_not(void **state)
{
    static const char doc_text[] =
        "<r " XSI "><a>one &amp; two</a><b>x<!-- c -->y</b><c type=\"Task\">t-1</c>"
        "<d type=\"Task\">t<!-- c -->-2</d><e X:type=\"X:T\"/><f><g>7</g></f><h>12<!-- -->3</h>"
        "<i>true</i><j>tr<!-- -->ue</j><k></k></r>";
    void *reuse = NULL;
    esx_ref ref = { 0 };
    long long v = 0;
    (void)state;

    xmlDoc *doc = ex_parse(doc_text, strlen(doc_text), &reuse);
    assert_non_null(doc);
    xmlNode *r = xmlDocGetRootElement(doc);
    char *t = ex_child_text(r, "a");
    assert_string_equal(t, "one & two");
    free(t);
    t = ex_child_text(r, "b");
    assert_string_equal(t, "xy");
    free(t);
    t = ex_child_text(r, "k");
    assert_string_equal(t, "");
    free(t);
    assert_int_equal(ex_ref(ex_child(r, "c"), &ref), 0);
    assert_string_equal(ref.type, "Task");
    assert_string_equal(ref.value, "t-1");
    assert_int_equal(ex_ref(ex_child(r, "d"), &ref), 0);
    assert_string_equal(ref.value, "t-2");
    esx_ref_clear(&ref);
    assert_int_equal(ex_ref(ex_child(r, "a"), &ref), -1); /* no type */
    t = ex_xsi_type(ex_child(r, "e"));
    assert_string_equal(t, "T");
    free(t);
    assert_null(ex_xsi_type(ex_child(r, "a")));
    assert_true(ex_child_ll(ex_child(r, "f"), "g", &v));
    assert_int_equal(v, 7);
    assert_true(ex_child_ll(r, "h", &v));
    assert_int_equal(v, 123);
    assert_false(ex_child_ll(r, "a", &v));
    assert_true(ex_is_true(ex_child(r, "i")));
    assert_true(ex_is_true(ex_child(r, "j")));
    assert_false(ex_is_true(ex_child(r, "k")));
    xmlFreeDoc(doc);
    ex_parser_free(&reuse);
}

/* Answers the scan cannot follow are parsed whole. */
static void device_lists_left_in_place(void **state)
{
    static const char *const whole[] = {
        "<r><propSet><name>config.hardware.device</name><val><!-- c --></val></propSet></r>",
        "<r><propSet><name>config.hardware.device</name><val><![CDATA[<]]></val></propSet></r>",
        "<r><propSet><name>config.hardware.device</name><val><a>",
        "<r><propSet><name>config.hardware.device</name><value/></propSet></r>",
        "<r><propSet><name>config.hardware.deviceX</name><val/></propSet></r>",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
        esx_texts t = { 0 };
        esx_buf b = { 0 };
        eb_adds(&b, whole[i]);
        assert_int_equal(ex_defer_devices(&b, &t), 0);
        assert_string_equal(b.p, whole[i]);
        assert_int_equal(t.n, 0);
        eb_free(&b);
    }
    esx_texts t = { 0 };
    esx_buf b = { 0 };
    eb_adds(&b, "<r><propSet><name>config.hardware.device</name><val/></propSet>"
                "<propSet><name>config.hardware.device</name><val a='/>'>x</val></propSet></r>");
    assert_int_equal(ex_defer_devices(&b, &t), 0);
    assert_string_equal(b.p, "<r><propSet><name>config.hardware.device</name>"
                             "<esxDeferred>0</esxDeferred></propSet><propSet><name>config."
                             "hardware.device</name><esxDeferred>1</esxDeferred></propSet></r>");
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0], "<val/>");
    assert_string_equal(t.v[1], "<val a='/>'>x</val>");
    esx_texts_clear(&t);
    eb_free(&b);
}

static const char tree_xml[] =
    "<val " XSI " X:type=\"VirtualMachineSnapshotInfo\">"
    "<currentSnapshot type=\"VirtualMachineSnapshot\">snapshot-19</currentSnapshot>"
    "<rootSnapshotList><snapshot type=\"VirtualMachineSnapshot\">snapshot-15</snapshot>"
    "<vm type=\"VirtualMachine\">vm-9</vm><name>s1</name><description>first &amp; one</description>"
    "<id>1</id><createTime>2026-11-22T01:43:12.975407425Z</createTime><state>poweredOn</state>"
    "<quiesced>false</quiesced>"
    "<childSnapshotList><snapshot type=\"VirtualMachineSnapshot\">snapshot-17</snapshot>"
    "<name>s2</name><description></description><id>2</id><state>poweredOff</state>"
    "<quiesced>true</quiesced>"
    "<childSnapshotList><snapshot type=\"VirtualMachineSnapshot\">snapshot-19</snapshot>"
    "<name>s1</name><description></description><id>3</id><state>suspended</state></childSnapshotList>"
    "</childSnapshotList>"
    "<childSnapshotList><snapshot type=\"VirtualMachineSnapshot\">snapshot-21</snapshot>"
    "<name>s4</name><id>4</id><state>poweredOn</state></childSnapshotList>"
    "</rootSnapshotList>"
    "<rootSnapshotList><snapshot type=\"VirtualMachineSnapshot\">snapshot-30</snapshot>"
    "<name>r2</name><id>5</id><state>poweredOn</state></rootSnapshotList>"
    "</val>";

static void snapshot_tree(void **state)
{
    esx_conn c = { 0 };
    esx_tree t;
    (void)state;

    xmlDoc *doc = parse(tree_xml);
    assert_int_equal(esx_tree_parse(&c, xmlDocGetRootElement(doc), &t), 0);
    assert_int_equal(t.n, 5);
    const char *order[] = { "s1", "s2", "s1", "s4", "r2" };
    const long parents[] = { -1, 0, 1, 0, -1 };
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(t.v[i].name, order[i]);
        assert_int_equal(t.v[i].parent, parents[i]);
    }
    assert_int_equal(t.v[0].nchildren, 2);
    assert_string_equal(t.v[0].desc, "first & one");
    assert_string_equal(t.v[3].desc, ""); /* none sent */
    assert_int_equal(t.v[0].ctime, 1795311792LL);
    assert_int_equal(t.v[1].quiesced, 1);
    assert_string_equal(t.v[2].ref.value, "snapshot-19");
    assert_int_equal(t.current_idx, 2);
    assert_int_equal(esx_tree_find(&t, "s1"), -2); /* twins, made outside snapbroker */
    assert_int_equal(esx_tree_find(&t, "s4"), 3);
    assert_int_equal(esx_tree_find(&t, "nope"), -1);
    assert_int_equal(esx_snap_state(t.v[0].state), SB_STATE_RUNNING);
    assert_int_equal(esx_snap_state(t.v[1].state), SB_STATE_SHUTOFF);
    assert_int_equal(esx_snap_state(t.v[2].state), SB_STATE_PAUSED);
    esx_tree_clear(&t);
    xmlFreeDoc(doc);

    /* a current snapshot the tree lacks (the simulator's bug) */
    doc = parse("<val " XSI "><currentSnapshot type=\"VirtualMachineSnapshot\">snapshot-99"
                "</currentSnapshot><rootSnapshotList><snapshot type=\"VirtualMachineSnapshot\">"
                "snapshot-1</snapshot><name>a</name></rootSnapshotList></val>");
    assert_int_equal(esx_tree_parse(&c, xmlDocGetRootElement(doc), &t), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.current_idx, -1);
    assert_string_equal(t.current.value, "snapshot-99");
    esx_tree_clear(&t);
    xmlFreeDoc(doc);

    assert_int_equal(esx_tree_parse(&c, NULL, &t), 0); /* no snapshot property */
    assert_int_equal(t.n, 0);
    assert_int_equal(t.current_idx, -1);
}

static void xsi_types_by_namespace(void **state)
{
    (void)state;
    /* the simulator's per-<val> prefix and a real host's envelope prefix */
    xmlDoc *doc = parse("<e xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                        "<a xsi:type=\"xsd:int\">1</a>"
                        "<b " XSI " X:type=\"VirtualDisk\"/><c type=\"NotXsi\"/></e>");
    xmlNode *root = xmlDocGetRootElement(doc);
    char *t = ex_xsi_type(ex_child(root, "a"));
    assert_string_equal(t, "int");
    free(t);
    t = ex_xsi_type(ex_child(root, "b"));
    assert_string_equal(t, "VirtualDisk");
    free(t);
    assert_null(ex_xsi_type(ex_child(root, "c")));
    xmlFreeDoc(doc);
    assert_null(ex_parse("<unclosed>", 10, NULL));
}

/* The name of a definition the broker passes to revert and delete. */
static void snapshot_names(void **state)
{
    esx_conn c = { 0 };
    char *name = NULL;
    (void)state;
    assert_int_equal(esx_snap_name_of(&c, "<domainsnapshot><description>d<name>no</name>"
                                          "</description><name>a&amp;b</name></domainsnapshot>",
                                      &name), 0);
    assert_string_equal(name, "a&b");
    free(name);
    assert_int_equal(esx_snap_name_of(&c, "<domainsnapshot>\n  <name>s1</name>\n"
                                          "  <domain type='vmware'><name>vm</name></domain>\n"
                                          "</domainsnapshot>", &name), 0);
    assert_string_equal(name, "s1");
    free(name);
    assert_int_equal(esx_snap_name_of(&c, "<other><name>x</name></other>", &name),
                     -SB_ERR_INTERNAL_ERROR);
    assert_null(name);
    assert_int_equal(esx_snap_name_of(&c, "<domainsnapshot/>", &name), -SB_ERR_INTERNAL_ERROR);
    assert_int_equal(esx_snap_name_of(&c, "not xml", &name), -SB_ERR_INTERNAL_ERROR);
    /* the text the plugin handed out last: its name is known */
    c.last_xml.xml = strdup("<domainsnapshot><name>other</name></domainsnapshot>");
    c.last_xml.name = strdup("handed out");
    assert_int_equal(esx_snap_name_of(&c, c.last_xml.xml, &name), 0);
    assert_string_equal(name, "handed out");
    free(name);
    assert_int_equal(esx_snap_name_of(&c, "<domainsnapshot><name>s2</name></domainsnapshot>",
                                      &name), 0);
    assert_string_equal(name, "s2");
    free(name);
    esx_xml_memo_clear(&c.last_xml);
    assert_null(c.last_xml.xml);
}

static void fault_classes(void **state)
{
    (void)state;
    assert_int_equal(esx_fault_class("InvalidLogin"), SB_ERR_CONFIG);
    assert_int_equal(esx_fault_class("InvalidPowerState"), SB_ERR_OPERATION_INVALID);
    assert_int_equal(esx_fault_class("NoPermission"), SB_ERR_OPERATION_DENIED);
    assert_int_equal(esx_fault_class("SystemError"), SB_ERR_HYPERVISOR);
    assert_int_equal(esx_fault_class(NULL), SB_ERR_HYPERVISOR);
}

static void escaping(void **state)
{
    esx_buf b = { 0 };
    (void)state;
    eb_elem(&b, "name", "a&b<c>\"d'e");
    eb_ref(&b, "obj", "Datastore", "/tmp/x@ds [1]");
    /* a parser reads a raw \r as \n, and \n, \t in an attribute as spaces */
    eb_elem(&b, "description", "a\rb\r\nc\td");
    char *s = eb_steal(&b);
    assert_string_equal(s, "<name>a&amp;b&lt;c&gt;&quot;d&apos;e</name>"
                           "<obj type=\"Datastore\">/tmp/x@ds [1]</obj>"
                           "<description>a&#13;b&#13;&#10;c&#9;d</description>");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uri_forms),
        cmocka_unit_test(auth_files),
        cmocka_unit_test(thumbprints),
        cmocka_unit_test(times),
        cmocka_unit_test(disk_names_and_modes),
        cmocka_unit_test(answers_keep_device_fields),
        cmocka_unit_test(device_lists_read_when_needed),
        cmocka_unit_test(device_lists_left_in_place),
        cmocka_unit_test(kept_configuration_by_version),
        cmocka_unit_test(change_counter),
        cmocka_unit_test(task_answers_scanned),
        cmocka_unit_test(texts_plain_and_not),
        cmocka_unit_test(snapshot_tree),
        cmocka_unit_test(xsi_types_by_namespace),
        cmocka_unit_test(snapshot_names),
        cmocka_unit_test(fault_classes),
        cmocka_unit_test(escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
