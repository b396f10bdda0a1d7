/* One source, many test plugins: each FX_* macro (set by meson) breaks the
 * otherwise valid table in exactly one way, so every fixture .so tests one
 * loader rule.  Without any FX_* macro this is a valid plugin "good". */
#include <limits.h>
#include <string.h>

#include "snapbroker/plugin.h"

#ifndef FX_NAME
#define FX_NAME "good"
#endif

static const struct sb_host_api *host;

static int fx_open(sb_conn **out, sb_host *h, const char *uri)
{
#ifdef FX_OPEN_STATE
    /* Uses the host services the way a real plugin's open does, and
     * replaces their messages with its own (as the qemu plugin does): the
     * broker must still say what failed, and leave nothing behind when the
     * URI is refused after state_dir() made the directory. */
    long long n;
    if (host->config_int(h, "n", &n) < 0)
        return host->set_error(h, SB_ERR_CONFIG, "fixture: bad value in the configuration");
    if (!host->state_dir(h))
        return host->set_error(h, SB_ERR_CONFIG, "fixture: the broker gave no state directory");
    if (!uri || strcmp(uri, FX_NAME ":///ok") != 0)
        return host->set_error(h, SB_ERR_INVALID_ARG, "fixture: URI '%s' is not implemented",
                               uri ? uri : "");
#else
    (void)h;
    (void)uri;
#endif
    *out = (sb_conn *)&host; /* any non-NULL token: nothing to allocate */
    return 0;
}

static void fx_close(sb_conn *c)
{
    (void)c;
}

static int fx_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    (void)c;
    (void)flags;
    *out_names = NULL;
    *out_n = 0;
    return 0;
}

static int fx_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    (void)c;
    (void)flags;
    *out_xml = NULL;
    return host->set_error(NULL, SB_ERR_NO_DOMAIN, "no domain '%s'", domain);
}

static int fx_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    (void)c;
    (void)domain;
    *out_state = SB_DOMAIN_SHUTOFF;
    return 0;
}

/* Misbehaving on purpose: fails without a message, so dispatch must add
 * one naming plugin and operation. */
static int fx_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                              unsigned flags)
{
    (void)out_xml;
    (void)c;
    (void)domain;
    (void)xml;
    (void)flags;
    return -SB_ERR_OPERATION_FAILED;
}

/* Misbehaving on purpose: returns a value outside the error enum. */
__attribute__((unused)) static int fx_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                              unsigned flags)
{
    (void)out_xml;
    (void)c;
    (void)domain;
    (void)xml;
    (void)flags;
    host->set_error(NULL, SB_ERR_HYPERVISOR, "revert failed");
    return -4242;
}

/* Misbehaving on purpose: succeeds but leaves an error message behind. */
static int fx_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
    (void)c;
    (void)domain;
    (void)xml;
    (void)flags;
    host->set_error(NULL, SB_ERR_HYPERVISOR, "stray message");
    return 0;
}

__attribute__((unused)) static int fx_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                            const char *from, unsigned flags)
{
    (void)c;
    (void)domain;
    (void)from;
    (void)flags;
    *out_names = NULL;
    *out_n = 0;
    return 0;
}

#ifdef FX_CAPS_NONZERO_TAIL
static const struct {
    struct sb_plugin_caps c;
    uint32_t future;
} caps_ext = {{.struct_size = sizeof(caps_ext),
               .create_flags = SB_SNAPSHOT_CREATE_HALT,
               .meta_owner = SB_META_BROKER,
               .disk_override = SB_DISK_OVERRIDE_ALLOWED,
               .default_location = SB_LOCATION_INTERNAL,
               .names_unique = 1},
              7};
#define CAPS (&caps_ext.c)
#else
static const struct sb_plugin_caps caps = {
    .struct_size = sizeof(caps),
#ifdef FX_UNKNOWN_BITS
    .create_flags = SB_SNAPSHOT_CREATE_ALL | (1u << 20),
#else
    .create_flags = SB_SNAPSHOT_CREATE_HALT | SB_SNAPSHOT_CREATE_DISK_ONLY,
#endif
    .revert_flags = SB_SNAPSHOT_REVERT_FORCE,
    .delete_flags = 0,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = 0,
#if defined(FX_BAD_META_OWNER)
    .meta_owner = 7,
#elif defined(FX_HV_NO_LIST)
    .meta_owner = SB_META_HYPERVISOR,
#else
    .meta_owner = SB_META_BROKER,
#endif
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .names_unique = 1, /* the broker's store keeps names unique */
#ifdef FX_HV_METADATA_BROKER
    .hv_has_metadata = 1, /* only for hypervisor-owned metadata */
#endif
};
#define CAPS (&caps)
#endif

#ifdef FX_MISSING_MANDATORY
#define FX_REVERT NULL
#else
#define FX_REVERT fx_snapshot_revert
#endif

