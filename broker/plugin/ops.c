/* The callback table description (see ops.h). */
#include "plugin/ops.h"

#include <string.h>

#define OP(member, since, req) \
    { #member, offsetof(struct sb_plugin, member), (since), (req) }

/* One row per member of struct sb_plugin, in enum order.  A callback added
 * in ABI 1.1 gets since_minor 1: a plugin that declares abi_minor 0 then
 * never has it called, whatever bytes its table holds there. */
static const struct sb_plugin_op_desc op_table[SB_OP__COUNT] = {
    [SB_OP_OPEN] = OP(open, 0, SB_OP_MANDATORY),
    [SB_OP_CLOSE] = OP(close, 0, SB_OP_MANDATORY),
    [SB_OP_DOMAIN_LIST] = OP(domain_list, 0, SB_OP_MANDATORY),
    [SB_OP_DOMAIN_GET_XML] = OP(domain_get_xml, 0, SB_OP_MANDATORY),
    [SB_OP_DOMAIN_GET_STATE] = OP(domain_get_state, 0, SB_OP_MANDATORY),
    [SB_OP_SNAPSHOT_CREATE] = OP(snapshot_create, 0, SB_OP_MANDATORY),
    [SB_OP_SNAPSHOT_REVERT] = OP(snapshot_revert, 0, SB_OP_MANDATORY),
    [SB_OP_SNAPSHOT_DELETE] = OP(snapshot_delete, 0, SB_OP_MANDATORY),
    [SB_OP_DOMAIN_DEFINE] = OP(domain_define, 0, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_UNDEFINE] = OP(domain_undefine, 0, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_START] = OP(domain_start, 0, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_DESTROY] = OP(domain_destroy, 0, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_SHUTDOWN] = OP(domain_shutdown, 0, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_SUSPEND] = OP(domain_suspend, 0, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_RESUME] = OP(domain_resume, 0, SB_OP_OPTIONAL),
    [SB_OP_SNAPSHOT_LIST] = OP(snapshot_list, 0, SB_OP_HYPERVISOR_META),
    [SB_OP_SNAPSHOT_GET_XML] = OP(snapshot_get_xml, 0, SB_OP_HYPERVISOR_META),
    [SB_OP_SNAPSHOT_CURRENT] = OP(snapshot_current, 0, SB_OP_HYPERVISOR_META),
    [SB_OP_SNAPSHOT_PARENT] = OP(snapshot_parent, 0, SB_OP_HYPERVISOR_META),
    [SB_OP_SNAPSHOT_EXISTS] = OP(snapshot_exists, 0, SB_OP_OPTIONAL),
    [SB_OP_CONN_CAPS] = OP(conn_caps, 1, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_VALIDATE] = OP(domain_validate, 1, SB_OP_OPTIONAL),
    [SB_OP_SNAPSHOT_USAGE] = OP(snapshot_usage, 1, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_JOB_INFO] = OP(domain_job_info, 1, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_JOB_ABORT] = OP(domain_job_abort, 1, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_GET_STATE_REASON] = OP(domain_get_state_reason, 1, SB_OP_OPTIONAL),
    [SB_OP_DOMAIN_IS_ACTIVE] = OP(domain_is_active, 2, SB_OP_OPTIONAL),
};

const struct sb_plugin_op_desc *sb_plugin_op_desc(enum sb_plugin_op op)
{
    if ((unsigned)op >= SB_OP__COUNT)
        return NULL;
    return &op_table[op];
}

/* Function pointers are read through memcpy because the table is addressed
 * by offset; every member has the same size as sb_plugin_fn (the static
 * assertion below), and POSIX guarantees function pointers round-trip. */
_Static_assert(sizeof(sb_plugin_fn) == sizeof(((struct sb_plugin *)0)->open),
               "callback members must have the size of a function pointer");

sb_plugin_fn sb_plugin_op_fn(const struct sb_plugin *table, enum sb_plugin_op op)
{
    const struct sb_plugin_op_desc *d = sb_plugin_op_desc(op);
    sb_plugin_fn fn = NULL;

    if (!d || !table)
        return NULL;
    memcpy(&fn, (const char *)table + d->offset, sizeof(fn));
    return fn;
}

void sb_plugin_op_clear(struct sb_plugin *table, enum sb_plugin_op op)
{
    const struct sb_plugin_op_desc *d = sb_plugin_op_desc(op);

    if (d && table)
        memset((char *)table + d->offset, 0, sizeof(sb_plugin_fn));
}
