/* qemu plugin - internal declarations shared by its modules.
 *
 * Nothing here is visible outside the plugin: the .so exports only
 * sb_plugin_entry_v1.  The modules are also linked into a static library
 * so the tests in tests/qemu/ can call them directly.
 */
#ifndef QP_H
#define QP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "snapbroker/plugin.h"

/* ---- context and errors ------------------------------------------------ */

/* Everything a module needs: the host services (may be NULL in unit
 * tests), the connection, and the last error, kept locally too so unit
 * tests can read it without a host. */
struct qp_qmp;
struct qp_job;
struct qp_pending_def;
/* The monitor connection everything one locked call does on its domain
 * shares (qp_proc_connect): QEMU's QMP socket serves one client at a time
 * and each new connection costs a greeting and qmp_capabilities.  Made by
 * qp_lock_domain, closed by qp_unlock: between two calls the socket is
 * free for any other process. */
typedef struct qp_monitor {
    struct qp_qmp *q; /* NULL until the first connect */
    pid_t pid;        /* the QEMU it talks to */
    char *domain;
    /* QEMU holds no job of the plugin's: the last holder of the domain
     * lock left none (the lock file says so, see qp_lock_domain), this
     * call finished the leftovers (qp_qmp_finish_jobs), or it started
     * this QEMU.  The checks before an operation then skip query-jobs. */
    int no_jobs;
    /* a connection the call used that is not q (qp_proc_start's): its
     * jobs are not counted, so the lock file is not told "none" */
    int untracked;
    /* the context that took the lock: only its calls keep and share q.
     * A copy of it (a "quiet" one, on the stack of the function that
     * made it) shares this monitor but gets a connection of its own: q
     * keeps the context it was last used with, and would point into a
     * stack frame long gone. */
    const struct qp_ctx *owner;
} qp_monitor;

typedef struct qp_ctx {
    const struct sb_host_api *api; /* NULL: no host (unit tests) */
    sb_host *h;
    char *state_dir;   /* plugin state dir (owned) */
    char *qemu_bin;    /* default emulator when the domain names none */
    char *qemu_img;    /* qemu-img binary */
    /* The stall timeout (config job_stall_timeout_ms, or its old name
     * job_timeout_ms): a job or migration whose progress stands still this
     * long is cancelled (job.h); also how long one QMP reply may take. */
    int job_timeout_ms;
    int connect_timeout_ms; /* QMP greeting after start */
    int shutdown_timeout_ms;
    /* TEST ONLY (config key test_delay_ms, default 0): sleep this long
     * after the hypervisor work of a snapshot create or delete, before the
     * result goes back to the broker, so a test can kill the process in
     * the window where the broker's intent is still open. */
    int test_delay_ms;
    /* TEST ONLY (test_job_delay_ms, default 0): sleep this long when a QMP
     * job becomes ready, before job-complete (a block commit waiting to
     * pivot), so a test can kill the process while QEMU holds the job. */
    int test_job_delay_ms;
    /* TEST ONLY (test_fail_store_after_qmp, default 0): the first domain
     * definition store after QEMU was switched to other images (a QMP
     * transaction or a pivoting block commit) fails with ENOSPC, so a test
     * can check that nothing QEMU writes to is removed. */
    int test_fail_store;
    /* TEST ONLY (test_job_rate, bytes/s, default 0 = none): the speed of a
     * snapshot delete's commit (QMP block-commit speed, qemu-img commit
     * -r), so a test can watch and abort one that is not over at once. */
    int test_job_rate;
    int store_fail_armed; /* set by the code that switched QEMU */
    /* The operation under way asks QEMU's run state (a create, a revert):
     * the checks before it ask it in the same round trip as the jobs and
     * the graph.  A delete does not, and QEMU is not asked for it. */
    int prefetch_status;
    /* The operation reads node names below a disk's top (an external
     * delete's block commit): query-named-block-nodes goes out with the
     * checks' query-block.  Otherwise it is asked only when read: a
     * create, a revert, an internal delete and a destroy need the disks'
     * chains of files and their top nodes, which query-block gives. */
    int prefetch_nodes;
    /* The domain lock this connection holds (qp_lock_domain), -1 if none.
     * Programs qp_run starts inherit it: a qemu-img that outlives a killed
     * broker process keeps the domain locked until it has finished, so
     * the next command never reads an image it is still changing. */
    int lock_fd;
    qp_monitor *mon; /* while lock_fd is held; copies of the ctx share it */
    struct qp_job *job; /* the long step running now (job.h), NULL if none */
    /* The definition an operation wrote ahead (qp_domain_store_prepare)
     * for the store it makes once QEMU is done: qp_domain_store commits
     * it when asked to store the same text, else drops it.  NULL if none. */
    struct qp_pending_def *pending_def;
    /* A create, revert or delete whose intent the broker appended
     * without waiting for the disk (caps intent_barrier): every change
     * (qp_intent_durable's callers) waits for it first; the first QMP
     * queries make that wait while QEMU answers them. */
    int intent_due;
    /* the host whose intent_durable to call: kept apart from api, which
     * a "quiet" copy of the context sets to NULL to keep its errors to
     * itself, so that a change made through such a copy waits too */
    const struct sb_host_api *intent_api;
    int err_code;
    char err_msg[1024];
} qp_ctx;

