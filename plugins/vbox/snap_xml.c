/* vbox plugin - a VirtualBox snapshot as libvirt's <domainsnapshot>, and
 * finding the snapshot a name or a definition means.
 *
 * state: running when the snapshot holds a saved machine state (it was
 * taken online), else shutoff.  memory: internal (VirtualBox's saved
 * state) or no.  disks: each normal hard disk internal (VirtualBox keeps
 * the data in images it names itself), other devices no.  domain: the
 * machine as the snapshot recorded it, disks on the snapshot's own
 * (frozen) images, plus <metadata> (domain_xml.c) with the snapshot's
 * UUID, saved state file and the differencing images that followed it. */
#include "vb.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* The attachment on the same controller slot in another state. */
const vb_attach *vb_same_slot(const vb_hw *hw, const vb_attach *a)
{
    for (size_t i = 0; i < hw->natt; i++)
        if (hw->att[i].port == a->port && hw->att[i].device == a->device &&
            strcmp(hw->att[i].controller, a->controller) == 0)
            return &hw->att[i];
    return NULL;
}

/* The child of medium x that leads to medium y (y itself or an
 * ancestor of it), or -1. */
static long child_towards(const vb_machine *m, long x, long y)
{
    for (size_t hops = 0; y >= 0 && hops <= m->nmedia; hops++) {
        if (m->media[y].parent == x)
            return y;
        y = m->media[y].parent;
    }
    return -1;
}

long vb_overlay_of(const vb_machine *m, size_t snap, const vb_attach *a)
{
    long x = vb_medium_index(m, a->image), first = -1, c;
    const vb_attach *o;
    size_t n = vb_medium_children(m, x, &first);

    if (x < 0 || n == 0)
        return -1;
    if (n == 1)
        return first;
    /* the way to the current state, when it descends from this snapshot */
    if ((o = vb_same_slot(&m->hw, a)) && (c = child_towards(m, x, vb_medium_index(m, o->image))) >= 0)
        return c;
    for (size_t i = snap + 1; i < m->nsnaps; i++) {
        if (m->snaps[i].parent != (long)snap)
            continue;
        if ((o = vb_same_slot(&m->snaps[i].hw, a)) &&
            (c = child_towards(m, x, vb_medium_index(m, o->image))) >= 0)
            return c;
    }
    return first;
}

/* Every normal hard disk is in the snapshot, kept by VirtualBox in
 * images of its own: internal; every other device is not. */
static void add_disks(vb_buf *b, const vb_machine *m, size_t i, char **targets)
{
    const vb_snap *s = &m->snaps[i];
    int any = 0;
    for (size_t k = 0; k < s->hw.natt; k++)
        any |= targets[k] != NULL;
    if (!any)
        return;
    vb_buf_add(b, "  <disks>\n");
    for (size_t k = 0; k < s->hw.natt; k++) {
        const vb_medium *md = vb_attach_medium(m, &s->hw.att[k]);
        if (targets[k])
            vb_buf_addf(b, "    <disk name='%s' snapshot='%s'/>\n", targets[k],
                        s->hw.att[k].dev == VB_DEV_HDD && md && vb_medium_snapshotted(m, md)
                            ? "internal"
                            : "no");
    }
    vb_buf_add(b, "  </disks>\n");
}

int vb_snapshot_xml(vb_ctx *ctx, const vb_machine *m, size_t i, char **out)
{
    const vb_snap *s = &m->snaps[i];
    vb_buf b = { 0 };
    char **targets = NULL, *dom = NULL;
    int rc;

    *out = NULL;
    if ((rc = vb_disk_targets(ctx, &s->hw, &targets)) < 0)
        return rc;
    if ((rc = vb_domain_xml(ctx, m, &s->hw, (long)i, &dom)) < 0) {
        vb_targets_free(targets, s->hw.natt);
        return rc;
    }
    vb_buf_add(&b, "<domainsnapshot>\n");
    vb_buf_elem(&b, "  ", "name", s->name);
    if (s->desc && *s->desc)
        vb_buf_elem(&b, "  ", "description", s->desc);
    vb_buf_elem(&b, "  ", "state", s->state_file ? "running" : "shutoff");
    if (s->parent >= 0) {
        vb_buf_add(&b, "  <parent>\n");
        vb_buf_elem(&b, "    ", "name", m->snaps[s->parent].name);
        vb_buf_add(&b, "  </parent>\n");
    }
    vb_buf_addf(&b, "  <creationTime>%lld</creationTime>\n", s->ctime);
    /* an online snapshot's memory is VirtualBox's saved state */
    vb_buf_addf(&b, "  <memory snapshot='%s'/>\n", s->state_file ? "internal" : "no");
    add_disks(&b, m, i, targets);
    /* the embedded domain, indented one level */
    for (char *line = dom, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        vb_buf_add(&b, "  ");
        if (nl) {
            *nl = '\0';
            vb_buf_add(&b, line);
            vb_buf_add(&b, "\n");
        } else {
            vb_buf_add(&b, line);
        }
    }
    vb_buf_add(&b, "</domainsnapshot>\n");
    if (!(*out = vb_buf_take(&b)))
        rc = vb_oom(ctx);
    vb_buf_free(&b);
    free(dom);
    vb_targets_free(targets, s->hw.natt);
    return rc;
}

