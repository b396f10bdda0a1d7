/* sb_plugin_describe: a plugin's identity and capabilities, for people
 * (plugin-info) and for conformance tools (plugin-info --json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "plugin/dispatch.h"
#include "plugin/ops.h"
#include "xml/snapdef.h"
#include "xml/xml_util.h"

struct flag_name {
    unsigned bit;
    const char *name;
};

static const struct flag_name create_names[] = {
    { SB_SNAPSHOT_CREATE_REDEFINE, "redefine" },   { SB_SNAPSHOT_CREATE_CURRENT, "current" },
    { SB_SNAPSHOT_CREATE_NO_METADATA, "no-metadata" }, { SB_SNAPSHOT_CREATE_HALT, "halt" },
    { SB_SNAPSHOT_CREATE_DISK_ONLY, "disk-only" }, { SB_SNAPSHOT_CREATE_REUSE_EXT, "reuse-external" },
    { SB_SNAPSHOT_CREATE_QUIESCE, "quiesce" },     { SB_SNAPSHOT_CREATE_ATOMIC, "atomic" },
    { SB_SNAPSHOT_CREATE_LIVE, "live" },           { SB_SNAPSHOT_CREATE_VALIDATE, "validate" },
    { 0, NULL }
};
static const struct flag_name revert_names[] = {
    { SB_SNAPSHOT_REVERT_RUNNING, "running" }, { SB_SNAPSHOT_REVERT_PAUSED, "paused" },
    { SB_SNAPSHOT_REVERT_FORCE, "force" },     { SB_SNAPSHOT_REVERT_RESET_NVRAM, "reset-nvram" },
    { 0, NULL }
};
static const struct flag_name delete_names[] = {
    { SB_SNAPSHOT_DELETE_CHILDREN, "children" },
    { SB_SNAPSHOT_DELETE_METADATA_ONLY, "metadata" },
    { SB_SNAPSHOT_DELETE_CHILDREN_ONLY, "children-only" },
    { 0, NULL }
};
static const struct flag_name list_names[] = {
    { SB_SNAPSHOT_LIST_ROOTS, "roots/descendants" }, { SB_SNAPSHOT_LIST_METADATA, "metadata" },
    { SB_SNAPSHOT_LIST_LEAVES, "leaves" },     { SB_SNAPSHOT_LIST_NO_LEAVES, "no-leaves" },
    { SB_SNAPSHOT_LIST_NO_METADATA, "no-metadata" }, { SB_SNAPSHOT_LIST_INACTIVE, "inactive" },
    { SB_SNAPSHOT_LIST_ACTIVE, "active" },     { SB_SNAPSHOT_LIST_DISK_ONLY, "disk-only" },
    { SB_SNAPSHOT_LIST_INTERNAL, "internal" }, { SB_SNAPSHOT_LIST_EXTERNAL, "external" },
    { SB_SNAPSHOT_LIST_TOPOLOGICAL, "topological" },
    { 0, NULL }
};
static const struct flag_name xml_names[] = { { SB_SNAPSHOT_XML_SECURE, "secure" }, { 0, NULL } };

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

static void add_flags(sb_buf *b, const struct flag_name *names, uint32_t mask, int json)
{
    int first = 1;
    if (json)
        sb_buf_add(b, "[");
    for (const struct flag_name *f = names; f->name; f++) {
        if (!(mask & f->bit))
            continue;
        if (json)
            sb_buf_addf(b, "%s\"%s\"", first ? "" : ", ", f->name);
        else
            sb_buf_addf(b, "%s%s", first ? "" : " ", f->name);
        first = 0;
    }
    if (json)
        sb_buf_add(b, "]");
    else if (first)
        sb_buf_add(b, "-");
}

static void add_ops(sb_buf *b, const sb_loaded_plugin *p, int json)
{
    int first = 1;
    if (json)
        sb_buf_add(b, "[");
    for (int op = 0; op < SB_OP__COUNT; op++) {
        if (!sb_dispatch_has(p, (enum sb_plugin_op)op))
            continue;
        const char *name = sb_plugin_op_desc((enum sb_plugin_op)op)->name;
        sb_buf_addf(b, json ? "%s\"%s\"" : "%s%s", first ? "" : (json ? ", " : " "), name);
        first = 0;
    }
    if (json)
        sb_buf_add(b, "]");
}

static void json_str(sb_buf *b, const char *key, const char *val, int comma)
{
    sb_buf_addf(b, "  \"%s\": \"", key);
    for (const char *s = val ? val : ""; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_buf_addf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            sb_buf_addf(b, "\\u%04x", *s);
        else
            sb_buf_addn(b, s, 1);
    }
    sb_buf_addf(b, "\"%s\n", comma ? "," : "");
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
    const struct { const char *label, *key; const struct flag_name *names; uint32_t mask; } flags[] = {
        { "Create flags:", "create_flags", create_names, c->create_flags },
        { "Revert flags:", "revert_flags", revert_names, c->revert_flags },
        { "Delete flags:", "delete_flags", delete_names, c->delete_flags },
        { "List flags:", "list_flags", list_names, c->list_flags },
        { "XML flags:", "xml_flags", xml_names, c->xml_flags },
    };
    if (json) {
        sb_buf_add(&buf, "{\n");
        json_str(&buf, "name", p->name, 1);
        json_str(&buf, "version", p->version, 1);
        json_str(&buf, "description", p->description, 1);
        json_str(&buf, "file", p->path, 1);
        json_str(&buf, "abi", abi, 1);
        json_str(&buf, "metadata_owner", meta_owner_name(c->meta_owner), 1);
        json_str(&buf, "disk_override", override_name(c->disk_override), 1);
        json_str(&buf, "default_location", sb_snap_location_to_string((int)c->default_location), 1);
        sb_buf_addf(&buf, "  \"uniform_internal\": %s,\n", c->uniform_internal ? "true" : "false");
        sb_buf_addf(&buf, "  \"create_parse\": \"%s\",\n",
                    c->create_parse == SB_CREATE_PARSE_REDEFINE ? "redefine" : "create");
        sb_buf_addf(&buf, "  \"names_unique\": %s,\n", c->names_unique ? "true" : "false");
        sb_buf_addf(&buf, "  \"name_max\": %u,\n  \"max_snapshots\": %u,\n  \"max_depth\": %u,\n",
                    c->name_max ? c->name_max : 255, c->max_snapshots, c->max_depth);
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
            sb_buf_addf(&buf, "  \"%s\": ", flags[i].key);
            add_flags(&buf, flags[i].names, flags[i].mask, 1);
            sb_buf_addf(&buf, ",\n  \"%s_mask\": %u,\n", flags[i].key, flags[i].mask);
        }
        sb_buf_add(&buf, "  \"operations\": ");
        add_ops(&buf, p, 1);
        sb_buf_add(&buf, "\n}\n");
    } else {
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
            add_flags(&buf, flags[i].names, flags[i].mask, 0);
            sb_buf_add(&buf, "\n");
        }
        sb_buf_addf(&buf, "%-18s ", "Operations:");
        add_ops(&buf, p, 0);
        sb_buf_add(&buf, "\n");
    }
    return sb_buf_finish(&buf, out);
}
