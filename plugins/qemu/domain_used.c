/* qemu plugin - images the domain has used.
 *
 * A revert, delete or internal delete changes only images the domain
 * uses (qp_domain_images): a redefined snapshot may name any image, and
 * its delete must not take a tag off, or merge into, someone else's.  But
 * a definition may stop naming an image the domain did use: a revert to a
 * snapshot taken before a disk was added drops that disk.  The snapshots
 * taken with it then named an image "the domain does not use", and could
 * be neither reverted to nor deleted.  So when a stored definition stops
 * naming an image that is still there and is not one of the plugin's own
 * files (those count anyway), the domain's log records it as used
 * ("used", domain_log.c), and qp_domain_images counts it and its chain.
 * The record is best effort and synced with the call's other records: a
 * lost one only brings back that refusal. */
#include "domain_log.h"
#include "snapshot_common.h"

#include <stdlib.h>
#include <string.h>

/* Canonical sources of the stored definition's disks (empty drives
 * left out). */
static int sources_of(const qp_domain *d, qp_strv *out)
{
    for (size_t i = 0; d && i < d->ndisks; i++)
        if (d->disks[i].source && qp_strv_add_canon(out, d->disks[i].source) < 0)
            return -1;
    return 0;
}

/* Called on every store of a definition: the old one is the kept parse
 * (qp_domain_load's memo), the new one is scanned for its <source>
 * values, not parsed, and the plugin's list is read only when a source
 * was dropped.  (A value the scan could not read makes it keep a source
 * the domain still uses as "used": harmless, it is one.) */
void qp_used_note_dropped(qp_ctx *ctx, const char *name, const char *new_xml)
{
    qp_ctx quiet = *ctx;
    quiet.api = NULL;
    qp_domain *old = NULL;
    qp_strv before = {0}, values = {0}, after = {0}, dropped = {0}, ours = {0};
    if (qp_domain_load(&quiet, name, &old) < 0 || sources_of(old, &before) < 0 ||
        qp_xml_source_values(&quiet, new_xml, &values) < 0)
        goto out;
    for (size_t i = 0; i < values.n; i++)
        if (qp_strv_add_canon(&after, values.v[i]) < 0)
            goto out;
    for (size_t i = 0; i < before.n; i++)
        if (!qp_strv_has(&after, before.v[i]) && qp_file_exists(before.v[i]) &&
            qp_strv_add(&dropped, before.v[i]) < 0)
            goto out;
    if (!dropped.n || qp_ours_load(&quiet, name, &ours) < 0)
        goto out;
    /* the plugin's own files count anyway */
    for (size_t i = dropped.n; i-- > 0;)
        if (qp_strv_has(&ours, dropped.v[i])) {
            free(dropped.v[i]);
            dropped.v[i] = dropped.v[--dropped.n];
            dropped.v[dropped.n] = NULL;
        }
    if (dropped.n) {
        qp_dlog_rec rec = {.used = &dropped, .sync_at_end = 1};
        (void)qp_dlog_append(&quiet, name, &rec);
    }
out:
    qp_strv_free(&before);
    qp_strv_free(&values);
    qp_strv_free(&after);
    qp_strv_free(&dropped);
    qp_strv_free(&ours);
    qp_domain_free(old);
}

int qp_used_load(qp_ctx *ctx, const char *name, qp_strv *out)
{
    return qp_dlog_list(ctx, name, 1, out);
}
