/* tests/qemu - path(f): DIR/f for the test's scratch directory, whose
 * name the including file keeps in `static char dir[]`. */
#ifndef QEMU_SCRATCH_PATH_H
#define QEMU_SCRATCH_PATH_H

#include <stdio.h>

/* The last eight answers stay valid (a call may name several files). */
static char *path(const char *f)
{
    static char buf[8][400];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, f);
    return buf[k];
}

#endif
