/* RelaxNG validation against docs/schemas/domainsnapshot.rng. */
#ifndef SB_XML_SCHEMA_H
#define SB_XML_SCHEMA_H

#include <libxml/tree.h>

/* Directory the schema is loaded from: $SB_SCHEMA_DIR if set, else the
 * installed datadir if the file exists there, else the source tree.
 * Returns a malloc'd path of domainsnapshot.rng, or NULL on OOM. */
char *sb_schema_path(void);

/* Validate doc.  The schema is compiled on first use and cached for the
 * life of the process (thread-safe).  Errors: XML_INVALID_SCHEMA naming the
 * first schema error and its line; INTERNAL_ERROR if the schema cannot be
 * loaded (message names the file). */
int sb_schema_validate(xmlDoc *doc, const char *source_name);

#endif
