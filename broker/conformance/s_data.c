/* Data integrity (semantics.md §12), for hosts where the kit can see
 * guest data (--guest-data qemu-io): a pattern written, a snapshot taken,
 * the disk overwritten, the snapshot reverted, the pattern read back. */
#include "kit_internal.h"

#define DISK_ONLY SB_SNAPSHOT_CREATE_DISK_ONLY

static int revert_restores(struct k *k, const struct k_scenario *s)
{
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_data_write(k, "vda", 0x11));
    K_TRY(k_create(k, "d1", s->arg));
    K_TRY(k_data_write(k, "vda", 0x22));
    K_TRY(k_revert(k, "d1", 0));
    return k_data_check(k, "vda", 0x11);
}

static int two_disks(struct k *k, const struct k_scenario *s)
{
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_data_write(k, "vda", 0x11));
    K_TRY(k_data_write(k, "vdb", 0x33));
    K_TRY(k_create(k, "d1", s->arg));
    K_TRY(k_data_write(k, "vda", 0x22));
    K_TRY(k_data_write(k, "vdb", 0x44));
    K_TRY(k_revert(k, "d1", 0));
    K_TRY(k_data_check(k, "vda", 0x11));
    return k_data_check(k, "vdb", 0x33);
}

static int branches(struct k *k, const struct k_scenario *s)
{
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_data_write(k, "vda", 0x11));
    K_TRY(k_create(k, "d1", s->arg));
    K_TRY(k_data_write(k, "vda", 0x22));
    K_TRY(k_create(k, "d2", s->arg));
    K_TRY(k_data_write(k, "vda", 0x55));
    K_TRY(k_revert(k, "d1", 0));
    K_TRY(k_data_check(k, "vda", 0x11));
    K_TRY(k_revert(k, "d2", 0));
    return k_data_check(k, "vda", 0x22);
}

static int delete_keeps_current(struct k *k, const struct k_scenario *s)
{
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_data_write(k, "vda", 0x11));
    K_TRY(k_create(k, "d1", s->arg));
    K_TRY(k_data_write(k, "vda", 0x22));
    K_TRY(k_delete(k, "d1", 0));
    return k_data_check(k, "vda", 0x22);
}

static int delete_parent_keeps_child(struct k *k, const struct k_scenario *s)
{
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_data_write(k, "vda", 0x11));
    K_TRY(k_create(k, "d1", s->arg));
    K_TRY(k_data_write(k, "vda", 0x22));
    K_TRY(k_create(k, "d2", s->arg));
    K_TRY(k_data_write(k, "vda", 0x33));
    K_TRY(k_delete(k, "d1", 0));
    K_TRY(k_data_check(k, "vda", 0x33));
    K_TRY(k_revert(k, "d2", 0));
    return k_data_check(k, "vda", 0x22);
}

#define DATA { .traits = K_T_GUEST_DATA }
#define DATA_EXT { .create = DISK_ONLY, .traits = K_T_GUEST_DATA }
static const struct k_scenario scenarios[] = {
    { "DATA-REVERT", "12",
      "write A, snapshot, write B, revert: the disk holds A", DATA, revert_restores },
    { "DATA-REVERT-DISK-ONLY", "12",
      "the same with a CREATE_DISK_ONLY snapshot", DATA_EXT, revert_restores, DISK_ONLY },
    { "DATA-TWO-DISKS", "12", "a revert restores every disk of the domain", DATA, two_disks },
    { "DATA-TWO-DISKS-DISK-ONLY", "12",
      "a revert to a CREATE_DISK_ONLY snapshot restores every disk", DATA_EXT, two_disks,
      DISK_ONLY },
    { "DATA-BRANCHES", "12",
      "reverting back and forth between two snapshots gives each one's data", DATA,
      branches },
    { "DATA-BRANCHES-DISK-ONLY", "12",
      "the same between two CREATE_DISK_ONLY snapshots", DATA_EXT, branches, DISK_ONLY },
    { "DATA-DELETE-KEEPS-CURRENT", "12",
      "deleting a snapshot leaves the domain's current data alone", DATA,
      delete_keeps_current },
    { "DATA-DELETE-KEEPS-CURRENT-DISK-ONLY", "12",
      "deleting a CREATE_DISK_ONLY snapshot (a merge) leaves the current data alone",
      DATA_EXT, delete_keeps_current, DISK_ONLY },
    { "DATA-DELETE-PARENT-KEEPS-CHILD", "12",
      "deleting a snapshot keeps its child's data: a revert to the child gives it", DATA,
      delete_parent_keeps_child },
    { "DATA-DELETE-PARENT-KEEPS-CHILD-DISK-ONLY", "12",
      "the same for CREATE_DISK_ONLY snapshots", DATA_EXT, delete_parent_keeps_child,
      DISK_ONLY },
};

const struct k_family k_family_data = { "data", scenarios,
                                        sizeof(scenarios) / sizeof(scenarios[0]) };
