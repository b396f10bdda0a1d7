/* Pieces the snapshot callbacks share. */
#include "esx.h"

#include <stdlib.h>

int esx_snap_lookup(esx_conn *c, const esx_vm *vm, const char *domain, const char *name,
                    long *idx)
{
    long i = esx_tree_find(&vm->tree, name);
    if (i == -2)
        return esx_error(c, SB_ERR_INVALID_ARG,
                         "esx: domain '%s' has more than one snapshot named '%s' (vSphere "
                         "allows that; snapbroker cannot tell them apart: rename one in "
                         "vSphere)",
                         domain, name);
    if (i < 0)
        return esx_error(c, SB_ERR_NO_DOMAIN_SNAPSHOT,
                         "esx: no domain snapshot with matching name '%s' in domain '%s'", name,
                         domain);
    *idx = i;
    return 0;
}

int esx_snap_name_of(esx_conn *c, const char *xml, char **out)
{
    struct sb_snapshot_view *v = NULL;
    int rc;

    *out = NULL;
    if (!c->api)
        return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: no broker to read snapshot XML");
    if ((rc = c->api->snapshot_view(c->h, xml, &v)) < 0)
        return rc;
    if (!(*out = esx_strdup(v->name)))
        rc = esx_oom(c);
    c->api->snapshot_view_free(v);
    return rc;
}
