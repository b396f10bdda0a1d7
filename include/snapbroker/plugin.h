/* snapbroker plugin ABI - the only header a plugin vendor needs.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * SB_PLUGIN_ENTRY_SYMBOL, of type sb_plugin_entry_fn.  The broker loads it
 * with dlopen(RTLD_NOW | RTLD_LOCAL), calls the entry once with its host
 * services table, and receives a const driver table (struct sb_plugin) that
 * must stay valid until the process exits (the broker never dlclose()s).
 *
 * Versioning
 *   SB_PLUGIN_ABI_MAJOR changes only for incompatible changes; the broker
 *   refuses a plugin built for another major.  SB_PLUGIN_ABI_MINOR grows
 *   when members are appended to the END of a struct; nothing is ever
 *   reordered or removed.  Every struct that crosses the boundary starts
 *   with struct_size (sizeof as the writer compiled it):
 *     - a table shorter than the reader's is treated as zero-extended, so
 *       members the writer did not know about read as 0 / NULL;
 *     - a table longer than the reader's is accepted only if every byte
 *       past the reader's size is zero (a newer plugin that uses nothing
 *       new still loads into an older broker);
 *     - a table shorter than SB_PLUGIN_SIZE_MIN is refused.
 *   A callback documented "since 1.N" is used only when the plugin's
 *   abi_minor >= N; otherwise the broker answers NO_SUPPORT itself.
 *
 * Errors
 *   Every fallible callback returns 0 on success or a negative error class
 *   (-SB_ERR_*, errors.h).  Before returning an error it reports a message
 *   with host->set_error(), which names what is at fault (disk, file,
 *   hypervisor reply...).  set_error() returns -code, so
 *       return host->set_error(h, SB_ERR_HYPERVISOR, "qemu-img: %s", msg);
 *   is the idiom.  A plugin error without a message is a plugin bug; the
 *   broker then adds a generic message naming plugin and operation.
 *   Success fills the out parameters (an XML document, a name, n non-NULL
 *   names, a valid state); "none" (no current snapshot, no parent) is an
 *   error class, never a NULL.  The broker refuses a success without them,
 *   or a positive return (but snapshot_exists's 1), as INTERNAL_ERROR.
 *
 * Ownership
 *   - const char * arguments are borrowed for the duration of the call.
 *   - Everything returned through an out parameter (strings, arrays of
 *     strings and the arrays themselves) is allocated with host->alloc /
 *     host->strdup and becomes the broker's, which frees it with
 *     host->free.  Never hand out static or stack memory.
 *   - On failure a callback leaves its out parameters NULL (or frees what
 *     it allocated first); the broker frees whatever is left non-NULL.
 *   - sb_conn is the plugin's: created by open(), destroyed by close().
 *   - sb_host is the broker's: valid from open() until close() returns.
 *   - Views returned by host services are the broker's, freed with the
 *     matching *_free service; strings inside a view live as long as it.
 *
 * Threads: the broker calls one sb_conn from one thread at a time.
 * Processes: several broker processes may use the same hypervisor at once
 * (one CLI process per command); keep every piece of state on disk or in
 * the hypervisor, never only in the memory of one process.
 *
 * This header is C99 and includes only the C library and snapbroker's
 * errors.h, flags.h and common.h.
 */
#ifndef SNAPBROKER_PLUGIN_H
#define SNAPBROKER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "snapbroker/errors.h"
#include "snapbroker/flags.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SB_PLUGIN_ABI_MAJOR 1u
#define SB_PLUGIN_ABI_MINOR 6u
#define SB_PLUGIN_ENTRY_SYMBOL "sb_plugin_entry_v1"

#if defined(__GNUC__)
#define SB_PLUGIN_EXPORT __attribute__((visibility("default")))
#define SB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SB_PLUGIN_EXPORT
#define SB_PRINTF(f, a)
#endif

typedef struct sb_host sb_host; /* broker-owned context of one connection */
typedef struct sb_conn sb_conn; /* plugin-owned connection */

/* ---- capabilities ------------------------------------------------------ */

/* Who keeps the snapshot metadata (tree, current, XML). */
enum sb_meta_owner {
    SB_META_BROKER = 1,     /* broker store; the plugin only does disk/VM work */
    SB_META_HYPERVISOR = 2  /* the hypervisor; list/get/current/parent needed */
};

