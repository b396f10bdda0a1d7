/* Shared between snap_parse.c and snap_parse_disk.c only. */
#ifndef SB_XML_SNAP_PARSE_INTERNAL_H
#define SB_XML_SNAP_PARSE_INTERNAL_H

#include "xml/snapdef.h"

struct sb_parse_ctx {
    const char *source; /* input name for messages, may be NULL */
    unsigned flags;     /* enum sb_snap_parse_flags */
    /* set when the parsed document is the parse's to keep: the <domain>
     * to move out of it afterwards instead of copying it (snap_parse.c) */
    xmlNode **take_domain;
};

/* Parse the <disk> children of <disks> or <revertDisks>. */
int sb_snap_parse_disks(const struct sb_parse_ctx *ctx, const xmlNode *parent,
                        sb_snapdisk **out, size_t *nout);

/* libvirt's virParseScaledValue for <max_size unit='...'>N</max_size>. */
int sb_snap_parse_scaled(const struct sb_parse_ctx *ctx, const xmlNode *node,
                         unsigned long long *out, bool *present);

#endif
