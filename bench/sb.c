/* bench - snapbroker as a target (sb.h). */
#include "sb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void bench_disk(const char *path, const char *size, int data_mib)
{
    char *mk[] = {(char *)"qemu-img", (char *)"create", (char *)"-q", (char *)"-f",
                  (char *)"qcow2", (char *)path, (char *)size, NULL};
    if (bench_run(mk, 0) != 0)
        bench_die("qemu-img create %s", path);
    if (data_mib <= 0)
        return;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "write -P 0x5a 0 %dM", data_mib);
    char *io[] = {(char *)"qemu-io", (char *)"-f", (char *)"qcow2", (char *)"-c", cmd,
                  (char *)path, NULL};
    if (bench_run(io, 0) != 0)
        bench_die("qemu-io %s %s", cmd, path);
}

void bench_sb_connect(const char *state_dir, sb_broker **b, sb_connection **c)
{
    setenv("SNAPBROKER_STATE_DIR", state_dir, 1);
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    if (sb_broker_new(b, NULL) < 0 || sb_connect(c, *b, NULL, 0) < 0)
        bench_die("snapbroker (%s): %s", state_dir, sb_error_last()->message);
}

const char *bench_domain_xml(const char *name, const char *disk, int mem_mib, int kvm)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "<domain type='%s'><name>%s</name>"
             "<uuid>3c1e9a2b-5d4f-4e6a-8b7c-0d1e2f3a4b5c</uuid><memory unit='MiB'>%d</memory>"
             "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
             "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
             "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
             "<memballoon model='none'/></devices></domain>",
             kvm ? "kvm" : "qemu", name, mem_mib, disk);
    return buf;
}

char *bench_sb_define(sb_connection *c, const char *disk)
{
    char *name = NULL, *xml = NULL;
    if (sb_domain_define(&name, c, bench_domain_xml(BENCH_SB_DOMAIN, disk, 256, 0)) < 0 ||
        sb_domain_get_xml(&xml, c, BENCH_SB_DOMAIN, 0) < 0)
        bench_die("snapbroker define: %s", sb_error_last()->message);
    free(name);
    return xml;
}
