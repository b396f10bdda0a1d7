/* snapbroker - public library API (libsnapbroker).
 *
 * The CLI uses nothing but this header (and errors.h / flags.h / xml.h it
 * pulls in).  Conventions:
 *   - functions return 0 (or a count) on success, a negative class
 *     (-SB_ERR_*) on failure; sb_error_last() then holds the message;
 *   - out parameters come first; strings and name arrays returned through
 *     them are the caller's, freed with free() / sb_names_free();
 *   - flags are libvirt's (flags.h); a flag the host's plugin does not
 *     accept is refused with SB_ERR_INVALID_ARG before the plugin runs.
 */
#ifndef SNAPBROKER_H
#define SNAPBROKER_H

#include <stddef.h>
#include <stdint.h>

#include "snapbroker/common.h"
#include "snapbroker/errors.h"
#include "snapbroker/flags.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sb_broker sb_broker;         /* configuration + loaded plugins */
typedef struct sb_connection sb_connection; /* one open host */

/* ---- broker ------------------------------------------------------------ */

/* Load the configuration (config_path, else - when it is NULL -
 * $SNAPBROKER_CONFIG, else the installed default file if it exists, else
 * the embedded default: one local qemu host; an empty config_path is
 * refused with INVALID_ARG, it never falls back) and find the plugin
 * directory ($SNAPBROKER_PLUGIN_DIR, the config, the build tree beside the
 * running binary, or the installed directory).  Plugins are loaded
 * lazily, when a host needs one. */
SB_API int sb_broker_new(sb_broker **out, const char *config_path);
SB_API void sb_broker_free(sb_broker *b);

/* Warnings collected while loading the configuration (unknown keys...).
 * Borrowed; valid until sb_broker_free. */
SB_API size_t sb_broker_warnings(const sb_broker *b, const char *const **out);

typedef struct sb_host_info {
    const char *name;
    const char *plugin;
    const char *uri;
    int is_default;
} sb_host_info;

/* Borrowed array of the configured hosts. */
SB_API size_t sb_broker_hosts(const sb_broker *b, const sb_host_info **out);

SB_API const char *sb_broker_state_dir(const sb_broker *b);
SB_API const char *sb_broker_plugin_dir(const sb_broker *b);

/* Progress of long operations (plugin work such as a block commit):
 * what is being done and 0..100.  The CLI draws it on a terminal.
 * NULL turns it off. */
SB_API void sb_broker_set_progress(sb_broker *b,
                                   void (*fn)(void *opaque, const char *what, unsigned percent),
                                   void *opaque);

/* The library never prints: log lines of the broker and its plugins at or
 * above the configured log_level are kept in a small ring.  Hand each
 * (oldest first) to fn and empty the ring; returns the count.  level is
 * "error", "warn", "info" or "debug"; origin says who wrote it. */
SB_API size_t sb_log_drain(void (*fn)(void *opaque, const char *level, const char *origin,
                                      const char *message),
                           void *opaque);

/* Describe a plugin (loading it if needed) as JSON (machine: one line,
 * the `plugin-info --json` document of snapbroker(1)) or text
 * (human, the `plugin-info` output).  *out is the caller's. */
SB_API int sb_plugin_describe(char **out, sb_broker *b, const char *plugin_name, int json);

/* ---- connections ------------------------------------------------------ */

enum sb_connect_flags {
    SB_CONNECT_READONLY = 1u << 0
};

/* host: a configured host name, a URI (scheme picks the plugin, e.g.
 * "qemu:///session", "ref:///default"), or NULL for the default host. */
SB_API int sb_connect(sb_connection **out, sb_broker *b, const char *host, unsigned flags);
SB_API void sb_disconnect(sb_connection *c);
SB_API const char *sb_connection_host(const sb_connection *c);
SB_API const char *sb_connection_plugin(const sb_connection *c);

/* What this connection's plugin declares (its capabilities for this
 * connection, ABI 1.1 conn_caps included), for tools such as the
 * conformance kit that adapt to the plugin.  Strings are static. */
typedef struct sb_connection_caps {
    unsigned create_flags, revert_flags, delete_flags, list_flags, xml_flags;
    const char *metadata_owner;   /* "broker" or "hypervisor" */
    const char *disk_override;    /* "allowed", "match" or "none" */
    const char *create_parse;     /* "create" or "redefine" */
    int default_location;         /* SB_LOCATION_INTERNAL / _EXTERNAL */
    int uniform_internal;
    int names_unique;
    unsigned name_max;            /* longest snapshot name in bytes (<= 255) */
    unsigned max_snapshots;       /* per domain; 0 = no limit */
    unsigned max_depth;           /* longest parent chain; 0 = no limit */
    int has_metadata;             /* what snapshot info reports: 1 for the
                                     broker's metadata and for a hypervisor
                                     that keeps libvirt's kind */
} sb_connection_caps;

