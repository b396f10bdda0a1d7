/* tests/qemu - the qcow2 header reader (plugins/qemu/qcow2.c) against REAL
 * qemu-img: images made by qemu-img (v2 and v3, backing files with
 * absolute and relative names and a backing format, 0/1/many internal
 * snapshots with long and unicode names, raw) must read exactly as
 * `qemu-img info --output=json` reports them; damaged images (every byte
 * of the first 4 KiB and of the snapshot table changed one at a time,
 * truncation at every offset of the header and the snapshot table,
 * hand-made hostile headers) must give clean errors (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2.h"
#include "qp.h"
#include "state_fixture.h"

/* Run a program (NULL-terminated arguments); must succeed. */
static void run(const char *a0, ...)
{
    char *argv[32];
    int n = 0;
    va_list ap;
    va_start(ap, a0);
    argv[n++] = (char *)a0;
    const char *a;
    while (n < 31 && (a = va_arg(ap, const char *)))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    char *err = NULL;
    int st = qp_run(&ctx, argv, NULL, &err);
    if (st != 0)
        fprintf(stderr, "%s %s failed (%d): %s\n", a0, argv[1], st, err ? err : "");
    free(err);
    assert_int_equal(st, 0);
}

static int streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The reader's qp_img_info must equal qemu-img's. */
static void same_info(const qp_img_info *mine, const qp_img_info *qemu)
{
    if (!streq(mine->filename, qemu->filename) || !streq(mine->format, qemu->format) ||
        !streq(mine->backing, qemu->backing) ||
        !streq(mine->backing_format, qemu->backing_format))
        fprintf(stderr, "mine: %s %s %s %s\nqemu: %s %s %s %s\n", mine->filename, mine->format,
                mine->backing, mine->backing_format, qemu->filename, qemu->format,
                qemu->backing, qemu->backing_format);
    assert_true(streq(mine->filename, qemu->filename));
    assert_true(streq(mine->format, qemu->format));
    assert_true(streq(mine->backing, qemu->backing));
    assert_true(streq(mine->backing_format, qemu->backing_format));
    assert_true(mine->virtual_size == qemu->virtual_size);
    assert_int_equal(mine->nsnaps, qemu->nsnaps);
    for (size_t i = 0; i < mine->nsnaps; i++) {
        assert_string_equal(mine->snaps[i].id, qemu->snaps[i].id);
        assert_string_equal(mine->snaps[i].name, qemu->snaps[i].name);
        assert_true(mine->snaps[i].vm_state_size == qemu->snaps[i].vm_state_size);
    }
}

/* qp_img_query and qp_img_chain (headers) against qemu-img; returns the
 * chain length. */
static size_t compare(const char *image)
{
    qp_img_info a, b;
    /* a qcow2 image (and its chain, down to a raw file declared by -F)
     * must be read without running qemu-img: point the wrappers at a
     * binary that does not exist while they answer */
    qp_qcow2 q;
    int direct = qp_qcow2_read(image, QP_QCOW2_NO_SNAPSHOTS, &q, NULL, 0) == 0;
    qp_qcow2_free(&q);
    char *real = ctx.qemu_img;
    if (direct)
        ctx.qemu_img = (char *)"/nonexistent/qemu-img";
    assert_int_equal(qp_img_query(&ctx, image, 1, &a), 0);
    qp_img_info *ca = NULL, *cb = NULL;
    size_t na = 0, nb = 0;
    assert_int_equal(qp_img_chain(&ctx, image, 1, &ca, &na), 0);
    ctx.qemu_img = real;
    assert_int_equal(qp_img_query_qemu(&ctx, image, 1, &b), 0);
    same_info(&a, &b);
    qp_img_info_free(&a);
    qp_img_info_free(&b);
    assert_int_equal(qp_img_chain_qemu(&ctx, image, 1, &cb, &nb), 0);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        same_info(&ca[i], &cb[i]);
    qp_img_chain_free(ca, na);
    qp_img_chain_free(cb, nb);
    return na;
}

static int count_qcow2_snaps(const char *image)
{
    qp_qcow2 q;
    char err[256];
    assert_int_equal(qp_qcow2_read(image, 0, &q, err, sizeof err), 0);
    int n = (int)q.nsnaps;
    qp_qcow2_free(&q);
    return n;
}

