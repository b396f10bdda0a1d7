/* vbox plugin - REDEFINE and CURRENT: a snapshot tree rebuilt from
 * snapshot XML (how a hierarchy moves between hosts: copy the images,
 * then redefine each snapshot, parents first, the last one CURRENT).
 *
 * An existing snapshot (the one the XML's <domain> metadata names, else
 * the only one with that name) gets the description, time and name of the
 * XML; it cannot move in the tree.  A new one is added under its parent
 * (one root per machine) with the state of its parent (or of the machine)
 * and the XML's memory, vCPUs and disk images: each <domain> disk source
 * is the snapshot's image, registered from its VDI header when the
 * registry lacks it.  CURRENT makes the snapshot current; a new one's
 * machine disks are the images that followed the snapshot (the plugin's
 * <metadata>, domain_xml.c), and they must descend from the snapshot's
 * images: VirtualBox
 * keeps the current state on the current snapshot's images, and only a
 * revert may discard a current state. */
#include "vb.h"
#include "ops.h"
#include "settings.h"
#include "vdi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#define VB_DEPTH_MAX 250

/* The registered medium at path (same file), or -1. */
static long medium_at(const vb_machine *m, const char *path)
{
    char want[PATH_MAX], have[PATH_MAX];
    int real = realpath(path, want) != NULL;
    for (size_t i = 0; i < m->nmedia; i++) {
        if (m->media[i].kind != VB_MEDIUM_HDD)
            continue;
        if (strcmp(m->media[i].path, path) == 0 ||
            (real && realpath(m->media[i].path, have) && strcmp(want, have) == 0))
            return (long)i;
    }
    return -1;
}

static char *location_in(const vb_machine *m, const char *path)
{
    size_t n = strlen(m->dir);
    if (strncmp(path, m->dir, n) == 0 && path[n] == '/')
        return strdup(path + n + 1);
    return strdup(path);
}

/* Make the image at path known to the registry (in the document and in
 * the model's terms): registered already, or a VDI whose header names a
 * registered parent (or none: a new base).  *uuid gets its UUID. */
static int register_image(vb_ctx *ctx, vb_doc *d, const char *target, const char *path,
                          char uuid[VB_UUID_LEN], char parent_out[VB_UUID_LEN])
{
    long i = medium_at(d->m, path);
    vb_vdi *v = NULL;
    int rc;
    parent_out[0] = '\0';
    if (i >= 0) {
        memcpy(uuid, d->m->media[i].uuid, VB_UUID_LEN);
        if (d->m->media[i].parent >= 0)
            memcpy(parent_out, d->m->media[d->m->media[i].parent].uuid, VB_UUID_LEN);
        return 0;
    }
    if (!vb_file_exists(path))
        return vb_error(ctx, SB_ERR_OPERATION_INVALID, "disk '%s': image '%s' is missing", target,
                        path);
    if ((rc = vb_vdi_open(ctx, path, 0, &v)) < 0)
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "disk '%s': '%s' is neither registered nor a VDI image the plugin can "
                        "register (%s)", target, path, ctx->err_msg);
    vb_uuid_from_bin(v->uuid, uuid);
    int diff = vb_vdi_is_diff(v);
    if (diff)
        vb_uuid_from_bin(v->parent, parent_out);
    vb_vdi_close(v);
    /* the machine's registry before this request has it at another path
     * (a copy of a registered image): attaching the registered file would
     * point the snapshot at other data than the request names */
    if (vb_medium_index(d->m, uuid) >= 0)
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "disk '%s': image '%s' has UUID {%s}, which medium '%s' has already",
                        target, path, uuid, d->m->media[vb_medium_index(d->m, uuid)].path);
    if (vb_doc_harddisk(d->machine, uuid))
        return 0; /* registered by an earlier disk of this same request */
    char *loc = location_in(d->m, path), braced[VB_UUID_LEN + 2];
    if (!loc)
        return vb_oom(ctx);
    snprintf(braced, sizeof braced, "{%s}", uuid);
    if (diff) {
        if (!vb_doc_harddisk(d->machine, parent_out)) {
            free(loc);
            return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                            "disk '%s': the parent {%s} of image '%s' is not in the machine's "
                            "media registry; redefine its snapshot first", target, parent_out,
                            path);
        }
        rc = vb_doc_add_diff(d->machine, parent_out, uuid, loc);
    } else {
        xmlNode *reg = vb_el_child(d->machine, "MediaRegistry"), *disks, *hd;
        if (!reg)
            reg = vb_el_new(d->machine, "MediaRegistry");
        disks = reg ? vb_el_child(reg, "HardDisks") : NULL;
        if (reg && !disks)
            disks = vb_el_new(reg, "HardDisks");
        hd = disks ? vb_el_new(disks, "HardDisk") : NULL;
        rc = !hd || vb_el_set(hd, "uuid", braced) < 0 || vb_el_set(hd, "location", loc) < 0 ||
                     vb_el_set(hd, "format", "VDI") < 0 || vb_el_set(hd, "type", "Normal") < 0
                 ? -1
                 : 0;
    }
    free(loc);
    return rc < 0 ? vb_oom(ctx) : 0;
}

