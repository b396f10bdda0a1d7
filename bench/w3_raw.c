/* w3_raw: the floor - QEMU driven directly, the way a minimal tool would:
 * QEMU is our own child (no -daemonize, so destroy is SIGTERM + waitpid),
 * QMP for a running guest, qemu-img for a shut-off one.  No locking, no
 * metadata, no checks: one QMP connection kept from start to destroy and
 * the active layer's node name kept in memory.
 *
 * w3_raw_safe ("raw + crash safety"): the same commands with the least a
 * broker must add to be crash-safe without a daemon, the floor under
 * snapbroker's own rows (bench/README.md, "W3's floors").  Around each
 * snapshot operation:
 *   - an intent record appended to a log and fdatasync'd before QEMU or
 *     qemu-img changes anything (after a crash, the next call must learn
 *     that an operation was under way, and on what);
 *   - on a running guest, a monitor connection of the call's own (connect,
 *     greeting, qmp_capabilities sent without waiting for the greeting) and
 *     closed at the end, because QEMU's QMP socket serves one client and a
 *     connection kept between calls would lock every other process out;
 *     and query-block, whose answer gives the active layer's node name
 *     (nothing kept from an earlier call can be trusted: another process
 *     may have changed the graph since);
 *   - the result appended and fdatasync'd: the snapshot's document, and
 *     the domain's definition where the operation changed the files the
 *     domain runs on (external create and delete).
 * Nothing else: no lock, no check of the images, no ownership list, no
 * job record for other processes to watch, the definition inside the
 * log instead of a file of its own.
 *
 * w3_raw_guard ("raw + snapbroker's guarantees"): raw + crash safety plus
 * the durable records snapbroker keeps beyond that minimum, each at the
 * point where the qemu plugin makes it and overlapped where the plugin
 * overlaps it, so that "API ÷ this floor" is what snapbroker spends on
 * top of its own promises:
 *   - before a file is made (external create: the overlay, the memory
 *     file): a record that the file is the broker's, fdatasync'd, so that
 *     a later delete or a recovery removes only files the broker made;
 *   - before a merge (external delete): the snapshot marked as being
 *     deleted, fdatasync'd, so that a crash mid-merge cannot leave a
 *     snapshot that looks whole while its base holds part of the merge;
 *   - the domain's definition in a file of its own (it changes with the
 *     files the domain runs on): written to a temp file whose fsync runs
 *     while QEMU works, renamed over the old one and the directory
 *     fsync'd before the result (and before any file is removed);
 *   - after files are removed: a record that they are no longer the
 *     broker's, fdatasync'd.
 * Still no lock and no check of the images. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "qmp.h"
#include "w3.h"

struct raw {
    char dir[1024], sock[1100], err[600];
    pid_t pid;
    qmp *q;
    char top[32]; /* node name of the active layer */
    int novl;
    int logfd; /* safe: the metadata log */
    /* guard (w3_raw_guard): the ownership log, the definition's directory,
     * the definition and its temp file, the temp file while it is open
     * (-1 otherwise) and whether it was fsync'd yet */
    int ownfd, defdir, deffd, def_synced;
    char defpath[1200], deftmp[1200];
};

