/* Reading a VM: one PropertyCollector round trip for everything the
 * callbacks need (identity, hardware, disks and their modes, power,
 * VMware Tools, consolidation, the whole snapshot tree).  The read is
 * kept for cache_ms so that the several callbacks of one broker
 * operation do not each ask again, and no longer than another process of
 * this machine changed nothing on the host (changes.c); every change the
 * plugin makes replaces it with a read taken after the change.  The device list of a
 * read is parsed only when disks are asked for (esx_conf_disks).
 *
 * A task's poll may leave the configuration out but its version
 * (task.c): the configuration the plugin read last is kept with the VM
 * and the config.changeVersion it came with, and vSphere moves
 * changeVersion with every change of the VM's configuration (a
 * reconfigure by anybody, a revert that restores other hardware, on ESXi
 * a snapshot moving the disks to delta files).  So a read with the same
 * VM and changeVersion has the same configuration; a read whose version
 * moved, or a host that reports none, reads it again when it is needed.
 * The VM's name is not part of it: every read asks for it. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

/* Every path a VM read asks for, as constant <propSet>s: with the
 * configuration, and with its version alone.  read_conf_again reads
 * the rest. */
#define VM_PATH(p) "<pathSet>" p "</pathSet>"
#define VM_PATHS_STATE                                                                     \
    VM_PATH("name") VM_PATH("config.changeVersion") VM_PATH("runtime.powerState")          \
    VM_PATH("runtime.consolidationNeeded") VM_PATH("guest.toolsRunningStatus")             \
    VM_PATH("snapshot")
#define VM_PATHS_CONF                                                                      \
    VM_PATH("config.uuid") VM_PATH("config.instanceUuid") VM_PATH("config.template")       \
    VM_PATH("config.hardware.memoryMB") VM_PATH("config.hardware.numCPU")                  \
    VM_PATH("config.hardware.device")
static const char vm_propset_full[] = "<propSet><type>VirtualMachine</type><all>false</all>"
    VM_PATHS_STATE VM_PATHS_CONF "</propSet>";
static const char vm_propset_light[] = "<propSet><type>VirtualMachine</type><all>false</all>"
    VM_PATHS_STATE "</propSet>";

void esx_vm_propset(esx_buf *b, int conf)
{
    if (conf)
        eb_add(b, vm_propset_full, sizeof(vm_propset_full) - 1);
    else
        eb_add(b, vm_propset_light, sizeof(vm_propset_light) - 1);
}

/* conf without disks (NULL, 0). */
static void disks_free(esx_conf *conf)
{
    for (size_t i = 0; i < conf->ndisks; i++) {
        free(conf->disks[i].file);
        free(conf->disks[i].mode);
    }
    free(conf->disks);
    conf->disks = NULL;
    conf->ndisks = 0;
}

void esx_conf_clear(esx_conf *c)
{
    free(c->name);
    free(c->uuid);
    free(c->instance_uuid);
    disks_free(c);
    free(c->devices_text);
    free(c->vm);
    free(c->change_version);
    memset(c, 0, sizeof(*c));
}

void esx_tree_clear(esx_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        esx_ref_clear(&t->v[i].ref);
        free(t->v[i].name);
        free(t->v[i].desc);
        free(t->v[i].state);
    }
    free(t->v);
    esx_ref_clear(&t->current);
    memset(t, 0, sizeof(*t));
    t->current_idx = -1;
}

void esx_vm_free(esx_vm *vm)
{
    if (!vm)
        return;
    esx_ref_clear(&vm->ref);
    esx_conf_clear(&vm->conf);
    free(vm->power);
    free(vm->tools);
    esx_tree_clear(&vm->tree);
    free(vm);
}

int esx_domain_state(const char *power)
{
    if (!power)
        return SB_DOMAIN_NOSTATE;
    if (strcmp(power, "poweredOn") == 0)
        return SB_DOMAIN_RUNNING;
    if (strcmp(power, "suspended") == 0)
        return SB_DOMAIN_PAUSED; /* as libvirt's ESX driver reports it */
    if (strcmp(power, "poweredOff") == 0)
        return SB_DOMAIN_SHUTOFF;
    return SB_DOMAIN_NOSTATE;
}

