/* tests/common - out-of-memory walks over the failing allocator
 * (failing_alloc.h): run an operation once per allocation of the watched
 * object, that allocation failing, and judge what each run left.
 * Include after <cmocka.h>. */
#ifndef SB_TESTS_OOM_WALK_H
#define SB_TESTS_OOM_WALK_H

#include "failing_alloc.h"
#include "snapbroker/snapbroker.h"

/* One run: fn(arg) with the watched object's at-th allocation failing (0:
 * none).  *out_rc gets fn's answer and *out_calls (may be NULL) the
 * allocations counted; returns 1 when the chosen allocation happened.  A
 * failure without it, or an error without a message (sb_error_last),
 * fails the test; OOM_TRACE=1 in the environment prints each answer. */
int oom_run(const char *what, long at, int (*fn)(void *), void *arg, int *out_rc,
            long *out_calls);

/* The walk over total allocations: step(arg, at) runs one with the at-th
 * failing and returns 1 when it happened.  The first 16, then every n-th
 * for about `runs` in all (0: every one); OOM_STRIDE=n in the
 * environment sets n (1: every one), OOM_AT=k runs the k-th alone.  Prints
 * a line of what was walked (whose: "the plugin", "the library"). */
void oom_walk(const char *what, const char *whose, long total, int runs,
              int (*step)(void *arg, long at), void *arg);

/* A domain's snapshot tree as one string: the names in topological order,
 * each name with its parent, the current one ("a,b a< b<a current=b";
 * malloc'd).  Fails the test when it cannot be read. */
char *oom_tree(sb_connection *c, const char *domain);

struct oom_case;

/* An operation walked on a state made afresh for every run. */
struct oom_op {
    const char *name;
    int (*run)(const struct oom_case *c, void *ctx);
    /* a state between before and after it may stop in (NULL: none) */
    const char *between;
};

struct oom_case {
    const char *whose;          /* "the plugin" */
    int runs;                   /* about how many runs an operation (0: all) */
    /* the starting state, a domain with snapshots a <- b, b current: the
     * run's context */
    void *(*make)(void);
    sb_connection *(*conn)(void *ctx);
    const char *(*domain)(void *ctx);
    void (*check)(void *ctx);   /* what must hold after any run (may be NULL) */
    void (*finish)(void *ctx);  /* after a failed run, the next access (may be NULL) */
    void (*done)(void *ctx);    /* the state torn down */
};

/* Operations on that tree: a revert to a, a delete of a (merging it into
 * b where the hypervisor does), a delete of a with its children (it may
 * stop between them: b gone, a kept), b's XML read back. */
extern const struct oom_op oom_revert_a, oom_delete_a, oom_delete_a_children, oom_dumpxml_b;

/* Walk op: one run without a failure gives the state "after" (the tree,
 * oom_tree) and the number of allocations; then each chosen allocation
 * fails once.  After every run the tree is before, after or op's between
 * (and after when the run succeeded); left unfinished, op then succeeds
 * and leaves after. */
void oom_walk_op(const struct oom_case *c, const struct oom_op *op);

/* One cmocka test that walks op on c: its initial state is a struct
 * oom_test (OOM_TEST builds the entry). */
struct oom_test {
    const struct oom_case *c;
    const struct oom_op *op;
};
void oom_test_run(void **state);
#define OOM_TEST(name, c, op)                                                                 \
    { name, oom_test_run, NULL, NULL, (void *)&(const struct oom_test){c, op} }

#endif