SB_API int sb_connection_get_caps(sb_connection_caps *out, const sb_connection *c);

/* 1 when the plugin has the operation ("domain_define", "domain_start",
 * ... the member names of plugin.h that plugin-info lists), else 0. */
SB_API int sb_connection_supports(const sb_connection *c, const char *operation);

/* ---- flag names ------------------------------------------------------- */

/* Which enum of flags.h a flag belongs to. */
enum sb_flag_family {
    SB_FLAGS_CREATE = 0,        /* sb_snapshot_create_flags */
    SB_FLAGS_REVERT = 1,        /* sb_snapshot_revert_flags */
    SB_FLAGS_DELETE = 2,        /* sb_snapshot_delete_flags */
    SB_FLAGS_LIST = 3,          /* listing of a domain: bit 0 is ROOTS */
    SB_FLAGS_LIST_CHILDREN = 4, /* listing from a snapshot: bit 0 is DESCENDANTS */
    SB_FLAGS_XML = 5            /* sb_snapshot_xml_flags */
};

/* libvirt's name of one flag ("VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY"), the
 * name every message uses; NULL for a bit the family does not define. */
SB_API const char *sb_flag_name(int family, unsigned bit);

/* ---- domains (where the plugin supports them) -------------------------- */

SB_API int sb_domain_list(char ***out_names, size_t *out_n, sb_connection *c, unsigned flags);
SB_API int sb_domain_get_xml(char **out_xml, sb_connection *c, const char *domain, unsigned flags);
SB_API int sb_domain_get_state(int *out_state, sb_connection *c, const char *domain);
/* virDomainIsActive: *out_active 1 when the domain runs in any form
 * (running, paused, in shutdown...), 0 when it is shut off.  A plugin of
 * ABI 1.2 with domain_is_active answers without asking the hypervisor
 * (the qemu plugin: its QEMU process is alive); otherwise it is derived
 * from the state (shut off, crashed and no state are not active). */
SB_API int sb_domain_is_active(int *out_active, sb_connection *c, const char *domain);
/* The state and why the domain is in it (virDomainGetState): *out_reason
 * is libvirt's virDomain<State>Reason value for that state (0, unknown,
 * when the plugin does not tell). */
SB_API int sb_domain_get_state_reason(int *out_state, int *out_reason, sb_connection *c,
                                      const char *domain);
SB_API int sb_domain_define(char **out_name, sb_connection *c, const char *domain_xml);
/* virDomainDefineXMLFlags.  SB_DOMAIN_DEFINE_VALIDATE: the plugin's
 * domain_validate check first (NO_SUPPORT for a plugin without it), and
 * nothing is defined when it fails; the flag then reaches the plugin's
 * define (the libvirt plugin hands it to libvirt, which checks its
 * schema). */
SB_API int sb_domain_define_flags(char **out_name, sb_connection *c, const char *domain_xml,
                                  unsigned flags);
/* Undefine.  A domain with snapshot metadata in the broker's store is
 * refused (OPERATION_INVALID) unless flags has
 * SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA, which removes that metadata too
 * (never the snapshots' data), as virsh undefine --snapshots-metadata. */
SB_API int sb_domain_undefine(sb_connection *c, const char *domain, unsigned flags);
SB_API int sb_domain_start(sb_connection *c, const char *domain, unsigned flags);
SB_API int sb_domain_destroy(sb_connection *c, const char *domain);
SB_API int sb_domain_shutdown(sb_connection *c, const char *domain);
SB_API int sb_domain_suspend(sb_connection *c, const char *domain);
SB_API int sb_domain_resume(sb_connection *c, const char *domain);
/* "running", "shut off", ... as virsh prints them. */
SB_API const char *sb_domain_state_name(int state);

/* ---- jobs: a domain's long work, seen from any process ----------------- */

/* What runs on a domain now (a snapshot delete's block commit, a memory
 * save...), whichever process started it: virsh domjobinfo. */
typedef struct sb_domain_job {
    int active;                   /* 0: no job runs (the rest is zero) */
    char operation[64];           /* "block-commit", "active-block-commit", ... */
    char snapshot[256];           /* the snapshot it works for; "" if not known */
    unsigned long long processed; /* bytes done (units where bytes are not known) */
    unsigned long long total;     /* bytes in all; 0 when not known */
    long long elapsed_ms;         /* since the job started */
} sb_domain_job;

