/* vbox plugin - internal declarations shared by its modules.
 *
 * VirtualBox keeps a machine's snapshot tree in the machine's settings
 * file (<name>.vbox): nested <Snapshot> elements, the currentSnapshot
 * attribute, and a media registry in which differencing images hang under
 * their parents.  The plugin reads and writes that format directly (and
 * the VDI images), because VirtualBox itself cannot be installed on
 * Debian 12; VBoxManage is used only for running machines when it is on
 * PATH.  Nothing here is visible outside the plugin: the .so exports only
 * sb_plugin_entry_v1.  The modules also form a static library so the tests
 * in tests/vbox/ can call them directly.
 */
#ifndef VB_H
#define VB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "snapbroker/plugin.h"

/* ---- context and errors (util.c) ---------------------------------------- */

typedef struct vb_machine vb_machine;

typedef struct vb_ctx {
    const struct sb_host_api *api; /* NULL: no host (unit tests) */
    sb_host *h;
    char *home;         /* VirtualBox home (holds VirtualBox.xml), or NULL */
    char **folders;     /* machine folders scanned for *.vbox */
    size_t nfolders;
    char *vboxmanage;   /* VBoxManage to use for running machines; NULL: none */
    char *proc_root;    /* "/proc"; tests may point elsewhere */
    /* TEST ONLY (config key test_crash_at, default none): the process
     * SIGKILLs itself at the named step of an operation ("create:images",
     * "delete:merge-block", ...; see vb_test_point), so a test can check
     * what a kill at that step leaves behind.  "name:N" fires on the Nth
     * time the step is reached. */
    char *crash_at;
    unsigned crash_seen;
    /* TEST ONLY (config key test_no_splice): take snapshots through the
     * document, never by editing the text (a test compares the two). */
    int no_splice;
    /* A machine the connection read already, with its bytes: the next
     * operation on that file takes it when the file is unchanged. */
    struct vb_machine *pre_m;
    char *pre_buf;
    size_t pre_len;
    int err_code;
    char err_msg[1024];
} vb_ctx;

/* Record an error (and hand it to the host when there is one); -code. */
int vb_error(vb_ctx *ctx, int code, const char *fmt, ...) SB_PRINTF(3, 4);
/* Same, with ": strerror(errnum)" appended. */
int vb_error_errno(vb_ctx *ctx, int code, int errnum, const char *fmt, ...) SB_PRINTF(4, 5);
/* The last error again, with its code, as prefix + its message + suffix
 * (what failed, said in the terms of the operation that saw it). */
int vb_error_around(vb_ctx *ctx, int rc, const char *prefix, const char *suffix);
int vb_oom(vb_ctx *ctx);
void vb_log(vb_ctx *ctx, int level, const char *fmt, ...) SB_PRINTF(3, 4);
void vb_ctx_init(vb_ctx *ctx, const struct sb_host_api *api, sb_host *h);
void vb_ctx_fini(vb_ctx *ctx);
/* TEST ONLY: SIGKILL here when the configured crash step is `step`. */
void vb_test_point(vb_ctx *ctx, const char *step);

/* ---- strings, files, time (util.c) --------------------------------------- */

char *vb_strdup(const char *s); /* NULL stays NULL */
char *vb_printf(const char *fmt, ...) SB_PRINTF(1, 2);
/* dir + "/" + name, or name itself when it is absolute. */
char *vb_path_join(const char *dir, const char *name);
char *vb_dirname(const char *path);
int vb_file_exists(const char *path);
/* Two stats of a settings file name the same, unchanged bytes and owner:
 * a cached machine is still good.  The change time counts too: a chown
 * changes no byte, but the owner decides whose VirtualBox holds the
 * machine (procs.c). */
