/* esx plugin - internal declarations shared by its modules.
 *
 * The plugin speaks the vSphere Web Services (SOAP) API, as ESXi hosts
 * and vCenter servers serve it, over libcurl (one keep-alive handle, the
 * session cookie in curl's cookie engine) and reads the answers with
 * libxml2.  Snapshot metadata is the hypervisor's (SB_META_HYPERVISOR):
 * every tree, name and state comes from the VM's "snapshot" property.
 * Nothing here is visible outside the plugin: the .so exports only
 * sb_plugin_entry_v1; tests link the modules as a static library.
 */
#ifndef ESX_H
#define ESX_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "snapbroker/plugin.h"

/* ---- growing string buffer (buf.c) -------------------------------------- */

typedef struct esx_buf {
    char *p;
    size_t len, cap;
    int oom;
} esx_buf;

void eb_add(esx_buf *b, const char *s, size_t n);
void eb_adds(esx_buf *b, const char *s);
void eb_printf(esx_buf *b, const char *fmt, ...) SB_PRINTF(2, 3);
/* s with & < > " ' escaped for XML text and attribute values. */
void eb_esc(esx_buf *b, const char *s);
/* <tag>escaped text</tag> */
void eb_elem(esx_buf *b, const char *tag, const char *text);
/* <tag type="TYPE">escaped value</tag>: a managed object reference. */
void eb_ref(esx_buf *b, const char *tag, const char *type, const char *value);
void eb_free(esx_buf *b);
/* The string (malloc'ed, caller frees) or NULL after an allocation failure. */
char *eb_steal(esx_buf *b);

/* Texts set aside from an answer before its parse (defer.c). */
typedef struct esx_texts {
    char **v;
    size_t n;
} esx_texts;

/* ---- managed object references ------------------------------------------- */

typedef struct esx_ref {
    char *type;  /* "VirtualMachine", ... */
    char *value; /* opaque: "vm-12", "session[...]..." */
} esx_ref;

void esx_ref_clear(esx_ref *r);
int esx_ref_set(esx_ref *r, const char *type, const char *value); /* 0 or -1 (oom) */
int esx_ref_eq(const esx_ref *a, const esx_ref *b);

/* ---- reading answers (xml.c) --------------------------------------------- */

#define ESX_NS_VIM "urn:vim25"
#define ESX_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define ESX_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"

/* First element child of node with this local name (any namespace);
 * name NULL: the first element child. */
xmlNode *ex_child(const xmlNode *node, const char *name);
/* The next element sibling after node with the same local name. */
xmlNode *ex_next(const xmlNode *node);
/* The element's text, malloc'ed ("" for an empty element); NULL for a
 * NULL node or on allocation failure. */
char *ex_text(const xmlNode *node);
/* The text of child `name`, malloc'ed; NULL when absent. */
char *ex_child_text(const xmlNode *node, const char *name);
/* Child `name` as a number; returns 1 when present and numeric. */
int ex_child_ll(const xmlNode *node, const char *name, long long *out);
/* The element's text is "true". */
int ex_is_true(const xmlNode *node);
/* Child `name` is "true". */
int ex_child_true(const xmlNode *node, const char *name);
/* The local part of xsi:type ("VirtualDisk" for "VirtualDisk",
 * "string" for "xsd:string"), looked up by namespace URI as the
 * simulator and real hosts use different prefixes; malloc'ed or NULL. */
char *ex_xsi_type(const xmlNode *node);
/* A managed object reference element (type attribute + text). */
int ex_ref(const xmlNode *node, esx_ref *out);
/* "2026-11-22T01:43:12.975407425Z", "...+02:00" -> seconds since the
 * epoch; returns 0 or -1 when the text is not an xsd:dateTime. */
int ex_parse_time(const char *s, long long *out);
/* Set the config.hardware.device values of an answer aside: each <val>
 * becomes <esxDeferred>N</esxDeferred>, N its index in *texts.  An
 * answer the scan cannot follow (comments, CDATA...) is left whole.
 * Returns 0 or -1 (allocation failure; *answer unchanged). */
