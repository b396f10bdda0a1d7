/* qemu plugin - the domain XML devices beyond disks (devices.c), and the
 * small XML helpers domain.c and devices.c share. */
#ifndef QP_DEVICES_H
#define QP_DEVICES_H

#include <libxml/tree.h>

#include "qp.h"

int qp_xml_is(xmlNodePtr n, const char *name);
xmlNodePtr qp_xml_child(xmlNodePtr n, const char *name);
char *qp_xml_prop(xmlNodePtr n, const char *name);  /* malloc'ed or NULL */
char *qp_xml_text(xmlNodePtr n);                    /* trimmed, malloc'ed */

/* One <interface>, <graphics>, <video> or <controller type='scsi'> into
 * d; CONFIG_UNSUPPORTED naming the element, attribute or value that is
 * not supported, XML_ERROR for what no host could run. */
int qp_dev_interface(qp_ctx *ctx, xmlNodePtr n, qp_domain *d);
int qp_dev_graphics(qp_ctx *ctx, xmlNodePtr n, qp_domain *d);
int qp_dev_video(qp_ctx *ctx, xmlNodePtr n, qp_domain *d);
int qp_dev_scsi_controller(qp_ctx *ctx, xmlNodePtr n, qp_domain *d);
/* The drive address of a SCSI disk (its <address>, else libvirt's
 * default from the target name: controller idx/7, unit idx%7). */
int qp_dev_scsi_address(qp_ctx *ctx, xmlNodePtr disk, qp_disk *k);
/* After all devices: no two SCSI disks at one address, the default
 * video of a VNC display. */
int qp_dev_finish(qp_ctx *ctx, qp_domain *d);
/* What define adds to a definition, as libvirt does (root: <domain>): a
 * MAC for every interface without one, the virtio-scsi controllers SCSI
 * disks need, model='virtio-scsi' on a SCSI controller without a model
 * (libvirt's default there would be lsilogic, not supported). */
int qp_dev_complete(qp_ctx *ctx, xmlNodePtr root, const qp_domain *d);

#endif
