/* sb_plugin_describe: a plugin's identity and capabilities, for people
 * (plugin-info) and for conformance tools (plugin-info --json); and the
 * capabilities of one connection (sb_connection_get_caps), which the
 * conformance kit adapts to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "jsonout/jsonout.h"
#include "plugin/dispatch.h"
#include "plugin/flag_names.h"
#include "plugin/ops.h"
#include "store/names.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

static const char *meta_owner_name(uint32_t v)
{
    return v == SB_META_HYPERVISOR ? "hypervisor" : "broker";
}

static const char *override_name(uint32_t v)
{
    switch (v) {
    case SB_DISK_OVERRIDE_MATCH: return "match";
    case SB_DISK_OVERRIDE_NONE: return "none";
    default: return "allowed";
    }
}

static const char *create_parse_name(uint32_t v)
{
    return v == SB_CREATE_PARSE_REDEFINE ? "redefine" : "create";
}

/* The words of the bits in mask (flag_names.c), lowest bit first. */
static void add_flags(sb_buf *b, int family, uint32_t mask)
{
    int first = 1;
    for (uint32_t bit = 1; bit; bit <<= 1) {
        const char *word = (mask & bit) ? sb_flag_option(family, bit) : NULL;
        if (!word)
            continue;
        sb_buf_addf(b, "%s%s", first ? "" : " ", word);
        first = 0;
    }
    if (first)
        sb_buf_add(b, "-");
}

static void add_ops(sb_buf *b, const sb_loaded_plugin *p)
{
    int first = 1;
    for (int op = 0; op < SB_OP__COUNT; op++) {
        if (!sb_dispatch_has(p, (enum sb_plugin_op)op))
            continue;
        sb_buf_addf(b, "%s%s", first ? "" : " ", sb_plugin_op_desc((enum sb_plugin_op)op)->name);
        first = 0;
    }
}

struct flag_row {
    const char *label, *key;
    int family;
    uint32_t mask;
};

/* The JSON form (docs/snapbroker.1, JSON OUTPUT: plugin-info). */
static int describe_json(char **out, const sb_loaded_plugin *p, const char *abi,
                         const struct flag_row *flags, size_t nflags)
{
    const struct sb_plugin_caps *c = &p->caps;
    sb_jdoc d;
    json_object *o = sb_jdoc_init(&d, 0);

    sb_jdoc_str(&d, o, "name", p->name);
    sb_jdoc_str(&d, o, "version", p->version);
    sb_jdoc_str(&d, o, "description", p->description);
    sb_jdoc_str(&d, o, "file", p->path);
    sb_jdoc_str(&d, o, "abi", abi);
    sb_jdoc_str(&d, o, "metadata_owner", meta_owner_name(c->meta_owner));
    sb_jdoc_str(&d, o, "disk_override", override_name(c->disk_override));
    sb_jdoc_str(&d, o, "default_location", sb_snap_location_to_string((int)c->default_location));
    sb_jdoc_bool(&d, o, "uniform_internal", c->uniform_internal);
    sb_jdoc_str(&d, o, "create_parse", create_parse_name(c->create_parse));
    sb_jdoc_bool(&d, o, "names_unique", c->names_unique);
    sb_jdoc_uint(&d, o, "name_max", c->name_max ? c->name_max : 255);
    sb_jdoc_uint(&d, o, "max_snapshots", c->max_snapshots);
    sb_jdoc_uint(&d, o, "max_depth", c->max_depth);
    for (size_t i = 0; i < nflags; i++) {
        char key[32];
        json_object *words = sb_jdoc_array(&d, o, flags[i].key);
        for (uint32_t bit = 1; bit; bit <<= 1) {
            const char *word = (flags[i].mask & bit) ? sb_flag_option(flags[i].family, bit) : NULL;
            if (word)
                sb_jdoc_str(&d, words, NULL, word);
        }
        snprintf(key, sizeof(key), "%s_mask", flags[i].key);
        sb_jdoc_uint(&d, o, key, flags[i].mask);
    }
    json_object *ops = sb_jdoc_array(&d, o, "operations");
    for (int op = 0; op < SB_OP__COUNT; op++)
        if (sb_dispatch_has(p, (enum sb_plugin_op)op))
            sb_jdoc_str(&d, ops, NULL, sb_plugin_op_desc((enum sb_plugin_op)op)->name);
    if (!(*out = sb_jdoc_text(&d)))
        return sb_error_oom();
    return 0;
}

