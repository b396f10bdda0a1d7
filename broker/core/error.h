/* Internal error reporting: sets this thread's sb_error (errors.h). */
#ifndef SB_CORE_ERROR_H
#define SB_CORE_ERROR_H

#include <stdarg.h>
#include "snapbroker/errors.h"

/* Set this thread's error and return -code, so callers can write
 *     return sb_error_set(SB_ERR_XML_ERROR, "missing <name>");
 * The message is formatted printf-style; it should name the element,
 * attribute, flag, disk or file at fault. */
int sb_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sb_error_setv(int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Like sb_error_set, with ": <strerror(errnum)>" appended. */
int sb_error_set_errno(int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the current message with "context: " (keeps the class). */
void sb_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when an error is set on this thread. */
int sb_error_is_set(void);

/* Report out-of-memory; returns -SB_ERR_NO_MEMORY. */
int sb_error_oom(void);

#endif
