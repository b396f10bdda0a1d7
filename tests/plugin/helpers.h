/* Shared helpers of the plugin tests (cmocka). */
#ifndef SB_TEST_PLUGIN_HELPERS_H
#define SB_TEST_PLUGIN_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "test_rm_tree.h"
#include "sb_config.h"

#define FIXTURE_DIR SB_BUILD_ROOT "/tests/plugins/broken"
#define FIXTURE(name) FIXTURE_DIR "/" name ".so"
#define REF_DIR SB_BUILD_ROOT "/tests/plugins/reference"

/* rc must be -cls, the thread error must have class cls and contain every
 * given substring (NULL-terminated list). */
static inline void check_error_(int rc, int cls, const char *file, int line, ...)
{
    const sb_error *e = sb_error_last();
    const char *want;
    va_list ap;

    if (rc != -cls || e->code != cls) {
        print_error("%s:%d: rc %d class %s, expected %s; message: %s\n", file, line, rc,
                       sb_error_class_name(e->code), sb_error_class_name(cls), e->message);
        _fail(file, line);
    }
    va_start(ap, line);
    while ((want = va_arg(ap, const char *)) != NULL) {
        if (!strstr(e->message, want)) {
            print_error("%s:%d: message \"%s\" lacks \"%s\"\n", file, line, e->message, want);
            va_end(ap);
            _fail(file, line);
        }
    }
    va_end(ap);
}
#define check_error(rc, cls, ...) check_error_((rc), (cls), __FILE__, __LINE__, __VA_ARGS__, NULL)

/* A fresh empty directory under the build tree (tests must not touch
 * $HOME); caller removes it with rm_rf. */
static inline void make_tmpdir(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "%s/tests/plugin/tmp-%s-XXXXXX", SB_BUILD_ROOT, tag);
    assert_non_null(mkdtemp(buf));
}


#endif