/* ---- disks ---- */

struct ctrl {
    long long key, bus;
    const char *kind; /* scsi, ide, sata, nvme */
};

static const char *controller_kind(const char *type)
{
    size_t n = type ? strlen(type) : 0;
    if (!n)
        return NULL;
    if (strcmp(type, "VirtualIDEController") == 0)
        return "ide";
    if (strcmp(type, "VirtualNVMEController") == 0)
        return "nvme";
    if (strcmp(type, "VirtualAHCIController") == 0 || strcmp(type, "VirtualSATAController") == 0)
        return "sata";
    if ((n > 14 && strcmp(type + n - 14, "SCSIController") == 0) ||
        strcmp(type, "VirtualLsiLogicController") == 0 ||
        strcmp(type, "VirtualLsiLogicSASController") == 0 ||
        strcmp(type, "VirtualBusLogicController") == 0)
        return "scsi";
    return NULL;
}

/* libvirt's virIndexToDiskName: 0 -> a, 25 -> z, 26 -> aa. */
static void index_name(char *out, size_t size, const char *prefix, long idx)
{
    char rev[16];
    int n = 0;
    for (long i = idx; i >= 0 && n < 15; i = i / 26 - 1)
        rev[n++] = (char)('a' + i % 26);
    int k = snprintf(out, size, "%s", prefix);
    while (n > 0 && (size_t)k + 1 < size)
        out[k++] = rev[--n];
    out[k] = '\0';
}

void esx_conf_name_disks(esx_conf *conf, const xmlNode *devices)
{
    struct ctrl ctrls[64];
    size_t nctrl = 0;

    for (xmlNode *d = ex_child(devices, NULL); d && nctrl < 64; d = d->next) {
        if (d->type != XML_ELEMENT_NODE)
            continue;
        char *type = ex_xsi_type(d);
        const char *kind = controller_kind(type);
        long long key, bus;
        if (kind && ex_child_ll(d, "key", &key) && ex_child_ll(d, "busNumber", &bus))
            ctrls[nctrl++] = (struct ctrl){ key, bus, kind };
        free(type);
    }
    for (size_t i = 0; i < conf->ndisks; i++) {
        esx_disk *dk = &conf->disks[i];
        const struct ctrl *ct = NULL;
        for (size_t k = 0; k < nctrl; k++)
            if (ctrls[k].key == dk->ctrl_key)
                ct = &ctrls[k];
        long u = dk->unit;
        if (!ct) {
            snprintf(dk->target, sizeof(dk->target), "disk%d", dk->key);
            continue;
        }
        snprintf(dk->bus, sizeof(dk->bus), "%s", ct->kind);
        if (strcmp(ct->kind, "scsi") == 0) /* unit 7 is the controller's own */
            index_name(dk->target, sizeof(dk->target), "sd", (long)ct->bus * 15 + (u < 7 ? u : u - 1));
        else if (strcmp(ct->kind, "ide") == 0)
            index_name(dk->target, sizeof(dk->target), "hd", (long)ct->bus * 2 + u);
        else if (strcmp(ct->kind, "sata") == 0) /* after 4 SCSI controllers' worth */
            index_name(dk->target, sizeof(dk->target), "sd", 60 + (long)ct->bus * 30 + u);
        else
            snprintf(dk->target, sizeof(dk->target), "nvme%lldn%ld", ct->bus, u + 1);
    }
    /* two disks on one slot (a damaged configuration): keep names unique */
    for (size_t i = 0; i < conf->ndisks; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(conf->disks[i].target, conf->disks[j].target) == 0)
                snprintf(conf->disks[i].target, sizeof(conf->disks[i].target), "disk%d",
                         conf->disks[i].key);
}

/* Everything parse_disk and esx_conf_name_disks read (ex_parse keeps
 * no other part of a device).  xsi:type is an attribute: always kept. */
const char *const esx_device_fields[] = { "key",          "busNumber",    "controllerKey",
                                          "unitNumber",   "capacityInKB", "backing",
                                          NULL };
const char *const esx_backing_fields[] = { "fileName", "diskMode", "compatibilityMode", NULL };

