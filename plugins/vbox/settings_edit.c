/* vbox plugin - editing a settings file's document: snapshots, states
 * (hardware and storage attachments), the media registry, the machine's
 * attributes.  Everything the plugin does not touch stays as VirtualBox
 * wrote it. */
#include "vb.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#define IS_EL(n, nm) ((n)->type == XML_ELEMENT_NODE && strcmp((const char *)(n)->name, (nm)) == 0)

xmlNode *vb_el_child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (IS_EL(c, name))
            return c;
    return NULL;
}

xmlNode *vb_el_new(xmlNode *parent, const char *name)
{
    return xmlNewChild(parent, parent->ns, (const xmlChar *)name, NULL);
}

int vb_el_set(xmlNode *n, const char *attr, const char *value)
{
    return xmlSetProp(n, (const xmlChar *)attr, (const xmlChar *)value) ? 0 : -1;
}

static int uuid_is(xmlNode *n, const char *uuid)
{
    char u[VB_UUID_LEN];
    xmlChar *v = xmlGetProp(n, (const xmlChar *)"uuid");
    int r = v && vb_uuid_parse((const char *)v, u) == 0 && strcmp(u, uuid) == 0;
    xmlFree(v);
    return r;
}

/* Snapshot elements: Machine/Snapshot, then Snapshot/Snapshots/Snapshot.
 * Iterative: trees are deep. */
xmlNode *vb_doc_snapshot(xmlNode *machine, const char *uuid)
{
    xmlNode *n = vb_el_child(machine, "Snapshot");
    while (n) {
        if (uuid_is(n, uuid))
            return n;
        xmlNode *kids = vb_el_child(n, "Snapshots"), *next = NULL;
        for (xmlNode *c = kids ? kids->children : NULL; c && !next; c = c->next)
            if (IS_EL(c, "Snapshot"))
                next = c;
        /* no children: the next sibling snapshot, else climb */
        while (!next && n && IS_EL(n, "Snapshot")) {
            for (xmlNode *s = n->next; s && !next; s = s->next)
                if (IS_EL(s, "Snapshot"))
                    next = s;
            if (!next) {
                xmlNode *wrapper = n->parent; /* Snapshots, or the Machine */
                n = wrapper && IS_EL(wrapper, "Snapshots") ? wrapper->parent : NULL;
            }
        }
        n = next;
    }
    return NULL;
}

static xmlNode *find_disk(xmlNode *n, const char *uuid)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (!IS_EL(c, "HardDisk"))
            continue;
        if (uuid_is(c, uuid))
            return c;
        xmlNode *hit = find_disk(c, uuid); /* image chains are short */
        if (hit)
            return hit;
    }
    return NULL;
}

xmlNode *vb_doc_harddisk(xmlNode *machine, const char *uuid)
{
    return find_disk(vb_el_child(vb_el_child(machine, "MediaRegistry"), "HardDisks"), uuid);
}

/* The StorageControllers of a state (Machine or Snapshot element): inside
 * its Hardware (settings 1.17 and later) or beside it. */
static xmlNode *controllers(xmlNode *state)
{
    xmlNode *c = vb_el_child(vb_el_child(state, "Hardware"), "StorageControllers");
    return c ? c : vb_el_child(state, "StorageControllers");
}

static int attr_is(xmlNode *n, const char *attr, const char *value, const char *def)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
    int r = strcmp(v ? (const char *)v : def, value) == 0;
    xmlFree(v);
    return r;
}

int vb_doc_set_image(xmlNode *state, const vb_attach *a, const char *uuid)
{
    char port[16], device[16], braced[VB_UUID_LEN + 2];
    snprintf(port, sizeof port, "%u", a->port);
    snprintf(device, sizeof device, "%u", a->device);
    for (xmlNode *ctl = controllers(state) ? controllers(state)->children : NULL; ctl;
         ctl = ctl->next) {
        if (!IS_EL(ctl, "StorageController") || !attr_is(ctl, "name", a->controller, ""))
            continue;
        for (xmlNode *d = ctl->children; d; d = d->next) {
            if (!IS_EL(d, "AttachedDevice") || !attr_is(d, "port", port, "0") ||
                !attr_is(d, "device", device, "0"))
                continue;
            xmlNode *img = vb_el_child(d, "Image");
            if (!img && !(img = vb_el_new(d, "Image")))
                return -1;
            snprintf(braced, sizeof braced, "{%s}", uuid);
            return vb_el_set(img, "uuid", braced);
        }
    }
    return -2; /* no such attachment */
}

/* Copy the state elements (Hardware, StorageControllers beside it,
 * Platform) of from into to. */
int vb_doc_copy_state(xmlNode *from, xmlNode *to)
{
    static const char *const names[] = { "Hardware", "StorageControllers", "Platform", NULL };
    for (int i = 0; names[i]; i++) {
        xmlNode *src = vb_el_child(from, names[i]);
        if (!src)
            continue;
        /* cloned against its new parent: namespaces reconciled, no
         * repeated xmlns on the copy */
        xmlNode *copy = NULL;
        if (xmlDOMWrapCloneNode(NULL, src->doc, src, &copy, to->doc, to, 1, 0) != 0 || !copy)
            return -1;
        if (!xmlAddChild(to, copy)) {
            xmlFreeNode(copy);
            return -1;
        }
    }
    return 0;
}

