/* Tree semantics (semantics.md §5, §6): parents, the current snapshot,
 * branching, deletes with and without children, redefine order, cycles
 * and replacement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

static int first_root(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_current_is(k, NULL));
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_parent_is(k, "t1", NULL));
    K_TRY(k_current_is(k, "t1"));
    return k_list_is(k, NULL, 0, "t1");
}

static int child_of_current(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_parent_is(k, "t2", "t1"));
    return k_current_is(k, "t2");
}

static int revert_moves_current(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_revert(k, "t1", 0));
    K_TRY(k_current_is(k, "t1"));
    return k_list_is(k, NULL, 0, "t1 t2");
}

static int branch(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    K_TRY(k_parent_is(k, "b2", "b1"));
    K_TRY(k_parent_is(k, "b3", "b2"));
    K_TRY(k_parent_is(k, "b4", "b1"));
    K_TRY(k_parent_is(k, "b5", "b4"));
    return k_current_is(k, "b5");
}

static int delete_current_leaf(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_delete(k, "t2", 0));
    K_TRY(k_current_is(k, "t1"));
    return k_list_is(k, NULL, 0, "t1");
}

static int delete_other_leaf(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    K_TRY(k_delete(k, "b3", 0));
    K_TRY(k_current_is(k, "b5"));
    return k_list_is(k, NULL, 0, "b1 b2 b4 b5");
}

static int delete_middle(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_create(k, "t3", 0));
    K_TRY(k_delete(k, "t2", 0));
    K_TRY(k_parent_is(k, "t3", "t1"));
    K_TRY(k_current_is(k, "t3"));
    return k_list_is(k, NULL, 0, "t1 t3");
}

static int delete_root(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_create(k, "t3", 0));
    K_TRY(k_delete(k, "t1", 0));
    K_TRY(k_parent_is(k, "t2", NULL));
    K_TRY(k_parent_is(k, "t3", "t2"));
    return k_current_is(k, "t3");
}

static int delete_only(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_delete(k, "t1", 0));
    K_TRY(k_current_is(k, NULL));
    return k_list_is(k, NULL, 0, "");
}

static int delete_children(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    K_TRY(k_delete(k, "b2", SB_SNAPSHOT_DELETE_CHILDREN));
    K_TRY(k_current_is(k, "b5"));
    return k_list_is(k, NULL, 0, "b1 b4 b5");
}

static int delete_children_current(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    K_TRY(k_delete(k, "b4", SB_SNAPSHOT_DELETE_CHILDREN));
    K_TRY(k_simulator_limit(k, k_current_is(k, "b1"), "esx",
                            "its RemoveSnapshot_Task(removeChildren) moves the current snapshot "
                            "only when the snapshot removed is the current one, not one of its "
                            "descendants, and leaves a current snapshot that no longer exists; "
                            "vSphere makes the removed one's parent current"));
    return k_list_is(k, NULL, 0, "b1 b2 b3");
}

static int delete_children_only(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    K_TRY(k_delete(k, "b4", SB_SNAPSHOT_DELETE_CHILDREN_ONLY));
    K_TRY(k_current_is(k, "b4"));
    return k_list_is(k, NULL, 0, "b1 b2 b3 b4");
}

static int delete_children_only_leaf(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_delete(k, "t2", SB_SNAPSHOT_DELETE_CHILDREN_ONLY));
    K_TRY(k_current_is(k, "t2"));
    return k_list_is(k, NULL, 0, "t1 t2");
}

static int delete_children_root(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    K_TRY(k_delete(k, "b1", SB_SNAPSHOT_DELETE_CHILDREN));
    K_TRY(k_current_is(k, NULL));
    return k_list_is(k, NULL, 0, "");
}

static int duplicate_refused(struct k *k, const struct k_scenario *s)
{
    static const int classes[] = { SB_ERR_OPERATION_FAILED, SB_ERR_OPERATION_INVALID, 0 };
    char *xml = k_snap_xml(k, "t1", NULL), *before;
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    if (!(before = k_tree_sig(k))) {
        free(xml);
        return K_FAIL;
    }
    int rc = k_create_rc(k, xml, 0, NULL);
    free(xml);
    int r = k_err_in(k, rc, classes, "a second snapshot named t1");
    if (r == K_PASS)
        r = k_unchanged(k, before, "a refused duplicate");
    free(before);
    return r;
}

static int duplicate_allowed(struct k *k, const struct k_scenario *s)
{
    (void)s;
    /* under a root of its own name: on an existing domain (--domain) the
     * cleanup deletes that root with its children, which it could not do
     * by the shared name */
    K_TRY(k_create(k, "t0", 0));
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t1", 0));
    return k_list_is(k, NULL, 0, "t0 t1 t1");
}

