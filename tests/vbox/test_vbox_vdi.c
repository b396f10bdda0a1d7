/* The plugin's VDI code (plugins/vbox/vdi.c) against qemu's: bases made
 * with `qemu-img create -f vdi` and written with qemu-io; differencing
 * images made and written by the plugin; every image the plugin writes
 * passes `qemu-img check`; after each merge `qemu-img compare` agrees with
 * a raw file that received the same writes through qemu-io. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vb.h"
#include "vdi.h"
#include "vbox_fixture.h"

struct t {
    char dir[128];
    char base[256], raw[256];
    vb_ctx ctx;
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    fx_tmpdir(t->dir, sizeof t->dir, "vdi");
    snprintf(t->base, sizeof t->base, "%s/base.vdi", t->dir);
    snprintf(t->raw, sizeof t->raw, "%s/expected.raw", t->dir);
    assert_int_equal(fx_sh("qemu-img create -q -f vdi '%s' 8M", t->base), 0);
    assert_int_equal(fx_sh("qemu-img create -q -f raw '%s' 8M", t->raw), 0);
    vb_ctx_init(&t->ctx, NULL, NULL);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    vb_ctx_fini(&t->ctx);
    fx_rmrf(t->dir);
    free(t);
    return 0;
}

/* The same write into the qemu-written base and into the expected raw. */
static void qemu_write(struct t *t, int pattern, unsigned long long off, unsigned long long len)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "write -P 0x%02x %llu %llu", pattern, off, len);
    assert_int_equal(fx_qemu_io(t->base, "vdi", cmd), 0);
    assert_int_equal(fx_qemu_io(t->raw, "raw", cmd), 0);
}

static vb_vdi *open_vdi(struct t *t, const char *path, int writable)
{
    vb_vdi *v = NULL;
    if (vb_vdi_open(&t->ctx, path, writable, &v) != 0)
        fail_msg("open %s: %s", path, t->ctx.err_msg);
    return v;
}

static void new_diff(struct t *t, const char *parent, const char *path)
{
    char uuid[VB_UUID_LEN];
    vb_vdi *p = open_vdi(t, parent, 0);
    vb_uuid_generate(uuid);
    if (vb_vdi_create_diff(&t->ctx, path, p, uuid) != 0)
        fail_msg("create %s: %s", path, t->ctx.err_msg);
    vb_vdi_close(p);
}

/* A write through the plugin into chain[0], mirrored into the raw file. */
static void plugin_write(struct t *t, vb_vdi **chain, size_t n, int pattern,
                         unsigned long long off, size_t len)
{
    unsigned char *buf = malloc(len);
    char cmd[128];
    memset(buf, pattern, len);
    if (vb_vdi_chain_write(&t->ctx, chain, n, off, buf, len) != 0)
        fail_msg("write: %s", t->ctx.err_msg);
    free(buf);
    snprintf(cmd, sizeof cmd, "write -P 0x%02x %llu %zu", pattern, off, len);
    assert_int_equal(fx_qemu_io(t->raw, "raw", cmd), 0);
}

/* The chain read by the plugin equals the expected raw file. */
static void same_as_raw(struct t *t, vb_vdi **chain, size_t n)
{
    size_t size = 8 * FX_MIB;
    unsigned char *a = malloc(size), *b = malloc(size);
    int fd = open(t->raw, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, size, 0), (ssize_t)size);
    close(fd);
    if (vb_vdi_chain_read(&t->ctx, chain, n, 0, a, size) != 0)
        fail_msg("read: %s", t->ctx.err_msg);
    assert_memory_equal(a, b, size);
    free(a);
    free(b);
}

/* ... and so does qemu's view of the same chain. */
static void qemu_agrees(struct t *t, const char *const *paths, size_t n)
{
    char flat[256];
    snprintf(flat, sizeof flat, "%s/flat.raw", t->dir);
    assert_int_equal(fx_flatten(paths, n, flat), 0);
    assert_int_equal(fx_compare_raw(flat, t->raw), 0);
    unlink(flat);
}