/* Before the first change of a snapshot operation (ctx->intent_due): the
 * broker's intent on disk (host service intent_durable, ABI 1.5).  0 at
 * once when it is already, or outside such an operation.  Called by every
 * primitive that changes something: the domain's log (qp_dlog_append),
 * the definition, an image's removal (qp_ours_unlink), a program run
 * (qp_run), a QMP command that is not a query, QEMU's start and stop,
 * the guest agent's freeze; and by the first graph queries, while QEMU
 * answers them. */
int qp_intent_durable(qp_ctx *ctx);

/* Record an error (and pass it to the host when there is one).
 * Returns -code. */
int qp_error(qp_ctx *ctx, int code, const char *fmt, ...) SB_PRINTF(3, 4);
/* Same, with ": strerror(errnum)" appended. */
int qp_error_errno(qp_ctx *ctx, int code, int errnum, const char *fmt, ...) SB_PRINTF(4, 5);
void qp_log(qp_ctx *ctx, int level, const char *fmt, ...) SB_PRINTF(3, 4);
void qp_ctx_init(qp_ctx *ctx, const struct sb_host_api *api, sb_host *h, const char *state_dir);
void qp_ctx_fini(qp_ctx *ctx);

/* ---- small utilities (util.c) -------------------------------------------- */

char *qp_strdup(const char *s);                /* aborts never; NULL on OOM */
char *qp_printf(const char *fmt, ...) SB_PRINTF(1, 2);
/* A 64-bit hash of n bytes for in-memory tables (never written anywhere:
 * it may change between versions). */
uint64_t qp_hash64(const char *s, size_t n);
int qp_mkdir_p(const char *path, mode_t mode);
/* A new file (O_CREAT|O_EXCL|O_NOFOLLOW): an entry already there (a dead
 * process's temp file, a planted symlink) is unlinked once and the create
 * retried.  For temp files only.  Returns the fd or -errno. */
int qp_create_excl(const char *path, mode_t mode);
/* All of buf written to fd (EINTR retried): 0, or -errno. */
int qp_write_all(int fd, const void *buf, size_t len);
/* Atomic replace: temp file (0600, qp_create_excl) in the same directory,
 * fsync, rename, dir fsync. */
int qp_write_file_atomic(qp_ctx *ctx, const char *path, const char *data, size_t len);
/* fsync the directory holding path: 0 or -errno. */
int qp_fsync_dir_of(const char *path);
int qp_read_file(qp_ctx *ctx, const char *path, char **out, size_t *out_len);
/* Same, and *out_st is the fstat() of the file the bytes came from (taken
 * before they were read). */
int qp_read_file_stat(qp_ctx *ctx, const char *path, char **out, size_t *out_len,
                      struct stat *out_st);
int qp_file_exists(const char *path);          /* 1 exists, 0 not */
long long qp_file_size(const char *path);      /* -1 if missing */
double qp_now_ms(void);
void qp_sleep_ms(int ms);
int qp_valid_name(const char *name);           /* domain / snapshot name usable in a file name */
/* Default external file name (spec 4.3 step 5): source minus its last
 * .suffix (only within the last component) + "." + name. */
char *qp_default_external_name(const char *source, const char *name);
/* NULL-terminated string list helpers.  An add that runs out of memory
 * leaves the list one entry short, and a list of images one short can
 * make an image look unneeded: the compiler makes every caller look at
 * the answer (QP_MUST_CHECK). */
