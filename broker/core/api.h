/* The API layer's internal types: a broker (configuration, plugin search
 * path, loaded plugins), a connection (one host opened through its
 * plugin) and an open domain (sb_dom).
 *
 * Two layers, the way libgit2 keeps git_x() over internal git_x__()
 * helpers (docs/internals.md has the long form):
 *
 *   public    every function of snapbroker.h: validate arguments and
 *             flags, open the domain ONCE (sb_dom_open: the connection's
 *             store caught up with the log, locked as the call needs),
 *             call internal operations, close, return.  Public functions
 *             never call each other and nothing in the library calls them.
 *   internal  sb_snap__*() (core/snap.h) on an open sb_dom: no argument
 *             checks, no store lookups, no locking of their own; they call
 *             each other freely and handle both metadata owners (the
 *             broker's store, or the plugin when the hypervisor keeps the
 *             tree).
 */
#ifndef SB_CORE_API_H
#define SB_CORE_API_H

#include <stdbool.h>

#include <libxml/tree.h>

#include "config/config.h"
#include "plugin/dispatch.h"
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
    /* References: the caller's, and one per fleet worker still running
     * (core/fleet.c); sb_broker_free drops one and frees at zero. */
    int refs;
};

/* Take a reference to b (returns b); sb_broker_free drops it. */
sb_broker *sb_broker__ref(sb_broker *b);

/* The last live domain definition whose uuid was asked for, so that a
 * series of redefines parses it once (a new definition is a new string). */
struct sb_live_uuid {
    char *domain, *xml, *uuid;
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
    /* During a create's dispatch to a hypervisor-owned plugin: the broker
     * named the snapshot (create_name_defaulted, ABI 1.6). */
    bool create_name_defaulted;
    const char *active_domain;
    /* Where the plugin is called from when the tree services must refuse
     * ("open", "close", "the function of a tree_each walk", ...; NULL:
     * they may answer): there, one would run on a connection not yet
     * open or no longer open, close or reload the store being walked, or
     * ask the plugin again what it is being asked (host_tree.c). */
    const char *tree_barred;
    /* The domain whose store (cache) a public call holds across its
     * plugin calls (sb_dom_open to sb_dom_close, undefine): the tree
     * services answer from that store and never close it for another
     * domain's (the call would go on with a freed store). */
    const char *held_domain;
    /* The last store used, kept open between calls: a later call only
     * catches up with what other processes appended (one stat() when
     * nothing changed) instead of loading the whole log again. */
    sb_store *cache;
    char *cache_domain;
    bool cache_writable;
    struct sb_live_uuid live_uuid;
    /* The last snapshot <domain> a redefine carried on this connection (a
     * copy), as the stored document prints it, and whether the plugin's
     * domain_validate accepted it (snap_create.c, domain_memo): a series
     * of redefines of one domain prints it once and asks the plugin once. */
    xmlDoc *memo_domain;
    char *memo_domain_print;
    bool memo_domain_accepted;
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
/* Mark the cached store as held by a call (c->held_domain) while it calls
 * the plugin, unless an outer call holds it already; 1 when this call
 * marked it (pass that to sb_conn_store_unhold). */
bool sb_conn_store_hold(sb_connection *c, const char *domain);
void sb_conn_store_unhold(sb_connection *c, bool held);

/* ---- an open domain: what one public call works on ---- */

enum sb_dom_mode {
    SB_DOM_READ = 0,         /* the store as it is (read-only is enough) */
    SB_DOM_WRITE = 1u << 0,  /* transactions allowed (created when missing) */
    /* WRITE + the domain's operation lock for the whole call, after
     * reconciling what dead processes left (sb_conn_operation_begin) */
    SB_DOM_OPERATION = (1u << 1) | SB_DOM_WRITE,
    /* the same for a call that changes metadata only: the lock is shared
     * with other such calls (sb_conn_metadata_operation_begin) */
    SB_DOM_METADATA_OPERATION = (1u << 3) | SB_DOM_OPERATION,
    /* the caller already asked the plugin about the domain: skip the
     * existence check of the store's first use */
    SB_DOM_EXISTS = 1u << 2,
};

typedef struct sb_dom {
    sb_connection *c;
    const char *name;   /* the domain (borrowed from the caller) */
    sb_store *s;        /* broker-owned metadata: c's store; else NULL */
    bool op;            /* holds the operation lock */
    bool held;          /* set c->held_domain (cleared by sb_dom_close) */
} sb_dom;

/* Open domain on c for one call (mode: enum sb_dom_mode bits).  For
 * hypervisor-owned metadata there is nothing to open: the plugin answers
 * every question.  Close with sb_dom_close (also after a failed open). */
int sb_dom_open(sb_dom *d, sb_connection *c, const char *domain, unsigned mode);
void sb_dom_close(sb_dom *d);

/* Call a plugin callback on d's connection with d's store lent to the
 * tree host services (host_tree.c), so the plugin sees the same locked,
 * in-transaction state as the operation. */
#define SB_DOM_DISPATCH(rc, d, member, ...)                          \
    do {                                                             \
        (d)->c->active_store = (d)->s;                               \
        (d)->c->active_domain = (d)->name;                           \
        SB_DISPATCH(rc, (d)->c->plugin, member, __VA_ARGS__);        \
        (d)->c->active_store = NULL;                                 \
        (d)->c->active_domain = NULL;                                \
    } while (0)

/* Refuse a mutating call on a read-only connection (OPERATION_DENIED). */
int sb_conn_check_writable(const sb_connection *c, const char *what);

/* Domain definition, state and names from the plugin. */
int sb_conn_domain_xml(sb_connection *c, const char *domain, char **out_xml);
int sb_conn_domain_state(sb_connection *c, const char *domain, int *out_state);
/* Active (1) or shut off (0): the plugin's domain_is_active (ABI 1.2),
 * which answers without a hypervisor round trip, else derived from
 * domain_get_state (shut off, crashed and no state are not active).
 * NO_DOMAIN for a domain the plugin does not know. */
int sb_conn_domain_active(sb_connection *c, const char *domain, int *out_active);
/* What the broker counts as active in an enum sb_domain_state. */
bool sb_domain_state_active(int state);
/* 0 when the plugin knows domain, else its error (NO_DOMAIN): the check
 * made before a store is opened, which needs no more than the above. */
int sb_conn_domain_exists(sb_connection *c, const char *domain);
int sb_conn_domain_names(sb_connection *c, unsigned flags, char ***out_names, size_t *out_n);
/* The uuid of the live definition domain_xml of domain (NULL when it has
 * none): borrowed from c until the next call. */
int sb_conn_live_uuid(sb_connection *c, const char *domain, const char *domain_xml,
                      const char **out_uuid);

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
/* The same for an operation that changes metadata only (redefine,
 * metadata-only delete): the operation lock is held shared, so such
 * operations run side by side and share fdatasyncs, while they and every
 * hypervisor operation still exclude each other. */
int sb_conn_metadata_operation_begin(sb_connection *c, const char *domain, sb_store *s);
/* End either (accepts NULL, and a store whose begin failed). */
void sb_conn_operation_end(sb_store *s);

/* The tree host services (plugin/host.h) for broker-owned metadata. */
extern const struct sb_host_tree_ops sb_api_tree_ops;
/* Install the XML host services once per process. */
void sb_api_install_xml_ops(void);

/* Small helpers. */
int sb_strdup_out(char **out, const char *s);
int sb_names_from_nodes(char ***out_names, size_t *out_n, const sb_tree_node **nodes, size_t n);

#endif
