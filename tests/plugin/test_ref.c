/* The reference plugin through the loader, dispatch and host services,
 * with stand-in XML services (the real ones are the XML engine's). */
#include "helpers.h"

#include <stdlib.h>

#include "plugin/dispatch.h"
#include "plugin/host.h"
#include "plugin/loader.h"

static sb_plugin_registry *reg;
static const sb_loaded_plugin *ref;
static char root[4096];

/* ---- stand-in XML services: just enough of the element text ---------- */

static char *element(const char *xml, const char *tag)
{
    char open[64], close[64];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if (!(a = strstr(xml, open)) || !(b = strstr(a, close)))
        return NULL;
    a += strlen(open);
    return strndup(a, (size_t)(b - a));
}

static int fake_snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    struct sb_snapshot_view *v = calloc(1, sizeof(*v));
    char *state = element(xml, "state");
    const char *dom = strstr(xml, "<domain "), *dom_end = dom ? strstr(dom, "</domain>") : NULL;

    (void)h;
    v->struct_size = sizeof(*v);
    v->name = element(xml, "name");
    v->state = !state                         ? SB_STATE_NOSTATE
               : !strcmp(state, "running")    ? SB_STATE_RUNNING
               : !strcmp(state, "paused")     ? SB_STATE_PAUSED
               : !strcmp(state, "disk-snapshot") ? SB_STATE_DISK_SNAPSHOT
                                              : SB_STATE_SHUTOFF;
    v->domain_xml = dom && dom_end ? strndup(dom, (size_t)(dom_end - dom) + 9) : NULL;
    free(state);
    *out = v;
    return 0;
}

static void fake_snapshot_view_free(struct sb_snapshot_view *v)
{
    free((char *)v->name);
    free((char *)v->domain_xml);
    free(v);
}

static int fake_domain_view(sb_host *h, const char *xml, struct sb_domain_view **out)
{
    struct sb_domain_view *v = calloc(1, sizeof(*v));

    (void)h;
    v->struct_size = sizeof(*v);
    v->name = element(xml, "name");
    *out = v;
    return 0;
}

static void fake_domain_view_free(struct sb_domain_view *v)
{
    free((char *)v->name);
    free(v);
}

static const struct sb_host_xml_ops fake_xml = {
    .snapshot_view = fake_snapshot_view,
    .snapshot_view_free = fake_snapshot_view_free,
    .domain_view = fake_domain_view,
    .domain_view_free = fake_domain_view_free,
};

/* ---- connection helpers --------------------------------------------- */

struct conn {
    sb_host *h;
    sb_conn *c;
};

static void connect_ref(struct conn *k)
{
    char dir[4200];
    struct sb_host_params hp = {.plugin = "ref", .host = "test-host", .state_dir = dir};
    int rc;

    snprintf(dir, sizeof(dir), "%s/hosts/test-host/ref", root);
    assert_int_equal(sb_host_new(&k->h, &hp), 0);
    SB_DISPATCH(rc, ref, open, &k->c, k->h, "ref:///default");
    assert_int_equal(rc, 0);
}

static void disconnect(struct conn *k)
{
    ref->ops.close(k->c);
    sb_host_free(k->h);
}

static int dom_state(struct conn *k, const char *dom)
{
    int st = -1, rc;
    SB_DISPATCH(rc, ref, domain_get_state, &st, k->c, dom);
    assert_int_equal(rc, 0);
    return st;
}

static int setup(void **state)
{
    (void)state;
    make_tmpdir(root, sizeof(root), "ref");
    sb_host_set_xml_ops(&fake_xml);
    if (sb_registry_new(&reg) < 0)
        return -1;
    return sb_registry_load_file(&ref, reg, REF_DIR "/ref.so");
}

static int teardown(void **state)
{
    (void)state;
    sb_registry_free(reg);
    sb_host_set_xml_ops(NULL);
    rm_rf(root);
    return 0;
}

/* Each test starts from the initial state. */
static int fresh(void **state)
{
    char dir[4200];
    (void)state;
    snprintf(dir, sizeof(dir), "%s/hosts", root);
    rm_rf(dir);
    return 0;
}

