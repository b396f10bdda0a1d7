/* Which VMs a connection sees, and what a domain name means.
 *
 * The URI's path is an inventory path (vCenter: "DC0", "DC0/host/C0",
 * "DC0/vm/team"; libvirt's vpx form "DC0/C0/H0" works too); without one,
 * the whole inventory.  The VMs of that scope come from one ContainerView
 * (kept for the connection) and one PropertyCollector round trip.
 *
 * A domain is named by the VM's name when that is unique in the scope.
 * VMs whose names repeat (a vCenter has folders) are listed, and found,
 * by their inventory path ("DC0/vm/a/web"), or by their instance uuid
 * when even that repeats; an instance uuid always works, a BIOS uuid
 * when no other VM has it (copies keep their original's). */
#include "esx.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int uuid_shaped(const char *s)
{
    static const int dash[] = { 8, 13, 18, 23 };
    if (strlen(s) != 36)
        return 0;
    for (int i = 0, k = 0; i < 36; i++) {
        if (k < 4 && i == dash[k]) {
            if (s[i] != '-')
                return 0;
            k++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int esx_domain_is_name(const char *domain)
{
    return !strchr(domain, '/') && !uuid_shaped(domain);
}

static int find_by_path(esx_conn *c, const char *path, esx_ref *out)
{
    esx_buf a = { 0 };
    xmlDoc *doc;
    xmlNode *resp;
    int rc;

    eb_elem(&a, "inventoryPath", path);
    char *args = eb_steal(&a);
    if (!args)
        return esx_oom(c);
    rc = esx_call(c, "FindByInventoryPath", &c->search_index, args, &doc, &resp);
    free(args);
    if (rc < 0)
        return rc;
    xmlNode *rv = ex_child(resp, "returnval");
    rc = rv ? (ex_ref(rv, out) < 0 ? esx_oom(c) : 1) : 0;
    xmlFreeDoc(doc);
    return rc;
}

static const char *const containers[] = { "Folder", "Datacenter", "ClusterComputeResource",
                                          "ComputeResource", "HostSystem", "ResourcePool",
                                          "VirtualApp", NULL };

int esx_scope_open(esx_conn *c)
{
    const char *path = c->uri.path;
    int rc;

    if (!*path)
        return esx_ref_set(&c->scope, c->root_folder.type, c->root_folder.value) < 0 ? esx_oom(c)
                                                                                   : 0;
    if ((rc = find_by_path(c, path, &c->scope)) < 0)
        return rc;
    if (rc == 0) {
        /* libvirt's vpx://vc/DC/cluster/host leaves out the "host" folder */
        const char *slash = strchr(path, '/');
        esx_buf alt = { 0 };
        if (slash && strncmp(slash + 1, "host/", 5) != 0) {
            eb_add(&alt, path, (size_t)(slash - path));
            eb_adds(&alt, "/host");
            eb_adds(&alt, slash);
            char *p = eb_steal(&alt);
            if (!p)
                return esx_oom(c);
            rc = find_by_path(c, p, &c->scope);
            free(p);
            if (rc < 0)
                return rc;
        }
    }
    if (rc == 0)
        return esx_error(c, SB_ERR_CONFIG,
                         "esx: %s has no inventory path '%s' (the URI's path names a "
                         "datacenter, or a cluster, host or VM folder inside one: "
                         "DC/host/CLUSTER, DC/vm/FOLDER)",
                         c->display, path);
    int ok = 0;
    for (int i = 0; containers[i]; i++)
        ok |= strcmp(containers[i], c->scope.type) == 0;
    if (!ok)
        return esx_error(c, SB_ERR_CONFIG,
                         "esx: inventory path '%s' on %s is a %s, not a datacenter, folder, "
                         "cluster, host or resource pool",
                         path, c->display, c->scope.type);
    const char *slash = strchr(path, '/');
    if (!(c->datacenter = strndup(path, slash ? (size_t)(slash - path) : strlen(path))))
        return esx_oom(c);
    return 0;
}

void esx_vms_clear(esx_conn *c)
{
    for (size_t i = 0; i < c->nvms; i++) {
        esx_ref_clear(&c->vms[i].ref);
        free(c->vms[i].name);
        free(c->vms[i].domain);
        free(c->vms[i].power);
        free(c->vms[i].instance_uuid);
        free(c->vms[i].uuid);
    }
    free(c->vms);
    c->vms = NULL;
    c->nvms = 0;
    c->vms_valid = 0;
}

static int make_view(esx_conn *c)
{
    esx_buf a = { 0 };
    xmlDoc *doc;
    xmlNode *resp;
    int rc;

    eb_ref(&a, "container", c->scope.type, c->scope.value);
    eb_adds(&a, "<type>VirtualMachine</type><recursive>true</recursive>");
    char *args = eb_steal(&a);
    if (!args)
        return esx_oom(c);
    rc = esx_call(c, "CreateContainerView", &c->view_manager, args, &doc, &resp);
    free(args);
    if (rc < 0)
        return rc;
    if (ex_ref(ex_child(resp, "returnval"), &c->view) < 0)
        rc = esx_error(c, SB_ERR_HYPERVISOR, "esx: %s made no container view", c->display);
    xmlFreeDoc(doc);
    return rc;
}

static int list_once(esx_conn *c, esx_result *res)
{
    esx_buf spec = { 0 };
    int rc;

    if (!c->view.value && (rc = make_view(c)) < 0)
        return rc;
    eb_adds(&spec, "<propSet><type>VirtualMachine</type><all>false</all>"
                   "<pathSet>name</pathSet><pathSet>runtime.powerState</pathSet>"
                   "<pathSet>config.instanceUuid</pathSet><pathSet>config.uuid</pathSet>"
                   "<pathSet>config.template</pathSet></propSet><objectSet>");
    eb_ref(&spec, "obj", c->view.type, c->view.value);
    eb_adds(&spec, "<skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>view</name>"
                   "<type>ContainerView</type><path>view</path><skip>false</skip>"
                   "</selectSet></objectSet>");
    char *s = eb_steal(&spec);
    if (!s)
        return esx_oom(c);
    rc = esx_retrieve(c, s, res);
    free(s);
    return rc;
}

/* The inventory paths of some VMs: their parent chains up to the root
 * folder, one round trip per level for all of them. */
static int inventory_paths(esx_conn *c, char **paths, esx_ref *cur, size_t n)
{
    int rc = 0;
    for (int level = 0; level < 64 && rc == 0; level++) {
        esx_buf spec = { 0 };
        size_t pending = 0;
        eb_adds(&spec, "<propSet><type>ManagedEntity</type><all>false</all>"
                       "<pathSet>name</pathSet><pathSet>parent</pathSet></propSet>"
                       "<propSet><type>VirtualMachine</type><all>false</all>"
                       "<pathSet>name</pathSet><pathSet>parent</pathSet>"
                       "<pathSet>parentVApp</pathSet></propSet>");
        for (size_t i = 0; i < n; i++) {
            if (!cur[i].value || esx_ref_eq(&cur[i], &c->root_folder))
                continue;
            eb_adds(&spec, "<objectSet>");
            eb_ref(&spec, "obj", cur[i].type, cur[i].value);
            eb_adds(&spec, "</objectSet>");
            pending++;
        }
        char *s = eb_steal(&spec);
        if (!s)
            return esx_oom(c);
        if (!pending) {
            free(s);
            break;
        }
        esx_result res;
        rc = esx_retrieve(c, s, &res);
        free(s);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (!cur[i].value || esx_ref_eq(&cur[i], &c->root_folder))
                continue;
            const esx_obj *o = esx_result_find(&res, &cur[i]);
            char *name = ex_text(esx_obj_prop(o, "name"));
            xmlNode *up = esx_obj_prop(o, "parent");
            if (!up)
                up = esx_obj_prop(o, "parentVApp");
            esx_buf p = { 0 };
            eb_adds(&p, name ? name : "?");
            if (paths[i]) {
                eb_adds(&p, "/");
                eb_adds(&p, paths[i]);
            }
            free(name);
            free(paths[i]);
            if (!(paths[i] = eb_steal(&p)))
                rc = esx_oom(c);
            esx_ref_clear(&cur[i]);
            if (up && ex_ref(up, &cur[i]) < 0)
                rc = esx_oom(c);
        }
        esx_result_clear(&res);
    }
    return rc;
}

/* Names that repeat get the inventory path, paths that repeat the uuid. */
static int name_duplicates(esx_conn *c)
{
    size_t ndup = 0;
    int rc = 0;

    for (size_t i = 0; i < c->nvms; i++)
        for (size_t j = 0; j < c->nvms; j++)
            if (i != j && strcmp(c->vms[i].name, c->vms[j].name) == 0) {
                ndup++;
                break;
            }
    if (!ndup)
        return 0;
    char **paths = calloc(c->nvms, sizeof(*paths));
    esx_ref *cur = calloc(c->nvms, sizeof(*cur));
    if (!paths || !cur) {
        free(paths);
        free(cur);
        return esx_oom(c);
    }
    for (size_t i = 0; i < c->nvms && rc == 0; i++) {
        int dup = 0;
        for (size_t j = 0; j < c->nvms; j++)
            dup |= i != j && strcmp(c->vms[i].name, c->vms[j].name) == 0;
        if (dup && esx_ref_set(&cur[i], c->vms[i].ref.type, c->vms[i].ref.value) < 0)
            rc = esx_oom(c);
    }
    if (rc == 0)
        rc = inventory_paths(c, paths, cur, c->nvms);
    for (size_t i = 0; i < c->nvms && rc == 0; i++) {
        if (!paths[i])
            continue;
        /* the walk stops below the root folder, whose name is no part of it */
        free(c->vms[i].domain);
        c->vms[i].domain = paths[i];
        paths[i] = NULL;
    }
    for (size_t i = 0; i < c->nvms && rc == 0; i++) {
        for (size_t j = 0; j < c->nvms; j++) {
            if (i == j || strcmp(c->vms[i].domain, c->vms[j].domain) != 0)
                continue;
            const char *u = c->vms[i].instance_uuid ? c->vms[i].instance_uuid : c->vms[i].uuid;
            char *id = strdup(u ? u : c->vms[i].ref.value);
            if (!id) {
                rc = esx_oom(c);
                break;
            }
            free(c->vms[i].domain);
            c->vms[i].domain = id;
            break;
        }
    }
    for (size_t i = 0; i < c->nvms; i++) {
        free(paths[i]);
        esx_ref_clear(&cur[i]);
    }
    free(paths);
    free(cur);
    return rc;
}

int esx_vms_list(esx_conn *c)
{
    esx_result res;
    int rc;

    esx_vms_clear(c);
    rc = list_once(c, &res);
    if (rc < 0 && esx_fault_is(c, "ManagedObjectNotFound")) {
        /* the view went with an expired session: make a new one */
        esx_ref_clear(&c->view);
        rc = list_once(c, &res);
    }
    if (rc < 0)
        return rc;
    if (!(c->vms = calloc(res.nobjs + 1, sizeof(*c->vms)))) {
        esx_result_clear(&res);
        return esx_oom(c);
    }
    for (size_t i = 0; i < res.nobjs && rc == 0; i++) {
        const esx_obj *o = &res.objs[i];
        if (ex_is_true(esx_obj_prop(o, "config.template")))
            continue; /* templates cannot run or hold snapshots */
        esx_vm_entry *e = &c->vms[c->nvms++];
        e->name = ex_text(esx_obj_prop(o, "name"));
        e->power = ex_text(esx_obj_prop(o, "runtime.powerState"));
        e->instance_uuid = ex_text(esx_obj_prop(o, "config.instanceUuid"));
        e->uuid = ex_text(esx_obj_prop(o, "config.uuid"));
        if (esx_ref_set(&e->ref, o->ref.type, o->ref.value) < 0 || !e->name ||
            !(e->domain = strdup(e->name)))
            rc = esx_oom(c);
    }
    esx_result_clear(&res);
    if (rc == 0)
        rc = name_duplicates(c);
    if (rc < 0) {
        esx_vms_clear(c);
        return rc;
    }
    c->vms_valid = 1;
    return 0;
}

static int same_name(const esx_vm_entry *e, const char *domain)
{
    return strcmp(e->name, domain) == 0;
}

static int same_bios_uuid(const esx_vm_entry *e, const char *domain)
{
    return e->uuid && strcasecmp(e->uuid, domain) == 0;
}

/* Refuse a domain name that fits more than one VM, naming each as it can
 * be named instead (its domain: inventory path, or name when unique). */
static int ambiguous(esx_conn *c, const char *domain, size_t n, const char *what,
                     int (*fits)(const esx_vm_entry *, const char *))
{
    esx_buf b = { 0 };
    for (size_t i = 0, k = 0; i < c->nvms; i++)
        if (fits(&c->vms[i], domain))
            eb_printf(&b, "%s'%s'", k++ ? ", " : "", c->vms[i].domain);
    char *list = eb_steal(&b);
    int rc = esx_error(c, SB_ERR_INVALID_ARG, "esx: %zu VMs on %s %s '%s': name one as %s", n,
                       c->display, what, domain, list ? list : "its inventory path or uuid");
    free(list);
    return rc;
}

static size_t count(const esx_conn *c, const char *domain,
                    int (*fits)(const esx_vm_entry *, const char *), const esx_vm_entry **last)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nvms; i++)
        if (fits(&c->vms[i], domain)) {
            *last = &c->vms[i];
            n++;
        }
    return n;
}

