/* vbox plugin - the machine lock and the intent journal.
 *
 * Writers of one machine take an exclusive flock on the machine's
 * directory (several CLI processes may work at once; nothing is left
 * behind).  An operation that touches images writes an intent beside the
 * settings file first (<file>-sbintent): what it creates, what it will
 * retire, which headers must follow the registry.  The settings file is
 * the commit point, so after a kill the next writer decides from it alone:
 *   - an image the intent created that no registry lists was never
 *     committed: removed;
 *   - an image the intent retires that no registry lists any more was
 *     committed away: removed (it stays while the settings still name it);
 *   - a differencing image whose parent changed in the registry gets the
 *     new parent in its header;
 *   - a delete whose snapshot is still in the settings is run again (its
 *     merge may have changed images already, so it can only go forward;
 *     every merge can be repeated).
 */
#include "vb.h"
#include "ops.h"
#include "settings.h"
#include "vdi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int vb_lock_machine(vb_ctx *ctx, const char *settings_path, int wait)
{
    char *dir = vb_dirname(settings_path);
    int fd;
    if (!dir)
        return vb_oom(ctx);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        int r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot open machine folder '%s'",
                               dir);
        free(dir);
        return r;
    }
    while (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            free(dir);
            return -SB_ERR_OPERATION_INVALID; /* busy: no message, the caller decides */
        }
        int r = vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, e, "cannot lock machine folder '%s'",
                               dir);
        free(dir);
        return r;
    }
    free(dir);
    return fd;
}

void vb_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

char *vb_intent_path(const char *settings_path)
{
    return vb_printf("%s-sbintent", settings_path);
}

void vb_intent_free(vb_intent *in)
{
    vb_strv_free(&in->created);
    vb_strv_free(&in->obsolete);
    vb_strv_free(&in->reparent);
    vb_strv_free(&in->merges);
    memset(in, 0, sizeof *in);
}

int vb_intent_add(vb_intent *in, vb_strv *list, const char *uuid, const char *rest)
{
    (void)in;
    char *line = vb_printf("%s %s", uuid && *uuid ? uuid : "-", rest ? rest : "-");
    int r = line && !strchr(line, '\n') ? vb_strv_add(list, line) : -EINVAL;
    free(line);
    return r;
}

static void add_lines(vb_strv *out, const char *kind, const vb_strv *list, int *bad)
{
    for (size_t i = 0; i < list->n; i++) {
        char *line = vb_printf("%s %s", kind, list->v[i]);
        if (!line || vb_strv_add(out, line) < 0)
            *bad = 1;
        free(line);
    }
}

int vb_intent_write(vb_ctx *ctx, const char *settings_path, const vb_intent *in)
{
    vb_strv lines = { 0 };
    int bad = 0;
    char head[128];
    snprintf(head, sizeof head, "op %s %s", in->op, in->snapshot[0] ? in->snapshot : "-");
    bad |= vb_strv_add(&lines, head) < 0;
    add_lines(&lines, "created", &in->created, &bad);
    add_lines(&lines, "obsolete", &in->obsolete, &bad);
    add_lines(&lines, "reparent", &in->reparent, &bad);
    add_lines(&lines, "merge", &in->merges, &bad);
    size_t len = 0;
    for (size_t i = 0; i < lines.n; i++)
        len += strlen(lines.v[i]) + 1;
    char *text = malloc(len + 1), *p = text;
    if (bad || !text) {
        free(text);
        vb_strv_free(&lines);
        return vb_oom(ctx);
    }
    for (size_t i = 0; i < lines.n; i++)
        p += sprintf(p, "%s\n", lines.v[i]);
    char *path = vb_intent_path(settings_path);
    int r = path ? vb_write_file_atomic(ctx, path, text, len) : vb_oom(ctx);
    free(path);
    free(text);
    vb_strv_free(&lines);
    return r;
}

int vb_intent_read(vb_ctx *ctx, const char *settings_path, vb_intent *in)
{
    char *path = vb_intent_path(settings_path), *text = NULL;
    int r;
    memset(in, 0, sizeof *in);
    if (!path)
        return vb_oom(ctx);
    if (!vb_file_exists(path)) {
        free(path);
        return 0;
    }
    r = vb_read_file(ctx, path, 1u << 20, &text, NULL);
    free(path);
    if (r < 0)
        return r;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        const char *rest = sp + 1;
        vb_strv *list = strcmp(line, "created") == 0    ? &in->created
                        : strcmp(line, "obsolete") == 0 ? &in->obsolete
                        : strcmp(line, "reparent") == 0 ? &in->reparent
                        : strcmp(line, "merge") == 0    ? &in->merges
                                                        : NULL;
        if (strcmp(line, "op") == 0) {
            char op[16] = "", snap[64] = "";
            if (sscanf(rest, "%15s %63s", op, snap) >= 1) {
                snprintf(in->op, sizeof in->op, "%s", op);
                if (vb_uuid_parse(snap, in->snapshot) < 0)
                    in->snapshot[0] = '\0';
            }
        } else if (list && vb_strv_add(list, rest) < 0) {
            free(text);
            vb_intent_free(in);
            return vb_oom(ctx);
        }
    }
    free(text);
    return in->op[0] ? 1 : 0;
}

