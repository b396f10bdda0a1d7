/* Flag acceptance (semantics.md §2): every flag of every verb, never
 * skipped.  A flag the plugin does not declare must be refused with
 * INVALID_ARG naming it, before the plugin runs (nothing changes); a
 * declared one must be accepted (the call may still fail for another
 * reason the semantics give, e.g. QUIESCE without a guest agent, but
 * never as an unsupported flag, nor with a class that says the plugin
 * cannot do it at all).  And the API rules on combinations. */
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

/* Refusal: INVALID_ARG, the message names the flag, nothing changed. */
static int refused(struct k *k, int rc, int family, unsigned bit, const char *before,
                   int state_before, const char *what)
{
    const char *name = sb_flag_name(family, bit);
    int st;

    K_TRY(k_err_is(k, rc, SB_ERR_INVALID_ARG, what));
    if (!strstr(sb_error_last()->message, name))
        return k_fail(k, "%s: the refusal does not name %s: %s", what, name, k_errstr());
    K_TRY(k_unchanged(k, before, what));
    K_TRY(k_state(k, &st));
    if (st != state_before)
        return k_fail(k, "%s was refused but the domain went from %s to %s", what,
                      sb_domain_state_name(state_before), sb_domain_state_name(st));
    return K_PASS;
}

/* The classes that say "this cannot be done here at all".  A plugin that
 * answers a declared flag with one of them, in the state the kit calls it
 * in, declares what it does not do: the flag's scenario would otherwise
 * pass although no call with it ever succeeds. */
static int not_supported_class(int rc)
{
    return rc == -SB_ERR_NO_SUPPORT || rc == -SB_ERR_OPERATION_UNSUPPORTED ||
           rc == -SB_ERR_CONFIG_UNSUPPORTED;
}

/* Where a declared flag's "unsupported" answer is a fact of the domain,
 * not of the plugin.  CREATE_LIVE on an inactive domain: libvirt (and the
 * qemu plugin, after it) refuses it with OPERATION_UNSUPPORTED ("live
 * snapshot creation is supported only during full system snapshots").
 * QUIESCE on a running domain whose definition has no guest agent
 * channel: libvirt's "QEMU guest agent is not configured" is an
 * unsupported argument, and so is the qemu plugin's answer (a run with
 * --domain on such a domain).  On an inactive domain a quiesce the state
 * prevents is OPERATION_INVALID, so there "unsupported" means no quiesce
 * ever (the kit's own scratch domains are shut off). */
static int unsupported_for_the_domain(int family, unsigned bit, int state)
{
    if (family != SB_FLAGS_CREATE)
        return 0;
    if (bit == SB_SNAPSHOT_CREATE_LIVE)
        return state != SB_DOMAIN_RUNNING;
    return bit == SB_SNAPSHOT_CREATE_QUIESCE && state == SB_DOMAIN_RUNNING;
}

/* Acceptance: the call may fail for a reason of the state (semantics.md
 * §2.2), never as an unsupported flag nor as "not supported". */
static int accepted(struct k *k, int rc, int family, unsigned bit, int state, const char *what)
{
    if (rc >= 0)
        return K_PASS;
    if (rc == -SB_ERR_INVALID_ARG || strstr(sb_error_last()->message, "unsupported flags"))
        return k_fail(k, "%s: declared flag %s was refused: %s", what,
                      sb_flag_name(family, bit), k_errstr());
    if (not_supported_class(rc) && !unsupported_for_the_domain(family, bit, state))
        return k_fail(k, "%s: declared flag %s was refused as not supported: %s", what,
                      sb_flag_name(family, bit), k_errstr());
    return K_PASS;
}

/* Flags a context adds must be declared for the acceptance direction. */
static int companions(struct k *k, unsigned extra, unsigned have, int family)
{
    for (unsigned b = 1; b; b <<= 1)
        if ((extra & b) && !(have & b))
            return k_skip(k, "the context of this flag needs %s, which the plugin does not "
                          "declare", sb_flag_name(family, b));
    return K_PASS;
}

static int finish(struct k *k, int declared, int rc, int family, unsigned bit, char *before,
                  int state, const char *what)
{
    int r = declared ? accepted(k, rc, family, bit, state, what)
                     : refused(k, rc, family, bit, before, state, what);
    free(before);
    return r;
}

static int create_flag(struct k *k, const struct k_scenario *s)
{
    unsigned bit = s->arg, flags = bit, have = k->caps.create_flags;
    int declared = (have & bit) != 0, state, rc;
    char *xml = NULL, *before;

    K_TRY(k_create(k, "f0", 0));
    if (bit == SB_SNAPSHOT_CREATE_CURRENT)
        flags |= SB_SNAPSHOT_CREATE_REDEFINE;
    if (bit == SB_SNAPSHOT_CREATE_QUIESCE || bit == SB_SNAPSHOT_CREATE_REUSE_EXT)
        flags |= SB_SNAPSHOT_CREATE_DISK_ONLY & have;
    if (declared)
        K_TRY(companions(k, flags & ~bit, have, SB_FLAGS_CREATE));
    /* REDEFINE (and CURRENT with it) gives back a snapshot as it is */
    if (flags & SB_SNAPSHOT_CREATE_REDEFINE) {
        if (!(xml = k_get_xml(k, "f0")))
            return K_FAIL;
    } else {
        xml = k_snap_xml(k, "f1", NULL);
    }
    K_TRY(k_state(k, &state));
    if (!(before = k_tree_sig(k))) {
        free(xml);
        return K_FAIL;
    }
    rc = k_create_rc(k, xml, flags, NULL);
    free(xml);
    return finish(k, declared, rc, SB_FLAGS_CREATE, bit, before, state, "create");
}

