/* tests/qemu - FIXTURE host services standing in for the broker (see
 * fixture_host.h).  Minimal libxml2 view/format of <domainsnapshot>. */
#include "fixture_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

struct fx_host fx;

static int fx_set_error(sb_host *h, int code, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fx.last_msg, sizeof fx.last_msg, fmt, ap);
    va_end(ap);
    fx.last_code = code;
    return -code;
}

static void fx_log(sb_host *h, int level, const char *fmt, ...)
{
    (void)h;
    if (!getenv("FX_VERBOSE") && level > SB_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "# [%d] ", level);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void fx_progress(sb_host *h, const char *what, unsigned p)
{
    (void)h; (void)what; (void)p;
}

static void *fx_alloc(size_t n) { return calloc(1, n ? n : 1); }
static void *fx_realloc(void *p, size_t n) { return realloc(p, n); }
static char *fx_strdup(const char *s) { return s ? strdup(s) : NULL; }
static void fx_free(void *p) { free(p); }
static int fx_cfg_string(sb_host *h, const char *k, const char **o) { (void)h; (void)k; (void)o; return 0; }
static int fx_cfg_int(sb_host *h, const char *k, long long *o)
{
    (void)h;
    if (!strcmp(k, "shutdown_timeout_ms")) {
        *o = 300;
        return 1;
    }
    return 0;
}
static int fx_cfg_bool(sb_host *h, const char *k, int *o)
{
    (void)h;
    if (!strcmp(k, "shutdown_fallback_destroy")) {
        *o = 1;
        return 1;
    }
    return 0;
}
static const char *fx_state_dir(sb_host *h) { (void)h; return fx.state_dir; }

/* ---- snapshot view ---------------------------------------------------- */

struct view_box {
    struct sb_snapshot_view v;
    struct sb_snapshot_disk_view *disks, *rdisks;
    char **strs;
    size_t nstrs;
};

static const char *keep(struct view_box *b, xmlChar *s)
{
    if (!s)
        return NULL;
    b->strs = realloc(b->strs, (b->nstrs + 1) * sizeof *b->strs);
    b->strs[b->nstrs] = strdup((const char *)s);
    xmlFree(s);
    return b->strs[b->nstrs++];
}

static xmlNodePtr el(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
            return c;
    return NULL;
}

static int loc(const char *s)
{
    if (!s) return SB_LOCATION_DEFAULT;
    if (!strcmp(s, "no")) return SB_LOCATION_NO;
    if (!strcmp(s, "internal")) return SB_LOCATION_INTERNAL;
    if (!strcmp(s, "external")) return SB_LOCATION_EXTERNAL;
    if (!strcmp(s, "manual")) return SB_LOCATION_MANUAL;
    return SB_LOCATION_DEFAULT;
}

static const char *const states[] = {"nostate", "running", "blocked", "paused", "shutdown",
                                     "shutoff", "crashed", "pmsuspended", "disk-snapshot"};

static size_t read_disks(struct view_box *b, xmlNodePtr parent, struct sb_snapshot_disk_view **out)
{
    size_t n = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            n++;
    *out = calloc(n ? n : 1, sizeof **out);
    size_t i = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        struct sb_snapshot_disk_view *d = &(*out)[i++];
        d->name = keep(b, xmlGetProp(c, (const xmlChar *)"name"));
        const char *s = keep(b, xmlGetProp(c, (const xmlChar *)"snapshot"));
        d->snapshot = loc(s);
        const char *t = keep(b, xmlGetProp(c, (const xmlChar *)"type"));
        d->type = t && !strcmp(t, "block") ? SB_DISK_TYPE_BLOCK : SB_DISK_TYPE_FILE;
        xmlNodePtr src = el(c, "source");
        d->source = keep(b, xmlGetProp(src, (const xmlChar *)(d->type == SB_DISK_TYPE_BLOCK ? "dev" : "file")));
        d->driver_type = keep(b, xmlGetProp(el(c, "driver"), (const xmlChar *)"type"));
        d->delete_in_progress = el(c, "snapshotDeleteInProgress") != NULL;
        if (d->snapshot == SB_LOCATION_DEFAULT && (d->source || d->driver_type))
            d->snapshot = SB_LOCATION_EXTERNAL;
    }
    return n;
}

static char *node_xml(xmlDocPtr doc, xmlNodePtr n)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlNodeDump(buf, doc, n, 0, 1);
    char *s = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