int sb_plugin_describe(char **out, sb_broker *b, const char *name, int json)
{
    const sb_loaded_plugin *p;
    const struct sb_plugin_caps *c;
    sb_buf buf = { 0 };
    char abi[32];
    int rc;

    if (!out || !b || !name)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_plugin_describe: NULL argument");
    *out = NULL;
    if ((rc = sb_registry_load_name(&p, b->registry, &b->path, name)) < 0)
        return rc;
    c = &p->caps;
    snprintf(abi, sizeof(abi), "%u.%u", SB_PLUGIN_ABI_MAJOR, p->abi_minor);
    const struct flag_row flags[] = {
        { "Create flags:", "create_flags", SB_FLAGS_CREATE, c->create_flags },
        { "Revert flags:", "revert_flags", SB_FLAGS_REVERT, c->revert_flags },
        { "Delete flags:", "delete_flags", SB_FLAGS_DELETE, c->delete_flags },
        { "List flags:", "list_flags", SB_FLAGS_LIST, c->list_flags },
        { "XML flags:", "xml_flags", SB_FLAGS_XML, c->xml_flags },
    };
    if (json)
        return describe_json(out, p, abi, flags, sizeof(flags) / sizeof(flags[0]));
    sb_buf_addf(&buf, "%-18s %s\n%-18s %s\n%-18s %s\n%-18s %s\n%-18s %s\n", "Name:", p->name,
                "Version:", p->version, "Description:", p->description, "File:", p->path,
                "ABI:", abi);
    sb_buf_addf(&buf, "%-18s %s\n%-18s %s\n%-18s %s\n%-18s %s\n", "Metadata owner:",
                meta_owner_name(c->meta_owner), "Disk override:",
                override_name(c->disk_override), "Default location:",
                sb_snap_location_to_string((int)c->default_location), "Uniform internal:",
                c->uniform_internal ? "yes" : "no");
    sb_buf_addf(&buf, "%-18s %s\n%-18s %u\n", "Names unique:", c->names_unique ? "yes" : "no",
                "Name max:", c->name_max ? c->name_max : 255);
    sb_buf_addf(&buf, "%-18s %u\n%-18s %u\n", "Max snapshots:", c->max_snapshots,
                "Max depth:", c->max_depth);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        sb_buf_addf(&buf, "%-18s ", flags[i].label);
        add_flags(&buf, flags[i].family, flags[i].mask);
        sb_buf_add(&buf, "\n");
    }
    sb_buf_addf(&buf, "%-18s ", "Operations:");
    add_ops(&buf, p);
    sb_buf_add(&buf, "\n");
    return sb_buf_finish(&buf, out);
}

int sb_connection_get_caps(sb_connection_caps *out, const sb_connection *conn)
{
    if (!out || !conn)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_connection_get_caps: NULL argument");
    const struct sb_plugin_caps *c = conn->caps;
    *out = (sb_connection_caps){
        .create_flags = c->create_flags,
        .revert_flags = c->revert_flags,
        .delete_flags = c->delete_flags,
        .list_flags = c->list_flags,
        .xml_flags = c->xml_flags,
        .metadata_owner = meta_owner_name(c->meta_owner),
        .disk_override = override_name(c->disk_override),
        .create_parse = create_parse_name(c->create_parse),
        .default_location = (int)c->default_location,
        .uniform_internal = c->uniform_internal != 0,
        .names_unique = c->names_unique != 0,
        /* the broker's own ceiling applies whatever the plugin says */
        .name_max = c->name_max && c->name_max < SB_NAME_MAX ? c->name_max : SB_NAME_MAX,
        .max_snapshots = c->max_snapshots,
        .max_depth = c->max_depth,
        .has_metadata = c->meta_owner == SB_META_BROKER || c->hv_has_metadata,
    };
    return 0;
}

int sb_connection_supports(const sb_connection *conn, const char *operation)
{
    if (!conn || !operation)
        return 0;
    for (int op = 0; op < SB_OP__COUNT; op++)
        if (strcmp(sb_plugin_op_desc((enum sb_plugin_op)op)->name, operation) == 0)
            return sb_dispatch_has(conn->plugin, (enum sb_plugin_op)op);
    return 0;
}