/* Snapshots f0 (and f1, its child, when two), then the domain's state and
 * the tree as they are before the call under test. */
static int setup(struct k *k, int two, int *state, char **before)
{
    K_TRY(k_create(k, "f0", 0));
    if (two)
        K_TRY(k_create(k, "f1", 0));
    K_TRY(k_state(k, state));
    return (*before = k_tree_sig(k)) ? K_PASS : K_FAIL;
}

static int revert_flag(struct k *k, const struct k_scenario *s)
{
    unsigned bit = s->arg;
    char *before;
    int state;

    K_TRY(setup(k, 1, &state, &before));
    int rc = sb_snapshot_revert(k->c, k->dom, "f0", bit);
    return finish(k, (k->caps.revert_flags & bit) != 0, rc, SB_FLAGS_REVERT, bit, before, state,
                  "revert");
}

static int delete_flag(struct k *k, const struct k_scenario *s)
{
    unsigned bit = s->arg;
    char *before;
    int state;

    K_TRY(setup(k, 1, &state, &before));
    int rc = sb_snapshot_delete(k->c, k->dom, "f0", bit);
    return finish(k, (k->caps.delete_flags & bit) != 0, rc, SB_FLAGS_DELETE, bit, before, state,
                  "delete");
}

static int list_flag(struct k *k, const struct k_scenario *s)
{
    unsigned bit = s->arg;
    int children = s->arg2, family = children ? SB_FLAGS_LIST_CHILDREN : SB_FLAGS_LIST;
    int declared = (k->caps.list_flags & bit) != 0, state;
    char **names = NULL, *before;
    size_t n = 0;

    K_TRY(setup(k, 1, &state, &before));
    int rc = sb_snapshot_list(&names, &n, k->c, k->dom, children ? "f0" : NULL, bit);
    sb_names_free(names, n);
    /* a plugin without listings from a snapshot answers those NO_SUPPORT
     * whatever the flags (semantics.md §5.3); a domain listing has no
     * such excuse */
    if (children && declared && rc == -SB_ERR_NO_SUPPORT) {
        free(before);
        return k_skip(k, "the plugin cannot list from a snapshot (NO_SUPPORT)");
    }
    return finish(k, declared, rc, family, bit, before, state, "list");
}

static int xml_flag(struct k *k, const struct k_scenario *s)
{
    unsigned bit = s->arg;
    int declared = (k->caps.xml_flags & bit) != 0, state;
    char *xml = NULL, *before;

    K_TRY(setup(k, 0, &state, &before));
    int rc = sb_snapshot_get_xml(&xml, k->c, k->dom, "f0", bit);
    free(xml);
    return finish(k, declared, rc, SB_FLAGS_XML, bit, before, state, "dumpxml");
}

/* ---- rules on combinations (§2.1), checked before the plugin runs ---- */

static int combo_create(struct k *k, const struct k_scenario *s)
{
    char *xml, *before;
    int state;

    K_TRY(k_create(k, "f0", 0));
    if (!(xml = k_get_xml(k, "f0")))
        return K_FAIL;
    K_TRY(k_state(k, &state));
    if (!(before = k_tree_sig(k))) {
        free(xml);
        return K_FAIL;
    }
    int rc = k_create_rc(k, xml, s->arg, NULL);
    free(xml);
    return finish(k, 0, rc, SB_FLAGS_CREATE, s->arg2, before, state, "create");
}

static int combo_revert(struct k *k, const struct k_scenario *s)
{
    char *before;
    int state;

    K_TRY(setup(k, 0, &state, &before));
    int rc = sb_snapshot_revert(k->c, k->dom, "f0", s->arg);
    return finish(k, 0, rc, SB_FLAGS_REVERT, s->arg2, before, state, "revert");
}

static int combo_delete(struct k *k, const struct k_scenario *s)
{
    char *before;
    int state;

    K_TRY(setup(k, 1, &state, &before));
    int rc = sb_snapshot_delete(k->c, k->dom, "f0", s->arg);
    return finish(k, 0, rc, SB_FLAGS_DELETE, s->arg2, before, state, "delete");
}

#define RULE_TEXT ": refused with INVALID_ARG naming it before the plugin runs unless declared; " \
                  "accepted when declared (never answered as not supported)"
