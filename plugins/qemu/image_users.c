/* qemu plugin - images that name a given image as their backing file,
 * found on disk rather than in the broker's tree.
 *
 * Why: the tree does not know every overlay.  A NO_METADATA snapshot, or
 * an overlay the user made by hand, sits on an image without any record;
 * removing that image, or merging another overlay into it, would break or
 * silently change it.  Overlays are made next to the image they sit on
 * (libvirt's default names, our revert overlays), so the image's own
 * directory is scanned.  Only the qcow2 header is read (qcow2.c: header,
 * extensions and backing file name), never a whole image.
 */
#include "qp.h"
#include "qcow2.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Backing file named in a qcow2 header (qcow2.c: header and extensions
 * only, not the snapshot table), resolved against the image's directory
 * as QEMU does and canonicalized; NULL if none, not qcow2, damaged, or a
 * protocol name (nbd:, json:) that cannot be a file here. */
static char *backing_of(const char *path)
{
    qp_qcow2 q;
    if (qp_qcow2_read(path, QP_QCOW2_NO_SNAPSHOTS, &q, NULL, 0) != 0)
        return NULL;
    char *res = NULL;
    if (q.backing && !qp_qcow2_has_protocol(q.backing)) {
        char *full = qp_qcow2_backing_path(path, q.backing);
        res = full ? qp_realpath_or_copy(full) : NULL;
        free(full);
    }
    qp_qcow2_free(&q);
    return res;
}

/* The directory part of a canonical path (malloc'd). */
static char *dir_of(const char *canon)
{
    const char *slash = strrchr(canon, '/');
    return slash && slash != canon ? qp_printf("%.*s", (int)(slash - canon), canon)
                                   : qp_strdup("/");
}

void qp_dir_scan_free(qp_dir_scan *s)
{
    free(s->dir);
    qp_strv_free(&s->files);
    qp_strv_free(&s->backings);
    memset(s, 0, sizeof *s);
}

int qp_dir_scan_read(qp_ctx *ctx, const char *image, qp_dir_scan *out)
{
    memset(out, 0, sizeof *out);
    char *canon = qp_realpath_or_copy(image);
    if (!canon || !(out->dir = dir_of(canon))) {
        free(canon);
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    }
    free(canon);
    DIR *d = opendir(out->dir);
    if (!d) {
        int e = errno;
        if (e == ENOENT)
            return 0; /* nothing there */
        qp_dir_scan_free(out);
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot scan the directory of '%s'",
                              image);
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
            continue;
        char *p = qp_printf("%s/%s", out->dir, de->d_name), *b = NULL;
        struct stat st;
        if (!p)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 20 &&
                 (b = backing_of(p)) &&
                 (qp_strv_add(&out->files, p) < 0 || qp_strv_add(&out->backings, b) < 0))
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
        free(b);
        free(p);
    }
    closedir(d);
    if (r < 0)
        qp_dir_scan_free(out);
    return r;
}

int qp_dir_scan_covers(const qp_dir_scan *s, const char *image)
{
    char *canon = qp_realpath_or_copy(image), *dir = canon ? dir_of(canon) : NULL;
    int same = s->dir && dir && !strcmp(s->dir, dir);
    free(dir);
    free(canon);
    return same;
}

int qp_dir_scan_users(qp_ctx *ctx, const qp_dir_scan *s, const char *image, qp_strv *out)
{
    char *canon = qp_realpath_or_copy(image);
    int r = canon ? 0 : qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; r == 0 && i < s->files.n; i++)
        if (!strcmp(s->backings.v[i], canon) && qp_strv_add(out, s->files.v[i]) < 0)
            r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    free(canon);
    return r;
}

int qp_image_dependents(qp_ctx *ctx, const char *image, qp_strv *out)
{
    qp_dir_scan s;
    int r = qp_dir_scan_read(ctx, image, &s);
    if (r == 0)
        r = qp_dir_scan_users(ctx, &s, image, out);
    qp_dir_scan_free(&s);
    return r;
}

int qp_image_has_dependents(qp_ctx *ctx, const char *image, const qp_strv *except,
                            char **first)
{
    qp_strv deps = {0};
    int r = qp_image_dependents(ctx, image, &deps);
    int found = 0;
    for (size_t i = 0; r == 0 && i < deps.n && !found; i++)
        if (!except || !qp_strv_has(except, deps.v[i])) {
            found = 1;
            if (first)
                *first = qp_strdup(deps.v[i]);
        }
    qp_strv_free(&deps);
    return r < 0 ? r : found;
}

int qp_image_locked(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    /* QEMU takes a shared lock on 100 + bit for each permission it uses
     * and on 200 + bit for each it does not share: asking whether an
     * exclusive lock over both ranges could be had tells if anyone holds
     * one (what qemu-img would trip over when it opens the image). */
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 200 };
    int r = fcntl(fd, F_OFD_GETLK, &fl);
    close(fd);
    if (r < 0)
        return -1;
    return fl.l_type != F_UNLCK;
}
