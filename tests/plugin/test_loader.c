/* Loader tests: every broken fixture .so is refused with the right class
 * and a message naming the file and the reason; the good, old and newer
 * ones load. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>

#include "plugin/dispatch.h"
#include "plugin/loader.h"
#include "plugin/validate.h"

static sb_plugin_registry *reg;

static int setup(void **state)
{
    (void)state;
    return sb_registry_new(&reg);
}

static int teardown(void **state)
{
    (void)state;
    sb_registry_free(reg);
    reg = NULL;
    return 0;
}

static void refused(const char *file, int cls, const char *reason)
{
    const sb_loaded_plugin *p = (const sb_loaded_plugin *)1;
    int rc = sb_registry_load_file(&p, reg, file);

    assert_null(p);
    check_error(rc, cls, file, reason);
    assert_int_equal(sb_registry_count(reg), 0);
}

static void test_good_loads(void **state)
{
    const sb_loaded_plugin *p;

    (void)state;
    assert_int_equal(sb_registry_load_file(&p, reg, FIXTURE("fx_good")), 0);
    assert_string_equal(p->name, "good");
    assert_string_equal(p->version, "1.0");
    assert_string_equal(p->path, FIXTURE("fx_good"));
    assert_int_equal(p->table_size, sizeof(struct sb_plugin));
    assert_ptr_equal(p->ops.caps, &p->caps);
    assert_int_equal(p->caps.meta_owner, SB_META_BROKER);
    assert_true(sb_dispatch_has(p, SB_OP_SNAPSHOT_CREATE));
    assert_false(sb_dispatch_has(p, SB_OP_DOMAIN_START));
    assert_ptr_equal(sb_registry_find(reg, "good"), p);
    assert_null(sb_registry_find(reg, "nope"));
    assert_false(sb_error_is_set());
}

static void test_same_file_twice(void **state)
{
    const sb_loaded_plugin *a, *b;

    (void)state;
    assert_int_equal(sb_registry_load_file(&a, reg, FIXTURE("fx_good")), 0);
    /* another spelling of the same file: the same record, entry not rerun */
    assert_int_equal(sb_registry_load_file(&b, reg, FIXTURE_DIR "/../broken/fx_good.so"), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(sb_registry_count(reg), 1);
}

static void test_missing_file(void **state)
{
    (void)state;
    refused(FIXTURE_DIR "/does_not_exist.so", SB_ERR_PLUGIN_LOAD, "No such file or directory");
}

static void test_no_entry(void **state)
{
    (void)state;
    refused(FIXTURE("fx_no_entry"), SB_ERR_PLUGIN_LOAD, "no entry point sb_plugin_entry_v1");
}

static void test_wrong_major(void **state)
{
    (void)state;
    refused(FIXTURE("fx_wrong_major"), SB_ERR_PLUGIN_ABI, "ABI major 2, the broker has 1");
}

static void test_too_short(void **state)
{
    (void)state;
    refused(FIXTURE("fx_too_short"), SB_ERR_PLUGIN_ABI, "driver table too short");
}

static void test_nonzero_tail(void **state)
{
    (void)state;
    refused(FIXTURE("fx_nonzero_tail"), SB_ERR_PLUGIN_ABI, "driver table has non-zero bytes");
}

static void test_missing_mandatory(void **state)
{
    (void)state;
    refused(FIXTURE("fx_missing_mandatory"), SB_ERR_PLUGIN_ABI,
            "mandatory callback 'snapshot_revert' is NULL");
}

static void test_unknown_bits(void **state)
{
    (void)state;
    refused(FIXTURE("fx_unknown_bits"), SB_ERR_PLUGIN_ABI,
            "create_flags has unknown bits 0x100000");
}

static void test_bad_name(void **state)
{
    (void)state;
    refused(FIXTURE("fx_bad_name"), SB_ERR_PLUGIN_ABI, "invalid plugin name 'Bad Name'");
}

