/* The internal snapshot operations under the public sb_snapshot_*() calls
 * (api_snapshot.c), and the pieces they share.
 *
 * Every sb_snap__*() works on an open sb_dom (api.h): arguments and flags
 * are already checked, the store (broker-owned metadata) is caught up and
 * locked as the public call opened it.  They handle both metadata owners:
 * d->s set means the broker's store keeps the tree, NULL means the plugin
 * does.  Out strings and name arrays are malloc'd, as in snapbroker.h. */
#ifndef SB_CORE_SNAP_H
#define SB_CORE_SNAP_H

#include <stdbool.h>

#include "core/api.h"
#include "snapbroker/xml.h"
#include "xml/snapdef.h"

/* ---- reading (snap_query.c): any mode ---- */

/* The XML as the caller sees it (flags: SB_SNAPSHOT_XML_SECURE). */
int sb_snap__xml(const sb_dom *d, const char *name, unsigned flags, char **out);
/* The same XML parsed (a redefine's full parse) into *out_def; *out_xml
 * (may be NULL) gets the text too. */
int sb_snap__def(const sb_dom *d, const char *name, unsigned flags, char **out_xml,
                 sb_snapdef **out_def);
/* Listing (from NULL: domain level), count of the same without building
 * it; flags are SB_SNAPSHOT_LIST_*. */
int sb_snap__list(const sb_dom *d, const char *from, unsigned flags, char ***out_names,
                  size_t *out_n);
int sb_snap__count(const sb_dom *d, const char *from, unsigned flags, size_t *out_n);
/* NO_DOMAIN_SNAPSHOT when there is no current snapshot / for a root. */
int sb_snap__current(const sb_dom *d, char **out_name);
int sb_snap__parent(const sb_dom *d, const char *name, char **out_name);
int sb_snap__info(const sb_dom *d, const char *name, sb_snapshot_info *out);
/* Description, memory and disks of one snapshot (snap_details.c). */
int sb_snap__details(const sb_dom *d, const char *name, sb_snapshot_details **out);
/* A listing and the info of every listed snapshot (*out_info: free()). */
int sb_snap__list_info(const sb_dom *d, const char *from, unsigned flags, char ***out_names,
                       sb_snapshot_info **out_info, size_t *out_n);

/* Children and descendant counts of hypervisor-owned snapshots from the
 * domain-level listing and parent lookups (snap_family.c), for a plugin
 * that cannot count them itself. */
struct sb_snap_family {
    char **names;
    size_t n;
    size_t *children, *descendants; /* per names[i] */
};
int sb_snap_family_load(const sb_dom *d, struct sb_snap_family *f);
/* NO_DOMAIN_SNAPSHOT when name is not in the listing. */
int sb_snap_family_counts(const struct sb_snap_family *f, const char *name, size_t *children,
                          size_t *descendants);
void sb_snap_family_free(struct sb_snap_family *f);

/* ---- changing (snap_create.c, snap_revert.c, snap_delete.c) ----
 * d opened with SB_DOM_OPERATION (set_current: SB_DOM_WRITE). */

/* A create or redefine request (virDomainSnapshotCreateXML). */
struct sb_snap_request {
    const char *xml;          /* the caller's <domainsnapshot> */
    unsigned flags;           /* SB_SNAPSHOT_CREATE_* */
    const char *domain_xml;   /* the live definition */
    int domain_state;         /* enum sb_domain_state, when needed (below) */
    /* Called by sb_snap_prepare right after the parse, before any
     * normalization: a redefine's tree checks, so that their errors win
     * over alignment errors as libvirt's do (§5.4).  May set
     * stored_domain (a redefine of an existing snapshot without <domain>
     * keeps the stored one; prepare takes ownership).  NULL: none. */
    int (*after_parse)(struct sb_snap_request *rq, const sb_snapdef *def);
    void *opaque;             /* for after_parse */
    xmlDoc *stored_domain;
    /* Path rewrites applied right after the parse (an import's
     * --map-path; snap_paths.c), before any check that reads a path. */
    const sb_path_map *maps;
    size_t nmaps;
};

/* The domain state a create with flags is prepared with, into
 * *out_state (rq->domain_state); SB_DOMAIN_NOSTATE for a redefine, which
 * does not look at it.  What the plugin is asked depends on the flags
 * (snap_prepare.c). */