/* Never waits for the operation that runs the job (NO_SUPPORT when the
 * plugin cannot tell). */
SB_API int sb_domain_job_info(sb_domain_job *out, sb_connection *c, const char *domain);
/* virsh domjobabort: cancel that job; returns once it has stopped (the
 * operation that ran it then fails, leaving what its plugin documents).
 * OPERATION_INVALID when no job runs. */
SB_API int sb_domain_job_abort(sb_connection *c, const char *domain);

/* ---- snapshots ---------------------------------------------------------- */

/* virDomainSnapshotCreateXML.  *out_name (may be NULL) gets the name. */
SB_API int sb_snapshot_create_xml(char **out_name, sb_connection *c, const char *domain,
                                  const char *xml, unsigned flags);
/* virDomainSnapshotGetXMLDesc (SB_SNAPSHOT_XML_SECURE). */
SB_API int sb_snapshot_get_xml(char **out_xml, sb_connection *c, const char *domain,
                               const char *name, unsigned flags);
/* virDomainListAllSnapshots (from == NULL) / ListAllChildren (from set).
 * Returns the names in the order of the listing. */
SB_API int sb_snapshot_list(char ***out_names, size_t *out_n, sb_connection *c,
                            const char *domain, const char *from, unsigned flags);
/* How many names sb_snapshot_list() would return for the same arguments,
 * without building the list (virDomainSnapshotNum / NumChildren). */
SB_API int sb_snapshot_count(size_t *out_n, sb_connection *c, const char *domain,
                             const char *from, unsigned flags);
/* Current snapshot; NO_DOMAIN_SNAPSHOT when there is none. */
SB_API int sb_snapshot_current(char **out_name, sb_connection *c, const char *domain);
/* virsh snapshot-current NAME: make NAME current without reverting. */
SB_API int sb_snapshot_set_current(sb_connection *c, const char *domain, const char *name);
/* Parent; NO_DOMAIN_SNAPSHOT for a root. */
SB_API int sb_snapshot_parent(char **out_name, sb_connection *c, const char *domain,
                              const char *name);
SB_API int sb_snapshot_revert(sb_connection *c, const char *domain, const char *name,
                              unsigned flags);
SB_API int sb_snapshot_delete(sb_connection *c, const char *domain, const char *name,
                              unsigned flags);

typedef struct sb_snapshot_info {
    int state;           /* enum sb_snapshot_state */
    int external;        /* location external (1) or internal (0) */
    int is_current;
    int has_metadata;
    size_t children;
    size_t descendants;
    long long creation_time;
    char parent[256];    /* "" for a root; snapshot names are at most
                            255 bytes in snapbroker, whatever the plugin */
} sb_snapshot_info;

SB_API int sb_snapshot_info_get(sb_snapshot_info *out, sb_connection *c, const char *domain,
                                const char *name);
/* sb_snapshot_list() plus every listed snapshot's info in one call (one
 * store access instead of one per snapshot).  *out_info[i] describes
 * (*out_names)[i]; free the array with free(). */
SB_API int sb_snapshot_list_info(char ***out_names, sb_snapshot_info **out_info, size_t *out_n,
                                 sb_connection *c, const char *domain, const char *from,
                                 unsigned flags);

/* What a snapshot's definition says beyond sb_snapshot_info: its
 * description and where its memory state and each disk went.  Location
 * words are the XML's ("internal", "external", "no", "manual"); NULL
 * where the definition does not say. */
typedef struct sb_snapshot_disk {
    const char *name;        /* the disk's target ("vda"), as in <disks> */
    const char *snapshot;    /* its snapshot= location */
    const char *type;        /* "file", "block" or "network" when it has a
                                source, else NULL */
    const char *driver_type; /* <driver type=> ("qcow2"), or NULL */
    const char *source;      /* file, block device or network name of an
                                external snapshot, or NULL */
} sb_snapshot_disk;

typedef struct sb_snapshot_details {
    const char *description; /* NULL when it has none */
    const char *memory;      /* <memory snapshot=> */
    const char *memory_file; /* saved memory state of an external one, or NULL */
    size_t ndisks;
    const sb_snapshot_disk *disks;
} sb_snapshot_details;

/* Read from the snapshot's XML (sb_snapshot_get_xml without SECURE).
 * *out is the caller's: sb_snapshot_details_free(). */