static int parse_disk(const xmlNode *d, esx_disk *dk)
{
    long long v;
    xmlNode *backing = ex_child(d, "backing");
    char *btype = ex_xsi_type(backing);

    memset(dk, 0, sizeof(*dk));
    dk->key = ex_child_ll(d, "key", &v) ? (int)v : 0;
    dk->ctrl_key = ex_child_ll(d, "controllerKey", &v) ? (int)v : -1;
    dk->unit = ex_child_ll(d, "unitNumber", &v) ? (int)v : 0;
    dk->capacity_kb = ex_child_ll(d, "capacityInKB", &v) ? v : 0;
    dk->file = ex_child_text(backing, "fileName");
    dk->mode = ex_child_text(backing, "diskMode");
    dk->rdm = btype && strstr(btype, "RawDiskMapping") != NULL;
    char *compat = dk->rdm ? ex_child_text(backing, "compatibilityMode") : NULL;
    /* vSphere leaves independent disks and physical-mode raw device
     * mappings out of every snapshot */
    dk->excluded = (dk->mode && strncmp(dk->mode, "independent", 11) == 0) ||
                   (compat && strcmp(compat, "physicalMode") == 0);
    free(compat);
    free(btype);
    return 0;
}

static int parse_devices(esx_conn *c, esx_conf *conf, const xmlNode *val)
{
    size_t n = 0;
    for (xmlNode *d = ex_child(val, NULL); d; d = d->next) {
        char *t = d->type == XML_ELEMENT_NODE ? ex_xsi_type(d) : NULL;
        n += t && strcmp(t, "VirtualDisk") == 0;
        free(t);
    }
    disks_free(conf);
    free(conf->devices_text);
    conf->devices_text = NULL;
    if (!(conf->disks = calloc(n + 1, sizeof(*conf->disks))))
        return esx_oom(c);
    for (xmlNode *d = ex_child(val, NULL); d; d = d->next) {
        char *t = d->type == XML_ELEMENT_NODE ? ex_xsi_type(d) : NULL;
        if (t && strcmp(t, "VirtualDisk") == 0 && conf->ndisks < n)
            parse_disk(d, &conf->disks[conf->ndisks++]);
        free(t);
    }
    esx_conf_name_disks(conf, val);
    return 0;
}

static int set_text(esx_conn *c, char **field, const xmlNode *val)
{
    free(*field);
    return (*field = ex_text(val)) ? 0 : esx_oom(c);
}

int esx_conf_apply(esx_conn *c, esx_conf *conf, const char *path, const xmlNode *val)
{
    char *t;
    if (strcmp(path, "name") == 0)
        return set_text(c, &conf->name, val);
    if (strcmp(path, "uuid") == 0)
        return set_text(c, &conf->uuid, val);
    if (strcmp(path, "instanceUuid") == 0)
        return set_text(c, &conf->instance_uuid, val);
    if (strcmp(path, "changeVersion") == 0)
        return set_text(c, &conf->change_version, val);
    if (strcmp(path, "hardware.memoryMB") == 0 || strcmp(path, "hardware.numCPU") == 0) {
        if (!(t = ex_text(val)))
            return esx_oom(c);
        long long v = strtoll(t, NULL, 10);
        free(t);
        if (path[9] == 'm')
            conf->memory_mb = v;
        else
            conf->ncpus = (int)v;
        return 0;
    }
    if (strcmp(path, "hardware.device") == 0)
        return parse_devices(c, conf, val);
    return 0;
}

int esx_conf_apply_prop(esx_conn *c, esx_conf *conf, const esx_prop *p)
{
    if (p->deferred && strcmp(p->name, "config.hardware.device") == 0) {
        char *text = strdup(p->deferred);
        if (!text)
            return esx_oom(c);
        free(conf->devices_text);
        conf->devices_text = text;
        return 0;
    }
    return esx_conf_apply(c, conf, p->name + 7, p->val);
}

/* dst's disks become a copy of src's; -1: out of memory (dst keeps
 * what was copied, for esx_conf_clear). */