int vb_stat_same(const struct stat *a, const struct stat *b);
int vb_read_file(vb_ctx *ctx, const char *path, size_t max, char **out, size_t *out_len);
/* write() until done; 0 or -errno. */
int vb_write_all(int fd, const void *buf, size_t len);
/* Write a complete file durably (temp, fsync, rename, directory fsync). */
int vb_write_file_atomic(vb_ctx *ctx, const char *path, const char *data, size_t len);
int vb_fsync_dir_of(const char *path);
int vb_mkdir_p(const char *path, mode_t mode);
/* "2025-12-19T17:01:46Z" (fractions allowed) -> seconds; -1 if invalid. */
long long vb_time_parse(const char *s);
void vb_time_format(long long t, char *buf, size_t size);
/* Growing array of strings. */
typedef struct vb_strv {
    char **v;
    size_t n, cap;
} vb_strv;
int vb_strv_add(vb_strv *s, const char *str);
void vb_strv_free(vb_strv *s);

/* ---- UUIDs (uuid.c) --------------------------------------------------- */

/* Canonical form: 36 lowercase characters, no braces. */
#define VB_UUID_LEN 37
/* Accepts "{...}" or bare, any case; 0 or -1 when not a UUID. */
int vb_uuid_parse(const char *in, char out[VB_UUID_LEN]);
int vb_uuid_is_null(const char *u);
void vb_uuid_generate(char out[VB_UUID_LEN]);
/* VirtualBox's binary layout (RTUUID: first three fields little endian). */
int vb_uuid_to_bin(const char *u, unsigned char b[16]);
void vb_uuid_from_bin(const unsigned char b[16], char out[VB_UUID_LEN]);
void vb_uuid_generate_bin(unsigned char b[16]);

/* ---- the machine model, read from a settings file (settings_read.c) ---- */

enum vb_bus {
    VB_BUS_IDE = 1, VB_BUS_SATA, VB_BUS_SCSI, VB_BUS_SAS, VB_BUS_FLOPPY, VB_BUS_USB,
    VB_BUS_NVME, VB_BUS_VIRTIO
};
enum vb_dev { VB_DEV_HDD = 1, VB_DEV_DVD, VB_DEV_FLOPPY, VB_DEV_OTHER };

typedef struct vb_attach {
    char *controller;           /* StorageController name */
    int bus;                    /* enum vb_bus, 0 unknown */
    int dev;                    /* enum vb_dev */
    unsigned port, device;
    char image[VB_UUID_LEN];    /* the medium, "" when none */
    char *host_drive;           /* HostDrive src, or NULL */
    size_t image_at, image_len; /* the uuid attribute's value in the file */
} vb_attach;

/* What the plugin needs of a <Hardware> (the machine's or a snapshot's). */
typedef struct vb_hw {
    unsigned ram_mib;
    unsigned cpus;
    vb_attach *att;
    size_t natt, catt;
} vb_hw;

typedef struct vb_snap {
    char uuid[VB_UUID_LEN];
    char *name;
    char *desc;          /* NULL when none */
    char *state_file;    /* saved machine state (an online snapshot), or NULL */
    long long ctime;     /* timeStamp in seconds */
    long parent;         /* index in vb_machine.snaps, -1 for the root */
    unsigned depth;      /* 1 for the root */
    size_t nchildren;
    size_t nbelow;       /* descendants: snaps[i+1 .. i+nbelow] (document order) */
    vb_hw hw;
    long line;           /* where it starts in the settings file */
    /* byte offsets in the file (vb_machine.spliceable): after its start
     * tag, its end tag, its <Snapshots>' end tag (0: none) */
    size_t open_end, close_at, kids_close_at;
} vb_snap;

enum vb_medium_kind { VB_MEDIUM_HDD = 1, VB_MEDIUM_DVD, VB_MEDIUM_FLOPPY };

typedef struct vb_medium {
    char uuid[VB_UUID_LEN];
    char *location;      /* as written in the registry */
    char *path;          /* absolute */
    char *format;        /* "VDI", "VMDK", ... */
    char *type;          /* base images: Normal, Immutable, ...; NULL for diffs */
    long parent;         /* index in vb_machine.media, -1 for a base */
    int kind;            /* enum vb_medium_kind */
    int global;          /* registered in VirtualBox.xml, not in the machine */
    int autoreset;
    /* byte offsets in the file: the end of its start tag ('>' or "/>"),
     * its end tag (0 when empty) */
    size_t tag_end, close_at;
    int empty;
} vb_medium;