static void test_duplicate_name(void **state)
{
    const sb_loaded_plugin *a, *b = NULL;
    int rc;

    (void)state;
    assert_int_equal(sb_registry_load_file(&a, reg, FIXTURE("fx_dup_a")), 0);
    rc = sb_registry_load_file(&b, reg, FIXTURE("fx_dup_b"));
    assert_null(b);
    check_error(rc, SB_ERR_PLUGIN_LOAD, FIXTURE("fx_dup_b"), FIXTURE("fx_dup_a"),
                "plugin name 'dup' is already loaded");
    assert_int_equal(sb_registry_count(reg), 1);
}

static void test_entry_error_with_message(void **state)
{
    char reason[96];

    (void)state;
    /* the fixture asks for five minors more than the broker has */
    snprintf(reason, sizeof(reason), "entry refused to load: needs broker ABI 1.%u or newer",
             SB_PLUGIN_ABI_MINOR + 5);
    refused(FIXTURE("fx_entry_error_msg"), SB_ERR_PLUGIN_ABI, reason);
}

static void test_entry_error_silent(void **state)
{
    (void)state;
    refused(FIXTURE("fx_entry_error_silent"), SB_ERR_PLUGIN_LOAD,
            "failed (PLUGIN_LOAD) without a message");
}

/* INT_MIN is refused as a return that is no class (the loader negated it,
 * which is undefined: UBSan stopped there). */
static void test_entry_int_min(void **state)
{
    (void)state;
    refused(FIXTURE("fx_entry_int_min"), SB_ERR_PLUGIN_LOAD,
            "returned -2147483648 (expected 0 or a negative error class)");
}

static void test_bad_meta_owner(void **state)
{
    (void)state;
    refused(FIXTURE("fx_bad_meta_owner"), SB_ERR_PLUGIN_ABI,
            "capability meta_owner has invalid value 7");
}

static void test_hv_metadata_needs_hypervisor_owner(void **state)
{
    (void)state;
    refused(FIXTURE("fx_hv_metadata_broker"), SB_ERR_PLUGIN_ABI,
            "hv_has_metadata is 1 but meta_owner is not HYPERVISOR");
}

static void test_hypervisor_meta_needs_list(void **state)
{
    (void)state;
    refused(FIXTURE("fx_hv_no_list"), SB_ERR_PLUGIN_ABI,
            "mandatory callback 'snapshot_list' is NULL (required when meta_owner is "
            "HYPERVISOR)");
}

static void test_caps_nonzero_tail(void **state)
{
    (void)state;
    refused(FIXTURE("fx_caps_tail"), SB_ERR_PLUGIN_ABI,
            "capabilities block has non-zero bytes past the broker's size");
}

static void test_null_caps(void **state)
{
    (void)state;
    refused(FIXTURE("fx_null_caps"), SB_ERR_PLUGIN_ABI, "no capabilities block");
}

/* An old plugin whose table ends with the mandatory part loads; every
 * optional operation is NO_SUPPORT, and the copy did not read past its
 * table (ASan would report the global-buffer-overflow). */
static void test_old_minimal_loads(void **state)
{
    const sb_loaded_plugin *p;
    int rc;

    (void)state;
    assert_int_equal(sb_registry_load_file(&p, reg, FIXTURE("fx_old_minimal")), 0);
    assert_int_equal(p->table_size, SB_PLUGIN_SIZE_MIN);
    assert_null(p->ops.domain_define);
    assert_null(p->ops.snapshot_exists);
    SB_DISPATCH(rc, p, domain_start, NULL, "dom", 0);
    check_error(rc, SB_ERR_NO_SUPPORT, "plugin 'old' does not support domain_start");
    SB_DISPATCH(rc, p, snapshot_exists, NULL, "dom", "<domainsnapshot/>");
    check_error(rc, SB_ERR_NO_SUPPORT, "plugin 'old' does not support snapshot_exists");
}

