/* Which names may become storage: snapshot, domain and host names.
 *
 * Domain and host names become directory names under the state dir;
 * snapshot names are stored inside the log today, but follow the same rule
 * (the rule of libvirt's qemu driver) so that a store can always be exported
 * as one file per snapshot and so names stay printable.
 *
 * Refused: empty, longer than 255 bytes (NAME_MAX), containing '/',
 * starting with '.', containing a control character (< 0x20 or 0x7f), or
 * not valid UTF-8 (overlong forms and surrogates included). */
#ifndef SB_STORE_NAMES_H
#define SB_STORE_NAMES_H

#include <stddef.h>

#define SB_NAME_MAX 255

/* SB_ERR_XML_DETAIL (libvirt's class for a bad qemu snapshot name). */
int sb_name_check_snapshot(const char *name);
/* SB_ERR_INVALID_ARG; what is "domain" or "host", for the message. */
int sb_name_check_path_component(const char *what, const char *name);
/* 1 if s[0..len) is valid UTF-8, else 0. */
int sb_utf8_valid(const char *s, size_t len);

#endif
