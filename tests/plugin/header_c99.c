/* plugin.h must compile on its own as C99 with -pedantic -Werror (meson
 * sets those flags for this file only), because it is the one header a
 * vendor builds against.  Nothing but the C library may come before it. */
#include "snapbroker/plugin.h"

#include <stdio.h>

/* Use a few declarations so the header is not merely preprocessed. */
static int entry(const struct sb_plugin **out, const struct sb_host_api *h, uint32_t maj,
                 uint32_t min)
{
    (void)h;
    (void)maj;
    (void)min;
    *out = NULL;
    return 0;
}

int main(void)
{
    sb_plugin_entry_fn fn = entry;
    const struct sb_plugin *p;
    int ok = fn(&p, NULL, SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR) == 0 &&
             SB_PLUGIN_SIZE_MIN <= sizeof(struct sb_plugin) &&
             SB_PLUGIN_CAPS_SIZE_MIN <= sizeof(struct sb_plugin_caps); /* 1.1 appended */

    printf("1..1\n%s 1 - plugin.h compiles alone as C99 -pedantic\n", ok ? "ok" : "not ok");
    return ok ? 0 : 1;
}
