/* Dispatch checks and the host services table. */
#include "helpers.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "plugin/dispatch.h"
#include "plugin/flag_names.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/log.h"

static sb_plugin_registry *reg;
static const sb_loaded_plugin *good;

static int setup(void **state)
{
    (void)state;
    if (sb_registry_new(&reg) < 0)
        return -1;
    return sb_registry_load_file(&good, reg, FIXTURE("fx_good"));
}

static int teardown(void **state)
{
    (void)state;
    sb_registry_free(reg);
    return 0;
}

static void test_check_flags(void **state)
{
    (void)state;
    /* fx_good: create HALT|DISK_ONLY, revert FORCE, delete none */
    assert_int_equal(sb_dispatch_check_flags(good, NULL, SB_VERB_CREATE,
                                             SB_SNAPSHOT_CREATE_HALT |
                                                 SB_SNAPSHOT_CREATE_DISK_ONLY),
                     0);
    check_error(sb_dispatch_check_flags(good, NULL, SB_VERB_CREATE,
                                        SB_SNAPSHOT_CREATE_HALT | SB_SNAPSHOT_CREATE_QUIESCE),
                SB_ERR_INVALID_ARG, "unsupported flags VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE (0x40) for "
                "snapshot_create in plugin 'good'");
    check_error(sb_dispatch_check_flags(good, NULL, SB_VERB_DELETE, SB_SNAPSHOT_DELETE_CHILDREN),
                SB_ERR_INVALID_ARG,
                "unsupported flags VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN (0x1) for snapshot_delete");
    check_error(sb_dispatch_check_flags(good, NULL, SB_VERB_CREATE,
                                        SB_SNAPSHOT_CREATE_ATOMIC | SB_SNAPSHOT_CREATE_QUIESCE),
                SB_ERR_INVALID_ARG,
                "unsupported flags VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE|"
                "VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC (0xc0) for snapshot_create");
    check_error(sb_dispatch_check_flags(good, NULL, SB_VERB_XML, SB_SNAPSHOT_XML_SECURE),
                SB_ERR_INVALID_ARG, "for snapshot_get_xml");
    assert_int_equal(sb_dispatch_check_flags(good, NULL, SB_VERB_LIST, SB_SNAPSHOT_LIST_ALL), 0);
    check_error(sb_dispatch_check_flags(good, NULL, SB_VERB_REVERT, 0x100), SB_ERR_INVALID_ARG,
                "unsupported flags 0x100 for snapshot_revert");
    check_error(sb_dispatch_check_flags(good, NULL, (enum sb_verb)99, 0), SB_ERR_INTERNAL_ERROR,
                "unknown verb");
}

/* One table names every flag (flag_names.c); bit 0 of a listing is ROOTS
 * or DESCENDANTS depending on the call. */
static void test_flag_names(void **state)
{
    char buf[256];

    (void)state;
    assert_string_equal(sb_flag_name(SB_FLAGS_CREATE, SB_SNAPSHOT_CREATE_DISK_ONLY),
                        "VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY");
    assert_string_equal(sb_flag_name(SB_FLAGS_LIST, 1), "VIR_DOMAIN_SNAPSHOT_LIST_ROOTS");
    assert_string_equal(sb_flag_name(SB_FLAGS_LIST_CHILDREN, 1),
                        "VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS");
    assert_string_equal(sb_flag_name(SB_FLAGS_LIST_CHILDREN, SB_SNAPSHOT_LIST_LEAVES),
                        "VIR_DOMAIN_SNAPSHOT_LIST_LEAVES");
    assert_string_equal(sb_flag_name(SB_FLAGS_XML, 1), "VIR_DOMAIN_SNAPSHOT_XML_SECURE");
    assert_null(sb_flag_name(SB_FLAGS_DELETE, 0x8));
    assert_null(sb_flag_name(99, 1));
    assert_string_equal(sb_flag_option(SB_FLAGS_REVERT, SB_SNAPSHOT_REVERT_RESET_NVRAM),
                        "reset-nvram");
    /* every defined bit of every family has both names */
    const unsigned all[] = { SB_SNAPSHOT_CREATE_ALL, SB_SNAPSHOT_REVERT_ALL,
                             SB_SNAPSHOT_DELETE_ALL, SB_SNAPSHOT_LIST_ALL,
                             SB_SNAPSHOT_LIST_ALL, SB_SNAPSHOT_XML_ALL };
    for (int f = 0; f < 6; f++)
        for (unsigned bit = 1; bit; bit <<= 1) {
            assert_true(!(all[f] & bit) == !sb_flag_name(f, bit));
            assert_true(!(all[f] & bit) == !sb_flag_option(f, bit));
        }
    assert_string_equal(sb_flags_describe(buf, sizeof(buf), SB_FLAGS_DELETE, 0x9),
                        "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN|0x8 (0x9)");
    assert_string_equal(sb_flags_describe(buf, sizeof(buf), SB_FLAGS_DELETE, 0x18), "0x18");
    assert_string_equal(sb_flags_describe(buf, 12, SB_FLAGS_XML, 1), "VIR_DOMAIN_");
}