static void diff_layout(void **state)
{
    struct t *t = *state;
    char diff[256];
    struct stat st;
    snprintf(diff, sizeof diff, "%s/diff.vdi", t->dir);
    new_diff(t, t->base, diff);
    vb_vdi *b = open_vdi(t, t->base, 0), *d = open_vdi(t, diff, 0);
    /* as VirtualBox lays out a differencing image */
    assert_int_equal(d->type, VB_VDI_DIFF);
    assert_int_equal(d->header_size, 400);
    assert_int_equal(d->off_blocks, 1u << 20);
    assert_int_equal(d->off_data, 2u << 20);
    assert_int_equal(d->block_size, 1u << 20);
    assert_int_equal(d->nblocks, 8);
    assert_int_equal(d->nalloc, 0);
    assert_true(d->disk_size == b->disk_size);
    for (uint32_t i = 0; i < d->nblocks; i++)
        assert_int_equal(d->bmap[i], VB_VDI_BLOCK_FREE);
    assert_memory_equal(d->parent, b->uuid, 16);
    assert_memory_equal(d->parent_modify, b->modify, 16);
    assert_memory_not_equal(d->uuid, b->uuid, 16);
    assert_int_equal(vb_vdi_check(&t->ctx, d), 0);
    vb_vdi_close(b);
    vb_vdi_close(d);
    assert_int_equal(stat(diff, &st), 0);
    assert_int_equal(st.st_size, 2 << 20);
    assert_int_equal(fx_qemu_check(diff), 0);
    /* never replaces a file */
    vb_vdi *p = open_vdi(t, t->base, 0);
    assert_int_equal(vb_vdi_create_diff(&t->ctx, diff, p, "6b1a0c2e-5f3d-4a8b-9c7e-000000000001"),
                     -SB_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(t->ctx.err_msg, "exists"));
    vb_vdi_close(p);
}

/* Partial-block writes fill the rest of the block from the parent. */
static void write_through_chain(void **state)
{
    struct t *t = *state;
    char diff[256];
    snprintf(diff, sizeof diff, "%s/diff.vdi", t->dir);
    qemu_write(t, 0xaa, 0, 3 * FX_MIB / 2);
    qemu_write(t, 0x11, 5 * FX_MIB, 4096);
    new_diff(t, t->base, diff);
    vb_vdi *d = open_vdi(t, diff, 1), *b = open_vdi(t, t->base, 0);
    vb_vdi *chain[2] = { d, b };
    plugin_write(t, chain, 2, 0xbb, 512 * 1024, 4096);
    plugin_write(t, chain, 2, 0xcc, 3 * FX_MIB - 100, 200); /* across a block boundary */
    plugin_write(t, chain, 2, 0xdd, 7 * FX_MIB, FX_MIB);    /* a whole block */
    same_as_raw(t, chain, 2);
    assert_int_equal(d->nalloc, 4);
    assert_int_equal(vb_vdi_check(&t->ctx, d), 0);
    vb_vdi_close(d);
    vb_vdi_close(b);
    assert_int_equal(fx_qemu_check(diff), 0);
    assert_int_equal(fx_qemu_check(t->base), 0);
    const char *paths[] = { t->base, diff };
    qemu_agrees(t, paths, 2);
    /* the base itself was not written */
    assert_int_equal(fx_qemu_io(t->base, "vdi", "read -P 0xaa 524288 4096"), 0);
}

/* base <- d1 <- d2; d1 merged forward into d2, which then hangs on base. */
static void merge_forward(void **state)
{
    struct t *t = *state;
    char d1p[256], d2p[256];
    snprintf(d1p, sizeof d1p, "%s/d1.vdi", t->dir);
    snprintf(d2p, sizeof d2p, "%s/d2.vdi", t->dir);
    qemu_write(t, 0x01, 0, 8 * FX_MIB);
    new_diff(t, t->base, d1p);
    vb_vdi *b = open_vdi(t, t->base, 0), *d1 = open_vdi(t, d1p, 1);
    vb_vdi *c1[2] = { d1, b };
    plugin_write(t, c1, 2, 0x02, FX_MIB, 2 * FX_MIB);
    plugin_write(t, c1, 2, 0x03, 6 * FX_MIB + 4096, 4096);
    new_diff(t, d1p, d2p);
    vb_vdi *d2 = open_vdi(t, d2p, 1);
    vb_vdi *c2[3] = { d2, d1, b };
    plugin_write(t, c2, 3, 0x04, 2 * FX_MIB + 100, 1000);
    same_as_raw(t, c2, 3);
    size_t copied = 0;
    vb_vdi_close(d1);
    d1 = open_vdi(t, d1p, 0);
    if (vb_vdi_merge(&t->ctx, d1, d2, 1, &copied) != 0)
        fail_msg("merge: %s", t->ctx.err_msg);
    assert_int_equal(copied, 2); /* blocks 1 and 6; block 2 is d2's own */
    assert_int_equal(vb_vdi_set_parent(&t->ctx, d2, b->uuid, b->modify), 0);
    vb_vdi *c3[2] = { d2, b };
    same_as_raw(t, c3, 2);
    assert_int_equal(vb_vdi_check(&t->ctx, d2), 0);
    vb_vdi_close(d1);
    vb_vdi_close(d2);
    vb_vdi_close(b);
    assert_int_equal(fx_qemu_check(d2p), 0);
    const char *paths[] = { t->base, d2p };
    qemu_agrees(t, paths, 2);
    /* merging again changes nothing */
    d1 = open_vdi(t, d1p, 0);
    d2 = open_vdi(t, d2p, 1);
    assert_int_equal(vb_vdi_merge(&t->ctx, d1, d2, 1, &copied), 0);
    assert_int_equal(copied, 0);
    vb_vdi_close(d1);
    vb_vdi_close(d2);
    qemu_agrees(t, paths, 2);
}

