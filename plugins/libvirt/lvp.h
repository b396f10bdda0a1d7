/* libvirt plugin - internal declarations shared by its modules.
 *
 * Every libvirtd host (local or remote, any driver) through libvirt's own
 * client library.  The hypervisor keeps the snapshot metadata: every
 * snapshot call is one virDomainSnapshot* call with the caller's flags
 * (the values are libvirt's).  Nothing here is visible outside the plugin:
 * the .so exports only sb_plugin_entry_v1; the modules also form a static
 * library that the tests in tests/libvirt/ call directly.
 */
#ifndef LVP_H
#define LVP_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "snapbroker/plugin.h"

/* The host services (set once by the entry point; NULL in unit tests that
 * call the modules without a broker). */
extern const struct sb_host_api *lvp_host;

/* The last failure of one call, kept until the call ends: a call that
 * reconnects and retries must not leave the first attempt's error behind
 * (the broker drops, with a warning, a message left by a success). */
struct lvp_err {
    int code;           /* SB_ERR_* class; 0 = none recorded */
    int vir_code;       /* libvirt's virErrorNumber, 0 if not from libvirt */
    int vir_domain;     /* libvirt's virErrorDomain */
    int conn_lost;      /* the connection to the daemon went away */
    int reported;       /* already handed to the host (set_error done) */
    char msg[1024];
};

/* Credentials for libvirt's auth callback (auth.c).  Never logged. */
struct lvp_auth {
    char *username;     /* config 'username' */
    char *password;     /* config 'password' (wiped on free) */
    char *auth_file;    /* config 'auth_file', LIBVIRT_AUTH_FILE, defaults */
    const char *service;/* auth file section: "libvirt", "test", "esx"... */
    const char *host;   /* auth file section: the URI's host */
    char missing[64];   /* the credential we could not answer, for the message */
};

struct sb_conn {
    sb_host *h;
    char *uri;          /* the libvirt URI (no "libvirt+" prefix) */
    char *host;         /* the URI's host, "localhost" when it has none */
    virConnectPtr vc;   /* NULL while disconnected */
    int loop_held;      /* holds the event loop (conn.c) */
    struct lvp_auth auth;
    int keepalive_interval, keepalive_count;
    int readonly;       /* config 'readonly': a read-only libvirt connection */
    /* What the probe found once per connection (probe.c). */
    char driver[32];            /* virConnectGetType: "QEMU", "TEST", "ESX"... */
    unsigned long lib_version;  /* the daemon's libvirt, major*1e6+minor*1e3+micro */
    struct sb_plugin_caps caps; /* answered by conn_caps */
    int list_by_names;          /* no virDomainListAllSnapshots (ESX, VBOX) */
    /* The last domain and snapshot handles looked up (util.c).  The
     * domain is looked up by name on every call (another client may have
     * renamed the kept one: libvirt acts on a domain handle by uuid); when
     * it is the kept domain, the kept snapshot handle saves the snapshot's
     * lookup round trip.  A domain undefined and defined again between
     * the lookup and the call fails with NO_DOMAIN and is run again with
     * fresh handles (call.c). */
    char *dom_name;
    virDomainPtr dom;
    char *snap_name;    /* of dom_name */
    virDomainSnapshotPtr snap;
    int cache_used;     /* the current attempt used a cached domain */
    /* The call in progress (call.c). */
    int reconnected;
    struct lvp_err err;
};

/* ---- connection (conn.c) ------------------------------------------------ */

/* The libvirt URI inside a snapbroker URI ("libvirt+qemu:///system" ->
 * "qemu:///system"), with no_tty=1 added to ssh transports so that ssh
 * never prompts.  malloc'd; NULL on OOM. */
char *lvp_uri_for_libvirt(const char *uri);
/* The host part of a URI ("qemu+ssh://root@kvm7:22/system" -> "kvm7"),
 * "localhost" when empty.  malloc'd. */
char *lvp_uri_host(const char *uri);
/* Open c->vc (auth callback, keepalive), then probe the driver. */
int lvp_connect(sb_conn *c);
/* Close c->vc (the connection object stays usable for a reconnect). */
void lvp_disconnect(sb_conn *c);
/* Close c->vc and let go of the event loop (close()). */
void lvp_close_all(sb_conn *c);
/* Drop a dead connection and open a new one (no new probe: a host does not
 * change its driver between two calls).  Sets c->reconnected. */