static void test_caps(void **state)
{
    (void)state;
    assert_string_equal(ref->name, "ref");
    assert_int_equal(ref->caps.meta_owner, SB_META_BROKER);
    assert_int_equal(ref->caps.default_location, SB_LOCATION_INTERNAL);
    assert_int_equal(ref->caps.uniform_internal, 1);
    assert_int_equal(ref->caps.disk_override, SB_DISK_OVERRIDE_ALLOWED);
    assert_int_equal(ref->caps.create_flags, 0x3DF); /* all but REUSE_EXT */
    assert_int_equal(ref->caps.revert_flags, 0x7);   /* all but RESET_NVRAM */
    assert_int_equal(ref->caps.delete_flags, SB_SNAPSHOT_DELETE_ALL);
    assert_int_equal(ref->caps.list_flags, SB_SNAPSHOT_LIST_ALL);
    assert_int_equal(ref->caps.xml_flags, SB_SNAPSHOT_XML_SECURE);
    check_error(sb_dispatch_check_flags(ref, NULL, SB_VERB_CREATE, SB_SNAPSHOT_CREATE_REUSE_EXT),
                SB_ERR_INVALID_ARG, "unsupported flags VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT (0x20) for "
                "snapshot_create in plugin 'ref'");
}

static void test_bad_uri(void **state)
{
    struct sb_host_params hp = {.plugin = "ref", .host = "x", .state_dir = root};
    sb_host *h;
    sb_conn *c = NULL;
    int rc;

    (void)state;
    assert_int_equal(sb_host_new(&h, &hp), 0);
    SB_DISPATCH(rc, ref, open, &c, h, "ref:///other");
    check_error(rc, SB_ERR_INVALID_ARG, "unsupported URI 'ref:///other'");
    assert_null(c);
    sb_host_free(h);
}

static void test_initial_state(void **state)
{
    struct conn k;
    char **names, *xml;
    size_t n;
    int rc;

    (void)state;
    connect_ref(&k);
    SB_DISPATCH(rc, ref, domain_list, &names, &n, k.c, 0);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "test");
    free(names[0]);
    free(names);
    assert_int_equal(dom_state(&k, "test"), SB_DOMAIN_RUNNING);
    SB_DISPATCH(rc, ref, domain_get_xml, &xml, k.c, "test", 0);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(xml, "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"));
    assert_non_null(strstr(xml, "<source file='/guest/diskimage1'/>"));
    assert_non_null(strstr(xml, "<target dev='vda' bus='virtio'/>"));
    free(xml);
    SB_DISPATCH(rc, ref, domain_get_xml, &xml, k.c, "nope", 0);
    check_error(rc, SB_ERR_NO_DOMAIN, "no domain with matching name 'nope'");
    SB_DISPATCH(rc, ref, domain_list, &names, &n, k.c, SB_DOMAIN_LIST_INACTIVE);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 0);
    free(names);
    disconnect(&k);
}

/* State persists across connections (one CLI process per command). */
static void test_lifecycle_persists(void **state)
{
    struct conn k;
    int rc;

    (void)state;
    connect_ref(&k);
    SB_DISPATCH(rc, ref, domain_start, k.c, "test", 0);
    check_error(rc, SB_ERR_OPERATION_INVALID, "domain 'test' is already running");
    SB_DISPATCH(rc, ref, domain_suspend, k.c, "test", 0);
    assert_int_equal(rc, 0);
    disconnect(&k);

    connect_ref(&k);
    assert_int_equal(dom_state(&k, "test"), SB_DOMAIN_PAUSED);
    SB_DISPATCH(rc, ref, domain_resume, k.c, "test", 0);
    assert_int_equal(rc, 0);
    SB_DISPATCH(rc, ref, domain_resume, k.c, "test", 0);
    check_error(rc, SB_ERR_OPERATION_INVALID, "is not paused");
    SB_DISPATCH(rc, ref, domain_destroy, k.c, "test", 0);
    assert_int_equal(rc, 0);
    SB_DISPATCH(rc, ref, domain_shutdown, k.c, "test", 0);
    check_error(rc, SB_ERR_OPERATION_INVALID, "is not running");
    SB_DISPATCH(rc, ref, domain_start, k.c, "test", SB_DOMAIN_START_PAUSED);
    assert_int_equal(rc, 0);
    assert_int_equal(dom_state(&k, "test"), SB_DOMAIN_PAUSED);
    SB_DISPATCH(rc, ref, domain_start, k.c, "test", 0x80);
    check_error(rc, SB_ERR_INVALID_ARG, "unsupported flags (0x80)");
    disconnect(&k);
}