static void *raw_init(const char *dir, int kvm)
{
    (void)kvm;
    struct raw *r = calloc(1, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(r->sock, sizeof r->sock, "%s/qmp.sock", dir);
    r->logfd = r->ownfd = r->defdir = r->deffd = -1;
    return r;
}

static void *safe_init(const char *dir, int kvm)
{
    struct raw *r = raw_init(dir, kvm);
    char path[1100];
    snprintf(path, sizeof path, "%s/floor.log", dir);
    r->logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (r->logfd < 0)
        bench_die("%s: %s", path, strerror(errno));
    return r;
}

static int fail(struct raw *r, const char *what)
{
    snprintf(r->err, sizeof r->err, "%s: %s", what, r->q ? qmp_err(r->q) : "no QMP");
    return -1;
}

/* guard: the definition's temp file made durable (at most once). */
static void def_sync(void *arg)
{
    struct raw *r = arg;
    if (r->deffd >= 0 && !r->def_synced && fsync(r->deffd) == 0)
        r->def_synced = 1;
}

/* guard: a definition being replaced is fsync'd while QEMU runs the next
 * command (the qemu plugin sends the command, then syncs); raw and safe
 * have none. */
static void def_sync_meanwhile(struct raw *r)
{
    if (r->deffd >= 0 && !r->def_synced)
        qmp_meanwhile(r->q, def_sync, r);
}

static int img(struct raw *r, char *const argv[])
{
    if (bench_run(argv, 0) != 0) {
        snprintf(r->err, sizeof r->err, "qemu-img %s failed", argv[1]);
        return -1;
    }
    return 0;
}

static int start(struct raw *r, const struct w3_env *e)
{
    char fileopt[1200];
    snprintf(fileopt, sizeof fileopt, "driver=file,filename=%s,node-name=file0", e->disk);
    char qmpopt[1200];
    snprintf(qmpopt, sizeof qmpopt, "unix:%s,server=on,wait=off", r->sock);
    unlink(r->sock);
    char *argv[] = {(char *)"qemu-system-x86_64", (char *)"-machine",
                    (char *)(e->kvm ? "pc,accel=kvm:tcg" : "pc,accel=tcg"), (char *)"-m",
                    (char *)"256", (char *)"-nodefaults", (char *)"-no-user-config",
                    (char *)"-display", (char *)"none", (char *)"-qmp", qmpopt,
                    (char *)"-blockdev", fileopt, (char *)"-blockdev",
                    (char *)"driver=qcow2,file=file0,node-name=disk0", (char *)"-device",
                    (char *)"virtio-blk-pci,drive=disk0,id=vblk0", NULL};
    /* the cheapest route for a program that waits for its own QEMU: one
     * posix_spawn (the plugin, which must leave QEMU no one's child, makes
     * two processes the same way: plugins/qemu/launch.c) */
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) {
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0) ||
             posix_spawn_file_actions_adddup2(&fa, 0, 1) ||
             posix_spawn_file_actions_adddup2(&fa, 0, 2) || bench_spawn(&r->pid, argv, &fa);
        posix_spawn_file_actions_destroy(&fa);
    }
    if (rc != 0) {
        r->pid = 0;
        return fail(r, "spawn QEMU");
    }
    if (!(r->q = qmp_open(r->sock, 10000)))
        return fail(r, "QMP open");
    snprintf(r->top, sizeof r->top, "disk0");
    return 0;
}

/* The monitor connection closed (QEMU serves one client: safe never
 * leaves it held past a call). */
static void close_monitor(struct raw *r)
{
    qmp_close(r->q);
    r->q = NULL;
}

static int destroy(struct raw *r)
{
    int st;
    close_monitor(r);
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    r->pid = 0;
    return 0;
}

/* blockdev-snapshot-sync: QEMU creates the overlay and pivots to it. */
static int ext_snap(struct raw *r, const char *file)
{
    char node[32];
    snprintf(node, sizeof node, "ovl%d", ++r->novl);
    def_sync_meanwhile(r);
    if (qmp_ok(r->q, "blockdev-snapshot-sync",
               "{\"node-name\":\"%s\",\"snapshot-file\":\"%s\",\"snapshot-node-name\":\"%s\","
               "\"format\":\"qcow2\",\"mode\":\"absolute-paths\"}",
               r->top, file, node) < 0)
        return fail(r, "blockdev-snapshot-sync");
    snprintf(r->top, sizeof r->top, "%s", node);
    return 0;
}

/* Delete an external leaf: active commit into the base and pivot (the
 * caller removes the files: drop_files). */
static int commit_leaf(struct raw *r)
{
    def_sync_meanwhile(r);
    if (qmp_ok(r->q, "block-commit", "{\"job-id\":\"c\",\"device\":\"%s\",\"base-node\":\"disk0\"}",
               r->top) < 0 ||
        qmp_wait_event(r->q, "BLOCK_JOB_READY", "c", NULL) < 0 ||
        qmp_ok(r->q, "job-complete", "{\"id\":\"c\"}") < 0 ||
        qmp_wait_event(r->q, "BLOCK_JOB_COMPLETED", "c", NULL) < 0)
        return fail(r, "block-commit");
    snprintf(r->top, sizeof r->top, "disk0");
    return 0;
}