int lvp_reconnect(sb_conn *c);
/* libvirt's default event loop, run in a thread while connections hold
 * it (keepalive and qemu:///embed need one running); nothing when the
 * program registered an event implementation of its own.  hold returns 1
 * when the caller must release. */
int lvp_event_loop_hold(void);
void lvp_event_loop_release(void);

/* ---- one call: errors, reconnect, retry (call.c) ------------------------- */

enum lvp_call_kind {
    LVP_READ = 0,  /* idempotent: retried once after a reconnect */
    LVP_WRITE = 1  /* changes the host: never retried (it may have happened) */
};
/* Run op(c, arg) as one plugin call: reconnect first when the connection
 * is known dead, and once more (retrying LVP_READ ops) when it dies during
 * the op; then hand the recorded error, if any, to the broker.  what names
 * the operation in messages ("snapshot create"). */
int lvp_call(sb_conn *c, enum lvp_call_kind kind, const char *what,
             int (*op)(sb_conn *c, void *arg), void *arg);
/* Record libvirt's last error (read it right after the failing call:
 * every libvirt call resets it), with context prepended unless libvirt's
 * message already names it.  Returns -class. */
int lvp_fail_vir(sb_conn *c, const char *context_fmt, ...) SB_PRINTF(2, 3);
/* Record an error of our own.  Returns -code. */
int lvp_fail(sb_conn *c, int code, const char *fmt, ...) SB_PRINTF(3, 4);

/* ---- error mapping (errors.c) ------------------------------------------- */

/* The broker's class for a libvirt error number (virErrorNumber): the
 * classes that mirror libvirt's keep its value, the rest are mapped by
 * meaning, HYPERVISOR for anything else. */
int lvp_error_class(int vir_code);
/* 1 when a libvirt error says the connection itself failed. */
int lvp_error_is_connection(int vir_code, int vir_domain);
/* Into buf: what to append to a libvirt refusal that names what can be
 * done instead (the libvirt release that lifts it, a workaround), or "". */
void lvp_error_hint(const sb_conn *c, int vir_code, const char *msg, char *buf, size_t size);

/* ---- capabilities per driver (probe.c) ---------------------------------- */

/* The plugin's declared capabilities: every flag accepted, the connected
 * driver decides (used for drivers the probe does not know). */
extern const struct sb_plugin_caps lvp_caps_any;
/* The capabilities of a driver (libvirt 9.0's, see docs/libvirt.md);
 * returns 1 when it lists snapshots only by name (Num + ListNames). */
int lvp_caps_for_driver(struct sb_plugin_caps *out, const char *driver);
/* Ask the connected driver who it is (virConnectGetType and
 * virConnectGetLibVersion: read-only, no side effect) and set c->caps. */
int lvp_probe(sb_conn *c);

/* ---- credentials (auth.c) ------------------------------------------------ */

int lvp_auth_load(sb_conn *c);
void lvp_auth_free(struct lvp_auth *a);
/* The virConnectAuth to open with (cbdata: the connection). */
void lvp_auth_fill(sb_conn *c, virConnectAuth *out);
/* The value of key in section of an auth file (libvirt's auth.conf
 * format); malloc'd, NULL when absent. */
char *lvp_auth_file_lookup(const char *path, const char *section, const char *key);

/* ---- XML helpers (xml.c) ------------------------------------------------- */

/* <name> of a <domainsnapshot>; malloc'd, NULL if none or unreadable. */
char *lvp_xml_snapshot_name(const char *xml);
/* A create definition whose <name> is its <creationTime>, i.e. the
 * name the broker gave a create without one, without that <name>
 * (malloc'd); NULL for any other definition. */
char *lvp_xml_without_default_name(const char *xml);
/* What a snapshot's storage is: the sources of its external disks, its
 * memory file, the sources of its internal disks' images (from the
 * embedded <domain>).  Arrays of malloc'd strings. */