static void test_missing(void **state)
{
    int rc;

    (void)state;
    check_error(sb_dispatch_missing(good, "domain_define"), SB_ERR_NO_SUPPORT,
                "plugin 'good' does not support domain_define");
    SB_DISPATCH(rc, good, domain_resume, NULL, "x", 0);
    check_error(rc, SB_ERR_NO_SUPPORT, "plugin 'good' does not support domain_resume");
}

/* fx_good's snapshot_create fails without a message. */
static void test_failure_without_message(void **state)
{
    char *xml = NULL;
    int rc;

    (void)state;
    sb_error_set(SB_ERR_XML_ERROR, "left over from an earlier call");
    SB_DISPATCH(rc, good, snapshot_create, &xml, NULL, "d", "<domainsnapshot/>", 0);
    check_error(rc, SB_ERR_INTERNAL_ERROR,
                "plugin 'good' failed in snapshot_create without a message");
}

/* fx_good's snapshot_revert returns -4242 (no such class). */
static void test_unknown_class(void **state)
{
    char *xml = NULL;
    int rc;

    (void)state;
    SB_DISPATCH(rc, good, snapshot_revert, &xml, NULL, "d", "<domainsnapshot/>", 0);
    check_error(rc, SB_ERR_INTERNAL_ERROR, "failed in snapshot_revert with unknown error class",
                "revert failed");
}

static int warn_lines;
static void count_sink(void *data, int level, const char *origin, const char *msg)
{
    (void)data;
    (void)origin;
    if (level == SB_LOG_WARN && strstr(msg, "stray message"))
        warn_lines++;
}

/* fx_good's snapshot_delete succeeds but leaves an error behind. */
static void test_success_with_error(void **state)
{
    int rc;

    (void)state;
    warn_lines = 0;
    sb_log_set_sink(count_sink, NULL);
    SB_DISPATCH(rc, good, snapshot_delete, NULL, "d", "<domainsnapshot/>", 0);
    sb_log_set_sink(NULL, NULL);
    assert_int_equal(rc, 0);
    assert_false(sb_error_is_set());
    assert_int_equal(warn_lines, 1);
}

static void test_end_class_mismatch(void **state)
{
    (void)state;
    sb_dispatch_begin();
    sb_error_set(SB_ERR_HYPERVISOR, "qemu-img said no");
    check_error(sb_dispatch_end(good, "snapshot_create", -SB_ERR_OPERATION_INVALID),
                SB_ERR_OPERATION_INVALID, "qemu-img said no");
    sb_dispatch_begin();
    sb_error_set(SB_ERR_HYPERVISOR, "consistent");
    check_error(sb_dispatch_end(good, "snapshot_create", -SB_ERR_HYPERVISOR), SB_ERR_HYPERVISOR,
                "consistent");
    sb_dispatch_begin();
    assert_int_equal(sb_dispatch_end(good, "snapshot_exists", 1), 1);
}

/* Only snapshot_exists answers with a positive value: elsewhere it says
 * neither that the work was done nor why not. */
static void test_end_positive(void **state)
{
    (void)state;
    sb_dispatch_begin();
    check_error(sb_dispatch_end(good, "snapshot_create", 5), SB_ERR_INTERNAL_ERROR,
                "returned 5 from snapshot_create, which returns 0 or a negative error class");
    sb_dispatch_begin();
    assert_int_equal(sb_dispatch_end(good, "snapshot_exists", 0), 0);
}

/* ---- host services ---------------------------------------------------- */