/* A uuid: the VM whose instance uuid it is (vCenter keeps those unique),
 * else the VM whose BIOS uuid it is.  A copied VM keeps the BIOS uuid of
 * its original, so a BIOS uuid may name several VMs: taking one of them
 * would let an operation act on a VM the caller did not mean. */
static int pick_uuid(esx_conn *c, const char *domain, const esx_vm_entry **hit)
{
    for (size_t i = 0; i < c->nvms; i++)
        if (c->vms[i].instance_uuid && strcasecmp(c->vms[i].instance_uuid, domain) == 0) {
            *hit = &c->vms[i];
            return 0;
        }
    size_t n = count(c, domain, same_bios_uuid, hit);
    if (n > 1)
        return ambiguous(c, domain, n, "have the BIOS uuid", same_bios_uuid);
    return 0;
}

static int pick(esx_conn *c, const char *domain, esx_ref *out)
{
    const esx_vm_entry *hit = NULL;
    int rc;

    for (size_t i = 0; i < c->nvms; i++)
        if (strcmp(c->vms[i].domain, domain) == 0)
            hit = &c->vms[i];
    if (!hit && uuid_shaped(domain) && (rc = pick_uuid(c, domain, &hit)) < 0)
        return rc;
    if (!hit) {
        const esx_vm_entry *last;
        size_t named = count(c, domain, same_name, &last);
        if (named > 1)
            return ambiguous(c, domain, named, "are named", same_name);
    }
    if (!hit)
        return 0;
    return esx_ref_set(out, hit->ref.type, hit->ref.value) < 0 ? esx_oom(c) : 1;
}

int esx_vm_lookup(esx_conn *c, const char *domain, esx_ref *out)
{
    int rc;

    esx_ref_clear(out);
    /* A kept listing may predate the VM: list again before saying no. */
    for (int fresh = 0; fresh < 2; fresh++) {
        if (fresh || !c->vms_valid) {
            if ((rc = esx_vms_list(c)) < 0)
                return rc;
            fresh = 1;
        }
        if ((rc = pick(c, domain, out)) != 0)
            return rc < 0 ? rc : 0;
    }
    if (strchr(domain, '/')) {
        /* an inventory path of a VM whose name is unique */
        esx_ref ref = { 0 };
        if ((rc = find_by_path(c, domain, &ref)) < 0)
            return rc;
        for (size_t i = 0; rc == 1 && i < c->nvms; i++) {
            if (esx_ref_eq(&c->vms[i].ref, &ref)) {
                *out = ref;
                return 0;
            }
        }
        esx_ref_clear(&ref);
    }
    return esx_error(c, SB_ERR_NO_DOMAIN, "esx: no domain named '%s' on %s%s%s", domain,
                     c->display, *c->uri.path ? " under " : "", c->uri.path);
}