#define QP_MUST_CHECK __attribute__((warn_unused_result))
typedef struct qp_strv {
    char **v;
    size_t n, cap;
} qp_strv;
int qp_strv_add(qp_strv *s, const char *str) QP_MUST_CHECK;
int qp_strv_addn(qp_strv *s, const char *str, size_t len) QP_MUST_CHECK; /* first len bytes */
int qp_strv_addf(qp_strv *s, const char *fmt, ...) SB_PRINTF(2, 3) QP_MUST_CHECK;

/* A growable byte buffer, kept NUL-terminated (p is NULL until the first
 * add): a child's output, the references file being written. */
typedef struct qp_bytes {
    char *p;
    size_t len, cap;
} qp_bytes;
int qp_bytes_add(qp_bytes *b, const void *data, size_t n) QP_MUST_CHECK; /* -SB_ERR_NO_MEMORY */
int qp_strv_has(const qp_strv *s, const char *str);
void qp_strv_free(qp_strv *s);
/* Canonical absolute path without resolving a missing last component
 * (canon.c: an existing file's answer is kept until the domain lock is
 * released). */
char *qp_realpath_or_copy(const char *path);
/* path made canonical and added to the set v unless there: 0, or
 * -SB_ERR_NO_MEMORY (v unchanged).  A NULL path adds nothing. */
int qp_strv_add_canon(qp_strv *v, const char *path) QP_MUST_CHECK;
/* canon.c: forget what was kept (at qp_unlock, and after the plugin
 * removes a file: what was kept may have named it). */
void qp_canon_forget(void);
/* domain_log.c: at qp_unlock, the records the call left unsynced synced. */
void qp_dlog_call_done(qp_ctx *ctx);
/* 1 between qp_lock_domain() and qp_unlock() on this thread. */
int qp_in_locked_call(void);
/* 1 when this thread's one domain lock is domain name's of ctx's state. */
int qp_holds_lock_of(qp_ctx *ctx, const char *name);
/* domain.c: forget the definition kept for the locked call (at qp_unlock,
 * and whenever the plugin writes or removes a definition). */
void qp_domain_memo_forget(void);

/* ---- external commands (run.c) -------------------------------------------- */

/* fork + execvp argv (argv[0] looked up in PATH), no shell.  stdout and
 * stderr are captured (either pointer may be NULL).  Returns the exit
 * status (0..255), or a negative class if it could not run / was killed. */
int qp_run(qp_ctx *ctx, char *const argv[], char **out_stdout, char **out_stderr);
/* qp_run for the long step of ctx->job (required): a qemu-img run with -p,
 * whose "(P/100%)" progress on stdout ticks the job (job.h) at least every
 * 100 ms; a stop the tick asks for (domjobabort, stall) ends qemu-img with
 * SIGTERM and fails with the stop's error. */
int qp_run_job(qp_ctx *ctx, char *const argv[], char **out_stderr);

/* ---- qemu-img / qemu-io (qemu_img.c) ------------------------------------------ */

typedef struct qp_img_snap {
    char *id;
    char *name;
    unsigned long long vm_state_size;
} qp_img_snap;

typedef struct qp_img_info {
    char *filename;
    char *format;
    char *backing;          /* full-backing-filename, NULL if none */
    char *backing_format;
    unsigned long long virtual_size;
    size_t nsnaps;
    qp_img_snap *snaps;
} qp_img_info;

void qp_img_info_free(qp_img_info *info);
/* What `qemu-img info --output=json [-U] path` reports.  qcow2 headers
 * are read directly (qcow2.c); qemu-img answers everything else. */
int qp_img_query(qp_ctx *ctx, const char *path, int force_share, qp_img_info *out);
/* What `qemu-img info --backing-chain` reports: *out gets n entries, top
 * first (headers read directly as above). */
int qp_img_chain(qp_ctx *ctx, const char *path, int force_share, qp_img_info **out, size_t *n);
/* The same, always through qemu-img (tests compare the two). */
int qp_img_query_qemu(qp_ctx *ctx, const char *path, int force_share, qp_img_info *out);
int qp_img_chain_qemu(qp_ctx *ctx, const char *path, int force_share, qp_img_info **out,
                      size_t *n);
void qp_img_chain_free(qp_img_info *chain, size_t n);
/* The canonical names of the chain of top (a canonical path) appended to
 * out, top first; top alone when it does not exist.  -U as above.  An
 * error leaves out incomplete (the caller drops it). */