int ex_defer_devices(esx_buf *answer, esx_texts *texts);
void esx_texts_clear(esx_texts *t);
/* Parse an answer; NULL when it is not well-formed XML.  The tree leaves
 * out the parts of a <VirtualDevice> that are not on esx_device_fields
 * (and of its <backing>, esx_backing_fields).  reuse (may be NULL) keeps
 * a parser context from one call to the next: ex_parser_free ends it. */
xmlDoc *ex_parse(const char *data, size_t len, void **reuse);
void ex_parser_free(void **reuse);

/* ---- configuration and URI (config.c) ------------------------------------ */

typedef struct esx_uri {
    int https;
    char *user;   /* NULL if the URI has none */
    char *host;   /* host name or address, [v6] brackets kept */
    int port;     /* 0: the scheme's default */
    char *path;   /* inventory path without leading/trailing '/', "" if none */
} esx_uri;

/* Parse esx://[user@]host[:port][/inventory/path][?transport=http|https]
 * (also esx+http:// and esx+https://).  A password in the URI, an
 * unknown query parameter or a malformed URI is INVALID_ARG with *why
 * naming it (static text or written into why_buf). */
int esx_uri_parse(const char *uri, esx_uri *out, char *why, size_t why_size);
void esx_uri_clear(esx_uri *u);

/* Credentials from a libvirt-style auth file: [auth-esx-HOST] (then
 * auth-vpx-HOST, auth-esx-default) names credentials=X, whose section
 * [credentials-X] holds authname= and password=.  Returns 1 found, 0
 * not found, -1 when the file cannot be read (errno set) or is
 * malformed (*line set). */
int esx_auth_file_lookup(const char *path, const char *host, char **user, char **password,
                         int *line);

/* "AB:CD:..." (SHA-256, 32 bytes, or SHA-1, 20 bytes), colons, spaces
 * and a "sha256:"/"sha1:" prefix optional, any case -> raw bytes.
 * Returns the length (20 or 32) or -1. */
int esx_thumbprint_parse(const char *text, unsigned char *out);
/* Bytes -> "AB:CD:..." into out (3 * n bytes). */
void esx_thumbprint_format(const unsigned char *d, int n, char *out);

/* ---- the connection -------------------------------------------------------- */

typedef struct esx_disk {
    int key;
    int ctrl_key;
    int unit;
    long long capacity_kb;
    char *file;     /* "[datastore] dir/file.vmdk" */
    char *mode;     /* diskMode: persistent, independent_persistent, ... */
    int excluded;   /* independent or physical RDM: not in snapshots */
    int rdm;        /* raw device mapping */
    char target[24];
    char bus[8];    /* scsi, ide, sata, nvme, "" */
} esx_disk;

/* The parts of a VirtualMachineConfigInfo the plugin uses (the VM's
 * own, or the one a snapshot kept). */
typedef struct esx_conf {
    char *name;
    char *uuid;          /* BIOS uuid (config.uuid): the domain's uuid */
    char *instance_uuid; /* vCenter's own id of the VM */
    long long memory_mb;
    int ncpus;
    esx_disk *disks;
    size_t ndisks;
    /* the device list as the answer carried it, not read yet (props.c):
     * esx_conf_disks reads it into disks on first use */
    char *devices_text;
    /* a VM's own configuration: its reference value and
     * config.changeVersion (NULL when the host reports none); NULL for
     * the configuration a snapshot kept */
    char *vm;
    char *change_version;
    /* the read left the configuration out (a task's poll, task.c): only
     * vm and change_version are set; esx_conf_disks completes it from the
     * configuration kept for this version, or reads it */
    int unread;
} esx_conf;

void esx_conf_clear(esx_conf *c);

typedef struct esx_snap {
    esx_ref ref;    /* VirtualMachineSnapshot */
    char *name;
    char *desc;     /* "" when none */
    long long id;
    long long ctime;
    char *state;    /* poweredOn, poweredOff, suspended */
    int quiesced;
    long parent;    /* index in the tree, -1 for a root */
    size_t nchildren;
} esx_snap;

