/* Whole snapshot hierarchies: export and import (api_hier.c is the public
 * layer; docs/format.md, "Snapshot hierarchies", the document).
 *
 * Both are internal operations on an open sb_dom (api.h), like snap.h's,
 * and build on those: an export is the listing and each snapshot's XML,
 * an import is the single redefine applied to every entry (snap.h,
 * sb_snap__redefine_entry) inside one store transaction. */
#ifndef SB_CORE_HIER_H
#define SB_CORE_HIER_H

#include <stddef.h>
#include <stdint.h>

#include "core/api.h"

/* Order n snapshots so that every parent comes before its children: a
 * depth-first walk from the roots (a parent that is NULL or not among
 * names makes a root of this set), siblings in their input order, so a
 * store that prepends each new child rebuilds the same child order.
 * order receives n indices; out_parent (may be NULL) each one's parent
 * index, SB_HIER_NONE for a root of the set.  A name given twice or a
 * cycle: INVALID_ARG naming the snapshot. */
#define SB_HIER_NONE SIZE_MAX
int sb_hier_order(const char *const *names, const char *const *parents, size_t n,
                  size_t *order, size_t *out_parent);

/* The <domainsnapshots> document of d (from NULL) or of from's subtree;
 * flags: SB_SNAPSHOT_XML_SECURE.  *out is malloc'd. */
int sb_snap__export(const sb_dom *d, const char *from, unsigned flags, char **out);

/* An import request (sb_snapshot_import). */
struct sb_import_request {
    const char *xml;           /* the <domainsnapshots> document */
    size_t len;
    const char *source;        /* names the document in messages, or NULL */
    const sb_path_map *maps;   /* --map-path rewrites, applied to every entry */
    size_t nmaps;
    unsigned flags;            /* SB_SNAPSHOT_IMPORT_* */
    const char *domain_xml;    /* the live definition */
};

/* d opened with SB_DOM_METADATA_OPERATION.  *out_n: entries imported. */
int sb_snap__import(sb_dom *d, const struct sb_import_request *rq, size_t *out_n);

#endif
