/* qemu plugin - qemu-img and qemu-io wrappers (argv arrays, no shell). */
#include "qp.h"
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Run qemu-img; a non-zero exit becomes an error quoting its stderr. */
static int img_run(qp_ctx *ctx, const char *what, const char *path, char *const argv[],
                   char **out)
{
    char *err = NULL;
    int st = qp_run(ctx, argv, out, &err);
    if (st < 0) {
        free(err);
        return st;
    }
    if (st != 0) {
        int code = SB_ERR_HYPERVISOR;
        if (err && (strstr(err, "Failed to get") && strstr(err, "lock")))
            code = SB_ERR_OPERATION_INVALID; /* image in use by a running QEMU */
        int r = qp_error(ctx, code, "qemu-img %s '%s' failed: %s", what, path,
                         err && *err ? err : "(no message)");
        free(err);
        if (out) {
            free(*out);
            *out = NULL;
        }
        return r;
    }
    free(err);
    return 0;
}

void qp_img_info_free(qp_img_info *info)
{
    if (!info)
        return;
    free(info->filename);
    free(info->format);
    free(info->backing);
    free(info->backing_format);
    for (size_t i = 0; i < info->nsnaps; i++) {
        free(info->snaps[i].id);
        free(info->snaps[i].name);
    }
    free(info->snaps);
    memset(info, 0, sizeof *info);
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int info_from_json(json_object *o, qp_img_info *out)
{
    json_object *v;
    memset(out, 0, sizeof *out);
    out->filename = qp_strdup(jstr(o, "filename"));
    out->format = qp_strdup(jstr(o, "format"));
    const char *b = jstr(o, "full-backing-filename");
    if (!b)
        b = jstr(o, "backing-filename");
    out->backing = qp_strdup(b);
    out->backing_format = qp_strdup(jstr(o, "backing-filename-format"));
    if (json_object_object_get_ex(o, "virtual-size", &v))
        out->virtual_size = (unsigned long long)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "snapshots", &v) && json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        out->snaps = calloc(n ? n : 1, sizeof *out->snaps);
        if (!out->snaps)
            return -SB_ERR_NO_MEMORY;
        for (size_t i = 0; i < n; i++) {
            json_object *s = json_object_array_get_idx(v, i), *vs;
            out->snaps[i].id = qp_strdup(jstr(s, "id"));
            out->snaps[i].name = qp_strdup(jstr(s, "name"));
            if (json_object_object_get_ex(s, "vm-state-size", &vs))
                out->snaps[i].vm_state_size = (unsigned long long)json_object_get_int64(vs);
        }
        out->nsnaps = n;
    }
    return 0;
}

/* ---- direct header reads (qcow2.c) -----------------------------------------
 *
 * The checks only READ headers, so they read them straight from the file
 * (docs/qemu.md, "Reading qcow2 headers directly").  Whenever the answer
 * needs QEMU's own semantics - not qcow2 (format probing), a damaged or
 * unsupported header (QEMU's error message), a protocol or json: backing
 * name, a backing chain loop, a missing backing file, an image a running
 * QEMU writes to while the caller did not ask for force-share - the
 * wrappers below fall back to qemu-img, so the answers and the errors are
 * QEMU's in every case the reader does not handle itself. */

/* 1 when some process holds QEMU's "write" permission lock on the file
 * (a read-shared OFD lock on byte 100 + BLK_PERM_WRITE's bit, which QEMU
 * takes for every image it may write): what makes `qemu-img info`
 * without -U fail.  Only asks (F_OFD_GETLK); takes no lock. */
static int written_by_qemu(int fd)
{
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 101;
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return 1; /* cannot tell: let qemu-img decide */
    return fl.l_type != F_UNLCK;
}

enum { HDR_OK = 0, HDR_FALLBACK = 1 };

/* Fill *out for one qcow2 image from its header.  HDR_FALLBACK when
 * qemu-img must answer instead; negative only for out of memory. */
