/* The domain XML of a VM (or of the configuration a snapshot kept):
 * name, uuid, memory, vCPUs and the disks, each with its datastore path,
 * a libvirt-style target, and snapshot='internal', or snapshot='no' for
 * the disks vSphere leaves out of snapshots (independent disks,
 * physical-mode raw device mappings).  The broker aligns a snapshot's
 * <disks> with these modes, so a request that would override one is
 * refused before the plugin runs (disk_override MATCH). */
#include "esx.h"

#include <stdlib.h>

int esx_domain_xml(esx_conn *c, esx_conf *conf, char **out)
{
    esx_buf b = { 0 };
    int rc;

    *out = NULL;
    if ((rc = esx_conf_disks(c, conf)) < 0)
        return rc;
    eb_adds(&b, "<domain type='vmware'>\n  ");
    eb_elem(&b, "name", conf->name ? conf->name : "");
    eb_adds(&b, "\n");
    if (conf->uuid && *conf->uuid) {
        eb_adds(&b, "  ");
        eb_elem(&b, "uuid", conf->uuid);
        eb_adds(&b, "\n");
    }
    if (conf->memory_mb > 0)
        eb_printf(&b, "  <memory unit='KiB'>%lld</memory>\n", conf->memory_mb * 1024);
    if (conf->ncpus > 0)
        eb_printf(&b, "  <vcpu>%d</vcpu>\n", conf->ncpus);
    eb_adds(&b, "  <os>\n    <type>hvm</type>\n  </os>\n  <devices>\n");
    for (size_t i = 0; i < conf->ndisks; i++) {
        const esx_disk *d = &conf->disks[i];
        eb_printf(&b, "    <disk type='file' device='disk' snapshot='%s'>\n",
                  d->excluded ? "no" : "internal");
        if (d->file && *d->file) {
            eb_adds(&b, "      <source file='");
            eb_esc(&b, d->file);
            eb_adds(&b, "'/>\n");
        }
        eb_adds(&b, "      <target dev='");
        eb_esc(&b, d->target);
        eb_adds(&b, "'");
        if (*d->bus)
            eb_printf(&b, " bus='%s'", d->bus);
        eb_adds(&b, "/>\n    </disk>\n");
    }
    eb_adds(&b, "  </devices>\n</domain>\n");
    if (!(*out = eb_steal(&b)))
        return esx_oom(c);
    return 0;
}
