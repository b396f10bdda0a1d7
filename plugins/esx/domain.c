/* The domain callbacks: the VMs of the connection's scope, their XML and
 * state, and power operations (tasks on the VM). */
#include "esx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int esx_out_str(esx_conn *c, char **out, const char *s)
{
    *out = NULL;
    if (!c->api)
        return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: no broker to hand a string to");
    if (!(*out = c->api->strdup(s ? s : "")))
        return esx_oom(c);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The VMs in name order (the container view's order is the server's). */
int esx_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    int rc;

    *out_names = NULL;
    *out_n = 0;
    if (flags & ~(unsigned)(SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE))
        return esx_error(c, SB_ERR_INVALID_ARG, "esx: unsupported flags (0x%x) in domain_list",
                         flags);
    if ((rc = esx_vms_list(c)) < 0)
        return rc;
    char **names = c->api->alloc((c->nvms + 1) * sizeof(*names));
    size_t n = 0;
    if (!names)
        return esx_oom(c);
    for (size_t i = 0; i < c->nvms; i++) {
        int active = esx_domain_state(c->vms[i].power) != SB_DOMAIN_SHUTOFF;
        if ((flags & (SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE)) &&
            !((active && (flags & SB_DOMAIN_LIST_ACTIVE)) ||
              (!active && (flags & SB_DOMAIN_LIST_INACTIVE))))
            continue;
        if (!(names[n] = c->api->strdup(c->vms[i].domain))) {
            for (size_t k = 0; k < n; k++)
                c->api->free(names[k]);
            c->api->free(names);
            return esx_oom(c);
        }
        n++;
    }
    qsort(names, n, sizeof(*names), by_name);
    *out_names = names;
    *out_n = n;
    return 0;
}

int esx_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    esx_vm *vm;
    char *xml = NULL;
    int rc;

    (void)flags; /* nothing secret in a VM's definition */
    *out_xml = NULL;
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 || (rc = esx_domain_xml(c, &vm->conf, &xml)) < 0)
        return rc;
    rc = esx_out_str(c, out_xml, xml);
    free(xml);
    return rc;
}

int esx_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    esx_vm *vm;
    int rc = esx_vm_get(c, domain, 0, &vm);
    *out_state = rc < 0 ? SB_DOMAIN_NOSTATE : esx_domain_state(vm->power);
    return rc;
}

/* One power task on a VM whose current state allows it. */
static int power(sb_conn *c, const char *domain, unsigned flags, const char *method,
                 const char *allowed, const char *refusal)
{
    esx_vm *vm, *after = NULL;
    esx_ref ref = { 0 };
    char what[300];
    int rc;

    if (flags)
        return esx_error(c, SB_ERR_INVALID_ARG, "esx: unsupported flags (0x%x) in %s", flags,
                         method);
    if ((rc = esx_vm_get(c, domain, 1, &vm)) < 0)
        return rc;
    if (!vm->power || !strstr(allowed, vm->power))
        return esx_error(c, SB_ERR_OPERATION_INVALID, "esx: domain '%s' %s (it is %s)", domain,
                         refusal, vm->power ? vm->power : "in an unknown state");
    if (esx_ref_set(&ref, vm->ref.type, vm->ref.value) < 0)
        return esx_oom(c);
    snprintf(what, sizeof(what), "%s of '%s'", method, domain);
    rc = esx_task_run(c, method, &ref, NULL, what, &ref, &after, NULL);
    esx_ref_clear(&ref);
    esx_vm_cache(c, after); /* NULL after a failure: read again next time */
    return rc;
}

int esx_domain_start(sb_conn *c, const char *domain, unsigned flags)
{
    /* named, as every message names a flag libvirt defines */
    if (flags & SB_DOMAIN_START_PAUSED)
        return esx_error(c, SB_ERR_CONFIG_UNSUPPORTED,
                         "esx: VIR_DOMAIN_START_PAUSED: vSphere cannot start a VM paused");
    return power(c, domain, flags, "PowerOnVM_Task", "poweredOff", "is already running");
}

int esx_domain_destroy(sb_conn *c, const char *domain, unsigned flags)
{
    return power(c, domain, flags, "PowerOffVM_Task", "poweredOn suspended", "is not running");
}

int esx_domain_suspend(sb_conn *c, const char *domain, unsigned flags)
{
    return power(c, domain, flags, "SuspendVM_Task", "poweredOn", "is not running");
}

int esx_domain_resume(sb_conn *c, const char *domain, unsigned flags)
{
    return power(c, domain, flags, "PowerOnVM_Task", "suspended", "is not paused");
}

int esx_domain_shutdown(sb_conn *c, const char *domain, unsigned flags)
{
    esx_vm *vm;
    xmlDoc *doc;
    xmlNode *resp;
    esx_ref ref = { 0 };
    int rc;

    if (flags)
        return esx_error(c, SB_ERR_INVALID_ARG, "esx: unsupported flags (0x%x) in shutdown",
                         flags);
    if ((rc = esx_vm_get(c, domain, 1, &vm)) < 0)
        return rc;
    if (esx_domain_state(vm->power) != SB_DOMAIN_RUNNING)
        return esx_error(c, SB_ERR_OPERATION_INVALID, "esx: domain '%s' is not running",
                         domain);
    if (!vm->tools || strcmp(vm->tools, "guestToolsRunning") != 0)
        return esx_error(c, SB_ERR_OPERATION_INVALID,
                         "esx: a guest shutdown of '%s' needs VMware Tools running in it "
                         "(guest.toolsRunningStatus is %s)",
                         domain, vm->tools ? vm->tools : "unknown");
    if (esx_ref_set(&ref, vm->ref.type, vm->ref.value) < 0)
        return esx_oom(c);
    esx_vm_cache(c, NULL);
    /* not a task: the guest shuts down in its own time */
    rc = esx_call(c, "ShutdownGuest", &ref, NULL, &doc, &resp);
    esx_changes_add(c); /* other processes' kept reads (changes.c) */
    esx_ref_clear(&ref);
    if (rc == 0)
        xmlFreeDoc(doc);
    return rc;
}
