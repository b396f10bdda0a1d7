/* w3_lv: libvirt 9.0 qemu:///embed as a W3 target, in this process (the
 * benchmark is the subreaper that reaps the QEMU libvirt daemonizes:
 * without one, PID 1 reaps late and destroy/revert take seconds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lv.h"
#include "w3.h"

#define DOM "w3"

struct lvt {
    virConnectPtr c;
    virDomainPtr d;
    char err[600];
};

static void *lv_init(const char *dir, int kvm)
{
    struct lvt *t = calloc(1, sizeof *t);
    const char *tmpl = getenv("BENCH_EMBED_TEMPLATE");
    char root[1100];
    snprintf(root, sizeof root, "%s/root", dir);
    char *r = lv_embed_root(tmpl, dir);
    rename(r, root);
    free(r);
    /* the open and the first define may probe QEMU's capabilities (a
     * QEMU libvirt forks and waits for itself): keep our reaper off it */
    w3_reaper_paused = 1;
    t->c = lv_embed_open(root);
    /* the first define of a connection pays a one-off capability lookup
     * (~0.9 s); W3 times a define over an existing definition */
    char disk[1100];
    snprintf(disk, sizeof disk, "%s/disk.qcow2", dir);
    if (!(t->d = virDomainDefineXML(t->c, w3_domain_xml(DOM, disk, kvm))))
        bench_die("embed define: %s", lv_err());
    w3_reaper_paused = 0;
    return t;
}

static int lv_fail(struct lvt *t, int bad)
{
    if (bad)
        snprintf(t->err, sizeof t->err, "%s", lv_err());
    return bad ? -1 : 0;
}

static int snap_done(struct lvt *t, virDomainSnapshotPtr s)
{
    if (!s)
        return lv_fail(t, 1);
    virDomainSnapshotFree(s);
    return 0;
}

static int lv_op(void *ctx, enum w3_op op, const struct w3_env *e)
{
    struct lvt *t = ctx;
    virDomainSnapshotPtr s;
    int rc;
    switch (op) {
    case OP_DEFINE:
        if (t->d)
            virDomainFree(t->d);
        t->d = virDomainDefineXML(t->c, w3_domain_xml(DOM, e->disk, e->kvm));
        return lv_fail(t, !t->d);
    case OP_START: return lv_fail(t, virDomainCreate(t->d) < 0);
    case OP_DESTROY: return lv_fail(t, virDomainDestroy(t->d) < 0);
    case OP_INT:
    case OP_DEXT:
    case OP_FEXT:
    case OP_OFF_INT:
    case OP_OFF_EXT:
        return snap_done(t, virDomainSnapshotCreateXML(
                                t->d, w3_snap_xml(op, e),
                                w3_disk_only(op) ? VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY : 0));
    case OP_INT_REVERT:
    case OP_OFF_INT_REVERT:
        if (!(s = virDomainSnapshotLookupByName(t->d, w3_snap_name(op), 0)))
            return lv_fail(t, 1);
        rc = virDomainRevertToSnapshot(
            s, op == OP_INT_REVERT ? VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING : 0);
        if (rc < 0)
            snprintf(t->err, sizeof t->err, "%s", lv_err());
        virDomainSnapshotFree(s);
        return rc < 0 ? -1 : 0;
    default:
        if (!(s = virDomainSnapshotLookupByName(t->d, w3_snap_name(op), 0)))
            return lv_fail(t, 1);
        rc = virDomainSnapshotDelete(s, 0);
        if (rc < 0)
            snprintf(t->err, sizeof t->err, "%s", lv_err());
        virDomainSnapshotFree(s);
        return rc < 0 ? -1 : 0;
    }
}

static const char *lvt_err(void *ctx)
{
    return ((struct lvt *)ctx)->err;
}

static void lv_fini(void *ctx)
{
    struct lvt *t = ctx;
    if (t->d) {
        if (virDomainIsActive(t->d) == 1)
            virDomainDestroy(t->d);
        virDomainFree(t->d);
    }
    virConnectClose(t->c);
    free(t);
}

const struct w3_target w3_lv = {"libvirt-embed", lv_init, lv_op, lvt_err, lv_fini};
