/* A snapshot's <domainsnapshot>, from the VM's tree and the
 * configuration the snapshot kept, formatted by the broker's own
 * formatter (canonical XML).  vSphere records the VM's power state:
 * poweredOn and suspended snapshots hold the guest's memory, poweredOff
 * ones do not.
 *
 * The last text handed out is kept with the tree entry it came from: a
 * snapshot's configuration never changes, so the same entry (reference,
 * name, description, parent, state, time) gives the same text without
 * formatting it again, and esx_snap_name_of knows its name when the
 * broker passes it back for a revert or delete. */
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

void esx_xml_memo_clear(esx_xml_memo *m)
{
    free(m->ref);
    free(m->name);
    free(m->desc);
    free(m->parent);
    free(m->state);
    free(m->xml);
    memset(m, 0, sizeof(*m));
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int memo_holds(const esx_xml_memo *m, const esx_snap *s, const char *parent)
{
    return m->xml && same(m->ref, s->ref.value) && same(m->name, s->name) &&
           same(m->desc, s->desc) && same(m->parent, parent) && same(m->state, s->state) &&
           m->ctime == s->ctime;
}

static void memo_keep(esx_conn *c, const esx_snap *s, const char *parent, const char *xml)
{
    esx_xml_memo *m = &c->last_xml;
    esx_xml_memo_clear(m);
    m->ctime = s->ctime;
    if (!(m->ref = esx_strdup(s->ref.value)) || !(m->name = esx_strdup(s->name)) ||
        !(m->desc = esx_strdup(s->desc)) || (parent && !(m->parent = strdup(parent))) ||
        (s->state && !(m->state = strdup(s->state))) || !(m->xml = strdup(xml)))
        esx_xml_memo_clear(m); /* only a memo: the next call formats again */
}

int esx_snapshot_xml(esx_conn *c, const esx_vm *vm, long idx, esx_conf *conf, char **out)
{
    const esx_snap *s = &vm->tree.v[idx];
    const char *parent = s->parent >= 0 ? vm->tree.v[s->parent].name : NULL;
    struct sb_snapshot_view v = { .struct_size = sizeof(v) };
    struct sb_snapshot_disk_view *disks = NULL;
    char *dom = NULL, *xml = NULL;
    int rc;

    *out = NULL;
    if (!c->api)
        return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: no broker to format snapshot XML");
    if (memo_holds(&c->last_xml, s, parent))
        return esx_out_str(c, out, c->last_xml.xml);
    if ((rc = esx_conf_disks(c, conf)) < 0)
        return rc;
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
    v.parent = parent;
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
    memo_keep(c, s, parent, xml);
    *out = xml; /* host memory: the broker's already */
    return 0;
}