SB_API int sb_snapshot_get_details(sb_snapshot_details **out, sb_connection *c,
                                   const char *domain, const char *name);
SB_API void sb_snapshot_details_free(sb_snapshot_details *details); /* accepts NULL */

/* "running", "shutoff", "disk-snapshot", ... as in the XML. */
SB_API const char *sb_snapshot_state_name(int state);

/* ---- whole hierarchies (docs/format.md "Snapshot hierarchies",
 *      docs/migration.md) ---------------------------------------------- */

/* Every snapshot of domain (from NULL), or from and its descendants, as
 * one <domainsnapshots> document whose children are <domainsnapshot>
 * elements exactly as sb_snapshot_get_xml() gives them with the same
 * flags (SB_SNAPSHOT_XML_SECURE), parents before children (siblings
 * oldest first), the current snapshot's element with current='yes'. */
SB_API int sb_snapshot_export(char **out_xml, sb_connection *c, const char *domain,
                              const char *from, unsigned flags);

/* A rewrite of an import: a path that is from, or lies under from/, is
 * moved under to (the longest matching from wins).  Both absolute. */
typedef struct sb_path_map {
    const char *from;
    const char *to;
} sb_path_map;

enum sb_snapshot_import_flags {
    /* make the entry marked current='yes' the current snapshot (as
     * SB_SNAPSHOT_CREATE_CURRENT on one redefine); without it the
     * domain's current snapshot stays what it was */
    SB_SNAPSHOT_IMPORT_CURRENT = 1u << 0,
    /* check each entry against the schema before anything else
     * (SB_SNAPSHOT_CREATE_VALIDATE) */
    SB_SNAPSHOT_IMPORT_VALIDATE = 1u << 1
};

/* Redefine every snapshot of a <domainsnapshots> document (xml, len
 * bytes; entries in any order) in domain, all or nothing: each entry gets
 * the checks of sb_snapshot_create_xml(REDEFINE), with maps applied to its
 * memory file, disk sources and embedded domain's disk sources first.
 * Broker-owned metadata: one durable commit.  Hypervisor-owned: the
 * plugin redefines entry by entry and what was applied is undone when a
 * later entry fails.  A plugin that cannot redefine is refused before
 * anything is read.  source names the document in messages (may be
 * NULL).  *out_n (may be NULL): the number of snapshots imported. */
SB_API int sb_snapshot_import(size_t *out_n, sb_connection *c, const char *domain,
                              const char *xml, size_t len, const char *source,
                              const sb_path_map *maps, size_t nmaps, unsigned flags);

/* ---- the fleet: every snapshot of every configured host (docs/fleet.md) */

/* Bits of sb_fleet_query.usage (a flag word since larger_than 0 needed
 * one; 1 keeps its old meaning). */
enum sb_fleet_usage_flags {
    /* ask each plugin the space each snapshot holds (ABI 1.1
     * snapshot_usage); any other non-zero usage asks it too */
    SB_FLEET_USAGE = 1u << 0,
    /* larger_than is a filter even when it is 0: only snapshots known to
     * hold more than larger_than bytes ("--larger-than 0": of a known,
     * non-zero size).  Without it larger_than 0 is no filter, as before.
     * Implies SB_FLEET_USAGE. */
    SB_FLEET_LARGER_THAN_SET = 1u << 1
};

/* What to list.  Zero everything for all of it. */
typedef struct sb_fleet_query {
    const char *const *hosts;   /* only these configured hosts (NULL: all) */
    size_t nhosts;
    const char *const *plugins; /* only hosts whose plugin is one of these */
    size_t nplugins;
    const char *domain;         /* only domains of this name (NULL: all) */
    long long older_than;       /* > 0: only snapshots taken more than this
                                   many seconds ago */
    unsigned long long larger_than; /* > 0, or any value with
                                   SB_FLEET_LARGER_THAN_SET in usage: only
                                   snapshots known to hold more than this
                                   many bytes */
    int usage;                  /* enum sb_fleet_usage_flags: non-zero asks
                                   each plugin the space each snapshot holds
                                   (ABI 1.1 snapshot_usage; implied by the
                                   larger_than filter) */
    unsigned max_parallel;      /* hosts queried at once; 0: 8 */
    unsigned timeout_ms;        /* per host, from its connect to its last
                                   answer; 0: 60 000 */
} sb_fleet_query;

