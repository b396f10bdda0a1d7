/* snapbroker - snapshot XML normalization (the engine behind
 * `snapbroker xml-normalize`).
 *
 * Turns a <domainsnapshot> document plus options into the canonical,
 * normalized XML the broker stores and prints.  Semantics: docs/format.md.
 */
#ifndef SNAPBROKER_XML_H
#define SNAPBROKER_XML_H

#include <stddef.h>

#include "snapbroker/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options.  Zero-initialise, then set what you need: all-zero means
 * "create a snapshot of a running guest, qemu's policy". */
typedef struct sb_normalize_opts {
    unsigned redefine : 1;  /* SB_SNAPSHOT_CREATE_REDEFINE semantics */
    unsigned running : 1;   /* guest is active (the default unless offline) */
    unsigned offline : 1;   /* guest is shut off; excludes running */
    unsigned disk_only : 1; /* SB_SNAPSHOT_CREATE_DISK_ONLY */
    unsigned validate : 1;  /* SB_SNAPSHOT_CREATE_VALIDATE: schema check first */
    unsigned secure : 1;    /* SB_SNAPSHOT_XML_SECURE: keep secrets in <domain> */
    long long creation_time; /* create mode: 0 = now (time(NULL)) */
    const char *domain_xml;  /* domain definition; may be NULL.  Create mode:
                                disks are aligned with it and it is embedded.
                                Redefine: the domain redefined for, checked
                                as snapshot-create --redefine checks it (the
                                snapshot's own <domain> must carry its uuid;
                                without one: "missing domain"). */
    /* Alignment policy (a plugin's capabilities).  0 = the spec's rule:
     * external for disk-only/external snapshots, else internal. */
    int default_location;         /* enum sb_snapshot_location */
    unsigned mixed_locations : 1; /* turn off "all internal or nothing" */
    unsigned force_default : 1;   /* unlisted disks ignore the domain's snapshot= */
    unsigned no_override : 1;     /* explicit disk modes must equal the domain's */
    unsigned no_disk_entries : 1; /* refuse any <disks> entry */
    unsigned readonly_no : 1;     /* unlisted read-only disks get 'no' */
    const char *plugin_name;      /* named in policy errors; may be NULL */
} sb_normalize_opts;

/* Parse, normalize and format one snapshot document.
 * xml/len: the document (need not be NUL-terminated).
 * source_name: names the input in error messages ("file.xml:12: ..."),
 * may be NULL.  opts may be NULL (all zero).
 * On success returns 0 and *out_xml is a malloc'd string (free()).
 * On failure returns -SB_ERR_* and sb_error_last() says what is at fault. */
SB_API int sb_xml_normalize(const char *xml, size_t len, const char *source_name,
                            const sb_normalize_opts *opts, char **out_xml);

#ifdef __cplusplus
}
#endif
#endif
