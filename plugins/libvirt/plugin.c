/* libvirt plugin - the entry point, the driver table, open and close.
 *
 * Metadata is the hypervisor's: libvirt keeps each domain's snapshot tree
 * (meta_owner HYPERVISOR).  open() connects and probes the driver once;
 * conn_caps() then declares what that driver accepts, so the broker
 * refuses up front what libvirt would refuse after a round trip.
 */
#include "lvp.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>



/* libvirt prints every error on stderr unless told otherwise; the broker
 * never prints (its errors carry libvirt's message). */
static void quiet_errors(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

static int config_int(sb_conn *c, const char *key, int *dst, int min, int max)
{
    long long v;
    int r = lvp_host->config_int(c->h, key, &v);

    if (r < 0)
        return r;
    if (r == 1) {
        if (v < min || v > max)
            return lvp_host->set_error(c->h, SB_ERR_CONFIG,
                                       "libvirt plugin: '%s' is %lld, it must be %d..%d", key,
                                       v, min, max);
        *dst = (int)v;
    }
    return 0;
}

static void lv_close(sb_conn *c)
{
    if (!c)
        return;
    lvp_close_all(c);
    lvp_auth_free(&c->auth);
    free(c->uri);
    free(c->host);
    free(c);
}

static int lv_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c;
    int rc;

    *out = NULL;
    if (!uri || !*uri)
        return lvp_host->set_error(h, SB_ERR_CONFIG,
                                   "libvirt plugin: the host has no URI (e.g. "
                                   "uri = \"qemu+ssh://kvm7/system\")");
    if (!(c = calloc(1, sizeof(*c))))
        return lvp_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
    c->h = h;
    /* libvirt's own defaults for virsh: a probe every 5 s, 5 unanswered
     * probes and the connection is declared dead. */
    c->keepalive_interval = 5;
    c->keepalive_count = 5;
    if (!(c->uri = lvp_uri_for_libvirt(uri)) || !(c->host = lvp_uri_host(c->uri))) {
        rc = lvp_host->set_error(h, SB_ERR_NO_MEMORY, "out of memory");
        goto fail;
    }
    if ((rc = config_int(c, "keepalive_interval", &c->keepalive_interval, 0, 3600)) < 0 ||
        (rc = config_int(c, "keepalive_count", &c->keepalive_count, 0, 100)) < 0 ||
        (rc = lvp_host->config_bool(h, "readonly", &c->readonly)) < 0 ||
        (rc = lvp_auth_load(c)) < 0)
        goto fail;
    if ((rc = lvp_connect(c)) < 0) {
        rc = lvp_host->set_error(h, c->err.code, "%s", c->err.msg);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    lv_close(c);
    return rc;
}

static const struct sb_plugin_caps *lv_conn_caps(sb_conn *c)
{
    return &c->caps;
}

static const struct sb_plugin lv_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "libvirt",
    .version = "1.0",
    .description = "any libvirtd host, local or remote, through libvirt's client library "
                   "(the hypervisor keeps the snapshot metadata)",
    .caps = &lvp_caps_any,
    .open = lv_open,
    .close = lv_close,
    .domain_list = lvp_domain_list,
    .domain_get_xml = lvp_domain_get_xml,
    .domain_get_state = lvp_domain_get_state,
    .snapshot_create = lvp_snapshot_create,
    .snapshot_revert = lvp_snapshot_revert,
    .snapshot_delete = lvp_snapshot_delete,
    .domain_define = lvp_domain_define,
    .domain_undefine = lvp_domain_undefine,
    .domain_start = lvp_domain_start,
    .domain_destroy = lvp_domain_destroy,
    .domain_shutdown = lvp_domain_shutdown,
    .domain_suspend = lvp_domain_suspend,
    .domain_resume = lvp_domain_resume,
    .snapshot_list = lvp_snapshot_list,
    .snapshot_get_xml = lvp_snapshot_get_xml,
    .snapshot_current = lvp_snapshot_current,
    .snapshot_parent = lvp_snapshot_parent,
    .snapshot_exists = lvp_snapshot_exists,
    .conn_caps = lv_conn_caps,
    .domain_validate = lvp_domain_validate,
    .snapshot_usage = lvp_snapshot_usage,
    .domain_job_info = lvp_domain_job_info,
    .domain_job_abort = lvp_domain_job_abort,
    .domain_get_state_reason = lvp_domain_get_state_reason,
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor);

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor)
{
    (void)host_minor;
    if (host_major != SB_PLUGIN_ABI_MAJOR)
        return host->set_error(NULL, SB_ERR_PLUGIN_ABI,
                               "libvirt plugin: built for plugin ABI %u, the broker has %u",
                               SB_PLUGIN_ABI_MAJOR, host_major);
    lvp_host = host;
    if (virInitialize() < 0)
        return host->set_error(NULL, SB_ERR_PLUGIN_LOAD, "libvirt plugin: virInitialize failed");
    virSetErrorFunc(NULL, quiet_errors);
    *out = &lv_plugin;
    return 0;
}
