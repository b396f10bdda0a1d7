/* ABI 1.2 domain_is_active through the public API: the broker asks it,
 * never domain_get_state, where active-or-not is all it needs (a
 * disk-only create, the existence check before a domain's store is
 * opened), keeps the full state query where running or paused goes into
 * the definition (any other create), and takes every answer from
 * domain_get_state for a plugin of ABI 1.1 even when its table holds the
 * callback ("refold", tests/plugins/reference/old).
 *
 * And domain_validate, on "refval" (tests/plugins/reference/validate):
 * asked once per distinct <domain> a connection's redefines carry, again
 * after it refused one, and for an <inactiveDomain> unless it is the same
 * definition as the <domain> it accepted (snap_create.c, domain_memo).
 *
 * Which callback the broker asked is read from the reference plugin's
 * call log (SB_REF_CALL_LOG, ref.c). argv[1]: the directory of refold,
 * argv[2]: that of refval. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"

#define DOM "test" /* the reference plugin's domain, running at first */

static const char *refold_dir, *refval_dir;

struct fx {
    char dir[64], log[96];
    sb_broker *b;
    sb_connection *c;
};

static void fx_connect(struct fx *f, const char *uri)
{
    if (sb_broker_new(&f->b, NULL) != 0)
        fail_msg("broker: %s", sb_error_last()->message);
    if (sb_connect(&f->c, f->b, uri, 0) != 0)
        fail_msg("connect %s: %s", uri, sb_error_last()->message);
}

static void fx_disconnect(struct fx *f)
{
    sb_disconnect(f->c);
    sb_broker_free(f->b);
    f->c = NULL;
    f->b = NULL;
}

static struct fx *fx_open(const char *uri, const char *plugin_dir)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sb-active-XXXXXX");
    const char *dir = mkdtemp(f->dir);
    assert_non_null(dir);
    snprintf(f->log, sizeof(f->log), "%s/calls", dir);
    setenv("SNAPBROKER_STATE_DIR", f->dir, 1);
    setenv("SB_REF_CALL_LOG", f->log, 1);
    unsetenv("SNAPBROKER_CONFIG");
    if (plugin_dir)
        setenv("SNAPBROKER_PLUGIN_DIR", plugin_dir, 1);
    else
        unsetenv("SNAPBROKER_PLUGIN_DIR");
    fx_connect(f, uri);
    return f;
}

static void fx_close(struct fx *f)
{
    char cmd[128];
    fx_disconnect(f);
    unsetenv("SB_REF_CALL_LOG");
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* The calls logged since the last look, as "name,name,", then forgotten. */
static void calls(struct fx *f, char *out, size_t len)
{
    char line[64];
    size_t n = 0;
    FILE *fp = fopen(f->log, "r");

    out[0] = '\0';
    if (!fp)
        return;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        n += (size_t)snprintf(out + n, len - n, "%s,", line);
        assert_true(n < len);
    }
    fclose(fp);
    assert_int_equal(unlink(f->log), 0);
}

static void expect_calls(struct fx *f, const char *want)
{
    char got[512];
    calls(f, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("the broker asked '%s'; expected '%s'", got, want);
}

/* A disk-only create names its overlay (the fixture's disk is no file to
 * name one after). */
static void create(struct fx *f, const char *name, unsigned flags)
{
    char xml[512];
    if (flags & SB_SNAPSHOT_CREATE_DISK_ONLY)
        snprintf(xml, sizeof(xml),
                 "<domainsnapshot><name>%s</name><disks><disk name='vda' snapshot='external'>"
                 "<source file='%s/%s.qcow2'/></disk></disks></domainsnapshot>",
                 name, f->dir, name);
    else
        snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    if (sb_snapshot_create_xml(NULL, f->c, DOM, xml, flags) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
}

static void expect_state(struct fx *f, const char *name, const char *state)
{
    char *xml = NULL, want[64];
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, name, 0), 0);
    snprintf(want, sizeof(want), "<state>%s</state>", state);
    if (!strstr(xml, want))
        fail_msg("snapshot '%s' lacks %s:\n%s", name, want, xml);
    free(xml);
}

/* A disk-only create asks the cheap callback only, on a running and on a
 * shut-off domain, and records the state the full query would give. */
