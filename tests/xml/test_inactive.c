/* The live-only parts of an embedded domain (broker/xml/domain_inactive.c)
 * against libvirt 9.0 as the oracle.  libvirt keeps a snapshot's <domain>
 * and <inactiveDomain> as inactive definitions; the same document is
 * redefined in test:///default and normalized by snapbroker, and every
 * probe (a live-only part, or a part that must stay) is present in
 * snapbroker's output exactly when it is in libvirt's.  libvirt also adds
 * its defaults to the domain; those are no probes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/xml.h"

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define DOMAIN_BODY                                                                           \
    "<name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"                      \
    "<memory unit='KiB'>8388608</memory><os><type arch='i686'>hvm</type></os>"                \
    "<devices>"                                                                               \
    "<disk type='file' device='disk'><source file='/guest/diskimage1'/>"                      \
    "<target dev='vda' bus='virtio'/><alias name='virtio-disk0'/></disk>"                     \
    "<disk type='file' device='disk'><source file='/guest/d2'/>"                              \
    "<target dev='vdb' bus='virtio'/><alias name='ua-mine'/></disk>"                          \
    "<interface type='network'><mac address='aa:bb:cc:dd:ee:ff'/>"                            \
    "<source network='default'/><target dev='vnet3'/></interface>"                            \
    "<interface type='network'><mac address='aa:bb:cc:dd:ee:fe'/>"                            \
    "<source network='default'/><target dev='macvtap7'/></interface>"                         \
    "<interface type='network'><mac address='aa:bb:cc:dd:ee:fd'/>"                            \
    "<source network='default'/><target dev='mytap'/></interface>"                            \
    "<console type='pty' tty='/dev/pts/3'><source path='/dev/pts/3'/>"                        \
    "<target type='serial' port='0'/></console>"                                              \
    "</devices>"                                                                              \
    "<seclabel type='dynamic' model='selinux' relabel='yes'>"                                 \
    "<label>system_u:system_r:svirt_t:s0:c1,c2</label>"                                       \
    "<imagelabel>system_u:object_r:svirt_image_t:s0:c1,c2</imagelabel></seclabel>"

static const char snapshot_xml[] =
    "<domainsnapshot><name>live</name><state>running</state>"
    "<creationTime>1700000000</creationTime>"
    "<domain type='test' id='7'>" DOMAIN_BODY "</domain>"
    "<inactiveDomain type='test' id='7'>" DOMAIN_BODY "</inactiveDomain>"
    "</domainsnapshot>";

static const char *const probes[] = {
    " id='7'", "virtio-disk0", "ua-mine", "vnet3", "macvtap7", "mytap", "tty=", "/dev/pts/3",
    "<label>", "<imagelabel>", "relabel='yes'", "/guest/d2",
};

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void quiet(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

static char *libvirt_output(void)
{
    virSetErrorFunc(NULL, quiet);
    virConnectPtr conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    virDomainPtr dom = virDomainLookupByName(conn, "test");
    assert_non_null(dom);
    virDomainSnapshotPtr snap =
        virDomainSnapshotCreateXML(dom, snapshot_xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
    if (!snap)
        fail_msg("libvirt: %s", virGetLastErrorMessage());
    char *xml = virDomainSnapshotGetXMLDesc(snap, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
    assert_non_null(xml);
    virDomainSnapshotFree(snap);
    virDomainFree(dom);
    virConnectClose(conn);
    return xml;
}

static void live_only_parts_as_libvirt(void **state)
{
    (void)state;
    char *theirs = libvirt_output(), *ours = NULL;
    sb_normalize_opts o = {.redefine = 1, .secure = 1};
    if (sb_xml_normalize(snapshot_xml, strlen(snapshot_xml), NULL, &o, &ours) < 0)
        fail_msg("snapbroker refused it");
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        size_t t = count(theirs, probes[i]), s = count(ours, probes[i]);
        print_message("# %-16s libvirt %zu snapbroker %zu\n", probes[i], t, s);
        if (t != s)
            fail_msg("'%s': libvirt has it %zu times, snapbroker %zu\n%s\n%s", probes[i], t, s,
                     theirs, ours);
    }
    free(theirs);
    free(ours);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_only_parts_as_libvirt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("1..0 # SKIP libvirt development files not found at build time\n");
    return 0;
}
#endif
