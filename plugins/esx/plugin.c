/* esx plugin - the entry point, the capabilities and the connection.
 *
 * URI: esx://[user@]host[:port][/inventory/path] (https), esx+http://...
 * for a plain-HTTP endpoint (the simulator).  The host's `esx` group in
 * the configuration (docs/esx.md) gives the credentials (user and
 * password, or an auth_file), the TLS policy (ca_file, thumbprint, or
 * tls_verify = false) and timeouts.  A password is never taken from the
 * URI, and never logged.
 *
 * ESX hosts and vCenters answer the same calls and have the same
 * snapshot rules, so one capability block serves both (no conn_caps). */
#include "esx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

static const struct sb_host_api *g_host;

static const struct sb_plugin_caps esx_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    /* vSphere takes a snapshot of every disk at once (ATOMIC holds by
     * itself); REDEFINE/CURRENT/HALT/REUSE_EXT/LIVE have no vSphere
     * counterpart */
    .create_flags = SB_SNAPSHOT_CREATE_DISK_ONLY | SB_SNAPSHOT_CREATE_QUIESCE |
                    SB_SNAPSHOT_CREATE_NO_METADATA | SB_SNAPSHOT_CREATE_ATOMIC |
                    SB_SNAPSHOT_CREATE_VALIDATE,
    /* no PAUSED (vSphere has no paused state), no RESET_NVRAM */
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_FORCE,
    .delete_flags = SB_SNAPSHOT_DELETE_ALL,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE,
    .meta_owner = SB_META_HYPERVISOR,
    /* a <disks> entry must be the disk's own mode (the domain XML says
     * snapshot='internal' or 'no' for each disk) */
    .disk_override = SB_DISK_OVERRIDE_MATCH,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 1,
    .create_parse = SB_CREATE_PARSE_CREATE,
    .names_unique = 1,
    .name_max = 0,
    /* vSphere's documented limits: 496 snapshots per VM, a chain at most
     * 31 deep */
    .max_snapshots = 496,
    .max_depth = 31,
};

/* ---- configuration ---- */

static int cfg_str(sb_conn *c, const char *key, char **dst)
{
    const char *v = NULL;
    int r = g_host->config_string(c->h, key, &v);
    if (r == 1) {
        free(*dst);
        if (!(*dst = strdup(v ? v : "")))
            return esx_oom(c);
    }
    return r < 0 ? r : 0;
}

static int cfg_ms(sb_conn *c, const char *key, long *dst)
{
    long long v;
    int r = g_host->config_int(c->h, key, &v);
    if (r == 1) {
        if (v < 0 || v > 86400000LL * 7)
            return esx_error(c, SB_ERR_CONFIG,
                             "esx: '%s' in the esx group must be 0..604800000 ms, not %lld", key,
                             v);
        *dst = (long)v;
    }
    return r < 0 ? r : 0;
}