/* <memory> (KiB unless unit says otherwise) and <vcpu> of a domain. */
static void domain_sizes(const char *xml, unsigned long long *ram_mib, unsigned *cpus)
{
    xmlDoc *doc = xml ? xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                      : NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    *ram_mib = 0;
    *cpus = 0;
    for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *t = xmlNodeGetContent(c);
        unsigned long long v = t ? strtoull((const char *)t, NULL, 10) : 0;
        if (strcmp((const char *)c->name, "memory") == 0) {
            xmlChar *unit = xmlGetProp(c, (const xmlChar *)"unit");
            const char *u = unit ? (const char *)unit : "KiB";
            if (strcmp(u, "b") == 0 || strcmp(u, "bytes") == 0)
                v >>= 20;
            else if (strcmp(u, "GiB") == 0 || strcmp(u, "G") == 0)
                v <<= 10;
            else if (strcmp(u, "MiB") != 0 && strcmp(u, "M") != 0)
                v >>= 10; /* KiB, the default */
            *ram_mib = v;
            xmlFree(unit);
        } else if (strcmp((const char *)c->name, "vcpu") == 0) {
            *cpus = (unsigned)v;
        }
        xmlFree(t);
    }
    xmlFreeDoc(doc);
}

static int set_sizes(vb_ctx *ctx, xmlNode *state, const char *domain_xml)
{
    unsigned long long ram;
    unsigned cpus;
    char num[32];
    xmlNode *hw = vb_el_child(state, "Hardware"), *el;
    domain_sizes(domain_xml, &ram, &cpus);
    if (!hw)
        return 0;
    if (ram >= 4) {
        snprintf(num, sizeof num, "%llu", ram);
        if (!(el = vb_el_child(hw, "Memory")) && !(el = vb_el_new(hw, "Memory")))
            return vb_oom(ctx);
        if (vb_el_set(el, "RAMSize", num) < 0)
            return vb_oom(ctx);
    }
    if (cpus >= 1) {
        snprintf(num, sizeof num, "%u", cpus);
        if (!(el = vb_el_child(hw, "CPU")) && !(el = vb_el_new(hw, "CPU")))
            return vb_oom(ctx);
        if (vb_el_set(el, "count", num) < 0)
            return vb_oom(ctx);
    }
    return 0;
}

/* The attachment of hw named target (hda, sdb...), or -1. */
static long attachment_of(vb_ctx *ctx, const vb_hw *hw, const char *target)
{
    char **t = NULL;
    long hit = -1;
    if (vb_disk_targets(ctx, hw, &t) < 0)
        return -1;
    for (size_t i = 0; i < hw->natt; i++)
        if (t[i] && strcmp(t[i], target) == 0)
            hit = (long)i;
    vb_targets_free(t, hw->natt);
    return hit;
}