static void test_host_set_error(void **state)
{
    const struct sb_host_api *api = sb_host_api_table();

    (void)state;
    assert_int_equal(api->struct_size, sizeof(struct sb_host_api));
    assert_int_equal(api->abi_major, SB_PLUGIN_ABI_MAJOR);
    check_error(api->set_error(NULL, SB_ERR_HYPERVISOR, "disk %s: %d", "vda", 5),
                SB_ERR_HYPERVISOR, "disk vda: 5");
    /* exact message, no prefix */
    assert_string_equal(sb_error_last()->message, "disk vda: 5");
    check_error(api->set_error(NULL, -SB_ERR_NO_DOMAIN, "neg"), SB_ERR_NO_DOMAIN, "neg");
    check_error(api->set_error(NULL, 777, "odd"), SB_ERR_INTERNAL_ERROR, "odd",
                "unknown error class 777");
    check_error(api->set_error(NULL, 0, "zero"), SB_ERR_INTERNAL_ERROR, "zero");
    /* no class; its negation overflowed (UBSan) */
    check_error(api->set_error(NULL, INT_MIN, "min"), SB_ERR_INTERNAL_ERROR, "min");
    assert_string_equal(sb_error_class_name(INT_MIN), "UNKNOWN");
}

struct lines {
    int n;
    char last[600];
    int last_level;
};
static void collect(void *data, int level, const char *origin, const char *msg)
{
    struct lines *l = data;
    l->n++;
    l->last_level = level;
    snprintf(l->last, sizeof(l->last), "%s: %s", origin, msg);
}

static void test_log_ring_and_levels(void **state)
{
    const struct sb_host_api *api = sb_host_api_table();
    struct sb_host_params hp = {.plugin = "good", .host = "h1"};
    struct lines l = {0};
    sb_host *h;
    int i;

    (void)state;
    assert_int_equal(sb_host_new(&h, &hp), 0);
    sb_log_ring_drain(NULL, NULL);
    sb_log_set_level(SB_LOG_WARN);
    api->log(h, SB_LOG_DEBUG, "hidden %d", 1);
    api->log(h, SB_LOG_WARN, "shown %d", 2);
    assert_int_equal(sb_log_ring_drain(collect, &l), 1);
    assert_string_equal(l.last, "plugin good (host h1): shown 2");
    assert_int_equal(l.last_level, SB_LOG_WARN);

    sb_log_set_level(SB_LOG_DEBUG);
    for (i = 0; i < SB_LOG_RING_SIZE + 3; i++)
        api->log(NULL, SB_LOG_DEBUG, "line %d", i);
    memset(&l, 0, sizeof(l));
    assert_int_equal(sb_log_ring_drain(collect, &l), SB_LOG_RING_SIZE);
    assert_int_equal(l.n, SB_LOG_RING_SIZE + 1); /* + "3 older log lines dropped" */
    assert_string_equal(l.last, "plugin: line 66");
    assert_int_equal(sb_log_ring_drain(collect, &l), 0);
    sb_log_set_level(SB_LOG_WARN);
    assert_int_equal(sb_log_level_parse("info"), SB_LOG_INFO);
    assert_int_equal(sb_log_level_parse("verbose"), 0);
    assert_string_equal(sb_log_level_name(SB_LOG_ERROR), "error");
    sb_host_free(h);
}

static unsigned last_percent;
static char last_what[64];
static void progress_sink(void *data, const char *plugin, const char *host, const char *what,
                          unsigned percent)
{
    (void)data;
    (void)plugin;
    (void)host;
    snprintf(last_what, sizeof(last_what), "%s", what);
    last_percent = percent;
}

static void test_memory_and_progress(void **state)
{
    const struct sb_host_api *api = sb_host_api_table();
    struct sb_host_params hp = {.plugin = "good", .host = "h1"};
    sb_host *h;
    char *s, *z;

    (void)state;
    assert_int_equal(sb_host_new(&h, &hp), 0);
    z = api->alloc(16);
    assert_non_null(z);
    assert_int_equal(z[15], 0);
    assert_non_null(z = api->realloc(z, 64));
    api->free(z);
    assert_non_null(z = api->alloc(0)); /* never NULL for 0 bytes */
    api->free(z);
    s = api->strdup("abc");
    assert_string_equal(s, "abc");
    free(s); /* the broker frees with free(): same allocator */
    assert_null(api->strdup(NULL));

    api->progress(h, "copy", 40); /* no sink: nothing happens */
    sb_host_set_progress_sink(h, progress_sink, NULL);
    api->progress(h, "copy", 140);
    assert_int_equal(last_percent, 100);
    assert_string_equal(last_what, "copy");
    sb_host_free(h);
}

