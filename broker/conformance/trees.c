/* Trees several families build (kit_internal.h). */
#include <stdio.h>

#include "kit_internal.h"

int k_build_branch(struct k *k, const char *p)
{
    char n[5][64];
    for (int i = 0; i < 5; i++)
        snprintf(n[i], sizeof(n[i]), "%s%d", p, i + 1);
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create(k, n[0], 0));
    K_TRY(k_create(k, n[1], 0));
    K_TRY(k_create(k, n[2], 0));
    K_TRY(k_revert(k, n[0], 0));
    K_TRY(k_create(k, n[3], 0));
    K_TRY(k_create(k, n[4], 0));
    return K_PASS;
}

int k_redefine_all(struct k *k, char **xml, const int *parent, size_t n, int current)
{
    int done[64] = { 0 };
    size_t left = n;

    if (n > 64)
        return k_fail(k, "too many snapshots to redefine");
    while (left) {
        size_t before = left;
        for (size_t i = 0; i < n; i++) {
            if (done[i] || (parent[i] >= 0 && !done[parent[i]]))
                continue;
            unsigned flags = SB_SNAPSHOT_CREATE_REDEFINE |
                             ((int)i == current ? SB_SNAPSHOT_CREATE_CURRENT : 0);
            K_TRY(k_create_xml(k, xml[i], flags, NULL));
            done[i] = 1;
            left--;
        }
        if (left == before)
            return k_fail(k, "the snapshots to redefine form a cycle");
    }
    return K_PASS;
}
