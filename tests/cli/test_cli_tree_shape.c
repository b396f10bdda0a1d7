/* The shape of `snapshot-list --tree` drawing (broker/cli/tree.c), checked
 * without depending on the machine's speed or on a huge output in memory:
 *  - no recursion: a deep chain is drawn on a thread with a small stack
 *    (a recursive drawer overflows it), its text checked as it streams by;
 *  - no quadratic blow-up: the name comparisons the drawer makes (its
 *    calls of strcmp, counted through -Wl,--wrap=strcmp, meson.build)
 *    grow like n log n when n grows fourfold, for a chain, a star and a
 *    binary tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"

/* ---- strcmp, counted ------------------------------------------------------ */

int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);

static unsigned long strcmp_calls;

int __wrap_strcmp(const char *a, const char *b)
{
    strcmp_calls++;
    return __real_strcmp(a, b);
}

/* ---- a FILE that hashes what is written (FNV-1a) and keeps nothing ----- */

typedef struct digest { uint64_t h; uint64_t len; } digest;

static ssize_t digest_write(void *cookie, const char *buf, size_t n)
{
    digest *d = cookie;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ (unsigned char)buf[i]) * 1099511628211ULL;
    d->len += n;
    return (ssize_t)n;
}

static FILE *digest_open(digest *d)
{
    *d = (digest){ .h = 14695981039346656037ULL };
    FILE *f = fopencookie(d, "w", (cookie_io_functions_t){ .write = digest_write });
    assert_non_null(f);
    return f;
}

/* ---- trees ----------------------------------------------------------------- */

typedef struct tree { size_t n; char **names; const char **parents; } tree;

/* n entries "n000000".. whose parent is parent_of(i) (SIZE_MAX: a root). */
static tree make_tree(size_t n, size_t (*parent_of)(size_t))
{
    tree t = { n, calloc(n, sizeof(char *)), calloc(n, sizeof(char *)) };
    assert_non_null(t.names);
    assert_non_null(t.parents);
    for (size_t i = 0; i < n; i++)
        assert_true(asprintf(&t.names[i], "n%06zu", i) > 0);
    for (size_t i = 0; i < n; i++) {
        size_t p = parent_of(i);
        t.parents[i] = p == SIZE_MAX ? NULL : t.names[p];
    }
    return t;
}

static void free_tree(tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->parents);
}

static size_t chain_parent(size_t i) { return i ? i - 1 : SIZE_MAX; }
static size_t star_parent(size_t i) { return i ? 0 : SIZE_MAX; }
static size_t binary_parent(size_t i) { return i ? (i - 1) / 2 : SIZE_MAX; }

/* ---- no recursion ------------------------------------------------------------ */

/* 2500 levels on a 32 KiB stack: 13 bytes a level, less than any call
 * frame (return address and alignment alone take 16), while the drawer
 * plus stdio need a few KiB whatever the depth. */
enum { DEEP = 2500, SMALL_STACK = 32 * 1024 };

struct draw_job { tree *t; FILE *out; int rc; };

static void *draw_thread(void *p)
{
    struct draw_job *j = p;
    j->rc = sb_tree_print(j->out, j->t->n, (const char *const *)j->t->names, j->t->parents,
                          NULL);
    return NULL;
}

/* The chain as virsh draws it: each level two columns right of the last
 * one's "+- ", the leaf followed by its (blank) descendants' prefix. */
static void expected_chain(FILE *f, size_t n)
{
    fprintf(f, "n%06d\n", 0);
    if (n > 1)
        fprintf(f, "  |\n");
    for (size_t i = 1; i < n; i++) {
        fprintf(f, "%*s+- n%06zu\n", (int)(4 * i - 2), "", i);
        fprintf(f, "%*s%s\n", (int)(4 * i), "", i + 1 < n ? "  |" : "");
    }
    fputc('\n', f);
}

static void deep_chain_on_small_stack(void **state)
{
    (void)state;
    tree t = make_tree(DEEP, chain_parent);
    digest want, got;
    FILE *f = digest_open(&want);
    expected_chain(f, DEEP);
    fclose(f);

    /* in a child: an overflow kills it, and the parent says why */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct draw_job j = { &t, digest_open(&got), -1 };
        pthread_attr_t a;
        pthread_t th;
        if (pthread_attr_init(&a) || pthread_attr_setstacksize(&a, SMALL_STACK) ||
            pthread_create(&th, &a, draw_thread, &j) || pthread_join(th, NULL))
            _exit(3);
        fclose(j.out);
        if (j.rc != 0)
            _exit(4);
        _exit(got.h == want.h && got.len == want.len ? 0 : 5);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    free_tree(&t);
    if (WIFSIGNALED(st))
        fail_msg("drawing a %d-deep chain on a %d KiB stack died of signal %d: it recurses",
                 DEEP, SMALL_STACK / 1024, WTERMSIG(st));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("drawing a %d-deep chain on a small stack: %s", DEEP,
                 WEXITSTATUS(st) == 3 ? "no thread" :
                 WEXITSTATUS(st) == 4 ? "sb_tree_print failed" :
                 WEXITSTATUS(st) == 5 ? "not the text virsh draws" : "ASan report (stderr)");
}

/* ---- no quadratic blow-up ------------------------------------------------------ */

static unsigned long comparisons(size_t n, size_t (*parent_of)(size_t))
{
    tree t = make_tree(n, parent_of);
    digest d;
    FILE *f = digest_open(&d);
    strcmp_calls = 0;
    assert_int_equal(sb_tree_print(f, n, (const char *const *)t.names, t.parents, NULL), 0);
    unsigned long c = strcmp_calls;
    fclose(f);
    free_tree(&t);
    return c;
}

/* n log n grows 4.8 times from 1000 to 4000 entries, n^2 16 times. */
static void comparisons_grow_n_log_n(void **state)
{
    (void)state;
    static const struct { const char *shape; size_t (*parent_of)(size_t); } shapes[] = {
        { "chain", chain_parent }, { "star", star_parent }, { "binary tree", binary_parent },
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        unsigned long small = comparisons(1000, shapes[i].parent_of);
        unsigned long big = comparisons(4000, shapes[i].parent_of);
        print_message("# %s: %lu name comparisons for 1000 entries, %lu for 4000\n",
                      shapes[i].shape, small, big);
        if (small == 0)
            fail_msg("no strcmp call counted: is tree.c still linked with --wrap=strcmp?");
        if (big > 8 * small)
            fail_msg("%s: comparisons grew %.1f times for 4 times the entries: quadratic",
                     shapes[i].shape, (double)big / (double)small);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deep_chain_on_small_stack),
        cmocka_unit_test(comparisons_grow_n_log_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
