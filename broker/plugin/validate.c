/* Validation of a plugin's driver table and capabilities block.
 *
 * The rules are the kernel's copy_struct_from_user() ones, applied to both
 * versioned structs: a shorter struct is zero-extended, a longer one is
 * accepted only when every byte we do not understand is zero, because a
 * non-zero byte there is a feature the plugin relies on and we would
 * silently ignore.  Only after the copy is complete and checked does the
 * broker use it (Redis' RM_CreateDataType does the same with its method
 * versions).
 */
#include "plugin/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "plugin/ops.h"


__attribute__((format(printf, 2, 3))) static int refuse(const char *path, const char *fmt, ...)
{
    char reason[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return sb_error_set(SB_ERR_PLUGIN_ABI, "plugin file '%s': %s", path, reason);
}

int sb_plugin_name_valid(const char *name)
{
    size_t i;

    if (!name || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return 0;
    for (i = 1; name[i]; i++) {
        char ch = name[i];
        if (i >= 32)
            return 0;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

void sb_plugin_record_clear(sb_loaded_plugin *rec)
{
    void *dl;

    if (!rec)
        return;
    dl = rec->dl;
    free(rec->path);
    free(rec->name);
    free(rec->version);
    free(rec->description);
    memset(rec, 0, sizeof(*rec));
    rec->dl = dl;
}

/* Offset of the first non-zero byte in [from, to) of p, or 0 if none. */
static size_t first_nonzero(const void *p, size_t from, size_t to)
{
    const unsigned char *b = p;
    size_t i;

    for (i = from; i < to; i++)
        if (b[i])
            return i;
    return 0;
}

/* Size checks shared by both structs: bounds, then the zero tail. */
static int check_size(const char *path, const char *what, const void *obj, uint32_t size,
                      size_t min, size_t ours)
{
    size_t bad;

    if (size < min)
        return refuse(path, "%s too short (struct_size %u, at least %zu for ABI %u.0)", what,
                      size, min, SB_PLUGIN_ABI_MAJOR);
    if (size > SB_PLUGIN_STRUCT_SIZE_MAX)
        return refuse(path, "%s struct_size %u is implausible (more than %u)", what, size,
                      SB_PLUGIN_STRUCT_SIZE_MAX);
    if (size > ours && (bad = first_nonzero(obj, ours, size)) != 0)
        return refuse(path,
                      "%s has non-zero bytes past the broker's size %zu (first at offset "
                      "%zu of %u): it uses members of a newer ABI than %u.%u",
                      what, ours, bad, size, SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR);
    return 0;
}

static int check_mask(const char *path, const char *member, uint32_t value, uint32_t known)
{
    if (value & ~known)
        return refuse(path, "capability %s has unknown bits 0x%x (known: 0x%x)", member,
                      value & ~known, known);
    return 0;
}

static int check_enum(const char *path, const char *member, uint32_t value, uint32_t lo,
                      uint32_t hi)
{
    if (value < lo || value > hi)
        return refuse(path, "capability %s has invalid value %u (expected %u..%u)", member, value,
                      lo, hi);
    return 0;
}

/* Members each valid alone that no plugin can honour together: the kit
 * would hold the plugin to a promise the broker breaks (or that no call
 * can keep), so the block is refused where the plugin is loaded or
 * connected, not found out by a failing scenario. */
static int check_contradictions(const char *path, const struct sb_plugin_caps *c)
{
    /* the broker's store keys snapshots by name: a second create of a
     * name fails OPERATION_FAILED whatever the plugin says */
    if (c->meta_owner == SB_META_BROKER && !c->names_unique)
        return refuse(path, "capability names_unique is 0 but meta_owner is BROKER, whose store "
                            "keeps names unique (declare names_unique 1)");
    /* CURRENT without REDEFINE is refused for every plugin (semantics.md
     * §2.1), so declaring it alone declares a flag no call can use */
    if ((c->create_flags & SB_SNAPSHOT_CREATE_CURRENT) &&
        !(c->create_flags & SB_SNAPSHOT_CREATE_REDEFINE))
        return refuse(path, "capability create_flags has VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT "
                            "without VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE, which it needs");
    return 0;
}

int sb_plugin_caps_copy(struct sb_plugin_caps *dst, uint32_t *out_size,
                        const struct sb_plugin_caps *caps, const char *path)
{
    const struct sb_plugin_caps *c = dst;
    int rc;

    if (!caps)
        return refuse(path, "no capabilities block (caps is NULL)");
    rc = check_size(path, "capabilities block", caps, caps->struct_size,
                    SB_PLUGIN_CAPS_SIZE_MIN, sizeof(*caps));
    if (rc < 0)
        return rc;
    if (out_size)
        *out_size = caps->struct_size;
    memset(dst, 0, sizeof(*dst));
    memcpy(dst, caps, caps->struct_size < sizeof(*dst) ? caps->struct_size : sizeof(*dst));
    if ((rc = check_mask(path, "create_flags", c->create_flags, SB_SNAPSHOT_CREATE_ALL)) < 0 ||
        (rc = check_mask(path, "revert_flags", c->revert_flags, SB_SNAPSHOT_REVERT_ALL)) < 0 ||
        (rc = check_mask(path, "delete_flags", c->delete_flags, SB_SNAPSHOT_DELETE_ALL)) < 0 ||
        (rc = check_mask(path, "list_flags", c->list_flags, SB_SNAPSHOT_LIST_ALL)) < 0 ||
        (rc = check_mask(path, "xml_flags", c->xml_flags, SB_SNAPSHOT_XML_ALL)) < 0)
        return rc;
    if ((rc = check_enum(path, "meta_owner", c->meta_owner, SB_META_BROKER,
                         SB_META_HYPERVISOR)) < 0 ||
        (rc = check_enum(path, "disk_override", c->disk_override, SB_DISK_OVERRIDE_ALLOWED,
                         SB_DISK_OVERRIDE_NONE)) < 0 ||
        (rc = check_enum(path, "default_location", c->default_location, SB_LOCATION_INTERNAL,
                         SB_LOCATION_EXTERNAL)) < 0 ||
        (rc = check_enum(path, "uniform_internal", c->uniform_internal, 0, 1)) < 0 ||
        (rc = check_enum(path, "create_parse", c->create_parse, SB_CREATE_PARSE_CREATE,
                         SB_CREATE_PARSE_REDEFINE)) < 0 ||
        (rc = check_enum(path, "names_unique", c->names_unique, 0, 1)) < 0 ||
        (rc = check_enum(path, "name_max", c->name_max, 0, 255)) < 0 ||
        (rc = check_enum(path, "readonly_unlisted_no", c->readonly_unlisted_no, 0, 1)) < 0 ||
        (rc = check_enum(path, "hv_has_metadata", c->hv_has_metadata, 0, 1)) < 0 ||
        (rc = check_enum(path, "intent_barrier", c->intent_barrier, 0, 1)) < 0)
        return rc;
    if (c->hv_has_metadata && c->meta_owner != SB_META_HYPERVISOR)
        return refuse(path, "capability hv_has_metadata is 1 but meta_owner is not HYPERVISOR");
    return check_contradictions(path, c);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Null the callbacks the plugin's minor predates, then require the
 * mandatory ones it should have. */
static int gate_and_require(sb_loaded_plugin *rec, const char *path)
{
    unsigned op;

    for (op = 0; op < SB_OP__COUNT; op++) {
        const struct sb_plugin_op_desc *d = sb_plugin_op_desc(op);
        int needed;

        if (rec->abi_minor < d->since_minor) {
            sb_plugin_op_clear(&rec->ops, op);
            continue;
        }
        needed = d->requirement == SB_OP_MANDATORY ||
                 (d->requirement == SB_OP_HYPERVISOR_META &&
                  rec->caps.meta_owner == SB_META_HYPERVISOR);
        if (needed && !sb_plugin_op_fn(&rec->ops, op))
            return refuse(path, "mandatory callback '%s' is NULL%s", d->name,
                          d->requirement == SB_OP_HYPERVISOR_META
                              ? " (required when meta_owner is HYPERVISOR)"
                              : "");
    }
    return 0;
}

int sb_plugin_validate(sb_loaded_plugin *rec, const struct sb_plugin *table, const char *path)
{
    int rc;

    if (!table)
        return refuse(path, "entry returned success but no driver table");
    /* struct_size and abi_major sit at fixed offsets in every major; past
     * them, a foreign major's layout is unknown, so nothing else is read. */
    if (table->abi_major != SB_PLUGIN_ABI_MAJOR)
        return refuse(path, "built for plugin ABI major %u, the broker has %u", table->abi_major,
                      SB_PLUGIN_ABI_MAJOR);
    rc = check_size(path, "driver table", table, table->struct_size, SB_PLUGIN_SIZE_MIN,
                    sizeof(*table));
    if (rc < 0)
        return rc;

    rec->table_size = table->struct_size;
    rec->abi_minor = table->abi_minor;
    memset(&rec->ops, 0, sizeof(rec->ops));
    memcpy(&rec->ops, table,
           table->struct_size < sizeof(rec->ops) ? table->struct_size : sizeof(rec->ops));

    if (!sb_plugin_name_valid(table->name))
        return refuse(path, "invalid plugin name '%s' (must match [a-z0-9][a-z0-9_-]{0,31})",
                      table->name ? table->name : "(null)");
    if ((rc = sb_plugin_caps_copy(&rec->caps, &rec->caps_size, table->caps, path)) < 0)
        return rc;
    if ((rc = gate_and_require(rec, path)) < 0)
        return rc;

    rec->name = strdup(table->name);
    rec->version = dup_or_empty(table->version);
    rec->description = dup_or_empty(table->description);
    if (!rec->name || !rec->version || !rec->description)
        return sb_error_oom();
    rec->ops.name = rec->name;
    rec->ops.version = rec->version;
    rec->ops.description = rec->description;
    rec->ops.caps = &rec->caps;
    return 0;
}