static int hdr_info(qp_ctx *ctx, const char *path, int force_share, qp_img_info *out)
{
    memset(out, 0, sizeof *out);
    /* O_NONBLOCK: a FIFO named as an image must not block the open; it
     * (or a device, socket, directory) is refused, never handed to qemu-img */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return HDR_FALLBACK;
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        close(fd);
        return qp_error(ctx, SB_ERR_CONFIG_UNSUPPORTED,
                        "'%s' is not an image: neither a regular file nor a block device", path);
    }
    if (!force_share && written_by_qemu(fd)) {
        close(fd);
        return HDR_FALLBACK;
    }
    qp_qcow2 q;
    char err[256];
    int r = qp_qcow2_read_fd(fd, 0, &q, err, sizeof err);
    close(fd);
    if (r == -ENOMEM)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    if (r != 0) {
        if (r < 0)
            qp_log(ctx, SB_LOG_DEBUG, "qcow2 header of '%s': %s; asking qemu-img", path, err);
        return HDR_FALLBACK;
    }
    if (q.backing && qp_qcow2_has_protocol(q.backing)) {
        qp_qcow2_free(&q);
        return HDR_FALLBACK;
    }
    out->filename = qp_strdup(path);
    out->format = qp_strdup("qcow2");
    out->backing = q.backing ? qp_qcow2_backing_path(path, q.backing) : NULL;
    out->backing_format = qp_strdup(q.backing_format);
    out->virtual_size = q.size;
    out->snaps = calloc(q.nsnaps ? q.nsnaps : 1, sizeof *out->snaps);
    int oom = !out->filename || !out->format || (q.backing && !out->backing) ||
              (q.backing_format && !out->backing_format) || !out->snaps;
    for (uint32_t i = 0; !oom && i < q.nsnaps; i++) {
        out->snaps[i].id = qp_strdup(q.snaps[i].id);
        out->snaps[i].name = qp_strdup(q.snaps[i].name);
        out->snaps[i].vm_state_size = q.snaps[i].vm_state_size;
        out->nsnaps = i + 1;
        oom = !out->snaps[i].id || !out->snaps[i].name;
    }
    qp_qcow2_free(&q);
    if (oom) {
        qp_img_info_free(out);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    return HDR_OK;
}

/* The chain from headers: qcow2 layers, ending at an image without a
 * backing file or at a backing file its overlay declares raw. */
