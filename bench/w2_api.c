/* w2_api: the "snapbroker API" target of w2_cold - the smallest program a
 * user would write: connect to the default host, list every snapshot of
 * the domain, print the first name.  Linked with libsnapbroker only, so
 * its start-up is what a user's program pays (w2_cold itself links
 * libvirt).  After the first line it prints "open_us list_us peak_kib n".
 *
 *   w2_api STATE_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapbroker/snapbroker.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long peak_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    sb_broker *b;
    sb_connection *c;
    char **names = NULL;
    size_t n = 0;

    if (argc != 2)
        return 2;
    setenv("SNAPBROKER_STATE_DIR", argv[1], 1);
    double t0 = now_us();
    if (sb_broker_new(&b, NULL) < 0 || sb_connect(&c, b, NULL, 0) < 0) {
        fprintf(stderr, "w2_api: %s\n", sb_error_last()->message);
        return 1;
    }
    double t1 = now_us();
    if (sb_snapshot_list(&names, &n, c, "bench", NULL, 0) < 0) {
        fprintf(stderr, "w2_api: %s\n", sb_error_last()->message);
        return 1;
    }
    double t2 = now_us();
    printf("%s\n", n ? names[0] : "(none)");
    fflush(stdout);
    printf("%.1f %.1f %ld %zu\n", t1 - t0, t2 - t1, peak_kib(), n);
    return 0; /* the process ends: no teardown, as w2_cold's other children */
}
