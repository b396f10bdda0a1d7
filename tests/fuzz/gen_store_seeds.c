/* Writes snapshots.log seeds for fuzz_store: a few stores built through
 * the real store API (so every record kind appears), each copied to
 * OUTDIR/NAME with the harness's mode byte in front.  Run by build.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static void copy_seed(const char *state, const char *outdir, const char *name, unsigned char mode)
{
    char src[1024], dst[1024];
    snprintf(src, sizeof(src), "%s/hosts/h/domains/d/snapshots.log", state);
    snprintf(dst, sizeof(dst), "%s/%s", outdir, name);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    if (!in || !out) {
        perror(src);
        exit(1);
    }
    fputc(mode, out);
    int c;
    while ((c = fgetc(in)) != EOF)
        fputc(c, out);
    fclose(in);
    fclose(out);
}

#define CHECK(x)                                                        \
    do {                                                                \
        if ((x) < 0) {                                                  \
            fprintf(stderr, "%s failed\n", #x);                         \
            exit(1);                                                    \
        }                                                               \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    mkdir(argv[1], 0700);
    char state[] = "/tmp/sbfuzz-seed-XXXXXX";
    if (!mkdtemp(state))
        return 1;

    sb_store *s;
    CHECK(sb_store_open(state, "h", "d", SB_STORE_WRITABLE, &s));
    sb_tree_snapshot a = {.name = "a", .state = SB_STATE_RUNNING, .creation_time = 1700000000,
                          .xml = "<domainsnapshot><name>a</name></domainsnapshot>"};
    CHECK(sb_store_create(s, &a));
    copy_seed(state, argv[1], "one", 1);
    sb_tree_snapshot b = {.name = "b", .parent = "a", .state = SB_STATE_DISK_SNAPSHOT,
                          .external = true, .creation_time = 1700000001};
    CHECK(sb_store_create(s, &b));
    sb_tree_snapshot c = {.name = "c", .parent = "a", .state = SB_STATE_SHUTOFF,
                          .creation_time = 1700000002, .xml = "<x/>"};
    CHECK(sb_store_begin(s));
    CHECK(sb_store_add(s, &c));
    CHECK(sb_store_set_xml(s, "b", "<domainsnapshot/>"));
    CHECK(sb_store_set_current(s, "c"));
    CHECK(sb_store_commit(s));
    uint64_t id;
    CHECK(sb_store_intent_begin(s, "create", "d", "payload", &id));
    copy_seed(state, argv[1], "intent-open", 1);
    CHECK(sb_store_intent_end(s, id));
    copy_seed(state, argv[1], "tree", 1);
    CHECK(sb_store_delete(s, "a", 0));
    CHECK(sb_store_set_current(s, NULL));
    copy_seed(state, argv[1], "deleted", 1);
    copy_seed(state, argv[1], "deleted-nofix", 0);
    CHECK(sb_store_compact(s));
    copy_seed(state, argv[1], "compacted", 1);
    sb_store_close(s);

    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
    return system(cmd) == 0 ? 0 : 1;
}
