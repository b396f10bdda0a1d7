/* tests/qemu - end to end through the broker's public API (snapbroker.h):
 * no configuration, the embedded default host "local" (qemu plugin), a
 * scratch SNAPBROKER_STATE_DIR.  One case per create/revert/delete path;
 * each writes a pattern, snapshots, overwrites, reverts and reads the
 * pattern back with qemu-io (e2e.h), and checks tags and chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static void offline_internal(void **state)
{
    (void)state;
    e2e_define("oi");
    assert_int_equal(e2e_snap("oi", "s1", NULL, 0), 0);
    print_message("# offline internal create %.1f ms\n", E.last_ms);
    assert_true(e2e_has_tag(e2e_path("oi-vda.qcow2"), "s1"));
    assert_true(e2e_has_tag(e2e_path("oi-vdb.qcow2"), "s1"));
    e2e_off_write("oi", "vda", 0xbb);
    e2e_off_write("oi", "vdb", 0xbb);
    assert_int_equal(e2e_revert("oi", "s1", 0), 0);
    print_message("# offline internal revert %.1f ms\n", E.last_ms);
    assert_int_equal(e2e_state("oi"), SB_DOMAIN_SHUTOFF);
    assert_true(e2e_off_check("oi", "vda", 0xaa));
    assert_true(e2e_off_check("oi", "vdb", 0xaa));
    assert_int_equal(e2e_del("oi", "s1", 0), 0);
    print_message("# offline internal delete %.1f ms\n", E.last_ms);
    assert_false(e2e_in_tree("oi", "s1"));
    assert_false(e2e_has_tag(e2e_path("oi-vda.qcow2"), "s1"));
    assert_false(e2e_has_tag(e2e_path("oi-vdb.qcow2"), "s1"));
    assert_true(e2e_off_check("oi", "vda", 0xaa)); /* a delete never changes data */
}

