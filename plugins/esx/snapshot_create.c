/* Taking a snapshot: ESX's rules checked against what the VM is now
 * (the simulator, like a careless client, would accept and ignore
 * them), then CreateSnapshot_Task with every argument the WSDL wants.
 *
 *   memory   saved unless DISK_ONLY or <memory snapshot='no'/>, and only
 *            from a powered-on guest (a suspended one keeps its state);
 *   quiesce  QUIESCE, which needs a powered-on guest with VMware Tools
 *            running: vSphere would skip it silently otherwise;
 *   disks    each entry must be the disk's own mode: 'internal' for a
 *            disk in every snapshot, 'no' for an independent disk;
 *            external disk snapshots and memory files do not exist;
 *   name     unique within the VM (vSphere itself would allow twins);
 *            checked and taken under the VM's lock (changes.c). */
#include "esx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const esx_disk *disk_named(const esx_vm *vm, const char *name)
{
    for (size_t i = 0; i < vm->conf.ndisks; i++)
        if (strcmp(vm->conf.disks[i].target, name) == 0)
            return &vm->conf.disks[i];
    return NULL;
}

static int check_disks(esx_conn *c, const esx_vm *vm, const char *domain,
                       const struct sb_snapshot_view *v)
{
    for (size_t i = 0; i < v->ndisks; i++) {
        const struct sb_snapshot_disk_view *sd = &v->disks[i];
        const esx_disk *d = disk_named(vm, sd->name);
        if (!d)
            return esx_error(c, SB_ERR_CONFIG_UNSUPPORTED, "esx: domain '%s' has no disk '%s'",
                             domain, sd->name);
        if (sd->snapshot == SB_LOCATION_EXTERNAL || sd->snapshot == SB_LOCATION_MANUAL ||
            sd->source)
            return esx_error(c, SB_ERR_CONFIG_UNSUPPORTED,
                             "esx: disk '%s': vSphere keeps snapshot data with the VM; "
                             "external (or manual) disk snapshots and snapshot files are not "
                             "supported",
                             sd->name);
        if ((sd->snapshot == SB_LOCATION_NO) != d->excluded)
            return esx_error(c, SB_ERR_CONFIG_UNSUPPORTED,
                             "esx: disk '%s' (%s%s) %s every vSphere snapshot: snapshot='%s' "
                             "would override the disk's own mode",
                             sd->name, d->mode ? d->mode : "no mode",
                             d->rdm ? ", raw device mapping" : "",
                             d->excluded ? "is left out of" : "is part of",
                             sd->snapshot == SB_LOCATION_NO ? "no" : "internal");
    }
    return 0;
}

static int check_request(esx_conn *c, const esx_vm *vm, const char *domain,
                         const struct sb_snapshot_view *v, unsigned flags)
{
    int rc;

    if (v->memory == SB_LOCATION_EXTERNAL || v->memory_file)
        return esx_error(c, SB_ERR_CONFIG_UNSUPPORTED,
                         "esx: memory file '%s': vSphere keeps a snapshot's memory with the VM; "
                         "external memory snapshots are not supported",
                         v->memory_file ? v->memory_file : "");
    if ((rc = check_disks(c, vm, domain, v)) < 0)
        return rc;
    if (esx_tree_find(&vm->tree, v->name) != -1)
        return esx_error(c, SB_ERR_OPERATION_INVALID,
                         "esx: domain '%s' already has a snapshot named '%s'", domain, v->name);
    if (vm->tree.current.value && vm->tree.current_idx < 0)
        return esx_error(c, SB_ERR_HYPERVISOR,
                         "esx: vSphere names %s the current snapshot of '%s', but the VM's "
                         "snapshot tree does not hold it; revert to a snapshot of the tree "
                         "before taking a new one",
                         vm->tree.current.value, domain);
    if (flags & SB_SNAPSHOT_CREATE_QUIESCE) {
        if (esx_domain_state(vm->power) != SB_DOMAIN_RUNNING)
            return esx_error(c, SB_ERR_OPERATION_INVALID,
                             "esx: cannot quiesce domain '%s': it is %s, not running", domain,
                             vm->power ? vm->power : "in an unknown state");
        if (!vm->tools || strcmp(vm->tools, "guestToolsRunning") != 0)
            return esx_error(c, SB_ERR_OPERATION_INVALID,
                             "esx: cannot quiesce domain '%s': VMware Tools are not running in "
                             "it (guest.toolsRunningStatus is %s), and vSphere would take the "
                             "snapshot without quiescing",
                             domain, vm->tools ? vm->tools : "unknown");
    }
    return 0;
}

int esx_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags)
{
    struct sb_snapshot_view *v = NULL;
    esx_vm *vm, *after = NULL;
    esx_ref ref = { 0 }, snap = { 0 };
    esx_buf args = { 0 };
    char what[600];
    int rc, lock = -1;

    *out_xml = NULL;
    if ((rc = c->api->snapshot_view(c->h, xml, &v)) < 0)
        return rc;
    /* the name check and the task under the VM's lock (changes.c); the
     * read again after it, which is the kept one unless another process
     * changed the host meanwhile */
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0)
        goto out;
    lock = esx_vm_lock(c, vm->ref.value);
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 || (rc = esx_conf_disks(c, &vm->conf)) < 0 ||
        (rc = check_request(c, vm, domain, v, flags)) < 0)
        goto out;
    int memory = v->memory == SB_LOCATION_INTERNAL && !(flags & SB_SNAPSHOT_CREATE_DISK_ONLY) &&
                 esx_domain_state(vm->power) == SB_DOMAIN_RUNNING;
    eb_elem(&args, "name", v->name);
    eb_elem(&args, "description", v->description ? v->description : "");
    eb_printf(&args, "<memory>%s</memory><quiesce>%s</quiesce>", memory ? "true" : "false",
              (flags & SB_SNAPSHOT_CREATE_QUIESCE) ? "true" : "false");
    char *a = eb_steal(&args);
    if (!a || esx_ref_set(&ref, vm->ref.type, vm->ref.value) < 0) {
        free(a);
        rc = esx_oom(c);
        goto out;
    }
    snprintf(what, sizeof(what), "creating snapshot '%.200s' of '%.200s'", v->name, domain);
    c->cached = NULL; /* the read is ours now; the cache gets the one after the task */
    rc = esx_task_run(c, "CreateSnapshot_Task", &ref, a, what, &ref, &after, &snap);
    free(a);
    /* the new snapshot kept the configuration the VM had when it was
     * taken (on ESXi the VM's disks then move on to new delta files) */
    if (rc == 0 && snap.value)
        esx_snapshot_conf_prime(c, snap.value, &vm->conf);
    esx_vm_free(vm);
    esx_vm_cache(c, after);
    esx_log(c, SB_LOG_DEBUG, "esx: created snapshot '%s' of '%s' (memory %d, quiesce %d): %d",
            v->name, domain, memory, !!(flags & SB_SNAPSHOT_CREATE_QUIESCE), rc);
out:
    esx_vm_unlock(lock);
    esx_ref_clear(&ref);
    esx_ref_clear(&snap);
    c->api->snapshot_view_free(v);
    return rc;
}