static int disks_copy(esx_conf *dst, const esx_conf *src)
{
    disks_free(dst);
    if (!(dst->disks = calloc(src->ndisks + 1, sizeof(*dst->disks))))
        return -1;
    for (size_t i = 0; i < src->ndisks; i++) {
        esx_disk *d = &dst->disks[dst->ndisks++];
        *d = src->disks[i];
        d->file = d->mode = NULL;
        if ((src->disks[i].file && !(d->file = strdup(src->disks[i].file))) ||
            (src->disks[i].mode && !(d->mode = strdup(src->disks[i].mode))))
            return -1;
    }
    return 0;
}

static int same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The memo is the configuration of conf's VM at conf's version. */
static int memo_is(const esx_conn *c, const esx_conf *conf)
{
    return conf->change_version && *conf->change_version && same_str(c->memo_vm, conf->vm) &&
           same_str(c->memo_cv, conf->change_version);
}

int esx_conf_known(const esx_conn *c, const esx_vm *vm)
{
    return vm && memo_is(c, &vm->conf);
}

/* What a light read leaves out besides the disks (uuids, memory, vCPUs),
 * from src into dst; -1 when out of memory. */
static int conf_ids_copy(esx_conf *dst, const esx_conf *src)
{
    free(dst->uuid);
    free(dst->instance_uuid);
    dst->uuid = esx_strdup(src->uuid);
    dst->instance_uuid = esx_strdup(src->instance_uuid);
    dst->memory_mb = src->memory_mb;
    dst->ncpus = src->ncpus;
    return (src->uuid && !dst->uuid) || (src->instance_uuid && !dst->instance_uuid) ? -1 : 0;
}

/* The memo is the configuration of conf's VM at conf's version: its
 * disks are conf's already, the rest is taken here (conf without a VM or
 * a version: not known). */
static void memo_key(esx_conn *c, const esx_conf *conf)
{
    esx_conf *m = &c->devices_memo;
    free(c->memo_vm);
    free(c->memo_cv);
    c->memo_vm = c->memo_cv = NULL;
    if (!conf || !conf->vm || !conf->change_version || !*conf->change_version)
        return;
    if (conf_ids_copy(m, conf) < 0)
        return; /* only a memo */
    if (!(c->memo_vm = strdup(conf->vm)) || !(c->memo_cv = strdup(conf->change_version))) {
        free(c->memo_vm);
        c->memo_vm = NULL;
    }
}

/* A light read's configuration from the memo (memo_is). */
static int conf_from_memo(esx_conn *c, esx_conf *conf)
{
    const esx_conf *m = &c->devices_memo;
    if (conf_ids_copy(conf, m) < 0 || disks_copy(conf, m) < 0)
        return esx_oom(c);
    conf->unread = 0;
    return 0;
}

/* The configuration of a VM whose read left it out, read again (with
 * the version it is of). */
static int read_conf_again(esx_conn *c, esx_conf *conf)
{
    static const char spec_head[] =
        "<propSet><type>VirtualMachine</type><all>false</all>" VM_PATH("config.uuid")
        VM_PATH("config.instanceUuid") VM_PATH("config.hardware.memoryMB")
        VM_PATH("config.hardware.numCPU") VM_PATH("config.changeVersion")
        VM_PATH("config.hardware.device") "</propSet>";
    esx_buf spec = { 0 };
    esx_result res;

    eb_add(&spec, spec_head, sizeof(spec_head) - 1);
    int rc = esx_retrieve_one(c, &spec, "VirtualMachine", conf->vm, &res);
    if (rc < 0)
        return esx_fault_is(c, "ManagedObjectNotFound")
                   ? esx_error(c, SB_ERR_NO_DOMAIN, "esx: VM %s is gone from %s", conf->vm,
                               c->display)
                   : rc;
    esx_ref ref = { .type = (char *)"VirtualMachine", .value = conf->vm };
    const esx_obj *o = esx_result_find(&res, &ref);
    if (!o) {
        esx_result_clear(&res);
        return esx_error(c, SB_ERR_NO_DOMAIN, "esx: VM %s is gone from %s", conf->vm,
                         c->display);
    }
    /* what the answer leaves out is absent now (an empty device list) */
    disks_free(conf);
    free(conf->devices_text);
    conf->devices_text = NULL;
    free(conf->change_version);
    conf->change_version = NULL;
    for (size_t i = 0; i < o->nprops && rc == 0; i++)
        rc = esx_conf_apply_prop(c, conf, &o->props[i]);
    esx_result_clear(&res);
    if (rc == 0)
        conf->unread = 0;
    return rc;
}

