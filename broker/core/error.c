/* Per-thread last error.  Thread-local storage keeps the library usable from
 * several threads without a context argument on every helper; the public
 * API reads it back with sb_error_last(). */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local sb_error last_error;

const sb_error *sb_error_last(void)
{
    return &last_error;
}

void sb_error_clear(void)
{
    last_error.code = SB_OK;
    last_error.message[0] = '\0';
}

int sb_error_is_set(void)
{
    return last_error.code != SB_OK;
}

int sb_error_setv(int code, const char *fmt, va_list ap)
{
    if (code == SB_OK)
        code = SB_ERR_INTERNAL_ERROR;
    last_error.code = code;
    vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    return -code;
}

int sb_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_error_setv(code, fmt, ap);
    va_end(ap);
    return rc;
}

int sb_error_set_errno(int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_error_setv(code, fmt, ap);
    va_end(ap);
    size_t len = strlen(last_error.message);
    snprintf(last_error.message + len, sizeof(last_error.message) - len, ": %s",
             strerror(errnum));
    return rc;
}

void sb_error_prefix(const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof(last_error.message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_error.message, sizeof(old));
    /* Truncation is fine: the message stays a valid, shorter string. */
    int n = snprintf(last_error.message, sizeof(last_error.message), "%s: ", prefix);
    if (n > 0 && (size_t)n < sizeof(last_error.message))
        snprintf(last_error.message + n, sizeof(last_error.message) - (size_t)n, "%.*s",
                 (int)(sizeof(last_error.message) - (size_t)n - 1), old);
}

int sb_error_oom(void)
{
    return sb_error_set(SB_ERR_NO_MEMORY, "out of memory");
}

const char *sb_error_class_name(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case SB_OK: return "OK";
    case SB_ERR_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case SB_ERR_NO_MEMORY: return "NO_MEMORY";
    case SB_ERR_NO_SUPPORT: return "NO_SUPPORT";
    case SB_ERR_INVALID_ARG: return "INVALID_ARG";
    case SB_ERR_OPERATION_FAILED: return "OPERATION_FAILED";
    case SB_ERR_XML_ERROR: return "XML_ERROR";
    case SB_ERR_OPERATION_DENIED: return "OPERATION_DENIED";
    case SB_ERR_XML_DETAIL: return "XML_DETAIL";
    case SB_ERR_SYSTEM_ERROR: return "SYSTEM_ERROR";
    case SB_ERR_NO_DOMAIN: return "NO_DOMAIN";
    case SB_ERR_OPERATION_INVALID: return "OPERATION_INVALID";
    case SB_ERR_CONFIG_UNSUPPORTED: return "CONFIG_UNSUPPORTED";
    case SB_ERR_OPERATION_TIMEOUT: return "OPERATION_TIMEOUT";
    case SB_ERR_NO_DOMAIN_SNAPSHOT: return "NO_DOMAIN_SNAPSHOT";
    case SB_ERR_SNAPSHOT_REVERT_RISKY: return "SNAPSHOT_REVERT_RISKY";
    case SB_ERR_OPERATION_UNSUPPORTED: return "OPERATION_UNSUPPORTED";
    case SB_ERR_XML_INVALID_SCHEMA: return "XML_INVALID_SCHEMA";
    case SB_ERR_PLUGIN_LOAD: return "PLUGIN_LOAD";
    case SB_ERR_PLUGIN_ABI: return "PLUGIN_ABI";
    case SB_ERR_CONFIG: return "CONFIG";
    case SB_ERR_HYPERVISOR: return "HYPERVISOR";
    case SB_ERR_STORE: return "STORE";
    default: return "UNKNOWN";
    }
}