static int info_counts(struct k *k, const struct k_scenario *s)
{
    static const struct {
        const char *name;
        size_t children, descendants;
        int current;
    } want[] = { { "b1", 2, 4, 0 }, { "b2", 1, 1, 0 }, { "b3", 0, 0, 0 },
                 { "b4", 1, 1, 0 }, { "b5", 0, 0, 1 } };
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    /* also without listings from a snapshot: the broker counts from the
     * domain's listing and the parents */
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        sb_snapshot_info info;
        if (sb_snapshot_info_get(&info, k->c, k->dom, want[i].name) < 0)
            return k_fail(k, "snapshot info of %s: %s", want[i].name, k_errstr());
        if (info.children != want[i].children || info.descendants != want[i].descendants ||
            info.is_current != want[i].current)
            return k_fail(k, "%s: children %zu, descendants %zu, current %d; expected %zu, %zu, %d",
                          want[i].name, info.children, info.descendants, info.is_current,
                          want[i].children, want[i].descendants, want[i].current);
    }
    return K_PASS;
}

static int set_current(struct k *k, const struct k_scenario *s)
{
    int st;
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_state(k, &st));
    if (sb_snapshot_set_current(k->c, k->dom, "t1") < 0)
        return k_fail(k, "making t1 current: %s", k_errstr());
    K_TRY(k_current_is(k, "t1"));
    K_TRY(k_state_is(k, st));
    return k_list_is(k, NULL, 0, "t1 t2");
}

/* ---- redefine (§6) ---- */

/* The XML of snapshots p1..pn (n <= 5) into xml[]. */
static int dump(struct k *k, const char *const *names, size_t n, char **xml)
{
    for (size_t i = 0; i < n; i++)
        if (!(xml[i] = k_get_xml(k, names[i])))
            return K_FAIL;
    return K_PASS;
}

static void free_all(char **xml, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(xml[i]);
}

static int redefine_child_first(struct k *k, const struct k_scenario *s)
{
    static const int classes[] = { SB_ERR_INVALID_ARG, SB_ERR_INTERNAL_ERROR, 0 };
    const char *names[] = { "t1", "t2" };
    char *xml[2] = { NULL, NULL }, *before = NULL;
    int r;
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    if ((r = dump(k, names, 2, xml)) != K_PASS)
        goto out;
    if ((r = k_forget(k, "t1", SB_SNAPSHOT_DELETE_CHILDREN)) != K_PASS ||
        !(before = k_tree_sig(k))) {
        r = K_FAIL;
        goto out;
    }
    r = k_err_in(k, k_create_rc(k, xml[1], SB_SNAPSHOT_CREATE_REDEFINE, NULL), classes,
                 "redefining t2 before its parent t1");
    if (r == K_PASS)
        r = k_unchanged(k, before, "a refused redefine");
    if (r == K_PASS && (r = k_create_xml(k, xml[0], SB_SNAPSHOT_CREATE_REDEFINE, NULL)) == K_PASS &&
        (r = k_create_xml(k, xml[1], SB_SNAPSHOT_CREATE_REDEFINE, NULL)) == K_PASS)
        r = k_parent_is(k, "t2", "t1");
out:
    free(before);
    free_all(xml, 2);
    return r;
}