/* base <- d1; d1 merged backward into the base: qemu reads the result. */
static void merge_backward(void **state)
{
    struct t *t = *state;
    char d1p[256];
    snprintf(d1p, sizeof d1p, "%s/d1.vdi", t->dir);
    qemu_write(t, 0x21, 0, FX_MIB);
    qemu_write(t, 0x22, 6 * FX_MIB, 8192);
    new_diff(t, t->base, d1p);
    vb_vdi *b = open_vdi(t, t->base, 1), *d1 = open_vdi(t, d1p, 1);
    vb_vdi *c[2] = { d1, b };
    plugin_write(t, c, 2, 0x23, 4096, 4096);           /* block the base holds */
    plugin_write(t, c, 2, 0x24, 2 * FX_MIB, 3 * FX_MIB); /* blocks it lacks */
    size_t copied = 0;
    if (vb_vdi_merge(&t->ctx, d1, b, 0, &copied) != 0)
        fail_msg("merge: %s", t->ctx.err_msg);
    assert_int_equal(copied, 4);
    vb_vdi *alone[1] = { b };
    same_as_raw(t, alone, 1);
    assert_int_equal(vb_vdi_check(&t->ctx, b), 0);
    vb_vdi_close(d1);
    vb_vdi_close(b);
    assert_int_equal(fx_qemu_check(t->base), 0);
    assert_int_equal(fx_sh("qemu-img compare -q -f vdi -F raw '%s' '%s'", t->base, t->raw), 0);
    assert_int_equal(fx_qemu_io(t->base, "vdi", "read -P 0x23 4096 4096"), 0);
    assert_int_equal(fx_qemu_io(t->base, "vdi", "read -P 0x22 6291456 4096"), 0);
}

/* A ZERO block in a differencing image hides the parent's data, and a
 * merge carries that along. */
static void zero_blocks(void **state)
{
    struct t *t = *state;
    char d1p[256], d2p[256];
    const unsigned char zero_entry[4] = { 0xfe, 0xff, 0xff, 0xff };
    snprintf(d1p, sizeof d1p, "%s/d1.vdi", t->dir);
    snprintf(d2p, sizeof d2p, "%s/d2.vdi", t->dir);
    qemu_write(t, 0x31, 3 * FX_MIB, FX_MIB);
    new_diff(t, t->base, d1p);
    int fd = open(d1p, O_WRONLY);
    assert_int_equal(pwrite(fd, zero_entry, 4, (1 << 20) + 3 * 4), 4); /* block 3: ZERO */
    close(fd);
    assert_int_equal(fx_qemu_io(t->raw, "raw", "write -z 3145728 1048576"), 0);
    new_diff(t, d1p, d2p);
    vb_vdi *b = open_vdi(t, t->base, 0), *d1 = open_vdi(t, d1p, 0), *d2 = open_vdi(t, d2p, 1);
    vb_vdi *c[3] = { d2, d1, b };
    same_as_raw(t, c, 3);
    assert_int_equal(vb_vdi_merge(&t->ctx, d1, d2, 1, NULL), 0);
    assert_int_equal(d2->bmap[3], VB_VDI_BLOCK_ZERO);
    vb_vdi *c2[2] = { d2, b };
    same_as_raw(t, c2, 2);
    vb_vdi_close(b);
    vb_vdi_close(d1);
    vb_vdi_close(d2);
    assert_int_equal(fx_qemu_check(d2p), 0);
}

/* A kill between the block map entry and the header's count: the count
 * is put right when the image is next opened for writing. */
