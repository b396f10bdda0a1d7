/* The per-thread error: set, prefix, errno text, clear. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "core/error.h"

static void set_returns_negative_class(void **state)
{
    (void)state;
    sb_error_clear();
    assert_false(sb_error_is_set());
    int rc = sb_error_set(SB_ERR_XML_ERROR, "missing element <%s>", "name");
    assert_int_equal(rc, -SB_ERR_XML_ERROR);
    assert_int_equal(sb_error_last()->code, SB_ERR_XML_ERROR);
    assert_string_equal(sb_error_last()->message, "missing element <name>");
}

static void prefix_keeps_class(void **state)
{
    (void)state;
    sb_error_set(SB_ERR_CONFIG, "unknown key 'x'");
    sb_error_prefix("%s:%d", "a.conf", 3);
    assert_int_equal(sb_error_last()->code, SB_ERR_CONFIG);
    assert_string_equal(sb_error_last()->message, "a.conf:3: unknown key 'x'");
}

static void errno_text(void **state)
{
    (void)state;
    sb_error_set_errno(SB_ERR_SYSTEM_ERROR, ENOENT, "cannot open '%s'", "/x");
    assert_non_null(strstr(sb_error_last()->message, "cannot open '/x': "));
    assert_non_null(strstr(sb_error_last()->message, strerror(ENOENT)));
    sb_error_clear();
    assert_int_equal(sb_error_last()->code, SB_OK);
    assert_string_equal(sb_error_last()->message, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_returns_negative_class),
        cmocka_unit_test(prefix_keeps_class),
        cmocka_unit_test(errno_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
