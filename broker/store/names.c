/* Name rules for anything that may become a file name (see names.h). */
#include "store/names.h"

#include <stdint.h>
#include <string.h>

#include "core/error.h"

int sb_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0; /* continuation byte, C0/C1 overlong lead, or > U+10FFFF */
        }
        if (len - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0; /* overlong, out of range, or a UTF-16 surrogate */
        i += need + 1;
    }
    return 1;
}

/* NULL when fine, else the reason. */
static const char *why_bad(const char *name)
{
    if (!name || !*name)
        return "it is empty";
    size_t len = strlen(name);
    if (len > SB_NAME_MAX)
        return "it is longer than 255 bytes";
    if (name[0] == '.')
        return "it starts with '.'";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '/')
            return "it contains '/'";
        if (*p < 0x20 || *p == 0x7f)
            return "it contains a control character";
    }
    if (!sb_utf8_valid(name, len))
        return "it is not valid UTF-8";
    return NULL;
}

/* A refused name is quoted in the message only when that is safe to print:
 * short, without control characters, valid UTF-8. */
static int quotable(const char *name)
{
    if (!name || !*name || strlen(name) > 64 || !sb_utf8_valid(name, strlen(name)))
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int sb_name_check_snapshot(const char *name)
{
    const char *why = why_bad(name);
    if (!why)
        return 0;
    if (quotable(name))
        return sb_error_set(SB_ERR_XML_DETAIL, "invalid snapshot name '%s': %s", name, why);
    return sb_error_set(SB_ERR_XML_DETAIL, "invalid snapshot name: %s", why);
}

int sb_name_check_path_component(const char *what, const char *name)
{
    const char *why = why_bad(name);
    if (!why)
        return 0;
    if (quotable(name))
        return sb_error_set(SB_ERR_INVALID_ARG, "invalid %s name '%s': %s", what, name, why);
    return sb_error_set(SB_ERR_INVALID_ARG, "invalid %s name: %s", what, why);
}
