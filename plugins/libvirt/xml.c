/* libvirt plugin - the few fields it reads from libvirt's XML (snapshot
 * name, storage of a snapshot, what a domain needs from its host).  The
 * documents come from libvirt or the broker; they are parsed without
 * network access or entity expansion, and nothing is printed. */
#include "lvp.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

static xmlDocPtr parse(const char *xml, const char *root)
{
    xmlDocPtr doc;

    if (!xml)
        return NULL;
    doc = xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr r = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!r || !xmlStrEqual(r->name, BAD_CAST root)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr k = n ? n->children : NULL; k; k = k->next)
        if (k->type == XML_ELEMENT_NODE && xmlStrEqual(k->name, BAD_CAST name))
            return k;
    return NULL;
}

/* malloc'd copies of what libxml2 allocates. */
static char *text(xmlNodePtr n)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    char *s = t ? strdup((const char *)t) : NULL;
    xmlFree(t);
    return s;
}

static char *attr(xmlNodePtr n, const char *name)
{
    xmlChar *t = n ? xmlGetProp(n, BAD_CAST name) : NULL;
    char *s = t ? strdup((const char *)t) : NULL;
    xmlFree(t);
    return s;
}

char *lvp_xml_snapshot_name(const char *xml)
{
    xmlDocPtr doc = parse(xml, "domainsnapshot");
    char *name = doc ? text(child(xmlDocGetRootElement(doc), "name")) : NULL;

    xmlFreeDoc(doc);
    if (name && !*name) {
        free(name);
        name = NULL;
    }
    return name;
}

char *lvp_xml_without_default_name(const char *xml)
{
    xmlDocPtr doc = parse(xml, "domainsnapshot");
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNodePtr name = child(root, "name"), ct = child(root, "creationTime");
    xmlChar *n = name ? xmlNodeGetContent(name) : NULL;
    xmlChar *t = ct ? xmlNodeGetContent(ct) : NULL;
    char *out = NULL;

    if (n && t && *n && xmlStrEqual(n, t)) {
        xmlChar *buf = NULL;
        int len = 0;
        xmlUnlinkNode(name);
        xmlFreeNode(name);
        xmlDocDumpMemory(doc, &buf, &len);
        out = buf ? strdup((const char *)buf) : NULL;
        xmlFree(buf);
    }
    xmlFree(n);
    xmlFree(t);
    xmlFreeDoc(doc);
    return out;
}

static int push(char ***v, size_t *n, char *s)
{
    char **nv;

    if (!s)
        return 0;
    if (!(nv = realloc(*v, (*n + 1) * sizeof(*nv)))) {
        free(s);
        return -1;
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

/* A disk's file or device path. */
static char *source_path(xmlNodePtr disk)
{
    xmlNodePtr src = child(disk, "source");
    char *p = attr(src, "file");
    return p ? p : attr(src, "dev");
}

/* The source of the domain disk with target dev `target`. */
static char *domain_disk_source(xmlNodePtr domain, const char *target)
{
    for (xmlNodePtr d = child(child(domain, "devices"), "disk"); d; d = d->next) {
        if (d->type != XML_ELEMENT_NODE || !xmlStrEqual(d->name, BAD_CAST "disk"))
            continue;
        char *dev = attr(child(d, "target"), "dev");
        int match = dev && strcmp(dev, target) == 0;
        free(dev);
        if (match)
            return source_path(d);
    }
    return NULL;
}

int lvp_xml_snapshot_files(const char *xml, struct lvp_snap_files *out)
{
    xmlDocPtr doc = parse(xml, "domainsnapshot");
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!doc)
        return -1;
    xmlNodePtr root = xmlDocGetRootElement(doc), domain = child(root, "domain");
    xmlNodePtr mem = child(root, "memory");
    char *mode = attr(mem, "snapshot");
    if (mode && strcmp(mode, "external") == 0)
        out->memory_file = attr(mem, "file");
    free(mode);
    for (xmlNodePtr d = child(child(root, "disks"), "disk"); d && rc == 0; d = d->next) {
        if (d->type != XML_ELEMENT_NODE)
            continue;
        char *name = attr(d, "name"), *snap = attr(d, "snapshot");
        if (snap && strcmp(snap, "external") == 0)
            rc = push(&out->external, &out->nexternal, source_path(d));
        else if (snap && strcmp(snap, "internal") == 0 && name)
            rc = push(&out->internal, &out->ninternal, domain_disk_source(domain, name));
        free(name);
        free(snap);
    }
    xmlFreeDoc(doc);
    if (rc < 0)
        lvp_snap_files_free(out);
    return rc;
}

void lvp_snap_files_free(struct lvp_snap_files *f)
{
    for (size_t i = 0; i < f->nexternal; i++)
        free(f->external[i]);
    for (size_t i = 0; i < f->ninternal; i++)
        free(f->internal[i]);
    free(f->external);
    free(f->internal);
    free(f->memory_file);
    memset(f, 0, sizeof(*f));
}

int lvp_xml_disk_targets(const char *xml, char ***out, size_t *n)
{
    xmlDocPtr doc = parse(xml, "domain");
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (!doc)
        return -1;
    xmlNodePtr devices = child(xmlDocGetRootElement(doc), "devices");
    for (xmlNodePtr d = child(devices, "disk"); d && rc == 0; d = d->next)
        if (d->type == XML_ELEMENT_NODE && xmlStrEqual(d->name, BAD_CAST "disk"))
            rc = push(out, n, attr(child(d, "target"), "dev"));
    xmlFreeDoc(doc);
    return rc;
}

int lvp_xml_domain_target(const char *xml, struct lvp_dom_target *out)
{
    xmlDocPtr doc = parse(xml, "domain");

    memset(out, 0, sizeof(*out));
    if (!doc)
        return -1;
    xmlNodePtr root = xmlDocGetRootElement(doc), ostype = child(child(root, "os"), "type");
    out->virttype = attr(root, "type");
    out->arch = attr(ostype, "arch");
    out->machine = attr(ostype, "machine");
    out->emulator = text(child(child(root, "devices"), "emulator"));
    xmlFreeDoc(doc);
    return 0;
}

void lvp_dom_target_free(struct lvp_dom_target *t)
{
    free(t->virttype);
    free(t->arch);
    free(t->machine);
    free(t->emulator);
    memset(t, 0, sizeof(*t));
}