static void offline_external(void **state)
{
    (void)state;
    e2e_define("oe");
    assert_int_equal(e2e_snap("oe", "e1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    print_message("# offline external create %.1f ms\n", E.last_ms);
    char *src = e2e_source("oe", "vda");
    assert_string_equal(src, e2e_path("oe-vda.e1")); /* libvirt's default name */
    assert_int_equal(e2e_chain_len(src), 2);
    free(src);
    e2e_off_write("oe", "vda", 0xcc);
    assert_int_equal(e2e_revert("oe", "e1", 0), 0);
    print_message("# offline external revert %.1f ms\n", E.last_ms);
    assert_true(e2e_off_check("oe", "vda", 0xaa));
    assert_false(qp_file_exists(e2e_path("oe-vda.e1"))); /* nothing needs it any more */
    e2e_off_write("oe", "vda", 0xdd);
    assert_int_equal(e2e_del("oe", "e1", 0), 0);
    print_message("# offline external delete (commit) %.1f ms\n", E.last_ms);
    src = e2e_source("oe", "vda");
    assert_string_equal(src, e2e_path("oe-vda.qcow2"));
    assert_int_equal(e2e_chain_len(src), 1);
    free(src);
    assert_true(e2e_off_check("oe", "vda", 0xdd));
    assert_true(e2e_off_check("oe", "vdb", 0xaa));
}

static void running_internal(void **state)
{
    (void)state;
    e2e_define("ri");
    assert_int_equal(sb_domain_start(E.c, "ri", 0), 0);
    e2e_on_write("ri", "vda", 0x11);
    assert_int_equal(e2e_snap("ri", "r1", NULL, 0), 0);
    print_message("# running internal create %.1f ms\n", E.last_ms);
    sb_snapshot_info info;
    assert_int_equal(sb_snapshot_info_get(&info, E.c, "ri", "r1"), 0);
    assert_int_equal(info.state, SB_STATE_RUNNING);
    e2e_on_write("ri", "vda", 0x22);
    pid_t before = e2e_qemu_pid("ri");
    assert_int_equal(e2e_revert("ri", "r1", 0), 0);
    print_message("# running internal revert (in place) %.1f ms\n", E.last_ms);
    assert_int_equal(e2e_qemu_pid("ri"), before);
    assert_int_equal(e2e_state("ri"), SB_DOMAIN_RUNNING);
    assert_true(e2e_on_check("ri", "vda", 0x11));
    /* memory: the guest's tick counter is back at its snapshot-time value */
    e2e_wait_ticking("ri");
    assert_int_equal(sb_domain_suspend(E.c, "ri"), 0);
    unsigned t1 = e2e_tick("ri");
    assert_int_equal(e2e_snap("ri", "r2", NULL, 0), 0);
    assert_int_equal(sb_domain_resume(E.c, "ri"), 0);
    unsigned t2 = e2e_wait_tick_moves("ri", t1);
    assert_int_equal(e2e_revert("ri", "r2", 0), 0);
    assert_int_equal(e2e_state("ri"), SB_DOMAIN_PAUSED); /* r2 was paused */
    unsigned t3 = e2e_tick("ri");
    print_message("# ticks %u -> %u, after revert %u\n", t1, t2, t3);
    assert_int_equal(t3, t1);
    assert_int_equal(e2e_del("ri", "r2", 0), 0);
    print_message("# running internal delete %.1f ms\n", E.last_ms);
    assert_int_equal(e2e_del("ri", "r1", 0), 0);
    assert_false(e2e_has_tag(e2e_path("ri-vda.qcow2"), "r1"));
    assert_false(e2e_has_tag(e2e_path("ri-vda.qcow2"), "r2"));
    e2e_stop("ri");
}

static void running_disk_only(void **state)
{
    (void)state;
    e2e_define("rd");
    assert_int_equal(sb_domain_start(E.c, "rd", 0), 0);
    e2e_on_write("rd", "vda", 0x21);
    assert_int_equal(e2e_snap("rd", "d1", NULL, SB_SNAPSHOT_CREATE_DISK_ONLY |
                                                 SB_SNAPSHOT_CREATE_ATOMIC), 0);
    print_message("# running disk-only create %.1f ms\n", E.last_ms);
    assert_int_equal(e2e_state("rd"), SB_DOMAIN_RUNNING);
    char *src = e2e_source("rd", "vda");
    assert_string_equal(src, e2e_path("rd-vda.d1"));
    free(src);
    e2e_on_write("rd", "vda", 0x22);
    assert_true(e2e_on_check("rd", "vda", 0x22));
    assert_true(e2e_img_check(e2e_path("rd-vda.qcow2"), 0x21)); /* the captured image */
    assert_int_equal(sb_domain_destroy(E.c, "rd"), 0);
    /* a disk-only snapshot reverts like an offline one */
    assert_int_equal(e2e_revert("rd", "d1", 0), 0);
    print_message("# revert to disk-only %.1f ms\n", E.last_ms);
    assert_int_equal(e2e_state("rd"), SB_DOMAIN_SHUTOFF);
    assert_true(e2e_off_check("rd", "vda", 0x21));
    e2e_off_write("rd", "vda", 0x23);
    assert_int_equal(sb_domain_start(E.c, "rd", 0), 0);
    assert_int_equal(e2e_del("rd", "d1", 0), 0); /* running: active block-commit */
    print_message("# running external delete (active commit) %.1f ms\n", E.last_ms);
    src = e2e_source("rd", "vda");
    assert_string_equal(src, e2e_path("rd-vda.qcow2"));
    free(src);
    assert_true(e2e_on_check("rd", "vda", 0x23));
    e2e_stop("rd");
}

static void full_external(void **state)
{
    (void)state;
    e2e_define("fe");
    assert_int_equal(sb_domain_start(E.c, "fe", 0), 0);
    e2e_on_write("fe", "vda", 0x31);
    e2e_wait_ticking("fe");
    assert_int_equal(sb_domain_suspend(E.c, "fe"), 0);
    unsigned t1 = e2e_tick("fe");
    char *mem = qp_printf("<memory snapshot='external' file='%s'/>", e2e_path("fe.mem"));
    assert_int_equal(e2e_snap("fe", "f1", mem, 0), 0);
    print_message("# full external create %.1f ms\n", E.last_ms);
    free(mem);
    assert_true(qp_file_size(e2e_path("fe.mem")) > 0);
    assert_int_equal(e2e_state("fe"), SB_DOMAIN_PAUSED);
    assert_int_equal(sb_domain_resume(E.c, "fe"), 0);
    e2e_on_write("fe", "vda", 0x32);
    e2e_wait_tick_moves("fe", t1); /* the guest runs on after the snapshot */
    assert_int_equal(e2e_revert("fe", "f1", 0), 0);
    print_message("# revert to full external %.1f ms\n", E.last_ms);
    assert_int_equal(e2e_state("fe"), SB_DOMAIN_PAUSED);
    assert_int_equal(e2e_tick("fe"), t1);
    assert_true(e2e_on_check("fe", "vda", 0x31));
    assert_int_equal(e2e_del("fe", "f1", 0), 0);
    assert_false(qp_file_exists(e2e_path("fe.mem")));
    char *src = e2e_source("fe", "vda");
    assert_string_equal(src, e2e_path("fe-vda.qcow2"));
    free(src);
    assert_true(e2e_on_check("fe", "vda", 0x31));
    e2e_stop("fe");
}

/* NO_METADATA: QEMU's storage has the snapshot, the tree does not. */
static void no_metadata(void **state)
{
    (void)state;
    e2e_define("nm");
    assert_int_equal(e2e_snap("nm", "n1", NULL, SB_SNAPSHOT_CREATE_NO_METADATA), 0);
    assert_false(e2e_in_tree("nm", "n1"));
    assert_true(e2e_has_tag(e2e_path("nm-vda.qcow2"), "n1"));
    char *cur = NULL;
    assert_int_equal(sb_snapshot_current(&cur, E.c, "nm"), -SB_ERR_NO_DOMAIN_SNAPSHOT);
    assert_int_equal(e2e_snap("nm", "s2", NULL, 0), 0);
    e2e_off_write("nm", "vda", 0x41);
    assert_int_equal(e2e_revert("nm", "s2", 0), 0);
    assert_int_equal(e2e_del("nm", "s2", 0), 0);
    assert_true(e2e_has_tag(e2e_path("nm-vda.qcow2"), "n1")); /* untouched */
    assert_true(e2e_off_check("nm", "vda", 0xaa));
}

/* REDEFINE brings back a snapshot deleted with METADATA_ONLY (its data
 * was left alone), and a revert to it works. */
static void redefine(void **state)
{
    (void)state;
    e2e_define("rf");
    assert_int_equal(e2e_snap("rf", "s1", NULL, 0), 0);
    char *xml = NULL;
    assert_int_equal(sb_snapshot_get_xml(&xml, E.c, "rf", "s1", 0), 0);
    assert_int_equal(e2e_del("rf", "s1", SB_SNAPSHOT_DELETE_METADATA_ONLY), 0);
    assert_false(e2e_in_tree("rf", "s1"));
    assert_true(e2e_has_tag(e2e_path("rf-vda.qcow2"), "s1"));
    e2e_off_write("rf", "vda", 0x61);
    e2e_off_write("rf", "vdb", 0x61);
    char *name = NULL;
    assert_int_equal(sb_snapshot_create_xml(&name, E.c, "rf", xml,
                                            SB_SNAPSHOT_CREATE_REDEFINE |
                                                SB_SNAPSHOT_CREATE_CURRENT), 0);
    assert_string_equal(name, "s1");
    free(name);
    free(xml);
    assert_true(e2e_in_tree("rf", "s1"));
    assert_int_equal(e2e_revert("rf", "s1", 0), 0);
    assert_true(e2e_off_check("rf", "vda", 0xaa));
    assert_true(e2e_off_check("rf", "vdb", 0xaa));
}

/* i1 (internal, base) -> e1 (external overlay) -> i2 (internal, in the
 * overlay).  Deletes never change the domain's current data. */
static void build_mixed(const char *dom, const char *ext, const char *inner, int pat)
{
    e2e_off_write(dom, "vda", pat);
    assert_int_equal(e2e_snap(dom, ext, NULL, SB_SNAPSHOT_CREATE_DISK_ONLY), 0);
    e2e_off_write(dom, "vda", pat + 1);
    assert_int_equal(e2e_snap(dom, inner, NULL, 0), 0);
    e2e_off_write(dom, "vda", pat + 2);
}

static void children(void **state)
{
    (void)state;
    e2e_define("mx");
    const char *base = e2e_path("mx-vda.qcow2");
    assert_int_equal(e2e_snap("mx", "i1", NULL, 0), 0);
    build_mixed("mx", "e1", "i2", 0x51);
    assert_true(e2e_has_tag(e2e_path("mx-vda.e1"), "i2"));
    assert_int_equal(e2e_del("mx", "i1", SB_SNAPSHOT_DELETE_CHILDREN_ONLY), 0);
    print_message("# CHILDREN_ONLY over internal+external %.1f ms\n", E.last_ms);
    assert_true(e2e_in_tree("mx", "i1"));
    assert_false(e2e_in_tree("mx", "e1"));
    assert_false(e2e_in_tree("mx", "i2"));
    assert_false(qp_file_exists(e2e_path("mx-vda.e1"))); /* merged into the base */
    char *src = e2e_source("mx", "vda");
    assert_string_equal(src, base);
    free(src);
    assert_true(e2e_off_check("mx", "vda", 0x53));
    assert_true(e2e_has_tag(base, "i1"));
    /* the tree is internal-only again: i1 can be applied */
    assert_int_equal(e2e_revert("mx", "i1", 0), 0);
    assert_true(e2e_off_check("mx", "vda", 0xaa));
    build_mixed("mx", "e2", "i3", 0x71);
    assert_int_equal(e2e_del("mx", "i1", SB_SNAPSHOT_DELETE_CHILDREN), 0);
    print_message("# CHILDREN over internal+external %.1f ms\n", E.last_ms);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(sb_snapshot_list(&names, &n, E.c, "mx", NULL, 0), 0);
    assert_int_equal(n, 0);
    sb_names_free(names, n);
    assert_false(e2e_has_tag(base, "i1"));
    src = e2e_source("mx", "vda");
    assert_string_equal(src, base);
    free(src);
    assert_int_equal(e2e_chain_len(base), 1);
    assert_true(e2e_off_check("mx", "vda", 0x73));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offline_internal),
        cmocka_unit_test(offline_external),
        cmocka_unit_test(running_internal),
        cmocka_unit_test(running_disk_only),
        cmocka_unit_test(full_external),
        cmocka_unit_test(no_metadata),
        cmocka_unit_test(redefine),
        cmocka_unit_test(children),
    };
    return cmocka_run_group_tests(tests, e2e_setup, e2e_teardown);
}
