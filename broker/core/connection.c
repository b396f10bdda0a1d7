/* sb_connect: host (configured name or URI) -> plugin -> open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "core/host_names.h"
#include "plugin/dispatch.h"
#include "plugin/validate.h"
#include "store/names.h"
#include "xml/domdef.h"

/* The plugin named by a URI's scheme ("qemu:///session" -> "qemu",
 * "esx+https://h" -> "esx"). */
static int plugin_from_uri(const char *uri, char *name, size_t size)
{
    const char *colon = strstr(uri, "://");
    size_t len = colon ? (size_t)(colon - uri) : 0;
    const char *plus = memchr(uri, '+', len);

    if (plus)
        len = (size_t)(plus - uri);
    if (!colon || len == 0 || len >= size)
        return sb_error_set(SB_ERR_INVALID_ARG,
                            "'%s' is neither a configured host nor a URI (scheme://...)", uri);
    memcpy(name, uri, len);
    name[len] = '\0';
    return 0;
}

static const sb_config_host *host_by_uri(const sb_config *cfg, const char *uri)
{
    for (size_t i = 0; i < cfg->nhosts; i++)
        if (cfg->hosts[i].uri && strcmp(cfg->hosts[i].uri, uri) == 0)
            return &cfg->hosts[i];
    return NULL;
}

static int resolve_host(sb_connection *c, const char *host, const sb_config_host **out_cfg,
                        char *plugin, size_t plugin_size)
{
    const sb_config *cfg = c->broker->cfg;
    const sb_config_host *h = NULL;
    int rc;

    *out_cfg = NULL;
    if (!host) {
        if (!cfg->default_host)
            return sb_error_set(SB_ERR_CONFIG, "%s: no host configured and none given",
                                cfg->path);
        host = cfg->default_host;
    }
    if ((h = sb_config_find_host(cfg, host)) || (h = host_by_uri(cfg, host))) {
        snprintf(plugin, plugin_size, "%s", h->plugin);
        c->host_name = strdup(h->name);
        c->uri = strdup(h->uri ? h->uri : "");
        *out_cfg = h;
        sb_host_names_warn(cfg, h);
    } else {
        if ((rc = plugin_from_uri(host, plugin, plugin_size)) < 0)
            return rc;
        c->host_name = sb_host_name_from_uri(host);
        c->uri = strdup(host);
    }
    if (!c->host_name || !c->uri)
        return sb_error_oom();
    return sb_name_check_path_component("host", c->host_name);
}

/* Host progress sink -> the broker's public progress callback. */
static void progress_adapter(void *data, const char *plugin, const char *host, const char *what,
                             unsigned percent)
{
    sb_broker *b = data;
    (void)plugin;
    (void)host;
    if (b->progress)
        b->progress(b->progress_opaque, what, percent);
}

/* ABI 1.1: a plugin whose capabilities depend on what open() found.  The
 * block is checked like the table's caps; who owns the metadata decided
 * which callbacks the loader required, so it cannot change here. */
static int adopt_conn_caps(sb_connection *c)
{
    const struct sb_plugin_caps *caps;
    int rc;

    if (!c->plugin->ops.conn_caps || !(caps = c->plugin->ops.conn_caps(c->conn)))
        return 0;
    if ((rc = sb_plugin_caps_copy(&c->conn_caps, NULL, caps, c->plugin->path)) < 0) {
        sb_error_prefix("host '%s': conn_caps", c->host_name);
        return rc;
    }
    if (c->conn_caps.meta_owner != c->plugin->caps.meta_owner)
        return sb_error_set(SB_ERR_PLUGIN_ABI,
                            "plugin file '%s': conn_caps for host '%s' changes meta_owner "
                            "(%u, the plugin declares %u)",
                            c->plugin->path, c->host_name, c->conn_caps.meta_owner,
                            c->plugin->caps.meta_owner);
    c->caps = &c->conn_caps;
    return 0;
}

