/* A cold load of a big log (store_load.c, log_reader.c, bigmem.c): the
 * records are read through a reused buffer, not the mapping, so what the
 * small logs of test_store.c never reach is tried here: a log several
 * buffers long, records that straddle two buffer fills, a record bigger
 * than the buffer, a tree big enough for the 2 MiB node and bucket blocks,
 * XML kept in place while the buffer it was read through is reused,
 * damage found after the first buffer, and a catch-up that meets a torn
 * record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "store/store_internal.h"
#include "store_helpers.h"
#include "tree_helpers.h"


/* More than the tree's malloc'd node chunks (1 280 nodes) and than 8 192,
 * where its buckets move to a 2 MiB block. */
#define MANY 9000
/* Per commit: records of tens of KiB, so many straddle a 2 MiB fill. */
#define PER_COMMIT 50


static sb_store *open_store(unsigned flags)
{
    sb_store *s = NULL;
    if (sb_store_open(test_dir, "host1", "dom", flags, &s) < 0)
        fail_msg("open: %s", sb_error_last()->message);
    return s;
}

/* The XML of snapshot i: its own text, 200 to 1 700 bytes. */
static char *xml_of(long i)
{
    size_t pad = 200 + (size_t)(i * 7919 % 1500);
    char *x = malloc(pad + 128);
    int k = snprintf(x, 64, "<domainsnapshot><name>s%ld</name><description>", i);
    for (size_t j = 0; j < pad; j++)
        x[k + (int)j] = (char)('a' + (i + (long)j) % 26);
    strcpy(x + k + pad, "</description></domainsnapshot>");
    return x;
}

/* MANY snapshots, each the child of snapshot i / 2 (a tree, not a chain),
 * PER_COMMIT to a record; one of them with XML bigger than the reader's
 * 2 MiB buffer; a few deletes and a current, as a real log has. */
static void fill(sb_store *s)
{
    for (long i = 0; i < MANY; i += PER_COMMIT) {
        OK(sb_store_begin(s));
        for (long j = i; j < i + PER_COMMIT && j < MANY; j++) {
            char name[32], parent[32];
            snprintf(name, sizeof(name), "s%ld", j);
            snprintf(parent, sizeof(parent), "s%ld", j / 2);
            sb_tree_snapshot x = snap(name, j ? parent : NULL, SB_STATE_RUNNING, j % 3 == 0);
            x.creation_time = 1000 + j;
            char *xml = xml_of(j);
            if (j == MANY / 2) { /* 3 MiB */
                free(xml);
                xml = malloc((3u << 20) + 1);
                memset(xml, 'x', 3u << 20);
                xml[3u << 20] = '\0';
            }
            x.xml = xml;
            OK(sb_store_add(s, &x));
            free(xml);
        }
        OK(sb_store_commit(s));
    }
    OK(sb_store_delete(s, "s4000", 0));
    OK(sb_store_delete(s, "s8999", 0));
    OK(sb_store_set_current(s, "s7777"));
}

static void big_log_reopens_the_same(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    fill(s);
    char *before = dump_store(s);
    sb_store_close(s);
    char *lp = log_path(test_dir, "host1", "dom");
    assert_true(file_size(lp) > (8 << 20)); /* several buffer fills */
    free(lp);

    sb_store *r = open_store(0);
    assert_int_equal(sb_tree_count(sb_store_tree(r)), MANY - 2);
    /* every field and every XML byte, read after the whole load */
    char *after = dump_store(r);
    assert_string_equal(before, after);
    assert_string_equal(sb_tree_node_name(sb_tree_current(sb_store_tree(r))), "s7777");
    const sb_tree_node *big = sb_tree_lookup(sb_store_tree(r), "s4500");
    assert_non_null(big);
    assert_int_equal(strlen(sb_tree_node_xml(big)), 3u << 20);
    char *report = NULL;
    OK(sb_store_check(r, &report));
    free(report);
    sb_store_close(r);
    free(before);
    free(after);
}

/* A byte flipped in a record several MiB into the log: reported at its
 * offset; with ALLOW_DAMAGED every other record loads. */
