/* The API layer's internal types: a broker (configuration, plugin search
 * path, loaded plugins) and a connection (one host opened through its
 * plugin).  Every public function in snapbroker.h is a thin wrapper that
 * checks arguments and flags, then works through these. */
#ifndef SB_CORE_API_H
#define SB_CORE_API_H

#include <stdbool.h>

#include "config/config.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "snapbroker/snapbroker.h"
#include "store/store.h"

typedef void (*sb_api_progress_fn)(void *opaque, const char *what, unsigned percent);

struct sb_broker {
    sb_config *cfg;
    sb_plugin_path path;
    sb_plugin_registry *registry;
    sb_host_info *hosts; /* public view of cfg->hosts */
    sb_api_progress_fn progress;
    void *progress_opaque;
};

struct sb_connection {
    sb_broker *broker;
    char *host_name;                 /* configured name, or derived from the URI */
    char *uri;
    const sb_loaded_plugin *plugin;  /* borrowed from the registry */
    /* The capabilities in force on this connection: the plugin's, or
     * (ABI 1.1) what its conn_caps() answered at open, validated and
     * copied into conn_caps. */
    const struct sb_plugin_caps *caps;
    struct sb_plugin_caps conn_caps;
    sb_host *host;                   /* host services context */
    sb_conn *conn;                   /* the plugin's connection */
    bool readonly;
    /* The store of the domain an operation is working on, so that the tree
     * host services see the same (locked, in-transaction) state. */
    sb_store *active_store;
    const char *active_domain;
    /* The last store used, kept open between calls: a later call only
     * catches up with what other processes appended (one stat() when
     * nothing changed) instead of loading the whole log again. */
    sb_store *cache;
    char *cache_domain;
    bool cache_writable;
};

/* True when the plugin keeps snapshot metadata in the broker's store. */
static inline bool sb_conn_broker_meta(const sb_connection *c)
{
    return c->caps->meta_owner == SB_META_BROKER;
}

/* The store of domain on c's host, borrowed from the connection's cache
 * and caught up with the log; give it back with sb_conn_store_release().
 * writable: create it and allow transactions.  The first use of a domain
 * asks the plugin whether it exists (NO_DOMAIN otherwise). */
int sb_conn_store(sb_connection *c, const char *domain, bool writable, sb_store **out);
/* Roll back a transaction left open on s (an error path).  Accepts NULL. */
void sb_conn_store_release(sb_connection *c, sb_store *s);
/* Close the cached store (before opening the same store another way). */
void sb_conn_store_drop(sb_connection *c);

/* Refuse a mutating call on a read-only connection (OPERATION_DENIED). */
int sb_conn_check_writable(const sb_connection *c, const char *what);

/* Domain definition and state from the plugin. */
int sb_conn_domain_xml(sb_connection *c, const char *domain, char **out_xml);
int sb_conn_domain_state(sb_connection *c, const char *domain, int *out_state);

/* Reconcile intents that dead processes left in s (create/revert/delete
 * interrupted between the hypervisor and the metadata).  report (may be
 * NULL) receives one line per intent handled.  Returns the number of
 * intents that could not be decided (kept, unless flags has
 * SB_RECONCILE_DISCARD), or a negative class. */
enum { SB_RECONCILE_DISCARD = 1u << 0 };
int sb_conn_reconcile(sb_connection *c, const char *domain, sb_store *s, unsigned flags,
                      char **report);

/* Start an operation that changes domain: take its operation lock for as
 * long as s is open (other processes' operations on this domain wait),
 * catch up with the log, reconcile what dead processes left. */
int sb_conn_operation_begin(sb_connection *c, const char *domain, sb_store *s);
/* End it (accepts NULL, and a store whose begin failed). */
void sb_conn_operation_end(sb_store *s);

/* The tree host services (plugin/host.h) for broker-owned metadata. */
extern const struct sb_host_tree_ops sb_api_tree_ops;
/* Install the XML host services once per process. */
void sb_api_install_xml_ops(void);

/* Small helpers. */
int sb_strdup_out(char **out, const char *s);
int sb_names_from_nodes(char ***out_names, size_t *out_n, const sb_tree_node **nodes, size_t n);

#endif