static void versions_and_snapshots(void **state)
{
    (void)state;
    /* v2 and v3, no snapshots */
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", path("v2.qcow2"), "3M",
        NULL);
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=1.1", path("v3.qcow2"), "5M",
        NULL);
    assert_int_equal(compare(path("v2.qcow2")), 1);
    assert_int_equal(compare(path("v3.qcow2")), 1);
    qp_qcow2 q;
    char err[256];
    assert_int_equal(qp_qcow2_read(path("v2.qcow2"), 0, &q, err, sizeof err), 0);
    assert_int_equal(q.version, 2);
    assert_true(q.size == 3u << 20);
    qp_qcow2_free(&q);
    assert_int_equal(qp_qcow2_read(path("v3.qcow2"), 0, &q, err, sizeof err), 0);
    assert_int_equal(q.version, 3);
    qp_qcow2_free(&q);
    /* one snapshot */
    run("qemu-img", "snapshot", "-c", "one", path("v2.qcow2"), NULL);
    run("qemu-img", "snapshot", "-c", "one", path("v3.qcow2"), NULL);
    assert_int_equal(count_qcow2_snaps(path("v2.qcow2")), 1);
    assert_int_equal(count_qcow2_snaps(path("v3.qcow2")), 1);
    compare(path("v2.qcow2"));
    compare(path("v3.qcow2"));
    /* many, with long and unicode names (and a deletion in between);
     * qemu-img keeps at most 255 bytes of a name */
    char longname[256];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *names[] = {"снимок-ü-日本語-🙂", longname, "a b\tc", "x"};
    for (int v = 0; v < 2; v++) {
        const char *img = path(v ? "v3.qcow2" : "v2.qcow2");
        for (int i = 0; i < 30; i++) {
            char nm[32];
            snprintf(nm, sizeof nm, "s%02d", i);
            run("qemu-img", "snapshot", "-c", nm, img, NULL);
        }
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            run("qemu-img", "snapshot", "-c", names[i], img, NULL);
        run("qemu-img", "snapshot", "-d", "s07", img, NULL);
        assert_int_equal(count_qcow2_snaps(img), 1 + 30 + 4 - 1);
        compare(img);
        assert_int_equal(qp_img_has_snapshot(&ctx, img, names[0], 1), 1);
        assert_int_equal(qp_img_has_snapshot(&ctx, img, longname, 0), 1);
        assert_int_equal(qp_img_has_snapshot(&ctx, img, "s07", 1), 0);
        assert_int_equal(qp_img_has_snapshot(&ctx, img, "s08", 1), 1);
    }
}

