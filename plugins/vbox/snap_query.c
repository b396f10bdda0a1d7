/* vbox plugin - listings: libvirt's list flags and filters (spec §5.3,
 * §9.1) computed over VirtualBox's tree.  Snapshots are listed
 * depth-first, parents before their children, siblings in the order of
 * the settings file (oldest first).  VirtualBox keeps the metadata, not
 * libvirt: every snapshot counts as having no libvirt metadata (METADATA
 * alone lists nothing); and it keeps the data in images it manages
 * itself: every snapshot is internal (snap_xml.c). */
#include "vb.h"

#include <stdlib.h>
#include <string.h>

static int match(const vb_machine *m, size_t i, unsigned f)
{
    const vb_snap *s = &m->snaps[i];
    if ((f & SB_SNAPSHOT_LIST_LEAVES) && s->nchildren)
        return 0;
    if ((f & SB_SNAPSHOT_LIST_NO_LEAVES) && !s->nchildren)
        return 0;
    if (f & SB_SNAPSHOT_FILTERS_STATUS) {
        /* online snapshots (a saved state) are "running": ACTIVE */
        int active = s->state_file != NULL;
        if (!active && !(f & SB_SNAPSHOT_LIST_INACTIVE))
            return 0;
        if (active && !(f & SB_SNAPSHOT_LIST_ACTIVE))
            return 0;
    }
    /* VirtualBox keeps every snapshot in its own images: internal */
    if ((f & SB_SNAPSHOT_FILTERS_LOCATION) == SB_SNAPSHOT_LIST_EXTERNAL)
        return 0;
    return 1;
}

int vb_snapshot_filter(vb_ctx *ctx, const vb_machine *m, long from, unsigned flags,
                       size_t **out, size_t *n)
{
    size_t *v = malloc((m->nsnaps + 1) * sizeof *v), k = 0;
    unsigned f = flags & ~(unsigned)(SB_SNAPSHOT_LIST_ROOTS | SB_SNAPSHOT_LIST_TOPOLOGICAL);
    int descend = from >= 0 ? (flags & SB_SNAPSHOT_LIST_DESCENDANTS) != 0
                            : (flags & SB_SNAPSHOT_LIST_ROOTS) == 0;

    *out = NULL;
    *n = 0;
    if (!v)
        return vb_oom(ctx);
    /* the hypervisor keeps the metadata: METADATA alone matches nothing */
    if ((f & SB_SNAPSHOT_FILTERS_METADATA) == SB_SNAPSHOT_LIST_METADATA) {
        *out = v;
        return 0;
    }
    f &= ~(unsigned)SB_SNAPSHOT_FILTERS_METADATA;
    /* document order is depth-first, parents first: the descendants of a
     * snapshot are the nbelow entries after it, its children the first
     * of each run in there */
    size_t first = from < 0 ? 0 : (size_t)from + 1;
    size_t end = from < 0 ? m->nsnaps : first + m->snaps[from].nbelow;
    for (size_t i = first; i < end; i = descend ? i + 1 : i + m->snaps[i].nbelow + 1)
        if (match(m, i, f))
            v[k++] = i;
    *out = v;
    *n = k;
    return 0;
}