/* Redefine name with <parent> set to parent (or no parent change when
 * NULL) and expect a refusal that changes nothing. */
static int redefine_refused(struct k *k, const char *name, const char *parent,
                            const char *old_state, const char *new_state, const char *what)
{
    char *xml = k_get_xml(k, name), *before = NULL, *edited = NULL;
    int r = K_FAIL;

    if (!xml || !(before = k_tree_sig(k)))
        goto out;
    const char *par = strstr(xml, "<parent>"), *ct = strstr(xml, "  <creationTime>");
    if (parent && !par && ct) {
        if (asprintf(&edited, "%.*s  <parent>\n    <name>%s</name>\n  </parent>\n%s",
                     (int)(ct - xml), xml, parent, ct) < 0)
            edited = NULL;
    } else if (parent && par) {
        const char *pe = strstr(par, "</parent>");
        if (pe && asprintf(&edited, "%.*s<parent>\n    <name>%s</name>\n  %s", (int)(par - xml),
                           xml, parent, pe) < 0)
            edited = NULL;
    } else if (old_state) {
        char *st = strstr(xml, old_state);
        if (st && asprintf(&edited, "%.*s%s%s", (int)(st - xml), xml, new_state,
                           st + strlen(old_state)) < 0)
            edited = NULL;
    }
    if (!edited) {
        r = k_fail(k, "cannot edit the XML of %s:\n%s", name, xml);
        goto out;
    }
    r = k_err_is(k, k_create_rc(k, edited, SB_SNAPSHOT_CREATE_REDEFINE, NULL),
                 SB_ERR_INVALID_ARG, what);
    if (r == K_PASS)
        r = k_unchanged(k, before, what);
out:
    free(xml);
    free(before);
    free(edited);
    return r;
}

static int redefine_cycle(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    K_TRY(k_create(k, "t3", 0));
    return redefine_refused(k, "t1", "t3", NULL, NULL, "redefining t1 under its descendant t3");
}

static int redefine_self_parent(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    return redefine_refused(k, "t2", "t2", NULL, NULL, "redefining t2 as its own parent");
}

static int redefine_missing_parent(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    return redefine_refused(k, "t1", "nosuch", NULL, NULL,
                            "redefining t1 under a parent that does not exist");
}

static int redefine_state_change(struct k *k, const struct k_scenario *s)
{
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create(k, "t1", 0));
    return redefine_refused(k, "t1", NULL, "<state>shutoff</state>", "<state>running</state>",
                            "redefining a shut-off snapshot as running");
}

static int redefine_keeps_children(struct k *k, const struct k_scenario *s)
{
    char *xml, *edited = NULL, *after;
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    if (!(xml = k_get_xml(k, "t1")))
        return K_FAIL;
    const char *name_end = strstr(xml, "</name>\n");
    if (!name_end || asprintf(&edited, "%.*s</name>\n  <description>replaced</description>\n%s",
                              (int)(name_end - xml), xml, name_end + 8) < 0) {
        free(xml);
        return k_fail(k, "cannot edit the XML of t1");
    }
    free(xml);
    int r = k_create_xml(k, edited, SB_SNAPSHOT_CREATE_REDEFINE, NULL);
    free(edited);
    K_TRY(r);
    K_TRY(k_parent_is(k, "t2", "t1"));
    K_TRY(k_current_is(k, "t2"));
    if (!(after = k_get_xml(k, "t1")))
        return K_FAIL;
    char *d = k_xml_field(after, "description");
    r = d && strcmp(d, "replaced") == 0
            ? K_PASS
            : k_fail(k, "the redefined description did not replace the old one:\n%s", after);
    free(d);
    free(after);
    return r;
}

