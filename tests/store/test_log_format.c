/* snapshots.log records: checksum, op encoding round trip, and a decoder
 * that never reads out of bounds whatever the bytes (run under ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/crc32c.h"
#include "store/log_format.h"

uint32_t sb_crc32c__portable(uint32_t crc, const void *buf, size_t n);

static void crc32c_check_values(void **state)
{
    (void)state;
    assert_int_equal(sb_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sb_crc32c__portable(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sb_crc32c(0, "", 0), 0);
    unsigned char buf[4099];
    srand(7);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)rand();
    /* every length around the three-stream blocks (768 bytes), then a few */
    for (size_t n = 0; n < sizeof(buf); n += n < 1700 ? 1 : 97) {
        uint32_t whole = sb_crc32c(0, buf, n);
        assert_int_equal(whole, sb_crc32c__portable(0, buf, n));
        assert_int_equal(whole, sb_crc32c(sb_crc32c(0, buf, n / 3), buf + n / 3, n - n / 3));
    }
}

static sb_log_op ops[] = {
    { .type = SB_LOG_PUT, .name = "s1", .parent = NULL, .state = 1, .external = false,
      .ctime = 1700000000, .xml = "<domainsnapshot/>" },
    { .type = SB_LOG_PUT, .name = "s2", .parent = "s1", .state = 8, .external = true,
      .ctime = -5, .xml = NULL },
    { .type = SB_LOG_DEL, .name = "s1" },
    { .type = SB_LOG_CUR, .name = "s2" },
    { .type = SB_LOG_CUR, .name = NULL },
    { .type = SB_LOG_XML, .name = "s2", .xml = "<x>\xc3\xa9</x>" },
    { .type = SB_LOG_IBEG, .id = 1ull << 40, .time = 1700000001, .pid = 4242, .op = "create",
      .snapshot = "s3", .payload = "" },
    { .type = SB_LOG_IEND, .id = 1ull << 40 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static void same_str(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void round_trip(void **state)
{
    (void)state;
    sb_buf b = { 0 };
    size_t expect = 0;
    for (size_t i = 0; i < NOPS; i++) {
        sb_log_encode_op(&b, &ops[i]);
        expect += sb_log_op_size(&ops[i]);
    }
    assert_false(b.oom);
    assert_int_equal(b.len, expect);
    size_t pos = 0;
    sb_log_op o;
    for (size_t i = 0; i < NOPS; i++) {
        assert_int_equal(sb_log_decode_op(b.p, b.len, &pos, &o), 1);
        assert_int_equal(o.type, ops[i].type);
        same_str(o.name, ops[i].name);
        same_str(o.parent, ops[i].parent);
        same_str(o.xml, ops[i].xml);
        same_str(o.op, ops[i].op);
        same_str(o.snapshot, ops[i].snapshot);
        same_str(o.payload, ops[i].payload);
        assert_int_equal(o.state, ops[i].state);
        assert_int_equal(o.external, ops[i].external);
        assert_int_equal(o.ctime, ops[i].ctime);
        assert_int_equal(o.id, ops[i].id);
        assert_int_equal(o.pid, ops[i].pid);
    }
    assert_int_equal(sb_log_decode_op(b.p, b.len, &pos, &o), 0);

    /* framing: scan accepts it, a flipped bit anywhere is caught */
    sb_buf rec = { 0 };
    assert_int_equal(sb_log_frame(&rec, b.p, b.len), 0);
    const uint8_t *p;
    size_t plen, next;
    assert_int_equal(sb_log_scan(rec.p, rec.len, 0, &p, &plen, &next), SB_SCAN_OK);
    assert_int_equal(next, rec.len);
    assert_int_equal(plen, b.len);
    for (size_t i = 0; i < rec.len; i++) {
        rec.p[i] ^= 0x10;
        assert_int_equal(sb_log_scan(rec.p, rec.len, 0, &p, &plen, &next), SB_SCAN_BAD);
        rec.p[i] ^= 0x10;
    }
    /* every proper prefix is incomplete */
    for (size_t n = 1; n < rec.len; n++)
        assert_int_equal(sb_log_scan(rec.p, n, 0, &p, &plen, &next), SB_SCAN_BAD);
    assert_int_equal(sb_log_scan(rec.p, rec.len, rec.len, &p, &plen, &next), SB_SCAN_END);
    sb_buf_free(&rec);
    sb_buf_free(&b);
}

static void resync_finds_next_record(void **state)
{
    (void)state;
    sb_buf b = { 0 }, file = { 0 };
    sb_log_encode_op(&b, &ops[0]);
    assert_int_equal(sb_log_frame(&file, b.p, b.len), 0);
    size_t second = file.len;
    assert_int_equal(sb_log_frame(&file, b.p, b.len), 0);
    file.p[5] ^= 1; /* damage the first record's length */
    const uint8_t *p;
    size_t plen, next;
    assert_int_equal(sb_log_scan(file.p, file.len, 0, &p, &plen, &next), SB_SCAN_BAD);
    assert_int_equal(sb_log_resync(file.p, file.len, 0), second);
    assert_int_equal(sb_log_resync(file.p, file.len, second), file.len); /* none after */
    sb_buf_free(&b);
    sb_buf_free(&file);
}

/* Truncations and random corruption of a payload: decode must fail or
 * stop cleanly, never read past the buffer (ASan build checks that). */
static void decoder_is_bounded(void **state)
{
    (void)state;
    sb_buf b = { 0 };
    for (size_t i = 0; i < NOPS; i++)
        sb_log_encode_op(&b, &ops[i]);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: overreads trip ASan */
        memcpy(copy, b.p, n);
        size_t pos = 0;
        sb_log_op o;
        int r;
        while ((r = sb_log_decode_op(copy, n, &pos, &o)) == 1)
            assert_true(pos <= n);
        free(copy);
    }
    srand(11);
    for (int it = 0; it < 20000; it++) {
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.p, b.len);
        for (int k = 0; k < 3; k++)
            copy[(size_t)rand() % b.len] = (uint8_t)rand();
        size_t pos = 0;
        sb_log_op o;
        while (sb_log_decode_op(copy, b.len, &pos, &o) == 1)
            assert_true(pos <= b.len);
        free(copy);
    }
    uint8_t bad_type[] = { 0x77 };
    size_t pos = 0;
    sb_log_op o;
    assert_int_equal(sb_log_decode_op(bad_type, 1, &pos, &o), -1);
    uint8_t bad_opt[] = { SB_LOG_CUR, 2 }; /* "present" must be 0 or 1 */
    pos = 0;
    assert_int_equal(sb_log_decode_op(bad_opt, 2, &pos, &o), -1);
    uint8_t no_nul[] = { SB_LOG_DEL, 1, 0, 0, 0, 'a', 'b' };
    pos = 0;
    assert_int_equal(sb_log_decode_op(no_nul, sizeof(no_nul), &pos, &o), -1);
    /* a PUT with a state the writer never stores (found while fuzzing) */
    uint8_t bad_state[] = { SB_LOG_PUT, 1, 0, 0, 0, 'a', 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    pos = 0;
    assert_int_equal(sb_log_decode_op(bad_state, sizeof(bad_state), &pos, &o), -1);
    bad_state[8] = 8; /* disk-snapshot, the last valid one */
    pos = 0;
    assert_int_equal(sb_log_decode_op(bad_state, sizeof(bad_state), &pos, &o), 1);
    assert_int_equal(o.state, 8);
    sb_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_check_values),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(resync_finds_next_record),
        cmocka_unit_test(decoder_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
