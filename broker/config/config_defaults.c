/* Defaults that do not come from a file: the state directory of this user.
 * (The embedded default configuration text lives in config.c, next to the
 * code that parses it.) */
#include "config/config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);

    if (!s) {
        sb_error_oom();
        return NULL;
    }
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

char *sb_config_default_state_dir(void)
{
    const char *xdg, *home;

    /* root runs the system-wide broker: its state is the machine's */
    if (geteuid() == 0)
        return concat("/var/lib/snapbroker", "");
    /* XDG Base Directory: a relative XDG_STATE_HOME is invalid and ignored */
    xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/')
        return concat(xdg, "/snapbroker");
    home = getenv("HOME");
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home || home[0] != '/') {
        sb_error_set(SB_ERR_CONFIG, "cannot determine a state directory (no HOME): set "
                                    "SNAPBROKER_STATE_DIR or state_dir in the configuration");
        return NULL;
    }
    return concat(home, "/.local/state/snapbroker");
}