/* What a <disks> entry in a create request may do. */
enum sb_disk_override {
    SB_DISK_OVERRIDE_ALLOWED = 1, /* any mode per disk (qemu) */
    SB_DISK_OVERRIDE_MATCH = 2,   /* explicit mode must equal the domain disk's own */
    SB_DISK_OVERRIDE_NONE = 3     /* no per-disk entries at all (ESX) */
};

/* How the XML of a plain create (no REDEFINE) is parsed. */
enum sb_create_parse {
    SB_CREATE_PARSE_CREATE = 0,  /* libvirt's create mode (qemu, esx) */
    SB_CREATE_PARSE_REDEFINE = 1 /* always as a redefine: name, state and
                                    creationTime required (vbox) */
};

struct sb_plugin_caps {
    uint32_t struct_size;
    /* Accepted flags per verb; a flag outside the mask is refused with
     * INVALID_ARG by the broker before the plugin runs.  Only bits defined
     * in flags.h may be set (SB_SNAPSHOT_*_ALL). */
    uint32_t create_flags;
    uint32_t revert_flags;
    uint32_t delete_flags;
    uint32_t list_flags;       /* domain-level and from-snapshot listings */
    uint32_t xml_flags;
    uint32_t meta_owner;       /* enum sb_meta_owner */
    uint32_t disk_override;    /* enum sb_disk_override */
    uint32_t default_location; /* SB_LOCATION_INTERNAL or SB_LOCATION_EXTERNAL:
                                  where disks go unless DISK_ONLY or external
                                  memory make them external */
    uint32_t uniform_internal; /* 1: an internal snapshot covers every disk */
    uint32_t create_parse;     /* enum sb_create_parse */
    uint32_t names_unique;     /* 1: names are unique within a domain */
    uint32_t name_max;         /* longest snapshot name in bytes; 0 = 255,
                                  the most the broker accepts */
    uint32_t max_snapshots;    /* per domain; 0 = no limit */
    uint32_t max_depth;        /* longest parent chain; 0 = no limit */
    /* Since 1.1: 1 = the plugin never snapshots a read-only disk
     * (<readonly/>): alignment gives one the request does not list the
     * mode 'no', so an explicit other mode reaching the plugin was asked
     * for (and the plugin refuses it, naming the disk).  0: libvirt's rule
     * (the default location, like any disk). */
    uint32_t readonly_unlisted_no;
    /* Since 1.1 (0 in a 1.0 block).  SB_META_HYPERVISOR only: 1 when the
     * hypervisor keeps snapshot metadata of libvirt's kind, which
     * virDomainSnapshotHasMetadata reports as 1 (libvirt's qemu and test
     * drivers): snapshot-info then says has_metadata 1, and LIST_METADATA /
     * LIST_NO_METADATA filter by it.  0 (as in 1.0): has_metadata 0, as
     * with vSphere and VirtualBox. */
    uint32_t hv_has_metadata;
    /* Since 1.5 (0 in an older block).  1 = the plugin calls the host's
     * intent_durable() before its create, revert or delete changes
     * anything (the hypervisor, an image, a file of its own): the broker
     * then appends the operation's intent to its log without waiting for
     * the disk, and the plugin can make that wait overlap work that
     * changes nothing (the hypervisor answering its first queries).  0:
     * the intent is on disk before the plugin is called. */
    uint32_t intent_barrier;
};

/* Smallest caps block the broker accepts: every member of 1.0 (members
 * appended later are zero-extended for a plugin that lacks them). */
#define SB_PLUGIN_CAPS_SIZE_MIN \
    (offsetof(struct sb_plugin_caps, max_depth) + sizeof(uint32_t))

/* ---- host services --------------------------------------------------- */

enum sb_log_level { SB_LOG_ERROR = 1, SB_LOG_WARN = 2, SB_LOG_INFO = 3, SB_LOG_DEBUG = 4 };

enum sb_disk_type { SB_DISK_TYPE_FILE = 1, SB_DISK_TYPE_BLOCK = 2, SB_DISK_TYPE_NETWORK = 3 };

