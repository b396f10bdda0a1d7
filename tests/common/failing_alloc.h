/* tests/common - a failing allocator for out-of-memory walks.
 *
 * Linking failing_alloc.c into a test program interposes malloc, calloc,
 * realloc, strdup and strndup for the whole process.  Once armed, it
 * counts the calls made directly from the code of one shared object (the
 * one fa_watch named) and fails exactly the chosen one with ENOMEM;
 * calls from anywhere else (libc, libxml2, json-c, the test itself, other
 * objects) are never failed.  The walk SQLite's tests make over every
 * allocation, with the failure kept inside the code under test.
 *
 * Nothing real runs out of memory on demand: this is the stand-in, and a
 * test using it says so.  Not for AddressSanitizer builds, which own
 * malloc there. */
#ifndef SB_TESTS_FAILING_ALLOC_H
#define SB_TESTS_FAILING_ALLOC_H

/* Watch the loaded object whose file name starts with name ("qemu.so",
 * "libsnapbroker.so"): 0, or -1 when none is loaded. */
int fa_watch(const char *name);
/* Count the watched object's allocations from now on and fail the at-th
 * (at 0: fail none, only count). */
void fa_arm(long at);
/* Stop failing; the number of the watched object's allocations since
 * fa_arm (a count >= at says the chosen one happened, so failed). */
long fa_disarm(void);

/* One run of an out-of-memory walk: fn(arg) with the watched object's
 * at-th allocation failing (0: none).  *out_rc gets fn's answer and
 * *out_calls (may be NULL) the allocations counted; returns 1 when the
 * chosen allocation happened.  A failure without it, or an error without
 * a message (sb_error_last), fails the test; OOM_TRACE=1 in the
 * environment prints each answer.  Include after <cmocka.h>. */
int fa_run(const char *what, long at, int (*fn)(void *), void *arg, int *out_rc,
           long *out_calls);

/* What a run left, as a state string (a tree, say): the state before
 * the operation, after it (what a run without a failure left), or between
 * (NULL: none allowed), else the test fails; and a run that succeeded
 * must have left after.  1 when it is not after: the operation is then to
 * be run again. */
int fa_outcome(const char *what, int rc, const char *before, const char *now,
               const char *after, const char *between);

/* The walk over total allocations: step(arg, at) runs one with the at-th
 * failing and returns 1 when it happened.  The first 16, then every n-th
 * for about `runs` in all (0: every one); OOM_STRIDE=n in the
 * environment sets n (1: every one), OOM_AT=k runs the k-th alone.  Prints
 * a line of what was walked (whose: "the plugin", "the library"). */
void fa_walk(const char *what, const char *whose, long total, int runs,
             int (*step)(void *arg, long at), void *arg);

#endif