static int redefine_current_flag(struct k *k, const struct k_scenario *s)
{
    const char *names[] = { "t2" };
    char *xml[1] = { NULL }, *cur = NULL;
    int r;
    (void)s;
    K_TRY(k_create(k, "t1", 0));
    K_TRY(k_create(k, "t2", 0));
    /* t2 is redefined under t1, not into an empty tree: VirtualBox makes
     * a machine's first snapshot current whatever the flags (§6.1) */
    if ((r = dump(k, names, 1, xml)) != K_PASS || (r = k_forget(k, "t2", 0)) != K_PASS)
        goto out;
    /* whatever is current now (t1, or none) must stay so */
    if (sb_snapshot_current(&cur, k->c, k->dom) < 0)
        cur = NULL;
    if ((r = k_create_xml(k, xml[0], SB_SNAPSHOT_CREATE_REDEFINE, NULL)) == K_PASS &&
        (r = k_current_is(k, cur)) == K_PASS &&
        (r = k_create_xml(k, xml[0], SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT,
                          NULL)) == K_PASS)
        r = k_current_is(k, "t2");
out:
    free(cur);
    free_all(xml, 1);
    return r;
}

static int redefine_restores_tree(struct k *k, const struct k_scenario *s)
{
    const char *names[] = { "b1", "b2", "b3", "b4", "b5" };
    const int parent[] = { -1, 0, 1, 0, 3 };
    char *xml[5] = { NULL }, *before = NULL;
    int r;
    (void)s;
    K_TRY(k_build_branch(k, "b"));
    if ((r = dump(k, names, 5, xml)) != K_PASS || !(before = k_tree_sig(k))) {
        r = K_FAIL;
        goto out;
    }
    if ((r = k_forget(k, "b1", SB_SNAPSHOT_DELETE_CHILDREN)) != K_PASS)
        goto out;
    /* children before parents must not matter to the kit: it orders */
    if ((r = k_redefine_all(k, xml, parent, 5, 4)) == K_PASS)
        r = k_unchanged(k, before, "redefining a whole tree from its XML");
    for (size_t i = 0; r == K_PASS && i < 5; i++) {
        char *again = k_get_xml(k, names[i]);
        if (!again)
            r = K_FAIL;
        else if (strcmp(again, xml[i]) != 0)
            r = k_fail(k, "%s came back different:\n%s\nbecame\n%s", names[i], xml[i], again);
        free(again);
    }
out:
    free(before);
    free_all(xml, 5);
    return r;
}

