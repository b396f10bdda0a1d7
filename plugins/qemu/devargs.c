/* qemu plugin - QEMU arguments for the devices of devices.c.
 *
 * The device names and properties are libvirt 9.0's for the same XML
 * (virtio-scsi-pci with channel/scsi-id/lun, netdev hostnetN + device
 * netN, cirrus-vga by default), so a guest sees the same hardware under
 * either; test qemu-devices compares with libvirt's own command line.
 * The ids (scsiN, netN, video0) also let the tests find each device in
 * QEMU's answers.  Order matters: it is the PCI slot order, so a snapshot
 * taken with these devices loads into the same machine again. */
#include "qp.h"

#include <stdio.h>
#include <string.h>

int qp_devargs_controllers(const qp_domain *d, qp_strv *a)
{
    int r = 0;
    for (unsigned i = 0; i < 32; i++) {
        if (!(d->scsi_ctls & (1u << i)))
            continue;
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_addf(a, "virtio-scsi-pci,id=scsi%u", i);
    }
    return r ? -SB_ERR_NO_MEMORY : 0;
}

int qp_devargs_scsi_disk(const qp_disk *k, qp_strv *a)
{
    int r = qp_strv_add(a, "-device");
    char drive[64] = "";
    if (k->source)
        snprintf(drive, sizeof drive, ",drive=d-%s", k->target);
    r |= qp_strv_addf(a, "%s,bus=scsi%u.0,channel=0,scsi-id=%u,lun=%u%s,id=%s%s",
                      strcmp(k->device, "cdrom") ? "scsi-hd" : "scsi-cd", k->scsi_ctl,
                      k->scsi_target, k->scsi_unit, drive, k->target,
                      k->shareable ? ",share-rw=on" : "");
    return r ? -SB_ERR_NO_MEMORY : 0;
}

static const char *nic_driver(const char *model)
{
    return !strcmp(model, "virtio") ? "virtio-net-pci" : model; /* e1000, rtl8139 */
}

static const char *video_driver(const char *model)
{
    if (!strcmp(model, "vga"))
        return "VGA";
    if (!strcmp(model, "cirrus"))
        return "cirrus-vga";
    if (!strcmp(model, "virtio"))
        return "virtio-vga";
    return NULL; /* none */
}

int qp_devargs_rest(const qp_domain *d, qp_strv *a)
{
    int r = 0;
    for (size_t i = 0; i < d->nnics; i++) {
        const qp_nic *n = &d->nics[i];
        r |= qp_strv_add(a, "-netdev");
        if (!strcmp(n->type, "user"))
            r |= qp_strv_addf(a, "user,id=hostnet%zu", i);
        else /* the tap the plugin opened (tap.c), at a fixed number */
            r |= qp_strv_addf(a, "tap,id=hostnet%zu,fd=%d", i, QP_TAP_FD0 + (int)i);
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_addf(a, "%s,netdev=hostnet%zu,id=net%zu%s%s", nic_driver(n->model), i, i,
                          n->mac ? ",mac=" : "", n->mac ? n->mac : "");
    }
    if (d->vnc) {
        /* an IPv6 literal in brackets; autoport: QEMU takes the first free
         * display from 0 on (to=), no race with another picker */
        const char *l = d->vnc_listen;
        int v6 = strchr(l, ':') != NULL;
        r |= qp_strv_add(a, "-vnc");
        if (d->vnc_port < 0)
            r |= qp_strv_addf(a, "%s%s%s:0,to=%d", v6 ? "[" : "", l, v6 ? "]" : "", 65535 - 5900);
        else
            r |= qp_strv_addf(a, "%s%s%s:%d", v6 ? "[" : "", l, v6 ? "]" : "",
                              d->vnc_port - 5900);
    }
    const char *vd = d->video ? video_driver(d->video) : NULL;
    if (vd) {
        r |= qp_strv_add(a, "-device");
        r |= qp_strv_addf(a, "%s,id=video0", vd);
    }
    return r ? -SB_ERR_NO_MEMORY : 0;
}