/* One disk of a snapshot (<disks>/<revertDisks>), after normalization. */
struct sb_snapshot_disk_view {
    const char *name;        /* target dev, e.g. "vda" */
    int snapshot;            /* enum sb_snapshot_location */
    int type;                /* enum sb_disk_type */
    const char *source;      /* file or device path; NULL if none */
    const char *driver_type; /* "qcow2", ...; NULL if none */
    int delete_in_progress;  /* <snapshotDeleteInProgress/> */
};

/* A parsed snapshot definition (read-only).  A plugin that wants to change
 * it copies the struct, edits its copy and calls snapshot_format().  The
 * view carries what plugins act on; a definition formatted from a view has
 * no <cookie>, no network-disk hosts and no metadata_cache, so return XML
 * built that way only for snapshots that had none of them. */
struct sb_snapshot_view {
    uint32_t struct_size;
    const char *name;
    const char *description;         /* NULL if none */
    const char *parent;              /* NULL for a root */
    int state;                       /* enum sb_snapshot_state */
    long long creation_time;         /* seconds since the epoch */
    int memory;                      /* enum sb_snapshot_location */
    const char *memory_file;         /* NULL unless external */
    size_t ndisks;
    const struct sb_snapshot_disk_view *disks;
    size_t nrevert_disks;
    const struct sb_snapshot_disk_view *revert_disks;
    const char *domain_xml;          /* embedded <domain>, NULL if none */
    const char *inactive_domain_xml; /* <inactiveDomain> as <domain>, or NULL */
    int external;                    /* memory or any disk external */
};

/* One disk of a domain definition. */
struct sb_domain_disk_view {
    const char *target;      /* target dev */
    const char *bus;         /* NULL if absent */
    const char *device;      /* "disk", "cdrom", "lun", "floppy" */
    int type;                /* enum sb_disk_type; 0 for other types */
    const char *source;      /* file or device path; NULL for an empty drive */
    const char *driver_type; /* "qcow2", "raw", ...; NULL if absent */
    int snapshot;            /* the disk's own snapshot= (SB_LOCATION_*) */
    int readonly;
    int shareable;
};

struct sb_domain_view {
    uint32_t struct_size;
    const char *name;
    const char *uuid; /* NULL if absent */
    const char *type; /* <domain type=...> */
    size_t ndisks;
    const struct sb_domain_disk_view *disks;
};

struct sb_host_api {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;

    /* Errors and logging.  set_error returns -code.  h may be NULL inside
     * the entry function (no connection exists yet). */
    int (*set_error)(sb_host *h, int code, const char *fmt, ...) SB_PRINTF(3, 4);
    void (*log)(sb_host *h, int level, const char *fmt, ...) SB_PRINTF(3, 4);
    /* Progress of a long operation (0..100); shown on a terminal. */
    void (*progress)(sb_host *h, const char *what, unsigned percent);

    /* Memory for everything handed to the broker. */
    void *(*alloc)(size_t n); /* zeroed; NULL on failure */
    void *(*realloc)(void *p, size_t n);
    char *(*strdup)(const char *s);
    void (*free)(void *p);

    /* The plugin's own configuration group of this host (read-only).
     * Return 1 if found, 0 if absent, a negative class on a wrong type.
     * Strings are borrowed until close(). */
    int (*config_string)(sb_host *h, const char *key, const char **out);
    int (*config_int)(sb_host *h, const char *key, long long *out);
    int (*config_bool)(sb_host *h, const char *key, int *out);
    /* A directory private to this plugin and host, created on demand
     * (e.g. STATE/hosts/<host>/plugin).  Borrowed until close(). */
    const char *(*state_dir)(sb_host *h);

    /* The broker's XML helpers. */
    int (*snapshot_view)(sb_host *h, const char *snapshot_xml,
                         struct sb_snapshot_view **out);
    void (*snapshot_view_free)(struct sb_snapshot_view *v);
    int (*snapshot_format)(sb_host *h, const struct sb_snapshot_view *v, char **out_xml);
    int (*domain_view)(sb_host *h, const char *domain_xml, struct sb_domain_view **out);
    void (*domain_view_free)(struct sb_domain_view *v);

