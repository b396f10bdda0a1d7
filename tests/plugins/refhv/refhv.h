/* "refhv": a test fixture for hypervisor-owned snapshot metadata
 * (caps.meta_owner = SB_META_HYPERVISOR), the path the ESX and VirtualBox
 * plugins will take.  Not a product backend: no disk or VM work.
 *
 * One source, two plugins (capabilities are per plugin, so the mode cannot
 * come from the URI):
 *   refhv       (refhv:///default)      libvirt's ESX driver (spec §6.2):
 *       create DISK_ONLY|QUIESCE|NO_METADATA|VALIDATE, no <disks> entries
 *       (disk_override NONE), a duplicate name anywhere -> OPERATION_INVALID;
 *       revert flags 0; delete CHILDREN|METADATA_ONLY (METADATA_ONLY is a
 *       no-op success); list ROOTS/DESCENDANTS|METADATA|LEAVES (METADATA
 *       gives 0 results); get_xml name, description, state, parent,
 *       creationTime and <domain><uuid/></domain>; not found and no
 *       current -> NO_DOMAIN_SNAPSHOT.  The snapshot's state is the power
 *       state of the VM when it was taken (running/paused/shutoff).
 *   refhv-vbox  (refhv-vbox:///default) libvirt's VirtualBox driver (§6.3):
 *       create_parse REDEFINE (a plain create must carry name, state and
 *       creationTime; its state and time are then ignored: "online" is the
 *       VM's state, the time is now), create NO_METADATA|REDEFINE|CURRENT|
 *       VALIDATE, one root only, names not unique (TakeSnapshot accepts a
 *       taken name; lookups find the first in tree order); revert flags 0,
 *       a running VM -> OPERATION_INVALID; delete CHILDREN|METADATA_ONLY
 *       (METADATA_ONLY with children -> INTERNAL_ERROR, otherwise the node
 *       goes and current moves to its parent; a snapshot with more than one
 *       child cannot be merged away -> INTERNAL_ERROR); list ROOTS|METADATA
 *       only, no children listing (NO_SUPPORT); get_xml adds the VM's
 *       <domain> as it was; not found and no current -> OPERATION_INVALID.
 * Both: a new snapshot's parent is the current one and it becomes current;
 * revert makes the target current and gives the VM the snapshot's power
 * state; undefining a domain drops its snapshots (the VM's files go with
 * it); snapshot_exists answers from the tree.  Listings are depth-first,
 * parents before children, siblings oldest first.
 *
 * State: domains AND snapshot trees in one file, STATE/refhv (under the
 * host's state_dir), rewritten atomically (temp, fsync, rename, directory
 * fsync) under flock on STATE/refhv.lock: the CLI runs one process per
 * command.  A missing file is the initial state: domain "test", running.
 * Like every plugin it includes only snapbroker/plugin.h. */
#ifndef REFHV_H
#define REFHV_H

#include "snapbroker/plugin.h"

#ifndef REFHV_VBOX
#define REFHV_VBOX 0
#endif
#define HV_NAME (REFHV_VBOX ? "refhv-vbox" : "refhv")

extern const struct sb_host_api *hv_host;

/* Snapshots are linked by id (VirtualBox's UUIDs, vSphere's managed
 * objects), not by name: VirtualBox names need not be unique. */
struct hv_snap {
    unsigned id;        /* > 0, unique within the domain */
    unsigned parent_id; /* 0 for a root */
    char *name;
    char *desc;    /* NULL if none */
    char *dom_xml; /* the VM's definition when it was taken */
    int state;     /* enum sb_snapshot_state */
    long long ctime;
};

struct hv_dom {
    char *name;
    char *xml;
    unsigned current; /* snapshot id, 0 if none */
    int state;     /* enum sb_domain_state */
    struct hv_snap *snaps; /* creation order */
    size_t nsnaps;
};

struct hv_state {
    struct hv_dom *doms;
    size_t n;
    int lock; /* flock'ed fd, -1 when released */
};

struct sb_conn {
    sb_host *h;
    /* ABI 1.1 conn_caps: the URI's query picks a variant of hv_caps, as a
     * real plugin would after probing its host ("?no-quiesce": a host
     * without QUIESCE; "?bad-caps": an invalid block, for the broker's
     * check; "?current-alone": CREATE_CURRENT without CREATE_REDEFINE, a
     * contradiction the broker refuses).  NULL: the plugin's caps. */
    const struct sb_plugin_caps *caps;
    char *file;
    char *lock_file;
};

/* ---- refhv_state.c ---- */
int hv_load(struct hv_state *st, sb_conn *c, int exclusive);
int hv_save(const struct hv_state *st, sb_conn *c);
void hv_release(struct hv_state *st); /* unlock and free */
struct hv_dom *hv_find_dom(struct hv_state *st, const char *name);
/* The first snapshot of that name in tree order. */
struct hv_snap *hv_find_snap(struct hv_dom *d, const char *name);
struct hv_snap *hv_snap_by_id(struct hv_dom *d, unsigned id); /* 0: NULL */
const char *hv_name_of(struct hv_dom *d, unsigned id);        /* 0: NULL */
size_t hv_children(const struct hv_dom *d, const struct hv_snap *s);
int hv_oom(sb_conn *c);
int hv_no_domain(sb_conn *c, const char *name);
char *hv_strdup(const char *s); /* NULL stays NULL */
int hv_set(char **field, const char *value); /* replace, 0 or -1 (oom) */
const char *hv_initial_xml(void);

/* ---- refhv_domain.c / refhv_snapshot.c: the callbacks ---- */
int hv_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags);
int hv_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags);
int hv_domain_get_state(int *out_state, sb_conn *c, const char *domain);
int hv_domain_define(char **out_name, sb_conn *c, const char *xml, unsigned flags);
int hv_domain_undefine(sb_conn *c, const char *domain, unsigned flags);
int hv_domain_start(sb_conn *c, const char *domain, unsigned flags);
int hv_domain_destroy(sb_conn *c, const char *domain, unsigned flags);
int hv_domain_shutdown(sb_conn *c, const char *domain, unsigned flags);
int hv_domain_suspend(sb_conn *c, const char *domain, unsigned flags);
int hv_domain_resume(sb_conn *c, const char *domain, unsigned flags);

int hv_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                       unsigned flags);
int hv_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                       unsigned flags);
int hv_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags);
int hv_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                     const char *from, unsigned flags);
int hv_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                        unsigned flags);
int hv_snapshot_current(char **out_name, sb_conn *c, const char *domain);
int hv_snapshot_parent(char **out_name, sb_conn *c, const char *domain, const char *name);
int hv_snapshot_exists(sb_conn *c, const char *domain, const char *xml);

#endif
