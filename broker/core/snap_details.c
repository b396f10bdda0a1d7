/* sb_snap__details (snap.h): what a snapshot's definition says beyond
 * sb_snapshot_info (description, memory and disk locations), read from
 * the XML the caller would get, so both metadata owners give the same. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/snap.h"

/* NULL stays NULL; an allocation failure sets *oom. */
static const char *dup_or_null(const char *s, int *oom)
{
    char *d;

    if (!s)
        return NULL;
    if (!(d = strdup(s)))
        *oom = 1;
    return d;
}

/* "default" means the definition did not say: reported as unknown. */
static const char *location_or_null(int loc)
{
    return loc == SB_LOCATION_DEFAULT ? NULL : sb_snap_location_to_string(loc);
}

void sb_snapshot_details_free(sb_snapshot_details *x)
{
    if (!x)
        return;
    free((char *)x->description);
    free((char *)x->memory_file);
    for (size_t i = 0; i < x->ndisks; i++) {
        free((char *)x->disks[i].name);
        free((char *)x->disks[i].driver_type);
        free((char *)x->disks[i].source);
    }
    free((void *)x->disks);
    free(x);
}

int sb_snap__details(const sb_dom *d, const char *name, sb_snapshot_details **out)
{
    sb_snapdef *def = NULL;
    sb_snapshot_details *x = NULL;
    sb_snapshot_disk *disks = NULL;
    int oom = 0, rc;

    *out = NULL;
    if ((rc = sb_snap__def(d, name, 0, NULL, &def)) < 0)
        return rc;
    if (!(x = calloc(1, sizeof(*x))) ||
        (def->ndisks && !(disks = calloc(def->ndisks, sizeof(*disks))))) {
        free(x);
        sb_snapdef_free(def);
        return sb_error_oom();
    }
    x->disks = disks;
    x->ndisks = def->ndisks;
    x->description = dup_or_null(def->description, &oom);
    x->memory = location_or_null(def->memory);
    x->memory_file = dup_or_null(def->memory_file, &oom);
    for (size_t i = 0; i < def->ndisks; i++) {
        const sb_snapdisk *sd = &def->disks[i];
        disks[i].name = dup_or_null(sd->name, &oom);
        disks[i].snapshot = location_or_null(sd->snapshot);
        disks[i].type = sd->src_path ? sb_snapdisk_type_to_string(sd->type) : NULL;
        disks[i].driver_type = dup_or_null(sd->driver_type, &oom);
        disks[i].source = dup_or_null(sd->src_path, &oom);
    }
    sb_snapdef_free(def);
    if (oom) {
        sb_snapshot_details_free(x);
        return sb_error_oom();
    }
    *out = x;
    return 0;
}