static int fx_snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    (void)h;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "s.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (!doc)
        return fx_set_error(NULL, SB_ERR_XML_ERROR, "fixture: bad snapshot XML");
    struct view_box *b = calloc(1, sizeof *b);
    xmlNodePtr r = xmlDocGetRootElement(doc);
    b->v.struct_size = sizeof b->v;
    xmlNodePtr n;
    b->v.name = keep(b, xmlNodeGetContent(el(r, "name")));
    b->v.description = (n = el(r, "description")) ? keep(b, xmlNodeGetContent(n)) : NULL;
    b->v.parent = (n = el(el(r, "parent"), "name")) ? keep(b, xmlNodeGetContent(n)) : NULL;
    const char *st = (n = el(r, "state")) ? keep(b, xmlNodeGetContent(n)) : NULL;
    for (int i = 0; st && i < 9; i++)
        if (!strcmp(st, states[i]))
            b->v.state = i;
    const char *ct = (n = el(r, "creationTime")) ? keep(b, xmlNodeGetContent(n)) : NULL;
    b->v.creation_time = ct ? atoll(ct) : 0;
    if ((n = el(r, "memory"))) {
        b->v.memory = loc(keep(b, xmlGetProp(n, (const xmlChar *)"snapshot")));
        b->v.memory_file = keep(b, xmlGetProp(n, (const xmlChar *)"file"));
        if (b->v.memory_file && b->v.memory == SB_LOCATION_DEFAULT)
            b->v.memory = SB_LOCATION_EXTERNAL;
    }
    b->v.ndisks = read_disks(b, el(r, "disks"), &b->disks);
    b->v.disks = b->disks;
    b->v.nrevert_disks = read_disks(b, el(r, "revertDisks"), &b->rdisks);
    b->v.revert_disks = b->rdisks;
    if ((n = el(r, "domain")) && xmlHasProp(n, (const xmlChar *)"type")) {
        char *s = node_xml(doc, n);
        b->v.domain_xml = keep(b, xmlStrdup((const xmlChar *)s));
        free(s);
    }
    int ext = b->v.memory == SB_LOCATION_EXTERNAL;
    for (size_t i = 0; i < b->v.ndisks; i++)
        ext |= b->disks[i].snapshot == SB_LOCATION_EXTERNAL;
    b->v.external = ext;
    xmlFreeDoc(doc);
    *out = &b->v;
    return 0;
}

static void fx_snapshot_view_free(struct sb_snapshot_view *v)
{
    if (!v)
        return;
    struct view_box *b = (struct view_box *)v;
    for (size_t i = 0; i < b->nstrs; i++)
        free(b->strs[i]);
    free(b->strs);
    free(b->disks);
    free(b->rdisks);
    free(b);
}

static const char *locname(int l)
{
    static const char *const n[] = {"default", "no", "internal", "external", "manual"};
    return l >= 0 && l <= 4 ? n[l] : "default";
}

static void add_disks(xmlNodePtr parent, const char *name, const struct sb_snapshot_disk_view *d, size_t n)
{
    if (!n)
        return;
    xmlNodePtr ds = xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
    for (size_t i = 0; i < n; i++) {
        xmlNodePtr k = xmlNewChild(ds, NULL, (const xmlChar *)"disk", NULL);
        xmlSetProp(k, (const xmlChar *)"name", (const xmlChar *)d[i].name);
        if (d[i].snapshot)
            xmlSetProp(k, (const xmlChar *)"snapshot", (const xmlChar *)locname(d[i].snapshot));
        if (d[i].source || d[i].driver_type) {
            int blk = d[i].type == SB_DISK_TYPE_BLOCK;
            xmlSetProp(k, (const xmlChar *)"type", (const xmlChar *)(blk ? "block" : "file"));
            if (d[i].delete_in_progress)
                xmlNewChild(k, NULL, (const xmlChar *)"snapshotDeleteInProgress", NULL);
            if (d[i].driver_type) {
                xmlNodePtr dr = xmlNewChild(k, NULL, (const xmlChar *)"driver", NULL);
                xmlSetProp(dr, (const xmlChar *)"type", (const xmlChar *)d[i].driver_type);
            }
            if (d[i].source) {
                xmlNodePtr s = xmlNewChild(k, NULL, (const xmlChar *)"source", NULL);
                xmlSetProp(s, (const xmlChar *)(blk ? "dev" : "file"), (const xmlChar *)d[i].source);
            }
        }
    }
}

