/* esx_roundtrip's libvirt target: libvirt 9.0's own ESX driver
 * (client-side, in libvirt.so), through esxsim's fixing proxy. */
#include "esx_bench.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ESX_BENCH_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct esx_lv {
    virConnectPtr conn;
    virDomainPtr dom;
};

static void quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

esx_lv *esx_lv_open(const char *uri, const char *vm)
{
    esx_lv *l = calloc(1, sizeof(*l));
    virSetErrorFunc(NULL, quiet);
    if (!l || !(l->conn = virConnectOpenAuth(uri, virConnectAuthPtrDefault, 0)))
        bench_die("libvirt: cannot open %s: %s", uri, virGetLastErrorMessage());
    if (!(l->dom = virDomainLookupByName(l->conn, vm)))
        bench_die("libvirt: no domain %s: %s", vm, virGetLastErrorMessage());
    return l;
}

void esx_lv_roundtrip(esx_lv *l, const char *name)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    virDomainSnapshotPtr s = virDomainSnapshotCreateXML(l->dom, xml, 0);
    if (!s)
        bench_die("libvirt: create %s: %s", name, virGetLastErrorMessage());
    if (virDomainRevertToSnapshot(s, 0) < 0 || virDomainSnapshotDelete(s, 0) < 0)
        bench_die("libvirt: revert/delete %s: %s", name, virGetLastErrorMessage());
    virDomainSnapshotFree(s);
}

void esx_lv_close(esx_lv *l)
{
    if (!l)
        return;
    virDomainFree(l->dom);
    virConnectClose(l->conn);
    free(l);
}
#else
esx_lv *esx_lv_open(const char *uri, const char *vm)
{
    (void)uri;
    (void)vm;
    return NULL;
}
void esx_lv_roundtrip(esx_lv *l, const char *name)
{
    (void)l;
    (void)name;
}
void esx_lv_close(esx_lv *l)
{
    (void)l;
}
#endif
