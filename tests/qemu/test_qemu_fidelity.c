/* tests/qemu - what the plugin records for a snapshot matches libvirt's
 * qemu driver (issue 8, item 18): a snapshot of a running guest carries
 * its persistent definition as <inactiveDomain> besides the live
 * <domain>, and a revert that leaves the guest shut off restores that
 * persistent definition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

/* xml with the first `from` after `after` replaced by `to`. */
static char *replace_after(const char *xml, const char *after, const char *from, const char *to)
{
    const char *a = strstr(xml, after);
    assert_non_null(a);
    const char *at = strstr(a, from);
    assert_non_null(at);
    return qp_printf("%.*s%s%s", (int)(at - xml), xml, to, at + strlen(from));
}

static void running_snapshot_records_inactive_domain(void **state)
{
    (void)state;
    e2e_define("ia");
    assert_int_equal(sb_domain_start(E.c, "ia", 0), 0);
    assert_int_equal(e2e_snap("ia", "d1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, "ia", "d1", 0), 0);
    assert_non_null(strstr(xml, "<inactiveDomain"));
    assert_non_null(strstr(strstr(xml, "<inactiveDomain"), "<name>ia</name>"));
    e2e_stop("ia");
    /* an offline snapshot has none, as in libvirt */
    assert_int_equal(e2e_snap("ia", "o1", NULL, 0), 0);
    char *off = NULL;
    assert_int_equal(sb_snapshot_get_xml(&off, E.c, "ia", "o1", 0), 0);
    assert_null(strstr(off, "<inactiveDomain"));
    free(off);

    /* the persistent definition differs from the live one (redefined so
     * here; libvirt has it when the config changed while running): the
     * disk-only snapshot's revert stops the guest and must restore it */
    char *redef = replace_after(xml, "<inactiveDomain", ">64<", ">128<");
    assert_int_equal(sb_snapshot_create_xml(NULL, E.c, "ia", redef, SB_SNAPSHOT_CREATE_REDEFINE),
                     0);
    free(redef);
    free(xml);
    assert_int_equal(sb_domain_start(E.c, "ia", 0), 0);
    assert_int_equal(e2e_revert("ia", "d1", 0), 0);
    assert_int_equal(e2e_state("ia"), SB_DOMAIN_SHUTOFF);
    char *def = NULL;
    assert_int_equal(sb_domain_get_xml(&def, E.c, "ia", 0), 0);
    assert_non_null(strstr(def, ">128<")); /* MiB: the persistent one */
    free(def);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(running_snapshot_records_inactive_domain),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