    /* The broker's snapshot tree of a domain (broker-owned metadata only;
     * NO_SUPPORT for hypervisor-owned plugins).  Lets a plugin see what
     * other snapshots still need an image before it removes one.
     * OPERATION_INVALID from open and close, from domain_get_state /
     * domain_is_active while the broker opens that domain's tree, and on
     * another domain than the one a call holds (docs/plugin-abi.md). */
    int (*tree_get_xml)(sb_host *h, const char *domain, const char *name, char **out_xml);
    int (*tree_parent)(sb_host *h, const char *domain, const char *name, char **out_name);
    int (*tree_children)(sb_host *h, const char *domain, const char *name,
                         char ***out_names, size_t *out_n);
    int (*tree_current)(sb_host *h, const char *domain, char **out_name);
    int (*tree_list)(sb_host *h, const char *domain, char ***out_names, size_t *out_n);
    /* Durably replace the stored XML of another snapshot while an
     * operation runs (e.g. mark <snapshotDeleteInProgress/>). */
    int (*tree_update_xml)(sb_host *h, const char *domain, const char *name, const char *xml);

    /* Since 1.1 (NULL in an older broker: check struct_size and the
     * pointer).  Refuse the value of a key of the plugin's group that has
     * the right type but that the plugin cannot use (out of range): sets a
     * CONFIG error "FILE:LINE: 'KEY' in the PLUGIN group of host 'HOST':
     * MESSAGE" and returns -SB_ERR_CONFIG, like set_error. */
    int (*config_invalid)(sb_host *h, const char *key, const char *fmt, ...) SB_PRINTF(3, 4);

    /* Since 1.3 (NULL in an older broker: check struct_size and the
     * pointer).  Visit every snapshot of the domain's tree, each parent
     * before its children: fn(arg, name, xml, xml_len) gets the document
     * tree_get_xml would return (NUL-terminated, xml_len its strlen), name
     * and xml borrowed for that call only
     * (copy what you keep); fn must not call any tree_* service (they
     * answer OPERATION_INVALID meanwhile).
     * A nonzero return from fn stops the walk and is what tree_each
     * returns.  One call for the walks a plugin makes over
     * the whole tree on every operation, instead of tree_list and a
     * tree_get_xml per snapshot: nothing is copied. */
    int (*tree_each)(sb_host *h, const char *domain,
                     int (*fn)(void *arg, const char *name, const char *xml, size_t xml_len),
                     void *arg);

    /* Since 1.4 (NULL in an older broker: check struct_size and the
     * pointer).  tree_each, with each document's version instead of its
     * length: fn(arg, name, version, xml).  No other document this
     * process lends has the same version: a plugin that derives something
     * from a snapshot's document (the images it names) may keep that
     * under the version and, on a later walk, skip the document when the
     * version is the one it kept.  The version changes whenever the
     * document may (a new stored XML, a new parent); it is never 0 and
     * means nothing in another process.  The rest as tree_each. */
    int (*tree_each_versioned)(sb_host *h, const char *domain,
                               int (*fn)(void *arg, const char *name, uint64_t version,
                                         const char *xml),
                               void *arg);

    /* Since 1.5 (NULL in an older broker: check struct_size and the
     * pointer).  For a plugin whose caps say intent_barrier: the intent
     * of the create, revert or delete this connection is running is on
     * disk when it returns 0 (an fdatasync; nothing when it is already).
     * Call it before the operation's first change; a negative class
     * means the operation must change nothing and fail with that error.
     * Outside such an operation, or for a plugin without intent_barrier,
     * it returns 0 at once. */
    int (*intent_durable)(sb_host *h);

    /* Since 1.6 (NULL in an older broker: check struct_size and the
     * pointer).  During snapshot_create: 1 when the caller gave no <name>
     * and the broker named the snapshot after the <creationTime> it chose
     * (the name libvirt gives an unnamed snapshot), 0 when the caller
     * named it, even with a name that looks like a time.  For a plugin
     * that lets the hypervisor name an unnamed snapshot.  0 outside a
     * create. */
    int (*create_name_defaulted)(sb_host *h);
};

/* ---- since 1.1: fleet view and jobs ------------------------------------ */

/* What snapshot_usage() reports.  The broker zeroes it and sets
 * struct_size before the call; a plugin writes only members that exist in
 * the broker's struct_size (members are appended in later minors). */