/* Point the disks of state (whose model is hw) at images: n pairs of
 * disk target and image path. */
static int attach_pairs(vb_ctx *ctx, vb_doc *d, xmlNode *state, const vb_hw *hw,
                        const char *const *targets, const char *const *sources, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char uuid[VB_UUID_LEN], parent[VB_UUID_LEN];
        int rc;
        if (!sources[i] || !targets[i])
            continue;
        long a = attachment_of(ctx, hw, targets[i]);
        if (a < 0)
            return vb_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "disk '%s' of the definition has no attachment in the machine",
                            targets[i]);
        if ((rc = register_image(ctx, d, targets[i], sources[i], uuid, parent)) < 0)
            return rc;
        if (vb_doc_set_image(state, &hw->att[a], uuid) < 0)
            return vb_oom(ctx);
    }
    return 0;
}

/* The snapshot's own images: the <domain>'s hard disks. */
static int attach_domain_disks(vb_ctx *ctx, vb_doc *d, xmlNode *state, const vb_hw *hw,
                               const char *domain_xml)
{
    struct sb_domain_view *dom = NULL;
    int rc = ctx->api->domain_view(ctx->h, domain_xml, &dom);
    if (rc < 0)
        return rc;
    const char **t = calloc(dom->ndisks + 1, sizeof *t), **src = calloc(dom->ndisks + 1, sizeof *src);
    if (!t || !src)
        rc = vb_oom(ctx);
    for (size_t i = 0; rc == 0 && i < dom->ndisks; i++) {
        if (dom->disks[i].device && strcmp(dom->disks[i].device, "disk") != 0)
            continue;
        t[i] = dom->disks[i].target;
        src[i] = dom->disks[i].source;
    }
    if (rc == 0)
        rc = attach_pairs(ctx, d, state, hw, t, src, dom->ndisks);
    free(t);
    free(src);
    ctx->api->domain_view_free(dom);
    return rc;
}

/* The machine's disks: the images that followed the snapshot, as the
 * plugin's metadata names them ("target file"). */
static int attach_overlays(vb_ctx *ctx, vb_doc *d, const vb_strv *overlays)
{
    const char **t = calloc(overlays->n + 1, sizeof *t), **src = calloc(overlays->n + 1, sizeof *src);
    int rc = 0;
    if (!t || !src)
        rc = vb_oom(ctx);
    for (size_t i = 0; rc == 0 && i < overlays->n; i++) {
        char *sp = strchr(overlays->v[i], ' ');
        if (!sp)
            continue;
        *sp = '\0';
        t[i] = overlays->v[i];
        src[i] = sp + 1;
    }
    if (rc == 0)
        rc = attach_pairs(ctx, d, d->machine, &d->m->hw, t, src, overlays->n);
    free(t);
    free(src);
    return rc;
}

/* Does every normal hard disk of the machine's state (in the document)
 * descend from the image the snapshot uses in the same slot? */
static int descends(vb_ctx *ctx, vb_doc *d, const char *snap_uuid)
{
    vb_machine *m = NULL;
    xmlChar *buf = NULL;
    int len = 0, ok = 1;
    /* judge the edited document, not the file */
    xmlDocDumpMemory(d->doc, &buf, &len);
    if (!buf || vb_machine_parse(ctx, (const char *)buf, (size_t)len, d->path, &m) < 0 ||
        vb_global_media(ctx, m) < 0) {
        xmlFree(buf);
        vb_machine_free(m);
        return -1;
    }
    xmlFree(buf);
    const vb_snap *s = &m->snaps[vb_snap_index(m, snap_uuid)];
    for (size_t k = 0; k < s->hw.natt && ok; k++) {
        const vb_attach *a = &s->hw.att[k];
        long x = a->dev == VB_DEV_HDD ? vb_medium_index(m, a->image) : -1;
        if (x < 0 || !vb_medium_snapshotted(m, &m->media[x]))
            continue;
        const vb_attach *o = vb_same_slot(&m->hw, a);
        long y = o ? vb_medium_index(m, o->image) : -1;
        ok = 0;
        for (size_t hops = 0; y >= 0 && hops <= m->nmedia && !ok; hops++) {
            ok = y == x;
            y = m->media[y].parent;
        }
    }
    vb_machine_free(m);
    return ok;
}