static void backing_files(void **state)
{
    (void)state;
    assert_int_equal(qp_mkdir_p(path("sub/deeper"), 0700), 0);
    run("qemu-img", "create", "-q", "-f", "raw", path("base.raw"), "4M", NULL);
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", path("base.qcow2"), "4M",
        NULL);
    /* absolute names, backing format qcow2 and raw, v2 and v3 */
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=1.1", "-b", path("base.qcow2"),
        "-F", "qcow2", path("abs3.qcow2"), NULL);
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", path("base.raw"),
        "-F", "raw", path("abs2.qcow2"), NULL);
    assert_int_equal(compare(path("abs3.qcow2")), 2);
    assert_int_equal(compare(path("abs2.qcow2")), 2);
    qp_qcow2 q;
    char err[256];
    assert_int_equal(qp_qcow2_read(path("abs2.qcow2"), 0, &q, err, sizeof err), 0);
    assert_string_equal(q.backing, path("base.raw"));
    assert_string_equal(q.backing_format, "raw");
    qp_qcow2_free(&q);
    /* relative names: next to it, and from a subdirectory upwards; a
     * chain of three with a snapshot in the middle */
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
        path("rel.qcow2"), NULL);
    run("qemu-img", "snapshot", "-c", "mid", path("rel.qcow2"), NULL);
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "../../rel.qcow2", "-F", "qcow2",
        path("sub/deeper/top.qcow2"), NULL);
    assert_int_equal(compare(path("rel.qcow2")), 2);
    assert_int_equal(compare(path("sub/deeper/top.qcow2")), 3);
    assert_int_equal(qp_qcow2_read(path("sub/deeper/top.qcow2"), 0, &q, err, sizeof err), 0);
    assert_string_equal(q.backing, "../../rel.qcow2");
    char *full = qp_qcow2_backing_path(path("sub/deeper/top.qcow2"), q.backing);
    assert_string_equal(full, path("sub/deeper/../../rel.qcow2"));
    free(full);
    qp_qcow2_free(&q);
    /* a symlinked image resolves against the link's directory, as QEMU */
    assert_int_equal(qp_mkdir_p(path("L/M/N"), 0700), 0);
    run("qemu-img", "create", "-q", "-f", "qcow2", path("L/rel.qcow2"), "4M", NULL);
    assert_int_equal(symlink(path("sub/deeper/top.qcow2"), path("L/M/N/link.qcow2")), 0);
    assert_int_equal(compare(path("L/M/N/link.qcow2")), 2); /* via L/rel.qcow2 */
    /* overlays found on disk by their headers */
    qp_strv deps = {0};
    assert_int_equal(qp_image_dependents(&ctx, path("base.qcow2"), &deps), 0);
    assert_int_equal(deps.n, 2); /* abs3 and rel, not abs2 (raw base) */
    assert_true(qp_strv_has(&deps, path("abs3.qcow2")));
    assert_true(qp_strv_has(&deps, path("rel.qcow2")));
    qp_strv_free(&deps);
    assert_int_equal(qp_image_dependents(&ctx, path("base.raw"), &deps), 0);
    assert_int_equal(deps.n, 1);
    qp_strv_free(&deps);
    /* a backing file name past the reader's first window (4 KiB): moved to
     * 8 KiB into the first cluster by hand, which QEMU accepts too */
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
        path("far.qcow2"), NULL);
    int fd = open(path("far.qcow2"), O_RDWR);
    assert_true(fd >= 0);
    unsigned char hd[20], name[64] = {0}, zero[64] = {0};
    assert_int_equal(pread(fd, hd, sizeof hd, 0), (ssize_t)sizeof hd);
    uint64_t old = 0;
    for (int i = 8; i < 16; i++)
        old = old << 8 | hd[i];
    uint32_t nlen = (uint32_t)hd[16] << 24 | hd[17] << 16 | hd[18] << 8 | hd[19];
    assert_true(nlen > 0 && nlen <= sizeof name && old < 4096);
    assert_int_equal(pread(fd, name, nlen, (off_t)old), (ssize_t)nlen);
    assert_int_equal(pwrite(fd, zero, nlen, (off_t)old), (ssize_t)nlen);
    assert_int_equal(pwrite(fd, name, nlen, 8192), (ssize_t)nlen);
    unsigned char at[8] = {0, 0, 0, 0, 0, 0, 0x20, 0}; /* 8192, big-endian */
    assert_int_equal(pwrite(fd, at, sizeof at, 8), (ssize_t)sizeof at);
    close(fd);
    assert_int_equal(compare(path("far.qcow2")), 2); /* as qemu-img reads it */
    assert_int_equal(qp_qcow2_read(path("far.qcow2"), 0, &q, err, sizeof err), 0);
    assert_string_equal(q.backing, "base.qcow2");
    assert_string_equal(q.backing_format, "qcow2");
    qp_qcow2_free(&q);
    assert_int_equal(qp_image_dependents(&ctx, path("base.qcow2"), &deps), 0);
    assert_true(qp_strv_has(&deps, path("far.qcow2")));
    qp_strv_free(&deps);
    /* raw: "not qcow2" from the reader, qemu-img's answer from the wrapper */
    assert_int_equal(qp_qcow2_read(path("base.raw"), 0, &q, err, sizeof err), QP_QCOW2_NOT_QCOW2);
    assert_int_equal(compare(path("base.raw")), 1);
    qp_img_info info;
    assert_int_equal(qp_img_query(&ctx, path("base.raw"), 1, &info), 0);
    assert_string_equal(info.format, "raw");
    qp_img_info_free(&info);
    /* missing backing file: the reader defers to qemu-img's error */
    run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", path("gone.qcow2"), "-F", "qcow2",
        path("orphan.qcow2"), "1M", NULL);
    qp_img_info *c = NULL;
    size_t n = 0;
    assert_true(qp_img_chain(&ctx, path("orphan.qcow2"), 1, &c, &n) < 0);
    assert_int_equal(qp_img_query(&ctx, path("orphan.qcow2"), 1, &info), 0);
    assert_string_equal(info.backing, path("gone.qcow2"));
    qp_img_info_free(&info);
    /* a chain loop: qemu-img's error too */
    run("qemu-img", "create", "-q", "-f", "qcow2", path("loop1.qcow2"), "1M", NULL);
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "loop1.qcow2", "-F", "qcow2",
        path("loop2.qcow2"), NULL);
    run("qemu-img", "rebase", "-u", "-b", "loop2.qcow2", "-F", "qcow2", path("loop1.qcow2"),
        NULL);
    assert_true(qp_img_chain(&ctx, path("loop2.qcow2"), 1, &c, &n) < 0);
}

