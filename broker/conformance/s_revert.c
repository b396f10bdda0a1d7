/* Domain state rules (semantics.md §4.4, §7): what a create does to the
 * domain, and the state a revert leaves it in, for snapshots of running,
 * paused and shut-off domains, with REVERT_RUNNING, REVERT_PAUSED or
 * neither. */
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

/* The vSphere simulator's revert (tests/esx-sim) only moves the current
 * snapshot. */
#define ESXSIM_REVERT                                                                           \
    "its RevertToSnapshot_Task leaves the power state as it was; vSphere gives the VM the "   \
    "state the snapshot recorded (powered on or suspended from a memory snapshot, else off)"

static int snapshot_state(struct k *k, const char *name, int *out)
{
    char *xml = k_get_xml(k, name), *st;
    if (!xml)
        return K_FAIL;
    st = k_xml_field(xml, "state");
    free(xml);
    *out = -1;
    for (int s = 0; st && s <= SB_STATE_DISK_SNAPSHOT; s++)
        if (strcmp(st, sb_snapshot_state_name(s)) == 0)
            *out = s;
    int r = *out >= 0 ? K_PASS : k_fail(k, "snapshot %s has state '%s'", name, st ? st : "");
    free(st);
    return r;
}

/* The matrix: arg = the domain's state when the snapshot is taken,
 * arg2 = revert flags.  The domain is shut off before the revert, so the
 * result depends on the snapshot and the flags only (§7.1). */
static int matrix(struct k *k, const struct k_scenario *s)
{
    int taken = (int)s->arg, snap, want;

    K_TRY(k_set_state(k, taken));
    K_TRY(k_create(k, "r1", 0));
    K_TRY(snapshot_state(k, "r1", &snap));
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create(k, "r2", 0));
    K_TRY(k_revert(k, "r1", s->arg2));
    if (s->arg2 & SB_SNAPSHOT_REVERT_RUNNING)
        want = SB_DOMAIN_RUNNING;
    else if (s->arg2 & SB_SNAPSHOT_REVERT_PAUSED)
        want = SB_DOMAIN_PAUSED;
    else if (snap == SB_STATE_RUNNING)
        want = SB_DOMAIN_RUNNING;
    else if (snap == SB_STATE_PAUSED)
        want = SB_DOMAIN_PAUSED;
    else
        want = SB_DOMAIN_SHUTOFF;
    /* with a flag the plugin sets the state itself: no simulator excuse */
    int r = k_state_is(k, want);
    K_TRY(s->arg2 ? r : k_simulator_limit(k, r, "esx", ESXSIM_REVERT));
    return k_current_is(k, "r1");
}

/* Reverting while the domain runs: the result is the same as from shut
 * off, or the plugin refuses with OPERATION_INVALID and changes nothing
 * (a hypervisor that cannot revert a running machine, §7.2). */
static int while_running(struct k *k, const struct k_scenario *s)
{
    int snap, want;
    char *before;

    K_TRY(k_set_state(k, (int)s->arg));
    K_TRY(k_create(k, "r1", 0));
    K_TRY(snapshot_state(k, "r1", &snap));
    K_TRY(k_set_state(k, SB_DOMAIN_RUNNING));
    K_TRY(k_create(k, "r2", 0));
    if (!(before = k_tree_sig(k)))
        return K_FAIL;
    int rc = sb_snapshot_revert(k->c, k->dom, "r1", 0);
    if (rc == -SB_ERR_OPERATION_INVALID) {
        int r = k_unchanged(k, before, "a refused revert");
        free(before);
        K_TRY(r);
        return k_state_is(k, SB_DOMAIN_RUNNING);
    }
    free(before);
    K_TRY(k_ok(k, rc, "reverting a running domain"));
    want = snap == SB_STATE_RUNNING  ? SB_DOMAIN_RUNNING
           : snap == SB_STATE_PAUSED ? SB_DOMAIN_PAUSED
                                     : SB_DOMAIN_SHUTOFF;
    K_TRY(k_simulator_limit(k, k_state_is(k, want), "esx", ESXSIM_REVERT));
    return k_current_is(k, "r1");
}

static int force_harmless(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create(k, "r1", 0));
    K_TRY(k_create(k, "r2", 0));
    K_TRY(k_revert(k, "r1", SB_SNAPSHOT_REVERT_FORCE));
    K_TRY(k_state_is(k, SB_DOMAIN_SHUTOFF));
    return k_current_is(k, "r1");
}

