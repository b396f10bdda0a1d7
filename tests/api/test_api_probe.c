/* Whatever a plugin does, the broker never crashes: it fails the call with
 * a clear class and a message naming the plugin and what it did, and
 * leaves nothing half done.  The probe plugins (tests/plugins/probe) do
 * one forbidden thing each, chosen by SB_PROBE: "probe" (broker-owned
 * metadata) calls the tree services where they must refuse (on another
 * domain during an operation, from domain_get_state while the broker
 * opens that domain's store, from open and close) and answers a create
 * or revert with a definition it cannot use; "probe-hv"
 * (hypervisor-owned) answers success without its out-parameters, garbage
 * or another snapshot's XML, a state out of range, an unknown class or a
 * positive return.  argv[1]: the directory of the probe plugins; argv[2]
 * (optional): run only the tests it matches (cmocka_set_test_filter), one
 * at a time where the code under test crashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "test_rm_tree.h"

#define DOM "test"

static const char *probe_dir;

struct fx {
    char dir[64];
    sb_broker *b;
    sb_connection *c;
};

/* A broker on the probe plugins in a private state directory; SB_PROBE
 * unset (the plugins behave) until a test sets it. */
static struct fx *fx_open(const char *uri)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sb-probe-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    setenv("SNAPBROKER_STATE_DIR", f->dir, 1);
    setenv("SNAPBROKER_PLUGIN_DIR", probe_dir, 1);
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SB_PROBE");
    if (sb_broker_new(&f->b, NULL) != 0)
        fail_msg("broker: %s", sb_error_last()->message);
    if (uri && sb_connect(&f->c, f->b, uri, 0) != 0)
        fail_msg("connect %s: %s", uri, sb_error_last()->message);
    return f;
}

static void fx_close(struct fx *f)
{
    unsetenv("SB_PROBE");
    sb_disconnect(f->c);
    sb_broker_free(f->b);
    rm_rf(f->dir);
    free(f);
}

static void expect_error(int rc, int code, const char *fragment)
{
    if (rc != -code || sb_error_last()->code != code)
        fail_msg("expected error %d, got rc %d (%s)", code, rc, sb_error_last()->message);
    if (!strstr(sb_error_last()->message, fragment))
        fail_msg("message '%s' lacks '%s'", sb_error_last()->message, fragment);
}

static void create(struct fx *f, const char *name)
{
    char xml[128], *out = NULL;
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    if (sb_snapshot_create_xml(&out, f->c, DOM, xml, 0) != 0)
        fail_msg("create %s: %s", name, sb_error_last()->message);
    free(out);
}

static size_t count(struct fx *f)
{
    size_t n = 0;
    unsetenv("SB_PROBE");
    assert_int_equal(sb_snapshot_count(&n, f->c, DOM, NULL, 0), 0);
    return n;
}

/* ---- broker-owned: tree services at the wrong time ---- */

/* The operation's store stays open (it was freed: use after free). */
static void tree_other_during_create(void **state)
{
    struct fx *f = fx_open("probe:///default");
    char *out = NULL;
    (void)state;
    setenv("SB_PROBE", "create_other", 1);
    int rc = sb_snapshot_create_xml(&out, f->c, DOM,
                                    "<domainsnapshot><name>s</name></domainsnapshot>", 0);
    expect_error(rc, SB_ERR_OPERATION_INVALID,
                 "plugin 'probe': tree service on domain 'ghost' during an operation on 'test'");
    assert_null(out);
    assert_int_equal(count(f), 0); /* nothing half done */
    fx_close(f);
}

static void tree_update_other_during_create(void **state)
{
    struct fx *f = fx_open("probe:///default");
    char *out = NULL;
    (void)state;
    setenv("SB_PROBE", "update_other", 1);
    int rc = sb_snapshot_create_xml(&out, f->c, DOM,
                                    "<domainsnapshot><name>s</name></domainsnapshot>", 0);
    expect_error(rc, SB_ERR_OPERATION_INVALID, "tree service on domain 'ghost'");
    assert_int_equal(count(f), 0);
    fx_close(f);
}