/* user and password: the esx group, else the auth file */
static int credentials(sb_conn *c)
{
    char *auth_file = NULL;
    int rc;

    if ((rc = cfg_str(c, "user", &c->user)) < 0 || (rc = cfg_str(c, "password", &c->password)) < 0 ||
        (rc = cfg_str(c, "auth_file", &auth_file)) < 0)
        goto out;
    if (c->uri.user) { /* the URI's user wins */
        free(c->user);
        if (!(c->user = strdup(c->uri.user))) {
            rc = esx_oom(c);
            goto out;
        }
    }
    if (!c->password && auth_file) {
        char *user = NULL, *pass = NULL;
        int line = 0;
        struct stat st;
        errno = 0;
        int found = esx_auth_file_lookup(auth_file, c->uri.host, &user, &pass, &line);
        if (found < 0) {
            rc = line ? esx_error(c, SB_ERR_CONFIG,
                                  "esx: %s:%d: neither a [section] nor a 'key = value' line",
                                  auth_file, line)
                      : esx_error(c, SB_ERR_CONFIG, "esx: cannot read auth_file '%s': %s",
                                  auth_file, strerror(errno));
            goto out;
        }
        if (found == 0) {
            rc = esx_error(c, SB_ERR_CONFIG,
                           "esx: auth_file '%s' has no credentials for %s ([auth-esx-%s] with "
                           "credentials=NAME, and [credentials-NAME] with authname= and "
                           "password=)",
                           auth_file, c->uri.host, c->uri.host);
            goto out;
        }
        if (stat(auth_file, &st) == 0 && (st.st_mode & 077))
            esx_log(c, SB_LOG_WARN, "esx: auth_file '%s' can be read by other users (mode %03o)",
                    auth_file, (unsigned)(st.st_mode & 0777));
        c->password = pass;
        if (!c->user) { /* the file's authname when nothing else named one */
            c->user = user;
            user = NULL;
        }
        free(user);
    }
    if (!c->user || !*c->user)
        rc = esx_error(c, SB_ERR_CONFIG,
                       "esx: no user for %s: give one in the URI (esx://USER@host), as 'user' "
                       "in the host's esx group, or as authname in its auth file",
                       c->display);
    else if (!c->password)
        rc = esx_error(c, SB_ERR_CONFIG,
                       "esx: no password for %s: set 'password' or 'auth_file' in the host's "
                       "esx group (never in the URI)",
                       c->display);
out:
    free(auth_file);
    return rc;
}

static int tls_settings(sb_conn *c)
{
    char *thumb = NULL;
    int verify = 1, rc;

    c->tls_verify = 1;
    if ((rc = g_host->config_bool(c->h, "tls_verify", &verify)) < 0)
        return rc;
    if (rc == 1)
        c->tls_verify = verify;
    if ((rc = cfg_str(c, "ca_file", &c->ca_file)) < 0 ||
        (rc = cfg_str(c, "thumbprint", &thumb)) < 0)
        return rc;
    if (thumb) {
        c->pin_len = esx_thumbprint_parse(thumb, c->pin);
        if (c->pin_len < 0) {
            c->pin_len = 0;
            rc = esx_error(c, SB_ERR_CONFIG,
                           "esx: thumbprint '%s' in the esx group is not a SHA-256 (32 bytes) "
                           "or SHA-1 (20 bytes) fingerprint in hex, like AB:CD:...",
                           thumb);
        }
        free(thumb);
    }
    if (rc == 0 && !c->uri.https && (c->pin_len || c->ca_file))
        esx_log(c, SB_LOG_WARN, "esx: %s is plain http: ca_file and thumbprint do not apply",
                c->display);
    if (rc == 0 && c->uri.https && !c->tls_verify && !c->pin_len)
        esx_log(c, SB_LOG_WARN,
                "esx: certificate verification is off for %s (tls_verify = false)", c->display);
    return rc;
}

static int settings(sb_conn *c)
{
    int rc, trace = 0;
    c->timeout_ms = 300000;
    c->connect_timeout_ms = 30000;
    c->task_timeout_ms = 3600000;
    c->cache_ms = 1000;
    if ((rc = cfg_ms(c, "timeout_ms", &c->timeout_ms)) < 0 ||
        (rc = cfg_ms(c, "connect_timeout_ms", &c->connect_timeout_ms)) < 0 ||
        (rc = cfg_ms(c, "task_timeout_ms", &c->task_timeout_ms)) < 0 ||
        (rc = cfg_ms(c, "cache_ms", &c->cache_ms)) < 0 ||
        (rc = g_host->config_bool(c->h, "trace", &trace)) < 0)
        return rc;
    c->trace = rc == 1 && trace;
    /* the change counter other processes of this machine share (changes.c) */
    return esx_changes_init(c, g_host->state_dir ? g_host->state_dir(c->h) : NULL);
}

