/* Metadata ownership (semantics.md §8): NO_METADATA, DELETE_METADATA_ONLY
 * and REDEFINE mean different things for broker-owned and
 * hypervisor-owned metadata; each owner gets its own rule. */
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

static int no_metadata_broker(struct k *k, const struct k_scenario *s)
{
    char *xml = NULL;
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_create(k, "m2", SB_SNAPSHOT_CREATE_NO_METADATA));
    K_TRY(k_list_is(k, NULL, 0, "m1"));
    K_TRY(k_current_is(k, "m1"));
    int rc = sb_snapshot_get_xml(&xml, k->c, k->dom, "m2", 0);
    free(xml);
    return k_err_is(k, rc, SB_ERR_NO_DOMAIN_SNAPSHOT, "the XML of a NO_METADATA snapshot");
}

static int no_metadata_hv(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_create(k, "m2", SB_SNAPSHOT_CREATE_NO_METADATA));
    K_TRY(k_list_is(k, NULL, 0, "m1 m2"));
    return k_parent_is(k, "m2", "m1");
}

static int metadata_only_broker(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_create(k, "m2", 0));
    K_TRY(k_delete(k, "m2", SB_SNAPSHOT_DELETE_METADATA_ONLY));
    K_TRY(k_list_is(k, NULL, 0, "m1"));
    return k_current_is(k, "m1");
}

static int metadata_only_redefine(struct k *k, const struct k_scenario *s)
{
    char *xml, *again = NULL;
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_create(k, "m2", 0));
    if (!(xml = k_get_xml(k, "m2")))
        return K_FAIL;
    int r = k_delete(k, "m2", SB_SNAPSHOT_DELETE_METADATA_ONLY);
    if (r == K_PASS)
        r = k_create_xml(k, xml, SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT, NULL);
    if (r == K_PASS && (again = k_get_xml(k, "m2")) && strcmp(again, xml) != 0)
        r = k_fail(k, "m2 came back different:\n%s\nbecame\n%s", xml, again);
    else if (r == K_PASS && !again)
        r = K_FAIL;
    free(xml);
    free(again);
    if (r == K_PASS)
        r = k_current_is(k, "m2");
    return r == K_PASS ? k_parent_is(k, "m2", "m1") : r;
}

/* The hypervisor keeps its own metadata: METADATA_ONLY succeeds; the
 * snapshot is either kept as it was (nothing of the broker's to forget)
 * or forgotten, never half of each. */
static int metadata_only_hv(struct k *k, const struct k_scenario *s)
{
    char *before, *list;
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_create(k, "m2", 0));
    if (!(before = k_get_xml(k, "m2")))
        return K_FAIL;
    int r = k_delete(k, "m2", SB_SNAPSHOT_DELETE_METADATA_ONLY);
    if (r == K_PASS && (list = k_list_str(k, NULL, 0, 1))) {
        if (strcmp(list, "m1 m2") == 0) {
            char *after = k_get_xml(k, "m2");
            if (!after)
                r = K_FAIL;
            else if (strcmp(after, before) != 0)
                r = k_fail(k, "METADATA_ONLY kept m2 but changed it");
            free(after);
        } else if (strcmp(list, "m1") == 0) {
            r = k_current_is(k, "m1");
        } else {
            r = k_fail(k, "after a METADATA_ONLY delete of m2 the domain lists [%s]", list);
        }
        free(list);
    } else if (r == K_PASS) {
        r = K_FAIL;
    }
    free(before);
    return r;
}

/* arg: the has_metadata expected; 2: the one the plugin declares */
static int has_metadata(struct k *k, const struct k_scenario *s)
{
    sb_snapshot_info info;
    int want = s->arg == 2 ? k->caps.has_metadata : (int)s->arg;
    K_TRY(k_create(k, "m1", 0));
    if (sb_snapshot_info_get(&info, k->c, k->dom, "m1") < 0)
        return k_fail(k, "snapshot info of m1: %s", k_errstr());
    if (info.has_metadata != want)
        return k_fail(k, "has_metadata is %d; expected %d", info.has_metadata, want);
    return K_PASS;
}

static int undefine_refused(struct k *k, const struct k_scenario *s)
{
    int st;
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_err_is(k, sb_domain_undefine(k->c, k->dom, 0), SB_ERR_OPERATION_INVALID,
                   "undefining a domain that has snapshot metadata"));
    K_TRY(k_state(k, &st));
    return k_list_is(k, NULL, 0, "m1");
}

