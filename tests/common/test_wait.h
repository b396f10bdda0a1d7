/* Waiting for an event in a test.  A test that needs something to have
 * happened (a process gone, a guest timer ticking, a lock taken) polls for
 * that very thing; the deadline only catches a hang, it is never a measure
 * of speed: TEST_HANG_MS is generous for valgrind, ASan and TCG on a loaded
 * 2-core machine, and below every meson timeout (tests/meson.build), so a
 * hang fails with the test's own message. */
#ifndef SB_TESTS_COMMON_TEST_WAIT_H
#define SB_TESTS_COMMON_TEST_WAIT_H

#include <errno.h>
#include <time.h>

#define TEST_HANG_MS (120 * 1000)

static inline double test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Poll cond(arg) (1 ms apart at first, backing off to 50 ms) until it is
 * true: returns 1, or 0 when deadline_ms passed first. */
static inline int test_wait_for(int (*cond)(void *arg), void *arg, int deadline_ms)
{
    double end = test_now_ms() + deadline_ms;
    long pause_ns = 1000000;
    for (;;) {
        if (cond(arg))
            return 1;
        if (test_now_ms() > end)
            return 0;
        struct timespec ts = { 0, pause_ns };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        if (pause_ns < 50000000)
            pause_ns *= 2;
    }
}

#endif
