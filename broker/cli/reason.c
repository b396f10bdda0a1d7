/* snapbroker CLI - state reasons (see reason.h).  Index = libvirt's enum
 * value for that state; the words are virsh 9.0's. */
#include "reason.h"

#include <stddef.h>

#include "snapbroker/flags.h"

static const char *const running[] = {
    "unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
    "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy",
    "post-copy failed",
};
static const char *const paused[] = {
    "unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",
    "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up",
    "post-copy", "post-copy failed", "api error",
};
static const char *const shutdown[] = { "unknown", "user" };
static const char *const shutoff[] = {
    "unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
    "from snapshot", "daemon",
};
static const char *const crashed[] = { "unknown", "panicked" };

#define PICK(table) \
    (reason >= 0 && (size_t)reason < sizeof(table) / sizeof(table[0]) ? table[reason] : "unknown")

const char *sb_state_reason_name(int state, int reason)
{
    switch (state) {
    case SB_DOMAIN_RUNNING: return PICK(running);
    case SB_DOMAIN_PAUSED: return PICK(paused);
    case SB_DOMAIN_SHUTDOWN: return PICK(shutdown);
    case SB_DOMAIN_SHUTOFF: return PICK(shutoff);
    case SB_DOMAIN_CRASHED: return PICK(crashed);
    default: return "unknown"; /* no state, blocked, pmsuspended: one reason each */
    }
}
