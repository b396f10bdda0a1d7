/* Minimal domain parser: identity and disks, in document order. */
#include "xml/domdef.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "snapbroker/flags.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static void domdisk_clear(sb_domdisk *d)
{
    free(d->target);
    free(d->bus);
    free(d->src_path);
    free(d->driver_type);
}

void sb_domdef_free(sb_domdef *def)
{
    if (!def)
        return;
    for (size_t i = 0; i < def->ndisks; i++)
        domdisk_clear(&def->disks[i]);
    free(def->disks);
    free(def->name);
    free(def->uuid);
    free(def->type);
    free(def);
}

static int lookup(const char *const *names, const char *value)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], value) == 0)
            return i;
    return -1;
}

/* Parse an enumerated attribute; absent -> def_value. */
static int enum_attr(const xmlNode *node, const char *source, const char *attr,
                     const char *const *names, int def_value, int *out)
{
    char *v;
    int rc = sb_xml_prop(node, attr, &v);
    if (rc < 0)
        return rc;
    if (!v) {
        *out = def_value;
        return 0;
    }
    int idx = lookup(names, v);
    if (idx < 0)
        rc = sb_xml_error_at(source, node, SB_ERR_XML_ERROR,
                             "Invalid value for attribute '%s' in element '%s': '%s'.", attr,
                             (const char *)node->name, v);
    else
        *out = idx;
    free(v);
    return rc;
}

static int parse_disk(const xmlNode *node, const char *source, sb_domdisk *d)
{
    static const char *const devices[] = {"disk", "cdrom", "lun", "floppy", NULL};
    static const char *const types[] = {"file", "block", "network", "volume", "dir", NULL};
    static const char *const path_attr[] = {"file", "dev", "name", NULL, "dir"};
    int rc;

    if ((rc = enum_attr(node, source, "device", devices, SB_DOMDISK_DISK, &d->device)) < 0 ||
        (rc = enum_attr(node, source, "type", types, SB_DOMDISK_FILE, &d->type)) < 0)
        return rc;

    char *snap;
    if ((rc = sb_xml_prop(node, "snapshot", &snap)) < 0)
        return rc;
    d->snapshot = SB_LOCATION_DEFAULT;
    if (snap) {
        int loc = sb_snap_location_from_string(snap);
        if (loc <= SB_LOCATION_DEFAULT)
            rc = sb_xml_error_at(source, node, SB_ERR_XML_ERROR,
                                 "Invalid value for attribute 'snapshot' in element 'disk': '%s'.",
                                 snap);
        d->snapshot = loc;
        free(snap);
        if (rc < 0)
            return rc;
    }

    xmlNode *target = sb_xml_child(node, "target");
    if ((rc = sb_xml_prop(target, "dev", &d->target)) < 0 ||
        (rc = sb_xml_prop(target, "bus", &d->bus)) < 0)
        return rc;
    if (!target || !d->target || !*d->target)
        return sb_xml_error_at(source, node, SB_ERR_XML_ERROR,
                               "domain disk is missing <target dev='...'>");
    /* A name starting with '/' means a source path to every disk lookup
     * (sb_domdef_find_disk, snapshot <disk name=>), so such a target could
     * never be found by its name. */
    if (d->target[0] == '/')
        return sb_xml_error_at(source, target, SB_ERR_XML_ERROR,
                               "domain disk target '%s' must not start with '/'", d->target);

    xmlNode *src = sb_xml_child(node, "source");
    if (src && path_attr[d->type] && (rc = sb_xml_prop(src, path_attr[d->type], &d->src_path)) < 0)
        return rc;
    if ((rc = sb_xml_prop(sb_xml_child(node, "driver"), "type", &d->driver_type)) < 0)
        return rc;
    d->readonly = sb_xml_child(node, "readonly") != NULL;
    d->shareable = sb_xml_child(node, "shareable") != NULL;
    /* libvirt's virStorageSourceIsEmpty(): local storage without a path. */
    d->empty = (d->type == SB_DOMDISK_FILE || d->type == SB_DOMDISK_BLOCK ||
                d->type == SB_DOMDISK_DIR) &&
               (!d->src_path || !*d->src_path);
    return 0;
}

static int parse_disks(const xmlNode *root, const char *source, sb_domdef *def)
{
    xmlNode *devices = sb_xml_child(root, "devices");
    size_t n = sb_xml_count_children(devices, "disk");
    int rc;

    if (n == 0)
        return 0;
    if (!(def->disks = calloc(n, sizeof(*def->disks))))
        return sb_error_oom();
    for (xmlNode *c = devices->children; c; c = c->next) {
        if (!sb_xml_is(c, "disk"))
            continue;
        sb_domdisk *d = &def->disks[def->ndisks++];
        if ((rc = parse_disk(c, source, d)) < 0)
            return rc;
        for (size_t i = 0; i + 1 < def->ndisks; i++)
            if (strcmp(def->disks[i].target, d->target) == 0)
                return sb_xml_error_at(source, c, SB_ERR_XML_ERROR,
                                       "domain disk target '%s' is used twice", d->target);
    }
    return 0;
}

int sb_domdef_from_node(const xmlNode *root, const char *source_name, sb_domdef **out)
{
    sb_domdef *def;
    int rc;

    *out = NULL;
    if (!sb_xml_is(root, "domain") && !sb_xml_is(root, "inactiveDomain"))
        return sb_xml_error_at(source_name, root, SB_ERR_XML_ERROR,
                               "expected root element <domain>, found <%s>",
                               root ? (const char *)root->name : "");
    if (!(def = calloc(1, sizeof(*def))))
        return sb_error_oom();
    if ((rc = sb_xml_prop(root, "type", &def->type)) < 0)
        goto error;
    if (!def->type || !*def->type) {
        rc = sb_xml_error_at(source_name, root, SB_ERR_XML_ERROR,
                             "missing domain type attribute in <%s>", (const char *)root->name);
        goto error;
    }
    xmlNode *name = sb_xml_child(root, "name");
    if (name && (rc = sb_xml_text(name, &def->name)) < 0)
        goto error;
    if (!def->name || !*def->name) {
        rc = sb_xml_error_at(source_name, root, SB_ERR_XML_ERROR,
                             "missing <name> in <%s>", (const char *)root->name);
        goto error;
    }
    xmlNode *uuid = sb_xml_child(root, "uuid");
    if (uuid && (rc = sb_xml_text(uuid, &def->uuid)) < 0)
        goto error;
    if ((rc = parse_disks(root, source_name, def)) < 0)
        goto error;
    *out = def;
    return 0;

error:
    sb_domdef_free(def);
    return rc;
}

int sb_domdef_parse(const char *xml, size_t len, sb_domdef **out)
{
    xmlDoc *doc;
    int rc;

    *out = NULL;
    if ((rc = sb_xml_read(xml, len, "domain XML", &doc)) < 0)
        return rc;
    rc = sb_domdef_from_node(xmlDocGetRootElement(doc), "domain XML", out);
    xmlFreeDoc(doc);
    return rc;
}

long sb_domdef_find_disk(const sb_domdef *def, const char *name)
{
    long found = -1;
    for (size_t i = 0; i < def->ndisks; i++) {
        const sb_domdisk *d = &def->disks[i];
        if (name[0] != '/') {
            if (strcmp(d->target, name) == 0)
                return (long)i;
        } else if (d->src_path && strcmp(d->src_path, name) == 0) {
            if (found >= 0)
                return -2;
            found = (long)i;
        }
    }
    return found;
}
