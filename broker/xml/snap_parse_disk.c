/* <disk> inside <disks>/<revertDisks> (§3.2, §9.5). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "xml/snap_parse_internal.h"
#include "xml/xml_util.h"

#define ERR(node, code, ...) sb_xml_error_at(ctx->source, (node), (code), __VA_ARGS__)

/* Formats libvirt knows (virStorageFileFormat); the schema only allows the
 * ones that can have a backing file, the parser accepts them all (9.0). */
static const char *const known_formats[] = {
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd",
    "ploop", "cow", "qcow", "qcow2", "qed", "vmdk", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* Scale for a unit suffix (virScaleInteger).  0 = unknown suffix. */
static unsigned long long unit_scale(const char *u)
{
    static const char order[] = "kmgtpe";
    unsigned long long base, scale = 1;
    const char *p;

    if (!u || !*u || !strcasecmp(u, "b") || !strcasecmp(u, "byte") || !strcasecmp(u, "bytes"))
        return 1;
    if (!u[1] || !strcasecmp(u + 1, "iB"))
        base = 1024;
    else if (tolower((unsigned char)u[1]) == 'b' && !u[2])
        base = 1000;
    else
        return 0;
    if (!(p = strchr(order, tolower((unsigned char)u[0]))) || !*p)
        return 0;
    for (const char *q = order; q <= p; q++)
        scale *= base;
    return scale;
}

int sb_snap_parse_scaled(const struct sb_parse_ctx *ctx, const xmlNode *node,
                         unsigned long long *out, bool *present)
{
    char *text = NULL, *unit = NULL, *end;
    unsigned long long v, scale;
    int rc;

    *present = false;
    if ((rc = sb_xml_text(node, &text)) < 0)
        return rc;
    const char *t = text ? text + strspn(text, " \t\r\n") : "";
    if (!*t)
        goto out; /* empty counts as absent, as in libvirt */
    errno = 0;
    v = strtoull(t, &end, 10);
    if (*t == '-' || *t == '+' || errno || end == t || *end) {
        rc = ERR(node, SB_ERR_XML_ERROR, "Invalid value '%s' for element or attribute '%s'",
                 text, "./driver/metadata_cache/max_size");
        goto out;
    }
    if ((rc = sb_xml_prop(node, "unit", &unit)) < 0)
        goto out;
    if (!(scale = unit_scale(unit))) {
        rc = ERR(node, SB_ERR_INVALID_ARG, "unknown suffix '%s' in <max_size unit=...>", unit);
        goto out;
    }
    if (v && v > ULLONG_MAX / scale) {
        rc = ERR(node, SB_ERR_XML_ERROR, "numerical overflow: value too large: %llu%s", v,
                 unit ? unit : "");
        goto out;
    }
    *out = v * scale;
    *present = true;
out:
    free(text);
    free(unit);
    return rc;
}

static int parse_type(const struct sb_parse_ctx *ctx, const xmlNode *node, int *type)
{
    /* virStorageType names; 'none' is rejected like an unknown value. */
    static const char *const all[] = {"file", "block", "dir", "network", "volume",
                                      "nvme", "vhostuser", "vdpa", NULL};
    char *v;
    int rc;

    *type = SB_SNAPDISK_FILE;
    if ((rc = sb_xml_prop(node, "type", &v)) < 0 || !v)
        return rc;
    if (!strcmp(v, "file"))
        *type = SB_SNAPDISK_FILE;
    else if (!strcmp(v, "block"))
        *type = SB_SNAPDISK_BLOCK;
    else if (!strcmp(v, "network"))
        *type = SB_SNAPDISK_NETWORK;
    else if (in_list(all, v))
        rc = ERR(node, SB_ERR_XML_ERROR, "unsupported disk snapshot type '%s'", v);
    else
        rc = ERR(node, SB_ERR_XML_ERROR,
                 "Invalid value for attribute 'type' in element 'disk': '%s'.", v);
    free(v);
    return rc;
}

static int parse_source(const struct sb_parse_ctx *ctx, const xmlNode *src, sb_snapdisk *d)
{
    static const char *const path_attr[] = {"file", "dev", "name"};
    int rc;

    if (!(d->source = sb_xml_subtree(src)))
        return sb_error_oom();
    if ((rc = sb_xml_prop(src, path_attr[d->type], &d->src_path)) < 0)
        return rc;
    if (d->src_path && !*d->src_path) {
        free(d->src_path);
        d->src_path = NULL;
    }
    if (d->type == SB_SNAPDISK_NETWORK) {
        char *proto;
        if ((rc = sb_xml_prop(src, "protocol", &proto)) < 0)
            return rc;
        if (!proto)
            return ERR(src, SB_ERR_XML_ERROR, "missing network source protocol type for disk '%s'",
                       d->name);
        free(proto);
    } else if (d->src_path && d->src_path[0] != '/') {
        return ERR(src, SB_ERR_XML_ERROR, "disk snapshot image path '%s' must be absolute",
                   d->src_path);
    }
    return 0;
}

static int parse_driver(const struct sb_parse_ctx *ctx, const xmlNode *drv, sb_snapdisk *d)
{
    int rc;
    if ((rc = sb_xml_prop(drv, "type", &d->driver_type)) < 0)
        return rc;
    if (d->driver_type && !in_list(known_formats, d->driver_type))
        return ERR(drv, SB_ERR_CONFIG_UNSUPPORTED, "unknown disk snapshot driver '%s'",
                   d->driver_type);
    xmlNode *max = sb_xml_child(sb_xml_child(drv, "metadata_cache"), "max_size");
    if (max)
        return sb_snap_parse_scaled(ctx, max, &d->metadata_cache_max_size,
                                    &d->has_metadata_cache);
    return 0;
}

static int parse_disk(const struct sb_parse_ctx *ctx, const xmlNode *node, sb_snapdisk *d)
{
    char *snap;
    int rc;

    if ((rc = sb_xml_prop(node, "name", &d->name)) < 0)
        return rc;
    if (!d->name)
        return ERR(node, SB_ERR_INTERNAL_ERROR, "missing name from disk snapshot element");
    if ((rc = sb_xml_prop(node, "snapshot", &snap)) < 0)
        return rc;
    if (snap) {
        d->snapshot = sb_snap_location_from_string(snap);
        if (d->snapshot <= SB_LOCATION_DEFAULT)
            rc = ERR(node, SB_ERR_XML_ERROR,
                     "Invalid value for attribute 'snapshot' in element 'disk': '%s'.", snap);
        free(snap);
        if (rc < 0)
            return rc;
    }
    if ((rc = parse_type(ctx, node, &d->type)) < 0)
        return rc;
    xmlNode *src = sb_xml_child(node, "source");
    if (src && (rc = parse_source(ctx, src, d)) < 0)
        return rc;
    xmlNode *drv = sb_xml_child(node, "driver");
    if (drv && (rc = parse_driver(ctx, drv, d)) < 0)
        return rc;
    if (ctx->flags & SB_SNAP_PARSE_REDEFINE)
        d->delete_in_progress = sb_xml_child(node, "snapshotDeleteInProgress") != NULL;
    /* A path or a format implies an external snapshot of this disk. */
    if (d->snapshot == SB_LOCATION_DEFAULT && (d->src_path || d->driver_type))
        d->snapshot = SB_LOCATION_EXTERNAL;
    return 0;
}

int sb_snap_parse_disks(const struct sb_parse_ctx *ctx, const xmlNode *parent,
                        sb_snapdisk **out, size_t *nout)
{
    size_t n = 0;
    int rc;

    for (xmlNode *c = parent->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!sb_xml_is(c, "disk"))
            return ERR(c, SB_ERR_XML_ERROR, "unexpected element <%s> in <%s>",
                       (const char *)c->name, (const char *)parent->name);
        n++;
    }
    if (n == 0)
        return 0;
    if (!(*out = calloc(n, sizeof(**out))))
        return sb_error_oom();
    for (xmlNode *c = parent->children; c; c = c->next) {
        if (!sb_xml_is(c, "disk"))
            continue;
        /* Count first, so a failure leaves a consistent array to free. */
        (*nout)++;
        if ((rc = parse_disk(ctx, c, &(*out)[*nout - 1])) < 0)
            return rc;
    }
    return 0;
}