#define REDEF { .create = SB_SNAPSHOT_CREATE_REDEFINE, .traits = K_T_BROKER_META }
static const struct k_scenario scenarios[] = {
    { "TREE-FIRST-ROOT", "5.2",
      "a domain's first snapshot is a root and becomes current (none before)", { 0 },
      first_root },
    { "TREE-CHILD-OF-CURRENT", "5.2",
      "a new snapshot is a child of the current one and becomes current", { 0 },
      child_of_current },
    { "TREE-REVERT-MOVES-CURRENT", "5.2", "a revert makes its target current", { 0 },
      revert_moves_current },
    { "TREE-BRANCH", "5.2",
      "after a revert to an older snapshot, new snapshots branch from it", { 0 }, branch },
    { "TREE-DELETE-CURRENT-LEAF", "5.4",
      "deleting the current leaf makes its parent current", { 0 }, delete_current_leaf },
    { "TREE-DELETE-OTHER-LEAF", "5.4",
      "deleting a leaf that is not current leaves the current snapshot alone", { 0 },
      delete_other_leaf },
    { "TREE-DELETE-MIDDLE", "5.4",
      "deleting a snapshot without DELETE_CHILDREN re-parents its child to its parent", { 0 },
      delete_middle },
    { "TREE-DELETE-ROOT", "5.4", "deleting a root makes its child a root", { 0 },
      delete_root },
    { "TREE-DELETE-LAST", "5.4",
      "deleting the only snapshot leaves no snapshot and no current one", { 0 }, delete_only },
    { "TREE-DELETE-CHILDREN", "5.4",
      "DELETE_CHILDREN removes the snapshot and its descendants; current stays elsewhere",
      { .del = SB_SNAPSHOT_DELETE_CHILDREN }, delete_children },
    { "TREE-DELETE-CHILDREN-CURRENT", "5.4",
      "DELETE_CHILDREN over the current snapshot makes the deleted one's parent current",
      { .del = SB_SNAPSHOT_DELETE_CHILDREN }, delete_children_current },
    { "TREE-DELETE-CHILDREN-ROOT", "5.4",
      "DELETE_CHILDREN of the root removes the whole tree and the current pointer",
      { .del = SB_SNAPSHOT_DELETE_CHILDREN }, delete_children_root },
    { "TREE-DELETE-CHILDREN-ONLY", "5.4",
      "DELETE_CHILDREN_ONLY keeps the snapshot, removes its descendants, and it becomes "
      "current if the current one was among them",
      { .del = SB_SNAPSHOT_DELETE_CHILDREN_ONLY }, delete_children_only },
    { "TREE-DELETE-CHILDREN-ONLY-LEAF", "5.4",
      "DELETE_CHILDREN_ONLY of a leaf removes nothing",
      { .del = SB_SNAPSHOT_DELETE_CHILDREN_ONLY }, delete_children_only_leaf },
    { "TREE-DUPLICATE-NAME", "5.1",
      "with unique names, a second snapshot of the same name is refused and nothing changes",
      { .traits = K_T_UNIQUE }, duplicate_refused },
    { "TREE-DUPLICATE-ALLOWED", "5.1",
      "without unique names, two snapshots may share a name",
      { .traits = K_T_NOT_UNIQUE }, duplicate_allowed },
    { "TREE-INFO-COUNTS", "5.5",
      "snapshot-info counts children and descendants and marks the current one", { 0 },
      info_counts },
    { "TREE-SET-CURRENT", "5.2",
      "snapshot-current NAME makes NAME current without a revert (domain state unchanged)",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT }, set_current },
    { "TREE-REDEFINE-CHILD-FIRST", "6.1",
      "redefining a snapshot before its parent is refused, nothing changes; parents first "
      "works",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE, .del = SB_SNAPSHOT_DELETE_CHILDREN },
      redefine_child_first },
    { "TREE-REDEFINE-CYCLE", "6.1",
      "redefining a snapshot under its own descendant is refused with INVALID_ARG", REDEF,
      redefine_cycle },
    { "TREE-REDEFINE-SELF-PARENT", "6.1",
      "redefining a snapshot as its own parent is refused with INVALID_ARG", REDEF,
      redefine_self_parent },
    { "TREE-REDEFINE-MISSING-PARENT", "6.1",
      "redefining a snapshot under a parent that does not exist is refused with INVALID_ARG",
      REDEF, redefine_missing_parent },
    { "TREE-REDEFINE-STATE-CHANGE", "6.1",
      "redefining an existing snapshot from offline to online is refused with INVALID_ARG",
      REDEF, redefine_state_change },
    { "TREE-REDEFINE-KEEPS-CHILDREN", "6.1",
      "redefining an existing snapshot replaces its definition and keeps its children",
      REDEF, redefine_keeps_children },
    { "TREE-REDEFINE-CURRENT", "6.1",
      "a redefine leaves the current snapshot alone unless CREATE_CURRENT is given",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT },
      redefine_current_flag },
    { "TREE-REDEFINE-RESTORES", "6.1",
      "a whole tree redefined parents first from its XML comes back identical (export, "
      "import)",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT,
        .del = SB_SNAPSHOT_DELETE_CHILDREN },
      redefine_restores_tree },
};

const struct k_family k_family_tree = { "tree", scenarios,
                                        sizeof(scenarios) / sizeof(scenarios[0]) };