int qp_img_chain_names(qp_ctx *ctx, const char *top, qp_strv *out) QP_MUST_CHECK;
/* 1 if the image has an internal snapshot with this tag, 0 if not. */
int qp_img_has_snapshot(qp_ctx *ctx, const char *path, const char *tag, int force_share);
int qp_img_snapshot_create(qp_ctx *ctx, const char *path, const char *tag);
int qp_img_snapshot_apply(qp_ctx *ctx, const char *path, const char *tag);
int qp_img_snapshot_delete(qp_ctx *ctx, const char *path, const char *tag);
/* qemu-img create -f qcow2 -b backing -F backing_fmt path */
int qp_img_create_overlay(qp_ctx *ctx, const char *path, const char *backing,
                          const char *backing_fmt);
int qp_img_create(qp_ctx *ctx, const char *path, const char *fmt, const char *size);
/* qemu-img commit -b base top (data of top into base; top left as is) */
int qp_img_commit(qp_ctx *ctx, const char *top, const char *base);
/* qemu-img rebase -u -b backing -F fmt image */
int qp_img_rebase_unsafe(qp_ctx *ctx, const char *image, const char *backing,
                         const char *backing_fmt);
/* qemu-io -c cmd [-f fmt] path; out gets stdout. Returns exit status. */
int qp_io(qp_ctx *ctx, const char *path, const char *fmt, const char *cmd, char **out);

/* ---- images found on disk (image_users.c) ------------------------------------ */

/* Regular files in image's directory whose qcow2 header names image as
 * their backing file (overlays the tree may not know: NO_METADATA
 * snapshots, hand-made ones).  Appends canonical paths to out. */
int qp_image_dependents(qp_ctx *ctx, const char *image, qp_strv *out) QP_MUST_CHECK;
/* The same read once for several images of one directory: the backing
 * file (canonical) each regular file there names. */
typedef struct qp_dir_scan {
    char *dir;         /* canonical (no files when the directory does not exist) */
    qp_strv files;     /* files[i] is backed by backings[i] */
    qp_strv backings;
} qp_dir_scan;
/* Scan the directory of image. */
int qp_dir_scan_read(qp_ctx *ctx, const char *image, qp_dir_scan *out) QP_MUST_CHECK;
/* 1 when s is the scan of image's directory. */
int qp_dir_scan_covers(const qp_dir_scan *s, const char *image);
/* Append the files s found backed by image (the qp_image_dependents of a
 * scan); 0 or NO_MEMORY (reported). */
int qp_dir_scan_users(qp_ctx *ctx, const qp_dir_scan *s, const char *image,
                      qp_strv *out) QP_MUST_CHECK;
void qp_dir_scan_free(qp_dir_scan *s);
/* 1 when a process holds one of QEMU's image locks on path (QEMU's
 * file-posix locking: OFD locks on bytes 100-299), 0 when none, -1 when it
 * cannot be told (not readable). */
int qp_image_locked(const char *path);
/* 1 if such a file exists that is not in except (may be NULL); *first
 * (may be NULL) gets a malloc'ed copy of its path.  0 if none. */
int qp_image_has_dependents(qp_ctx *ctx, const char *image, const qp_strv *except,
                            char **first);

/* ---- QMP client (qmp.c) ------------------------------------------------------- */

typedef struct qp_qmp qp_qmp;

/* Connect to a QMP unix socket and send qmp_capabilities; the greeting
 * and the reply are read with the reply to the first command (which so
 * shares their round trip), or by qp_qmp_ready.  The greeting may take
 * up to timeout_ms. */
int qp_qmp_connect(qp_ctx *ctx, const char *path, int timeout_ms, qp_qmp **out);
/* Wait for the greeting and the negotiation now: QEMU greets only once it
 * has finished starting (a start that fails later, e.g. on a VNC port in
 * use, exits instead of greeting). */
int qp_qmp_ready(qp_qmp *q);
/* Closes when the last holder closes (see qp_qmp_share). */
void qp_qmp_close(qp_qmp *q);
/* The same, and 1 when this was the last reference and QEMU is left no
 * job the connection started (each ended, its dismiss answered). */
int qp_qmp_close_clean(qp_qmp *q);
/* One more holder of q (each closes it once); returns q. */
qp_qmp *qp_qmp_share(qp_qmp *q);
/* Make a connection an earlier user left open ready for ctx: what QEMU
 * sent since is read and dropped, event counts start again, timeout back
 * to ctx's.  <0 when QEMU closed it (it exited). */