int sb_connect(sb_connection **out, sb_broker *b, const char *host, unsigned flags)
{
    const sb_config_host *hcfg;
    char plugin[64];
    char *state_dir = NULL;
    sb_connection *c;
    int rc;

    if (!out || !b)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_connect: NULL argument");
    *out = NULL;
    if (flags & ~(unsigned)SB_CONNECT_READONLY)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_connect: unsupported flags (0x%x)",
                            flags & ~(unsigned)SB_CONNECT_READONLY);
    if (!(c = calloc(1, sizeof(*c))))
        return sb_error_oom();
    c->broker = b;
    c->readonly = flags & SB_CONNECT_READONLY;
    if ((rc = resolve_host(c, host, &hcfg, plugin, sizeof(plugin))) < 0)
        goto fail;
    if ((rc = sb_registry_load_name(&c->plugin, b->registry, &b->path, plugin)) < 0)
        goto fail;
    c->caps = &c->plugin->caps;
    if (asprintf(&state_dir, "%s/hosts/%s/plugin-%s", b->cfg->state_dir, c->host_name,
                 c->plugin->name) < 0) {
        state_dir = NULL;
        rc = sb_error_oom();
        goto fail;
    }
    struct sb_host_params hp = {
        .plugin = c->plugin->name,
        .host = c->host_name,
        .state_dir = state_dir,
        .state_root = b->cfg->state_dir,
        .group = hcfg ? hcfg->group : NULL,
    };
    rc = sb_host_new(&c->host, &hp);
    free(state_dir);
    if (rc < 0)
        goto fail;
    sb_host_set_ctx(c->host, c);
    sb_host_set_progress_sink(c->host, progress_adapter, b);
    if (sb_conn_broker_meta(c))
        sb_host_set_tree_ops(c->host, &sb_api_tree_ops);
    /* The tree ops are installed, but there is no sb_conn to ask about a
     * domain's existence until open returns. */
    c->tree_barred = "open";
    SB_DISPATCH(rc, c->plugin, open, &c->conn, c->host, c->uri);
    c->tree_barred = NULL;
    if (rc < 0) {
        sb_error_prefix("cannot open host '%s' (%s)", c->host_name, c->uri);
        sb_host_discard_state(c->host); /* a refused URI leaves no host behind */
        goto fail;
    }
    if ((rc = adopt_conn_caps(c)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    sb_disconnect(c);
    return rc;
}

void sb_disconnect(sb_connection *c)
{
    if (!c)
        return;
    sb_conn_store_drop(c);
    free(c->live_uuid.domain);
    free(c->live_uuid.xml);
    free(c->live_uuid.uuid);
    xmlFreeDoc(c->memo_domain);
    free(c->memo_domain_print);
    /* a store opened from close would outlive the connection */
    c->tree_barred = "close";
    if (c->conn && c->plugin->ops.close)
        c->plugin->ops.close(c->conn);
    /* The plugin's state directory is made at open (plugins may count on
     * it); if this connection made it and nothing was put in it, a command
     * that only read leaves no trace: no STATE/hosts/<host>/, and for root
     * no /var/lib/snapbroker (test cli-readonly-state).  Only empty
     * directories go; a plugin making its files with mkdir -p (qemu) does
     * not mind another process removing them between its open and write. */
    sb_host_discard_state(c->host);
    sb_host_free(c->host);
    free(c->host_name);
    free(c->uri);
    free(c);
}

const char *sb_connection_host(const sb_connection *c)
{
    return c->host_name;
}

const char *sb_connection_plugin(const sb_connection *c)
{
    return c->plugin->name;
}

int sb_conn_check_writable(const sb_connection *c, const char *what)
{
    if (c->readonly)
        return sb_error_set(SB_ERR_OPERATION_DENIED,
                            "%s is not allowed on a read-only connection", what);
    return 0;
}

void sb_conn_store_drop(sb_connection *c)
{
    sb_store_close(c->cache);
    free(c->cache_domain);
    c->cache = NULL;
    c->cache_domain = NULL;
    c->cache_writable = false;
}

/* Ask the plugin whether domain exists before its store is opened.  A
 * tree service called from there would open that same store, ask again,
 * and so on without end: meanwhile they refuse. */
static int domain_exists_unbarred(sb_connection *c, const char *domain)
{
    const char *outer = c->tree_barred;
    int rc;

    c->tree_barred = "domain_get_state or domain_is_active while the broker opens the "
                     "domain's store";
    rc = sb_conn_domain_exists(c, domain);
    c->tree_barred = outer;
    return rc;
}

bool sb_conn_store_hold(sb_connection *c, const char *domain)
{
    if (c->held_domain)
        return false;
    c->held_domain = domain;
    return true;
}

void sb_conn_store_unhold(sb_connection *c, bool held)
{
    if (held)
        c->held_domain = NULL;
}

/* Open the store of domain (or take the cached one); known: the caller
 * has already asked the plugin about the domain. */
static int conn_store(sb_connection *c, const char *domain, bool writable, bool known,
                      sb_store **out)
{
    int rc;

    *out = NULL;
    if (c->cache && sb_store_removed(c->cache)) /* its domain was undefined */
        sb_conn_store_drop(c);
    if (c->cache && strcmp(c->cache_domain, domain) == 0 && (c->cache_writable || !writable)) {
        rc = sb_store_refresh(c->cache);
        if (rc == 0) {
            *out = c->cache;
            return 0;
        }
        /* removed by another process between the check above and the
         * refresh: the domain is asked about again, as after a removal
         * seen in time */
        if (!sb_store_removed(c->cache))
            return rc;
        sb_conn_store_drop(c);
    }
    known = known || (c->cache_domain && strcmp(c->cache_domain, domain) == 0);
    sb_conn_store_drop(c);
    /* The plugin knows which domains exist; the store would happily open
     * (read-only: an empty tree) for any name. */
    if (!known && (rc = domain_exists_unbarred(c, domain)) < 0)
        return rc;
    if ((rc = sb_store_open(c->broker->cfg->state_dir, c->host_name, domain,
                            writable ? SB_STORE_WRITABLE : 0, &c->cache)) < 0)
        return rc;
    if (!(c->cache_domain = strdup(domain))) {
        sb_conn_store_drop(c);
        return sb_error_oom();
    }
    c->cache_writable = writable;
    *out = c->cache;
    return 0;
}

int sb_conn_store(sb_connection *c, const char *domain, bool writable, sb_store **out)
{
    return conn_store(c, domain, writable, false, out);
}

int sb_dom_open(sb_dom *d, sb_connection *c, const char *domain, unsigned mode)
{
    int rc;

    *d = (sb_dom){ .c = c, .name = domain };
    if (!sb_conn_broker_meta(c))
        return 0;
    if ((rc = conn_store(c, domain, mode & SB_DOM_WRITE, mode & SB_DOM_EXISTS, &d->s)) < 0)
        return rc;
    d->held = sb_conn_store_hold(c, domain);
    if ((mode & SB_DOM_METADATA_OPERATION) == SB_DOM_METADATA_OPERATION)
        rc = sb_conn_metadata_operation_begin(c, domain, d->s);
    else if ((mode & SB_DOM_OPERATION) == SB_DOM_OPERATION)
        rc = sb_conn_operation_begin(c, domain, d->s);
    else
        return 0;
    if (rc < 0)
        return rc;
    d->op = true;
    return 0;
}

void sb_dom_close(sb_dom *d)
{
    if (d->op)
        sb_conn_operation_end(d->s);
    d->op = false;
    sb_conn_store_release(d->c, d->s);
    d->s = NULL;
    sb_conn_store_unhold(d->c, d->held);
    d->held = false;
}

/* Replace *dst with a copy of src (NULL stays NULL). */
static int set_copy(char **dst, const char *src)
{
    char *v = NULL;
    if (src && !(v = strdup(src)))
        return sb_error_oom();
    free(*dst);
    *dst = v;
    return 0;
}

int sb_conn_live_uuid(sb_connection *c, const char *domain, const char *domain_xml,
                      const char **out_uuid)
{
    struct sb_live_uuid *l = &c->live_uuid;
    sb_domdef *dom = NULL;
    int rc;

    if (l->xml && strcmp(l->domain, domain) == 0 && strcmp(l->xml, domain_xml) == 0) {
        *out_uuid = l->uuid;
        return 0;
    }
    *out_uuid = NULL;
    if ((rc = sb_domdef_parse(domain_xml, strlen(domain_xml), &dom)) < 0)
        return rc;
    if ((rc = set_copy(&l->uuid, dom->uuid)) == 0 && (rc = set_copy(&l->domain, domain)) == 0 &&
        (rc = set_copy(&l->xml, domain_xml)) == 0)
        *out_uuid = l->uuid;
    if (rc < 0) { /* never leave a half-updated entry that could match */
        free(l->xml);
        l->xml = NULL;
    }
    sb_domdef_free(dom);
    return rc;
}

void sb_conn_store_release(sb_connection *c, sb_store *s)
{
    (void)c;
    if (s && sb_store_in_transaction(s))
        sb_store_rollback(s);
}

int sb_strdup_out(char **out, const char *s)
{
    if (!(*out = strdup(s)))
        return sb_error_oom();
    return 0;
}

int sb_names_from_nodes(char ***out_names, size_t *out_n, const sb_tree_node **nodes, size_t n)
{
    char **names = calloc(n + 1, sizeof(*names));
    if (!names)
        return sb_error_oom();
    for (size_t i = 0; i < n; i++) {
        if (!(names[i] = strdup(sb_tree_node_name(nodes[i])))) {
            sb_names_free(names, i);
            return sb_error_oom();
        }
    }
    *out_names = names;
    *out_n = n;
    return 0;
}
