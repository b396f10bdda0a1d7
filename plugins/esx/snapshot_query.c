/* The read-only snapshot callbacks, answered from the VM's snapshot tree
 * (one round trip, or the connection's recent read): listings with every
 * libvirt filter computed here, XML, current, parent, existence. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

static int match(const esx_snap *s, unsigned f)
{
    int state = esx_snap_state(s->state);

    /* vSphere keeps the metadata, the broker none: METADATA alone lists
     * nothing (both bits: everything, as libvirt does for this group) */
    if ((f & SB_SNAPSHOT_FILTERS_METADATA) == SB_SNAPSHOT_LIST_METADATA)
        return 0;
    /* leaves: both bits remove everything, as libvirt 9.0 does */
    if ((f & SB_SNAPSHOT_LIST_LEAVES) && s->nchildren)
        return 0;
    if ((f & SB_SNAPSHOT_LIST_NO_LEAVES) && !s->nchildren)
        return 0;
    if (f & SB_SNAPSHOT_FILTERS_STATUS) {
        if (state == SB_STATE_SHUTOFF && !(f & SB_SNAPSHOT_LIST_INACTIVE))
            return 0;
        if (state != SB_STATE_SHUTOFF && !(f & SB_SNAPSHOT_LIST_ACTIVE))
            return 0;
    }
    /* every vSphere snapshot is internal to the VM */
    if ((f & SB_SNAPSHOT_FILTERS_LOCATION) == SB_SNAPSHOT_LIST_EXTERNAL)
        return 0;
    return 1;
}

static int in_subtree(const esx_tree *t, long i, long top)
{
    for (size_t hops = 0; i >= 0 && hops <= t->n; hops++, i = t->v[i].parent)
        if (i == top)
            return 1;
    return 0;
}

int esx_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                      const char *from, unsigned flags)
{
    esx_vm *vm;
    long top = -1;
    int rc;

    *out_names = NULL;
    *out_n = 0;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0)
        return rc;
    if (from && (rc = esx_snap_lookup(c, vm, domain, from, &top)) < 0)
        return rc;
    const esx_tree *t = &vm->tree;
    char **names = c->api->alloc((t->n + 1) * sizeof(*names));
    size_t n = 0;
    if (!names)
        return esx_oom(c);
    /* depth-first: parents before children (TOPOLOGICAL holds always) */
    for (size_t i = 0; i < t->n; i++) {
        const esx_snap *s = &t->v[i];
        int take;
        if (!from)
            take = !(flags & SB_SNAPSHOT_LIST_ROOTS) || s->parent < 0;
        else if (flags & SB_SNAPSHOT_LIST_DESCENDANTS)
            take = (long)i != top && in_subtree(t, (long)i, top);
        else
            take = s->parent == top;
        if (!take || !match(s, flags))
            continue;
        if (!(names[n] = c->api->strdup(s->name))) {
            for (size_t k = 0; k < n; k++)
                c->api->free(names[k]);
            c->api->free(names);
            return esx_oom(c);
        }
        n++;
    }
    *out_names = names;
    *out_n = n;
    return 0;
}

int esx_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                         unsigned flags)
{
    esx_conf *conf;
    esx_vm *vm;
    long idx;
    int rc;

    (void)flags; /* SECURE: nothing secret in it */
    *out_xml = NULL;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 ||
        (rc = esx_snap_lookup(c, vm, domain, name, &idx)) < 0)
        return rc;
    /* vm stays valid: reading a snapshot's configuration does not touch
     * the cached VM read */
    if ((rc = esx_snapshot_conf(c, &vm->tree.v[idx], &conf)) < 0)
        return rc;
    return esx_snapshot_xml(c, vm, idx, conf, out_xml);
}

int esx_snapshot_current(char **out_name, sb_conn *c, const char *domain)
{
    esx_vm *vm;
    int rc;

    *out_name = NULL;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0)
        return rc;
    if (vm->tree.current_idx < 0) {
        if (vm->tree.current.value)
            esx_log(c, SB_LOG_WARN,
                    "esx: vSphere names %s the current snapshot of '%s', but its tree does "
                    "not hold it",
                    vm->tree.current.value, domain);
        return esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT,
                         "esx: the domain '%s' does not have a current snapshot", domain);
    }
    return esx_out_str(c, out_name, vm->tree.v[vm->tree.current_idx].name);
}

int esx_snapshot_parent(char **out_name, sb_conn *c, const char *domain, const char *name)
{
    esx_vm *vm;
    long idx;
    int rc;

    *out_name = NULL;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 ||
        (rc = esx_snap_lookup(c, vm, domain, name, &idx)) < 0)
        return rc;
    long p = vm->tree.v[idx].parent;
    if (p < 0)
        return esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT, "esx: snapshot '%s' does not have a parent",
                         name);
    return esx_out_str(c, out_name, vm->tree.v[p].name);
}

int esx_snapshot_exists(sb_conn *c, const char *domain, const char *xml)
{
    esx_vm *vm;
    char *name;
    int rc;

    if ((rc = esx_snap_name_of(c, xml, &name)) < 0)
        return rc;
    if ((rc = esx_vm_get(c, domain, 1, &vm)) == 0)
        rc = esx_tree_find(&vm->tree, name) != -1;
    free(name);
    return rc;
}