int qp_qmp_reuse(qp_qmp *q, qp_ctx *ctx);
/* The block graph as query-block (QP_QMP_BLOCK) or flat
 * query-named-block-nodes (QP_QMP_NAMED_NODES) returns it: asked once and
 * kept until the next command that is not a query-* or the next event
 * (what can change the graph), so the checks before an operation ask
 * QEMU once.  The named nodes are asked with query-block only when
 * ctx->prefetch_nodes says the operation reads them.  *ret is a new
 * reference. */
#define QP_QMP_BLOCK 0
#define QP_QMP_NAMED_NODES 1
#define QP_QMP_GRAPH_QUERIES 2
int qp_qmp_query_graph(qp_qmp *q, int which, json_object **ret);
void qp_qmp_set_timeout(qp_qmp *q, int timeout_ms);
/* Execute cmd with args (ownership of args is taken; may be NULL).  On
 * success *ret (may be NULL) gets the "return" value (caller puts). */
int qp_qmp_execute(qp_qmp *q, const char *cmd, json_object *args, json_object **ret);
/* Run fn(arg) once, right after the next command has gone out, while
 * QEMU serves it (before its reply is read): work of ours that need not
 * come first, such as a sync, then costs no time of its own.  Not run
 * (and forgotten) when that command cannot be sent. */
void qp_qmp_meanwhile(qp_qmp *q, void (*fn)(void *), void *arg);
/* Same, passing one file descriptor with SCM_RIGHTS (for getfd / add-fd). */
int qp_qmp_execute_fd(qp_qmp *q, const char *cmd, json_object *args, int fd,
                      json_object **ret);
/* Run a command that starts a job with id job_id, wait until it concludes
 * (job-complete when it becomes ready), read its error, dismiss it. */
int qp_qmp_job(qp_qmp *q, const char *cmd, json_object *args, const char *job_id);
/* Jobs this plugin started (id "sb-...") that an interrupted process left
 * in QEMU: follow each to its end (job-complete when ready, so a block
 * commit pivots as the interrupted delete meant to) and dismiss it. */
int qp_qmp_finish_jobs(qp_qmp *q);
/* HMP through human-monitor-command; HMP errors ("Error: ...", "Could
 * not ...") become SB_ERR_HYPERVISOR.  *out (may be NULL) gets the text. */
int qp_qmp_hmp(qp_qmp *q, const char *cmdline, char **out);
/* quit; ECONNRESET/EOF count as success. */
int qp_qmp_quit(qp_qmp *q);
/* Number of events named `name` seen so far (and forget them). */
int qp_qmp_take_event(qp_qmp *q, const char *name);
/* Wait for the socket to be closed by QEMU (after quit / kill). */
int qp_qmp_wait_closed(qp_qmp *q, int timeout_ms);
/* "running", "paused", ... from query-status (static string or NULL). */
int qp_qmp_status(qp_qmp *q, char *buf, size_t len);
qp_ctx *qp_qmp_ctx(qp_qmp *q);

/* ---- domains (domain.c) ------------------------------------------------------- */

typedef struct qp_disk {
    char *target;     /* vda */
    char *bus;        /* virtio, sata, ide, scsi (NULL -> from target prefix) */
    char *device;     /* disk, cdrom */
    char *type;       /* file, block */
    char *source;     /* NULL: empty drive */
    char *format;     /* qcow2 or raw */
    int snapshot;     /* SB_LOCATION_* from the disk's snapshot= */
    int readonly;
    int shareable;
    /* bus scsi: where on which virtio-scsi controller (libvirt's drive
     * address: controller, target = scsi-id, unit = lun; bus is 0) */
    unsigned scsi_ctl, scsi_target, scsi_unit;
} qp_disk;

/* <interface> (devices.c).  The tap of a bridge or ethernet interface is
 * opened by the plugin (tap.c) and handed to QEMU as a file descriptor. */
typedef struct qp_nic {
    char *type;    /* user, bridge, ethernet */
    char *model;   /* virtio, e1000, rtl8139 (libvirt's default) */
    char *mac;     /* NULL: QEMU's default (define always stores one) */
    char *bridge;  /* bridge: <source bridge=...> */
    char *ifname;  /* bridge/ethernet <target dev=...>; NULL: vnet%d */
    int unmanaged; /* ethernet <target managed='no'>: the tap exists */
} qp_nic;