#define FX_MANDATORY                                                                  \
    .open = fx_open, .close = fx_close, .domain_list = fx_domain_list,               \
    .domain_get_xml = fx_domain_get_xml, .domain_get_state = fx_domain_get_state,    \
    .snapshot_create = fx_snapshot_create, .snapshot_revert = FX_REVERT,             \
    .snapshot_delete = fx_snapshot_delete

#if defined(FX_OLD_MINIMAL)
/* A plugin compiled against a header that had only the mandatory part:
 * the frozen layout below ends at snapshot_delete, so reading past it
 * would be a bug in the broker (ASan catches that on the redzone). */
struct old_plugin {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    const char *name, *version, *description;
    const struct sb_plugin_caps *caps;
    int (*open)(sb_conn **, sb_host *, const char *);
    void (*close)(sb_conn *);
    int (*domain_list)(char ***, size_t *, sb_conn *, unsigned);
    int (*domain_get_xml)(char **, sb_conn *, const char *, unsigned);
    int (*domain_get_state)(int *, sb_conn *, const char *);
    int (*snapshot_create)(char **, sb_conn *, const char *, const char *, unsigned);
    int (*snapshot_revert)(char **, sb_conn *, const char *, const char *, unsigned);
    int (*snapshot_delete)(sb_conn *, const char *, const char *, unsigned);
};
_Static_assert(sizeof(struct old_plugin) == SB_PLUGIN_SIZE_MIN, "frozen layout");
static const struct old_plugin table_old = {
    sizeof(struct old_plugin), SB_PLUGIN_ABI_MAJOR, 0, FX_NAME, "1.0", "minimal old plugin",
    CAPS, fx_open, fx_close, fx_domain_list, fx_domain_get_xml, fx_domain_get_state,
    fx_snapshot_create, fx_snapshot_revert, fx_snapshot_delete};
#define TABLE ((const struct sb_plugin *)(const void *)&table_old)

#elif defined(FX_NEWER_ZERO_TAIL) || defined(FX_NONZERO_TAIL)
/* A plugin built against a newer header: one more member. */
__attribute__((unused)) static int fx_future(sb_conn *c)
{
    (void)c;
    return 0;
}

static const struct {
    struct sb_plugin p;
    int (*future_op)(sb_conn *c);
} table_new = {{.struct_size = sizeof(table_new),
                .abi_major = SB_PLUGIN_ABI_MAJOR,
                .abi_minor = SB_PLUGIN_ABI_MINOR + 1,
                .name = FX_NAME,
                .version = "2.0",
                .description = "newer plugin",
                .caps = CAPS,
                FX_MANDATORY},
#ifdef FX_NONZERO_TAIL
               fx_future
#else
               NULL
#endif
};
#define TABLE (&table_new.p)

#else
static const struct sb_plugin table = {
#if defined(FX_TOO_SHORT)
    .struct_size = SB_PLUGIN_SIZE_MIN - sizeof(void *),
#else
    .struct_size = sizeof(table),
#endif
#ifdef FX_WRONG_MAJOR
    .abi_major = SB_PLUGIN_ABI_MAJOR + 1,
#else
    .abi_major = SB_PLUGIN_ABI_MAJOR,
#endif
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = FX_NAME,
    .version = "1.0",
    .description = "loader test fixture",
#ifdef FX_NULL_CAPS
    .caps = NULL,
#else
    .caps = CAPS,
#endif
    FX_MANDATORY,
#ifndef FX_HV_NO_LIST
    .snapshot_list = fx_snapshot_list,
#endif
};
#define TABLE (&table)
#endif

#ifndef FX_NO_ENTRY
SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out, const struct sb_host_api *h,
                                        uint32_t host_major, uint32_t host_minor);
SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out, const struct sb_host_api *h,
                                        uint32_t host_major, uint32_t host_minor)
{
    (void)host_major;
    (void)host_minor;
    host = h;
    *out = TABLE; /* the loader must ignore it when the entry fails */
#if defined(FX_ENTRY_ERROR_MSG)
    return h->set_error(NULL, SB_ERR_PLUGIN_ABI, "needs broker ABI 1.%u or newer", host_minor + 5);
#elif defined(FX_ENTRY_ERROR_SILENT)
    return -SB_ERR_PLUGIN_LOAD;
#elif defined(FX_ENTRY_INT_MIN)
    return INT_MIN; /* no class: its negation overflows */
#else
    return 0;
#endif
}
#else
/* Something is exported, just not the entry point. */
SB_PLUGIN_EXPORT const struct sb_plugin *sb_plugin_entry_v0(void);
SB_PLUGIN_EXPORT const struct sb_plugin *sb_plugin_entry_v0(void)
{
    return TABLE;
}
#endif
