/* The <domainsnapshot> model and the engine's internal API.
 *
 * Building blocks the broker calls itself, with a plugin's policy:
 *     sb_snapdef_parse()  -> sb_snapdef_align_disks() -> sb_snapdef_format()
 * sb_xml_normalize() (include/snapbroker/xml.h) strings them together with
 * libvirt's/qemu's defaults for the CLI.  Semantics: docs/format.md and
 * the spec's §3, §4, §7, §9. */
#ifndef SB_XML_SNAPDEF_H
#define SB_XML_SNAPDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <libxml/tree.h>

#include "snapbroker/flags.h"
#include "xml/domdef.h"

/* Parse flags (libvirt's VIR_DOMAIN_SNAPSHOT_PARSE_*). */
enum sb_snap_parse_flags {
    SB_SNAP_PARSE_REDEFINE = 1u << 0, /* all fields relevant, required ones enforced */
    SB_SNAP_PARSE_INTERNAL = 1u << 1, /* broker metadata file: <active> required */
    SB_SNAP_PARSE_OFFLINE = 1u << 2,  /* guest inactive or DISK_ONLY: no memory state */
    SB_SNAP_PARSE_VALIDATE = 1u << 3, /* RelaxNG check before anything else;
                                         without it, as in libvirt, the schema
                                         is never applied */
};

/* Format flags (libvirt's VIR_DOMAIN_SNAPSHOT_FORMAT_*). */
enum sb_snap_format_flags {
    SB_SNAP_FORMAT_SECURE = 1u << 0,   /* keep secrets in the embedded domain */
    SB_SNAP_FORMAT_INTERNAL = 1u << 1, /* emit <active> */
    SB_SNAP_FORMAT_CURRENT = 1u << 2,  /* with INTERNAL: <active>1</active> */
};

/* Storage type of a snapshot disk (the subset the schema allows). */
enum sb_snapdisk_type {
    SB_SNAPDISK_FILE = 0, /* default when type= is absent */
    SB_SNAPDISK_BLOCK = 1,
    SB_SNAPDISK_NETWORK = 2,
};

typedef struct sb_snapdisk {
    char *name;        /* target dev, or an absolute path before alignment */
    int snapshot;      /* enum sb_snapshot_location */
    int type;          /* enum sb_snapdisk_type */
    char *src_path;    /* file= (file), dev= (block), name= (network); or NULL */
    xmlDoc *source;    /* the <source> element as given (root), or NULL */
    char *driver_type; /* <driver type=>, or NULL */
    unsigned long long metadata_cache_max_size; /* bytes */
    bool has_metadata_cache;
    bool delete_in_progress; /* <snapshotDeleteInProgress/> (redefine only) */
} sb_snapdisk;

typedef struct sb_snapdef {
    char *name;
    char *description;
    int state;         /* enum sb_snapshot_state; NOSTATE = unset */
    char *parent;      /* parent snapshot name, or NULL */
    long long creation_time;
    bool has_creation_time;
    bool name_defaulted; /* no <name> given: named after creation_time */
    int memory;        /* enum sb_snapshot_location */
    char *memory_file;
    sb_snapdisk *disks;
    size_t ndisks;
    sb_snapdisk *revert_disks;
    size_t nrevert_disks;
    xmlDoc *domain;          /* full <domain> (root element), or NULL */
    /* domain's disks and identity as its parse checked them, kept for the
     * alignment (which parsed it again); NULL once anything may have
     * changed the document (sb_snapdef_map_paths) or when not known */
    sb_domdef *domain_view;
    char *domain_uuid;       /* old <domain><uuid/></domain> form, or NULL */
    xmlDoc *inactive_domain; /* <inactiveDomain> (root element), or NULL */
    xmlDoc *cookie;          /* <cookie> (root element), kept verbatim, or NULL */
    int active;              /* -1 unset, 0, 1 (INTERNAL only) */
} sb_snapdef;

/* Allocation helpers; free functions accept NULL. */
sb_snapdef *sb_snapdef_new(void);
void sb_snapdef_free(sb_snapdef *def);
void sb_snapdisk_clear(sb_snapdisk *disk);

/* A snapshot is external if its memory or any disk is external (§3.3). */
bool sb_snapdef_is_external(const sb_snapdef *def);

/* Set a disk's source path, creating or updating its <source> element
 * (file= for file disks, dev= for block).  path is copied. */
