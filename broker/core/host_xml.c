/* XML host services: the broker's snapshot and domain models handed to
 * plugins as plain read-only views (plugin.h), and a view formatted back
 * into canonical XML.  Each view is one "holder" that owns every string
 * and array the view points at, so *_view_free is a single walk. */
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "core/snap.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

struct snapshot_holder {
    struct sb_snapshot_view v; /* first: the view pointer is the holder */
    struct sb_snapshot_disk_view *disks;
    struct sb_snapshot_disk_view *revert_disks;
    char *domain_xml;
    char *inactive_domain_xml;
};

struct domain_holder {
    struct sb_domain_view v;
    struct sb_domain_disk_view *disks;
    sb_domdef *def; /* the strings of the view point into it */
};

/* Snapshot disk type -> the ABI's enum sb_disk_type. */
static int abi_snapdisk_type(int t)
{
    switch (t) {
    case SB_SNAPDISK_BLOCK: return SB_DISK_TYPE_BLOCK;
    case SB_SNAPDISK_NETWORK: return SB_DISK_TYPE_NETWORK;
    default: return SB_DISK_TYPE_FILE;
    }
}

static int snapdisk_type_from_abi(int t)
{
    switch (t) {
    case SB_DISK_TYPE_BLOCK: return SB_SNAPDISK_BLOCK;
    case SB_DISK_TYPE_NETWORK: return SB_SNAPDISK_NETWORK;
    default: return SB_SNAPDISK_FILE;
    }
}

static int abi_domdisk_type(int t)
{
    switch (t) {
    case SB_DOMDISK_FILE: return SB_DISK_TYPE_FILE;
    case SB_DOMDISK_BLOCK: return SB_DISK_TYPE_BLOCK;
    case SB_DOMDISK_NETWORK: return SB_DISK_TYPE_NETWORK;
    default: return 0;
    }
}

static const char *domdisk_device_name(int d)
{
    switch (d) {
    case SB_DOMDISK_CDROM: return "cdrom";
    case SB_DOMDISK_LUN: return "lun";
    case SB_DOMDISK_FLOPPY: return "floppy";
    default: return "disk";
    }
}

int sb_snap_print_domain(const xmlDoc *doc, const char *root_name, char **out)
{
    sb_buf b = { 0 };
    xmlNode *root = xmlDocGetRootElement(doc);
    const xmlChar *saved = root->name;

    /* Plugins get <inactiveDomain> as a plain <domain> document. */
    if (root_name)
        root->name = (const xmlChar *)root_name;
    sb_xml_print_node(&b, root, 0, 0);
    if (root_name)
        root->name = saved;
    return sb_buf_finish(&b, out);
}

static void disk_views(struct sb_snapshot_disk_view *out, const sb_snapdisk *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct sb_snapshot_disk_view){
            .name = in[i].name,
            .snapshot = in[i].snapshot,
            .type = abi_snapdisk_type(in[i].type),
            .source = in[i].src_path,
            .driver_type = in[i].driver_type,
            .delete_in_progress = in[i].delete_in_progress,
        };
}

/* The holder keeps the parsed definition alive through this pointer. */
struct snapshot_holder_full {
    struct snapshot_holder h;
    sb_snapdef *def;
};

static void snapshot_view_free(struct sb_snapshot_view *v)
{
    struct snapshot_holder_full *f = (struct snapshot_holder_full *)v;
    if (!f)
        return;
    free(f->h.disks);
    free(f->h.revert_disks);
    free(f->h.domain_xml);
    free(f->h.inactive_domain_xml);
    sb_snapdef_free(f->def);
    free(f);
}

static int snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    struct snapshot_holder_full *f;
    int rc;

    (void)h;
    *out = NULL;
    if (!xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "snapshot_view: no XML");
    if (!(f = calloc(1, sizeof(*f))))
        return sb_error_oom();
    if ((rc = sb_snapdef_parse(xml, strlen(xml), "snapshot", SB_SNAP_PARSE_REDEFINE, &f->def)) < 0)
        goto fail;
    const sb_snapdef *d = f->def;
    if ((d->ndisks && !(f->h.disks = calloc(d->ndisks, sizeof(*f->h.disks)))) ||
        (d->nrevert_disks &&
         !(f->h.revert_disks = calloc(d->nrevert_disks, sizeof(*f->h.revert_disks))))) {
        rc = sb_error_oom();
        goto fail;
    }
    disk_views(f->h.disks, d->disks, d->ndisks);
    disk_views(f->h.revert_disks, d->revert_disks, d->nrevert_disks);
    if ((d->domain && (rc = sb_snap_print_domain(d->domain, NULL, &f->h.domain_xml)) < 0) ||
        (d->inactive_domain &&
         (rc = sb_snap_print_domain(d->inactive_domain, "domain", &f->h.inactive_domain_xml)) < 0))
        goto fail;
    f->h.v = (struct sb_snapshot_view){
        .struct_size = sizeof(struct sb_snapshot_view),
        .name = d->name,
        .description = d->description,
        .parent = d->parent,
        .state = d->state,
        .creation_time = d->creation_time,
        .memory = d->memory,
        .memory_file = d->memory_file,
        .ndisks = d->ndisks,
        .disks = f->h.disks,
        .nrevert_disks = d->nrevert_disks,
        .revert_disks = f->h.revert_disks,
        .domain_xml = f->h.domain_xml,
        .inactive_domain_xml = f->h.inactive_domain_xml,
        .external = sb_snapdef_is_external(d),
    };
    *out = &f->h.v;
    return 0;