/* Replace the machine's state elements by copies of a snapshot's. */
int vb_doc_restore_state(xmlNode *machine, xmlNode *snapshot)
{
    static const char *const names[] = { "Hardware", "StorageControllers", "Platform", NULL };
    for (int i = 0; names[i]; i++) {
        xmlNode *old = vb_el_child(machine, names[i]);
        if (old) {
            xmlUnlinkNode(old);
            xmlFreeNode(old);
        }
    }
    return vb_doc_copy_state(snapshot, machine);
}

xmlNode *vb_doc_new_snapshot(xmlNode *machine, xmlNode *parent, const char *uuid,
                             const char *name, const char *desc, long long ctime)
{
    char braced[VB_UUID_LEN + 2], ts[32];
    xmlNode *where = machine, *s;
    if (parent && !(where = vb_el_child(parent, "Snapshots")) &&
        !(where = vb_el_new(parent, "Snapshots")))
        return NULL;
    if (!(s = vb_el_new(where, "Snapshot")))
        return NULL;
    snprintf(braced, sizeof braced, "{%s}", uuid);
    vb_time_format(ctime, ts, sizeof ts);
    if (vb_el_set(s, "uuid", braced) < 0 || vb_el_set(s, "name", name) < 0 ||
        vb_el_set(s, "timeStamp", ts) < 0)
        return NULL;
    if (desc && *desc && !xmlNewTextChild(s, s->ns, (const xmlChar *)"Description",
                                         (const xmlChar *)desc))
        return NULL;
    return s;
}

/* Remove a snapshot element; its children take its place (under its
 * parent snapshot, or as the machine's root when it had one child). */
int vb_doc_remove_snapshot(xmlNode *s)
{
    xmlNode *kids = vb_el_child(s, "Snapshots");
    xmlNode *wrapper = s->parent;
    int root = wrapper && IS_EL(wrapper, "Machine");
    for (xmlNode *c = kids ? kids->children : NULL, *next; c; c = next) {
        next = c->next;
        if (!IS_EL(c, "Snapshot"))
            continue;
        xmlUnlinkNode(c);
        if (!xmlAddPrevSibling(s, c)) {
            xmlFreeNode(c);
            return -1;
        }
    }
    xmlUnlinkNode(s);
    xmlFreeNode(s);
    /* an empty <Snapshots> is valid but VirtualBox never writes one */
    if (!root && wrapper && IS_EL(wrapper, "Snapshots") && !vb_el_child(wrapper, "Snapshot")) {
        xmlUnlinkNode(wrapper);
        xmlFreeNode(wrapper);
    }
    return 0;
}

int vb_doc_add_diff(xmlNode *machine, const char *parent_uuid, const char *uuid,
                    const char *location)
{
    char braced[VB_UUID_LEN + 2];
    xmlNode *p = vb_doc_harddisk(machine, parent_uuid), *d;
    if (!p)
        return -2;
    if (!(d = vb_el_new(p, "HardDisk")))
        return -1;
    snprintf(braced, sizeof braced, "{%s}", uuid);
    return vb_el_set(d, "uuid", braced) < 0 || vb_el_set(d, "location", location) < 0 ||
                   vb_el_set(d, "format", "VDI") < 0
               ? -1
               : 0;
}

int vb_doc_remove_disk(xmlNode *machine, const char *uuid)
{
    xmlNode *d = vb_doc_harddisk(machine, uuid);
    if (!d)
        return -2;
    if (vb_el_child(d, "HardDisk"))
        return -3; /* still a parent */
    xmlUnlinkNode(d);
    xmlFreeNode(d);
    return 0;
}

int vb_doc_move_disk(xmlNode *machine, const char *uuid, const char *new_parent)
{
    xmlNode *d = vb_doc_harddisk(machine, uuid), *p = vb_doc_harddisk(machine, new_parent);
    if (!d || !p)
        return -2;
    xmlUnlinkNode(d);
    if (!xmlAddChild(p, d)) {
        xmlFreeNode(d);
        return -1;
    }
    return 0;
}

/* Every attachment of every state that names medium from: to instead. */
int vb_doc_replace_image(xmlNode *n, const char *from, const char *to)
{
    char braced[VB_UUID_LEN + 2];
    snprintf(braced, sizeof braced, "{%s}", to);
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (IS_EL(c, "MediaRegistry"))
            continue;
        if (IS_EL(c, "Image") && c->parent && IS_EL(c->parent, "AttachedDevice") &&
            uuid_is(c, from)) {
            if (vb_el_set(c, "uuid", braced) < 0)
                return -1;
            continue;
        }
        if (vb_doc_replace_image(c, from, to) < 0)
            return -1;
    }
    return 0;
}

int vb_doc_set_current(xmlNode *machine, const char *uuid, int modified, long long now)
{
    char braced[VB_UUID_LEN + 2], ts[32];
    if (uuid && *uuid) {
        snprintf(braced, sizeof braced, "{%s}", uuid);
        if (vb_el_set(machine, "currentSnapshot", braced) < 0)
            return -1;
    } else {
        xmlUnsetProp(machine, (const xmlChar *)"currentSnapshot");
    }
    if (modified < 0) {
        /* unchanged */
    } else if (modified) {
        xmlUnsetProp(machine, (const xmlChar *)"currentStateModified"); /* default true */
    } else if (vb_el_set(machine, "currentStateModified", "false") < 0) {
        return -1;
    }
    if (now >= 0) {
        vb_time_format(now, ts, sizeof ts);
        if (vb_el_set(machine, "lastStateChange", ts) < 0)
            return -1;
    }
    return 0;
}
