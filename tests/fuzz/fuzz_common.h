/* Shared bits of the libFuzzer harnesses (tests/fuzz/README.md). */
#ifndef SB_FUZZ_COMMON_H
#define SB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapbroker/errors.h"

#ifdef SB_FUZZ_LIBXML
#include <libxml/xmlerror.h>
/* The library never prints: anything reaching libxml2's global handlers
 * (whose default prints to stderr) is a bug. */
static void fuzz_libxml_structured(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    fprintf(stderr, "FUZZ BUG: libxml2 error reached the global handler: %s\n",
            err && err->message ? err->message : "?");
    abort();
}

static void fuzz_forbid_libxml_output(void)
{
    xmlSetStructuredErrorFunc(NULL, fuzz_libxml_structured);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                                        \
    do {                                                                      \
        fprintf(stderr, "FUZZ BUG %s:%d: ", __FILE__, __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
        abort();                                                              \
    } while (0)

/* "Bad input gets a clear error": a failure must leave a class and text. */
static inline void fuzz_check_error(int rc, const char *what)
{
    const sb_error *e = sb_error_last();
    if (rc >= 0)
        return;
    if (!e || e->code == SB_OK || e->message[0] == '\0')
        FUZZ_FAIL("%s failed (rc %d) without an error message", what, rc);
    if (rc != -e->code)
        FUZZ_FAIL("%s returned %d but the error class is %d (%s)", what, rc, e->code,
                  e->message);
}

#endif
