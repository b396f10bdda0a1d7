/* Declared limits (semantics.md §9): name length, tree depth, snapshot
 * count.  Up to the limit works; one past it is refused and changes
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

static char *name_of_len(unsigned len)
{
    char *n = malloc(len + 1);
    if (n) {
        memset(n, 'n', len);
        n[len] = '\0';
    }
    return n;
}

static int name_at_max(struct k *k, const struct k_scenario *s)
{
    char *name = name_of_len(k->caps.name_max);
    (void)s;
    if (!name)
        return k_fail(k, "out of memory");
    int r = k_create(k, name, 0);
    if (r == K_PASS)
        r = k_list_is(k, NULL, 0, name);
    free(name);
    return r;
}

/* One more snapshot (named name) is refused with cls, nothing changed. */
static int one_more_refused(struct k *k, const char *name, int cls, const char *what)
{
    char *xml = k_snap_xml(k, name, NULL);
    int r = k_create_refused(k, xml, 0, cls, what);
    free(xml);
    return r;
}

static int name_over_max(struct k *k, const struct k_scenario *s)
{
    char *name = name_of_len(k->caps.name_max + 1);
    (void)s;
    if (!name)
        return k_fail(k, "out of memory");
    int r = one_more_refused(k, name, SB_ERR_XML_DETAIL,
                             "a name one byte longer than the declared maximum");
    free(name);
    return r;
}

/* A chain of max_depth snapshots; then one more is refused. */
static int depth(struct k *k, const struct k_scenario *s)
{
    char name[32];
    (void)s;
    for (unsigned i = 1; i <= k->caps.max_depth; i++) {
        snprintf(name, sizeof(name), "d%u", i);
        K_TRY(k_create(k, name, 0));
    }
    return one_more_refused(k, "deeper", SB_ERR_OPERATION_INVALID,
                            "a snapshot one deeper than the declared max_depth");
}

/* max_snapshots snapshots, kept shallow (children of a few parents, so a
 * depth limit does not interfere); then one more is refused. */
static int count(struct k *k, const struct k_scenario *s)
{
    char name[32];
    unsigned max = k->caps.max_snapshots;
    (void)s;
    K_TRY(k_create(k, "c1", 0));
    for (unsigned i = 2; i <= max; i++) {
        /* every 16 new ones hang under the root again */
        if (i % 16 == 0)
            K_TRY(k_revert(k, "c1", 0));
        snprintf(name, sizeof(name), "c%u", i);
        K_TRY(k_create(k, name, 0));
    }
    return one_more_refused(k, "one-more", SB_ERR_OPERATION_INVALID,
                            "a snapshot past the declared max_snapshots");
}

static const struct k_scenario scenarios[] = {
    { "LIMIT-NAME-MAX", "9.1",
      "a name of exactly the declared maximum length (255 when none) is accepted", { 0 },
      name_at_max },
    { "LIMIT-NAME-OVER-MAX", "9.1",
      "a name one byte longer than the maximum is refused with XML_DETAIL, nothing made",
      { 0 }, name_over_max },
    { "LIMIT-DEPTH", "9.2",
      "a chain as deep as max_depth works; one more level is refused with "
      "OPERATION_INVALID",
      { .traits = K_T_MAX_DEPTH }, depth },
    { "LIMIT-COUNT", "9.2",
      "max_snapshots snapshots work; one more is refused with OPERATION_INVALID",
      { .traits = K_T_MAX_SNAPSHOTS }, count },
};

const struct k_family k_family_limits = { "limits", scenarios,
                                          sizeof(scenarios) / sizeof(scenarios[0]) };
