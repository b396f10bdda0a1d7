/* qemu plugin - images that name a given image as their backing file,
 * found on disk rather than in the broker's tree.
 *
 * Why: the tree does not know every overlay.  A NO_METADATA snapshot, or
 * an overlay the user made by hand, sits on an image without any record;
 * removing that image, or merging another overlay into it, would break or
 * silently change it.  Overlays are made next to the image they sit on
 * (libvirt's default names, our revert overlays), so the image's own
 * directory is scanned.  Only the qcow2 header is read (magic, backing
 * file offset and size: a few bytes per file), never a whole image.
 */
#include "qp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Backing file named in a qcow2 header, resolved against the image's
 * directory and canonicalized; NULL if none or not qcow2. */
static char *backing_of(const char *dir, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    unsigned char h[20];
    char name[4097];
    char *res = NULL;
    if (pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && be32(h) == 0x514649fbu) {
        uint64_t off = be64(h + 8);
        uint32_t len = be32(h + 16);
        if (off && len && len < sizeof name &&
            pread(fd, name, len, (off_t)off) == (ssize_t)len) {
            name[len] = '\0';
            char *full = name[0] == '/' ? qp_strdup(name) : qp_printf("%s/%s", dir, name);
            res = full ? qp_realpath_or_copy(full) : NULL;
            free(full);
        }
    }
    close(fd);
    return res;
}

int qp_image_dependents(qp_ctx *ctx, const char *image, qp_strv *out)
{
    char *canon = qp_realpath_or_copy(image);
    if (!canon)
        return qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
    char *slash = strrchr(canon, '/');
    char *dir = slash && slash != canon ? qp_printf("%.*s", (int)(slash - canon), canon)
                                        : qp_strdup("/");
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        int e = errno;
        free(dir);
        free(canon);
        return e == ENOENT ? 0 : qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e,
                                                "cannot scan the directory of '%s'", image);
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
            continue;
        char *p = qp_printf("%s/%s", dir, de->d_name);
        struct stat st;
        if (p && lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 20) {
            char *b = backing_of(dir, p);
            if (b && !strcmp(b, canon) && qp_strv_add(out, p) < 0)
                r = qp_error(ctx, SB_ERR_NO_MEMORY, "out of memory");
            free(b);
        }
        free(p);
    }
    closedir(d);
    free(dir);
    free(canon);
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