/* The device list read last is kept with its disks: a VM's devices
 * rarely change between two reads (a snapshot round trip on ESXi moves
 * the disks to delta files and back), and the same text gives the same
 * disks without parsing it again.  A read without the configuration
 * takes the kept one when it is of the same VM and version. */
int esx_conf_disks(esx_conn *c, esx_conf *conf)
{
    esx_conf *memo = &c->devices_memo;
    int rc;

    if (conf->unread) {
        if (memo_is(c, conf))
            return conf_from_memo(c, conf);
        if ((rc = read_conf_again(c, conf)) < 0)
            return rc;
    }
    if (!conf->devices_text)
        return 0;
    if (memo->devices_text && strcmp(memo->devices_text, conf->devices_text) == 0) {
        if (disks_copy(conf, memo) < 0)
            return esx_oom(c);
        free(conf->devices_text);
        conf->devices_text = NULL;
        if (conf->vm) /* a snapshot's list names no VM: the key stays */
            memo_key(c, conf);
        return 0;
    }
    char *text = conf->devices_text;
    xmlDoc *doc = ex_parse(text, strlen(text), &c->parser);
    xmlNode *val = doc ? ex_child(xmlDocGetRootElement(doc), "val") : NULL;
    conf->devices_text = NULL; /* parse_devices would free it */
    rc = val ? parse_devices(c, conf, val)
             : esx_error(c, SB_ERR_HYPERVISOR,
                         "esx: the device list %s sent for '%s' is not well-formed XML",
                         c->display, conf->name ? conf->name : "a VM");
    xmlFreeDoc(doc);
    if (rc < 0) {
        conf->devices_text = text;
        return rc;
    }
    esx_conf_clear(memo);
    memo->devices_text = text;
    if (disks_copy(memo, conf) < 0)
        esx_conf_clear(memo); /* only a memo */
    memo_key(c, memo->devices_text ? conf : NULL);
    return 0;
}

/* ---- the snapshot tree ---- */

static int add_tree_node(esx_conn *c, esx_tree *t, const xmlNode *n, long parent, int depth)
{
    if (depth > 1000)
        return esx_error(c, SB_ERR_HYPERVISOR, "esx: snapshot tree deeper than 1000 levels");
    esx_snap *nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
    if (!nv)
        return esx_oom(c);
    t->v = nv;
    long me = (long)t->n;
    esx_snap *s = &t->v[t->n++];
    memset(s, 0, sizeof(*s));
    s->parent = parent;
    char *when;
    if (ex_ref(ex_child(n, "snapshot"), &s->ref) < 0 || !(s->name = ex_child_text(n, "name")))
        return esx_oom(c);
    s->desc = ex_child_text(n, "description");
    s->state = ex_child_text(n, "state");
    if (!s->desc && !(s->desc = strdup("")))
        return esx_oom(c);
    ex_child_ll(n, "id", &s->id);
    s->quiesced = ex_child_true(n, "quiesced");
    if ((when = ex_child_text(n, "createTime")) && ex_parse_time(when, &s->ctime) < 0)
        s->ctime = 0;
    free(when);
    if (parent >= 0)
        t->v[parent].nchildren++;
    for (xmlNode *ch = ex_child(n, "childSnapshotList"); ch; ch = ex_next(ch)) {
        int rc = add_tree_node(c, t, ch, me, depth + 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int esx_tree_parse(esx_conn *c, const xmlNode *val, esx_tree *out)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    out->current_idx = -1;
    if (!val)
        return 0; /* no "snapshot" property: no snapshots */
    for (xmlNode *r = ex_child(val, "rootSnapshotList"); r && rc == 0; r = ex_next(r))
        rc = add_tree_node(c, out, r, -1, 0);
    xmlNode *cur = ex_child(val, "currentSnapshot");
    if (rc == 0 && cur && ex_ref(cur, &out->current) < 0)
        rc = esx_oom(c);
    for (size_t i = 0; rc == 0 && out->current.value && i < out->n; i++)
        if (esx_ref_eq(&out->v[i].ref, &out->current))
            out->current_idx = (long)i;
    if (rc < 0)
        esx_tree_clear(out);
    return rc;
}

long esx_tree_find(const esx_tree *t, const char *name)
{
    long found = -1;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) != 0)
            continue;
        if (found >= 0)
            return -2;
        found = (long)i;
    }
    return found;
}