typedef struct qp_domain {
    char *xml;        /* stored definition */
    char *name;
    char *uuid;
    char *type;       /* qemu or kvm */
    unsigned long long memory_kib;
    unsigned vcpus;
    char *emulator;   /* NULL: ctx->qemu_bin */
    char *machine;    /* os/type/@machine or NULL */
    size_t ndisks;
    qp_disk *disks;
    int serial_pty;   /* <serial type='pty'> or <console type='pty'> */
    int balloon;      /* memballoon virtio */
    char *agent_path; /* guest agent channel socket (unix), NULL if none */
    size_t nnics;
    qp_nic *nics;
    int vnc;          /* <graphics type='vnc'> */
    char *vnc_listen; /* its address (default 127.0.0.1) */
    int vnc_port;     /* 5900..65535, -1: autoport */
    char *video;      /* vga, cirrus, virtio; NULL: none */
    unsigned scsi_ctls; /* bit N: virtio-scsi controller index N (N < 32) */
} qp_domain;

/* Parse and validate a domain XML.  Unknown or unsupported elements are
 * refused with CONFIG_UNSUPPORTED naming them. */
int qp_domain_parse(qp_ctx *ctx, const char *xml, qp_domain **out);
void qp_domain_free(qp_domain *d);
/* The stored domain with this name (NO_DOMAIN if none). */
int qp_domain_load(qp_ctx *ctx, const char *name, qp_domain **out);
/* Its stored XML as it is in the file, unparsed (NO_DOMAIN if none). */
int qp_domain_read(qp_ctx *ctx, const char *name, char **out_xml);
/* Validate, add a uuid when missing, store atomically.  *out_name gets a
 * malloc'ed copy of the name. */
int qp_domain_define(qp_ctx *ctx, const char *xml, char **out_name);
int qp_domain_undefine(qp_ctx *ctx, const char *name);
int qp_domain_list(qp_ctx *ctx, qp_strv *out);
/* Replace the source (and format) of disk `target` in an XML document;
 * returns a new malloc'ed XML.  source NULL keeps the source. */
char *qp_domain_xml_set_disk(const char *xml, const char *target, const char *source,
                             const char *format);
/* Rename the domain in XML (name element) - for reverts. */
char *qp_domain_xml_set_name(const char *xml, const char *name);
/* Store an already validated XML for domain `name`. */
int qp_domain_store(qp_ctx *ctx, const char *name, const char *xml);
/* Two-step store, for a definition that must follow a QEMU command: the
 * temp file is written before the command (all that can fail for lack of
 * space), synced while QEMU serves it (qp_domain_store_sync, handed to
 * qp_qmp_meanwhile), and renamed in place once QEMU is done (commit) or
 * removed (drop).  The sync was 0.3-0.4 ms of the operation's own time
 * when it came before the command; it now overlaps QEMU's work. */
typedef struct qp_pending_def {
    char *tmp;  /* the temp file; NULL when there is none */
    char *name; /* the domain */
    char *xml;  /* what the temp file holds */
    int fd;     /* open until synced, then -1 */
    int sync_errno;
} qp_pending_def;
int qp_domain_store_prepare(qp_ctx *ctx, const char *name, const char *xml, qp_pending_def *p);
/* fsync the temp file now (once; a failure is kept for the commit).
 * The argument is a qp_pending_def (qp_qmp_meanwhile's signature). */
void qp_domain_store_sync(void *pending_def);
/* Sync (if not done yet), rename in place, sync the directory.  *p is
 * emptied either way. */
int qp_domain_store_commit(qp_ctx *ctx, qp_pending_def *p);
void qp_domain_store_drop(qp_pending_def *p); /* *p emptied; nothing when empty */
/* Images the plugin made for the domain that no snapshot records any more
 * (a revert's overlays whose snapshot was deleted, overlays QEMU adopted
 * by a create that failed afterwards): <state>/ours/<name>.list.  Counted
 * as "ours" when deciding whether an old top may be removed.  A missing
 * or unreadable list is empty; load fails only with -SB_ERR_NO_MEMORY
 * (out is then incomplete).  has answers 1 only for a path known to be
 * the plugin's: an error is "not ours", the answer that removes nothing. */