/* The files op makes (*made 1), or removes once its merge is done
 * (*made 0): how many (files[], at most 2). */
static int op_files(enum w3_op op, const struct w3_env *e, const char *files[2], int *made)
{
    *made = op == OP_DEXT || op == OP_FEXT || op == OP_OFF_EXT;
    switch (op) {
    case OP_DEXT:
    case OP_DEXT_DEL: files[0] = e->dext; return 1;
    case OP_FEXT:
    case OP_FEXT_DEL: files[0] = e->fext; files[1] = e->fmem; return 2;
    case OP_OFF_EXT:
    case OP_OFF_EXT_DEL: files[0] = e->oext; return 1;
    default: return 0;
    }
}

static void drop_files(enum w3_op op, const struct w3_env *e)
{
    const char *files[2];
    int made, n = op_files(op, e, files, &made);
    for (int i = made ? 0 : n; i > 0; i--)
        unlink(files[i - 1]);
}

/* The hypervisor's part of op; the files a delete removes stay (raw_op
 * removes them after, w3_raw_guard after its definition is durable). */
static int raw_do(struct raw *r, enum w3_op op, const struct w3_env *e)
{
    char *disk = (char *)e->disk;
    switch (op) {
    case OP_DEFINE: return 1; /* nothing to define */
    case OP_START: return start(r, e);
    case OP_INT:
        return qmp_job(r->q, "s", "snapshot-save",
                       "{\"job-id\":\"s\",\"tag\":\"i1\",\"vmstate\":\"disk0\","
                       "\"devices\":[\"disk0\"]}") < 0 ? fail(r, "snapshot-save") : 0;
    case OP_INT_REVERT:
        if (qmp_ok(r->q, "stop", NULL) < 0 ||
            qmp_job(r->q, "l", "snapshot-load",
                    "{\"job-id\":\"l\",\"tag\":\"i1\",\"vmstate\":\"disk0\","
                    "\"devices\":[\"disk0\"]}") < 0 ||
            qmp_ok(r->q, "cont", NULL) < 0)
            return fail(r, "snapshot-load");
        return 0;
    case OP_INT_DEL:
        return qmp_job(r->q, "d", "snapshot-delete",
                       "{\"job-id\":\"d\",\"tag\":\"i1\",\"devices\":[\"disk0\"]}") < 0
                   ? fail(r, "snapshot-delete") : 0;
    case OP_DEXT: return ext_snap(r, e->dext);
    case OP_DEXT_DEL: return commit_leaf(r);
    case OP_FEXT: {
        /* stop, migrate RAM into the file, wait for "completed" and for
         * finish-migrate to pass (cont fails before), overlay, cont */
        if (qmp_ok(r->q, "stop", NULL) < 0 ||
            qmp_ok(r->q, "migrate", "{\"uri\":\"exec:cat > %s\"}", e->fmem) < 0)
            return fail(r, "migrate");
        for (;;) {
            json_object *m = qmp_cmd(r->q, "query-migrate", NULL), *s;
            const char *st = m && json_object_object_get_ex(m, "status", &s)
                                 ? json_object_get_string(s) : "failed";
            int done = !strcmp(st, "completed"), bad = !strcmp(st, "failed");
            json_object_put(m);
            if (bad)
                return fail(r, "migrate failed");
            if (done)
                break;
            usleep(200);
        }
        for (;;) {
            json_object *m = qmp_cmd(r->q, "query-status", NULL), *s;
            int fin = m && json_object_object_get_ex(m, "status", &s) &&
                      !strcmp(json_object_get_string(s), "finish-migrate");
            json_object_put(m);
            if (!fin)
                break;
            usleep(200);
        }
        if (ext_snap(r, e->fext) < 0)
            return -1;
        return qmp_ok(r->q, "cont", NULL) < 0 ? fail(r, "cont") : 0;
    }
    case OP_FEXT_DEL: return commit_leaf(r);
    case OP_DESTROY: return destroy(r);
    case OP_OFF_INT: {
        char *a[] = {(char *)"qemu-img", (char *)"snapshot", (char *)"-c", (char *)"o1", disk, NULL};
        return img(r, a);
    }
    case OP_OFF_INT_REVERT: {
        char *a[] = {(char *)"qemu-img", (char *)"snapshot", (char *)"-a", (char *)"o1", disk, NULL};
        return img(r, a);
    }
    case OP_OFF_INT_DEL: {
        char *a[] = {(char *)"qemu-img", (char *)"snapshot", (char *)"-d", (char *)"o1", disk, NULL};
        return img(r, a);
    }
    case OP_OFF_EXT: {
        char *a[] = {(char *)"qemu-img", (char *)"create", (char *)"-q", (char *)"-f",
                     (char *)"qcow2", (char *)"-b", disk, (char *)"-F", (char *)"qcow2",
                     (char *)e->oext, NULL};
        return img(r, a);
    }
    case OP_OFF_EXT_DEL: {
        char *a[] = {(char *)"qemu-img", (char *)"commit", (char *)"-q", (char *)"-d",
                     (char *)e->oext, NULL};
        return img(r, a);
    }
    default: return 1;
    }
}