/* ---- the read ---- */

int esx_vm_from_obj(esx_conn *c, const esx_obj *o, int light, esx_vm **out)
{
    esx_vm *vm = calloc(1, sizeof(*vm));
    int rc = 0;

    *out = NULL;
    if (!vm || esx_ref_set(&vm->ref, o->ref.type, o->ref.value) < 0 ||
        !(vm->conf.vm = strdup(o->ref.value))) {
        esx_vm_free(vm);
        return esx_oom(c);
    }
    vm->conf.unread = light;
    vm->tree.current_idx = -1;
    vm->changes = ESX_GEN_NONE; /* the caller says when it was taken */
    for (size_t i = 0; i < o->nprops && rc == 0; i++) {
        const char *n = o->props[i].name;
        const xmlNode *v = o->props[i].val;
        if (strcmp(n, "name") == 0)
            rc = set_text(c, &vm->conf.name, v);
        else if (strcmp(n, "config.template") == 0)
            vm->template_vm = ex_is_true(v);
        else if (strncmp(n, "config.", 7) == 0)
            rc = esx_conf_apply_prop(c, &vm->conf, &o->props[i]);
        else if (strcmp(n, "runtime.powerState") == 0)
            rc = set_text(c, &vm->power, v);
        else if (strcmp(n, "runtime.consolidationNeeded") == 0)
            vm->consolidation_needed = ex_is_true(v);
        else if (strcmp(n, "guest.toolsRunningStatus") == 0)
            rc = set_text(c, &vm->tools, v);
        else if (strcmp(n, "snapshot") == 0)
            rc = esx_tree_parse(c, v, &vm->tree);
    }
    if (rc < 0) {
        esx_vm_free(vm);
        return rc;
    }
    vm->read_ms = esx_now_ms();
    *out = vm;
    return 0;
}

static int read_vm(esx_conn *c, const esx_ref *ref, esx_vm **out)
{
    esx_buf spec = { 0 };
    esx_result res;
    int rc;

    *out = NULL;
    esx_vm_propset(&spec, 1);
    rc = esx_retrieve_one(c, &spec, ref->type, ref->value, &res);
    if (rc < 0)
        return rc;
    const esx_obj *o = esx_result_find(&res, ref);
    if (!o)
        rc = esx_error(c, SB_ERR_NO_DOMAIN, "esx: VM %s is gone from %s", ref->value, c->display);
    else
        rc = esx_vm_from_obj(c, o, 0, out);
    esx_result_clear(&res);
    return rc;
}

int esx_vm_read(esx_conn *c, const esx_ref *ref, esx_vm **out)
{
    /* before the read: a change made meanwhile counts after it */
    uint64_t changes = c->cache_ms ? esx_changes_now(c) : ESX_GEN_NONE;
    int rc = read_vm(c, ref, out);
    if (rc == 0)
        (*out)->changes = changes;
    return rc;
}

void esx_vm_cache(esx_conn *c, esx_vm *vm)
{
    if (c->cached != vm)
        esx_vm_free(c->cached);
    c->cached = vm;
}