int qp_ours_load(qp_ctx *ctx, const char *name, qp_strv *out) QP_MUST_CHECK;
int qp_ours_add(qp_ctx *ctx, const char *name, const char *path);
int qp_ours_has(qp_ctx *ctx, const char *name, const char *path); /* path canonical */
/* Unlink path only when the list has it (the plugin created it) and it is
 * still a regular file; it then leaves the list.  A file the plugin did
 * not create is kept (logged).  0 or negative. */
int qp_ours_unlink(qp_ctx *ctx, const char *name, const char *path);
void qp_ours_remove(qp_ctx *ctx, const char *name, const char *path);
void qp_ours_drop(qp_ctx *ctx, const char *name);
char *qp_domain_path(qp_ctx *ctx, const char *name);
const qp_disk *qp_domain_disk(const qp_domain *d, const char *target);

/* ---- processes (process.c) -------------------------------------------------- */

/* Per-domain runtime directory: <state>/run/<name>. */
char *qp_run_dir(qp_ctx *ctx, const char *name);
/* pid of this domain's live QEMU (0 if none; stale files are removed). */
int qp_proc_pid(qp_ctx *ctx, const char *name, pid_t *out);
/* Start QEMU for the domain.  paused: -S.  incoming_defer: -incoming defer.
 * On success *out_qmp (may be NULL) is a connected monitor. */
int qp_proc_start(qp_ctx *ctx, const qp_domain *d, int paused, int incoming_defer,
                  qp_qmp **out_qmp);
/* Start argv as a daemon (launch.c): a session of its own, not the
 * caller's child, working in dir with stdin /dev/null and stdout and
 * stderr appended to log_name, the taps at QP_TAP_FD0+i, its pid written
 * to pid_name (both names relative to dir) before exec.  Returns 0 with
 * *qemu_pid set; *child_errno is not 0 when a step before or the exec
 * failed (the process has exited).  -errno when it could not be made. */
typedef struct {
    char *const *argv;
    const char *dir, *log_name, *pid_name;
    const int *taps;
    size_t ntaps;
} qp_launch_args;
int qp_launch_daemon(const qp_launch_args *a, pid_t *qemu_pid, int *child_errno);
/* Stop QEMU now (quit, then SIGTERM/SIGKILL) and wait until it is gone. */
int qp_proc_destroy(qp_ctx *ctx, const char *name);
/* Shutdown, first half: press the power button and return QEMU's pid;
 * the caller waits for that pid without holding the domain lock
 * (qp_proc_wait_gone) and cleans up under the lock (plugin.c). */
int qp_proc_powerdown(qp_ctx *ctx, const char *name, pid_t *out_pid);
/* QEMU's command line for a domain (the device model, compared by the
 * in-place revert). */
int qp_proc_argv(qp_ctx *ctx, const qp_domain *d, qp_strv *out);
/* Tail of the domain's qemu.log (malloc'ed). */
char *qp_proc_log_tail(qp_ctx *ctx, const char *name);
/* Point the stored definition at the images a running QEMU writes to
 * (finishing jobs an interrupted process left first); no-op when shut
 * off (snapshot_exists.c). */
int qp_follow_qemu(qp_ctx *ctx, const char *domain);
/* Connect to the running domain's monitor (OPERATION_INVALID if not running). */
int qp_proc_connect(qp_ctx *ctx, const char *name, qp_qmp **out);
/* SB_DOMAIN_* state. */
int qp_proc_state(qp_ctx *ctx, const char *name, int *out_state);
/* Wait until pid is gone (reaped, missing or zombie). */
int qp_proc_wait_gone(pid_t pid, int timeout_ms);
int qp_kvm_usable(void);
/* Current top node name of each disk target as QEMU sees it. */
int qp_vm_top_node(qp_qmp *q, const char *target, char *buf, size_t len);
/* Filenames of the node chain of a disk (top first) as QEMU has it open. */
int qp_vm_disk_chain(qp_qmp *q, const char *target, qp_strv *files, qp_strv *nodes);
/* The format node of each of files (a disk's chain, canonical), "" where
 * QEMU has none, from query-named-block-nodes. */
int qp_vm_chain_nodes(qp_qmp *q, const qp_strv *files, qp_strv *nodes);
/* Remove the start's nodes of disk target (d-T, f-T) once a commit took
 * their image out of the disk's chain; nothing while the chain holds it. */