/* An image QEMU writes to (its "write" permission lock held): without -U
 * the wrapper asks qemu-img, which refuses as before. */
static void write_locked(void **state)
{
    (void)state;
    run("qemu-img", "create", "-q", "-f", "qcow2", path("locked.qcow2"), "1M", NULL);
    run("qemu-img", "snapshot", "-c", "t", path("locked.qcow2"), NULL);
    int fd = open(path("locked.qcow2"), O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 101, .l_len = 1};
    assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
    assert_int_equal(qp_img_has_snapshot(&ctx, path("locked.qcow2"), "t", 1), 1);
    int r = qp_img_has_snapshot(&ctx, path("locked.qcow2"), "t", 0);
    assert_int_equal(r, -SB_ERR_OPERATION_INVALID);
    close(fd);
    assert_int_equal(qp_img_has_snapshot(&ctx, path("locked.qcow2"), "t", 0), 1);
}

/* ---- damaged images ---------------------------------------------------- */

static unsigned char *slurp(const char *p, size_t *len)
{
    char *data = NULL;
    assert_int_equal(qp_read_file(&ctx, p, &data, len), 0);
    return (unsigned char *)data;
}

static int mem_image(const unsigned char *data, size_t len)
{
    int fd = memfd_create("qcow2", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
    return fd;
}

/* One read: 0 (sane), NOT_QCOW2, or an error with a message. */
static int check_read(int fd, unsigned flags)
{
    qp_qcow2 q;
    char err[256] = "untouched";
    int r = qp_qcow2_read_fd(fd, flags, &q, err, sizeof err);
    if (r < 0) {
        assert_true(err[0] && strcmp(err, "untouched"));
    } else if (r == 0) {
        assert_true(q.version == 2 || q.version == 3);
        assert_true(q.nsnaps <= QP_QCOW2_MAX_SNAPSHOTS);
        if (!(flags & QP_QCOW2_NO_SNAPSHOTS))
            for (uint32_t i = 0; i < q.nsnaps; i++)
                assert_true(q.snaps[i].id && q.snaps[i].name);
        assert_true(!q.backing || strlen(q.backing) <= QP_QCOW2_MAX_BACKING);
        qp_qcow2_free(&q);
    } else {
        assert_int_equal(r, QP_QCOW2_NOT_QCOW2);
    }
    return r;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* A v3 overlay with a backing format extension and three snapshots. */
static unsigned char *victim(size_t *len, uint64_t *snap_off, uint64_t *snap_end)
{
    run("qemu-img", "create", "-q", "-f", "qcow2", path("vb.qcow2"), "2M", NULL);
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=1.1", "-b", "vb.qcow2", "-F",
        "qcow2", path("victim.qcow2"), NULL);
    run("qemu-img", "snapshot", "-c", "first", path("victim.qcow2"), NULL);
    run("qemu-img", "snapshot", "-c", "второй", path("victim.qcow2"), NULL);
    run("qemu-img", "snapshot", "-c", "third-with-a-longer-name", path("victim.qcow2"), NULL);
    unsigned char *d = slurp(path("victim.qcow2"), len);
    *snap_off = get64(d + 64);
    /* table end: walk it with the reader's own layout */
    uint64_t off = *snap_off;
    for (int i = 0; i < 3; i++) {
        off = (off + 7) & ~(uint64_t)7; /* entries start 8-aligned */
        const unsigned char *e = d + off;
        uint32_t extra = (uint32_t)e[36] << 24 | (uint32_t)e[37] << 16 | e[38] << 8 | e[39];
        off += 40 + extra + (e[12] << 8 | e[13]) + (e[14] << 8 | e[15]);
    }
    *snap_end = off;
    assert_true(*snap_end <= *len);
    return d;
}

static void flipped_bytes(void **state)
{
    (void)state;
    size_t len;
    uint64_t so, se;
    unsigned char *d = victim(&len, &so, &se);
    int fd = mem_image(d, len);
    assert_int_equal(check_read(fd, 0), 0);
    const unsigned char pats[] = {0xff, 0x01, 0x80};
    int errors = 0;
    for (size_t p = 0; p < sizeof pats; p++) {
        for (uint64_t i = 0; i < 4096 + (se - so); i++) {
            uint64_t at = i < 4096 ? i : so + (i - 4096);
            unsigned char b = d[at] ^ pats[p];
            assert_int_equal(pwrite(fd, &b, 1, (off_t)at), 1);
            errors += check_read(fd, 0) < 0;
            check_read(fd, QP_QCOW2_NO_SNAPSHOTS);
            assert_int_equal(pwrite(fd, &d[at], 1, (off_t)at), 1);
        }
    }
    assert_true(errors > 0);
    assert_int_equal(check_read(fd, 0), 0);
    close(fd);
    /* the wrapper on a damaged file: qemu-img's verdict, no crash */
    unsigned char bad[4] = {0xff, 0xff, 0xff, 0xff};
    memcpy(d + 100, bad, 4); /* header_length */
    int wf = open(path("damaged.qcow2"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(wf >= 0);
    assert_int_equal(write(wf, d, len), (ssize_t)len);
    close(wf);
    qp_img_info info;
    assert_true(qp_img_query(&ctx, path("damaged.qcow2"), 1, &info) < 0);
    free(d);
}

static void truncated(void **state)
{
    (void)state;
    size_t len;
    uint64_t so, se;
    unsigned char *d = victim(&len, &so, &se);
    int fd = mem_image(d, len);
    /* shrink step by step: the snapshot table, then the first 4 KiB */
    for (uint64_t t = se; t-- > so;) {
        assert_int_equal(ftruncate(fd, (off_t)t), 0);
        assert_true(check_read(fd, 0) < 0);
        assert_int_equal(check_read(fd, QP_QCOW2_NO_SNAPSHOTS), 0);
    }
    for (uint64_t t = 4096; t-- > 0;) {
        assert_int_equal(ftruncate(fd, (off_t)t), 0);
        int r = check_read(fd, 0);
        if (t < 4)
            assert_int_equal(r, QP_QCOW2_NOT_QCOW2);
        else
            assert_true(r < 0);
        check_read(fd, QP_QCOW2_NO_SNAPSHOTS);
    }
    close(fd);
    free(d);
}

/* Hand-made hostile headers: huge counts and lengths are refused before
 * anything is allocated for them. */
static void hostile(void **state)
{
    (void)state;
    size_t len;
    uint64_t so, se;
    unsigned char *d = victim(&len, &so, &se);
    struct {
        size_t at;
        int width;
        uint64_t v;
        int may_pass; /* garbage that still parses: only "no crash" */
    } cases[] = {
        {60, 4, 0xffffffffu, 0},         /* nb_snapshots */
        {60, 4, 65537, 0},               /* just over QEMU's limit */
        {60, 4, 65536, 0},               /* at the limit: the file is too short */
        {64, 8, UINT64_MAX - 7, 0},      /* snapshots_offset wraps */
        {64, 8, 1, 0},                   /* unaligned table */
        {8, 8, UINT64_MAX, 0},           /* backing_file_offset */
        {16, 4, 0xffffffffu, 0},         /* backing_file_size */
        {16, 4, 1024, 0},                /* one over QEMU's name limit */
        {20, 4, 63, 0},                  /* cluster_bits */
        {4, 4, 4, 0},                    /* version */
        {72, 8, 1ull << 40, 0},          /* unknown incompatible feature */
        {100, 4, 0xfffffff8u, 0},        /* header_length */
        {100, 4, 8, 0},                  /* header_length too small */
        {so + 36, 4, 0xffffffffu, 0},    /* snapshot extra data size */
        {so + 36, 4, 1025, 0},
        {so + 12, 4, 0xffffffffu, 1}, /* id and name sizes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char *c = malloc(len);
        assert_non_null(c);
        memcpy(c, d, len);
        if (cases[i].width == 4)
            put32(c + cases[i].at, (uint32_t)cases[i].v);
        else
            put64(c + cases[i].at, cases[i].v);
        int fd = mem_image(c, len);
        int r = check_read(fd, 0);
        if (!cases[i].may_pass)
            assert_true(r < 0);
        close(fd);
        free(c);
    }
    /* header extension whose length runs past the first cluster */
    unsigned char *c = malloc(len);
    assert_non_null(c);
    memcpy(c, d, len);
    uint32_t hl = (uint32_t)c[100] << 24 | (uint32_t)c[101] << 16 | c[102] << 8 | c[103];
    put32(c + hl + 4, 0xfffffff0u);
    int fd = mem_image(c, len);
    assert_true(check_read(fd, 0) < 0);
    close(fd);
    free(c);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_and_snapshots),
        cmocka_unit_test(backing_files),
        cmocka_unit_test(write_locked),
        cmocka_unit_test(flipped_bytes),
        cmocka_unit_test(truncated),
        cmocka_unit_test(hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
