/* tests/qemu - a temporary directory for the tests that link the plugin's
 * modules: the plugin's state in DIR/state, files made with path(). */
#ifndef QEMU_STATE_FIXTURE_H
#define QEMU_STATE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "qp.h"

static char dir[256];
static qp_ctx ctx;

#include "scratch_path.h"

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sbqu.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char sd[300];
    snprintf(sd, sizeof sd, "%s/state", dir);
    qp_ctx_init(&ctx, NULL, NULL, sd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *argv[] = {(char *)"rm", (char *)"-rf", dir, NULL};
    qp_run(&ctx, argv, NULL, NULL);
    qp_ctx_fini(&ctx);
    return 0;
}

#endif