static void damage_beyond_the_first_buffer(void **state)
{
    (void)state;
    sb_store *s = open_store(W);
    fill(s);
    sb_store_close(s);
    char *lp = log_path(test_dir, "host1", "dom");
    size_t len = 0;
    unsigned char *b = slurp(lp, &len);
    assert_non_null(b);
    /* the first record starting past 5 MiB, a byte inside its first op */
    size_t off = SB_LOG_HEADER_SIZE, bad = 0;
    while (off < len) {
        uint32_t rl = (uint32_t)b[off + 4] | (uint32_t)b[off + 5] << 8 |
                      (uint32_t)b[off + 6] << 16 | (uint32_t)b[off + 7] << 24;
        if (off > (5u << 20)) {
            bad = off;
            break;
        }
        off += SB_LOG_REC_HEADER + rl;
    }
    assert_true(bad > 0);
    b[bad + SB_LOG_REC_HEADER + 100] ^= 0x55;
    OK(spit(lp, b, len));
    free(b);

    sb_store *r = NULL;
    FAILS(sb_store_open(test_dir, "host1", "dom", 0, &r), SB_ERR_STORE);
    assert_null(r);
    char where[64];
    snprintf(where, sizeof(where), "offset %zu", bad);
    MSG_HAS(where);

    r = open_store(SB_STORE_ALLOW_DAMAGED);
    assert_true(sb_store_damaged(r));
    /* one record of PER_COMMIT snapshots lost, the rest there */
    size_t n = sb_tree_count(sb_store_tree(r));
    assert_true(n >= MANY - 2 - PER_COMMIT && n < MANY - 2);
    /* the damage first, then the children of the lost snapshots, attached
     * to the top */
    const char *const *w;
    assert_true(sb_store_warnings(r, &w) >= 1);
    assert_non_null(strstr(w[0], where));
    sb_store_close(r);
    free(lp);
}

/* A handle catching up with another's commits reads only what was
 * appended, and a torn record at the end (a writer killed in its append)
 * is dropped there as at a full load.  Small logs: read whole at a full
 * load, through a buffer the size of the appended bytes at a catch-up. */
static void catch_up_stops_at_a_torn_tail(void **state)
{
    (void)state;
    sb_store *w = open_store(W);
    sb_tree_snapshot a = snap("a", NULL, SB_STATE_RUNNING, false);
    a.xml = "<a/>";
    OK(sb_store_add(w, &a));
    sb_store *r = open_store(0);
    assert_int_equal(sb_tree_count(sb_store_tree(r)), 1);

    char *lp = log_path(test_dir, "host1", "dom");
    size_t before = (size_t)file_size(lp);
    sb_tree_snapshot b = snap("b", "a", SB_STATE_SHUTOFF, false);
    b.xml = "<b/>";
    OK(sb_store_add(w, &b));
    size_t after_b = (size_t)file_size(lp);
    sb_tree_snapshot c = snap("c", "b", SB_STATE_SHUTOFF, false);
    c.xml = "<c/>";
    OK(sb_store_add(w, &c));
    sb_store_close(w);
    /* c's record cut in the middle, as a kill during its pwrite leaves it */
    size_t len = 0;
    unsigned char *buf = slurp(lp, &len);
    assert_non_null(buf);
    assert_true(len > after_b + 8 && after_b > before);
    OK(spit(lp, buf, after_b + (len - after_b) / 2));
    free(buf);

    OK(sb_store_refresh(r));
    const sb_tree_node *nb = sb_tree_lookup(sb_store_tree(r), "b");
    assert_non_null(nb);
    assert_string_equal(sb_tree_node_xml(nb), "<b/>");
    assert_null(sb_tree_lookup(sb_store_tree(r), "c"));
    const char *const *warn;
    assert_int_equal(sb_store_warnings(r, &warn), 1);
    assert_non_null(strstr(warn[0], "incomplete last record"));
    sb_store_close(r);
    free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(big_log_reopens_the_same),
        STORE_TEST(damage_beyond_the_first_buffer),
        STORE_TEST(catch_up_stops_at_a_torn_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