static int raw_op(void *ctx, enum w3_op op, const struct w3_env *e)
{
    struct raw *r = ctx;
    int rc = raw_do(r, op, e);
    if (rc == 0)
        drop_files(op, e);
    return rc;
}

/* safe, guard: iov appended to the log fd (file: its name for the
 * message) and made durable. */
static int append_durable(struct raw *r, int fd, const char *file, const struct iovec *iov,
                          int n)
{
    if (writev(fd, iov, n) < 0 || fdatasync(fd) < 0) {
        snprintf(r->err, sizeof r->err, "%s: %s", file, strerror(errno));
        return -1;
    }
    return 0;
}

/* safe: one record appended to the log and made durable. */
static int record(struct raw *r, const char *kind, const char *doc, const char *def)
{
    struct iovec iov[6] = {{(void *)kind, strlen(kind)}, {(void *)"\n", 1},
                           {(void *)doc, strlen(doc)},   {(void *)"\n", 1},
                           {(void *)(def ? def : ""), def ? strlen(def) : 0},
                           {(void *)"\n", 1}};
    return append_durable(r, r->logfd, "floor.log", iov, 6);
}

/* safe: the call's own monitor connection, and the active layer's node
 * name from query-block's answer. */
static int open_monitor(struct raw *r)
{
    json_object *blk = NULL, *dev, *ins, *node;
    r->q = qmp_open_asking(r->sock, "query-block", &blk);
    int ok = r->q && json_object_array_length(blk) > 0 &&
             (dev = json_object_array_get_idx(blk, 0)) &&
             json_object_object_get_ex(dev, "inserted", &ins) &&
             json_object_object_get_ex(ins, "node-name", &node);
    if (ok)
        snprintf(r->top, sizeof r->top, "%s", json_object_get_string(node));
    json_object_put(blk);
    if (ok)
        return 0;
    fail(r, "QMP open + query-block");
    close_monitor(r);
    return -1;
}

static int safe_op(void *ctx, enum w3_op op, const struct w3_env *e)
{
    struct raw *r = ctx;
    if (op == OP_DEFINE || op == OP_DESTROY)
        return raw_op(r, op, e);
    if (op == OP_START) {
        /* the start's connection waits for QEMU; each call opens its own */
        int rc = raw_op(r, op, e);
        close_monitor(r);
        return rc;
    }
    int running = op < OP_DESTROY;
    int files = op == OP_DEXT || op == OP_DEXT_DEL || op == OP_FEXT || op == OP_FEXT_DEL ||
                op == OP_OFF_EXT || op == OP_OFF_EXT_DEL;
    const char *doc = w3_snap_xml(op, e);
    if (record(r, "intent", doc, NULL) < 0 || (running && open_monitor(r) < 0))
        return -1;
    int rc = raw_op(r, op, e);
    if (running)
        close_monitor(r);
    if (rc == 0)
        rc = record(r, "result", doc, files ? w3_domain_xml("w3", e->disk, e->kvm) : NULL);
    return rc;
}

/* guard: one ownership record ("add" or "drop" and the paths) appended
 * to the ownership log and made durable. */