int qp_vm_drop_start_nodes(qp_qmp *q, const char *target);
/* 1 when the start's format node of disk target (d-T) is in the disk's
 * chain nodes (top first, qp_vm_disk_chain) at another place than gone,
 * the image a commit takes out: it stays in the chain, nothing to drop
 * (known from the graph before the commit, without asking again). */
int qp_vm_start_nodes_stay(const char *target, const qp_strv *nodes, int gone);
/* Start time of process pid in clock ticks since boot (/proc/<pid>/stat),
 * 0 when it does not exist. */
unsigned long long qp_proc_start_ticks(pid_t pid);

/* ---- the node book (node_book.c) ------------------------------------------------ */

/* The node names the plugin gave in the domain's running QEMU, each with
 * the image it was opened on, so a commit need not ask QEMU for them
 * (query-named-block-nodes).  Runtime state: never synced, a lost book
 * costs a query.  qp_book_start writes a new book for QEMU qpid just
 * started on d (its d-<target> nodes); qp_book_add notes a node made since
 * (an overlay's snapshot-node-name); qp_book_remove forgets it with the
 * pid file.  Failures leave no book, never a wrong one; none is fatal. */
void qp_book_start(qp_ctx *ctx, const qp_domain *d, pid_t qpid);
void qp_book_add(qp_ctx *ctx, const char *domain, const char *node, const char *path);
void qp_book_remove(qp_ctx *ctx, const char *domain);
/* 1 when the domain has a book (it may still turn out another QEMU's). */
int qp_book_exists(qp_ctx *ctx, const char *domain);
/* The nodes of a disk's chain files (canonical, top first; top: the top's
 * node from query-block) when the book of QEMU pid names a node for every
 * image below the top: 1 and *nodes (empty before) set, else 0. */
int qp_book_chain_nodes(qp_ctx *ctx, const char *domain, pid_t pid, const char *top,
                        const qp_strv *files, qp_strv *nodes);

/* ---- devices beyond disks (devices.c, devargs.c, tap.c) ------------------------ */

/* Parsing them: devices.h. */
/* QEMU arguments for the SCSI controllers (before the disks), and for
 * the NICs, VNC and video (after).  Tap interfaces use fd QP_TAP_FD0+i. */
#define QP_TAP_FD0 64
#define QP_MAX_NICS 16
int qp_devargs_controllers(const qp_domain *d, qp_strv *a);
int qp_devargs_scsi_disk(const qp_disk *k, qp_strv *a);
int qp_devargs_rest(const qp_domain *d, qp_strv *a);
/* Open the taps of the domain's bridge and ethernet interfaces (fds[i],
 * -1 for user ones; close-on-exec), each up and, for a bridge, enslaved.
 * Errors name the interface.  qp_taps_close closes those opened. */
int qp_taps_open(qp_ctx *ctx, const qp_domain *d, int *fds);
void qp_taps_close(int *fds, size_t n);
/* In the child about to exec QEMU: fds[i] becomes QP_TAP_FD0+i without
 * close-on-exec; *keep (an fd the child still writes to) is moved out of
 * the way when it is in that range.  Async-signal-safe. */
int qp_taps_install(const int *fds, size_t n, int *keep);

/* ---- per-domain lock (util.c) ---------------------------------------------- */
/* Returns the fd (also kept in ctx->lock_fd) or negative. */
int qp_lock_domain(qp_ctx *ctx, const char *name);
void qp_unlock(qp_ctx *ctx, int fd);

/* ---- guest agent (agent.c) ---------------------------------------------------- */
int qp_agent_fsfreeze(qp_ctx *ctx, const char *sock_path, int freeze);

/* ---- snapshots ------------------------------------------------------------------- */

int qp_snapshot_create(qp_ctx *ctx, const char *domain, const char *snapshot_xml,
                       unsigned flags, char **out_xml);
int qp_snapshot_revert(qp_ctx *ctx, const char *domain, const char *snapshot_xml,
                       unsigned flags, char **out_xml);
int qp_snapshot_delete(qp_ctx *ctx, const char *domain, const char *snapshot_xml,
                       unsigned flags);
int qp_snapshot_exists(qp_ctx *ctx, const char *domain, const char *snapshot_xml);
/* ABI 1.1 snapshot_usage: the space the snapshot of snapshot_xml holds
 * (snapshot_usage.c says how each kind is measured).  Reads only. */
int qp_snapshot_usage(qp_ctx *ctx, const char *snapshot_xml, struct sb_snapshot_usage *out);


#endif