int esx_vm_get(esx_conn *c, const char *domain, int fresh, esx_vm **out)
{
    int by_name = esx_domain_is_name(domain);
    esx_ref ref = { 0 };
    esx_vm *vm = NULL;
    int rc;

    *out = NULL;
    for (int attempt = 0;; attempt++) {
        if ((rc = esx_vm_lookup(c, domain, &ref)) < 0)
            return rc;
        if (!fresh && c->cached && esx_ref_eq(&c->cached->ref, &ref) &&
            esx_now_ms() - c->cached->read_ms < (double)c->cache_ms &&
            c->cached->changes != ESX_GEN_NONE && c->cached->changes == esx_changes_now(c)) {
            esx_ref_clear(&ref);
            *out = c->cached;
            return 0;
        }
        rc = esx_vm_read(c, &ref, &vm);
        esx_ref_clear(&ref);
        int gone = rc == -SB_ERR_NO_DOMAIN || (rc < 0 && esx_fault_is(c, "ManagedObjectNotFound"));
        int renamed = rc == 0 && by_name && vm->conf.name && strcmp(vm->conf.name, domain) != 0;
        if (!gone && !renamed)
            break;
        esx_vm_free(vm);
        vm = NULL;
        /* The listing that named this VM is out of date (the VM was
         * removed or renamed since): list again, once. */
        if (!by_name || attempt > 0)
            return esx_error(c, SB_ERR_NO_DOMAIN, "esx: no domain named '%s' on %s", domain,
                             c->display);
        c->vms_valid = 0;
    }
    if (rc < 0)
        return rc;
    esx_vm_cache(c, vm);
    *out = vm;
    return 0;
}

/* ---- what a snapshot kept ---- */

static int conf_copy(esx_conf *dst, const esx_conf *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->memory_mb = src->memory_mb;
    dst->ncpus = src->ncpus;
    if ((src->name && !(dst->name = strdup(src->name))) ||
        (src->uuid && !(dst->uuid = strdup(src->uuid))) ||
        (src->instance_uuid && !(dst->instance_uuid = strdup(src->instance_uuid))) ||
        (src->devices_text && !(dst->devices_text = strdup(src->devices_text))))
        return -1;
    return disks_copy(dst, src);
}

static esx_snapconf_cache *snapconf_slot(esx_conn *c)
{
    esx_snapconf_cache *slot = &c->snapconf[c->snapconf_next];
    c->snapconf_next = (c->snapconf_next + 1) % ESX_SNAPCONF_CACHE;
    free(slot->ref);
    slot->ref = NULL;
    esx_conf_clear(&slot->conf);
    return slot;
}

void esx_snapshot_conf_prime(esx_conn *c, const char *ref, const esx_conf *conf)
{
    esx_snapconf_cache *slot = snapconf_slot(c);
    if (!(slot->ref = strdup(ref)) || conf_copy(&slot->conf, conf) < 0) {
        free(slot->ref); /* only a cache: it is read when asked for */
        slot->ref = NULL;
        esx_conf_clear(&slot->conf);
    }
}

int esx_snapshot_conf(esx_conn *c, const esx_snap *s, esx_conf **out)
{
    static const char *const paths[] = { "config.name", "config.uuid", "config.hardware.memoryMB",
                                         "config.hardware.numCPU", "config.hardware.device" };
    esx_buf spec = { 0 };
    esx_result res;
    int rc;

    *out = NULL;
    for (size_t i = 0; i < ESX_SNAPCONF_CACHE; i++) {
        if (c->snapconf[i].ref && strcmp(c->snapconf[i].ref, s->ref.value) == 0) {
            *out = &c->snapconf[i].conf;
            return 0;
        }
    }
    eb_adds(&spec, "<propSet><type>VirtualMachineSnapshot</type><all>false</all>");
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        eb_elem(&spec, "pathSet", paths[i]);
    eb_adds(&spec, "</propSet>");
    rc = esx_retrieve_one(c, &spec, s->ref.type, s->ref.value, &res);
    if (rc < 0) {
        if (esx_fault_is(c, "ManagedObjectNotFound"))
            return esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT,
                             "esx: snapshot '%s' (%s) was removed meanwhile", s->name,
                             s->ref.value);
        return rc;
    }
    esx_snapconf_cache *slot = snapconf_slot(c);
    if (!(slot->ref = strdup(s->ref.value))) {
        esx_result_clear(&res);
        return esx_oom(c);
    }
    const esx_obj *o = esx_result_find(&res, &s->ref);
    for (size_t i = 0; o && i < o->nprops && rc == 0; i++)
        if (strncmp(o->props[i].name, "config.", 7) == 0)
            rc = esx_conf_apply_prop(c, &slot->conf, &o->props[i]);
    esx_result_clear(&res);
    if (rc < 0) {
        free(slot->ref);
        slot->ref = NULL;
        esx_conf_clear(&slot->conf);
        return rc;
    }
    *out = &slot->conf;
    return 0;
}