int vb_intent_clear(vb_ctx *ctx, const char *settings_path)
{
    char *path = vb_intent_path(settings_path);
    if (!path)
        return vb_oom(ctx);
    int r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    if (r == 0)
        (void)vb_fsync_dir_of(path);
    free(path);
    if (r < 0)
        return vb_error_errno(ctx, SB_ERR_SYSTEM_ERROR, -r, "cannot remove the intent of '%s'",
                              settings_path);
    return 0;
}

/* "uuid path" -> its parts (path points into line). */
static const char *split(const char *line, char uuid[VB_UUID_LEN])
{
    const char *sp = strchr(line, ' ');
    char u[64];
    size_t n = sp ? (size_t)(sp - line) : 0;
    uuid[0] = '\0';
    if (!sp || n >= sizeof u)
        return NULL;
    memcpy(u, line, n);
    u[n] = '\0';
    if (vb_uuid_parse(u, uuid) < 0)
        uuid[0] = '\0';
    return sp + 1;
}

static int state_file_used(const vb_machine *m, const char *path)
{
    for (size_t i = 0; i < m->nsnaps; i++) {
        char *p = m->snaps[i].state_file ? vb_path_join(m->dir, m->snaps[i].state_file) : NULL;
        int same = p && strcmp(p, path) == 0;
        free(p);
        if (same)
            return 1;
    }
    char *p = m->state_file ? vb_path_join(m->dir, m->state_file) : NULL;
    int same = p && strcmp(p, path) == 0;
    free(p);
    return same;
}

/* A differencing image's header must name its registry parent. */
static int follow_registry(vb_ctx *ctx, const vb_machine *m, const char *uuid)
{
    long i = vb_medium_index(m, uuid);
    vb_vdi *v = NULL, *p = NULL;
    int r;
    if (i < 0 || m->media[i].parent < 0 || !m->media[i].format ||
        strcmp(m->media[i].format, "VDI") != 0)
        return 0;
    const vb_medium *pm = &m->media[m->media[i].parent];
    if ((r = vb_vdi_open(ctx, pm->path, 0, &p)) < 0)
        return r;
    if ((r = vb_vdi_open(ctx, m->media[i].path, 1, &v)) == 0 &&
        (memcmp(v->parent, p->uuid, 16) != 0 || memcmp(v->parent_modify, p->modify, 16) != 0))
        r = vb_vdi_set_parent(ctx, v, p->uuid, p->modify);
    vb_vdi_close(v);
    vb_vdi_close(p);
    return r;
}

int vb_intent_finish(vb_ctx *ctx, const char *settings_path, const vb_intent *in)
{
    vb_machine *m = NULL;
    char uuid[VB_UUID_LEN];
    int r;

    if ((r = vb_machine_read(ctx, settings_path, &m)) < 0 || (r = vb_global_media(ctx, m)) < 0) {
        vb_machine_free(m);
        return r;
    }
    for (size_t i = 0; r == 0 && i < in->reparent.n; i++) {
        if (split(in->reparent.v[i], uuid) && uuid[0])
            r = follow_registry(ctx, m, uuid);
    }
    const vb_strv *gone[2] = { &in->created, &in->obsolete };
    for (int k = 0; r == 0 && k < 2; k++) {
        for (size_t i = 0; i < gone[k]->n; i++) {
            const char *path = split(gone[k]->v[i], uuid);
            if (!path)
                continue;
            int keep = uuid[0] ? vb_medium_index(m, uuid) >= 0 : state_file_used(m, path);
            if (!keep && unlink(path) < 0 && errno != ENOENT)
                vb_log(ctx, SB_LOG_WARN, "cannot remove '%s': %s", path, strerror(errno));
        }
    }
    vb_machine_free(m);
    if (r == 0)
        r = vb_intent_clear(ctx, settings_path);
    return r;
}

int vb_intent_done(vb_ctx *ctx, const char *settings_path, const vb_intent *in, int rc)
{
    /* committed, and nothing retired: what it created is registered */
    if (rc == 0 && !in->obsolete.n && !in->reparent.n)
        return vb_intent_clear(ctx, settings_path);
    if (rc == 0)
        return vb_intent_finish(ctx, settings_path, in);
    /* keep the operation's own error: it is what the caller must see */
    char msg[sizeof ctx->err_msg];
    int code = ctx->err_code;
    memcpy(msg, ctx->err_msg, sizeof msg);
    if (vb_intent_finish(ctx, settings_path, in) < 0)
        vb_log(ctx, SB_LOG_WARN, "the intent of '%s' stays for the next writer: %s",
               settings_path, ctx->err_msg);
    vb_error(ctx, code, "%s", msg);
    return rc;
}