static void tree_other_during_revert_delete(void **state)
{
    struct fx *f = fx_open("probe:///default");
    (void)state;
    create(f, "a");
    create(f, "b");
    setenv("SB_PROBE", "revert_other", 1);
    expect_error(sb_snapshot_revert(f->c, DOM, "a", 0), SB_ERR_OPERATION_INVALID,
                 "during an operation on 'test'");
    setenv("SB_PROBE", "delete_other", 1);
    expect_error(sb_snapshot_delete(f->c, DOM, "b", 0), SB_ERR_OPERATION_INVALID,
                 "during an operation on 'test'");
    assert_int_equal(count(f), 2);
    char *cur = NULL;
    assert_int_equal(sb_snapshot_current(&cur, f->c, DOM), 0);
    assert_string_equal(cur, "b"); /* the refused revert moved nothing */
    free(cur);
    fx_close(f);
}

/* undefine holds the domain's store across the plugin's domain_undefine. */
static void tree_other_during_undefine(void **state)
{
    struct fx *f = fx_open("probe:///default");
    char **names = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(count(f), 0); /* the store is cached */
    setenv("SB_PROBE", "undefine_other", 1);
    expect_error(sb_domain_undefine(f->c, DOM, 0), SB_ERR_OPERATION_INVALID,
                 "plugin 'probe': tree service on domain 'ghost' during an operation on 'test'");
    unsetenv("SB_PROBE");
    assert_int_equal(sb_domain_list(&names, &n, f->c, 0), 0);
    assert_int_equal(n, 1); /* still defined */
    sb_names_free(names, n);
    fx_close(f);
}

/* The existence check before a store is opened asked domain_get_state,
 * which asked the tree, which opened the store... (stack overflow). */
static void tree_from_state_check(void **state)
{
    struct fx *f = fx_open("probe:///default");
    size_t n = 0;
    (void)state;
    setenv("SB_PROBE", "state_tree", 1);
    expect_error(sb_snapshot_count(&n, f->c, DOM, NULL, 0), SB_ERR_OPERATION_INVALID,
                 "plugin 'probe': tree service called from domain_get_state");
    fx_close(f);
}

/* No sb_conn yet: the existence check would call the plugin with NULL. */
static void tree_from_open(void **state)
{
    struct fx *f = fx_open(NULL);
    (void)state;
    setenv("SB_PROBE", "open_tree", 1);
    expect_error(sb_connect(&f->c, f->b, "probe:///default", 0), SB_ERR_OPERATION_INVALID,
                 "plugin 'probe': tree service called from open");
    assert_null(f->c);
    fx_close(f);
}

/* A store opened from close would outlive the connection (a leak). */
static void tree_from_close(void **state)
{
    struct fx *f = fx_open("probe:///default");
    (void)state;
    assert_int_equal(count(f), 0);
    setenv("SB_PROBE", "close_tree", 1);
    sb_disconnect(f->c); /* refused inside; nothing to see but no leak */
    f->c = NULL;
    fx_close(f);
}

/* ---- hypervisor-owned: answers the contract forbids ---- */

static struct fx *hv_with_snapshot(const char *probe)
{
    struct fx *f = fx_open("probe-hv:///default");
    create(f, "s1");
    setenv("SB_PROBE", probe, 1);
    return f;
}

