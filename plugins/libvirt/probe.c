/* libvirt plugin - what the connected driver accepts.
 *
 * Probed once per connection, without side effects: virConnectGetType
 * names the driver behind the URI (for a remote URI, the daemon's driver)
 * and virConnectGetLibVersion gives the daemon's libvirt.  Flag support
 * cannot be asked without acting on a domain, so the flag masks come from
 * what each driver of libvirt 9.0 accepts (virCheckFlags in
 * qemu_driver.c, test_driver.c, esx_driver.c, vbox_common.c); a driver not
 * listed gets every flag and refuses what it lacks itself.  The table is
 * documented in docs/libvirt.md. */
#include "lvp.h"

#include <stdio.h>
#include <strings.h>

#define CAPS_BASE                                        \
    .struct_size = sizeof(struct sb_plugin_caps),        \
    .meta_owner = SB_META_HYPERVISOR,                    \
    .default_location = SB_LOCATION_INTERNAL,            \
    .uniform_internal = 1

const struct sb_plugin_caps lvp_caps_any = {
    CAPS_BASE,
    .create_flags = SB_SNAPSHOT_CREATE_ALL,
    .revert_flags = SB_SNAPSHOT_REVERT_ALL,
    .delete_flags = SB_SNAPSHOT_DELETE_ALL,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_ALL,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .names_unique = 1,
};

/* qemu: everything; disks default to internal, an internal snapshot
 * covers every disk (savevm). */
static const struct sb_plugin_caps caps_qemu = {
    CAPS_BASE,
    .create_flags = SB_SNAPSHOT_CREATE_ALL,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED |
                    SB_SNAPSHOT_REVERT_FORCE | SB_SNAPSHOT_REVERT_RESET_NVRAM,
    .delete_flags = SB_SNAPSHOT_DELETE_ALL,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .names_unique = 1,
    .hv_has_metadata = 1, /* libvirt keeps the tree: HasMetadata is 1 */
};

/* test: no DISK_ONLY, REUSE_EXT or NO_METADATA; no METADATA_ONLY delete;
 * no RESET_NVRAM revert. */
static const struct sb_plugin_caps caps_test = {
    CAPS_BASE,
    .create_flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT |
                    SB_SNAPSHOT_CREATE_HALT | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_ATOMIC | SB_SNAPSHOT_CREATE_LIVE |
                    SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED |
                    SB_SNAPSHOT_REVERT_FORCE,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .names_unique = 1,
    .hv_has_metadata = 1,
};

/* esx: vSphere keeps the tree; no per-disk entries, no redefine, revert
 * takes no flag, listings by name only with three filters. */
static const struct sb_plugin_caps caps_esx = {
    CAPS_BASE,
    .create_flags = SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = 0,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_METADATA | SB_SNAPSHOT_LIST_LEAVES,
    .xml_flags = 0,
    .disk_override = SB_DISK_OVERRIDE_NONE,
    .names_unique = 1,
};

/* vbox: every create is parsed as a redefine; names need not be unique. */
static const struct sb_plugin_caps caps_vbox = {
    CAPS_BASE,
    .create_flags = SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_REDEFINE |
                    SB_SNAPSHOT_CREATE_CURRENT | SB_SNAPSHOT_CREATE_VALIDATE,
    .revert_flags = 0,
    .delete_flags = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_METADATA_ONLY,
    .list_flags = SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_METADATA,
    .xml_flags = 0,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .create_parse = SB_CREATE_PARSE_REDEFINE,
    .names_unique = 0,
};

static const struct {
    const char *type; /* virConnectGetType, compared without case */
    const struct sb_plugin_caps *caps;
    int list_by_names; /* no virDomainListAllSnapshots */
} drivers[] = {
    { "QEMU", &caps_qemu, 0 },
    { "TEST", &caps_test, 0 },
    { "ESX", &caps_esx, 1 },
    { "VBOX", &caps_vbox, 1 },
};

int lvp_caps_for_driver(struct sb_plugin_caps *out, const char *driver)
{
    *out = lvp_caps_any;
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
        if (strcasecmp(driver, drivers[i].type) == 0) {
            *out = *drivers[i].caps;
            return drivers[i].list_by_names;
        }
    }
    return 0;
}

int lvp_probe(sb_conn *c)
{
    const char *type = virConnectGetType(c->vc);

    if (!type)
        return lvp_fail_vir(c, "host '%s': cannot ask which libvirt driver runs", c->host);
    snprintf(c->driver, sizeof(c->driver), "%s", type);
    if (virConnectGetLibVersion(c->vc, &c->lib_version) < 0)
        return lvp_fail_vir(c, "host '%s': cannot ask for libvirt's version", c->host);
    c->list_by_names = lvp_caps_for_driver(&c->caps, c->driver);
    if (lvp_host)
        lvp_host->log(c->h, SB_LOG_DEBUG, "libvirt: host '%s' runs driver %s, libvirt %lu",
                      c->host, c->driver, c->lib_version);
    return 0;
}