/* A VM's snapshot tree in depth-first order (parents before children,
 * siblings in vSphere's order). */
typedef struct esx_tree {
    esx_snap *v;
    size_t n;
    esx_ref current;   /* snapshot.currentSnapshot; value NULL when none */
    long current_idx;  /* -1: no current, or one vSphere names but the tree lacks */
} esx_tree;

void esx_tree_clear(esx_tree *t);

typedef struct esx_vm {
    esx_ref ref;
    esx_conf conf;
    char *power;              /* poweredOn, poweredOff, suspended */
    char *tools;              /* guest.toolsRunningStatus, NULL if unknown */
    int consolidation_needed; /* runtime.consolidationNeeded */
    int template_vm;          /* config.template */
    esx_tree tree;
    double read_ms;           /* monotonic time of the read */
    uint64_t changes;         /* the change counter before the read (changes.c) */
} esx_vm;

void esx_vm_free(esx_vm *vm);

/* A VM as the listing found it. */
typedef struct esx_vm_entry {
    esx_ref ref;
    char *name;      /* vSphere name (entity names are %-escaped by vSphere) */
    char *domain;    /* the name snapbroker uses: name, or the inventory
                        path / instance uuid when the name repeats */
    char *power;
    char *instance_uuid;
    char *uuid;
} esx_vm_entry;

typedef struct esx_snapconf_cache {
    char *ref;        /* snapshot value */
    esx_conf conf;
} esx_snapconf_cache;

#define ESX_SNAPCONF_CACHE 32

/* The last snapshot XML handed out and the tree entry it was made from
 * (snapxml.c): the broker asks for a snapshot's XML before each revert
 * and delete, then passes that same text back. */
typedef struct esx_xml_memo {
    char *ref, *name, *desc, *parent, *state; /* parent, state may be NULL */
    long long ctime;
    char *xml;
} esx_xml_memo;

struct sb_conn {
    const struct sb_host_api *api; /* NULL in unit tests */
    sb_host *h;

    /* where and how */
    char *url;          /* https://host:port/sdk */
    char *display;      /* host[:port] for messages */
    esx_uri uri;
    char *user;
    char *password;     /* scrubbed on close */
    int tls_verify;     /* 1 unless tls_verify = false */
    char *ca_file;
    unsigned char pin[32];
    int pin_len;        /* 0: no thumbprint pin */
    long timeout_ms;         /* one HTTP request */
    long connect_timeout_ms;
    long task_timeout_ms;    /* one vSphere task */
    long cache_ms;           /* reuse a VM read this long (0: never) */
    char *changes_path;      /* the change counter of this host (changes.c), or NULL */
    uint64_t *changes_map;   /* the counter file mapped, once it exists (or NULL) */
    int changes_fd;          /* its descriptor while mapped: adders lock it */

    /* transport (soap.c) */
    void *curl;              /* CURL * */
    void *parser;            /* xmlParserCtxt * reused for every answer */
    struct esx_texts *defer; /* the next answer's device lists go here (props.c) */
    void *headers;           /* struct curl_slist * */
    char seen_thumbprint[100]; /* SHA-256 of the last peer certificate */
    int pin_mismatch;          /* the last handshake failed the pin */
    char *soap_action;

    /* session (session.c) */
    esx_ref root_folder, property_collector, view_manager, session_manager, search_index;
    char *api_version;
    char *api_type;          /* HostAgent (ESXi) or VirtualCenter */
    char *product;           /* about.fullName */
    int logged_in;

    /* inventory (inventory.c) */
    esx_ref scope;           /* the folder/datacenter/cluster/host the URI names */
    char *datacenter;        /* first component of the URI path, NULL if none */
    esx_ref view;            /* ContainerView of the scope's VMs */
    esx_vm_entry *vms;
    size_t nvms;
    int vms_valid;

    /* caches (vm.c) */
    esx_vm *cached;
    esx_snapconf_cache snapconf[ESX_SNAPCONF_CACHE];
    size_t snapconf_next;
    esx_xml_memo last_xml;
    esx_conf devices_memo;   /* the device list read last (devices_text) and its disks */
    char *memo_vm, *memo_cv; /* the VM and config.changeVersion the memo is known to
                                be the configuration of (its uuids, memory, vCPUs
                                and disks; NULL: not known) */
    int light_polls;         /* task polls leave the configuration out: the last task
                                kept the VM's config.changeVersion (task.c) */