static void hv_get_xml(void **state)
{
    static const struct {
        const char *probe, *fragment;
    } cases[] = {
        { "getxml_null", "plugin 'probe-hv' returned success but no XML from snapshot_get_xml" },
        { "getxml_garbage", "plugin 'probe-hv' returned unreadable XML for snapshot 's1'" },
        { "getxml_othername", "plugin 'probe-hv' returned the XML of snapshot 'Z1'" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = hv_with_snapshot(cases[i].probe);
        char *xml = NULL;
        sb_snapshot_info info;
        expect_error(sb_snapshot_get_xml(&xml, f->c, DOM, "s1", 0), SB_ERR_INTERNAL_ERROR,
                     cases[i].fragment);
        assert_null(xml);
        expect_error(sb_snapshot_info_get(&info, f->c, DOM, "s1"), SB_ERR_INTERNAL_ERROR,
                     cases[i].fragment);
        fx_close(f);
    }
}

static void hv_list(void **state)
{
    static const struct {
        const char *probe, *fragment;
    } cases[] = {
        { "list_null", "plugin 'probe-hv' returned success but no array for its 3 names from "
                       "snapshot_list" },
        { "list_null_entry", "plugin 'probe-hv' returned success but a NULL name (entry 1 of 1) "
                             "from snapshot_list" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = hv_with_snapshot(cases[i].probe);
        char **names = NULL;
        size_t n = 7;
        expect_error(sb_snapshot_list(&names, &n, f->c, DOM, NULL, 0), SB_ERR_INTERNAL_ERROR,
                     cases[i].fragment);
        assert_null(names);
        assert_int_equal(n, 0);
        fx_close(f);
    }
}

/* "No current" and "no parent" are NO_DOMAIN_SNAPSHOT (plugin-abi.md);
 * success without a name is the plugin's bug. */
static void hv_current_parent(void **state)
{
    struct fx *f = hv_with_snapshot("current_null");
    char *name = NULL;
    (void)state;
    expect_error(sb_snapshot_current(&name, f->c, DOM), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned success but no snapshot name from snapshot_current");
    assert_null(name);
    unsetenv("SB_PROBE");
    create(f, "s2");
    setenv("SB_PROBE", "parent_null", 1);
    expect_error(sb_snapshot_parent(&name, f->c, DOM, "s2"), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned success but no snapshot name from snapshot_parent");
    assert_null(name);
    unsetenv("SB_PROBE");
    expect_error(sb_snapshot_parent(&name, f->c, DOM, "s1"), SB_ERR_NO_DOMAIN_SNAPSHOT,
                 "does not have a parent"); /* the documented "none" */
    fx_close(f);
}

static void hv_domain_calls(void **state)
{
    struct fx *f = fx_open("probe-hv:///default");
    char **names = NULL, *xml = NULL;
    size_t n = 9;
    int st = 0;
    (void)state;
    setenv("SB_PROBE", "dlist_null", 1);
    expect_error(sb_domain_list(&names, &n, f->c, 0), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned success but no array for its 2 names from "
                 "domain_list");
    assert_null(names);
    assert_int_equal(n, 0);
    setenv("SB_PROBE", "dlist_null_entry", 1);
    expect_error(sb_domain_list(&names, &n, f->c, 0), SB_ERR_INTERNAL_ERROR,
                 "a NULL name (entry 1 of 1) from domain_list");
    setenv("SB_PROBE", "dxml_null", 1);
    expect_error(sb_domain_get_xml(&xml, f->c, DOM, 0), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned success but no XML from domain_get_xml");
    assert_null(xml);
    setenv("SB_PROBE", "state_99", 1);
    expect_error(sb_domain_get_state(&st, f->c, DOM), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned domain state 99 from domain_get_state");
    setenv("SB_PROBE", "state_negative", 1);
    expect_error(sb_domain_get_state(&st, f->c, DOM), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned domain state -1 from domain_get_state");
    char *name = NULL;
    setenv("SB_PROBE", "define_noname", 1);
    expect_error(sb_domain_define(&name, f->c,
                                  "<domain type='test'><name>nameless</name></domain>"),
                 SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned success but no domain name from domain_define");
    assert_null(name);
    fx_close(f);
}

static void hv_create_return_values(void **state)
{
    struct fx *f = fx_open("probe-hv:///default");
    char *out = NULL;
    const char *xml = "<domainsnapshot><name>s</name></domainsnapshot>";
    (void)state;
    setenv("SB_PROBE", "create_intmin", 1);
    expect_error(sb_snapshot_create_xml(&out, f->c, DOM, xml, 0), SB_ERR_INTERNAL_ERROR,
                 "unknown error class");
    setenv("SB_PROBE", "create_positive", 1);
    expect_error(sb_snapshot_create_xml(&out, f->c, DOM, xml, 0), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned 5 from snapshot_create, which returns 0 or a "
                 "negative error class");
    assert_null(out);
    fx_close(f);
}

/* Warnings the broker logged since the last call, joined (static). */
static void collect(void *opaque, const char *level, const char *origin, const char *message)
{
    char *all = opaque;
    size_t n = strlen(all);
    snprintf(all + n, 4096 - n, "%s %s: %s\n", level, origin, message);
}

static const char *drained(void)
{
    static char all[4096];
    all[0] = '\0';
    sb_log_drain(collect, all);
    return all;
}

static void expect_logged(const char *fragment)
{
    const char *all = drained();
    if (!strstr(all, fragment))
        fail_msg("no log line with \"%s\"; logged:\n%s", fragment, all);
}

/* The plugin did the work and answered a definition the broker cannot
 * use (text that is not XML; another snapshot's): the operation happened,
 * so it succeeds, the broker keeps the definition it gave the plugin, and
 * a warning names the plugin, the callback and the snapshot. */
static void ref_create_revert_garbage(void **state)
{
    struct fx *f = fx_open("probe:///default");
    char *xml = NULL, *cur = NULL;
    (void)state;
    drained();
    setenv("SB_PROBE", "create_garbage", 1);
    create(f, "a");
    expect_logged("plugin 'probe' answered snapshot_create of snapshot 'a' with an unusable "
                  "definition (");
    setenv("SB_PROBE", "create_renamed", 1);
    create(f, "b");
    expect_logged("plugin 'probe' answered snapshot_create of snapshot 'b' with the definition "
                  "of 'Z'; keeping the one it was given");
    unsetenv("SB_PROBE");
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "b", 0), 0);
    assert_non_null(strstr(xml, "<name>b</name>"));
    free(xml);
    setenv("SB_PROBE", "revert_garbage", 1);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "a", 0), 0);
    expect_logged("plugin 'probe' answered snapshot_revert of snapshot 'a' with an unusable "
                  "definition (");
    unsetenv("SB_PROBE");
    assert_int_equal(sb_snapshot_current(&cur, f->c, DOM), 0);
    assert_string_equal(cur, "a");
    free(cur);
    assert_int_equal(sb_snapshot_get_xml(&xml, f->c, DOM, "a", 0), 0);
    assert_non_null(strstr(xml, "<name>a</name>"));
    free(xml);
    assert_int_equal(count(f), 2);
    fx_close(f);
}

/* The same where the hypervisor keeps the metadata: the create is named as
 * requested; a revert's answer is not the broker's to keep (it is not
 * read), and a positive return from it is refused as from any callback. */
static void hv_create_revert_garbage(void **state)
{
    struct fx *f = hv_with_snapshot("create_garbage");
    char *out = NULL;
    (void)state;
    drained();
    assert_int_equal(sb_snapshot_create_xml(&out, f->c, DOM,
                                            "<domainsnapshot><name>s2</name></domainsnapshot>",
                                            0),
                     0);
    assert_string_equal(out, "s2");
    free(out);
    expect_logged("plugin 'probe-hv' answered snapshot_create of snapshot 's2' with an "
                  "unusable definition (");
    setenv("SB_PROBE", "revert_garbage", 1);
    assert_int_equal(sb_snapshot_revert(f->c, DOM, "s1", 0), 0);
    setenv("SB_PROBE", "revert_positive", 1);
    expect_error(sb_snapshot_revert(f->c, DOM, "s1", 0), SB_ERR_INTERNAL_ERROR,
                 "plugin 'probe-hv' returned 1 from snapshot_revert, which returns 0 or a "
                 "negative error class");
    unsetenv("SB_PROBE");
    char *cur = NULL;
    assert_int_equal(sb_snapshot_current(&cur, f->c, DOM), 0);
    assert_string_equal(cur, "s1");
    free(cur);
    fx_close(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROBE_PLUGIN_DIR [TEST_PATTERN]\n", argv[0]);
        return 2;
    }
    probe_dir = argv[1];
    if (argc > 2)
        cmocka_set_test_filter(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree_other_during_create),
        cmocka_unit_test(tree_update_other_during_create),
        cmocka_unit_test(tree_other_during_revert_delete),
        cmocka_unit_test(tree_other_during_undefine),
        cmocka_unit_test(tree_from_state_check),
        cmocka_unit_test(tree_from_open),
        cmocka_unit_test(tree_from_close),
        cmocka_unit_test(hv_get_xml),
        cmocka_unit_test(hv_list),
        cmocka_unit_test(hv_current_parent),
        cmocka_unit_test(hv_domain_calls),
        cmocka_unit_test(hv_create_return_values),
        cmocka_unit_test(ref_create_revert_garbage),
        cmocka_unit_test(hv_create_revert_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