static int not_found(vb_ctx *ctx, const vb_machine *m, const char *name)
{
    /* VirtualBox's answer for an unknown snapshot (libvirt's vbox driver) */
    return vb_error(ctx, SB_ERR_OPERATION_INVALID, "domain '%s' has no snapshots with name '%s'",
                    m->name, name);
}

long vb_snapshot_lookup(vb_ctx *ctx, const vb_machine *m, const char *name, int *rc)
{
    char uuid[VB_UUID_LEN];
    long hit = -1;
    size_t hits = 0;

    *rc = 0;
    if (strncmp(name, "uuid:", 5) == 0 && vb_uuid_parse(name + 5, uuid) == 0) {
        if ((hit = vb_snap_index(m, uuid)) < 0)
            *rc = not_found(ctx, m, name);
        return hit;
    }
    for (size_t i = 0; i < m->nsnaps; i++)
        if (strcmp(m->snaps[i].name, name) == 0 && !hits++)
            hit = (long)i;
    if (hits == 1)
        return hit;
    if (!hits) {
        *rc = not_found(ctx, m, name);
        return -1;
    }
    vb_buf b = { 0 };
    for (size_t i = 0; i < m->nsnaps; i++)
        if (strcmp(m->snaps[i].name, name) == 0)
            vb_buf_addf(&b, "%s{%s}", b.len ? ", " : "", m->snaps[i].uuid);
    *rc = vb_error(ctx, SB_ERR_INVALID_ARG,
                   "snapshot name '%s' is ambiguous in domain '%s': %zu snapshots have it (%s); "
                   "select one as 'uuid:{UUID}'",
                   name, m->name, hits, b.p && !b.oom ? b.p : "");
    vb_buf_free(&b);
    return -1;
}

static xmlNode *child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static char *text_of(xmlNode *n)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    char *s = t ? strdup((const char *)t) : NULL;
    xmlFree(t);
    return s;
}

static xmlNode *vbox_meta(xmlNode *root)
{
    xmlNode *c = child(child(child(root, "domain"), "metadata"), "snapshot");
    if (c && c->ns && c->ns->href && strcmp((const char *)c->ns->href, VB_XML_NS) == 0)
        return c;
    return NULL;
}

static char *prop(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *s = v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

int vb_xml_read(const char *xml, vb_xml_meta *out)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "snapshot.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    memset(out, 0, sizeof *out);
    if (!root) {
        xmlFreeDoc(doc);
        return -1;
    }
    out->name = text_of(child(root, "name"));
    out->desc = text_of(child(root, "description"));
    xmlNode *meta = vbox_meta(root);
    if (meta) {
        char *u = prop(meta, "uuid");
        if (!u || vb_uuid_parse(u, out->uuid) < 0)
            out->uuid[0] = '\0';
        free(u);
        out->state_file = prop(meta, "stateFile");
        for (xmlNode *c = meta->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "overlay") != 0)
                continue;
            char *target = prop(c, "target"), *file = prop(c, "file");
            char *line = target && file ? vb_printf("%s %s", target, file) : NULL;
            if (line)
                vb_strv_add(&out->overlays, line);
            free(line);
            free(target);
            free(file);
        }
    }
    xmlFreeDoc(doc);
    return 0;
}

void vb_xml_meta_free(vb_xml_meta *x)
{
    free(x->name);
    free(x->desc);
    free(x->state_file);
    vb_strv_free(&x->overlays);
    memset(x, 0, sizeof *x);
}

int vb_xml_fields(const char *xml, char **name, char **desc, char uuid[VB_UUID_LEN])
{
    vb_xml_meta x;
    int rc = vb_xml_read(xml, &x);
    *name = x.name;
    x.name = NULL;
    if (desc) {
        *desc = x.desc;
        x.desc = NULL;
    }
    memcpy(uuid, x.uuid, VB_UUID_LEN);
    vb_xml_meta_free(&x);
    return rc;
}

void vb_xml_snapshot_uuid(const char *snapshot_xml, char out[VB_UUID_LEN])
{
    char *name = NULL;
    out[0] = '\0';
    if (snapshot_xml)
        vb_xml_fields(snapshot_xml, &name, NULL, out);
    free(name);
}

long vb_snapshot_from_xml(vb_ctx *ctx, const vb_machine *m, const char *snapshot_xml, int *rc)
{
    char uuid[VB_UUID_LEN], *name = NULL;
    long i;

    *rc = 0;
    if (vb_xml_fields(snapshot_xml, &name, NULL, uuid) < 0 || !name) {
        free(name);
        *rc = vb_error(ctx, SB_ERR_XML_ERROR, "snapshot definition without a name");
        return -1;
    }
    if (uuid[0] && (i = vb_snap_index(m, uuid)) >= 0) {
        free(name);
        return i;
    }
    i = vb_snapshot_lookup(ctx, m, name, rc);
    free(name);
    return i;
}