int sb_snap_request_state(sb_connection *c, const char *domain, unsigned flags, int *out_state);

int sb_snap__create(sb_dom *d, struct sb_snap_request *rq, char **out_name);
/* A redefine (broker-owned metadata) inside the transaction the caller
 * opened on d->s: every check of sb_snap__create's redefine, the
 * snapshot recorded, nothing committed.  *out_name (may be NULL) gets the
 * name. */
int sb_snap__redefine_entry(sb_dom *d, struct sb_snap_request *rq, char **out_name);
int sb_snap__set_current(sb_dom *d, const char *name);
int sb_snap__revert(sb_dom *d, const char *name, unsigned flags);
int sb_snap__delete(sb_dom *d, const char *name, unsigned flags);

/* ---- shared pieces ---- */

/* The plugin's alignment policy as normalize options. */
void sb_snap_policy_opts(const sb_loaded_plugin *p, const struct sb_plugin_caps *caps,
                         sb_normalize_opts *o);

/* Parse and normalize a create/redefine request for c's plugin. */
int sb_snap_prepare(sb_snapdef **out, sb_connection *c, const char *domain,
                    struct sb_snap_request *rq);

/* The store's view of a definition. */
sb_tree_snapshot sb_snap_tree_entry(const sb_snapdef *def, const char *xml);

/* Canonical XML (SECURE, as stored) of a definition a plugin returned:
 * re-parsed as a redefine.  *out_def (may be NULL) receives the parse. */
int sb_snap_canonical(const char *xml, char **out, sb_snapdef **out_def);

/* The same for the definition c's plugin answered operation op (its ABI
 * name) with, for snapshot name.  The operation has happened by then, so
 * an answer the broker cannot read does not fail it: a warning naming the
 * plugin, the operation and the cause goes to the log, and the caller
 * keeps the definition it had (-1, nothing out, no error left set). */
int sb_snap_plugin_answer(const sb_connection *c, const char *op, const char *name,
                          const char *xml, char **out, sb_snapdef **out_def);

/* Look a snapshot up in an open store: NO_DOMAIN_SNAPSHOT naming the
 * snapshot and domain when it is not there. */
int sb_snap_lookup(const sb_store *s, const char *domain, const char *name,
                   const sb_tree_node **out);

/* The XML of a stored snapshot as the caller sees it: parsed, <parent>
 * taken from the tree, formatted with format_flags (SB_SNAP_FORMAT_*). */
int sb_snap_node_xml(const sb_tree_node *n, unsigned format_flags, char **out);
/* The same document, lent: *xml is the stored text itself where that is
 * already the answer (*owned NULL), else a formatted copy that *owned
 * holds for the caller to free. */
int sb_snap_node_xml_lend(const sb_tree_node *n, unsigned format_flags, const char **xml,
                          char **owned);

/* INVALID_ARG "flags A and B are mutually exclusive" (libvirt's names of
 * the bits a and b of that flag family) when both are set. */
int sb_snap_check_exclusive(unsigned flags, int family, unsigned a, unsigned b);

/* The flags of a call that returns snapshot XML (SB_SNAPSHOT_XML_*):
 * the plugin's mask, and SECURE only on a writable connection. */
int sb_snap_check_xml_flags(const sb_connection *c, unsigned flags);

/* End an intent for an operation that did not happen (or failed), keeping
 * the thread's error as it was. */
void sb_snap_intent_abandon(sb_store *s, uint64_t id);
/* Begin the intent of an operation on d's plugin: appended without
 * waiting for the disk when the plugin promises to call intent_durable
 * before it changes anything (caps intent_barrier, ABI 1.5), so the wait
 * can overlap the plugin's first queries; durable before it returns
 * otherwise. */
int sb_snap_intent_begin(sb_dom *d, const char *op, const char *name, const char *xml,
                         uint64_t *id);

/* An embedded domain document as the XML plugins get (host_xml.c); with
 * root_name the root element is printed under that name (<inactiveDomain>
 * as a plain <domain>). */
int sb_snap_print_domain(const xmlDoc *doc, const char *root_name, char **out);

/* NO_DOMAIN (from the plugin) when domain does not exist. */
int sb_snap_check_domain(sb_connection *c, const char *domain);

#endif
