/* vbox plugin - a settings file open for editing, and its atomic write
 * (settings.h). */
#include "vb.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

int vb_doc_open(vb_ctx *ctx, const char *path, vb_doc *d)
{
    int rc;

    memset(d, 0, sizeof *d);
    if (!(d->path = strdup(path)))
        return vb_oom(ctx);
    if (stat(path, &d->st) < 0) {
        rc = vb_error_errno(ctx, errno == ENOENT ? SB_ERR_NO_DOMAIN : SB_ERR_SYSTEM_ERROR, errno,
                            "cannot read settings file '%s'", path);
        goto fail;
    }
    if (ctx->pre_m && strcmp(ctx->pre_m->path, path) == 0 &&
        vb_stat_same(&ctx->pre_m->st, &d->st)) {
        /* the connection read these very bytes a moment ago */
        d->m = ctx->pre_m;
        d->old = ctx->pre_buf;
        d->old_len = ctx->pre_len;
        ctx->pre_m = NULL;
        ctx->pre_buf = NULL;
        return 0;
    }
    if ((rc = vb_read_file(ctx, path, VB_SETTINGS_MAX, &d->old, &d->old_len)) < 0 ||
        (rc = vb_machine_parse(ctx, d->old, d->old_len, path, &d->m)) < 0 ||
        (rc = vb_global_media(ctx, d->m)) < 0)
        goto fail;
    d->m->st = d->st;
    return 0;
fail:
    vb_doc_close(d);
    return rc;
}

int vb_doc_dom(vb_ctx *ctx, vb_doc *d)
{
    if (d->doc)
        return 0;
    /* the streaming pass accepted the file: no DOCTYPE, well-formed */
    d->doc = xmlReadMemory(d->old, (int)d->old_len, d->path, NULL,
                           XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOBLANKS |
                               XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = d->doc ? xmlDocGetRootElement(d->doc) : NULL;
    if (!root || !(d->machine = vb_el_child(root, "Machine")))
        return vb_error(ctx, SB_ERR_XML_ERROR, "settings file '%s' could not be read as a document",
                        d->path);
    return 0;
}

void vb_doc_close(vb_doc *d)
{
    free(d->path);
    free(d->old);
    if (d->doc)
        xmlFreeDoc(d->doc);
    vb_machine_free(d->m);
    memset(d, 0, sizeof *d);
}

/* A complete, flushed file with the settings file's owner and mode. */
static int write_new(const vb_doc *d, const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r;
    if (fd < 0)
        return -errno;
    r = vb_write_all(fd, data, len);
    if (r == 0 && fchmod(fd, d->st.st_mode & 07777) < 0)
        r = -errno;
    if (r == 0 && geteuid() == 0 && fchown(fd, d->st.st_uid, d->st.st_gid) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0)
        unlink(path);
    return r;
}

/* <file>-prev := the file as it is now (a hard link; a copy of the bytes
 * read where links are not possible). */
static int keep_prev(const vb_doc *d, const char *prev)
{
    char *tmp = vb_printf("%s.sb-tmp", prev);
    int r = 0;
    if (!tmp)
        return -ENOMEM;
    unlink(tmp);
    if (link(d->path, tmp) < 0)
        r = write_new(d, tmp, d->old, d->old_len);
    if (r == 0 && rename(tmp, prev) < 0)
        r = -errno;
    /* a rename between two links of one file (a -prev already holding
     * this version, after an interrupted write) does nothing: tmp stays */
    unlink(tmp);
    free(tmp);
    return r;
}


int vb_doc_save_text(vb_ctx *ctx, vb_doc *d, const char *text, size_t len)
{
    char *tmp = vb_printf("%s-tmp", d->path), *prev = vb_printf("%s-prev", d->path);
    struct stat now;
    int r;

    if (!tmp || !prev) {
        r = vb_oom(ctx);
        goto out;
    }
    if (stat(d->path, &now) < 0 || !vb_stat_same(&now, &d->st)) {
        r = vb_error(ctx, SB_ERR_OPERATION_FAILED,
                     "settings file '%s' changed while the plugin worked on it (is VirtualBox "
                     "running?); it was left as it is", d->path);
        goto out;
    }
    if ((r = write_new(d, tmp, text, len)) < 0) {
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot write '%s'", tmp);
        goto out;
    }
    if ((r = keep_prev(d, prev)) < 0) {
        unlink(tmp);
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot keep '%s'", prev);
        goto out;
    }
    vb_test_point(ctx, "settings-rename");
    if (rename(tmp, d->path) < 0) {
        r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot replace '%s'", d->path);
        unlink(tmp);
        goto out;
    }
    (void)vb_fsync_dir_of(d->path);
    if (stat(d->path, &d->st) < 0)
        memset(&d->st, 0, sizeof d->st);
    /* later saves in the same operation keep this version as -prev */
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
        free(d->old);
        d->old = copy;
        d->old_len = len;
    }
    r = 0;
out:
    free(tmp);
    free(prev);
    return r;
}

int vb_doc_save(vb_ctx *ctx, vb_doc *d)
{
    xmlChar *buf = NULL;
    int len = 0, r;

    if ((r = vb_doc_dom(ctx, d)) < 0)
        return r;
    xmlDocDumpFormatMemory(d->doc, &buf, &len, 1);
    if (!buf || len <= 0) {
        xmlFree(buf);
        return vb_oom(ctx);
    }
    r = vb_doc_save_text(ctx, d, (const char *)buf, (size_t)len);
    xmlFree(buf);
    return r;
}