struct vb_machine {
    char *path;              /* the settings file */
    char *dir;               /* its directory */
    char uuid[VB_UUID_LEN];
    char *name;
    char *snapshot_folder;   /* absolute */
    char current[VB_UUID_LEN]; /* "" when none */
    int current_modified;
    char *state_file;        /* the machine's saved state, or NULL */
    vb_hw hw;                /* the current state */
    vb_snap *snaps;          /* document order: a parent before its children */
    size_t nsnaps, csnaps;
    vb_medium *media;
    size_t nmedia, cmedia;
    struct stat st;          /* of the settings file as read */
    /* Where things are in the file, for edits made on its text
     * (settings_splice.c); spliceable 0 when any offset could not be
     * checked. */
    int spliceable;
    size_t machine_at, machine_open_end, machine_close_at;
    size_t state_at[3], state_end[3]; /* Hardware, StorageControllers, Platform */
    size_t nstate;
};

/* Parse a settings file held in memory.  source names it in messages;
 * dir resolves relative locations. */
int vb_machine_parse(vb_ctx *ctx, const char *buf, size_t len, const char *source,
                     vb_machine **out);
/* Read and parse path (the global registry's media are added by the
 * caller, vb_machine_load). */
int vb_machine_read(vb_ctx *ctx, const char *path, vb_machine **out);
void vb_machine_free(vb_machine *m);
/* Only the Machine element's uuid and name (fast: stops there). */
int vb_machine_peek(vb_ctx *ctx, const char *path, char uuid[VB_UUID_LEN], char **name);

long vb_snap_index(const vb_machine *m, const char *uuid);  /* -1 if none */
long vb_medium_index(const vb_machine *m, const char *uuid); /* -1 if none */
/* The snapshot whose state the given index's children hang under. */
const vb_snap *vb_current(const vb_machine *m);
size_t vb_medium_children(const vb_machine *m, long idx, long *first);
/* The base of a medium's chain. */
long vb_medium_base(const vb_machine *m, long idx);

/* ---- the global registry and machine discovery (machines.c) ------------- */

typedef struct vb_entry {
    char *path;
    char uuid[VB_UUID_LEN];
    char *name;
} vb_entry;

typedef struct vb_entries {
    vb_entry *v;
    size_t n;
    vb_strv unreadable; /* "path: reason" of settings files that did not parse */
} vb_entries;

int vb_machines_list(vb_ctx *ctx, vb_entries *out);
void vb_entries_free(vb_entries *e);
/* Find a machine by name or UUID (NO_DOMAIN if none, INVALID_ARG if the
 * name is ambiguous) and load it, with the global registry's media. */
int vb_machine_load(vb_ctx *ctx, const char *domain, vb_machine **out);
/* Only the settings file of that machine. */
int vb_machine_find(vb_ctx *ctx, const char *domain, char **out_path);
/* The VirtualBox home of a user whose environment has these
 * VBOX_USER_HOME and HOME (either may be NULL): VBOX_USER_HOME when set,
 * else ~/.config/VirtualBox, else the older ~/.VirtualBox when only it
 * exists.  malloc'ed; NULL without either (or out of memory). */
char *vb_user_home(const char *vbox_user_home, const char *home);
/* Does the VirtualBox home at home register machine uuid?  1 yes, 0 no,
 * negative when its VirtualBox.xml cannot be read. */
int vb_home_registers(vb_ctx *ctx, const char *home, const char *uuid);
/* Add the media of the home's VirtualBox.xml to m (global = 1). */
int vb_global_media(vb_ctx *ctx, vb_machine *m);

/* ---- libvirt views: domain XML, disks, snapshot XML ----------------------- */

