/* Intents that a dead process left behind: an operation that touched the
 * hypervisor but never recorded its result.  The plugin says whether the
 * snapshot really exists; the metadata is made to agree.  Without that
 * answer (a plugin without snapshot_exists) the intent stays and `check`
 * reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"
#include "plugin/dispatch.h"
#include "plugin/log.h"
#include "xml/xml_util.h"

static void say(sb_buf *report, const char *fmt, const char *op, const char *name)
{
    if (report)
        sb_buf_addf(report, fmt, op, name);
}

/* Adopt a snapshot that was created but never recorded. */
static int adopt(sb_store *s, const char *xml)
{
    sb_snapdef *def = NULL;
    int rc;

    if ((rc = sb_snapdef_parse(xml, strlen(xml), "intent payload", SB_SNAP_PARSE_REDEFINE, &def)) <
        0)
        return rc;
    sb_tree_snapshot e = sb_snap_tree_entry(def, xml);
    if (!sb_tree_lookup(sb_store_tree(s), def->name)) {
        if (e.parent && !sb_tree_lookup(sb_store_tree(s), e.parent))
            e.parent = NULL;
        if ((rc = sb_store_add(s, &e)) == 0)
            rc = sb_store_set_current(s, def->name);
    }
    sb_snapdef_free(def);
    return rc;
}

/* An intent nobody can decide: kept (and counted) unless the caller asked
 * to discard such intents (`check --discard-unresolved`). */
static int undecided(sb_store *s, const sb_store_intent *in, unsigned flags, sb_buf *report,
                     int *unresolved, const char *why)
{
    if (flags & SB_RECONCILE_DISCARD) {
        if (report)
            sb_buf_addf(report, "%s of snapshot '%s' was interrupted; %s; intent discarded\n",
                        in->op, in->snapshot, why);
        return sb_store_intent_end(s, in->id);
    }
    if (report)
        sb_buf_addf(report, "%s of snapshot '%s' was interrupted; %s (check --discard-unresolved "
                            "drops it once you have checked the domain)\n",
                    in->op, in->snapshot, why);
    (*unresolved)++;
    return 0;
}

static int resolve_one(sb_connection *c, const char *domain, sb_store *s,
                       const sb_store_intent *in, unsigned flags, sb_buf *report, int *unresolved)
{
    int exists, rc;

    if (strcmp(in->op, "revert") == 0) {
        /* Nothing to undo in the metadata: the current pointer moves only
         * after a revert succeeded.  The guest may be anywhere, though. */
        say(report, "%s of snapshot '%s' was interrupted; metadata unchanged, check the domain's state\n",
            in->op, in->snapshot);
        return sb_store_intent_end(s, in->id);
    }
    if (!c->plugin->ops.snapshot_exists || !in->payload || !*in->payload)
        return undecided(s, in, flags, report, unresolved,
                         "the plugin cannot tell whether the snapshot exists");
    c->active_store = s;
    c->active_domain = domain;
    SB_DISPATCH(exists, c->plugin, snapshot_exists, c->conn, domain, in->payload);
    c->active_store = NULL;
    c->active_domain = NULL;
    if (exists < 0) {
        char why[sizeof(sb_error_last()->message) + 64];
        snprintf(why, sizeof(why), "the plugin could not tell whether it exists: %s",
                 sb_error_last()->message);
        sb_error_clear();
        return undecided(s, in, flags, report, unresolved, why);
    }
    if ((rc = sb_store_begin(s)) < 0)
        return rc;
    if (strcmp(in->op, "create") == 0 && exists) {
        rc = adopt(s, in->payload);
        say(report, "%s of snapshot '%s' was interrupted after the hypervisor took it; adopted\n",
            in->op, in->snapshot);
    } else if (strcmp(in->op, "delete") == 0 && !exists) {
        if (sb_tree_lookup(sb_store_tree(s), in->snapshot))
            rc = sb_store_delete(s, in->snapshot, 0);
        say(report, "%s of snapshot '%s' was interrupted after its data was removed; metadata removed\n",
            in->op, in->snapshot);
    } else {
        say(report, "%s of snapshot '%s' was interrupted before the hypervisor changed; nothing to do\n",
            in->op, in->snapshot);
    }
    if (rc == 0 && (rc = sb_store_intent_end(s, in->id)) == 0)
        return sb_store_commit(s);
    sb_store_rollback(s);
    return rc;
}

int sb_conn_reconcile(sb_connection *c, const char *domain, sb_store *s, unsigned flags,
                      char **out_report)
{
    sb_store_intent *intents = NULL;
    sb_buf report = { 0 };
    int unresolved = 0;
    size_t n = 0;
    int rc;

    if (out_report)
        *out_report = NULL;
    if ((rc = sb_store_pending_intents(s, 0, &intents, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc >= 0; i++)
        rc = resolve_one(c, domain, s, &intents[i], flags, out_report ? &report : NULL,
                         &unresolved);
    free(intents);
    if (out_report && rc >= 0 && (rc = sb_buf_finish(&report, out_report)) < 0)
        return rc;
    sb_buf_clear(&report);
    return rc < 0 ? rc : unresolved;
}

int sb_conn_operation_begin(sb_connection *c, const char *domain, sb_store *s)
{
    int rc = sb_store_operation_begin(s);
    if (rc < 0)
        return rc;
    /* Undecided intents are check's business; they must not stop work. */
    rc = sb_conn_reconcile(c, domain, s, 0, NULL);
    if (rc > 0)
        sb_log_write(SB_LOG_WARN, "broker",
                     "domain '%s' has %d interrupted operation(s) that need attention; "
                     "run `snapbroker check %s`",
                     domain, rc, domain);
    return rc < 0 ? rc : 0;
}

int sb_conn_metadata_operation_begin(sb_connection *c, const char *domain, sb_store *s)
{
    int rc = sb_store_operation_begin_shared(s);
    if (rc < 0 || !sb_store_foreign_intents(s))
        return rc;
    /* A dead process left intents: resolve them alone first. */
    sb_store_operation_end(s);
    if ((rc = sb_conn_operation_begin(c, domain, s)) < 0)
        return rc;
    sb_store_operation_end(s);
    return sb_store_operation_begin_shared(s);
}

void sb_conn_operation_end(sb_store *s)
{
    if (s)
        sb_store_operation_end(s);
}
