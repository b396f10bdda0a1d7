/* snapbroker - snapshot flags.
 *
 * Names and numeric values are libvirt's (libvirt-domain-snapshot.h), with
 * the VIR_DOMAIN_ prefix replaced by SB_.  tests/unit/test_flags.c checks
 * every value against libvirt's own header.  This header is C99 and is
 * included by plugin.h, so a vendor needs nothing else.
 */
#ifndef SNAPBROKER_FLAGS_H
#define SNAPBROKER_FLAGS_H

/* virDomainSnapshotCreateFlags */
enum sb_snapshot_create_flags {
    SB_SNAPSHOT_CREATE_REDEFINE = 1u << 0,     /* metadata only, no new snapshot */
    SB_SNAPSHOT_CREATE_CURRENT = 1u << 1,      /* with REDEFINE: make it current */
    SB_SNAPSHOT_CREATE_NO_METADATA = 1u << 2,  /* take it, keep no metadata */
    SB_SNAPSHOT_CREATE_HALT = 1u << 3,         /* stop the guest afterwards */
    SB_SNAPSHOT_CREATE_DISK_ONLY = 1u << 4,    /* disks only, no memory */
    SB_SNAPSHOT_CREATE_REUSE_EXT = 1u << 5,    /* external files exist already */
    SB_SNAPSHOT_CREATE_QUIESCE = 1u << 6,      /* freeze guest filesystems */
    SB_SNAPSHOT_CREATE_ATOMIC = 1u << 7,       /* all disks or none */
    SB_SNAPSHOT_CREATE_LIVE = 1u << 8,         /* do not pause while saving memory */
    SB_SNAPSHOT_CREATE_VALIDATE = 1u << 9      /* validate XML against the schema */
};
#define SB_SNAPSHOT_CREATE_ALL 0x3FFu

/* virDomainSnapshotXMLFlags */
enum sb_snapshot_xml_flags {
    SB_SNAPSHOT_XML_SECURE = 1u << 0           /* include passwords and keys */
};
#define SB_SNAPSHOT_XML_ALL 0x1u

/* virDomainSnapshotListFlags.  ROOTS and DESCENDANTS share bit 0: ROOTS
 * for domain-level listings, DESCENDANTS for listings from a snapshot. */
enum sb_snapshot_list_flags {
    SB_SNAPSHOT_LIST_ROOTS = 1u << 0,
    SB_SNAPSHOT_LIST_DESCENDANTS = 1u << 0,
    SB_SNAPSHOT_LIST_METADATA = 1u << 1,
    SB_SNAPSHOT_LIST_LEAVES = 1u << 2,
    SB_SNAPSHOT_LIST_NO_LEAVES = 1u << 3,
    SB_SNAPSHOT_LIST_NO_METADATA = 1u << 4,
    SB_SNAPSHOT_LIST_INACTIVE = 1u << 5,
    SB_SNAPSHOT_LIST_ACTIVE = 1u << 6,
    SB_SNAPSHOT_LIST_DISK_ONLY = 1u << 7,
    SB_SNAPSHOT_LIST_INTERNAL = 1u << 8,
    SB_SNAPSHOT_LIST_EXTERNAL = 1u << 9,
    SB_SNAPSHOT_LIST_TOPOLOGICAL = 1u << 10
};
/* Filter groups (libvirt's virdomainsnapshotobjlist.h masks). */
#define SB_SNAPSHOT_FILTERS_METADATA 0x012u
#define SB_SNAPSHOT_FILTERS_LEAVES 0x00Cu
#define SB_SNAPSHOT_FILTERS_STATUS 0x0E0u
#define SB_SNAPSHOT_FILTERS_LOCATION 0x300u
#define SB_SNAPSHOT_FILTERS_ALL 0x3FEu
#define SB_SNAPSHOT_LIST_ALL 0x7FFu

/* virDomainSnapshotRevertFlags */
enum sb_snapshot_revert_flags {
    SB_SNAPSHOT_REVERT_RUNNING = 1u << 0,      /* running afterwards */
    SB_SNAPSHOT_REVERT_PAUSED = 1u << 1,       /* paused afterwards */
    SB_SNAPSHOT_REVERT_FORCE = 1u << 2,        /* allow risky reverts */
    SB_SNAPSHOT_REVERT_RESET_NVRAM = 1u << 3   /* recreate NVRAM from template */
};
#define SB_SNAPSHOT_REVERT_ALL 0xFu

/* virDomainSnapshotDeleteFlags */
enum sb_snapshot_delete_flags {
    SB_SNAPSHOT_DELETE_CHILDREN = 1u << 0,      /* this one and all descendants */
    SB_SNAPSHOT_DELETE_METADATA_ONLY = 1u << 1, /* metadata only */
    SB_SNAPSHOT_DELETE_CHILDREN_ONLY = 1u << 2  /* descendants only */
};
#define SB_SNAPSHOT_DELETE_ALL 0x7u

/* Snapshot state (virDomainSnapshotState) and location
 * (virDomainSnapshotLocation), as they appear in the XML. */
enum sb_snapshot_state {
    SB_STATE_NOSTATE = 0,
    SB_STATE_RUNNING = 1,
    SB_STATE_BLOCKED = 2,
    SB_STATE_PAUSED = 3,
    SB_STATE_SHUTDOWN = 4,
    SB_STATE_SHUTOFF = 5,
    SB_STATE_CRASHED = 6,
    SB_STATE_PMSUSPENDED = 7,
    SB_STATE_DISK_SNAPSHOT = 8
};

enum sb_snapshot_location {
    SB_LOCATION_DEFAULT = 0,
    SB_LOCATION_NO = 1,
    SB_LOCATION_INTERNAL = 2,
    SB_LOCATION_EXTERNAL = 3,
    SB_LOCATION_MANUAL = 4
};

/* Domain state (virDomainState values). */
enum sb_domain_state {
    SB_DOMAIN_NOSTATE = 0,
    SB_DOMAIN_RUNNING = 1,
    SB_DOMAIN_BLOCKED = 2,
    SB_DOMAIN_PAUSED = 3,
    SB_DOMAIN_SHUTDOWN = 4,
    SB_DOMAIN_SHUTOFF = 5,
    SB_DOMAIN_CRASHED = 6,
    SB_DOMAIN_PMSUSPENDED = 7
};

/* Domain listing (virConnectListAllDomainsFlags values). 0 = all. */
enum sb_domain_list_flags {
    SB_DOMAIN_LIST_ACTIVE = 1u << 0,
    SB_DOMAIN_LIST_INACTIVE = 1u << 1
};

/* Domain XML (virDomainXMLFlags values): SECURE is also
 * SB_SNAPSHOT_XML_SECURE; INACTIVE asks for the definition the domain
 * will have at its next start rather than the running one. */
enum sb_domain_xml_flags {
    SB_DOMAIN_XML_SECURE = 1u << 0,
    SB_DOMAIN_XML_INACTIVE = 1u << 1
};

/* Domain define (virDomainDefineFlags value). */
enum sb_domain_define_flags {
    SB_DOMAIN_DEFINE_VALIDATE = 1u << 0
};

/* Domain undefine (virDomainUndefineFlagsValues value). */
enum sb_domain_undefine_flags {
    SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 1u << 1
};

/* Domain start (virDomainCreateFlags value). */
enum sb_domain_start_flags {
    SB_DOMAIN_START_PAUSED = 1u << 0
};

#endif
