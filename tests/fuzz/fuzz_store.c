/* The store's log decoder and replay: the input is written as a
 * snapshots.log and opened read-only with SB_STORE_ALLOW_DAMAGED, then the
 * tree is walked, listed, verified and checked.
 *
 * Input: byte 0 bit 0 set = "fix the checksums": every record whose framing
 * fits gets its CRC recomputed, so the fuzzer reaches the op decoder and
 * the tree rules instead of stopping at the checksum.  Bit 1 set = prepend
 * a valid file header.  The rest is the file. */
#include "fuzz_common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/crc32c.h"
#include "store/log_format.h"
#include "store/store.h"
#include "xml/snapdef.h"

static char state_dir[256];
static char log_path[512];

static void cleanup(void)
{
    static const char *const sub[] = {"/hosts/h/domains/d/snapshots.log",
                                       "/hosts/h/domains/d/lock", "/hosts/h/domains/d/oplock",
                                       "/hosts/h/domains/d", "/hosts/h/domains", "/hosts/h",
                                       "/hosts", ""};
    char p[512];
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", state_dir, sub[i]);
        if (unlink(p) < 0)
            rmdir(p);
    }
}

static int setup(void)
{
    if (state_dir[0])
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(state_dir, sizeof(state_dir), "%s/sbfuzz-store-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(state_dir))
        FUZZ_FAIL("mkdtemp failed");
    char p[400];
    snprintf(p, sizeof(p), "%s/hosts", state_dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/hosts/h", state_dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/hosts/h/domains", state_dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/hosts/h/domains/d", state_dir);
    mkdir(p, 0700);
    /* a read-only open without the lock file sees "no store yet" and
     * never reads the log */
    char lock[512];
    snprintf(lock, sizeof(lock), "%s/lock", p);
    int lfd = open(lock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        FUZZ_FAIL("cannot create %s", lock);
    close(lfd);
    snprintf(log_path, sizeof(log_path), "%s/snapshots.log", p);
    atexit(cleanup);
    return 0;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fix_crcs(uint8_t *d, size_t n)
{
    size_t off = SB_LOG_HEADER_SIZE;
    while (off + SB_LOG_REC_HEADER <= n) {
        uint32_t len = get32(d + off + 4);
        if (get32(d + off) != SB_LOG_REC_MAGIC || len > n - off - SB_LOG_REC_HEADER)
            break;
        uint32_t crc = sb_crc32c(0, d + off + 4, 4);
        crc = sb_crc32c(crc, d + off + SB_LOG_REC_HEADER, len);
        for (int i = 0; i < 4; i++)
            d[off + 8 + i] = (uint8_t)(crc >> (8 * i));
        off += SB_LOG_REC_HEADER + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    uint8_t mode = data[0];
    data++;
    size--;

    size_t hdr = (mode & 2) ? SB_LOG_HEADER_SIZE : 0;
    uint8_t *buf = malloc(size + hdr + 1);
    if (!buf)
        return 0;
    if (hdr)
        sb_log_header(buf);
    memcpy(buf + hdr, data, size);
    if (mode & 1)
        fix_crcs(buf, size + hdr);

    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        FUZZ_FAIL("cannot write %s", log_path);
    if (write(fd, buf, size + hdr) != (ssize_t)(size + hdr))
        FUZZ_FAIL("short write");
    close(fd);
    free(buf);

    sb_store *s = NULL;
    sb_error_clear();
    int rc = sb_store_open(state_dir, "h", "d", SB_STORE_ALLOW_DAMAGED, &s);
    fuzz_check_error(rc, "sb_store_open");
    if (rc < 0) {
        if (s)
            FUZZ_FAIL("sb_store_open failed but set *out");
        return 0;
    }
    const sb_tree *t = sb_store_tree(s);
    if (!t)
        FUZZ_FAIL("open store without a tree");

    const char *const *warn;
    size_t nw = sb_store_warnings(s, &warn);
    for (size_t i = 0; i < nw; i++)
        if (!warn[i])
            FUZZ_FAIL("NULL warning");

    /* Every node reachable and consistent. */
    size_t count = 0;
    for (sb_tree_node *n = sb_tree_walk_next(t, NULL, NULL); n; n = sb_tree_walk_next(t, NULL, n)) {
        const char *name = sb_tree_node_name(n);
        if (!name || sb_tree_lookup(t, name) != n)
            FUZZ_FAIL("node not found by its name");
        (void)sb_tree_node_xml(n);
        if (!sb_snap_state_to_string(sb_tree_node_state(n)))
            FUZZ_FAIL("node '%s' loaded with invalid state %d", name, sb_tree_node_state(n));
        if (++count > sb_tree_count(t))
            FUZZ_FAIL("walk visits more nodes than the tree has");
    }
    if (count != sb_tree_count(t))
        FUZZ_FAIL("walk visited %zu of %zu nodes", count, sb_tree_count(t));

    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        int problems = sb_tree_verify(t, devnull);
        fclose(devnull);
        if (problems)
            FUZZ_FAIL("loaded tree fails verification (%d problems)", problems);
    }

    const sb_tree_node **list = NULL;
    size_t nl = 0;
    sb_error_clear();
    rc = sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, &list, &nl);
    fuzz_check_error(rc, "sb_tree_list");
    if (rc == 0 && nl != count)
        FUZZ_FAIL("topological list has %zu of %zu nodes", nl, count);
    free(list);

    char *report = NULL;
    sb_error_clear();
    rc = sb_store_check(s, &report);
    fuzz_check_error(rc, "sb_store_check");
    free(report);

    sb_store_close(s);
    return 0;
}
