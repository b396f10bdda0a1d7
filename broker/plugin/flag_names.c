/* Flag names (see flag_names.h).  The values are flags.h's, which are
 * libvirt's: tests/unit/test_flags.c checks both against libvirt's header. */
#include "plugin/flag_names.h"

#include <stdio.h>
#include <string.h>

struct flag_row {
    int family;
    unsigned bit;
    const char *name;   /* libvirt's */
    const char *option; /* the CLI's word */
};

#define SNAP "VIR_DOMAIN_SNAPSHOT_"
static const struct flag_row rows[] = {
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_REDEFINE, SNAP "CREATE_REDEFINE", "redefine" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_CURRENT, SNAP "CREATE_CURRENT", "current" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_NO_METADATA, SNAP "CREATE_NO_METADATA", "no-metadata" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_HALT, SNAP "CREATE_HALT", "halt" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_DISK_ONLY, SNAP "CREATE_DISK_ONLY", "disk-only" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_REUSE_EXT, SNAP "CREATE_REUSE_EXT", "reuse-external" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_QUIESCE, SNAP "CREATE_QUIESCE", "quiesce" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_ATOMIC, SNAP "CREATE_ATOMIC", "atomic" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_LIVE, SNAP "CREATE_LIVE", "live" },
    { SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_VALIDATE, SNAP "CREATE_VALIDATE", "validate" },
    { SB_FLAGS_REVERT, SB_SNAPSHOT_REVERT_RUNNING, SNAP "REVERT_RUNNING", "running" },
    { SB_FLAGS_REVERT, SB_SNAPSHOT_REVERT_PAUSED, SNAP "REVERT_PAUSED", "paused" },
    { SB_FLAGS_REVERT, SB_SNAPSHOT_REVERT_FORCE, SNAP "REVERT_FORCE", "force" },
    { SB_FLAGS_REVERT, SB_SNAPSHOT_REVERT_RESET_NVRAM, SNAP "REVERT_RESET_NVRAM", "reset-nvram" },
    { SB_FLAGS_DELETE, SB_SNAPSHOT_DELETE_CHILDREN, SNAP "DELETE_CHILDREN", "children" },
    { SB_FLAGS_DELETE, SB_SNAPSHOT_DELETE_METADATA_ONLY, SNAP "DELETE_METADATA_ONLY", "metadata" },
    { SB_FLAGS_DELETE, SB_SNAPSHOT_DELETE_CHILDREN_ONLY, SNAP "DELETE_CHILDREN_ONLY",
      "children-only" },
    /* ROOTS and DESCENDANTS share bit 0: which one depends on the call */
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_ROOTS, SNAP "LIST_ROOTS", "roots/descendants" },
    { SB_FLAGS_LIST_CHILDREN, SB_SNAPSHOT_LIST_DESCENDANTS, SNAP "LIST_DESCENDANTS",
      "descendants" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_METADATA, SNAP "LIST_METADATA", "metadata" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_LEAVES, SNAP "LIST_LEAVES", "leaves" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_NO_LEAVES, SNAP "LIST_NO_LEAVES", "no-leaves" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_NO_METADATA, SNAP "LIST_NO_METADATA", "no-metadata" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_INACTIVE, SNAP "LIST_INACTIVE", "inactive" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_ACTIVE, SNAP "LIST_ACTIVE", "active" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_DISK_ONLY, SNAP "LIST_DISK_ONLY", "disk-only" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_INTERNAL, SNAP "LIST_INTERNAL", "internal" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_EXTERNAL, SNAP "LIST_EXTERNAL", "external" },
    { SB_FLAGS_LIST, SB_SNAPSHOT_LIST_TOPOLOGICAL, SNAP "LIST_TOPOLOGICAL", "topological" },
    { SB_FLAGS_XML, SB_SNAPSHOT_XML_SECURE, SNAP "XML_SECURE", "secure" },
};
#undef SNAP

static const struct flag_row *find(int family, unsigned bit)
{
    /* a children listing shares every bit but 0 with the domain listing */
    int fallback = family == SB_FLAGS_LIST_CHILDREN ? SB_FLAGS_LIST : family;
    const struct flag_row *second = NULL;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].bit != bit)
            continue;
        if (rows[i].family == family)
            return &rows[i];
        if (rows[i].family == fallback && bit != SB_SNAPSHOT_LIST_ROOTS)
            second = &rows[i];
    }
    return second;
}

const char *sb_flag_name(int family, unsigned bit)
{
    const struct flag_row *r = find(family, bit);
    return r ? r->name : NULL;
}

const char *sb_flag_option(int family, unsigned bit)
{
    const struct flag_row *r = find(family, bit);
    return r ? r->option : NULL;
}

const char *sb_flags_describe(char *buf, size_t len, int family, unsigned flags)
{
    size_t used = 0;
    unsigned unknown = 0;
    int named = 0;

    if (!len)
        return buf;
    buf[0] = '\0';
    for (unsigned bit = 1; bit; bit <<= 1) {
        const char *name;
        if (!(flags & bit))
            continue;
        if (!(name = sb_flag_name(family, bit))) {
            unknown |= bit;
            continue;
        }
        int n = snprintf(buf + used, len - used, "%s%s", named ? "|" : "", name);
        used = n < 0 ? used : (used + (size_t)n < len ? used + (size_t)n : len - 1);
        named = 1;
    }
    if (!named)
        snprintf(buf, len, "0x%x", flags);
    else if (unknown)
        snprintf(buf + used, len - used, "|0x%x (0x%x)", unknown, flags);
    else
        snprintf(buf + used, len - used, " (0x%x)", flags);
    return buf;
}