/* One snapshot.  Strings are the result's (sb_fleet_free). */
typedef struct sb_fleet_snapshot {
    const char *host, *plugin, *domain, *name;
    const char *parent;          /* NULL for a root */
    long long creation_time;
    int state;                   /* enum sb_snapshot_state */
    int external;                /* location: external (1) or internal (0) */
    int is_current;
    int known_bytes;             /* 1 when the plugin told the space below */
    unsigned long long bytes;    /* space it holds (docs/fleet.md) */
    unsigned long long memory_bytes; /* of which saved memory state */
    const char *where;           /* image, datastore path, settings file;
                                    "" when the plugin did not say */
} sb_fleet_snapshot;

/* One host: how its listing went, and totals of what was listed. */
typedef struct sb_fleet_host {
    const char *name, *plugin, *uri;
    int status;                  /* 0, or the class (negative) of the error
                                    that stopped or spoiled its listing */
    const char *error;           /* its message ("" when status is 0) */
    int timed_out;               /* no answer within timeout_ms */
    size_t domains;              /* domains looked at */
    size_t snapshots;            /* snapshots listed (filters applied) */
    size_t unknown_sizes;        /* of those, how many without a size */
    unsigned long long bytes;    /* the sizes known, summed */
    long long oldest;            /* creation time of the oldest listed, or 0 */
    double elapsed_ms;           /* how long it took (to the timeout) */
} sb_fleet_host;

typedef struct sb_fleet sb_fleet;

/* List every snapshot of every configured host q selects, hosts in
 * parallel (at most q->max_parallel at once, each with its own
 * connection), each within q->timeout_ms: a host that cannot be reached,
 * fails or times out is reported in its sb_fleet_host and never stops
 * the others.  Returns the number of hosts that failed (0: all answered),
 * or a negative class when nothing could be listed (bad query).  Hosts
 * come in configuration order; a host's snapshots by domain name, then
 * parents before children.  A host still busy at its timeout is left to
 * finish in the background on its own reference to b (sb_broker_free()
 * then frees b only once it has). */
SB_API int sb_fleet_list(sb_fleet **out, sb_broker *b, const sb_fleet_query *q);
SB_API size_t sb_fleet_hosts(const sb_fleet *f, const sb_fleet_host **out);
SB_API size_t sb_fleet_snapshots(const sb_fleet *f, const sb_fleet_snapshot **out);
SB_API void sb_fleet_free(sb_fleet *f); /* accepts NULL */

enum sb_check_flags {
    /* Drop interrupted operations the plugin cannot decide (after you have
     * looked at the domain yourself); they are reported either way. */
    SB_CHECK_DISCARD_UNRESOLVED = 1u << 0,
    /* A store whose log is damaged in the middle: keep the damaged log
     * beside it (snapshots.log.damaged-*) and write what loads as a fresh
     * log, so the domain can be used again. */
    SB_CHECK_REPAIR = 1u << 1
};

/* Verify the metadata of one domain (or all when domain is NULL):
 * store invariants and unresolved intents reconciled with the plugin.
 * *out_report lists findings, one per line.  Returns the number of
 * problems left (0 = clean) or a negative class (NO_DOMAIN for a named
 * domain the plugin does not know; with domain NULL one that disappears
 * meanwhile is a finding). */
SB_API int sb_check(char **out_report, sb_connection *c, const char *domain, unsigned flags);

/* sb_check() as data: one entry per domain checked (none when the plugin
 * keeps the metadata in the hypervisor: nothing to check), each with the
 * problems left in it and its findings.  A finding's severity is "note"
 * (information, such as a torn tail dropped after a crash) or "finding"
 * (a problem, or what check did about one); each is listed once.
 * ("warning" was a copy of a store load warning also listed as a note or
 * finding, and is no longer given.)  Returns the
 * problems left (0 = clean) or a negative class.  Free *out with
 * sb_check_domains_free(*out, *out_n). */
typedef struct sb_check_finding {
    const char *severity;
    const char *message;
} sb_check_finding;

typedef struct sb_check_domain {
    const char *name;
    int problems;                    /* left in this domain */
    int has_metadata;                /* 0: it has no store (or the domain could
                                        not be looked at): nothing checked */
    size_t nfindings;
    const sb_check_finding *findings;
} sb_check_domain;

SB_API int sb_check_domains(sb_check_domain **out, size_t *out_n, sb_connection *c,
                            const char *domain, unsigned flags);
SB_API void sb_check_domains_free(sb_check_domain *domains, size_t n); /* accepts NULL */

/* Free a name array returned by this library (accepts NULL). */
SB_API void sb_names_free(char **names, size_t n);

SB_API const char *sb_version(void);

#ifdef __cplusplus
}
#endif
#endif
