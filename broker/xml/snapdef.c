/* The snapshot model: allocation, enumerations, small accessors. */
#include "xml/snapdef.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "xml/xml_util.h"

static const char *const state_names[] = {
    "nostate", "running", "blocked", "paused", "shutdown",
    "shutoff", "crashed", "pmsuspended", "disk-snapshot", NULL,
};

static const char *const location_names[] = {
    "default", "no", "internal", "external", "manual", NULL,
};

static const char *const disk_type_names[] = {"file", "block", "network", NULL};

static int index_of(const char *const *names, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *sb_snap_state_to_string(int state)
{
    return state >= 0 && state <= SB_STATE_DISK_SNAPSHOT ? state_names[state] : NULL;
}

int sb_snap_state_from_string(const char *s)
{
    return index_of(state_names, s);
}

const char *sb_snap_location_to_string(int loc)
{
    return loc >= 0 && loc <= SB_LOCATION_MANUAL ? location_names[loc] : NULL;
}

int sb_snap_location_from_string(const char *s)
{
    return index_of(location_names, s);
}

const char *sb_snapdisk_type_to_string(int type)
{
    return type >= 0 && type <= SB_SNAPDISK_NETWORK ? disk_type_names[type] : NULL;
}

sb_snapdef *sb_snapdef_new(void)
{
    sb_snapdef *def = calloc(1, sizeof(*def));
    if (def)
        def->active = -1;
    return def;
}

void sb_snapdisk_clear(sb_snapdisk *disk)
{
    if (!disk)
        return;
    free(disk->name);
    free(disk->src_path);
    free(disk->driver_type);
    xmlFreeDoc(disk->source);
    memset(disk, 0, sizeof(*disk));
}

static void free_disks(sb_snapdisk *disks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_snapdisk_clear(&disks[i]);
    free(disks);
}

void sb_snapdef_free(sb_snapdef *def)
{
    if (!def)
        return;
    free(def->name);
    free(def->description);
    free(def->parent);
    free(def->memory_file);
    free_disks(def->disks, def->ndisks);
    free_disks(def->revert_disks, def->nrevert_disks);
    xmlFreeDoc(def->domain);
    sb_domdef_free(def->domain_view);
    free(def->domain_uuid);
    xmlFreeDoc(def->inactive_domain);
    xmlFreeDoc(def->cookie);
    free(def);
}

bool sb_snapdef_is_external(const sb_snapdef *def)
{
    if (def->memory == SB_LOCATION_EXTERNAL)
        return true;
    for (size_t i = 0; i < def->ndisks; i++)
        if (def->disks[i].snapshot == SB_LOCATION_EXTERNAL)
            return true;
    return false;
}

int sb_snapdisk_set_path(sb_snapdisk *disk, const char *path)
{
    const char *attr = disk->type == SB_SNAPDISK_BLOCK     ? "dev"
                       : disk->type == SB_SNAPDISK_NETWORK ? "name"
                                                            : "file";
    char *copy = strdup(path);
    if (!copy)
        return sb_error_oom();
    if (!disk->source) {
        xmlNode *src;
        if (!(disk->source = xmlNewDoc((const xmlChar *)"1.0")) ||
            !(src = xmlNewDocNode(disk->source, NULL, (const xmlChar *)"source", NULL))) {
            free(copy);
            return sb_error_oom();
        }
        xmlDocSetRootElement(disk->source, src);
    }
    if (!xmlSetProp(xmlDocGetRootElement(disk->source), (const xmlChar *)attr,
                    (const xmlChar *)path)) {
        free(copy);
        return sb_error_oom();
    }
    free(disk->src_path);
    disk->src_path = copy;
    return 0;
}

int sb_snap_default_path(const char *source, const char *snapshot_name, char **out)
{
    const char *dot = strrchr(source, '.');
    size_t base = strlen(source);
    /* Drop the last suffix only if its dot is in the last path component. */
    if (dot && !strchr(dot, '/'))
        base = (size_t)(dot - source);
    size_t n = base + 1 + strlen(snapshot_name) + 1;
    char *p = malloc(n);
    if (!p)
        return sb_error_oom();
    memcpy(p, source, base);
    p[base] = '.';
    strcpy(p + base + 1, snapshot_name);
    *out = p;
    return 0;
}

int sb_snapdef_set_domain(sb_snapdef *def, const char *domain_xml)
{
    xmlDoc *doc;
    sb_domdef *dom;
    int rc;

    if (!domain_xml)
        return sb_error_set(SB_ERR_INVALID_ARG, "no domain XML given");
    if ((rc = sb_xml_read(domain_xml, strlen(domain_xml), "domain XML", &doc)) < 0)
        return rc;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!sb_xml_is(root, "domain")) {
        rc = sb_xml_error_at("domain XML", root, SB_ERR_XML_ERROR,
                             "expected root element <domain>, found <%s>",
                             (const char *)root->name);
        xmlFreeDoc(doc);
        return rc;
    }
    if ((rc = sb_domdef_from_node(root, "domain XML", &dom)) < 0) {
        xmlFreeDoc(doc);
        return rc;
    }
    sb_xml_strip_live_only(root); /* kept as an inactive definition */
    xmlFreeDoc(def->domain);
    def->domain = doc;
    sb_domdef_free(def->domain_view);
    def->domain_view = dom;
    return 0;
}

int sb_snapdef_check_domain_uuid(const sb_snapdef *def, const char *domain, const char *uuid)
{
    char *own = NULL;
    int rc = 0;

    if (def->domain && (rc = sb_xml_text(sb_xml_child(xmlDocGetRootElement(def->domain), "uuid"),
                                         &own)) < 0)
        return rc;
    const char *snap_uuid = def->domain ? own : def->domain_uuid;
    if (uuid && snap_uuid && strcasecmp(uuid, snap_uuid) != 0)
        rc = sb_error_set(SB_ERR_INVALID_ARG,
                          "definition for snapshot '%s' must use uuid %s of domain '%s', not %s",
                          def->name, uuid, domain, snap_uuid);
    free(own);
    return rc;
}