static int restores_definition(struct k *k, const struct k_scenario *s)
{
    char *xml = NULL, *changed = NULL, *name = NULL, *after = NULL;
    const char *marker = "<description>changed by the conformance kit</description>";
    int r = K_FAIL;
    (void)s;

    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create(k, "r1", 0));
    if (sb_domain_get_xml(&xml, k->c, k->dom, 0) < 0)
        return k_fail(k, "the domain's XML: %s", k_errstr());
    char *at = strstr(xml, "</name>");
    if (!at || asprintf(&changed, "%.*s</name>\n  %s%s", (int)(at - xml), xml, marker,
                        at + strlen("</name>")) < 0) {
        free(xml);
        return k_fail(k, "cannot edit the domain's XML");
    }
    if (sb_domain_define(&name, k->c, changed) < 0) {
        r = k_fail(k, "redefining the domain with a description: %s", k_errstr());
        goto out;
    }
    if ((r = k_revert(k, "r1", 0)) != K_PASS)
        goto out;
    if (sb_domain_get_xml(&after, k->c, k->dom, 0) < 0)
        r = k_fail(k, "the domain's XML: %s", k_errstr());
    else if (strstr(after, "changed by the conformance kit"))
        r = k_fail(k, "the revert kept the definition made after the snapshot:\n%s", after);
out:
    free(xml);
    free(changed);
    free(name);
    free(after);
    return r;
}

static int create_keeps_state(struct k *k, const struct k_scenario *s)
{
    K_TRY(k_set_state(k, (int)s->arg));
    K_TRY(k_create(k, "r1", 0));
    return k_state_is(k, (int)s->arg);
}

static int create_halt(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_RUNNING));
    K_TRY(k_create(k, "r1", SB_SNAPSHOT_CREATE_HALT));
    K_TRY(k_state_is(k, SB_DOMAIN_SHUTOFF));
    return k_list_is(k, NULL, 0, "r1");
}

static int running_snapshot_state(struct k *k, const struct k_scenario *s)
{
    int snap;
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_RUNNING));
    K_TRY(k_create(k, "r1", 0));
    K_TRY(snapshot_state(k, "r1", &snap));
    if (snap != SB_STATE_RUNNING)
        return k_fail(k, "a snapshot of a running domain has state %s",
                      sb_snapshot_state_name(snap));
    return K_PASS;
}

static int disk_only_state(struct k *k, const struct k_scenario *s)
{
    int snap;
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_RUNNING));
    K_TRY(k_create(k, "r1", SB_SNAPSHOT_CREATE_DISK_ONLY));
    K_TRY(snapshot_state(k, "r1", &snap));
    if (snap != SB_STATE_DISK_SNAPSHOT)
        return k_fail(k, "a disk-only snapshot of a running domain has state %s",
                      sb_snapshot_state_name(snap));
    return k_state_is(k, SB_DOMAIN_RUNNING);
}

/* ABI 1.2 domain_is_active, where the plugin has it: the answer the
 * broker takes instead of the state query (before a disk-only create,
 * before it opens a domain's store) agrees with that query on a shut-off,
 * a running and, where the plugin can suspend, a paused domain. */
static int is_active_agrees(struct k *k, const struct k_scenario *s)
{
    static const int states[] = { SB_DOMAIN_SHUTOFF, SB_DOMAIN_RUNNING, SB_DOMAIN_PAUSED };
    (void)s;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        int active = -1, st;
        if (states[i] == SB_DOMAIN_PAUSED && !sb_connection_supports(k->c, "domain_suspend"))
            break;
        K_TRY(k_set_state(k, states[i]));
        K_TRY(k_ok(k, sb_domain_is_active(&active, k->c, k->dom), "domain_is_active"));
        K_TRY(k_state(k, &st));
        if (active != (st != SB_DOMAIN_SHUTOFF))
            return k_fail(k, "domain_is_active says %s for a domain that is %s",
                          active ? "active" : "not active", sb_domain_state_name(st));
    }
    return K_PASS;
}

#define RUNNING SB_DOMAIN_RUNNING
#define PAUSED SB_DOMAIN_PAUSED
#define SHUTOFF SB_DOMAIN_SHUTOFF
#define RV_RUN SB_SNAPSHOT_REVERT_RUNNING
#define RV_PAUSE SB_SNAPSHOT_REVERT_PAUSED
#define M(id, rule, taken, flags, o) \
    { "REVERT-" id, "7.1", rule, { .revert = (flags), .ops = (o) }, matrix, (taken), (flags), \
      NULL }

