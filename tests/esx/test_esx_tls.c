/* The esx plugin over HTTPS against the vSphere simulator serving a
 * certificate signed by a CA made at its start (tests/esx-sim/tlscert.go):
 * verification on by default, a CA file, a pinned thumbprint (SHA-256 or
 * SHA-1) checked during the handshake, and the explicit opt-out.  A
 * refused certificate must never see the credentials: the simulator's
 * request log shows no Login then. */
#include "esx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int group_setup(void **state)
{
    static const char *const args[] = { "-vm", "1", "-tls", NULL };
    (void)state;
    /* the default connection (system CAs) must fail: start with the CA */
    if (esxsim_start(&fx.sim, args) < 0)
        return -1;
    snprintf(fx.state_dir, sizeof(fx.state_dir), "%s/state", fx.sim.dir);
    setenv("SNAPBROKER_STATE_DIR", fx.state_dir, 1);
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    esx_fx_stop();
    return 0;
}

static int connect_group(const char *extra)
{
    char group[1024];
    snprintf(group, sizeof(group), "user = \"root\"; password = \"secret\"; %s", extra);
    sb_error_clear();
    free(esxsim_requests(&fx.sim));
    return esx_fx_connect(NULL, group);
}

static void no_login_sent(void)
{
    char *reqs = requests();
    assert_int_equal(esxsim_count(reqs, "Login"), 0);
    assert_null(strstr(reqs, "secret"));
    free(reqs);
}

static void list_works(void)
{
    char **names = NULL;
    size_t n = 0;
    if (sb_domain_list(&names, &n, fx.c, 0) != 0)
        fail_msg("list: %s", sb_error_last()->message);
    assert_int_equal(n, 1);
    sb_names_free(names, n);
}

static void verified_by_default(void **state)
{
    (void)state;
    expect_error(connect_group(""), SB_ERR_CONFIG, "is not trusted");
    /* the message shows what to pin after checking it */
    assert_non_null(strstr(sb_error_last()->message, fx.sim.thumbprint));
    no_login_sent();
}

static void trusted_ca(void **state)
{
    char extra[700];
    (void)state;
    snprintf(extra, sizeof(extra), "ca_file = \"%s\";", fx.sim.ca);
    if (connect_group(extra) != 0)
        fail_msg("connect: %s", sb_error_last()->message);
    list_works();
}

static void pinned(void **state)
{
    char extra[300], lower[128];
    (void)state;
    snprintf(extra, sizeof(extra), "thumbprint = \"%s\";", fx.sim.thumbprint);
    if (connect_group(extra) != 0)
        fail_msg("SHA-256 pin: %s", sb_error_last()->message);
    list_works();
    snprintf(extra, sizeof(extra), "thumbprint = \"sha1:%s\";", fx.sim.thumbprint_sha1);
    if (connect_group(extra) != 0)
        fail_msg("SHA-1 pin: %s", sb_error_last()->message);
    list_works();
    /* lower case, no colons */
    size_t k = 0;
    for (const char *p = fx.sim.thumbprint; *p && k + 1 < sizeof(lower); p++)
        if (*p != ':')
            lower[k++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    lower[k] = '\0';
    snprintf(extra, sizeof(extra), "thumbprint = \"%s\";", lower);
    assert_int_equal(connect_group(extra), 0);
}

static void pin_mismatch(void **state)
{
    char extra[300], wrong[128];
    (void)state;
    snprintf(wrong, sizeof(wrong), "%s", fx.sim.thumbprint);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    snprintf(extra, sizeof(extra), "thumbprint = \"%s\";", wrong);
    expect_error(connect_group(extra), SB_ERR_CONFIG, "not the pinned one");
    assert_non_null(strstr(sb_error_last()->message, fx.sim.thumbprint));
    no_login_sent();
    expect_error(connect_group("thumbprint = \"AB:CD\";"), SB_ERR_CONFIG,
                 "not a SHA-256 (32 bytes) or SHA-1 (20 bytes) fingerprint");
}

static void opt_out(void **state)
{
    (void)state;
    free(drain_log());
    if (connect_group("tls_verify = false;") != 0)
        fail_msg("connect: %s", sb_error_last()->message);
    list_works();
    char *log = drain_log();
    assert_non_null(strstr(log, "certificate verification is off"));
    free(log);
}

/* A plain-http URI to an https endpoint fails without sending anything
 * readable, and says so. */
static void wrong_transport(void **state)
{
    char uri[300];
    (void)state;
    snprintf(uri, sizeof(uri), "esx+http://%s/", fx.sim.hostport);
    sb_error_clear();
    int rc = esx_fx_connect(uri, "user = \"root\"; password = \"secret\";");
    assert_int_not_equal(rc, 0);
    assert_int_equal(sb_error_last()->code, SB_ERR_HYPERVISOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verified_by_default),
        cmocka_unit_test(trusted_ca),
        cmocka_unit_test(pinned),
        cmocka_unit_test(pin_mismatch),
        cmocka_unit_test(opt_out),
        cmocka_unit_test(wrong_transport),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