static int own_record(struct raw *r, const char *kind, const char *files[], int n)
{
    struct iovec iov[6] = {{(void *)kind, strlen(kind)}};
    int k = 1;
    for (int i = 0; i < n && i < 2; i++) {
        iov[k++] = (struct iovec){(void *)" ", 1};
        iov[k++] = (struct iovec){(void *)files[i], strlen(files[i])};
    }
    iov[k++] = (struct iovec){(void *)"\n", 1};
    return append_durable(r, r->ownfd, "own.log", iov, k);
}

/* guard: the domain's new definition into its temp file (not yet synced:
 * def_sync, during the hypervisor's work or at def_commit). */
static int def_begin(struct raw *r, const struct w3_env *e)
{
    const char *xml = w3_domain_xml("w3", e->disk, e->kvm);
    size_t len = strlen(xml);
    r->def_synced = 0;
    r->deffd = open(r->deftmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (r->deffd < 0 || write(r->deffd, xml, len) != (ssize_t)len) {
        snprintf(r->err, sizeof r->err, "definition temp file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* guard: the new definition in place and durable: synced (if QEMU's work
 * did not cover it), renamed over the old one, its directory fsync'd. */
static int def_commit(struct raw *r)
{
    def_sync(r);
    int ok = r->def_synced;
    close(r->deffd);
    r->deffd = -1;
    if (!ok || rename(r->deftmp, r->defpath) < 0 || fsync(r->defdir) < 0) {
        snprintf(r->err, sizeof r->err, "definition: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void *guard_init(const char *dir, int kvm)
{
    struct raw *r = safe_init(dir, kvm);
    char path[1100];
    snprintf(path, sizeof path, "%s/own.log", dir);
    r->ownfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    snprintf(path, sizeof path, "%s/defs", dir);
    if (r->ownfd < 0 || (mkdir(path, 0700) < 0 && errno != EEXIST) ||
        (r->defdir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        bench_die("%s: %s", path, strerror(errno));
    snprintf(r->defpath, sizeof r->defpath, "%s/w3.xml", path);
    snprintf(r->deftmp, sizeof r->deftmp, "%s/w3.xml.tmp", path);
    return r;
}

/* The operations that make or remove files get snapbroker's records in
 * the order the qemu plugin writes them; the others are safe_op's. */
static int guard_op(void *ctx, enum w3_op op, const struct w3_env *e)
{
    struct raw *r = ctx;
    const char *files[2];
    int made, n = op_files(op, e, files, &made);
    if (!n)
        return safe_op(ctx, op, e);
    int running = op < OP_DESTROY;
    const char *doc = w3_snap_xml(op, e);
    if (record(r, "intent", doc, NULL) < 0 || (running && open_monitor(r) < 0))
        return -1;
    int rc = made ? own_record(r, "add", files, n) : record(r, "mark", doc, NULL);
    if (rc == 0)
        rc = def_begin(r, e);
    if (rc == 0)
        rc = raw_do(r, op, e);
    if (rc == 0)
        rc = def_commit(r);
    if (r->deffd >= 0) { /* failed before def_commit */
        close(r->deffd);
        r->deffd = -1;
    }
    if (running)
        close_monitor(r);
    if (rc == 0 && !made) {
        drop_files(op, e);
        rc = own_record(r, "drop", files, n);
    }
    if (rc == 0)
        rc = record(r, "result", doc, NULL);
    return rc;
}

static const char *raw_err(void *ctx)
{
    return ((struct raw *)ctx)->err;
}

static void raw_fini(void *ctx)
{
    struct raw *r = ctx;
    destroy(r);
    if (r->logfd >= 0)
        close(r->logfd);
    if (r->ownfd >= 0)
        close(r->ownfd);
    if (r->defdir >= 0)
        close(r->defdir);
    free(r);
}

const struct w3_target w3_raw = {"raw QMP/qemu-img", raw_init, raw_op, raw_err, raw_fini};
const struct w3_target w3_raw_safe = {"raw + crash safety", safe_init, safe_op, raw_err,
                                      raw_fini};
const struct w3_target w3_raw_guard = {"raw + snapbroker's guarantees", guard_init, guard_op,
                                       raw_err, raw_fini};
