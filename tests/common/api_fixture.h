/* The fixture of the public-API tests (tests/api, tests/hier): a broker
 * and a connection to uri in a private state directory, no configuration
 * file, plugins from the build tree's search path (the reference plugins,
 * tests/plugins).  api_fx_close removes the directory.  Include after
 * <cmocka.h>. */
#ifndef SB_TESTS_COMMON_API_FIXTURE_H
#define SB_TESTS_COMMON_API_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "snapbroker/snapbroker.h"
#include "test_rm_tree.h"

struct api_fx {
    char dir[64];
    const char *uri;
    sb_broker *b;
    sb_connection *c;
};

static inline struct api_fx *api_fx_open(const char *uri, unsigned flags)
{
    struct api_fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sb-api-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    setenv("SNAPBROKER_STATE_DIR", f->dir, 1);
    unsetenv("SNAPBROKER_CONFIG");
    unsetenv("SNAPBROKER_PLUGIN_DIR");
    f->uri = uri;
    if (sb_broker_new(&f->b, NULL) != 0)
        fail_msg("broker: %s", sb_error_last()->message);
    if (sb_connect(&f->c, f->b, uri, flags) != 0)
        fail_msg("connect %s: %s", uri, sb_error_last()->message);
    return f;
}

static inline void api_fx_close(struct api_fx *f)
{
    sb_disconnect(f->c);
    sb_broker_free(f->b);
    rm_rf(f->dir);
    free(f);
}

#endif
