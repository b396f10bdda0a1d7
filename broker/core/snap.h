/* Shared pieces of the snapshot calls (snap_*.c). */
#ifndef SB_CORE_SNAP_H
#define SB_CORE_SNAP_H

#include <stdbool.h>

#include "core/api.h"
#include "snapbroker/xml.h"
#include "xml/snapdef.h"

struct sb_snap_request {
    const char *domain;
    const char *xml;          /* the caller's <domainsnapshot> */
    unsigned flags;           /* SB_SNAPSHOT_CREATE_* */
    const char *domain_xml;   /* the live definition */
    int domain_state;         /* enum sb_domain_state */
    xmlDoc *stored_domain;    /* redefine of an existing snapshot: its <domain> */
    bool *stored_domain_taken;
};

/* The plugin's alignment policy as normalize options. */
void sb_snap_policy_opts(const sb_loaded_plugin *p, const struct sb_plugin_caps *caps,
                         sb_normalize_opts *o);

/* Parse and normalize a create/redefine request for c's plugin. */
int sb_snap_prepare(sb_snapdef **out, const sb_connection *c, const struct sb_snap_request *rq);

/* The store's view of a definition. */
sb_tree_snapshot sb_snap_tree_entry(const sb_snapdef *def, const char *xml);

/* Canonical XML (SECURE, as stored) of a definition a plugin returned:
 * re-parsed as a redefine.  *out_def (may be NULL) receives the parse. */
int sb_snap_canonical(const char *xml, char **out, sb_snapdef **out_def);

/* Look a snapshot up in an open store: NO_DOMAIN_SNAPSHOT naming the
 * snapshot and domain when it is not there. */
int sb_snap_lookup(const sb_store *s, const char *domain, const char *name,
                   const sb_tree_node **out);

/* Common argument checks: connection, domain, snapshot name (if needed). */
int sb_snap_check_args(const sb_connection *c, const char *domain, const char *name,
                       bool need_name, const char *func);

/* The XML of a stored snapshot as the caller sees it: parsed, <parent>
 * taken from the tree, formatted with format_flags (SB_SNAP_FORMAT_*). */
int sb_snap_node_xml(const sb_tree_node *n, unsigned format_flags, char **out);

/* INVALID_ARG "flags 'A' and 'B' are mutually exclusive" when both set. */
int sb_snap_check_exclusive(unsigned flags, unsigned a, const char *a_name, unsigned b,
                            const char *b_name);

/* End an intent for an operation that did not happen (or failed), keeping
 * the thread's error as it was. */
void sb_snap_intent_abandon(sb_store *s, uint64_t id);

/* NO_DOMAIN (from the plugin) when domain does not exist. */
int sb_snap_check_domain(sb_connection *c, const char *domain);

#endif
