/* vbox plugin - a VirtualBox snapshot as libvirt's <domainsnapshot>, and
 * finding the snapshot a name or a definition means.
 *
 * state: running when the snapshot holds a saved machine state (it was
 * taken online), else shutoff.  memory: external (the .sav file) or no.
 * disks: each normal hard disk is external: its source is the
 * differencing image that took the writes after the snapshot (the child
 * of the snapshot's own image on the way to the current state, or to the
 * snapshot's first child).  domain: the machine as the snapshot recorded
 * it, disks on the snapshot's own (frozen) images, plus <metadata> naming
 * the snapshot's UUID. */
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
        const vb_attach *a = &s->hw.att[k];
        const vb_medium *md = vb_attach_medium(m, a);
        if (!targets[k])
            continue;
        if (a->dev != VB_DEV_HDD || !md || !vb_medium_snapshotted(m, md)) {
            vb_buf_addf(b, "    <disk name='%s' snapshot='no'/>\n", targets[k]);
            continue;
        }
        long ov = vb_overlay_of(m, i, a);
        if (ov < 0) {
            vb_buf_addf(b, "    <disk name='%s' snapshot='external'/>\n", targets[k]);
            continue;
        }
        const vb_medium *o = &m->media[ov];
        vb_buf_addf(b, "    <disk name='%s' snapshot='external' type='file'>\n", targets[k]);
        if (o->format) {
            vb_buf_add(b, "      <driver type='");
            for (const char *p = o->format; *p; p++)
                vb_buf_addf(b, "%c", *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            vb_buf_add(b, "'/>\n");
        }
        vb_buf_add(b, "      <source file='");
        vb_buf_esc(b, o->path);
        vb_buf_add(b, "'/>\n    </disk>\n");
    }
    vb_buf_add(b, "  </disks>\n");
}

int vb_snapshot_xml(vb_ctx *ctx, const vb_machine *m, size_t i, char **out)
{
    const vb_snap *s = &m->snaps[i];
    vb_buf b = { 0 };
    char **targets = NULL, *dom = NULL, *sav = NULL;
    int rc;

    *out = NULL;
    if ((rc = vb_disk_targets(ctx, &s->hw, &targets)) < 0)
        return rc;
    if ((rc = vb_domain_xml(ctx, m, &s->hw, s->uuid, &dom)) < 0) {
        vb_targets_free(targets, s->hw.natt);
        return rc;
    }
    if (s->state_file && !(sav = vb_path_join(m->dir, s->state_file))) {
        rc = vb_oom(ctx);
        goto out;
    }
    vb_buf_add(&b, "<domainsnapshot>\n");
    vb_buf_elem(&b, "  ", "name", s->name);
    if (s->desc && *s->desc)
        vb_buf_elem(&b, "  ", "description", s->desc);
    vb_buf_elem(&b, "  ", "state", sav ? "running" : "shutoff");
    if (s->parent >= 0) {
        vb_buf_add(&b, "  <parent>\n");
        vb_buf_elem(&b, "    ", "name", m->snaps[s->parent].name);
        vb_buf_add(&b, "  </parent>\n");
    }
    vb_buf_addf(&b, "  <creationTime>%lld</creationTime>\n", s->ctime);
    if (sav) {
        vb_buf_add(&b, "  <memory snapshot='external' file='");
        vb_buf_esc(&b, sav);
        vb_buf_add(&b, "'/>\n");
    } else {
        vb_buf_add(&b, "  <memory snapshot='no'/>\n");
    }
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
out:
    vb_buf_free(&b);
    free(sav);
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

/* name, description and metadata UUID of a <domainsnapshot> (each may be
 * missing). */
int vb_xml_fields(const char *xml, char **name, char **desc, char uuid[VB_UUID_LEN])
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "snapshot.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    *name = NULL;
    if (desc)
        *desc = NULL;
    uuid[0] = '\0';
    if (!root) {
        xmlFreeDoc(doc);
        return -1;
    }
    *name = text_of(child(root, "name"));
    if (desc)
        *desc = text_of(child(root, "description"));
    xmlNode *c = child(child(child(root, "domain"), "metadata"), "snapshot");
    if (c && c->ns && c->ns->href && strcmp((const char *)c->ns->href, VB_XML_NS) == 0) {
        xmlChar *u = xmlGetProp(c, (const xmlChar *)"uuid");
        if (!u || vb_uuid_parse((const char *)u, uuid) < 0)
            uuid[0] = '\0';
        xmlFree(u);
    }
    xmlFreeDoc(doc);
    return 0;
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