#define CF(S) { "FLAG-CREATE-" #S, "2.2", "VIR_DOMAIN_SNAPSHOT_CREATE_" #S RULE_TEXT, { 0 }, \
                create_flag, SB_SNAPSHOT_CREATE_##S, 0, NULL }
#define RF(S) { "FLAG-REVERT-" #S, "2.2", "VIR_DOMAIN_SNAPSHOT_REVERT_" #S RULE_TEXT, { 0 }, \
                revert_flag, SB_SNAPSHOT_REVERT_##S, 0, NULL }
#define DF(S) { "FLAG-DELETE-" #S, "2.2", "VIR_DOMAIN_SNAPSHOT_DELETE_" #S RULE_TEXT, { 0 }, \
                delete_flag, SB_SNAPSHOT_DELETE_##S, 0, NULL }
#define LF(S) { "FLAG-LIST-" #S, "2.2", "VIR_DOMAIN_SNAPSHOT_LIST_" #S " (domain listing)" \
                RULE_TEXT, { 0 }, list_flag, SB_SNAPSHOT_LIST_##S, 0, NULL }
#define CLF(S) { "FLAG-LISTFROM-" #S, "2.2", "VIR_DOMAIN_SNAPSHOT_LIST_" #S \
                 " (listing from a snapshot)" RULE_TEXT, { 0 }, list_flag, \
                 SB_SNAPSHOT_LIST_##S, 1, NULL }

static const struct k_scenario scenarios[] = {
    CF(REDEFINE), CF(CURRENT), CF(NO_METADATA), CF(HALT), CF(DISK_ONLY), CF(REUSE_EXT),
    CF(QUIESCE), CF(ATOMIC), CF(LIVE), CF(VALIDATE),
    RF(RUNNING), RF(PAUSED), RF(FORCE), RF(RESET_NVRAM),
    DF(CHILDREN), DF(METADATA_ONLY), DF(CHILDREN_ONLY),
    LF(ROOTS), LF(METADATA), LF(LEAVES), LF(NO_LEAVES), LF(NO_METADATA), LF(INACTIVE),
    LF(ACTIVE), LF(DISK_ONLY), LF(INTERNAL), LF(EXTERNAL), LF(TOPOLOGICAL),
    CLF(DESCENDANTS), CLF(METADATA), CLF(LEAVES), CLF(NO_LEAVES), CLF(NO_METADATA),
    CLF(INACTIVE), CLF(ACTIVE), CLF(DISK_ONLY), CLF(INTERNAL), CLF(EXTERNAL), CLF(TOPOLOGICAL),
    { "FLAG-XML-SECURE", "2.2", "VIR_DOMAIN_SNAPSHOT_XML_SECURE" RULE_TEXT, { 0 }, xml_flag,
      SB_SNAPSHOT_XML_SECURE, 0, NULL },
    { "FLAG-RULE-CURRENT-NEEDS-REDEFINE", "2.1",
      "CREATE_CURRENT without CREATE_REDEFINE is refused with INVALID_ARG, nothing done",
      { 0 }, combo_create, SB_SNAPSHOT_CREATE_CURRENT, SB_SNAPSHOT_CREATE_CURRENT, NULL },
    { "FLAG-RULE-REDEFINE-NO-METADATA", "2.1",
      "CREATE_REDEFINE with CREATE_NO_METADATA is refused with INVALID_ARG, nothing done",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_NO_METADATA }, combo_create,
      SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_NO_METADATA,
      SB_SNAPSHOT_CREATE_NO_METADATA, NULL },
    { "FLAG-RULE-REDEFINE-HALT", "2.1",
      "CREATE_REDEFINE with CREATE_HALT is refused with INVALID_ARG, nothing done",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_HALT }, combo_create,
      SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_HALT, SB_SNAPSHOT_CREATE_HALT, NULL },
    { "FLAG-RULE-REDEFINE-LIVE", "2.1",
      "CREATE_REDEFINE with CREATE_LIVE is refused with INVALID_ARG, nothing done",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_LIVE }, combo_create,
      SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_LIVE, SB_SNAPSHOT_CREATE_LIVE, NULL },
    { "FLAG-RULE-REVERT-RUNNING-PAUSED", "2.1",
      "REVERT_RUNNING with REVERT_PAUSED is refused with INVALID_ARG, nothing done",
      { .revert = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED }, combo_revert,
      SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED, SB_SNAPSHOT_REVERT_PAUSED, NULL },
    { "FLAG-RULE-DELETE-CHILDREN-BOTH", "2.1",
      "DELETE_CHILDREN with DELETE_CHILDREN_ONLY is refused with INVALID_ARG, nothing done",
      { .del = SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY }, combo_delete,
      SB_SNAPSHOT_DELETE_CHILDREN | SB_SNAPSHOT_DELETE_CHILDREN_ONLY,
      SB_SNAPSHOT_DELETE_CHILDREN_ONLY, NULL },
};

const struct k_family k_family_flags = { "flags", scenarios,
                                         sizeof(scenarios) / sizeof(scenarios[0]) };
