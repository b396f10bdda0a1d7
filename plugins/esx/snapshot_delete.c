/* Deleting: RemoveSnapshot_Task, always asking vSphere to consolidate
 * the disks.  CHILDREN removes the subtree in one task; CHILDREN_ONLY
 * removes each child's subtree; a plain delete lets vSphere re-parent the
 * children (and move the current snapshot up).  METADATA_ONLY does
 * nothing: the broker keeps no metadata of its own for vSphere
 * snapshots, and vSphere's cannot be separated from the snapshot.  A VM
 * left needing consolidation is reported as a warning. */
#include "esx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int remove_one(esx_conn *c, const esx_ref *vm_ref, const esx_snap *s, const char *domain,
                      int children, esx_vm **after)
{
    char what[600];
    esx_ref snap = { 0 };
    int rc;

    if (esx_ref_set(&snap, s->ref.type, s->ref.value) < 0)
        return esx_oom(c);
    snprintf(what, sizeof(what), "deleting snapshot '%.200s'%s of '%.200s'", s->name,
             children ? " and its descendants" : "", domain);
    rc = esx_task_run(c, "RemoveSnapshot_Task", &snap,
                      children ? "<removeChildren>true</removeChildren><consolidate>true"
                                 "</consolidate>"
                               : "<removeChildren>false</removeChildren><consolidate>true"
                                 "</consolidate>",
                      what, vm_ref, after, NULL);
    if (rc == -SB_ERR_HYPERVISOR && esx_fault_is(c, "ManagedObjectNotFound"))
        rc = esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT,
                       "esx: snapshot '%s' of domain '%s' was removed meanwhile", s->name, domain);
    esx_ref_clear(&snap);
    return rc;
}

/* Warn when the VM is left needing consolidation.  The poll that sees a
 * task end reads the VM too, but a task still running at the first poll
 * is polled alone (task.c), as a delete on ESXi nearly always is: the VM
 * is then read here.  The snapshot is gone either way, so a failed read
 * is a warning, not the delete's error. */
static void warn_consolidation(esx_conn *c, const esx_ref *ref, const char *domain,
                               const char *name, esx_vm **after)
{
    if (!*after && esx_vm_read(c, ref, after) < 0) {
        esx_log(c, SB_LOG_WARN,
                "esx: could not read domain '%s' after deleting snapshot '%s' to see whether "
                "its disks need consolidation: %s",
                domain, name, c->err_msg);
        return;
    }
    if ((*after)->consolidation_needed)
        esx_log(c, SB_LOG_WARN,
                "esx: domain '%s' needs its disks consolidated after deleting snapshot '%s' "
                "(vSphere could not merge them; run Consolidate in vSphere)",
                domain, name);
}

int esx_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
    esx_vm *vm, *after = NULL;
    esx_ref ref = { 0 };
    char *name = NULL;
    long idx;
    int rc, removed = 0;

    if ((rc = esx_snap_name_of(c, xml, &name)) < 0)
        return rc;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 ||
        (rc = esx_snap_lookup(c, vm, domain, name, &idx)) < 0)
        goto out;
    if (flags & SB_SNAPSHOT_DELETE_METADATA_ONLY)
        goto out; /* nothing of ours to remove: see above */
    if (esx_ref_set(&ref, vm->ref.type, vm->ref.value) < 0) {
        rc = esx_oom(c);
        goto out;
    }
    /* The read we start from is ours now (the cache gets the read after
     * the change): each child's subtree goes in one task, and the next
     * child's reference stays valid meanwhile. */
    c->cached = NULL;
    if (flags & SB_SNAPSHOT_DELETE_CHILDREN_ONLY) {
        for (size_t i = 0; i < vm->tree.n && rc == 0; i++) {
            if (vm->tree.v[i].parent != idx)
                continue;
            esx_vm_free(after);
            after = NULL;
            rc = remove_one(c, &ref, &vm->tree.v[i], domain, 1, &after);
            removed = 1;
        }
    } else {
        rc = remove_one(c, &ref, &vm->tree.v[idx], domain,
                        !!(flags & SB_SNAPSHOT_DELETE_CHILDREN), &after);
        removed = 1;
    }
    esx_vm_free(vm);
    if (rc == 0 && removed)
        warn_consolidation(c, &ref, domain, name, &after);
    esx_vm_cache(c, after);
out:
    esx_ref_clear(&ref);
    free(name);
    return rc;
}