static void test_newer_zero_tail_loads(void **state)
{
    const sb_loaded_plugin *p;

    (void)state;
    assert_int_equal(sb_registry_load_file(&p, reg, FIXTURE("fx_newer")), 0);
    assert_true(p->table_size > sizeof(struct sb_plugin));
    assert_int_equal(p->abi_minor, SB_PLUGIN_ABI_MINOR + 1);
    assert_string_equal(p->name, "newer");
}

/* The plugin author's guide example is built and must load. */
static void test_docs_example_loads(void **state)
{
    const sb_loaded_plugin *p;

    (void)state;
    assert_int_equal(sb_registry_load_file(&p, reg, SB_BUILD_ROOT "/tests/plugins/minimal.so"), 0);
    assert_string_equal(p->name, "minimal");
    assert_int_equal(p->caps.disk_override, SB_DISK_OVERRIDE_NONE);
}

/* ---- validation rules on in-memory tables -------------------------- */

static int nop_open(sb_conn **o, sb_host *h, const char *u)
{
    (void)o, (void)h, (void)u;
    return 0;
}
static void nop_close(sb_conn *c)
{
    (void)c;
}
static int nop_list(char ***n, size_t *k, sb_conn *c, unsigned f)
{
    (void)n, (void)k, (void)c, (void)f;
    return 0;
}
static int nop_xml(char **x, sb_conn *c, const char *d, unsigned f)
{
    (void)x, (void)c, (void)d, (void)f;
    return 0;
}
static int nop_state(int *s, sb_conn *c, const char *d)
{
    (void)s, (void)c, (void)d;
    return 0;
}
static int nop_snap(char **x, sb_conn *c, const char *d, const char *s, unsigned f)
{
    (void)x, (void)c, (void)d, (void)s, (void)f;
    return 0;
}
static int nop_del(sb_conn *c, const char *d, const char *s, unsigned f)
{
    (void)c, (void)d, (void)s, (void)f;
    return 0;
}

static const struct sb_plugin_caps mem_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    .meta_owner = SB_META_BROKER,
    .disk_override = SB_DISK_OVERRIDE_MATCH,
    .default_location = SB_LOCATION_EXTERNAL,
    .names_unique = 1,
};

static struct sb_plugin mem_table(void)
{
    struct sb_plugin t = {
        .struct_size = sizeof(struct sb_plugin), .abi_major = SB_PLUGIN_ABI_MAJOR,
        .name = "mem", .caps = &mem_caps, .open = nop_open, .close = nop_close,
        .domain_list = nop_list, .domain_get_xml = nop_xml, .domain_get_state = nop_state,
        .snapshot_create = nop_snap, .snapshot_revert = nop_snap, .snapshot_delete = nop_del,
    };
    return t;
}

/* Members valid alone but contradicting each other are refused, on the
 * table's caps (load) as on a connection's (sb_plugin_caps_copy). */
static void test_caps_contradictions(void **state)
{
    sb_loaded_plugin rec;
    struct sb_plugin t = mem_table();
    struct sb_plugin_caps c = mem_caps, out;

    (void)state;
    memset(&rec, 0, sizeof(rec));
    t.caps = &c;
    c.names_unique = 0; /* the broker's store keeps names unique */
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI, "mem.so",
                "names_unique is 0 but meta_owner is BROKER");
    sb_plugin_record_clear(&rec);
    check_error(sb_plugin_caps_copy(&out, NULL, &c, "mem.so"), SB_ERR_PLUGIN_ABI,
                "names_unique is 0 but meta_owner is BROKER");
    c.meta_owner = SB_META_HYPERVISOR; /* a hypervisor may allow duplicates */
    assert_int_equal(sb_plugin_caps_copy(&out, NULL, &c, "mem.so"), 0);

    c = mem_caps;
    c.create_flags = SB_SNAPSHOT_CREATE_CURRENT; /* useless without REDEFINE */
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI, "mem.so",
                "VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT without VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE");
    sb_plugin_record_clear(&rec);
    c.create_flags |= SB_SNAPSHOT_CREATE_REDEFINE;
    assert_int_equal(sb_plugin_validate(&rec, &t, "mem.so"), 0);
    sb_plugin_record_clear(&rec);
}