static void test_define_undefine(void **state)
{
    struct conn k;
    char *name, **names, *xml;
    size_t n;
    int rc;

    (void)state;
    connect_ref(&k);
    SB_DISPATCH(rc, ref, domain_define, &name, k.c,
                "<domain type='test'><name>vm2</name></domain>", 0);
    assert_int_equal(rc, 0);
    assert_string_equal(name, "vm2");
    free(name);
    assert_int_equal(dom_state(&k, "vm2"), SB_DOMAIN_SHUTOFF);
    SB_DISPATCH(rc, ref, domain_define, &name, k.c, "<domain><name>bad name</name></domain>", 0);
    check_error(rc, SB_ERR_XML_ERROR, "bad name");
    disconnect(&k);

    connect_ref(&k);
    SB_DISPATCH(rc, ref, domain_list, &names, &n, k.c, SB_DOMAIN_LIST_INACTIVE);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "vm2");
    free(names[0]);
    free(names);
    SB_DISPATCH(rc, ref, domain_get_xml, &xml, k.c, "vm2", 0);
    assert_string_equal(xml, "<domain type='test'><name>vm2</name></domain>");
    free(xml);
    SB_DISPATCH(rc, ref, domain_undefine, k.c, "test", 0);
    check_error(rc, SB_ERR_OPERATION_INVALID, "domain 'test' is running");
    SB_DISPATCH(rc, ref, domain_undefine, k.c, "vm2", 0);
    assert_int_equal(rc, 0);
    SB_DISPATCH(rc, ref, domain_undefine, k.c, "vm2", 0);
    check_error(rc, SB_ERR_NO_DOMAIN, "'vm2'");
    disconnect(&k);
}

#define SNAP(state) "<domainsnapshot><name>s</name><state>" state "</state></domainsnapshot>"

static void revert_case(const char *snap_xml, int from, unsigned flags, int expect)
{
    struct conn k;
    char *out = (char *)1;
    int rc;

    connect_ref(&k);
    /* bring the domain into `from` */
    SB_DISPATCH(rc, ref, domain_destroy, k.c, "test", 0);
    if (from != SB_DOMAIN_SHUTOFF)
        SB_DISPATCH(rc, ref, domain_start, k.c, "test",
                    from == SB_DOMAIN_PAUSED ? SB_DOMAIN_START_PAUSED : 0);
    assert_int_equal(dom_state(&k, "test"), from);
    SB_DISPATCH(rc, ref, snapshot_revert, &out, k.c, "test", snap_xml, flags);
    assert_int_equal(rc, 0);
    assert_null(out);
    assert_int_equal(dom_state(&k, "test"), expect);
    disconnect(&k);
}

static void test_revert_transitions(void **state)
{
    (void)state;
    revert_case(SNAP("running"), SB_DOMAIN_SHUTOFF, 0, SB_DOMAIN_RUNNING);
    revert_case(SNAP("running"), SB_DOMAIN_RUNNING, SB_SNAPSHOT_REVERT_PAUSED, SB_DOMAIN_PAUSED);
    revert_case(SNAP("paused"), SB_DOMAIN_SHUTOFF, 0, SB_DOMAIN_PAUSED);
    revert_case(SNAP("paused"), SB_DOMAIN_SHUTOFF, SB_SNAPSHOT_REVERT_RUNNING, SB_DOMAIN_RUNNING);
    revert_case(SNAP("shutoff"), SB_DOMAIN_RUNNING, 0, SB_DOMAIN_SHUTOFF);
    revert_case(SNAP("shutoff"), SB_DOMAIN_RUNNING, SB_SNAPSHOT_REVERT_RUNNING, SB_DOMAIN_RUNNING);
    revert_case(SNAP("shutoff"), SB_DOMAIN_SHUTOFF, SB_SNAPSHOT_REVERT_PAUSED, SB_DOMAIN_PAUSED);
    revert_case(SNAP("disk-snapshot"), SB_DOMAIN_PAUSED, 0, SB_DOMAIN_SHUTOFF);
}

