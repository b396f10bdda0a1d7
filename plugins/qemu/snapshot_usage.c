/* qemu plugin - ABI 1.1 snapshot_usage: the space one snapshot holds,
 * for the fleet view (docs/fleet.md).
 *
 *   external disk   the allocated size of the overlay the snapshot made
 *                   (st_blocks: what it takes on the host's storage; it
 *                   holds every write since the snapshot, and a delete
 *                   merges it away)
 *   internal disk   what deleting the image's snapshot tag would free:
 *                   the clusters only that snapshot references, read from
 *                   the image's tables (qcow2_usage.c)
 *   memory          an external memory file's allocated size; internal
 *                   memory state is inside the image's clusters above, and
 *                   its size comes from the image's snapshot table
 *
 * Nothing is locked or changed: the numbers describe the files as they
 * are (while the guest runs they move). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "qcow2_usage.h"
#include "qp.h"
#include "snapshot_common.h"

static int allocated(qp_ctx *ctx, const char *path, unsigned long long *out)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return qp_error_errno(ctx, SB_ERR_SYSTEM_ERROR, errno, "cannot look at '%s'", path);
    *out = (unsigned long long)st.st_blocks * 512u;
    return 0;
}

int qp_snapshot_usage(qp_ctx *ctx, const char *snapshot_xml, struct sb_snapshot_usage *out)
{
    struct sb_snapshot_view *v = NULL;
    qp_domain *dom = NULL;
    unsigned long long bytes = 0, mem = 0, n = 0;
    const char *where = NULL;
    int r;

    if (!snapshot_xml)
        return qp_error(ctx, SB_ERR_INVALID_ARG, "snapshot_usage needs the stored definition");
    if ((r = qp_view(ctx, snapshot_xml, &v)) < 0)
        return r;
    if (v->memory == SB_LOCATION_EXTERNAL && v->memory_file) {
        if ((r = allocated(ctx, v->memory_file, &n)) < 0)
            goto out;
        bytes += n;
        mem += n;
        where = v->memory_file;
    }
    for (size_t i = 0; i < v->ndisks && r == 0; i++) {
        const struct sb_snapshot_disk_view *d = &v->disks[i];
        if (d->snapshot == SB_LOCATION_EXTERNAL && d->source) {
            if ((r = allocated(ctx, d->source, &n)) == 0) {
                bytes += n;
                where = where ? where : d->source;
            }
        } else if (d->snapshot == SB_LOCATION_INTERNAL) {
            const qp_disk *k;
            const char *image;
            uint64_t b = 0, vm = 0;
            char err[256];
            if (!dom && (r = qp_domain_from_view(ctx, v, &dom)) < 0)
                break;
            /* the image the disk of the snapshot's own <domain> uses */
            if (!(k = qp_domain_disk(dom, d->name)) || !(image = k->source))
                continue; /* an empty drive */
            int e = qp_qcow2_snapshot_bytes(image, v->name, &b, &vm, err, sizeof err);
            if (e < 0) {
                r = qp_error(ctx, SB_ERR_OPERATION_FAILED, "internal snapshot '%s' of '%s': %s",
                             v->name, image, err);
                break;
            }
            bytes += b;
            mem += vm; /* QEMU keeps it in one image: the others have 0 */
            where = where ? where : image;
        }
    }
    if (r == 0) {
        out->bytes = bytes;
        out->known_bytes = 1;
        if (out->struct_size >= offsetof(struct sb_snapshot_usage, location) +
                                    sizeof(out->location)) {
            out->memory_bytes = mem;
            snprintf(out->location, sizeof(out->location), "%s", where ? where : "");
        }
    }
out:
    qp_domain_free(dom);
    qp_view_free(ctx, v);
    return r;
}
