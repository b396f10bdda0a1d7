/* The one table of flag names of the product: libvirt's name of every
 * snapshot flag bit (public: sb_flag_name) and the short option word the
 * CLI and plugin-info use for it.  Messages name flags with
 * sb_flags_describe(): "VIR_DOMAIN_SNAPSHOT_CREATE_HALT|
 * VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY (0x18)"; bits no family defines
 * show as hex alone ("0x800"). */
#ifndef SB_PLUGIN_FLAG_NAMES_H
#define SB_PLUGIN_FLAG_NAMES_H

#include <stddef.h>

#include "snapbroker/snapbroker.h"

/* The short word of one bit ("disk-only", "roots/descendants"), NULL for
 * a bit the family does not define. */
const char *sb_flag_option(int family, unsigned bit);

/* flags of family as "NAME|NAME (0xBITS)" (see above) into buf (always
 * NUL-terminated; truncated if too small).  Returns buf. */
const char *sb_flags_describe(char *buf, size_t len, int family, unsigned flags);

#endif
