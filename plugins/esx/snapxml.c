/* A snapshot's <domainsnapshot>, from the VM's tree and the
 * configuration the snapshot kept, formatted by the broker's own
 * formatter (canonical XML).  vSphere records the VM's power state:
 * poweredOn and suspended snapshots hold the guest's memory, poweredOff
 * ones do not. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

int esx_snap_state(const char *s)
{
    if (s && strcmp(s, "poweredOn") == 0)
        return SB_STATE_RUNNING;
    if (s && strcmp(s, "suspended") == 0)
        return SB_STATE_PAUSED;
    return SB_STATE_SHUTOFF;
}

int esx_snapshot_xml(esx_conn *c, const esx_vm *vm, long idx, const esx_conf *conf, char **out)
{
    const esx_snap *s = &vm->tree.v[idx];
    struct sb_snapshot_view v = { .struct_size = sizeof(v) };
    struct sb_snapshot_disk_view *disks = NULL;
    char *dom = NULL, *xml = NULL;
    int rc;

    *out = NULL;
    if (!c->api)
        return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: no broker to format snapshot XML");
    if (conf->ndisks && !(disks = calloc(conf->ndisks, sizeof(*disks))))
        return esx_oom(c);
    for (size_t i = 0; i < conf->ndisks; i++) {
        disks[i].name = conf->disks[i].target;
        disks[i].snapshot = conf->disks[i].excluded ? SB_LOCATION_NO : SB_LOCATION_INTERNAL;
        disks[i].type = SB_DISK_TYPE_FILE;
    }
    if ((rc = esx_domain_xml(c, conf, &dom)) < 0) {
        free(disks);
        return rc;
    }
    v.name = s->name;
    v.description = *s->desc ? s->desc : NULL;
    v.parent = s->parent >= 0 ? vm->tree.v[s->parent].name : NULL;
    v.state = esx_snap_state(s->state);
    v.creation_time = s->ctime;
    v.memory = v.state == SB_STATE_SHUTOFF ? SB_LOCATION_NO : SB_LOCATION_INTERNAL;
    v.ndisks = conf->ndisks;
    v.disks = disks;
    v.domain_xml = dom;
    rc = c->api->snapshot_format(c->h, &v, &xml);
    free(disks);
    free(dom);
    if (rc < 0)
        return rc;
    *out = xml; /* host memory: the broker's already */
    return 0;
}