static int undefine_with_metadata(struct k *k, const struct k_scenario *s)
{
    char *xml = NULL, *name = NULL;
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    if (sb_domain_get_xml(&xml, k->c, k->dom, 0) < 0)
        return k_fail(k, "the domain's XML: %s", k_errstr());
    int r = K_PASS;
    if (sb_domain_undefine(k->c, k->dom, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0)
        r = k_fail(k, "undefining with SNAPSHOTS_METADATA: %s", k_errstr());
    /* defined again (the scenario's cleanup undefines it): no snapshots */
    else if (sb_domain_define(&name, k->c, xml) < 0)
        r = k_fail(k, "defining the domain again: %s", k_errstr());
    else
        r = k_list_is(k, NULL, 0, "");
    free(xml);
    free(name);
    return r;
}

static int redefine_hv(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(k_create(k, "m1", 0));
    K_TRY(k_create(k, "m2", 0));
    if (!(xml = k_get_xml(k, "m2")))
        return K_FAIL;
    /* m2 gone (its metadata only, where the hypervisor keeps data a
     * redefine needs: VirtualBox's images), then back from its XML */
    int r = k_forget(k, "m2", 0);
    if (r == K_PASS)
        r = k_list_is(k, NULL, 0, "m1");
    if (r == K_PASS)
        r = k_create_xml(k, xml, SB_SNAPSHOT_CREATE_REDEFINE, NULL);
    if (r == K_PASS)
        r = k_list_is(k, NULL, 0, "m1 m2");
    if (r == K_PASS)
        r = k_parent_is(k, "m2", "m1");
    free(xml);
    return r;
}

static const struct k_scenario scenarios[] = {
    { "META-NO-METADATA-BROKER", "8.3",
      "broker-owned: CREATE_NO_METADATA takes a snapshot the broker does not record (not "
      "listed, current unchanged)",
      { .create = SB_SNAPSHOT_CREATE_NO_METADATA, .traits = K_T_BROKER_META },
      no_metadata_broker },
    { "META-NO-METADATA-HYPERVISOR", "8.3",
      "hypervisor-owned: CREATE_NO_METADATA changes nothing, the hypervisor records the "
      "snapshot as usual",
      { .create = SB_SNAPSHOT_CREATE_NO_METADATA, .traits = K_T_HV_META }, no_metadata_hv },
    { "META-METADATA-ONLY-BROKER", "8.4",
      "broker-owned: DELETE_METADATA_ONLY forgets the snapshot and moves current to its "
      "parent",
      { .del = SB_SNAPSHOT_DELETE_METADATA_ONLY, .traits = K_T_BROKER_META },
      metadata_only_broker },
    { "META-METADATA-ONLY-REDEFINE", "8.4",
      "broker-owned: a snapshot forgotten with DELETE_METADATA_ONLY comes back identical "
      "with CREATE_REDEFINE",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT,
        .del = SB_SNAPSHOT_DELETE_METADATA_ONLY, .traits = K_T_BROKER_META },
      metadata_only_redefine },
    { "META-METADATA-ONLY-HYPERVISOR", "8.4",
      "hypervisor-owned: DELETE_METADATA_ONLY succeeds and either keeps the snapshot "
      "unchanged or forgets it",
      { .del = SB_SNAPSHOT_DELETE_METADATA_ONLY, .traits = K_T_HV_META }, metadata_only_hv },
    { "META-HAS-METADATA-BROKER", "8.1",
      "broker-owned snapshots report has_metadata 1", { .traits = K_T_BROKER_META },
      has_metadata, 1, 0, NULL },
    { "META-HAS-METADATA-HYPERVISOR", "8.2",
      "hypervisor-owned snapshots report the has_metadata the plugin declares (0 unless the "
      "hypervisor keeps libvirt's kind of metadata)", { .traits = K_T_HV_META },
      has_metadata, 2, 0, NULL },
    { "META-UNDEFINE-REFUSED", "8.1",
      "broker-owned: undefining a domain with snapshot metadata is refused with "
      "OPERATION_INVALID",
      { .ops = K_OP_DEFINE, .traits = K_T_BROKER_META }, undefine_refused },
    { "META-UNDEFINE-SNAPSHOTS-METADATA", "8.1",
      "broker-owned: undefine with SNAPSHOTS_METADATA removes the metadata too",
      { .ops = K_OP_DEFINE, .traits = K_T_BROKER_META }, undefine_with_metadata },
    { "META-REDEFINE-HYPERVISOR", "8.2",
      "hypervisor-owned with CREATE_REDEFINE: a redefined snapshot joins the hypervisor's "
      "tree under its parent",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE, .traits = K_T_HV_META }, redefine_hv },
};

const struct k_family k_family_meta = { "meta", scenarios,
                                        sizeof(scenarios) / sizeof(scenarios[0]) };