static int fx_snapshot_format(sb_host *h, const struct sb_snapshot_view *v, char **out_xml)
{
    (void)h;
    char buf[64];
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr r = xmlNewNode(NULL, (const xmlChar *)"domainsnapshot");
    xmlDocSetRootElement(doc, r);
    xmlNewTextChild(r, NULL, (const xmlChar *)"name", (const xmlChar *)v->name);
    if (v->description)
        xmlNewTextChild(r, NULL, (const xmlChar *)"description", (const xmlChar *)v->description);
    if (v->state > 0 && v->state < 9)
        xmlNewChild(r, NULL, (const xmlChar *)"state", (const xmlChar *)states[v->state]);
    if (v->parent) {
        xmlNodePtr p = xmlNewChild(r, NULL, (const xmlChar *)"parent", NULL);
        xmlNewTextChild(p, NULL, (const xmlChar *)"name", (const xmlChar *)v->parent);
    }
    snprintf(buf, sizeof buf, "%lld", v->creation_time);
    if (v->creation_time)
        xmlNewChild(r, NULL, (const xmlChar *)"creationTime", (const xmlChar *)buf);
    if (v->memory) {
        xmlNodePtr m = xmlNewChild(r, NULL, (const xmlChar *)"memory", NULL);
        xmlSetProp(m, (const xmlChar *)"snapshot", (const xmlChar *)locname(v->memory));
        if (v->memory_file)
            xmlSetProp(m, (const xmlChar *)"file", (const xmlChar *)v->memory_file);
    }
    add_disks(r, "disks", v->disks, v->ndisks);
    add_disks(r, "revertDisks", v->revert_disks, v->nrevert_disks);
    if (v->domain_xml) {
        xmlDocPtr d = xmlReadMemory(v->domain_xml, (int)strlen(v->domain_xml), "d.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOBLANKS);
        if (d) {
            xmlNodePtr copy = xmlDocCopyNode(xmlDocGetRootElement(d), doc, 1);
            xmlAddChild(r, copy);
            xmlFreeDoc(d);
        }
    }
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpFormatMemory(doc, &mem, &size, 1);
    xmlFreeDoc(doc);
    const char *s = strstr((const char *)mem, "<domainsnapshot");
    *out_xml = strdup(s ? s : (const char *)mem);
    xmlFree(mem);
    return 0;
}

struct dview_box {
    struct sb_domain_view v;
    struct sb_domain_disk_view *disks;
    char **strs;
    size_t nstrs;
};

static const char *dkeep(struct dview_box *b, xmlChar *s)
{
    if (!s)
        return NULL;
    b->strs = realloc(b->strs, (b->nstrs + 1) * sizeof *b->strs);
    b->strs[b->nstrs] = strdup((const char *)s);
    xmlFree(s);
    return b->strs[b->nstrs++];
}

static int fx_domain_view(sb_host *h, const char *xml, struct sb_domain_view **out)
{
    (void)h;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "d.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (!doc)
        return fx_set_error(NULL, SB_ERR_XML_ERROR, "fixture: bad domain XML");
    struct dview_box *b = calloc(1, sizeof *b);
    xmlNodePtr r = xmlDocGetRootElement(doc), devs = el(r, "devices");
    b->v.struct_size = sizeof b->v;
    b->v.name = dkeep(b, xmlNodeGetContent(el(r, "name")));
    size_t n = 0;
    for (xmlNodePtr c = devs ? devs->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "disk"))
            n++;
    b->disks = calloc(n ? n : 1, sizeof *b->disks);
    size_t i = 0;
    for (xmlNodePtr c = devs ? devs->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "disk"))
            continue;
        struct sb_domain_disk_view *d = &b->disks[i++];
        d->target = dkeep(b, xmlGetProp(el(c, "target"), (const xmlChar *)"dev"));
        xmlNodePtr s = el(c, "source");
        d->source = dkeep(b, xmlGetProp(s, (const xmlChar *)"file"));
        if (!d->source)
            d->source = dkeep(b, xmlGetProp(s, (const xmlChar *)"dev"));
        d->driver_type = dkeep(b, xmlGetProp(el(c, "driver"), (const xmlChar *)"type"));
        d->readonly = el(c, "readonly") != NULL;
        d->type = SB_DISK_TYPE_FILE;
    }
    b->v.ndisks = n;
    b->v.disks = b->disks;
    xmlFreeDoc(doc);
    *out = &b->v;
    return 0;
}

static void fx_domain_view_free(struct sb_domain_view *v)
{
    if (!v)
        return;
    struct dview_box *b = (struct dview_box *)v;
    for (size_t i = 0; i < b->nstrs; i++)
        free(b->strs[i]);
    free(b->strs);
    free(b->disks);
    free(b);
}

/* ---- tree ---------------------------------------------------------------- */

static int find(const char *name)
{
    for (int i = 0; i < fx.nsnaps; i++)
        if (!strcmp(fx.snaps[i].name, name))
            return i;
    return -1;
}

void fx_tree_add(const char *name, const char *xml)
{
    int i = find(name);
    if (i >= 0) {
        free(fx.snaps[i].xml);
        fx.snaps[i].xml = strdup(xml);
        return;
    }
    i = fx.nsnaps++;
    fx.snaps[i].name = strdup(name);
    fx.snaps[i].parent = fx.current >= 0 ? strdup(fx.snaps[fx.current].name) : NULL;
    fx.snaps[i].xml = strdup(xml);
    fx.current = i;
}