struct sb_snapshot_usage {
    uint32_t struct_size;
    /* Bytes the snapshot keeps allocated that the domain's current state
     * does not need: the allocated size of its external overlays and
     * memory file, or the clusters only its internal snapshot references.
     * Fill what is cheap to know exactly; leave 0 when unknown and set
     * known_bytes to 0. */
    unsigned long long bytes;
    int known_bytes;          /* 1 when bytes is meaningful */
    unsigned long long memory_bytes; /* saved memory state (part of bytes) */
    char location[256];       /* where it lives: image path, datastore
                                 path, settings file; "" if not applicable */
};

/* What domain_job_info() reports (struct_size set by the broker). */
struct sb_job_info {
    uint32_t struct_size;
    int active;                   /* 1 when a job runs */
    char operation[64];           /* "block-commit", "snapshot-save", ... */
    char snapshot[256];           /* the snapshot it works for; "" if none */
    unsigned long long processed; /* units done (bytes where known) */
    unsigned long long total;     /* units in all; 0 when unknown */
    long long elapsed_ms;         /* since the job started */
};

/* ---- the driver table --------------------------------------------------- */

struct sb_plugin {
    uint32_t struct_size;        /* sizeof(struct sb_plugin) as compiled */
    uint16_t abi_major;          /* SB_PLUGIN_ABI_MAJOR */
    uint16_t abi_minor;          /* SB_PLUGIN_ABI_MINOR */
    const char *name;            /* [a-z0-9][a-z0-9_-]{0,31}, unique */
    const char *version;         /* the plugin's own version string */
    const char *description;     /* one line */
    const struct sb_plugin_caps *caps;

    /* Mandatory since 1.0. */
    int (*open)(sb_conn **out, sb_host *h, const char *uri);
    void (*close)(sb_conn *c); /* accepts NULL */
    int (*domain_list)(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags);
    int (*domain_get_xml)(char **out_xml, sb_conn *c, const char *domain, unsigned flags);
    int (*domain_get_state)(int *out_state, sb_conn *c, const char *domain);

    /* Take a snapshot.  snapshot_xml is the normalized definition (state,
     * memory and every disk filled in, the domain embedded), flags are
     * those the caller passed (minus REDEFINE, which the broker handles for
     * broker-owned metadata).  On success *out_xml may receive the final
     * definition (e.g. driver types filled in) or stay NULL; with
     * SB_META_HYPERVISOR its <name> is the one the caller is given. */
    int (*snapshot_create)(char **out_xml, sb_conn *c, const char *domain,
                           const char *snapshot_xml, unsigned flags);
    /* Revert the domain to a snapshot (its full stored XML).  *out_xml may
     * receive an updated definition (e.g. new <revertDisks>). */
    int (*snapshot_revert)(char **out_xml, sb_conn *c, const char *domain,
                           const char *snapshot_xml, unsigned flags);
    /* Delete one snapshot's data (broker-owned: the broker calls it once per
     * snapshot, children first, and maintains the tree itself;
     * hypervisor-owned: flags as given, the plugin handles CHILDREN). */
    int (*snapshot_delete)(sb_conn *c, const char *domain, const char *snapshot_xml,
                           unsigned flags);

    /* Optional since 1.0: NULL means NO_SUPPORT. */
    int (*domain_define)(char **out_name, sb_conn *c, const char *domain_xml, unsigned flags);
    int (*domain_undefine)(sb_conn *c, const char *domain, unsigned flags);
    int (*domain_start)(sb_conn *c, const char *domain, unsigned flags);
    int (*domain_destroy)(sb_conn *c, const char *domain, unsigned flags);
    int (*domain_shutdown)(sb_conn *c, const char *domain, unsigned flags);
    int (*domain_suspend)(sb_conn *c, const char *domain, unsigned flags);
    int (*domain_resume)(sb_conn *c, const char *domain, unsigned flags);

    /* Hypervisor-owned metadata: mandatory when caps->meta_owner is
     * SB_META_HYPERVISOR, ignored otherwise.  snapshot_list: from NULL =
     * domain-level listing; flags are SB_SNAPSHOT_LIST_*. */
    int (*snapshot_list)(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                         const char *from, unsigned flags);
    int (*snapshot_get_xml)(char **out_xml, sb_conn *c, const char *domain,
                            const char *name, unsigned flags);
    int (*snapshot_current)(char **out_name, sb_conn *c, const char *domain);
    int (*snapshot_parent)(char **out_name, sb_conn *c, const char *domain, const char *name);