static int update_existing(vb_ctx *ctx, vb_doc *d, long si, const struct sb_snapshot_view *v)
{
    const vb_machine *m = d->m;
    const vb_snap *s = &m->snaps[si];
    xmlNode *sn = vb_doc_snapshot(d->machine, s->uuid), *desc;
    char ts[32];
    if (!sn)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "snapshot {%s} vanished", s->uuid);
    if (v->parent) {
        int rc = 0;
        long p = vb_snapshot_lookup(ctx, m, v->parent, &rc);
        if (p != s->parent)
            return vb_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                            "snapshot '%s' cannot move under '%s': VirtualBox's images follow "
                            "the tree", s->name, v->parent);
    } else if (s->parent >= 0) {
        return vb_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "snapshot '%s' cannot become a root: VirtualBox's images follow the tree",
                        s->name);
    }
    vb_time_format(v->creation_time, ts, sizeof ts);
    if (vb_el_set(sn, "name", v->name) < 0 || vb_el_set(sn, "timeStamp", ts) < 0)
        return vb_oom(ctx);
    if ((desc = vb_el_child(sn, "Description"))) {
        xmlUnlinkNode(desc);
        xmlFreeNode(desc);
    }
    if (v->description && *v->description &&
        !xmlNewTextChild(sn, sn->ns, (const xmlChar *)"Description",
                         (const xmlChar *)v->description))
        return vb_oom(ctx);
    return 0;
}

static int add_new(vb_ctx *ctx, vb_doc *d, const struct sb_snapshot_view *v,
                   const vb_xml_meta *meta, char uuid[VB_UUID_LEN])
{
    const vb_machine *m = d->m;
    long p = -1;
    int rc = 0;
    if (v->parent) {
        p = vb_snapshot_lookup(ctx, m, v->parent, &rc);
        /* the caller's order is wrong: INVALID_ARG, as for broker-owned
         * metadata (semantics.md §6.1), not the lookup's class */
        if (p < 0 && rc == -SB_ERR_OPERATION_INVALID)
            return vb_error(ctx, SB_ERR_INVALID_ARG,
                            "parent snapshot '%s' of '%s' must be redefined first", v->parent,
                            v->name);
        if (p < 0)
            return rc;
        if (m->snaps[p].depth >= VB_DEPTH_MAX)
            return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                            "snapshot '%s' would exceed VirtualBox's maximum snapshot depth (%d)",
                            v->name, VB_DEPTH_MAX);
    } else if (m->nsnaps) {
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "domain '%s' already has a root snapshot ('%s'); a VirtualBox machine has "
                        "one root only", m->name, m->snaps[0].name);
    }
    if (meta->uuid[0] && vb_snap_index(m, meta->uuid) < 0)
        memcpy(uuid, meta->uuid, VB_UUID_LEN);
    else
        vb_uuid_generate(uuid);
    xmlNode *pn = p >= 0 ? vb_doc_snapshot(d->machine, m->snaps[p].uuid) : NULL;
    xmlNode *sn = vb_doc_new_snapshot(d->machine, pn, uuid, v->name, v->description,
                                      v->creation_time);
    if (!sn || vb_doc_copy_state(pn ? pn : d->machine, sn) < 0)
        return vb_oom(ctx);
    if (meta->state_file) {
        char *sav = vb_path_join(m->dir, meta->state_file);
        rc = !sav ? vb_oom(ctx)
             : !vb_file_exists(sav)
                 ? vb_error(ctx, SB_ERR_OPERATION_INVALID,
                            "saved state '%s' of snapshot '%s' is missing", sav, v->name)
             : vb_el_set(sn, "stateFile", meta->state_file) < 0 ? vb_oom(ctx)
                                                                 : 0;
        free(sav);
        if (rc < 0)
            return rc;
    }
    if ((rc = set_sizes(ctx, sn, v->domain_xml)) < 0)
        return rc;
    if (!v->domain_xml)
        return 0;
    return attach_domain_disks(ctx, d, sn, p >= 0 ? &m->snaps[p].hw : &m->hw, v->domain_xml);
}

