/* sb_connect and the host services a plugin's open() uses:
 *   - a URI the plugin refuses leaves no state behind, even when open()
 *     called state_dir() first (before: `-c qemu:///sytem` left
 *     STATE/hosts/qemu_sytem/ and listed an empty host); nor does an
 *     accepted connection that put nothing in its directory;
 *   - a plugin that replaces a failed service's message with its own
 *     ("bad value", "the broker gave no state directory") still reports
 *     the cause: the key with FILE:LINE, the directory with errno.
 * The fixture "openstate" (tests/plugins/broken/fixture.c, FX_OPEN_STATE)
 * behaves that way on purpose; the qemu plugin is checked too. */
#include "helpers.h"

#include <grp.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapbroker/snapbroker.h"

#define PLAIN_UID 65534

static char dir[4096], state_dir[4200], conf[4200];

static int setup(void **state)
{
    (void)state;
    make_tmpdir(dir, sizeof(dir), "hoststate");
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
    snprintf(conf, sizeof(conf), "%s/snapbroker.conf", dir);
    setenv("SNAPBROKER_STATE_DIR", state_dir, 1);
    setenv("SNAPBROKER_PLUGIN_DIR", FIXTURE_DIR ":" SB_BUILD_ROOT "/plugins/qemu", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(dir);
    return 0;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* No cmocka assertion here: the forked child uses it too. */
static int connect_to(const char *host)
{
    sb_broker *b;
    sb_connection *c = NULL;
    int rc = sb_broker_new(&b, conf);
    if (rc < 0)
        return rc;
    rc = sb_connect(&c, b, host, 0);
    sb_disconnect(c);
    sb_broker_free(b);
    return rc;
}

static bool exists(const char *rel)
{
    char p[4400];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", state_dir, rel);
    return lstat(p, &st) == 0;
}

static void test_refused_uri_leaves_nothing(void **state)
{
    (void)state;
    write_conf("hosts = ( { name = \"ok\"; plugin = \"openstate\"; uri = \"openstate:///ok\"; } );\n");
    check_error(connect_to("openstate:///sytem"), SB_ERR_INVALID_ARG, "openstate:///sytem",
                "not implemented");
    assert_false(exists("")); /* not even the state directory */

    /* an accepted one that put nothing in the directory it was given
     * leaves nothing either (a command that only read) */
    assert_int_equal(connect_to("ok"), 0);
    assert_false(exists(""));

    /* one whose directory holds something keeps it */
    char p[4400];
    const char *parts[] = {"", "/hosts", "/hosts/ok", "/hosts/ok/plugin-openstate"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", state_dir, parts[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    snprintf(p, sizeof(p), "%s/hosts/ok/plugin-openstate/kept", state_dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(connect_to("ok"), 0);
    assert_true(exists("hosts/ok/plugin-openstate/kept"));

    /* a refused one beside it removes only what it made */
    check_error(connect_to("openstate:///other"), SB_ERR_INVALID_ARG, "not implemented");
    assert_false(exists("hosts/openstate_other"));
    assert_true(exists("hosts/ok/plugin-openstate"));
}

static void test_config_cause_kept(void **state)
{
    (void)state;
    write_conf("hosts = (\n"
               "  { name = \"f\"; plugin = \"openstate\"; uri = \"openstate:///ok\";\n"
               "    openstate = { n = \"seven\"; }; },\n"
               "  { name = \"q\"; plugin = \"qemu\"; uri = \"qemu:///session\";\n"
               "    qemu = {\n"
               "      job_timeout_ms = \"long\"; }; }\n"
               ");\n");
    char where[4300];
    snprintf(where, sizeof(where), "%s:3: ", conf);
    check_error(connect_to("f"), SB_ERR_CONFIG, "fixture: bad value", where, "'n'",
                "must be an integer, not string");
    snprintf(where, sizeof(where), "%s:6: ", conf);
    check_error(connect_to("q"), SB_ERR_CONFIG, where, "'job_timeout_ms'",
                "must be an integer, not string");
    assert_false(exists("hosts"));
}

/* A state directory the user may not write: the reason, with errno. */
static void test_unwritable_state_dir(void **state)
{
    (void)state;
    write_conf("hosts = (\n"
               "  { name = \"f\"; plugin = \"openstate\"; uri = \"openstate:///ok\"; },\n"
               "  { name = \"q\"; plugin = \"qemu\"; uri = \"qemu:///session\"; }\n"
               ");\n");
    assert_int_equal(mkdir(state_dir, 0555), 0);
    uid_t uid = geteuid() == 0 ? PLAIN_UID : geteuid();
    if (geteuid() == 0)
        assert_int_equal(chown(state_dir, uid, uid), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0 || geteuid() != uid))
            _exit(99);
        int bad = 0;
        const char *hosts[] = {"f", "q"};
        for (int i = 0; i < 2; i++) {
            int rc = connect_to(hosts[i]);
            const char *m = sb_error_last()->message;
            if (rc >= 0 || !strstr(m, "cannot create state directory") ||
                !strstr(m, "/state/hosts': Permission denied")) {
                fprintf(stderr, "# host %s: rc %d: %s\n", hosts[i], rc, m);
                bad++;
            }
        }
        _exit(bad);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_uri_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_cause_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_state_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