/* A settings write killed before its rename leaves its temporary files
 * (the settings file itself is whole either way). */
static void drop_leftovers(const char *settings_path)
{
    static const char *const suffixes[] = { "-tmp", "-prev.sb-tmp", NULL };
    for (int i = 0; suffixes[i]; i++) {
        char *p = vb_printf("%s%s", settings_path, suffixes[i]);
        if (p && unlink(p) == 0)
            (void)vb_fsync_dir_of(p);
        free(p);
    }
}

static int pending(const char *settings_path)
{
    static const char *const suffixes[] = { "-sbintent", "-tmp", "-prev.sb-tmp", NULL };
    int any = 0;
    for (int i = 0; suffixes[i] && !any; i++) {
        char *p = vb_printf("%s%s", settings_path, suffixes[i]);
        any = !p || vb_file_exists(p);
        free(p);
    }
    return any;
}

/* Does VirtualBox hold the machine now (its files are then its own)? */
static int virtualbox_holds(vb_ctx *ctx, const char *settings_path)
{
    vb_machine *m = NULL;
    vb_procs p = { 0, 0 };
    char uuid[VB_UUID_LEN], *name = NULL;
    struct stat st;
    if (stat(settings_path, &st) < 0 || vb_machine_peek(ctx, settings_path, uuid, &name) < 0)
        return 0; /* the operation itself will say what is wrong */
    if ((m = calloc(1, sizeof *m))) {
        memcpy(m->uuid, uuid, VB_UUID_LEN);
        m->name = name;
        name = NULL;
        m->st = st;
        vb_procs_find(ctx, m, &p);
        vb_machine_free(m);
    }
    free(name);
    return p.vm || p.vboxsvc;
}

/* Run again a delete whose snapshot is still in the settings.  When it
 * fails, the operation that came to find it is refused with what blocks
 * the machine and how to clear it; when the delete could be dropped (no
 * snapshot's image was written: its intent is gone), that operation goes
 * ahead. */
static int resume_delete(vb_ctx *ctx, const char *settings_path, const vb_machine *m,
                         const vb_intent *in)
{
    const vb_snap *t = &m->snaps[vb_snap_index(m, in->snapshot)];
    char head[512];
    int r = vb_delete_one(ctx, settings_path, in->snapshot, &in->merges);
    if (r == 0 || r == -SB_ERR_NO_MEMORY)
        return r;
    char *path = vb_intent_path(settings_path);
    int dropped = path && !vb_file_exists(path);
    free(path);
    if (dropped) {
        vb_log(ctx, SB_LOG_WARN, "an interrupted delete was dropped: %s", ctx->err_msg);
        return 0;
    }
    snprintf(head, sizeof head, "domain '%s': the delete of snapshot '%s' (recorded in "
             "'%s-sbintent') must finish before the machine changes, and cannot: ", m->name,
             t->name, settings_path);
    return vb_error_around(ctx, r, head, "");
}

int vb_recover(vb_ctx *ctx, const char *settings_path)
{
    vb_intent in;
    if (virtualbox_holds(ctx, settings_path)) {
        vb_log(ctx, SB_LOG_INFO, "'%s' is VirtualBox's now: an interrupted operation waits",
               settings_path);
        return 0;
    }
    drop_leftovers(settings_path);
    int r = vb_intent_read(ctx, settings_path, &in);
    if (r <= 0)
        return r;
    vb_log(ctx, SB_LOG_WARN, "settings file '%s': finishing an interrupted %s", settings_path,
           in.op);
    if (strcmp(in.op, "delete") == 0 && in.snapshot[0]) {
        vb_machine *m = NULL;
        if ((r = vb_machine_read(ctx, settings_path, &m)) == 0 && vb_snap_index(m, in.snapshot) >= 0) {
            r = resume_delete(ctx, settings_path, m, &in);
            vb_machine_free(m);
            vb_intent_free(&in);
            return r;
        }
        vb_machine_free(m);
        if (r < 0) {
            vb_intent_free(&in);
            return r;
        }
    }
    r = vb_intent_finish(ctx, settings_path, &in);
    vb_intent_free(&in);
    return r;
}

int vb_recover_if_needed(vb_ctx *ctx, const char *settings_path)
{
    int r = 0;
    if (!pending(settings_path))
        return 0;
    /* a writer at work holds the lock and will finish its own intent */
    int lk = vb_lock_machine(ctx, settings_path, 0);
    if (lk == -SB_ERR_OPERATION_INVALID)
        return 0;
    if (lk < 0)
        return lk;
    r = vb_recover(ctx, settings_path);
    vb_unlock(lk);
    return r;
}