static void test_state_dir(void **state)
{
    const struct sb_host_api *api = sb_host_api_table();
    char root[4096], dir[4200];
    struct sb_host_params hp = {.plugin = "good", .host = "h1"};
    struct stat st;
    sb_host *h;

    (void)state;
    make_tmpdir(root, sizeof(root), "state");
    snprintf(dir, sizeof(dir), "%s/hosts/h1/good", root);
    hp.state_dir = dir;
    hp.state_root = root;
    assert_int_equal(sb_host_new(&h, &hp), 0);
    assert_int_not_equal(stat(dir, &st), 0); /* on demand only */
    assert_string_equal(api->state_dir(h), dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 077, 0);
    assert_string_equal(api->state_dir(h), dir);
    sb_host_free(h);

    /* a file in the way */
    snprintf(dir, sizeof(dir), "%s/hosts/h1/good/file", root);
    fclose(fopen(dir, "w"));
    snprintf(dir, sizeof(dir), "%s/hosts/h1/good/file/sub", root);
    assert_int_equal(sb_host_new(&h, &hp), 0);
    assert_null(api->state_dir(h));
    check_error(-SB_ERR_STORE, SB_ERR_STORE, "hosts/h1/good/file'", "is not a directory");
    sb_host_free(h);

    hp.state_dir = NULL;
    assert_int_equal(sb_host_new(&h, &hp), 0);
    assert_null(api->state_dir(h));
    check_error(-SB_ERR_INTERNAL_ERROR, SB_ERR_INTERNAL_ERROR, "no state directory");
    sb_host_free(h);
    rm_rf(root);
}

static int fake_view_calls;
static int fake_snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    (void)xml;
    fake_view_calls++;
    *out = calloc(1, sizeof(**out));
    (*out)->name = sb_host_ctx(h);
    return 0;
}
static void fake_view_free(struct sb_snapshot_view *v)
{
    free(v);
}
static int fake_tree_current(sb_host *h, const char *domain, char **out)
{
    (void)domain;
    *out = strdup(sb_host_ctx(h));
    return 0;
}

static void test_xml_and_tree_hooks(void **state)
{
    const struct sb_host_api *api = sb_host_api_table();
    struct sb_host_params hp = {.plugin = "good", .host = "h1"};
    struct sb_host_xml_ops xo = {.snapshot_view = fake_snapshot_view,
                                 .snapshot_view_free = fake_view_free};
    struct sb_host_tree_ops to = {.tree_current = fake_tree_current};
    struct sb_snapshot_view *v = (void *)1;
    struct sb_domain_view *dv = (void *)1;
    char *name = (char *)1, **names = (char **)1;
    size_t n = 9;
    sb_host *h;

    (void)state;
    assert_int_equal(sb_host_new(&h, &hp), 0);
    static char ctx_value[] = "ctx-value";
    sb_host_set_ctx(h, ctx_value);
    check_error(api->snapshot_view(h, "<x/>", &v), SB_ERR_NO_SUPPORT,
                "host service 'snapshot_view' is not available");
    assert_null(v);
    check_error(api->domain_view(h, "<x/>", &dv), SB_ERR_NO_SUPPORT, "'domain_view'");
    assert_null(dv);
    api->snapshot_view_free(NULL);
    check_error(api->tree_current(h, "d", &name), SB_ERR_NO_SUPPORT, "'tree_current'");
    assert_null(name);
    check_error(api->tree_list(h, "d", &names, &n), SB_ERR_NO_SUPPORT, "'tree_list'");
    assert_null(names);
    assert_int_equal(n, 0);

    sb_host_set_xml_ops(&xo);
    sb_host_set_tree_ops(h, &to);
    assert_int_equal(api->snapshot_view(h, "<x/>", &v), 0);
    assert_string_equal(v->name, "ctx-value");
    api->snapshot_view_free(v);
    assert_int_equal(fake_view_calls, 1);
    assert_int_equal(api->tree_current(h, "d", &name), 0);
    assert_string_equal(name, "ctx-value");
    free(name);
    check_error(api->tree_parent(h, "d", "s", &name), SB_ERR_NO_SUPPORT, "'tree_parent'");
    sb_host_set_xml_ops(NULL);
    sb_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_flags),
        cmocka_unit_test(test_flag_names),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_failure_without_message),
        cmocka_unit_test(test_unknown_class),
        cmocka_unit_test(test_success_with_error),
        cmocka_unit_test(test_end_class_mismatch),
        cmocka_unit_test(test_end_positive),
        cmocka_unit_test(test_host_set_error),
        cmocka_unit_test(test_log_ring_and_levels),
        cmocka_unit_test(test_memory_and_progress),
        cmocka_unit_test(test_state_dir),
        cmocka_unit_test(test_xml_and_tree_hooks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
