/* Moving a snapshot definition to a host whose storage is laid out
 * differently (an import's --map-path): every local path it names, the
 * memory file, the disks of <disks> and <revertDisks> (a disk named by
 * its path too) and the disk sources of the embedded <domain> and
 * <inactiveDomain> with their backing chains, is rewritten by the longest
 * matching prefix rule. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "xml/snapdef.h"
#include "xml/snap_paths.h"
#include "xml/xml_util.h"

/* Length of from without trailing slashes ("/" stays "/"). */
static size_t prefix_len(const char *from)
{
    size_t n = strlen(from);
    while (n > 1 && from[n - 1] == '/')
        n--;
    return n;
}

int sb_path_maps_check(const sb_path_map *maps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!maps[i].from || !maps[i].to)
            return sb_error_set(SB_ERR_INVALID_ARG, "path map %zu has no %s", i + 1,
                                maps[i].from ? "new path" : "old path");
        if (maps[i].from[0] != '/' || maps[i].to[0] != '/')
            return sb_error_set(SB_ERR_INVALID_ARG,
                                "path map '%s=%s': both paths must be absolute", maps[i].from,
                                maps[i].to);
    }
    return 0;
}

int sb_path_map_apply(const sb_path_map *maps, size_t n, const char *path, char **out)
{
    const sb_path_map *best = NULL;
    size_t best_len = 0;

    *out = NULL;
    if (!path || path[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = prefix_len(maps[i].from);
        bool under = strncmp(path, maps[i].from, len) == 0 &&
                     (path[len] == '\0' || path[len] == '/' || len == 1);
        if (under && (!best || len > best_len)) {
            best = &maps[i];
            best_len = len;
        }
    }
    if (!best)
        return 0;
    const char *rest = path + (best_len == 1 ? 0 : best_len); /* keeps its leading '/' */
    size_t to_len = prefix_len(best->to);
    if (to_len == 1 && rest[0] == '/')
        to_len = 0; /* "/" + "/x" is "/x" */
    if (!(*out = malloc(to_len + strlen(rest) + 1)))
        return sb_error_oom();
    memcpy(*out, best->to, to_len);
    strcpy(*out + to_len, rest);
    return 1;
}

/* Replace *field (a malloc'd path) when a rule moves it. */
static int map_string(const sb_path_map *maps, size_t n, char **field)
{
    char *moved;
    int rc = sb_path_map_apply(maps, n, *field, &moved);
    if (rc > 0) {
        free(*field);
        *field = moved;
    }
    return rc < 0 ? rc : 0;
}

static int map_disks(const sb_path_map *maps, size_t n, sb_snapdisk *disks, size_t ndisks)
{
    int rc = 0;
    for (size_t i = 0; i < ndisks && rc == 0; i++) {
        char *moved = NULL;
        if ((rc = map_string(maps, n, &disks[i].name)) < 0 ||
            disks[i].type == SB_SNAPDISK_NETWORK ||
            (rc = sb_path_map_apply(maps, n, disks[i].src_path, &moved)) <= 0)
            continue;
        rc = sb_snapdisk_set_path(&disks[i], moved);
        free(moved);
    }
    return rc;
}

/* file= and dev= of a <source> (network sources name no local path). */
static int map_source(const sb_path_map *maps, size_t n, xmlNode *src)
{
    static const char *const attrs[] = { "file", "dev", NULL };
    int rc = 0;

    for (size_t a = 0; attrs[a] && rc == 0; a++) {
        xmlChar *v = xmlGetProp(src, (const xmlChar *)attrs[a]);
        char *moved = NULL;
        if (v && (rc = sb_path_map_apply(maps, n, (const char *)v, &moved)) > 0)
            rc = xmlSetProp(src, (const xmlChar *)attrs[a], (const xmlChar *)moved)
                     ? 0
                     : sb_error_oom();
        xmlFree(v);
        free(moved);
    }
    return rc < 0 ? rc : 0;
}

/* A domain disk (or a <backingStore>): its source, then its backing
 * chain, iteratively (chains can be long). */
static int map_disk_chain(const sb_path_map *maps, size_t n, xmlNode *disk)
{
    int rc = 0;
    while (disk && rc == 0) {
        xmlNode *src = sb_xml_child(disk, "source");
        if (src)
            rc = map_source(maps, n, src);
        disk = sb_xml_child(disk, "backingStore");
    }
    return rc;
}

static int map_domain(const sb_path_map *maps, size_t n, xmlDoc *doc)
{
    xmlNode *devices = doc ? sb_xml_child(xmlDocGetRootElement(doc), "devices") : NULL;
    int rc = 0;

    if (!devices)
        return 0;
    for (xmlNode *d = devices->children; d && rc == 0; d = d->next)
        if (sb_xml_is(d, "disk"))
            rc = map_disk_chain(maps, n, d);
    return rc;
}

int sb_snapdef_map_paths(sb_snapdef *def, const sb_path_map *maps, size_t n)
{
    int rc;

    if (!n)
        return 0;
    sb_domdef_free(def->domain_view); /* its source paths may change */
    def->domain_view = NULL;
    if ((rc = map_string(maps, n, &def->memory_file)) < 0 ||
        (rc = map_disks(maps, n, def->disks, def->ndisks)) < 0 ||
        (rc = map_disks(maps, n, def->revert_disks, def->nrevert_disks)) < 0 ||
        (rc = map_domain(maps, n, def->domain)) < 0)
        return rc;
    return map_domain(maps, n, def->inactive_domain);
}