static void test_disk_only_create_asks_no_state(void **state)
{
    struct fx *f = fx_open("ref:///default", NULL);
    (void)state;

    assert_int_equal(sb_connection_supports(f->c, "domain_is_active"), 1);
    expect_calls(f, "");
    create(f, "d1", SB_SNAPSHOT_CREATE_DISK_ONLY);
    expect_calls(f, "domain_is_active,");
    expect_state(f, "d1", "disk-snapshot");

    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    expect_calls(f, "");
    create(f, "d2", SB_SNAPSHOT_CREATE_DISK_ONLY);
    expect_calls(f, "domain_is_active,");
    expect_state(f, "d2", "shutoff");
    fx_close(f);
}

/* A create that records running or paused keeps the full state query. */
static void test_full_create_asks_the_state(void **state)
{
    struct fx *f = fx_open("ref:///default", NULL);
    (void)state;

    assert_int_equal(sb_domain_suspend(f->c, DOM), 0);
    expect_calls(f, "");
    create(f, "p1", 0);
    expect_calls(f, "domain_get_state,");
    expect_state(f, "p1", "paused");
    fx_close(f);
}

/* A process's first call on a domain checks that it exists before its
 * store is opened: the cheap callback, and its NO_DOMAIN for a name the
 * plugin does not know, with domain_get_state's message. */
static void test_existence_check_is_cheap(void **state)
{
    struct fx *f = fx_open("ref:///default", NULL);
    char **names = NULL;
    size_t n = 99;
    int active = -1, st = -1;
    (void)state;

    create(f, "s1", SB_SNAPSHOT_CREATE_DISK_ONLY);
    expect_calls(f, "domain_is_active,");
    fx_disconnect(f);
    fx_connect(f, "ref:///default");
    assert_int_equal(sb_snapshot_list(&names, &n, f->c, DOM, NULL, 0), 0);
    assert_int_equal(n, 1);
    free(names[0]);
    free(names);
    expect_calls(f, "domain_is_active,");
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "s1", 0), 0);
    expect_calls(f, "");
    fx_disconnect(f);
    fx_connect(f, "ref:///default");
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "d0", 0), -SB_ERR_NO_DOMAIN_SNAPSHOT);
    expect_calls(f, "domain_is_active,");

    assert_int_equal(sb_snapshot_list(&names, &n, f->c, "nosuch", NULL, 0), -SB_ERR_NO_DOMAIN);
    char *cheap = strdup(sb_error_last()->message);
    assert_int_equal(sb_domain_get_state(&st, f->c, "nosuch"), -SB_ERR_NO_DOMAIN);
    assert_string_equal(cheap, sb_error_last()->message);
    free(cheap);
    assert_int_equal(sb_domain_is_active(&active, f->c, "nosuch"), -SB_ERR_NO_DOMAIN);
    assert_int_equal(active, 0);
    expect_calls(f, "domain_is_active,domain_get_state,domain_is_active,");

    assert_int_equal(sb_domain_is_active(&active, f->c, DOM), 0);
    assert_int_equal(sb_domain_get_state(&st, f->c, DOM), 0);
    assert_int_equal(active, st != SB_DOMAIN_SHUTOFF);
    assert_int_equal(sb_domain_is_active(NULL, f->c, DOM), -SB_ERR_INVALID_ARG);
    fx_close(f);
}

/* A plugin of ABI 1.1 works as before: every answer from
 * domain_get_state, although its table holds domain_is_active. */
static void test_old_plugin_asks_the_state(void **state)
{
    struct fx *f = fx_open("refold:///default", refold_dir);
    int active = -1;
    (void)state;

    assert_int_equal(sb_connection_supports(f->c, "domain_is_active"), 0);
    create(f, "o1", SB_SNAPSHOT_CREATE_DISK_ONLY);
    expect_calls(f, "domain_get_state,");
    expect_state(f, "o1", "disk-snapshot");
    assert_int_equal(sb_domain_suspend(f->c, DOM), 0);
    assert_int_equal(sb_domain_is_active(&active, f->c, DOM), 0);
    assert_int_equal(active, 1);
    expect_calls(f, "domain_get_state,");

    fx_disconnect(f);
    fx_connect(f, "refold:///default");
    assert_int_equal(sb_snapshot_delete(f->c, DOM, "o1", 0), 0);
    expect_calls(f, "domain_get_state,");
    assert_int_equal(sb_domain_destroy(f->c, DOM), 0);
    assert_int_equal(sb_domain_is_active(&active, f->c, DOM), 0);
    assert_int_equal(active, 0);
    create(f, "o2", SB_SNAPSHOT_CREATE_DISK_ONLY);
    expect_calls(f, "domain_get_state,domain_get_state,");
    expect_state(f, "o2", "shutoff");
    fx_close(f);
}

