/* The broker side of the host services (struct sb_host_api) and the
 * per-connection context (sb_host) a plugin receives in open().
 *
 * One static sb_host_api table serves every plugin for the life of the
 * process (plugins may keep the pointer their entry received).  Its members
 * are trampolines that find their state in the sb_host argument:
 *   - set_error, log, progress, alloc/realloc/strdup/free, config_*,
 *     state_dir: implemented here;
 *   - the XML services (snapshot_view, snapshot_format, domain_view and the
 *     *_free): forwarded to process-wide hooks the integrator installs once
 *     with sb_host_set_xml_ops() (the free functions get no sb_host, so
 *     these cannot be per connection);
 *   - the tree services (tree_*): forwarded to per-connection hooks set
 *     with sb_host_set_tree_ops(), which reach their store through
 *     sb_host_ctx(h).
 * A hook that is not installed answers -SB_ERR_NO_SUPPORT with the message
 * "host service 'NAME' is not available" (a *_free without a hook does
 * nothing), so plugins never call through NULL.
 *
 * Typical integrator use per connection:
 *     struct sb_host_params hp = { .plugin = rec->name, .host = "local",
 *                                  .state_dir = ".../hosts/local/qemu",
 *                                  .group = cfg_host->group };
 *     sb_host *h;  sb_host_new(&h, &hp);
 *     sb_host_set_ctx(h, my_connection);
 *     sb_host_set_tree_ops(h, &my_tree_ops);
 *     rec->ops.open(&conn, h, uri)   (through dispatch.h)
 *     ... rec->ops.close(conn); sb_host_free(h);
 */
#ifndef SB_PLUGIN_HOST_H
#define SB_PLUGIN_HOST_H

#include "config/config.h"
#include "snapbroker/plugin.h"

/* Process-wide XML services (ABI signatures; the sb_host may be used for
 * sb_host_ctx or ignored). */
struct sb_host_xml_ops {
    int (*snapshot_view)(sb_host *h, const char *snapshot_xml, struct sb_snapshot_view **out);
    void (*snapshot_view_free)(struct sb_snapshot_view *v);
    int (*snapshot_format)(sb_host *h, const struct sb_snapshot_view *v, char **out_xml);
    int (*domain_view)(sb_host *h, const char *domain_xml, struct sb_domain_view **out);
    void (*domain_view_free)(struct sb_domain_view *v);
};

/* Per-connection tree services (ABI signatures). */
struct sb_host_tree_ops {
    int (*tree_get_xml)(sb_host *h, const char *domain, const char *name, char **out_xml);
    int (*tree_parent)(sb_host *h, const char *domain, const char *name, char **out_name);
    int (*tree_children)(sb_host *h, const char *domain, const char *name, char ***out_names,
                         size_t *out_n);
    int (*tree_current)(sb_host *h, const char *domain, char **out_name);
    int (*tree_list)(sb_host *h, const char *domain, char ***out_names, size_t *out_n);
    int (*tree_update_xml)(sb_host *h, const char *domain, const char *name, const char *xml);
    int (*tree_each)(sb_host *h, const char *domain,
                     int (*fn)(void *arg, const char *name, const char *xml, size_t xml_len),
                     void *arg);
    int (*tree_each_versioned)(sb_host *h, const char *domain,
                               int (*fn)(void *arg, const char *name, uint64_t version,
                                         const char *xml),
                               void *arg);
    int (*intent_durable)(sb_host *h);
    int (*create_name_defaulted)(sb_host *h);
};

/* Progress of a long operation: plugin and host name, what, 0..100. */
typedef void (*sb_progress_sink)(void *data, const char *plugin, const char *host,
                                 const char *what, unsigned percent);

struct sb_host_params {
    const char *plugin;    /* plugin name (messages, log origin) */
    const char *host;      /* configured host name, or the URI */
    const char *state_dir; /* the plugin's private directory for this host,
                              created (0700) on the first state_dir() call;
                              NULL = the plugin gets none (state_dir() fails) */
    const char *state_root; /* the broker's state directory, above state_dir:
                               checked, and below it nothing is a symbolic
                               link (store/safe_path.h); NULL = state_dir's
                               parent */
    const sb_config_group *group; /* the plugin group, borrowed; NULL = none */
};

/* The static table handed to every plugin entry. */
const struct sb_host_api *sb_host_api_table(void);

/* Install the XML hooks (copied).  Call once before plugins use them;
 * NULL removes them. */
void sb_host_set_xml_ops(const struct sb_host_xml_ops *ops);

int sb_host_new(sb_host **out, const struct sb_host_params *params);
void sb_host_free(sb_host *h); /* accepts NULL; after the plugin's close() */

/* Remove the directories state_dir() created for this host, if they are
 * still empty: a connection whose open() failed leaves no state behind. */
void sb_host_discard_state(sb_host *h);

/* ops is borrowed (usually static); NULL removes. */
void sb_host_set_tree_ops(sb_host *h, const struct sb_host_tree_ops *ops);
void sb_host_set_ctx(sb_host *h, void *ctx);
void *sb_host_ctx(const sb_host *h);
void sb_host_set_progress_sink(sb_host *h, sb_progress_sink fn, void *data);

const char *sb_host_plugin_name(const sb_host *h);
const char *sb_host_name(const sb_host *h);

#endif
