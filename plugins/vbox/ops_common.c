/* vbox plugin - checks every operation makes before writing, and new
 * differencing images (ops.h). */
#include "vb.h"
#include "ops.h"
#include "vdi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vb_writable(vb_ctx *ctx, const vb_machine *m, const char *what)
{
    vb_procs p;
    int rc = vb_procs_find(ctx, m, &p);
    if (rc < 0)
        return rc;
    if (p.vm) {
        if (ctx->vboxmanage)
            return 1;
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "domain '%s' is running (process %ld): %s a running VirtualBox machine "
                        "needs VirtualBox's VBoxManage, which is not installed on this host",
                        m->name, (long)p.vm, what);
    }
    if (p.vboxsvc) {
        if (ctx->vboxmanage)
            return 1;
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "machine '%s' is locked: VirtualBox's VBoxSVC (process %ld) holds its "
                        "settings and would overwrite any change; quit VirtualBox first",
                        m->name, (long)p.vboxsvc);
    }
    return 0;
}

int vb_plan_diff(vb_ctx *ctx, const vb_machine *m, long parent, const char *target,
                 char uuid[VB_UUID_LEN], char **path, char **location)
{
    const vb_medium *md = &m->media[parent];
    char name[VB_UUID_LEN + 8];

    *path = *location = NULL;
    if (md->global)
        return vb_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "disk '%s': medium {%s} ('%s') is registered in VirtualBox.xml; the "
                        "plugin edits only the machine's own media registry", target, md->uuid,
                        md->path);
    if (!md->format || strcmp(md->format, "VDI") != 0)
        return vb_error(ctx, SB_ERR_OPERATION_UNSUPPORTED,
                        "disk '%s': '%s' is a %s image; the plugin writes VDI images only "
                        "(VirtualBox is needed for this machine)", target, md->path,
                        md->format ? md->format : "(no format)");
    if (!vb_file_exists(md->path))
        return vb_error(ctx, SB_ERR_OPERATION_INVALID,
                        "disk '%s': medium {%s} ('%s') is missing", target, md->uuid, md->path);
    vb_uuid_generate(uuid);
    snprintf(name, sizeof name, "{%s}.vdi", uuid);
    if (!(*path = vb_path_join(m->snapshot_folder, name)))
        return vb_oom(ctx);
    /* inside the machine's folder: relative, as VirtualBox writes it */
    size_t n = strlen(m->dir);
    const char *loc = *path;
    if (strncmp(*path, m->dir, n) == 0 && (*path)[n] == '/')
        loc = *path + n + 1;
    if (!(*location = strdup(loc))) {
        free(*path);
        *path = NULL;
        return vb_oom(ctx);
    }
    return 0;
}

int vb_make_diff(vb_ctx *ctx, const vb_machine *m, long parent, const char *uuid,
                 const char *path)
{
    vb_vdi *p = NULL;
    int r = vb_mkdir_p(m->snapshot_folder, 0755);
    if (r < 0)
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot create snapshot folder '%s'",
                              m->snapshot_folder);
    if ((r = vb_vdi_open(ctx, m->media[parent].path, 0, &p)) < 0)
        return r;
    r = vb_vdi_create_diff(ctx, path, p, uuid);
    vb_vdi_close(p);
    return r;
}