/* How many times the broker asked callback since the last look. */
static int count_calls(struct fx *f, const char *callback)
{
    char got[4096], want[64];
    int n = 0;
    calls(f, got, sizeof(got));
    snprintf(want, sizeof(want), "%s,", callback);
    for (const char *p = got; (p = strstr(p, want)); p += strlen(want))
        if (p == got || p[-1] == ',')
            n++;
    return n;
}

/* A redefine of snapshot name whose <domain> is the fixture's "test" with
 * description desc (NULL: none) and, when inactive is set, an
 * <inactiveDomain> the same but for its description inactive. */
static int redefine(struct fx *f, const char *name, const char *desc, const char *inactive)
{
    char xml[1024], d[128] = "", i[512] = "";
    static const char body[] = "<name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
                               "%s<memory unit='KiB'>8192</memory>";
    if (desc)
        snprintf(d, sizeof(d), "<description>%s</description>", desc);
    if (inactive) {
        char id[128], inner[384];
        snprintf(id, sizeof(id), "<description>%s</description>", inactive);
        snprintf(inner, sizeof(inner), body, id);
        snprintf(i, sizeof(i), "<inactiveDomain type='test'>%s</inactiveDomain>", inner);
    }
    char dom[384];
    snprintf(dom, sizeof(dom), body, d);
    snprintf(xml, sizeof(xml),
             "<domainsnapshot><name>%s</name><state>running</state>"
             "<creationTime>1</creationTime><domain type='test'>%s</domain>%s"
             "</domainsnapshot>",
             name, dom, i);
    return sb_snapshot_create_xml(NULL, f->c, DOM, xml, SB_SNAPSHOT_CREATE_REDEFINE);
}

/* The connection asks the plugin once per distinct <domain>: a series of
 * redefines carrying one (A A), a refused one asked again each time (R R:
 * nothing stored), back to A (asked: the connection keeps one), and
 * <inactiveDomain>s: the same definition as the accepted <domain> not
 * asked, another asked and refused with the redefine. */
static void test_validate_once_per_domain(void **state)
{
    struct fx *f = fx_open("refval:///default", refval_dir);
    (void)state;

    assert_int_equal(sb_connection_supports(f->c, "domain_validate"), 1);
    count_calls(f, "domain_validate"); /* forget what the connect asked */
    assert_int_equal(redefine(f, "a1", "a", NULL), 0);
    assert_int_equal(redefine(f, "a2", "a", NULL), 0);
    assert_int_equal(count_calls(f, "domain_validate"), 1);

    assert_int_equal(redefine(f, "r1", "refuse", NULL), -SB_ERR_CONFIG_UNSUPPORTED);
    if (!strstr(sb_error_last()->message, "its <domain>"))
        fail_msg("message '%s' does not name the <domain>", sb_error_last()->message);
    assert_int_equal(redefine(f, "r1", "refuse", NULL), -SB_ERR_CONFIG_UNSUPPORTED);
    assert_int_equal(count_calls(f, "domain_validate"), 2);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "r1", 0), -SB_ERR_NO_DOMAIN_SNAPSHOT);

    assert_int_equal(redefine(f, "a3", "a", NULL), 0);
    assert_int_equal(redefine(f, "a4", "a", "a"), 0);
    assert_int_equal(count_calls(f, "domain_validate"), 1);
    assert_int_equal(redefine(f, "a5", "a", "refuse"), -SB_ERR_CONFIG_UNSUPPORTED);
    if (!strstr(sb_error_last()->message, "its <inactiveDomain>"))
        fail_msg("message '%s' does not name the <inactiveDomain>", sb_error_last()->message);
    assert_int_equal(redefine(f, "a6", "a", "b"), 0);
    assert_int_equal(count_calls(f, "domain_validate"), 2);
    /* the refused <inactiveDomain> left the accepted <domain> as it was */
    assert_int_equal(redefine(f, "a7", "a", NULL), 0);
    assert_int_equal(count_calls(f, "domain_validate"), 0);
    fx_close(f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_only_create_asks_no_state),
        cmocka_unit_test(test_full_create_asks_the_state),
        cmocka_unit_test(test_existence_check_is_cheap),
        cmocka_unit_test(test_old_plugin_asks_the_state),
        cmocka_unit_test(test_validate_once_per_domain),
    };
    if (argc != 3) {
        fprintf(stderr, "usage: %s REFOLD_PLUGIN_DIR REFVAL_PLUGIN_DIR\n", argv[0]);
        return 2;
    }
    refold_dir = argv[1];
    refval_dir = argv[2];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
