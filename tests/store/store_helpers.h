/* Helpers for the store tests: temporary state dirs, a canonical dump of a
 * tree (so "same state" is a string comparison), file surgery. */
#ifndef SB_TESTS_STORE_STORE_HELPERS_H
#define SB_TESTS_STORE_STORE_HELPERS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/tree.h"
#include "test_rm_tree.h"
#include "tree_helpers.h"

#define W SB_STORE_WRITABLE

/* The state directory of the test running now (store_fixture.c): made
 * fresh by store_dir_setup and removed with everything in it by
 * store_dir_teardown, as cmocka setup/teardown functions. */
extern char *test_dir;
int store_dir_setup(void **state);
int store_dir_teardown(void **state);
/* A test that runs in its own fresh state directory. */
#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_dir_setup, store_dir_teardown)


/* A fresh directory under TMPDIR (or /tmp); free() the result. */
static inline char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *d = NULL;
    if (asprintf(&d, "%s/sb-store-test-XXXXXX", base && *base ? base : "/tmp") < 0)
        return NULL;
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

/* Canonical text of a tree: topological order (so sibling order counts),
 * every field, and the current snapshot.  malloc'd. */
static inline char *dump_tree(const sb_tree *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const sb_tree_node **v;
    size_t n;
    if (sb_tree_list(t, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL, &v, &n) < 0) {
        fclose(f);
        free(buf);
        return strdup("ERR");
    }
    for (size_t i = 0; i < n; i++) {
        const sb_tree_node *p = sb_tree_node_parent(v[i]);
        const char *x = sb_tree_node_xml(v[i]);
        fprintf(f, "%s<%s|%d|%d|%lld|%s>;", sb_tree_node_name(v[i]),
                p ? sb_tree_node_name(p) : "-", sb_tree_node_state(v[i]),
                sb_tree_node_external(v[i]), sb_tree_node_creation_time(v[i]), x ? x : "(null)");
    }
    const sb_tree_node *c = sb_tree_current(t);
    fprintf(f, "current=%s", c ? sb_tree_node_name(c) : "-");
    free(v);
    fclose(f);
    return buf;
}

static inline char *dump_store(const sb_store *s)
{
    return dump_tree(sb_store_tree(s));
}

static inline char *log_path(const char *state, const char *host, const char *dom)
{
    char *p = NULL;
    if (asprintf(&p, "%s/hosts/%s/domains/%s/snapshots.log", state, host, dom) < 0)
        return NULL;
    return p;
}

static inline off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Read a whole file; *len gets its size.  malloc'd. */
static inline unsigned char *slurp(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static inline int spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

#endif