fail:
    snapshot_view_free(&f->h.v);
    return rc;
}

static int copy_str(char **dst, const char *src)
{
    if (!src)
        return 0;
    if (!(*dst = strdup(src)))
        return sb_error_oom();
    return 0;
}

static int disks_from_views(sb_snapdisk **out, size_t *nout,
                            const struct sb_snapshot_disk_view *in, size_t n)
{
    int rc;

    if (!n)
        return 0;
    if (!(*out = calloc(n, sizeof(**out))))
        return sb_error_oom();
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        sb_snapdisk *d = &(*out)[i];
        d->snapshot = in[i].snapshot;
        d->type = snapdisk_type_from_abi(in[i].type);
        d->delete_in_progress = in[i].delete_in_progress;
        if ((rc = copy_str(&d->name, in[i].name)) < 0 ||
            (rc = copy_str(&d->driver_type, in[i].driver_type)) < 0 ||
            (in[i].source && (rc = sb_snapdisk_set_path(d, in[i].source)) < 0))
            return rc;
    }
    return 0;
}

/* <inactiveDomain> from a plain domain document. */
static int set_inactive_domain(sb_snapdef *def, const char *domain_xml)
{
    xmlDoc *doc = NULL;
    int rc = sb_xml_read(domain_xml, strlen(domain_xml), "inactive domain", &doc);
    if (rc < 0)
        return rc;
    xmlNodeSetName(xmlDocGetRootElement(doc), (const xmlChar *)"inactiveDomain");
    def->inactive_domain = doc;
    return 0;
}

static int snapshot_format(sb_host *h, const struct sb_snapshot_view *v, char **out_xml)
{
    sb_snapdef *def = sb_snapdef_new();
    int rc;

    (void)h;
    *out_xml = NULL;
    if (!def)
        return sb_error_oom();
    if (!v || !v->name) {
        rc = sb_error_set(SB_ERR_INVALID_ARG, "snapshot_format: a view needs a name");
        goto out;
    }
    def->state = v->state;
    def->creation_time = v->creation_time;
    def->has_creation_time = true;
    def->memory = v->memory;
    if ((rc = copy_str(&def->name, v->name)) < 0 ||
        (rc = copy_str(&def->description, v->description)) < 0 ||
        (rc = copy_str(&def->parent, v->parent)) < 0 ||
        (rc = copy_str(&def->memory_file, v->memory_file)) < 0 ||
        (rc = disks_from_views(&def->disks, &def->ndisks, v->disks, v->ndisks)) < 0 ||
        (rc = disks_from_views(&def->revert_disks, &def->nrevert_disks, v->revert_disks,
                               v->nrevert_disks)) < 0 ||
        (v->domain_xml && (rc = sb_snapdef_set_domain(def, v->domain_xml)) < 0) ||
        (v->inactive_domain_xml && (rc = set_inactive_domain(def, v->inactive_domain_xml)) < 0))
        goto out;
    rc = sb_snapdef_format(def, SB_SNAP_FORMAT_SECURE, out_xml);
out:
    sb_snapdef_free(def);
    return rc;
}

static void domain_view_free(struct sb_domain_view *v)
{
    struct domain_holder *hd = (struct domain_holder *)v;
    if (!hd)
        return;
    free(hd->disks);
    sb_domdef_free(hd->def);
    free(hd);
}

static int domain_view(sb_host *h, const char *domain_xml, struct sb_domain_view **out)
{
    struct domain_holder *hd;
    int rc;

    (void)h;
    *out = NULL;
    if (!domain_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "domain_view: no XML");
    if (!(hd = calloc(1, sizeof(*hd))))
        return sb_error_oom();
    if ((rc = sb_domdef_parse(domain_xml, strlen(domain_xml), &hd->def)) < 0)
        goto fail;
    const sb_domdef *d = hd->def;
    if (d->ndisks && !(hd->disks = calloc(d->ndisks, sizeof(*hd->disks)))) {
        rc = sb_error_oom();
        goto fail;
    }
    for (size_t i = 0; i < d->ndisks; i++) {
        const sb_domdisk *k = &d->disks[i];
        hd->disks[i] = (struct sb_domain_disk_view){
            .target = k->target,
            .bus = k->bus,
            .device = domdisk_device_name(k->device),
            .type = abi_domdisk_type(k->type),
            .source = k->src_path,
            .driver_type = k->driver_type,
            .snapshot = k->snapshot,
            .readonly = k->readonly,
            .shareable = k->shareable,
        };
    }
    hd->v = (struct sb_domain_view){
        .struct_size = sizeof(struct sb_domain_view),
        .name = d->name,
        .uuid = d->uuid,
        .type = d->type,
        .ndisks = d->ndisks,
        .disks = hd->disks,
    };
    *out = &hd->v;
    return 0;
fail:
    domain_view_free(&hd->v);
    return rc;
}

void sb_api_install_xml_ops(void)
{
    static const struct sb_host_xml_ops ops = {
        .snapshot_view = snapshot_view,
        .snapshot_view_free = snapshot_view_free,
        .snapshot_format = snapshot_format,
        .domain_view = domain_view,
        .domain_view_free = domain_view_free,
    };
    sb_host_set_xml_ops(&ops);
}
