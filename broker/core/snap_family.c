/* Children and descendant counts of hypervisor-owned snapshots for a
 * plugin that cannot count them itself (no listing from a snapshot, as
 * libvirt's VirtualBox driver, or no DESCENDANTS filter): built from the
 * domain-level listing and one parent lookup per snapshot (snap.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"

#define NO_PARENT SIZE_MAX

static size_t index_of(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return NO_PARENT;
}

/* Every snapshot adds one to each of its ancestors' descendants; a walk
 * longer than the tree means a plugin that reports a cycle: stop there. */
static void count(struct sb_snap_family *f, const size_t *parent)
{
    for (size_t i = 0; i < f->n; i++) {
        size_t p = parent[i], steps = 0;
        if (p != NO_PARENT)
            f->children[p]++;
        for (; p != NO_PARENT && steps < f->n; p = parent[p], steps++)
            f->descendants[p]++;
    }
}

int sb_snap_family_load(const sb_dom *d, struct sb_snap_family *f)
{
    size_t *parent = NULL;
    int rc;

    memset(f, 0, sizeof(*f));
    if ((rc = sb_snap__list(d, NULL, 0, &f->names, &f->n)) < 0)
        return rc;
    parent = calloc(f->n + 1, sizeof(*parent));
    f->children = calloc(f->n + 1, sizeof(*f->children));
    f->descendants = calloc(f->n + 1, sizeof(*f->descendants));
    if (!parent || !f->children || !f->descendants)
        rc = sb_error_oom();
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        char *p = NULL;
        int prc = sb_snap__parent(d, f->names[i], &p);
        /* a root has no parent: NO_DOMAIN_SNAPSHOT, or OPERATION_INVALID
         * from a plugin that follows libvirt's VirtualBox driver */
        parent[i] = prc == 0 ? index_of(f->names, f->n, p) : NO_PARENT;
        if (prc < 0 && prc != -SB_ERR_NO_DOMAIN_SNAPSHOT && prc != -SB_ERR_OPERATION_INVALID)
            rc = prc;
        free(p);
    }
    if (rc == 0)
        count(f, parent);
    free(parent);
    if (rc < 0)
        sb_snap_family_free(f);
    return rc;
}

int sb_snap_family_counts(const struct sb_snap_family *f, const char *name, size_t *children,
                          size_t *descendants)
{
    size_t i = index_of(f->names, f->n, name);
    if (i == NO_PARENT)
        return sb_error_set(SB_ERR_NO_DOMAIN_SNAPSHOT, "no snapshot '%s' in the listing", name);
    *children = f->children[i];
    *descendants = f->descendants[i];
    return 0;
}

void sb_snap_family_free(struct sb_snap_family *f)
{
    sb_names_free(f->names, f->n);
    free(f->children);
    free(f->descendants);
    memset(f, 0, sizeof(*f));
}