struct lvp_snap_files {
    char **external;  /* external disk overlays */
    size_t nexternal;
    char **internal;  /* images holding internal snapshots */
    size_t ninternal;
    char *memory_file;
};
int lvp_xml_snapshot_files(const char *xml, struct lvp_snap_files *out);
void lvp_snap_files_free(struct lvp_snap_files *f);
/* The target devs of a domain definition's disks (malloc'd array of
 * malloc'd strings). */
int lvp_xml_disk_targets(const char *xml, char ***out, size_t *n);
/* <domain type> and the os/type arch and machine and the emulator of a
 * domain definition, each malloc'd or NULL. */
struct lvp_dom_target {
    char *virttype, *arch, *machine, *emulator;
};
int lvp_xml_domain_target(const char *xml, struct lvp_dom_target *out);
void lvp_dom_target_free(struct lvp_dom_target *t);

/* ---- callbacks (domain.c, snapshot.c, extras.c) --------------------------- */

int lvp_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags);
int lvp_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_get_state(int *out_state, sb_conn *c, const char *domain);
int lvp_domain_define(char **out_name, sb_conn *c, const char *domain_xml, unsigned flags);
int lvp_domain_undefine(sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_start(sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_destroy(sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_shutdown(sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_suspend(sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_resume(sb_conn *c, const char *domain, unsigned flags);
int lvp_domain_get_state_reason(int *out_state, int *out_reason, sb_conn *c,
                                const char *domain);

int lvp_snapshot_create(char **out_xml, sb_conn *c, const char *domain,
                        const char *snapshot_xml, unsigned flags);
int lvp_snapshot_revert(char **out_xml, sb_conn *c, const char *domain,
                        const char *snapshot_xml, unsigned flags);
int lvp_snapshot_delete(sb_conn *c, const char *domain, const char *snapshot_xml,
                        unsigned flags);
int lvp_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                      const char *from, unsigned flags);
int lvp_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                         unsigned flags);
int lvp_snapshot_current(char **out_name, sb_conn *c, const char *domain);
int lvp_snapshot_parent(char **out_name, sb_conn *c, const char *domain, const char *name);
int lvp_snapshot_exists(sb_conn *c, const char *domain, const char *snapshot_xml);
/* The listing the way drivers without virDomainListAllSnapshots need it
 * (ESX, VirtualBox): Num + ListNames.  lvp_snapshot_list falls back to it
 * when ListAll answers NO_SUPPORT; exposed for the tests. */
int lvp_snapshot_list_names(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                            const char *from, unsigned flags);

int lvp_domain_validate(sb_conn *c, const char *domain_xml, unsigned flags);
int lvp_snapshot_usage(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                       const char *name, const char *snapshot_xml);
int lvp_domain_job_info(struct sb_job_info *out, sb_conn *c, const char *domain);
int lvp_domain_job_abort(sb_conn *c, const char *domain, unsigned flags);

/* ---- small helpers (util.c) ---------------------------------------------- */

/* Look a domain up (or take the cached handle); records NO_DOMAIN naming
 * it on failure.  The caller frees the handle. */
virDomainPtr lvp_domain(sb_conn *c, const char *domain);
/* Look a snapshot of dom up (or take the cached handle); records
 * NO_DOMAIN_SNAPSHOT naming it.  The caller frees the handle. */
virDomainSnapshotPtr lvp_snapshot(sb_conn *c, virDomainPtr dom, const char *domain,
                                  const char *name);
/* Forget the cached handles (a new connection, a stale domain). */
void lvp_cache_drop(sb_conn *c);
/* Host-allocated copies for out parameters; record NO_MEMORY on failure. */
int lvp_out_str(sb_conn *c, char **out, const char *s);
/* Copies of names into a host-allocated array. */
int lvp_out_names(sb_conn *c, char ***out_names, size_t *out_n, const char *const *names,
                  size_t n);
/* Names of libvirt snapshots into a host-allocated array (frees snaps). */
int lvp_out_snapshot_names(sb_conn *c, char ***out_names, size_t *out_n,
                           virDomainSnapshotPtr *snaps, int n);
void lvp_free_names(char **names, size_t n); /* host-allocated */
/* malloc'd printf. */
char *lvp_printf(const char *fmt, ...) SB_PRINTF(1, 2);

#endif
