/* The callbacks of struct sb_plugin, described once.
 *
 * Every place that needs to know "which callbacks exist, since which ABI
 * minor, and which are mandatory" reads this table: the loader (mandatory
 * checks and since-minor gating), dispatch (operation names in messages)
 * and plugin-info (what a plugin supports).  Adding a callback in ABI 1.1
 * is one new enum value and one new row in ops.c.
 */
#ifndef SB_PLUGIN_OPS_H
#define SB_PLUGIN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "snapbroker/plugin.h"

enum sb_plugin_op {
    SB_OP_OPEN,
    SB_OP_CLOSE,
    SB_OP_DOMAIN_LIST,
    SB_OP_DOMAIN_GET_XML,
    SB_OP_DOMAIN_GET_STATE,
    SB_OP_SNAPSHOT_CREATE,
    SB_OP_SNAPSHOT_REVERT,
    SB_OP_SNAPSHOT_DELETE,
    SB_OP_DOMAIN_DEFINE,
    SB_OP_DOMAIN_UNDEFINE,
    SB_OP_DOMAIN_START,
    SB_OP_DOMAIN_DESTROY,
    SB_OP_DOMAIN_SHUTDOWN,
    SB_OP_DOMAIN_SUSPEND,
    SB_OP_DOMAIN_RESUME,
    SB_OP_SNAPSHOT_LIST,
    SB_OP_SNAPSHOT_GET_XML,
    SB_OP_SNAPSHOT_CURRENT,
    SB_OP_SNAPSHOT_PARENT,
    SB_OP_SNAPSHOT_EXISTS,
    SB_OP_CONN_CAPS,               /* since 1.1 */
    SB_OP_DOMAIN_VALIDATE,         /* since 1.1 */
    SB_OP_SNAPSHOT_USAGE,          /* since 1.1 */
    SB_OP_DOMAIN_JOB_INFO,         /* since 1.1 */
    SB_OP_DOMAIN_JOB_ABORT,        /* since 1.1 */
    SB_OP_DOMAIN_GET_STATE_REASON, /* since 1.1 */
    SB_OP_DOMAIN_IS_ACTIVE,        /* since 1.2 */
    SB_OP__COUNT
};

enum sb_op_requirement {
    SB_OP_OPTIONAL = 0,      /* NULL = NO_SUPPORT */
    SB_OP_MANDATORY = 1,     /* the loader refuses a table without it */
    SB_OP_HYPERVISOR_META = 2 /* mandatory when caps.meta_owner is HYPERVISOR */
};

struct sb_plugin_op_desc {
    const char *name;     /* the member name, used in every message */
    size_t offset;        /* offsetof(struct sb_plugin, member) */
    uint16_t since_minor; /* first ABI 1.x minor that has the member */
    uint8_t requirement;  /* enum sb_op_requirement */
};

/* The row of one operation; NULL for an out-of-range value. */
const struct sb_plugin_op_desc *sb_plugin_op_desc(enum sb_plugin_op op);

/* The callback of op in table (as a generic function pointer), NULL when
 * the member is NULL.  table must be a full-size (internal) copy. */
typedef void (*sb_plugin_fn)(void);
sb_plugin_fn sb_plugin_op_fn(const struct sb_plugin *table, enum sb_plugin_op op);

/* Set the member of op in table to NULL (since-minor gating). */
void sb_plugin_op_clear(struct sb_plugin *table, enum sb_plugin_op op);

#endif