int vb_op_redefine(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags)
{
    struct sb_snapshot_view *v = NULL;
    vb_xml_meta meta;
    char uuid[VB_UUID_LEN];
    vb_doc d;
    int rc;

    if (!ctx->api || !ctx->api->snapshot_view || !ctx->api->domain_view)
        return vb_error(ctx, SB_ERR_INTERNAL_ERROR, "redefine needs the broker's XML services");
    if ((rc = ctx->api->snapshot_view(ctx->h, xml, &v)) < 0)
        return rc;
    if (vb_xml_read(xml, &meta) < 0) {
        ctx->api->snapshot_view_free(v);
        return vb_error(ctx, SB_ERR_XML_ERROR, "snapshot definition is not XML");
    }
    if ((rc = vb_doc_open(ctx, settings_path, &d)) < 0) {
        ctx->api->snapshot_view_free(v);
        vb_xml_meta_free(&meta);
        return rc;
    }
    const vb_machine *m = d.m;
    if ((rc = vb_doc_dom(ctx, &d)) < 0)
        goto out;
    if ((rc = vb_writable(ctx, m, "redefining snapshots of")) == 1)
        rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                      "machine '%s' is in VirtualBox's hands right now; redefining snapshots "
                      "edits its settings file, which needs VirtualBox (and VBoxSVC) stopped",
                      m->name);
    if (rc < 0)
        goto out;
    long si = meta.uuid[0] ? vb_snap_index(m, meta.uuid) : -1;
    if (si < 0) {
        for (size_t i = 0; i < m->nsnaps; i++)
            if (strcmp(m->snaps[i].name, v->name) == 0) {
                int lrc;
                si = vb_snapshot_lookup(ctx, m, v->name, &lrc); /* ambiguity is an error */
                if (si < 0)
                    rc = lrc;
                break;
            }
        if (rc < 0)
            goto out;
    }
    if (si >= 0) {
        memcpy(uuid, m->snaps[si].uuid, VB_UUID_LEN);
        rc = update_existing(ctx, &d, si, v);
    } else {
        rc = add_new(ctx, &d, v, &meta, uuid);
    }
    /* a machine with snapshots always has a current one (VirtualBox
     * refuses settings without): the first snapshot redefined becomes it */
    if (rc == 0 && !(flags & SB_SNAPSHOT_CREATE_CURRENT) && !m->nsnaps &&
        vb_doc_set_current(d.machine, uuid, -1, -1) < 0)
        rc = vb_oom(ctx);
    if (rc == 0 && (flags & SB_SNAPSHOT_CREATE_CURRENT)) {
        if (si < 0)
            rc = attach_overlays(ctx, &d, &meta.overlays);
        if (rc == 0 && vb_doc_set_current(d.machine, uuid, 0, -1) < 0)
            rc = vb_oom(ctx);
        if (rc == 0) {
            int ok = descends(ctx, &d, uuid);
            if (ok == 0)
                rc = vb_error(ctx, SB_ERR_OPERATION_INVALID,
                              "snapshot '%s' cannot become current this way: the machine's "
                              "disks do not descend from its images (VirtualBox keeps the "
                              "current state on the current snapshot's images); revert to it "
                              "instead", v->name);
            else if (ok < 0)
                rc = -ctx->err_code;
        }
    }
    if (rc == 0)
        rc = vb_doc_save(ctx, &d);
out:
    vb_doc_close(&d);
    ctx->api->snapshot_view_free(v);
    vb_xml_meta_free(&meta);
    return rc;
}