static void esx_close(sb_conn *c)
{
    if (!c)
        return;
    esx_session_close(c);
    esx_transport_close(c);
    esx_vm_cache(c, NULL);
    esx_vms_clear(c);
    for (size_t i = 0; i < ESX_SNAPCONF_CACHE; i++) {
        free(c->snapconf[i].ref);
        esx_conf_clear(&c->snapconf[i].conf);
    }
    esx_xml_memo_clear(&c->last_xml);
    esx_conf_clear(&c->devices_memo);
    free(c->memo_vm);
    free(c->memo_cv);
    esx_ref *refs[] = { &c->root_folder, &c->property_collector, &c->view_manager,
                        &c->session_manager, &c->search_index, &c->scope, &c->view };
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
        esx_ref_clear(refs[i]);
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->user);
    esx_changes_end(c);
    free(c->changes_path);
    free(c->url);
    free(c->display);
    free(c->ca_file);
    free(c->api_version);
    free(c->api_type);
    free(c->product);
    free(c->datacenter);
    esx_uri_clear(&c->uri);
    memset(c->pin, 0, sizeof(c->pin));
    free(c);
}

static int esx_open(sb_conn **out, sb_host *h, const char *uri)
{
    char why[512] = "";
    esx_buf b = { 0 };
    sb_conn *c;
    int rc;

    *out = NULL;
    if (!(c = calloc(1, sizeof(*c))))
        return g_host->set_error(h, SB_ERR_NO_MEMORY, "esx: out of memory");
    c->api = g_host;
    c->h = h;
    if ((rc = esx_uri_parse(uri, &c->uri, why, sizeof(why))) < 0) {
        rc = esx_error(c, -rc, "esx: %s", why);
        goto fail;
    }
    if (c->uri.port)
        eb_printf(&b, "%s:%d", c->uri.host, c->uri.port);
    else
        eb_adds(&b, c->uri.host);
    if (!(c->display = eb_steal(&b))) {
        rc = esx_oom(c);
        goto fail;
    }
    eb_printf(&b, "%s://%s/sdk", c->uri.https ? "https" : "http", c->display);
    if (!(c->url = eb_steal(&b))) {
        rc = esx_oom(c);
        goto fail;
    }
    if ((rc = settings(c)) < 0 || (rc = tls_settings(c)) < 0 || (rc = credentials(c)) < 0 ||
        (rc = esx_transport_open(c)) < 0 || (rc = esx_session_open(c)) < 0 ||
        (rc = esx_scope_open(c)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    c->api = g_host; /* the error is set; close quietly */
    esx_close(c);
    return rc;
}

static const struct sb_plugin esx_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "esx",
    .version = "1.0",
    .description = "VMware ESXi hosts and vCenter servers (vSphere Web Services API)",
    .caps = &esx_caps,
    .open = esx_open,
    .close = esx_close,
    .domain_list = esx_domain_list,
    .domain_get_xml = esx_domain_get_xml,
    .domain_get_state = esx_domain_get_state,
    .snapshot_create = esx_snapshot_create,
    .snapshot_revert = esx_snapshot_revert,
    .snapshot_delete = esx_snapshot_delete,
    .domain_start = esx_domain_start,
    .domain_destroy = esx_domain_destroy,
    .domain_shutdown = esx_domain_shutdown,
    .domain_suspend = esx_domain_suspend,
    .domain_resume = esx_domain_resume,
    .snapshot_list = esx_snapshot_list,
    .snapshot_get_xml = esx_snapshot_get_xml,
    .snapshot_current = esx_snapshot_current,
    .snapshot_parent = esx_snapshot_parent,
    .snapshot_exists = esx_snapshot_exists,
    .snapshot_usage = esx_snapshot_usage,
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor);
SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host, uint32_t host_major,
                                        uint32_t host_minor)
{
    (void)host_minor; /* every host service used exists since 1.0 */
    if (host_major != SB_PLUGIN_ABI_MAJOR)
        return host->set_error(NULL, SB_ERR_PLUGIN_ABI, "esx: built for plugin ABI %u, not %u",
                               SB_PLUGIN_ABI_MAJOR, host_major);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return host->set_error(NULL, SB_ERR_PLUGIN_LOAD, "esx: libcurl failed to initialise");
    g_host = host;
    *out = &esx_plugin;
    return 0;
}
