/* refhv's table, capabilities (per mode, see refhv.h) and connection. */
#include "refhv.h"
#include "fixture_file.h"

#include <string.h>

const struct sb_host_api *hv_host;

#if REFHV_VBOX
/* libvirt's VirtualBox driver (spec §6.3). */
static const struct sb_plugin_caps hv_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_REDEFINE |
                    SB_SNAPSHOT_CREATE_CURRENT | SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = 0,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_METADATA,
    .xml_flags = 0,
    .meta_owner = SB_META_HYPERVISOR,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_REDEFINE,
    .names_unique = 0,
};
#else
/* libvirt's ESX driver (spec §6.2). */
static const struct sb_plugin_caps hv_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .create_flags = SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = 0,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY,
    /* ROOTS is DESCENDANTS for the children listings */
    .list_flags = SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_METADATA | SB_SNAPSHOT_LIST_LEAVES,
    .xml_flags = 0,
    .meta_owner = SB_META_HYPERVISOR,
    .disk_override = SB_DISK_OVERRIDE_NONE,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
    /* vSphere's depth limit (31); a per-VM limit below vSphere's 496,
     * which the esx plugin declares and is tested with against the
     * simulator: the kit's LIMIT-COUNT scenario makes that many snapshots,
     * and this fixture reads and writes its whole state file on every
     * call, so 496 made the scenario quadratic (40 s under ASan) */
    .max_snapshots = 64,
    .max_depth = 31,
};
#endif

/* The variants conn_caps can answer (see struct sb_conn). */
static struct sb_plugin_caps hv_caps_no_quiesce, hv_caps_bad, hv_caps_current_alone;

static const struct sb_plugin_caps *hv_conn_caps(sb_conn *c)
{
    return c->caps;
}

static void hv_close(sb_conn *c)
{
    if (!c)
        return;
    hv_host->free(c->file);
    hv_host->free(c->lock_file);
    hv_host->free(c);
}

static int hv_open(sb_conn **out, sb_host *h, const char *uri)
{
    size_t ln = strlen(HV_NAME);
    const struct sb_plugin_caps *caps = NULL;
    const char *rest;
    sb_conn *c;

    *out = NULL;
    if (!uri || strncmp(uri, HV_NAME, ln) != 0 || strncmp(uri + ln, ":///default", 11) != 0)
        goto bad_uri;
    rest = uri + ln + 11;
    hv_caps_no_quiesce = hv_caps;
    hv_caps_no_quiesce.create_flags &= ~(uint32_t)SB_SNAPSHOT_CREATE_QUIESCE;
    hv_caps_bad = hv_caps;
    hv_caps_bad.meta_owner = SB_META_BROKER;
    hv_caps_current_alone = hv_caps;
    hv_caps_current_alone.create_flags = SB_SNAPSHOT_CREATE_CURRENT;
    if (strcmp(rest, "?no-quiesce") == 0)
        caps = &hv_caps_no_quiesce;
    else if (strcmp(rest, "?bad-caps") == 0)
        caps = &hv_caps_bad;
    else if (strcmp(rest, "?current-alone") == 0)
        caps = &hv_caps_current_alone;
    else if (*rest)
        goto bad_uri;
    if (!(c = hv_host->alloc(sizeof(*c))))
        return hv_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    c->caps = caps;
    int rc = fx_state_files(hv_host, h, "refhv", &c->file, &c->lock_file);
    if (rc < 0) {
        hv_close(c);
        return rc;
    }
    *out = c;
    return 0;
bad_uri:
    return hv_host->set_error(h, SB_ERR_INVALID_ARG,
                              "%s plugin: unsupported URI '%s' (only %s:///default)", HV_NAME,
                              uri ? uri : "", HV_NAME);
}

static const struct sb_plugin hv_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = HV_NAME,
    .version = "1.0",
    .description = REFHV_VBOX ? "test fixture: hypervisor-owned snapshot metadata, "
                                "libvirt's VirtualBox semantics (refhv-vbox:///default)"
                              : "test fixture: hypervisor-owned snapshot metadata, "
                                "libvirt's ESX semantics (refhv:///default)",
    .caps = &hv_caps,
    .open = hv_open,
    .close = hv_close,
    .domain_list = hv_domain_list,
    .domain_get_xml = hv_domain_get_xml,
    .domain_get_state = hv_domain_get_state,
    .snapshot_create = hv_snapshot_create,
    .snapshot_revert = hv_snapshot_revert,
    .snapshot_delete = hv_snapshot_delete,
    .domain_define = hv_domain_define,
    .domain_undefine = hv_domain_undefine,
    .domain_start = hv_domain_start,
    .domain_destroy = hv_domain_destroy,
    .domain_shutdown = hv_domain_shutdown,
    .domain_suspend = hv_domain_suspend,
    .domain_resume = hv_domain_resume,
    .snapshot_list = hv_snapshot_list,
    .snapshot_get_xml = hv_snapshot_get_xml,
    .snapshot_current = hv_snapshot_current,
    .snapshot_parent = hv_snapshot_parent,
    .snapshot_exists = hv_snapshot_exists,
    .conn_caps = hv_conn_caps,
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
        return -SB_ERR_PLUGIN_ABI;
    hv_host = host;
    *out = &hv_plugin;
    return 0;
}