    /* the last SOAP fault: its detail type ("ManagedObjectNotFound") and
     * faultstring, "" when the last call had none */
    char fault_type[64];
    char fault_msg[512];

    /* the last error, also kept here so unit tests can read it */
    int err_code;
    char err_msg[1024];

    /* TEST ONLY: log every SOAP method called (debug level) */
    int trace;
    /* errors stay here, not with the broker (logout during close) */
    int quiet;
};

typedef struct sb_conn esx_conn;

/* ---- errors and logging (error.c) ----------------------------------------- */

int esx_error(esx_conn *c, int code, const char *fmt, ...) SB_PRINTF(3, 4);
int esx_oom(esx_conn *c);
void esx_log(esx_conn *c, int level, const char *fmt, ...) SB_PRINTF(3, 4);
/* The error class for the last SOAP fault's type (HYPERVISOR when it has
 * no better one). */
int esx_fault_class(const char *fault_type);
double esx_now_ms(void);
void esx_sleep_ms(long ms);
char *esx_strdup(const char *s); /* NULL stays NULL */

/* ---- transport (soap.c) ---------------------------------------------------- */

int esx_transport_open(esx_conn *c);
void esx_transport_close(esx_conn *c);
/* (Re)build the request headers: SOAPAction names api_version once the
 * service content told it. */
int esx_transport_headers(esx_conn *c);
/* Call METHOD with this inner XML (the arguments after <_this>, which
 * `this` gives; this may be NULL).  On success *doc is the answer and
 * *resp its <METHODResponse> element.  A SOAP fault sets fault_type and
 * fault_msg and reports HYPERVISOR (or the fault's class); a lost
 * session is logged in again once, transparently. */
int esx_call(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
             xmlDoc **doc, xmlNode **resp);
/* A call whose answer is one managed object reference (the *_Task
 * methods): *out gets it.  An answer in the plain shape a host sends
 * (<METHODResponse xmlns="urn:vim25"><returnval type="T">V</returnval>
 * </METHODResponse>) is scanned (ex_scan_ref), not parsed: building a
 * document costs more than the rest of such a call; any other answer
 * (a fault, prefixes, references in the value) is read as esx_call does. */
int esx_call_ref(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
                 esx_ref *out);
/* The scan: 1 and *out set, 0 when the answer is not in that shape, -1
 * out of memory. */
int ex_scan_ref(const char *answer, size_t len, const char *method, esx_ref *out);
/* 1 when the last call failed with this fault type. */
int esx_fault_is(const esx_conn *c, const char *type);

/* ---- session (session.c) --------------------------------------------------- */

int esx_session_open(esx_conn *c);   /* service content + login */
void esx_session_close(esx_conn *c); /* logout, best effort */
int esx_login(esx_conn *c);
int esx_is_vcenter(const esx_conn *c);

/* ---- property collector (props.c) ------------------------------------------- */

typedef struct esx_prop {
    char *name;
    xmlNode *val;         /* NULL when deferred */
    const char *deferred; /* a device list left unread: a document of its
                             own, its root holding the <val> (the result's) */
} esx_prop;

typedef struct esx_obj {
    esx_ref ref;
    esx_prop *props;
    size_t nprops;
    int not_authenticated; /* a missingSet entry said NotAuthenticated */
} esx_obj;

typedef struct esx_result {
    xmlDoc **docs;
    size_t ndocs;
    esx_texts deferred; /* device lists, each a document */
    esx_obj *objs;
    size_t nobjs;
} esx_result;

/* RetrievePropertiesEx with this <specSet> content (propSet and
 * objectSet elements), following ContinueRetrievePropertiesEx tokens.
 * A config.hardware.device value is set aside unread (esx_prop.deferred):
 * most callers never look at the devices of the VM they read. */