int sb_snapdisk_set_path(sb_snapdisk *disk, const char *path);

/* Enumeration strings.  *_from_string return -1 for unknown values. */
const char *sb_snap_state_to_string(int state);
int sb_snap_state_from_string(const char *s);
const char *sb_snap_location_to_string(int loc);
int sb_snap_location_from_string(const char *s);
const char *sb_snapdisk_type_to_string(int type);

/* Parse a <domainsnapshot> document.  flags: enum sb_snap_parse_flags.
 * source_name names the input in messages (may be NULL).  On success *out
 * is a new definition (sb_snapdef_free). */
int sb_snapdef_parse(const char *xml, size_t len, const char *source_name, unsigned flags,
                     sb_snapdef **out);
/* Same, from an already read document (the root must be domainsnapshot),
 * which the call takes: *doc is freed, or becomes the definition's
 * <domain>, and is NULL afterwards either way. */
int sb_snapdef_parse_doc(xmlDoc **doc, const char *source_name, unsigned flags,
                         sb_snapdef **out);

/* Canonical XML; flags: enum sb_snap_format_flags.  *out is malloc'd. */
int sb_snapdef_format(const sb_snapdef *def, unsigned flags, char **out);
/* def's <domain> as sb_snapdef_format prints it inside the document with
 * SB_SNAP_FORMAT_SECURE (its lines, indented one level); "" without one. */
int sb_snapdef_print_domain(const sb_snapdef *def, char **out);
/* sb_snapdef_format, with def's <domain> already printed (domain_print:
 * what sb_snapdef_print_domain gave for a <domain> the same as def's, or
 * NULL); used only with SB_SNAP_FORMAT_SECURE, as the print keeps secrets.
 * A series of redefines of one domain prints its <domain> once. */
int sb_snapdef_format_with(const sb_snapdef *def, unsigned flags, const char *domain_print,
                           char **out);

/* Embed a full domain definition (replaces any <domain>); the XML is read
 * with the hardened reader and checked with sb_domdef_parse(). */
int sb_snapdef_set_domain(sb_snapdef *def, const char *domain_xml);

/* A redefine's check of the domain it belongs to (libvirt's
 * virDomainSnapshotRedefinePrep): the snapshot's <domain> (or the old
 * <domain><uuid/></domain> form) must carry that domain's uuid, else
 * INVALID_ARG "definition for snapshot 'S' must use uuid U of domain 'D',
 * not V".  uuid NULL (unknown) or a snapshot without one: nothing to
 * check.  One rule for `snapshot-create --redefine` and `xml-normalize
 * --redefine --domain`. */
int sb_snapdef_check_domain_uuid(const sb_snapdef *def, const char *domain, const char *uuid);

/* Disk alignment policy (§4.3), one per plugin. */
struct sb_align_policy {
    int default_location;    /* SB_LOCATION_INTERNAL / _EXTERNAL / _NO */
    bool uniform_internal;   /* "all internal or nothing" (qemu) */
    bool force_default;      /* unlisted disks ignore the domain disk's snapshot= */
    bool allow_override;     /* false: explicit mode must equal the domain disk's */
    bool allow_disk_entries; /* false: any <disks> entry is refused */
    const char *plugin_name; /* for messages; may be NULL */
    bool readonly_no;        /* unlisted read-only disks get 'no' (a plugin's choice) */
};

/* Align def's disks with the domain: def's own <domain> if it has one,
 * else fallback (may be NULL); neither -> INTERNAL_ERROR.  Afterwards
 * def->disks has one entry per domain disk, in domain order, named by
 * target dev, and external disks without a path have a generated one. */
int sb_snapdef_align_disks(sb_snapdef *def, const sb_domdef *fallback,
                           const struct sb_align_policy *pol);

/* The defaults and alignment of sb_xml_normalize() on an already parsed
 * definition (create mode: name, creationTime, state, memory; both modes:
 * disk alignment with the policy in o).  Embeds o->domain_xml when def has
 * no <domain>.  Used by the broker with a plugin's policy. */
struct sb_normalize_opts;
int sb_snapdef_normalize(sb_snapdef *def, const struct sb_normalize_opts *o);

/* The default external file name of §4.3 step 5, for tests and plugins:
 * "/img/vm.qcow2" + "s1" -> "/img/vm.s1" (no stat here). */
int sb_snap_default_path(const char *source, const char *snapshot_name, char **out);

#endif
