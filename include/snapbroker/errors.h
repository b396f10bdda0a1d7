/* snapbroker - error classes.
 *
 * One enum for the whole product.  The classes that mirror libvirt's keep
 * libvirt's numeric value (virErrorNumber, virterror.h), so a caller that
 * knows libvirt can map them 1:1; broker-only classes start at 1000.
 *
 * Convention: every fallible function returns 0 (or a count) on success and
 * a negative class (-SB_ERR_*) on failure.  The message that names the
 * element, attribute, flag, disk or file at fault is kept per thread and
 * read with sb_error_last().  The library never prints.
 */
#ifndef SNAPBROKER_ERRORS_H
#define SNAPBROKER_ERRORS_H

#include <stddef.h>

#include "snapbroker/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sb_err {
    SB_OK = 0,
    SB_ERR_INTERNAL_ERROR = 1,         /* bug, or a required internal item missing */
    SB_ERR_NO_MEMORY = 2,
    SB_ERR_NO_SUPPORT = 3,             /* the plugin lacks the operation */
    SB_ERR_INVALID_ARG = 8,            /* bad argument, flag or flag combination */
    SB_ERR_OPERATION_FAILED = 9,       /* e.g. duplicate snapshot name */
    SB_ERR_XML_ERROR = 27,             /* malformed or inconsistent XML */
    SB_ERR_OPERATION_DENIED = 29,      /* read-only connection */
    SB_ERR_XML_DETAIL = 35,            /* not well-formed XML; bad snapshot name */
    SB_ERR_SYSTEM_ERROR = 38,          /* a system call failed (errno in message) */
    SB_ERR_NO_DOMAIN = 42,             /* no such domain */
    SB_ERR_OPERATION_INVALID = 55,     /* not valid in the current state */
    SB_ERR_CONFIG_UNSUPPORTED = 67,    /* valid XML, unsupported configuration */
    SB_ERR_OPERATION_TIMEOUT = 68,
    SB_ERR_NO_DOMAIN_SNAPSHOT = 72,    /* no such snapshot / no current / no parent */
    SB_ERR_SNAPSHOT_REVERT_RISKY = 77, /* needs FORCE, or cannot be made safe */
    SB_ERR_OPERATION_UNSUPPORTED = 84, /* this backend cannot do this */
    SB_ERR_XML_INVALID_SCHEMA = 92,    /* VALIDATE: document does not match the schema */

    /* broker classes */
    SB_ERR_PLUGIN_LOAD = 1000,         /* dlopen/dlsym failed, entry refused */
    SB_ERR_PLUGIN_ABI = 1001,          /* plugin table does not fit our ABI */
    SB_ERR_CONFIG = 1002,              /* configuration file or environment */
    SB_ERR_HYPERVISOR = 1003,          /* the hypervisor reported a failure */
    SB_ERR_STORE = 1004                /* metadata store damaged or locked */
} sb_err;

/* The last error of this thread.  code is SB_OK when none is set.
 * message names what is at fault; it is empty only when code is SB_OK. */
typedef struct sb_error {
    int code;
    char message[1024];
} sb_error;

SB_API const sb_error *sb_error_last(void);

/* Clear this thread's error. */
SB_API void sb_error_clear(void);

/* "XML_ERROR", "INVALID_ARG", ... for a class; "UNKNOWN" for others. */
SB_API const char *sb_error_class_name(int code);

/* The escaping applied to every message the library makes (errors and log
 * lines): control characters, C1 controls and bytes that are not UTF-8
 * become \n, \r, \t or \xHH, so a message is always one line and a name
 * in it can neither forge another line nor drive a terminal.  Backslashes
 * are kept, so escaping twice changes nothing.  For programs that print
 * messages of their own.  Writes at most size bytes (with the NUL, never
 * splitting an escape or a character) into dst, which must not overlap
 * src; returns dst. */
SB_API char *sb_escape_controls(char *dst, size_t size, const char *src);

#ifdef __cplusplus
}
#endif
#endif
