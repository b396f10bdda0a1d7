/* Minimal libvirt domain model: just what snapshot alignment and the
 * plugins need (identity and disks).  The full <domain> is kept verbatim in
 * sb_snapdef; this is a read-only view of it. */
#ifndef SB_XML_DOMDEF_H
#define SB_XML_DOMDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <libxml/tree.h>

enum sb_domdisk_device {
    SB_DOMDISK_DISK = 0,
    SB_DOMDISK_CDROM,
    SB_DOMDISK_LUN,
    SB_DOMDISK_FLOPPY,
};

enum sb_domdisk_type {
    SB_DOMDISK_FILE = 0,
    SB_DOMDISK_BLOCK,
    SB_DOMDISK_NETWORK,
    SB_DOMDISK_VOLUME,
    SB_DOMDISK_DIR,
};

typedef struct sb_domdisk {
    int device;        /* enum sb_domdisk_device */
    int type;          /* enum sb_domdisk_type */
    char *target;      /* <target dev=> (required) */
    char *bus;         /* <target bus=>, or NULL */
    char *src_path;    /* file=, dev=, dir= or network name=; NULL if none */
    char *driver_type; /* <driver type=>, or NULL */
    int snapshot;      /* the disk's snapshot= (enum sb_snapshot_location) */
    bool readonly;
    bool shareable;
    bool empty;        /* local storage without a source path */
} sb_domdisk;

typedef struct sb_domdef {
    char *name;
    char *uuid;
    char *type; /* <domain type=> */
    sb_domdisk *disks;
    size_t ndisks;
} sb_domdef;

/* Parse domain XML (hardened reader).  Errors are XML_ERROR naming the
 * element/attribute (missing name, disk without <target dev>, bad enum). */
int sb_domdef_parse(const char *xml, size_t len, sb_domdef **out);
/* Same from a tree; root may be <domain> or <inactiveDomain>. */
int sb_domdef_from_node(const xmlNode *root, const char *source_name, sb_domdef **out);
void sb_domdef_free(sb_domdef *def);

/* Domain disk by target dev (no leading '/') or by a source path that
 * matches exactly one disk.  Returns the index, -1 if none, -2 if the path
 * is ambiguous. */
long sb_domdef_find_disk(const sb_domdef *def, const char *name);

#endif
