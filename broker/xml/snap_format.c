/* Canonical <domainsnapshot> output (§3.1 "output", §3.2, §9.8). */
#include <stdlib.h>

#include "core/error.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static void text_element(sb_buf *b, int level, const char *name, const char *text)
{
    sb_buf_indent(b, level);
    sb_buf_add(b, "<");
    sb_buf_add(b, name);
    sb_buf_add(b, ">");
    sb_buf_escape(b, text, false);
    sb_buf_add(b, "</");
    sb_buf_add(b, name);
    sb_buf_add(b, ">\n");
}

/* name='value' for a value of a fixed set (nothing to escape; none for
 * an enum out of its range) */
static void attribute(sb_buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    sb_buf_add(b, " ");
    sb_buf_add(b, name);
    sb_buf_add(b, "='");
    sb_buf_add(b, value);
    sb_buf_add(b, "'");
}

static bool source_has_content(const xmlDoc *src)
{
    const xmlNode *root = src ? xmlDocGetRootElement((xmlDoc *)src) : NULL;
    if (!root)
        return false;
    if (root->properties)
        return true;
    for (const xmlNode *c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return true;
    return false;
}

static void format_driver(sb_buf *b, const sb_snapdisk *d)
{
    if (!d->driver_type && !d->has_metadata_cache)
        return;
    sb_buf_indent(b, 3);
    sb_buf_add(b, "<driver");
    if (d->driver_type) {
        sb_buf_add(b, " type='");
        sb_buf_escape(b, d->driver_type, true);
        sb_buf_add(b, "'");
    }
    if (!d->has_metadata_cache) {
        sb_buf_add(b, "/>\n");
        return;
    }
    sb_buf_add(b, ">\n");
    sb_buf_indent(b, 4);
    sb_buf_add(b, "<metadata_cache>\n");
    sb_buf_indent(b, 5);
    sb_buf_addf(b, "<max_size unit='bytes'>%llu</max_size>\n", d->metadata_cache_max_size);
    sb_buf_indent(b, 4);
    sb_buf_add(b, "</metadata_cache>\n");
    sb_buf_indent(b, 3);
    sb_buf_add(b, "</driver>\n");
}

static void format_disk(sb_buf *b, const sb_snapdisk *d)
{
    bool storage = d->src_path || d->driver_type;
    bool children = d->delete_in_progress || (storage && (d->driver_type ||
                                                          d->has_metadata_cache ||
                                                          source_has_content(d->source)));

    sb_buf_indent(b, 2);
    sb_buf_add(b, "<disk name='");
    sb_buf_escape(b, d->name ? d->name : "", true);
    sb_buf_add(b, "'");
    if (d->snapshot > SB_LOCATION_DEFAULT)
        attribute(b, "snapshot", sb_snap_location_to_string(d->snapshot));
    if (storage)
        attribute(b, "type", sb_snapdisk_type_to_string(d->type));
    if (!children) {
        sb_buf_add(b, "/>\n");
        return;
    }
    sb_buf_add(b, ">\n");
    if (d->delete_in_progress) {
        sb_buf_indent(b, 3);
        sb_buf_add(b, "<snapshotDeleteInProgress/>\n");
    }
    if (storage) {
        format_driver(b, d);
        if (source_has_content(d->source))
            sb_xml_print_node(b, xmlDocGetRootElement(d->source), 3, 0);
    }
    sb_buf_indent(b, 2);
    sb_buf_add(b, "</disk>\n");
}

static void format_disks(sb_buf *b, const char *name, const sb_snapdisk *disks, size_t n)
{
    if (n == 0)
        return;
    sb_buf_add(b, "  <");
    sb_buf_add(b, name);
    sb_buf_add(b, ">\n");
    for (size_t i = 0; i < n; i++)
        format_disk(b, &disks[i]);
    sb_buf_add(b, "  </");
    sb_buf_add(b, name);
    sb_buf_add(b, ">\n");
}

static void format_subtree(sb_buf *b, const xmlDoc *doc, unsigned print_flags)
{
    if (doc)
        sb_xml_print_node(b, xmlDocGetRootElement((xmlDoc *)doc), 1, print_flags);
}

int sb_snapdef_print_domain(const sb_snapdef *def, char **out)
{
    sb_buf b = {0};

    *out = NULL;
    format_subtree(&b, def->domain, 0);
    return sb_buf_finish(&b, out);
}

int sb_snapdef_format(const sb_snapdef *def, unsigned flags, char **out)
{
    return sb_snapdef_format_with(def, flags, NULL, out);
}

int sb_snapdef_format_with(const sb_snapdef *def, unsigned flags, const char *domain_print,
                           char **out)
{
    unsigned strip = (flags & SB_SNAP_FORMAT_SECURE) ? 0 : SB_XML_PRINT_STRIP_SECRETS;
    sb_buf b = {0};

    *out = NULL;
    if (!def)
        return sb_error_set(SB_ERR_INVALID_ARG, "no snapshot definition to format");
    sb_buf_add(&b, "<domainsnapshot>\n");
    if (def->name)
        text_element(&b, 1, "name", def->name);
    if (def->description)
        text_element(&b, 1, "description", def->description);
    if (def->state > SB_STATE_NOSTATE && sb_snap_state_to_string(def->state))
        text_element(&b, 1, "state", sb_snap_state_to_string(def->state));
    if (def->parent) {
        sb_buf_add(&b, "  <parent>\n");
        text_element(&b, 2, "name", def->parent);
        sb_buf_add(&b, "  </parent>\n");
    }
    if (def->creation_time != 0)
        sb_buf_addf(&b, "  <creationTime>%lld</creationTime>\n", def->creation_time);
    if (def->memory > SB_LOCATION_DEFAULT) {
        sb_buf_add(&b, "  <memory");
        attribute(&b, "snapshot", sb_snap_location_to_string(def->memory));
        if (def->memory_file) {
            sb_buf_add(&b, " file='");
            sb_buf_escape(&b, def->memory_file, true);
            sb_buf_add(&b, "'");
        }
        sb_buf_add(&b, "/>\n");
    }
    format_disks(&b, "disks", def->disks, def->ndisks);
    format_disks(&b, "revertDisks", def->revert_disks, def->nrevert_disks);
    if (def->domain && domain_print && !strip) {
        sb_buf_add(&b, domain_print);
    } else if (def->domain) {
        format_subtree(&b, def->domain, strip);
    } else if (def->domain_uuid) {
        sb_buf_add(&b, "  <domain>\n");
        text_element(&b, 2, "uuid", def->domain_uuid);
        sb_buf_add(&b, "  </domain>\n");
    }
    format_subtree(&b, def->inactive_domain, strip);
    format_subtree(&b, def->cookie, 0);
    if (flags & SB_SNAP_FORMAT_INTERNAL)
        sb_buf_addf(&b, "  <active>%d</active>\n", (flags & SB_SNAP_FORMAT_CURRENT) ? 1 : 0);
    sb_buf_add(&b, "</domainsnapshot>\n");
    return sb_buf_finish(&b, out);
}