static int hdr_chain(qp_ctx *ctx, const char *path, int force_share, qp_img_info **out,
                     size_t *n)
{
    enum { MAX_CHAIN = 256 };
    qp_img_info *c = NULL;
    size_t len = 0;
    qp_strv seen = {0};
    char *cur = qp_strdup(path), *fmt = NULL;
    int r = cur ? HDR_OK : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    while (r == HDR_OK && cur) {
        char *canon = qp_realpath_or_copy(cur);
        if (!canon || len >= MAX_CHAIN || qp_strv_has(&seen, canon)) {
            r = canon ? HDR_FALLBACK : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            free(canon);
            break;
        }
        int added = qp_strv_add(&seen, canon);
        free(canon);
        if (added < 0) {
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        qp_img_info *nc = realloc(c, (len + 1) * sizeof *nc);
        if (!nc) {
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        c = nc;
        qp_img_info *m = &c[len];
        memset(m, 0, sizeof *m);
        if (fmt && !strcmp(fmt, "raw")) {
            /* declared raw: no header to read, the chain ends here */
            struct stat st;
            if (stat(cur, &st) < 0) {
                r = HDR_FALLBACK;
                break;
            }
            m->filename = cur;
            m->format = qp_strdup("raw");
            m->virtual_size = S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0;
            cur = NULL;
            len++;
            if (!m->format)
                r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        if (fmt && strcmp(fmt, "qcow2")) {
            r = HDR_FALLBACK; /* another declared format: QEMU's business */
            break;
        }
        /* -U or not applies to the image asked about; QEMU opens backing
         * files read-only and shared */
        r = hdr_info(ctx, cur, len ? 1 : force_share, m);
        if (r != HDR_OK)
            break;
        len++;
        free(cur);
        free(fmt);
        cur = qp_strdup(m->backing);
        fmt = qp_strdup(m->backing_format);
        if ((m->backing && !cur) || (m->backing_format && !fmt))
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    free(cur);
    free(fmt);
    qp_strv_free(&seen);
    if (r != HDR_OK) {
        qp_img_chain_free(c, len);
        return r;
    }
    *out = c;
    *n = len;
    return HDR_OK;
}

static int img_query_qemu(qp_ctx *ctx, const char *path, int force_share, qp_img_info *out)
{
    char *argv[8];
    int i = 0;
    char *js = NULL;
    argv[i++] = ctx->qemu_img;
    argv[i++] = (char *)"info";
    argv[i++] = (char *)"--output=json";
    if (force_share)
        argv[i++] = (char *)"-U";
    argv[i++] = (char *)"--";
    argv[i++] = (char *)path;
    argv[i] = NULL;
    int r = img_run(ctx, "info", path, argv, &js);
    if (r < 0)
        return r;
    json_object *o = json_tokener_parse(js);
    free(js);
    if (!o)
        return qp_error(ctx, SB_ERR_HYPERVISOR, "qemu-img info '%s': unreadable JSON", path);
    r = info_from_json(o, out);
    json_object_put(o);
    if (r < 0)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

int qp_img_query(qp_ctx *ctx, const char *path, int force_share, qp_img_info *out)
{
    int r = hdr_info(ctx, path, force_share, out);
    if (r != HDR_FALLBACK)
        return r;
    return img_query_qemu(ctx, path, force_share, out);
}

void qp_img_chain_free(qp_img_info *chain, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qp_img_info_free(&chain[i]);
    free(chain);
}

static int img_chain_qemu(qp_ctx *ctx, const char *path, int force_share, qp_img_info **out,
                          size_t *n)
{
    char *argv[9];
    int i = 0;
    char *js = NULL;
    argv[i++] = ctx->qemu_img;
    argv[i++] = (char *)"info";
    argv[i++] = (char *)"--output=json";
    argv[i++] = (char *)"--backing-chain";
    if (force_share)
        argv[i++] = (char *)"-U";
    argv[i++] = (char *)"--";
    argv[i++] = (char *)path;
    argv[i] = NULL;
    int r = img_run(ctx, "info --backing-chain", path, argv, &js);
    if (r < 0)
        return r;
    json_object *o = json_tokener_parse(js);
    free(js);
    if (!o || !json_object_is_type(o, json_type_array)) {
        json_object_put(o);
        return qp_error(ctx, SB_ERR_HYPERVISOR, "qemu-img info '%s': unreadable JSON", path);
    }
    size_t len = json_object_array_length(o);
    qp_img_info *c = calloc(len ? len : 1, sizeof *c);
    if (!c) {
        json_object_put(o);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t k = 0; k < len; k++)
        info_from_json(json_object_array_get_idx(o, k), &c[k]);
    json_object_put(o);
    *out = c;
    *n = len;
    return 0;
}

int qp_img_chain(qp_ctx *ctx, const char *path, int force_share, qp_img_info **out, size_t *n)
{
    int r = hdr_chain(ctx, path, force_share, out, n);
    if (r != HDR_FALLBACK)
        return r;
    return img_chain_qemu(ctx, path, force_share, out, n);
}

int qp_img_chain_names(qp_ctx *ctx, const char *top, qp_strv *out)
{
    qp_img_info *chain = NULL;
    size_t len = 0;
    int r = 0;
    if (qp_file_exists(top) && (r = qp_img_chain(ctx, top, 1, &chain, &len)) < 0)
        return r;
    if (qp_strv_add(out, top) < 0)
        r = -SB_ERR_NO_MEMORY;
    for (size_t i = 1; i < len && r == 0; i++) {
        char *c = qp_realpath_or_copy(chain[i].filename);
        r = qp_strv_add(out, c); /* c NULL: -SB_ERR_NO_MEMORY */
        free(c);
    }
    qp_img_chain_free(chain, len);
    return r == -SB_ERR_NO_MEMORY ? qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory") : r;
}

int qp_img_query_qemu(qp_ctx *ctx, const char *path, int force_share, qp_img_info *out)
{
    return img_query_qemu(ctx, path, force_share, out);
}

int qp_img_chain_qemu(qp_ctx *ctx, const char *path, int force_share, qp_img_info **out,
                      size_t *n)
{
    return img_chain_qemu(ctx, path, force_share, out, n);
}

int qp_img_has_snapshot(qp_ctx *ctx, const char *path, const char *tag, int force_share)
{
    qp_img_info info;
    int r = qp_img_query(ctx, path, force_share, &info);
    if (r < 0)
        return r;
    int found = 0;
    for (size_t i = 0; i < info.nsnaps; i++)
        if (info.snaps[i].name && strcmp(info.snaps[i].name, tag) == 0)
            found = 1;
    qp_img_info_free(&info);
    return found;
}

int qp_img_snapshot_create(qp_ctx *ctx, const char *path, const char *tag)
{
    /* qemu-img accepts duplicate tags and makes a second snapshot with the
     * same name: refuse that ourselves. */
    int has = qp_img_has_snapshot(ctx, path, tag, 0);
    if (has < 0)
        return has;
    if (has)
        return qp_error(ctx, SB_ERR_OPERATION_FAILED,
                        "image '%s' already has an internal snapshot named '%s'", path, tag);
    char *argv[] = {ctx->qemu_img, (char *)"snapshot", (char *)"-c", (char *)tag,
                    (char *)"--", (char *)path, NULL};
    return img_run(ctx, "snapshot -c", path, argv, NULL);
}

int qp_img_snapshot_apply(qp_ctx *ctx, const char *path, const char *tag)
{
    /* -a accepts an ID too; make sure the tag really exists as a name. */
    int has = qp_img_has_snapshot(ctx, path, tag, 0);
    if (has < 0)
        return has;
    if (!has)
        return qp_error(ctx, SB_ERR_NO_DOMAIN_SNAPSHOT,
                        "image '%s' has no internal snapshot named '%s'", path, tag);
    char *argv[] = {ctx->qemu_img, (char *)"snapshot", (char *)"-a", (char *)tag,
                    (char *)"--", (char *)path, NULL};
    return img_run(ctx, "snapshot -a", path, argv, NULL);
}

int qp_img_snapshot_delete(qp_ctx *ctx, const char *path, const char *tag)
{
    char *argv[] = {ctx->qemu_img, (char *)"snapshot", (char *)"-d", (char *)tag,
                    (char *)"--", (char *)path, NULL};
    return img_run(ctx, "snapshot -d", path, argv, NULL);
}

int qp_img_create_overlay(qp_ctx *ctx, const char *path, const char *backing,
                          const char *backing_fmt)
{
    char *argv[] = {ctx->qemu_img, (char *)"create", (char *)"-q", (char *)"-f", (char *)"qcow2",
                    (char *)"-b", (char *)backing, (char *)"-F", (char *)backing_fmt,
                    (char *)"--", (char *)path, NULL};
    return img_run(ctx, "create", path, argv, NULL);
}

int qp_img_create(qp_ctx *ctx, const char *path, const char *fmt, const char *size)
{
    char *argv[] = {ctx->qemu_img, (char *)"create", (char *)"-q", (char *)"-f", (char *)fmt,
                    (char *)"--", (char *)path, (char *)size, NULL};
    return img_run(ctx, "create", path, argv, NULL);
}

int qp_img_commit(qp_ctx *ctx, const char *top, const char *base)
{
    char rate[32];
    char *argv[12];
    int i = 0;
    argv[i++] = ctx->qemu_img;
    argv[i++] = (char *)"commit";
    /* -p: its progress ticks ctx->job (domjobinfo, the progress line, the
     * stall timeout); without a job, as quiet as before */
    argv[i++] = (char *)(ctx->job ? "-p" : "-q");
    argv[i++] = (char *)"-d";
    if (ctx->test_job_rate > 0) { /* test-only throttle, see qp.h */
        snprintf(rate, sizeof rate, "%d", ctx->test_job_rate);
        argv[i++] = (char *)"-r";
        argv[i++] = rate;
    }
    argv[i++] = (char *)"-b";
    argv[i++] = (char *)base;
    argv[i++] = (char *)"--";
    argv[i++] = (char *)top;
    argv[i] = NULL;
    if (!ctx->job)
        return img_run(ctx, "commit", top, argv, NULL);
    char *err = NULL;
    int st = qp_run_job(ctx, argv, &err);
    if (st > 0)
        st = qp_error(ctx, SB_ERR_HYPERVISOR, "qemu-img commit '%s' failed: %s", top,
                      err && *err ? err : "(no message)");
    free(err);
    return st;
}

int qp_img_rebase_unsafe(qp_ctx *ctx, const char *image, const char *backing,
                         const char *backing_fmt)
{
    char *argv[] = {ctx->qemu_img, (char *)"rebase", (char *)"-u", (char *)"-b", (char *)backing,
                    (char *)"-F", (char *)backing_fmt, (char *)"--", (char *)image, NULL};
    return img_run(ctx, "rebase -u", image, argv, NULL);
}

int qp_io(qp_ctx *ctx, const char *path, const char *fmt, const char *cmd, char **out)
{
    char *argv[10];
    int i = 0;
    argv[i++] = (char *)"qemu-io";
    if (fmt) {
        argv[i++] = (char *)"-f";
        argv[i++] = (char *)fmt;
    }
    argv[i++] = (char *)"-c";
    argv[i++] = (char *)cmd;
    argv[i++] = (char *)"--";
    argv[i++] = (char *)path;
    argv[i] = NULL;
    char *err = NULL;
    int st = qp_run(ctx, argv, out, &err);
    free(err);
    return st;
}
