/* Reverting: RevertToSnapshot_Task, which leaves the VM in the state the
 * snapshot recorded (running from a memory snapshot, off otherwise).
 * RUNNING powers the VM on afterwards when it is not running (a snapshot
 * without memory); PAUSED never reaches us (vSphere has no paused state;
 * the capabilities leave it out); FORCE is accepted: vSphere needs no
 * permission for any revert. */
#include "esx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The VM's state after the revert.  The poll that sees a task end reads
 * the VM too, but a task still running at the first poll is polled alone
 * (task.c), and on ESXi a revert has hardly ever ended by then: without
 * this read RUNNING would not know the VM is off, and leave it so. */
static int state_after(esx_conn *c, const esx_ref *ref, const char *domain, const char *name,
                       esx_vm **after)
{
    if (*after)
        return 0;
    int rc = esx_vm_read(c, ref, after);
    if (rc < 0) {
        char why[sizeof(c->err_msg)];
        snprintf(why, sizeof(why), "%s", c->err_msg);
        rc = esx_error(c, -rc,
                       "esx: '%s' was reverted to snapshot '%s', but its power state could "
                       "not be read to start it: %s",
                       domain, name, why);
    }
    return rc;
}

int esx_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags)
{
    esx_vm *vm, *after = NULL;
    esx_ref snap = { 0 }, ref = { 0 };
    char *name = NULL, what[600];
    long idx;
    int rc;

    *out_xml = NULL;
    if ((rc = esx_snap_name_of(c, xml, &name)) < 0)
        return rc;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 ||
        (rc = esx_snap_lookup(c, vm, domain, name, &idx)) < 0)
        goto out;
    if (esx_ref_set(&snap, vm->tree.v[idx].ref.type, vm->tree.v[idx].ref.value) < 0 ||
        esx_ref_set(&ref, vm->ref.type, vm->ref.value) < 0) {
        rc = esx_oom(c);
        goto out;
    }
    snprintf(what, sizeof(what), "reverting '%.200s' to snapshot '%.200s'", domain, name);
    esx_vm_cache(c, NULL);
    rc = esx_task_run(c, "RevertToSnapshot_Task", &snap,
                      "<suppressPowerOn>false</suppressPowerOn>", what, &ref, &after, NULL);
    if (rc == -SB_ERR_HYPERVISOR && esx_fault_is(c, "ManagedObjectNotFound"))
        rc = esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT,
                       "esx: snapshot '%s' of domain '%s' was removed meanwhile", name, domain);
    if (rc == 0 && (flags & SB_SNAPSHOT_REVERT_RUNNING))
        rc = state_after(c, &ref, domain, name, &after);
    if (rc == 0 && (flags & SB_SNAPSHOT_REVERT_RUNNING) &&
        esx_domain_state(after->power) != SB_DOMAIN_RUNNING) {
        esx_vm_free(after);
        after = NULL;
        snprintf(what, sizeof(what), "starting '%.200s' after its revert to '%.200s'", domain,
                 name);
        rc = esx_task_run(c, "PowerOnVM_Task", &ref, NULL, what, &ref, &after, NULL);
    }
    esx_vm_cache(c, after);
out:
    esx_ref_clear(&snap);
    esx_ref_clear(&ref);
    free(name);
    return rc;
}
