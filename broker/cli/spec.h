/* snapbroker CLI - `snapshot-create-as` XML: --memspec / --diskspec
 * parsing and the <domainsnapshot> document virsh 9.0 builds from them. */
#ifndef SB_CLI_SPEC_H
#define SB_CLI_SPEC_H

#include <stddef.h>

/* Split a spec at commas; ",," is a literal comma.  *out is a malloc'd
 * array of malloc'd strings (free with sb_spec_free).  -1 on ENOMEM. */
int sb_spec_split(char ***out, size_t *n, const char *spec);
void sb_spec_free(char **tokens, size_t n);

/* Build the document (malloc'd into *out).  name, description, memspec
 * may be NULL.  Syntax, as virsh's:
 *   memspec  [file=]PATH[,snapshot=TYPE]   (keys in any order)
 *   diskspec DISK[,snapshot=TYPE][,driver=TYPE][,stype=file|block][,file=PATH]
 * TYPE values are passed through: the library judges them.  On a syntax
 * error returns -1 with "unable to parse memspec: SPEC" (or diskspec) and
 * the reason in err. */
int sb_createas_xml(char **out, const char *name, const char *description,
                    const char *memspec, const char *const *diskspecs, size_t ndisks,
                    char *err, size_t errlen);

#endif
