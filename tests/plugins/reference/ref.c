/* The reference plugin's table, capabilities and connection. */
#include "ref.h"
#include "fixture_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct sb_host_api *ref_host;

/* REF_OLD_ABI (tests/plugins/reference/old): the same plugin as
 * "refold" declaring ABI 1.1, with the 1.2 callback still in its table,
 * which the broker must then never call. */
#ifdef REF_OLD_ABI
#define REF_NAME "refold"
#define REF_MINOR 1u
#elif defined(REF_VALIDATE)
#define REF_NAME "refval"
#define REF_MINOR SB_PLUGIN_ABI_MINOR
#else
#define REF_NAME "ref"
#define REF_MINOR SB_PLUGIN_ABI_MINOR
#endif

/* Capabilities like libvirt's test driver, plus NO_METADATA and DISK_ONLY
 * so the broker's own handling of those flags can be tested. */
static const struct sb_plugin_caps ref_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_HALT |
                    SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_ATOMIC | SB_SNAPSHOT_CREATE_LIVE |
                    SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED |
                    SB_SNAPSHOT_REVERT_FORCE,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY |
                    SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .meta_owner = SB_META_BROKER,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
    .name_max = 0,
    .max_snapshots = 0,
    .max_depth = 0,
};

static void ref_close(sb_conn *c)
{
    if (!c)
        return;
    ref_host->free(c->file);
    ref_host->free(c->lock_file);
    ref_host->free(c);
}

static int ref_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c;

    *out = NULL;
    if (!uri || strcmp(uri, REF_NAME ":///default") != 0)
        return ref_host->set_error(h, SB_ERR_INVALID_ARG,
                                   REF_NAME " plugin: unsupported URI '%s' (only " REF_NAME
                                   ":///default)",
                                   uri ? uri : "");
    if (!(c = ref_host->alloc(sizeof(*c))))
        return ref_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    int rc = fx_state_files(ref_host, h, "domains", &c->file, &c->lock_file);
    if (rc < 0) {
        ref_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ref_call_log(const char *callback)
{
    const char *path = getenv("SB_REF_CALL_LOG");
    char line[64];
    int fd, n;

    if (!path || !*path || (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return;
    n = snprintf(line, sizeof(line), "%s\n", callback);
    if (write(fd, line, (size_t)n) != n) {
        /* a test that reads the log fails on the missing line */
    }
    close(fd);
}

#ifdef REF_VALIDATE
/* REF_VALIDATE (tests/plugins/reference/validate, "refval"): a check of
 * a redefined snapshot's <domain> that logs each call and refuses a
 * definition whose <description> is "refuse". */
static int ref_domain_validate(sb_conn *c, const char *domain_xml, unsigned flags)
{
    ref_call_log("domain_validate");
    if (flags)
        return ref_host->set_error(c->h, SB_ERR_INVALID_ARG, "unsupported flags (0x%x)", flags);
    if (strstr(domain_xml, "<description>refuse</description>"))
        return ref_host->set_error(c->h, SB_ERR_CONFIG_UNSUPPORTED,
                                   "refval refuses a definition whose <description> is 'refuse'");
    return 0;
}
#endif

static const struct sb_plugin ref_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = REF_MINOR,
    .name = REF_NAME,
    .version = "1.0",
    .description = "reference test plugin (ref:///default), like libvirt's test:///default",
    .caps = &ref_caps,
    .open = ref_open,
    .close = ref_close,
    .domain_list = ref_domain_list,
    .domain_get_xml = ref_domain_get_xml,
    .domain_get_state = ref_domain_get_state,
    .snapshot_create = ref_snapshot_create,
    .snapshot_revert = ref_snapshot_revert,
    .snapshot_delete = ref_snapshot_delete,
    .domain_define = ref_domain_define,
    .domain_undefine = ref_domain_undefine,
    .domain_start = ref_domain_start,
    .domain_destroy = ref_domain_destroy,
    .domain_shutdown = ref_domain_shutdown,
    .domain_suspend = ref_domain_suspend,
    .domain_resume = ref_domain_resume,
    .domain_is_active = ref_domain_is_active,
#ifdef REF_VALIDATE
    .domain_validate = ref_domain_validate,
#endif
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor);
SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor)
{
    (void)host_minor; /* everything used here exists since 1.0 */
    if (host_major != SB_PLUGIN_ABI_MAJOR)
        return -SB_ERR_PLUGIN_ABI; /* no usable set_error in a foreign major */
    ref_host = host;
    *out = &ref_plugin;
    return 0;
}