    /* Optional since 1.0: does the hypervisor really hold this snapshot?
     * Used to reconcile an interrupted operation (journal intent): 1 yes,
     * 0 no, negative on error. */
    int (*snapshot_exists)(sb_conn *c, const char *domain, const char *snapshot_xml);

    /* ---- since 1.1 (used only when abi_minor >= 1) ---- */

    /* The capabilities of this connection, when they depend on what open()
     * found (the driver behind a libvirt URI, an ESX host or a vCenter).
     * NULL callback, or a NULL return: caps above.  The block is the
     * plugin's, must stay valid until close(), and is validated like caps
     * (a bad block makes sb_connect fail, naming the plugin). */
    const struct sb_plugin_caps *(*conn_caps)(sb_conn *c);

    /* Check a domain definition the plugin may later be asked to act on
     * (the <domain> embedded in a redefined snapshot), without defining
     * anything: 0 if this host could run it, else the class define would
     * give (CONFIG_UNSUPPORTED, XML_ERROR...) with a message naming the
     * element.  flags: 0. */
    int (*domain_validate)(sb_conn *c, const char *domain_xml, unsigned flags);

    /* Space one snapshot holds on the hypervisor's storage (the fleet
     * view).  snapshot_xml is the stored definition for broker-owned
     * metadata, NULL for hypervisor-owned (look it up by name).  Fill what
     * the plugin can tell; leave the rest 0.  NO_SUPPORT: cannot tell. */
    int (*snapshot_usage)(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                          const char *name, const char *snapshot_xml);

    /* The long-running job of a domain (block commit, memory save...),
     * whichever process started it: out->active 0 when none runs. */
    int (*domain_job_info)(struct sb_job_info *out, sb_conn *c, const char *domain);
    /* Cancel that job (the operation that started it fails cleanly, as
     * if it had not been asked for).  OPERATION_INVALID when none runs. */
    int (*domain_job_abort)(sb_conn *c, const char *domain, unsigned flags);

    /* State and its reason (libvirt's virDomain*Reason value for that
     * state, 0 = unknown), for `domstate --reason`. */
    int (*domain_get_state_reason)(int *out_state, int *out_reason, sb_conn *c,
                                   const char *domain);

    /* ---- since 1.2 (used only when abi_minor >= 2) ---- */

    /* Optional: is the domain active, answered without asking the
     * hypervisor anything a state query would (libvirt's
     * virDomainIsActive): *out_active 1 when it runs in any form (a
     * process or powered-on VM, whatever its run state: running, paused,
     * in shutdown), 0 when it is shut off, i.e. when domain_get_state would
     * answer SB_DOMAIN_SHUTOFF.  NO_DOMAIN (with domain_get_state's
     * message) when there is no such domain.  The broker asks it where
     * active-or-not is all it needs: whether the domain exists before a
     * store is opened, and the state a disk-only create is prepared with
     * (disk-snapshot when active, shutoff otherwise; the create decides
     * the state again under its own lock).  Implement it only where it is
     * cheaper than domain_get_state (a pid check instead of a monitor
     * round trip); a plugin whose stopped domains can be in another state
     * than shut off (crashed) must leave it NULL.  NULL: the broker asks
     * domain_get_state. */
    int (*domain_is_active)(int *out_active, sb_conn *c, const char *domain);
};

/* Smallest table the broker accepts: everything up to the mandatory
 * callbacks of 1.0. */
#define SB_PLUGIN_SIZE_MIN (offsetof(struct sb_plugin, snapshot_delete) + sizeof(void *))

/* The entry point.  host_abi_* is the broker's ABI; a plugin may refuse an
 * older broker by returning -SB_ERR_PLUGIN_ABI (after host->set_error). */
typedef int (*sb_plugin_entry_fn)(const struct sb_plugin **out,
                                  const struct sb_host_api *host,
                                  uint32_t host_abi_major, uint32_t host_abi_minor);

#ifdef __cplusplus
}
#endif
#endif