/* The namespace of VirtualBox's settings, also used for the plugin's
 * <metadata> in domain definitions. */
#define VB_XML_NS "http://www.virtualbox.org/"

/* libvirt's target name of each attachment (hda, sdb, fda...): an array of
 * hw->natt strings, NULL for devices without one (vb_targets_free). */
int vb_disk_targets(vb_ctx *ctx, const vb_hw *hw, char ***out);
void vb_targets_free(char **v, size_t n);
const vb_medium *vb_attach_medium(const vb_machine *m, const vb_attach *a);
/* The type of a medium's chain ("Normal" when its base names none). */
const char *vb_medium_type(const vb_machine *m, const vb_medium *md);
int vb_medium_type_is(const vb_machine *m, const vb_medium *md, const char *type);
/* Does a snapshot give this medium a differencing image (normal hard
 * disks), or keep its attachment as it is (every other type)? */
int vb_medium_snapshotted(const vb_machine *m, const vb_medium *md);
/* The attachment in the same controller slot of another state. */
const vb_attach *vb_same_slot(const vb_hw *hw, const vb_attach *a);
/* Does any snapshot attach this medium? */
int vb_medium_in_snapshots(const vb_machine *m, const char *uuid);
/* The differencing image that took the writes after snapshot snap on
 * attachment a (medium index), or -1. */
long vb_overlay_of(const vb_machine *m, size_t snap, const vb_attach *a);
/* The <domain type='vbox'> of the current state (snap -1) or of snapshot
 * index snap (then with the plugin's <metadata>). */
int vb_domain_xml(vb_ctx *ctx, const vb_machine *m, const vb_hw *hw, long snap, char **out);
/* The <domainsnapshot> of snapshot index i. */
int vb_snapshot_xml(vb_ctx *ctx, const vb_machine *m, size_t i, char **out);
/* A snapshot by name or "uuid:{...}": its index.  Not found is
 * OPERATION_INVALID (VirtualBox's rule), an ambiguous name INVALID_ARG
 * listing the candidates' UUIDs. */
long vb_snapshot_lookup(vb_ctx *ctx, const vb_machine *m, const char *name, int *rc);
/* The snapshot a definition names: the UUID in its <domain>'s metadata
 * when that snapshot exists, else its name. */
long vb_snapshot_from_xml(vb_ctx *ctx, const vb_machine *m, const char *snapshot_xml, int *rc);
/* The snapshot UUID an XML's <domain><metadata> carries ("" if none). */
void vb_xml_snapshot_uuid(const char *snapshot_xml, char out[VB_UUID_LEN]);
/* What the plugin reads back from a snapshot definition: name,
 * description, and its own <metadata> in the embedded domain (UUID "" when
 * none, saved state file, "target file" per differencing image). */
typedef struct vb_xml_meta {
    char *name, *desc;
    char uuid[VB_UUID_LEN];
    char *state_file;
    vb_strv overlays;
} vb_xml_meta;
int vb_xml_read(const char *xml, vb_xml_meta *out); /* -1: not XML */
void vb_xml_meta_free(vb_xml_meta *x);
/* name, description (desc may be NULL) and that UUID; -1 if not XML. */
int vb_xml_fields(const char *xml, char **name, char **desc, char uuid[VB_UUID_LEN]);

/* ---- listing (snap_query.c) ------------------------------------------ */

/* Indexes of the snapshots a listing returns (libvirt's filters). */
int vb_snapshot_filter(vb_ctx *ctx, const vb_machine *m, long from, unsigned flags,
                       size_t **out, size_t *n);

/* ---- running machines and VirtualBox's own processes (procs.c) ----------- */

typedef struct vb_procs {
    pid_t vboxsvc;   /* VBoxSVC of the settings' owner, 0 if none */
    pid_t vm;        /* the process running this machine, 0 if none */
} vb_procs;

int vb_procs_find(vb_ctx *ctx, const vb_machine *m, vb_procs *out);

#endif