static void test_revert_restores_definition_and_errors(void **state)
{
    struct conn k;
    char *out, *xml;
    int rc;

    (void)state;
    connect_ref(&k);
    SB_DISPATCH(rc, ref, snapshot_revert, &out, k.c, "test",
                "<domainsnapshot><name>s</name><state>shutoff</state>"
                "<domain type='test'><name>test</name><memory>1</memory></domain>"
                "</domainsnapshot>",
                0);
    assert_int_equal(rc, 0);
    SB_DISPATCH(rc, ref, domain_get_xml, &xml, k.c, "test", 0);
    assert_string_equal(xml, "<domain type='test'><name>test</name><memory>1</memory></domain>");
    free(xml);
    SB_DISPATCH(rc, ref, snapshot_revert, &out, k.c, "test", SNAP("running"),
                SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED);
    check_error(rc, SB_ERR_INVALID_ARG, "mutually exclusive");
    SB_DISPATCH(rc, ref, snapshot_revert, &out, k.c, "ghost", SNAP("running"), 0);
    check_error(rc, SB_ERR_NO_DOMAIN, "'ghost'");
    disconnect(&k);
}

static void test_create_halt_and_delete(void **state)
{
    struct conn k;
    char *out = (char *)1;
    int rc;

    (void)state;
    connect_ref(&k);
    SB_DISPATCH(rc, ref, snapshot_create, &out, k.c, "test", SNAP("running"), 0);
    assert_int_equal(rc, 0);
    assert_null(out);
    assert_int_equal(dom_state(&k, "test"), SB_DOMAIN_RUNNING);
    SB_DISPATCH(rc, ref, snapshot_create, &out, k.c, "test", SNAP("running"),
                SB_SNAPSHOT_CREATE_HALT);
    assert_int_equal(rc, 0);
    assert_int_equal(dom_state(&k, "test"), SB_DOMAIN_SHUTOFF);
    SB_DISPATCH(rc, ref, snapshot_create, &out, k.c, "ghost", SNAP("running"), 0);
    check_error(rc, SB_ERR_NO_DOMAIN, "'ghost'");
    SB_DISPATCH(rc, ref, snapshot_delete, k.c, "test", SNAP("running"), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(dom_state(&k, "test"), SB_DOMAIN_SHUTOFF);
    disconnect(&k);
}

/* Without the XML services (an older or partial host) the plugin fails
 * with a message instead of crashing. */
static void test_without_xml_services(void **state)
{
    struct conn k;
    char *out;
    int rc;

    (void)state;
    sb_host_set_xml_ops(NULL);
    connect_ref(&k);
    SB_DISPATCH(rc, ref, snapshot_revert, &out, k.c, "test", SNAP("running"), 0);
    check_error(rc, SB_ERR_NO_SUPPORT, "host service 'snapshot_view' is not available");
    SB_DISPATCH(rc, ref, domain_define, &out, k.c, "<domain/>", 0);
    check_error(rc, SB_ERR_NO_SUPPORT, "'domain_view'");
    disconnect(&k);
    sb_host_set_xml_ops(&fake_xml);
}

static void test_damaged_state_file(void **state)
{
    char file[4300];
    struct conn k;
    FILE *f;
    int st, rc;

    (void)state;
    connect_ref(&k);
    snprintf(file, sizeof(file), "%s/hosts/test-host/ref/domains", root);
    assert_non_null(f = fopen(file, "w"));
    fputs("snapbroker-ref 1\ndomain test 1 999\n<domain/>\n", f);
    fclose(f);
    SB_DISPATCH(rc, ref, domain_get_state, &st, k.c, "test");
    check_error(rc, SB_ERR_INTERNAL_ERROR, "is damaged", "truncated");
    disconnect(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_caps, fresh),
        cmocka_unit_test_setup(test_bad_uri, fresh),
        cmocka_unit_test_setup(test_initial_state, fresh),
        cmocka_unit_test_setup(test_lifecycle_persists, fresh),
        cmocka_unit_test_setup(test_define_undefine, fresh),
        cmocka_unit_test_setup(test_revert_transitions, fresh),
        cmocka_unit_test_setup(test_revert_restores_definition_and_errors, fresh),
        cmocka_unit_test_setup(test_create_halt_and_delete, fresh),
        cmocka_unit_test_setup(test_without_xml_services, fresh),
        cmocka_unit_test_setup(test_damaged_state_file, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