static void test_validate_in_memory(void **state)
{
    sb_loaded_plugin rec;
    struct sb_plugin t = mem_table();
    struct sb_plugin_caps c = mem_caps;

    (void)state;
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(sb_plugin_validate(&rec, &t, "mem.so"), 0);
    assert_string_equal(rec.name, "mem");
    assert_string_equal(rec.version, ""); /* NULL strings become "" */
    sb_plugin_record_clear(&rec);

    t.struct_size = SB_PLUGIN_STRUCT_SIZE_MAX + 8;
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI, "mem.so",
                "implausible");
    sb_plugin_record_clear(&rec);

    t = mem_table();
    c.struct_size = SB_PLUGIN_CAPS_SIZE_MIN - 4;
    t.caps = &c;
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI,
                "capabilities block too short");
    sb_plugin_record_clear(&rec);

    c = mem_caps;
    c.default_location = SB_LOCATION_NO;
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI,
                "default_location has invalid value 1");
    sb_plugin_record_clear(&rec);

    c = mem_caps;
    c.revert_flags = 0x10;
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI,
                "revert_flags has unknown bits 0x10");
    sb_plugin_record_clear(&rec);

    t = mem_table();
    t.name = NULL;
    check_error(sb_plugin_validate(&rec, &t, "mem.so"), SB_ERR_PLUGIN_ABI,
                "invalid plugin name '(null)'");
    sb_plugin_record_clear(&rec);

    check_error(sb_plugin_validate(&rec, NULL, "mem.so"), SB_ERR_PLUGIN_ABI, "no driver table");
    sb_plugin_record_clear(&rec);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(sb_plugin_name_valid("qemu"));
    assert_true(sb_plugin_name_valid("0a_b-c"));
    assert_true(sb_plugin_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    assert_false(sb_plugin_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
    assert_false(sb_plugin_name_valid(""));
    assert_false(sb_plugin_name_valid("-x"));
    assert_false(sb_plugin_name_valid("_x"));
    assert_false(sb_plugin_name_valid("Qemu"));
    assert_false(sb_plugin_name_valid("a/b"));
    assert_false(sb_plugin_name_valid("a.so"));
    assert_false(sb_plugin_name_valid(NULL));
}

/* The since-minor table: every 1.0 callback is since 0, the 1.1 ones
 * (from conn_caps on) since 1, domain_is_active since 2, names match the members, and the mandatory
 * set is the documented one. */
static void test_op_table(void **state)
{
    unsigned op, mandatory = 0, hv = 0;

    (void)state;
    for (op = 0; op < SB_OP__COUNT; op++) {
        const struct sb_plugin_op_desc *d = sb_plugin_op_desc(op);
        assert_non_null(d);
        assert_int_equal(d->since_minor,
                         op >= SB_OP_DOMAIN_IS_ACTIVE ? 2 : op >= SB_OP_CONN_CAPS ? 1 : 0);
        mandatory += d->requirement == SB_OP_MANDATORY;
        hv += d->requirement == SB_OP_HYPERVISOR_META;
    }
    assert_int_equal(mandatory, 8);
    assert_int_equal(hv, 4);
    assert_null(sb_plugin_op_desc(SB_OP__COUNT));
    assert_string_equal(sb_plugin_op_desc(SB_OP_SNAPSHOT_EXISTS)->name, "snapshot_exists");
    assert_int_equal(sb_plugin_op_desc(SB_OP_SNAPSHOT_DELETE)->offset +
                         sizeof(void (*)(void)),
                     SB_PLUGIN_SIZE_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_file_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_major, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonzero_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_mandatory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_error_with_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_error_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_int_min, setup, teardown),
        cmocka_unit_test(test_caps_contradictions),
        cmocka_unit_test_setup_teardown(test_bad_meta_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hv_metadata_needs_hypervisor_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hypervisor_meta_needs_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caps_nonzero_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_minimal_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_zero_tail_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docs_example_loads, setup, teardown),
        cmocka_unit_test(test_validate_in_memory),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_op_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
