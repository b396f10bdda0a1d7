/* Per-thread last error.  Thread-local storage keeps the library usable from
 * several threads without a context argument on every helper; the public
 * API reads it back with sb_error_last(). */
#include "core/error.h"

#include <limits.h>
#include <stdbool.h>
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

/* Length of the valid UTF-8 sequence at s (1..4), 0 if there is none:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

char *sb_escape_controls(char *dst, size_t size, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;

    if (size == 0)
        return dst;
    while (s && *s) {
        char esc[8];
        const char *piece = (const char *)s;
        size_t take = utf8_len(s), n = take;
        bool c1 = take == 2 && s[0] == 0xC2 && s[1] < 0xA0; /* U+0080..U+009F */
        if (take == 0 || c1 || (take == 1 && (*s < 0x20 || *s == 0x7F))) {
            if (*s == '\n' || *s == '\r' || *s == '\t')
                snprintf(esc, sizeof(esc), "\\%c", *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't');
            else
                snprintf(esc, sizeof(esc), "\\x%02X", *s);
            piece = esc;
            take = 1; /* a C1 control's second byte is escaped on its own turn */
            n = strlen(esc);
        }
        if (o + n >= size)
            break;
        memcpy(dst + o, piece, n);
        o += n;
        s += take;
    }
    dst[o] = '\0';
    return dst;
}

int sb_error_setv(int code, const char *fmt, va_list ap)
{
    char raw[sizeof(last_error.message)];

    if (code == SB_OK)
        code = SB_ERR_INTERNAL_ERROR;
    last_error.code = code;
    /* One place for every message: names and values from XML, files,
     * plugins and the command line are in it, and the CLI, logs and
     * programs read it as one line. */
    vsnprintf(raw, sizeof(raw), fmt, ap);
    sb_escape_controls(last_error.message, sizeof(last_error.message), raw);
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
             strerror(errnum)); /* strerror's text has no control characters */
    return rc;
}

void sb_error_prefix(const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof(last_error.message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(old, sizeof(old), fmt, ap);
    va_end(ap);
    sb_escape_controls(prefix, sizeof(prefix), old);
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
    if (code == INT_MIN) /* -INT_MIN overflows; it names no class */
        return "UNKNOWN";
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