int esx_retrieve(esx_conn *c, const char *spec, esx_result *out);
/* esx_retrieve of one object: spec holds the <propSet>s; the object set
 * naming TYPE:VALUE is added, and spec is consumed (emptied) either way. */
int esx_retrieve_one(esx_conn *c, esx_buf *spec, const char *type, const char *value,
                     esx_result *out);
void esx_result_clear(esx_result *r);
/* One answer (doc, its <...Response> resp) into r, which keeps doc; its
 * token, if any, into *token. */
int esx_result_take_page(esx_conn *c, esx_result *r, xmlDoc *doc, xmlNode *resp, char **token);
xmlNode *esx_obj_prop(const esx_obj *o, const char *name); /* val or NULL */
const esx_obj *esx_result_find(const esx_result *r, const esx_ref *ref);

/* ---- tasks (task.c) ---------------------------------------------------------- */

/* Wait for a task.  what describes it for progress and errors ("creating
 * snapshot 's1' of 'web'").  refresh (may be NULL): a VM whose state is
 * read in the same round trip as the poll that sees the task end; its
 * fresh read lands in *vm_out (may be NULL).  result (may be NULL) gets
 * the task's MoRef result. */
int esx_task_wait(esx_conn *c, const esx_ref *task, const char *what, const esx_ref *refresh,
                  esx_vm **vm_out, esx_ref *result);
/* Call a *_Task method and wait for it. */
int esx_task_run(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
                 const char *what, const esx_ref *refresh, esx_vm **vm_out, esx_ref *result);

/* ---- inventory (inventory.c) -------------------------------------------------- */

int esx_scope_open(esx_conn *c);
/* The VMs of the scope (refreshes the listing). */
int esx_vms_list(esx_conn *c);
void esx_vms_clear(esx_conn *c);
/* 1 when a domain name is a plain VM name (no '/', not a uuid). */
int esx_domain_is_name(const char *domain);
/* A domain name (VM name, inventory path or uuid) -> its VM. */
int esx_vm_lookup(esx_conn *c, const char *domain, esx_ref *out);

/* ---- reading a VM (vm.c) -------------------------------------------------------- */

/* The <propSet> for a VM read (what esx_vm_from_obj understands); with
 * conf 0 it leaves out the configuration but its version (the device
 * list is most of the answer). */
void esx_vm_propset(esx_buf *b, int conf);
/* A VM read from a result; light: the read's propSet left the
 * configuration out (esx_conf_disks completes it when needed). */
int esx_vm_from_obj(esx_conn *c, const esx_obj *o, int light, esx_vm **out);
/* 1 when the configuration kept from an earlier read is this read's:
 * same VM, same non-empty config.changeVersion. */
int esx_conf_known(const esx_conn *c, const esx_vm *vm);
/* ---- changes other processes made (changes.c) ---- */
#define ESX_GEN_NONE UINT64_MAX /* unknown: a read kept with it is never used */
/* The counter lives in state_dir (the plugin's for this host; NULL: none,
 * a kept read then lasts cache_ms). */
int esx_changes_init(esx_conn *c, const char *state_dir);
void esx_changes_end(esx_conn *c); /* unmap the counter; init may follow */
/* The counter now; after a task on the host, one added (the new value). */
uint64_t esx_changes_now(esx_conn *c);
uint64_t esx_changes_add(esx_conn *c);
/* An exclusive lock on the VM moref among this machine's processes (a
 * create's check and task); -1 when there is none to take.  Blocks. */
int esx_vm_lock(esx_conn *c, const char *moref);
void esx_vm_unlock(int fd);

/* The VM a domain name names, read in one round trip, or the cached read
 * when it is younger than cache_ms and fresh is 0.  The result is
 * borrowed: valid until the next esx_vm_get or esx_vm_forget. */
int esx_vm_get(esx_conn *c, const char *domain, int fresh, esx_vm **out);
/* The VM behind ref, read in one round trip (not cached: the caller
 * hands it to esx_vm_cache or frees it). */