void fx_tree_remove(const char *name)
{
    int i = find(name);
    if (i < 0)
        return;
    char *parent = fx.snaps[i].parent;
    for (int k = 0; k < fx.nsnaps; k++)
        if (fx.snaps[k].parent && !strcmp(fx.snaps[k].parent, name)) {
            free(fx.snaps[k].parent);
            fx.snaps[k].parent = parent ? strdup(parent) : NULL;
        }
    int cur_name_is_i = fx.current == i;
    char *cur = fx.current >= 0 && !cur_name_is_i ? strdup(fx.snaps[fx.current].name) : (parent ? strdup(parent) : NULL);
    free(fx.snaps[i].name);
    free(fx.snaps[i].xml);
    free(parent);
    fx.snaps[i] = fx.snaps[--fx.nsnaps];
    fx.current = cur ? find(cur) : -1;
    free(cur);
}

const char *fx_tree_xml(const char *name)
{
    int i = find(name);
    return i >= 0 ? fx.snaps[i].xml : NULL;
}

static int fx_tree_get_xml(sb_host *h, const char *d, const char *name, char **out)
{
    (void)h; (void)d;
    int i = find(name);
    if (i < 0)
        return fx_set_error(NULL, SB_ERR_NO_DOMAIN_SNAPSHOT, "no snapshot '%s'", name);
    *out = strdup(fx.snaps[i].xml);
    return 0;
}

static int fx_tree_parent(sb_host *h, const char *d, const char *name, char **out)
{
    (void)h; (void)d;
    int i = find(name);
    if (i < 0 || !fx.snaps[i].parent)
        return fx_set_error(NULL, SB_ERR_NO_DOMAIN_SNAPSHOT, "no parent");
    *out = strdup(fx.snaps[i].parent);
    return 0;
}

static int fx_tree_children(sb_host *h, const char *d, const char *name, char ***out, size_t *n)
{
    (void)h; (void)d;
    *out = calloc((size_t)fx.nsnaps + 1, sizeof **out);
    *n = 0;
    for (int i = 0; i < fx.nsnaps; i++)
        if (fx.snaps[i].parent && !strcmp(fx.snaps[i].parent, name))
            (*out)[(*n)++] = strdup(fx.snaps[i].name);
    return 0;
}

static int fx_tree_current(sb_host *h, const char *d, char **out)
{
    (void)h; (void)d;
    if (fx.current < 0)
        return fx_set_error(NULL, SB_ERR_NO_DOMAIN_SNAPSHOT, "no current");
    *out = strdup(fx.snaps[fx.current].name);
    return 0;
}

static int fx_tree_list(sb_host *h, const char *d, char ***out, size_t *n)
{
    (void)h; (void)d;
    *out = calloc((size_t)fx.nsnaps + 1, sizeof **out);
    for (int i = 0; i < fx.nsnaps; i++)
        (*out)[i] = strdup(fx.snaps[i].name);
    *n = (size_t)fx.nsnaps;
    return 0;
}

static int fx_tree_update_xml(sb_host *h, const char *d, const char *name, const char *xml)
{
    (void)h; (void)d;
    int i = find(name);
    if (i < 0)
        return fx_set_error(NULL, SB_ERR_NO_DOMAIN_SNAPSHOT, "no snapshot '%s'", name);
    free(fx.snaps[i].xml);
    fx.snaps[i].xml = strdup(xml);
    return 0;
}

const struct sb_host_api fx_api = {
    .struct_size = sizeof(struct sb_host_api),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .set_error = fx_set_error,
    .log = fx_log,
    .progress = fx_progress,
    .alloc = fx_alloc,
    .realloc = fx_realloc,
    .strdup = fx_strdup,
    .free = fx_free,
    .config_string = fx_cfg_string,
    .config_int = fx_cfg_int,
    .config_bool = fx_cfg_bool,
    .state_dir = fx_state_dir,
    .snapshot_view = fx_snapshot_view,
    .snapshot_view_free = fx_snapshot_view_free,
    .snapshot_format = fx_snapshot_format,
    .domain_view = fx_domain_view,
    .domain_view_free = fx_domain_view_free,
    .tree_get_xml = fx_tree_get_xml,
    .tree_parent = fx_tree_parent,
    .tree_children = fx_tree_children,
    .tree_current = fx_tree_current,
    .tree_list = fx_tree_list,
    .tree_update_xml = fx_tree_update_xml,
};

void fx_reset(const char *state_dir)
{
    for (int i = 0; i < fx.nsnaps; i++) {
        free(fx.snaps[i].name);
        free(fx.snaps[i].parent);
        free(fx.snaps[i].xml);
    }
    memset(&fx, 0, sizeof fx);
    fx.current = -1;
    snprintf(fx.state_dir, sizeof fx.state_dir, "%s", state_dir);
}

int fx_xml_count(const char *xml, const char *needle)
{
    int n = 0;
    for (const char *p = xml; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}