static void stale_count_repaired(void **state)
{
    struct t *t = *state;
    char d1p[256];
    const unsigned char one[4] = { 1, 0, 0, 0 };
    snprintf(d1p, sizeof d1p, "%s/d1.vdi", t->dir);
    new_diff(t, t->base, d1p);
    vb_vdi *b = open_vdi(t, t->base, 0), *d1 = open_vdi(t, d1p, 1);
    vb_vdi *c[2] = { d1, b };
    plugin_write(t, c, 2, 0x41, 0, 512);
    plugin_write(t, c, 2, 0x42, FX_MIB, 512);
    vb_vdi_close(d1);
    int fd = open(d1p, O_WRONLY);
    assert_int_equal(pwrite(fd, one, 4, 388), 4); /* count 1 instead of 2 */
    close(fd);
    d1 = open_vdi(t, d1p, 0);
    assert_int_equal(vb_vdi_check(&t->ctx, d1), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(t->ctx.err_msg, "2 blocks allocated, the header says 1"));
    vb_vdi_close(d1);
    d1 = open_vdi(t, d1p, 1);
    assert_int_equal(d1->nalloc, 2);
    assert_int_equal(vb_vdi_check(&t->ctx, d1), 0);
    vb_vdi *c2[2] = { d1, b };
    same_as_raw(t, c2, 2);
    vb_vdi_close(d1);
    vb_vdi_close(b);
    assert_int_equal(fx_qemu_check(d1p), 0);
}

static void damaged_images(void **state)
{
    struct t *t = *state;
    char p[256];
    const unsigned char big[4] = { 0x40, 0, 0, 0 }, bad[4] = { 0, 0, 0, 0 };
    vb_vdi *v = NULL;
    snprintf(p, sizeof p, "%s/bad.vdi", t->dir);

    fx_write(p, "not an image at all");
    assert_int_equal(vb_vdi_open(&t->ctx, p, 0, &v), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(t->ctx.err_msg, "shorter than a VDI header"));

    assert_int_equal(fx_sh("cp '%s' '%s'", t->base, p), 0);
    int fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, bad, 4, 64), 4); /* signature */
    close(fd);
    assert_int_equal(vb_vdi_open(&t->ctx, p, 0, &v), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(t->ctx.err_msg, "no VDI signature"));

    assert_int_equal(fx_sh("cp '%s' '%s'", t->base, p), 0);
    fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, big, 4, 0x200), 4); /* block 0 -> data block 64 */
    close(fd);
    v = open_vdi(t, p, 0);
    assert_int_equal(vb_vdi_check(&t->ctx, v), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(t->ctx.err_msg, "out of range"));
    vb_vdi_close(v);

    assert_int_equal(fx_sh("truncate -s 520 '%s'", p), 0);
    assert_int_equal(vb_vdi_open(&t->ctx, p, 0, &v), -SB_ERR_OPERATION_INVALID);
    assert_non_null(strstr(t->ctx.err_msg, "block map is truncated"));

    /* images of different sizes are never merged */
    char other[256], d1p[256];
    snprintf(other, sizeof other, "%s/other.vdi", t->dir);
    snprintf(d1p, sizeof d1p, "%s/d1.vdi", t->dir);
    assert_int_equal(fx_sh("qemu-img create -q -f vdi '%s' 16M", other), 0);
    new_diff(t, other, d1p);
    vb_vdi *a = open_vdi(t, t->base, 1), *d = open_vdi(t, d1p, 0);
    assert_int_equal(vb_vdi_merge(&t->ctx, d, a, 0, NULL), -SB_ERR_OPERATION_UNSUPPORTED);
    assert_non_null(strstr(t->ctx.err_msg, "different sizes"));
    vb_vdi_close(a);
    vb_vdi_close(d);
}

static void uuid_layout(void **state)
{
    (void)state;
    unsigned char b[16];
    char s[VB_UUID_LEN];
    /* RTUUID: 3c72ec80-dc73-4448-... stores 80 ec 72 3c 73 dc 48 44 */
    assert_int_equal(vb_uuid_to_bin("{3C72EC80-DC73-4448-A63E-97970CDD87E5}", b), 0);
    const unsigned char want[16] = { 0x80, 0xec, 0x72, 0x3c, 0x73, 0xdc, 0x48, 0x44,
                                     0xa6, 0x3e, 0x97, 0x97, 0x0c, 0xdd, 0x87, 0xe5 };
    assert_memory_equal(b, want, 16);
    vb_uuid_from_bin(b, s);
    assert_string_equal(s, "3c72ec80-dc73-4448-a63e-97970cdd87e5");
    assert_int_equal(vb_uuid_parse("3c72ec80-dc73-4448-a63e-97970cdd87e", s), -1);
    assert_int_equal(vb_uuid_parse("{3c72ec80-dc73-4448-a63e-97970cdd87eg}", s), -1);
    vb_uuid_generate(s);
    assert_int_equal(s[14], '4'); /* version 4 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uuid_layout),
        cmocka_unit_test_setup_teardown(diff_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(write_through_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(merge_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(merge_backward, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_count_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_images, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