int esx_vm_read(esx_conn *c, const esx_ref *ref, esx_vm **out);
/* Replace the cached read (takes vm), or drop it (vm NULL). */
void esx_vm_cache(esx_conn *c, esx_vm *vm);
/* A snapshot's kept configuration (one round trip, then cached: a
 * snapshot's configuration never changes). Borrowed. */
int esx_snapshot_conf(esx_conn *c, const esx_snap *s, esx_conf **out);
/* A snapshot just taken kept the configuration the VM has right after
 * it (read in the task's last poll): remember that instead of asking. */
void esx_snapshot_conf_prime(esx_conn *c, const char *ref, const esx_conf *conf);
/* Parse a config property (path relative to "config.") into conf. */
int esx_conf_apply(esx_conn *c, esx_conf *conf, const char *path, const xmlNode *val);
/* The same for a retrieved property whose name starts with "config."; a
 * deferred device list is kept as text for esx_conf_disks. */
int esx_conf_apply_prop(esx_conn *c, esx_conf *conf, const esx_prop *p);
/* Make conf->disks (and a light read's whole conf) valid: read a
 * deferred device list, or take a configuration a light read left out
 * from the kept one when the version is the same, else read it (one round
 * trip). */
int esx_conf_disks(esx_conn *c, esx_conf *conf);
/* The children of a <VirtualDevice> and of its <backing> that the
 * readers below look at (NULL-terminated): answers keep only these. */
extern const char *const esx_device_fields[];
extern const char *const esx_backing_fields[];
/* Name disks (target, bus) the way libvirt's vmx code does. */
void esx_conf_name_disks(esx_conf *conf, const xmlNode *devices);
int esx_domain_state(const char *power); /* SB_DOMAIN_* */
int esx_tree_parse(esx_conn *c, const xmlNode *val, esx_tree *out);
/* Index of the snapshot with this name; -1 none; -2 more than one. */
long esx_tree_find(const esx_tree *t, const char *name);

/* ---- XML the broker sees (domxml.c, snapxml.c) ------------------------------------- */

int esx_domain_xml(esx_conn *c, esx_conf *conf, char **out);
/* enum sb_snapshot_state for a vSphere snapshot state. */
int esx_snap_state(const char *vsphere_state);
int esx_snapshot_xml(esx_conn *c, const esx_vm *vm, long idx, esx_conf *conf, char **out);
void esx_xml_memo_clear(esx_xml_memo *m);

/* ---- callbacks (domain.c, snapshot_*.c, usage.c) ----------------------------------- */

int esx_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags);
int esx_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags);
int esx_domain_get_state(int *out_state, sb_conn *c, const char *domain);
int esx_domain_start(sb_conn *c, const char *domain, unsigned flags);
int esx_domain_destroy(sb_conn *c, const char *domain, unsigned flags);
int esx_domain_shutdown(sb_conn *c, const char *domain, unsigned flags);
int esx_domain_suspend(sb_conn *c, const char *domain, unsigned flags);
int esx_domain_resume(sb_conn *c, const char *domain, unsigned flags);

int esx_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags);
int esx_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                        unsigned flags);
int esx_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags);
int esx_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                      const char *from, unsigned flags);
int esx_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain, const char *name,
                         unsigned flags);
int esx_snapshot_current(char **out_name, sb_conn *c, const char *domain);
int esx_snapshot_parent(char **out_name, sb_conn *c, const char *domain, const char *name);
int esx_snapshot_exists(sb_conn *c, const char *domain, const char *xml);
int esx_snapshot_usage(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                       const char *name, const char *xml);

/* Shared by the snapshot callbacks (snapshot_common.c): the VM and the
 * snapshot a name picks; NO_DOMAIN_SNAPSHOT when absent, INVALID_ARG when
 * the name is ambiguous. */
int esx_snap_lookup(esx_conn *c, const esx_vm *vm, const char *domain, const char *name,
                    long *idx);
/* The name in a snapshot definition the broker passed (the text the
 * plugin handed out last is known without reading it). */
int esx_snap_name_of(esx_conn *c, const char *xml, char **out);
/* Hand strings to the broker. */
int esx_out_str(esx_conn *c, char **out, const char *s);

#endif