static const struct k_scenario scenarios[] = {
    M("SHUTOFF", "to a shut-off snapshot, no flags: the domain ends shut off", SHUTOFF, 0, 0),
    M("SHUTOFF-RUNNING", "to a shut-off snapshot with REVERT_RUNNING: running", SHUTOFF,
      RV_RUN, K_OPS_RUN),
    M("SHUTOFF-PAUSED", "to a shut-off snapshot with REVERT_PAUSED: paused", SHUTOFF, RV_PAUSE,
      K_OPS_RUN),
    M("RUNNING", "to a running snapshot, no flags: the state it records (running)", RUNNING,
      0, K_OPS_RUN),
    M("RUNNING-RUNNING", "to a running snapshot with REVERT_RUNNING: running", RUNNING, RV_RUN,
      K_OPS_RUN),
    M("RUNNING-PAUSED", "to a running snapshot with REVERT_PAUSED: paused", RUNNING, RV_PAUSE,
      K_OPS_RUN),
    M("PAUSED", "to a paused snapshot, no flags: the state it records", PAUSED, 0,
      K_OPS_PAUSE),
    M("PAUSED-RUNNING", "to a paused snapshot with REVERT_RUNNING: running", PAUSED, RV_RUN,
      K_OPS_PAUSE),
    M("PAUSED-PAUSED", "to a paused snapshot with REVERT_PAUSED: paused", PAUSED, RV_PAUSE,
      K_OPS_PAUSE),
    { "REVERT-WHILE-RUNNING-SHUTOFF", "7.2",
      "a running domain reverted to a shut-off snapshot ends shut off (or the revert is "
      "refused with OPERATION_INVALID, nothing changed)",
      { .ops = K_OPS_RUN }, while_running, SHUTOFF, 0, NULL },
    { "REVERT-WHILE-RUNNING-RUNNING", "7.2",
      "a running domain reverted to a running snapshot ends running (or OPERATION_INVALID, "
      "nothing changed)",
      { .ops = K_OPS_RUN }, while_running, RUNNING, 0, NULL },
    { "REVERT-FORCE", "7.1", "REVERT_FORCE on a revert that is not risky changes nothing",
      { .revert = SB_SNAPSHOT_REVERT_FORCE }, force_harmless },
    { "REVERT-DEFINITION", "7.1",
      "a revert gives the domain the definition it had when the snapshot was taken",
      { .ops = K_OP_DEFINE }, restores_definition },
    { "STATE-CREATE-SHUTOFF", "4.4", "a snapshot leaves a shut-off domain shut off", { 0 },
      create_keeps_state, SHUTOFF, 0, NULL },
    { "STATE-CREATE-RUNNING", "4.4", "a snapshot leaves a running domain running",
      { .ops = K_OPS_RUN }, create_keeps_state, RUNNING, 0, NULL },
    { "STATE-CREATE-PAUSED", "4.4", "a snapshot leaves a paused domain paused",
      { .ops = K_OPS_PAUSE }, create_keeps_state, PAUSED, 0, NULL },
    { "STATE-CREATE-HALT", "4.4", "CREATE_HALT shuts the domain off after the snapshot",
      { .create = SB_SNAPSHOT_CREATE_HALT, .ops = K_OPS_RUN }, create_halt },
    { "STATE-SNAPSHOT-RUNNING", "4.4", "a snapshot of a running domain records 'running'",
      { .ops = K_OPS_RUN }, running_snapshot_state },
    { "STATE-DISK-ONLY", "4.4",
      "a disk-only snapshot of a running domain records 'disk-snapshot' and the domain "
      "keeps running",
      { .create = SB_SNAPSHOT_CREATE_DISK_ONLY, .ops = K_OPS_RUN, .traits = K_T_DISKS },
      disk_only_state },
    { "STATE-IS-ACTIVE", "4.4",
      "domain_is_active says active exactly when the state is not shut off (shut off, "
      "running, paused)",
      { .ops = K_OPS_RUN | K_OP_IS_ACTIVE }, is_active_agrees },
};

const struct k_family k_family_revert = { "state", scenarios,
                                          sizeof(scenarios) / sizeof(scenarios[0]) };
