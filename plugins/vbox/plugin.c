/* vbox plugin - the entry point and the driver table.
 *
 * Metadata is the hypervisor's: VirtualBox keeps each machine's snapshot
 * tree in the machine's settings file, and this plugin is the source of
 * truth the broker asks.  URIs: vbox:///session (the user's VirtualBox
 * home: $VBOX_USER_HOME, ~/.config/VirtualBox or ~/.VirtualBox) or
 * vbox:///DIR (a VirtualBox home when DIR holds VirtualBox.xml, else a
 * folder of machines).  Configuration (docs/vbox.md): home,
 * machine_folders, vboxmanage. */
#include "vb.h"
#include "ops.h"
#include "settings.h"
#include "vdi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sb_host_api *g_host;

struct sb_conn {
    vb_ctx ctx;
    /* the last machine read, reused while its settings file is unchanged
     * (the broker asks one thing at a time: parent after parent...) */
    char *cached_domain;
    vb_machine *cached;
    char *cached_buf; /* its bytes (an operation edits them) */
    size_t cached_len;
};

static const struct sb_plugin_caps vbox_caps = {
    .struct_size = sizeof(struct sb_plugin_caps),
    /* no NO_METADATA: VirtualBox always records a snapshot in the
     * machine's settings (libvirt's VirtualBox driver accepts the flag and
     * records all the same); undeclared, the broker refuses it by name
     * before the plugin runs */
    .create_flags = SB_SNAPSHOT_CREATE_REDEFINE | SB_SNAPSHOT_CREATE_CURRENT |
                    SB_SNAPSHOT_CREATE_VALIDATE,
    /* RUNNING and PAUSED start the machine afterwards (VBoxManage) */
    .revert_flags = SB_SNAPSHOT_REVERT_RUNNING | SB_SNAPSHOT_REVERT_PAUSED,
    .delete_flags = SB_SNAPSHOT_DELETE_ALL,
    .list_flags = SB_SNAPSHOT_LIST_ALL,
    .xml_flags = SB_SNAPSHOT_XML_SECURE, /* nothing secret: the same XML */
    .meta_owner = SB_META_HYPERVISOR,
    .disk_override = SB_DISK_OVERRIDE_ALLOWED,
    .default_location = SB_LOCATION_INTERNAL,
    .uniform_internal = 0,
    .create_parse = SB_CREATE_PARSE_REDEFINE,
    .names_unique = 0,
    .name_max = 0,
    .max_snapshots = 0,
    .max_depth = 250, /* VirtualBox's SETTINGS_SNAPSHOT_DEPTH_MAX */
};

static int dup_out(sb_conn *c, char **out, const char *s)
{
    if (!(*out = g_host->strdup(s)))
        return vb_oom(&c->ctx);
    return 0;
}

/* Move a malloc'ed string into host memory. */
static int hand_over(sb_conn *c, char **out, char *s)
{
    int rc = dup_out(c, out, s);
    free(s);
    return rc;
}

/* ---- opening -------------------------------------------------------------- */

static int cfg_str(sb_conn *c, const char *key, const char **out)
{
    *out = NULL;
    if (!g_host->config_string)
        return 0;
    int r = g_host->config_string(c->ctx.h, key, out);
    return r < 0 ? r : 0;
}

static int add_folder(vb_ctx *ctx, const char *dir, size_t len)
{
    char **v = realloc(ctx->folders, (ctx->nfolders + 1) * sizeof *v);
    if (!v)
        return vb_oom(ctx);
    ctx->folders = v;
    if (!(v[ctx->nfolders] = strndup(dir, len)))
        return vb_oom(ctx);
    ctx->nfolders++;
    return 0;
}

static char *find_on_path(const char *prog)
{
    const char *path = getenv("PATH");
    for (const char *p = path; p && *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *cand = vb_printf("%.*s/%s", (int)n, p, prog);
        if (cand && n && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static int parse_uri(sb_conn *c, const char *uri)
{
    vb_ctx *ctx = &c->ctx;
    const char *rest;
    if (!uri || strncmp(uri, "vbox://", 7) != 0)
        return vb_error(ctx, SB_ERR_CONFIG, "vbox: URI '%s' is not vbox:///session or vbox:///DIR",
                        uri ? uri : "");
    rest = uri + 7;
    if (*rest != '/')
        return vb_error(ctx, SB_ERR_CONFIG,
                        "vbox: URI '%s' names a remote host; the plugin works on this host's "
                        "files only (vbox:///session or vbox:///DIR)", uri);
    size_t len = strcspn(rest, "?#");
    char *path = strndup(rest, len);
    if (!path)
        return vb_oom(ctx);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    int rc = 0;
    if (strcmp(path, "/session") == 0 || strcmp(path, "/system") == 0 || strcmp(path, "/") == 0) {
        ctx->home = vb_user_home(getenv("VBOX_USER_HOME"), getenv("HOME"));
    } else {
        char *global = vb_path_join(path, "VirtualBox.xml");
        if (global && vb_file_exists(global))
            ctx->home = strdup(path);
        else
            rc = add_folder(ctx, path, strlen(path));
        free(global);
    }
    free(path);
    return rc;
}

static int configure(sb_conn *c)
{
    vb_ctx *ctx = &c->ctx;
    const char *v = NULL;
    int rc;
    if ((rc = cfg_str(c, "home", &v)) < 0)
        return rc;
    if (v) {
        free(ctx->home);
        ctx->home = strdup(v);
    }
    if ((rc = cfg_str(c, "machine_folders", &v)) < 0)
        return rc;
    for (const char *p = v; p && *p;) {
        size_t n = strcspn(p, ":");
        if (n && (rc = add_folder(ctx, p, n)) < 0)
            return rc;
        p += n + (p[n] == ':');
    }
    if ((rc = cfg_str(c, "vboxmanage", &v)) < 0)
        return rc;
    if (v)
        ctx->vboxmanage = *v ? strdup(v) : NULL; /* "" : never */
    else
        ctx->vboxmanage = find_on_path("VBoxManage");
    if ((rc = cfg_str(c, "test_crash_at", &v)) < 0)
        return rc;
    if (v && *v)
        ctx->crash_at = strdup(v);
    if (g_host->config_bool && (rc = g_host->config_bool(c->ctx.h, "test_no_splice",
                                                         &ctx->no_splice)) < 0)
        return rc;
    return 0;
}

static int vbox_open(sb_conn **out, sb_host *h, const char *uri)
{
    sb_conn *c = calloc(1, sizeof *c);
    int rc;
    if (!c)
        return g_host->set_error(h, SB_ERR_NO_MEMORY, "vbox: out of memory");
    vb_ctx_init(&c->ctx, g_host, h);
    if ((rc = parse_uri(c, uri)) < 0 || (rc = configure(c)) < 0) {
        if (rc != -SB_ERR_NO_MEMORY && !c->ctx.err_code)
            g_host->set_error(h, -rc, "vbox: bad value in the plugin's configuration group");
        vb_ctx_fini(&c->ctx);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void forget(sb_conn *c)
{
    free(c->cached_domain);
    vb_machine_free(c->cached);
    free(c->cached_buf);
    c->cached_domain = NULL;
    c->cached = NULL;
    c->cached_buf = NULL;
}

/* Hand the cached machine to the operation about to run (vb_doc_open
 * takes it when the file is still the same). */
static void lend_cache(sb_conn *c, const char *domain)
{
    vb_ctx *ctx = &c->ctx;
    vb_machine_free(ctx->pre_m);
    free(ctx->pre_buf);
    ctx->pre_m = NULL;
    ctx->pre_buf = NULL;
    if (c->cached && strcmp(c->cached_domain, domain) == 0) {
        ctx->pre_m = c->cached;
        ctx->pre_buf = c->cached_buf;
        ctx->pre_len = c->cached_len;
        c->cached = NULL;
        c->cached_buf = NULL;
    }
    forget(c);
}

static void vbox_close(sb_conn *c)
{
    if (!c)
        return;
    forget(c);
    vb_ctx_fini(&c->ctx);
    free(c);
}

/* ---- machines ------------------------------------------------------------- */

static int unchanged(const vb_machine *m)
{
    struct stat st;
    return stat(m->path, &st) == 0 && vb_stat_same(&st, &m->st);
}

/* The machine (borrowed: valid until the next call). */
static int load(sb_conn *c, const char *domain, const vb_machine **out)
{
    vb_machine *m = NULL;
    char *path = NULL;
    int rc;
    *out = NULL;
    if (c->cached && strcmp(c->cached_domain, domain) == 0 && unchanged(c->cached)) {
        *out = c->cached;
        return 0;
    }
    forget(c);
    if ((rc = vb_machine_find(&c->ctx, domain, &path)) < 0)
        return rc;
    /* an interrupted operation is finished before anyone looks */
    if (vb_recover_if_needed(&c->ctx, path) < 0)
        vb_log(&c->ctx, SB_LOG_WARN, "%s", c->ctx.err_msg);
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    if (stat(path, &st) < 0)
        rc = vb_error_errno(&c->ctx, errno == ENOENT ? SB_ERR_NO_DOMAIN : SB_ERR_SYSTEM_ERROR,
                            errno, "cannot read settings file '%s'", path);
    else if ((rc = vb_read_file(&c->ctx, path, VB_SETTINGS_MAX, &buf, &len)) == 0 &&
             (rc = vb_machine_parse(&c->ctx, buf, len, path, &m)) == 0) {
        m->st = st;
        if ((rc = vb_global_media(&c->ctx, m)) == 0 && !(c->cached_domain = strdup(domain)))
            rc = vb_oom(&c->ctx);
    }
    free(path);
    if (rc < 0) {
        vb_machine_free(m);
        free(buf);
        return rc;
    }
    c->cached = m;
    c->cached_buf = buf;
    c->cached_len = len;
    *out = m;
    return 0;
}

static int machine_state(sb_conn *c, const vb_machine *m, int *state)
{
    vb_procs p;
    int rc = vb_procs_find(&c->ctx, m, &p);
    *state = SB_DOMAIN_SHUTOFF;
    if (rc < 0 || !p.vm)
        return rc;
    *state = SB_DOMAIN_RUNNING;
    if (c->ctx.vboxmanage && vb_vboxmanage_state(&c->ctx, m->uuid, state) < 0)
        *state = SB_DOMAIN_RUNNING; /* the process runs; VBoxManage could not say more */
    return 0;
}

static int vbox_domain_list(char ***out_names, size_t *out_n, sb_conn *c, unsigned flags)
{
    vb_entries all;
    int rc = vb_machines_list(&c->ctx, &all);
    if (rc < 0)
        return rc;
    char **names = g_host->alloc((all.n + 1) * sizeof *names);
    size_t n = 0;
    if (!names) {
        vb_entries_free(&all);
        return vb_oom(&c->ctx);
    }
    for (size_t i = 0; i < all.n && rc == 0; i++) {
        if (flags & (SB_DOMAIN_LIST_ACTIVE | SB_DOMAIN_LIST_INACTIVE)) {
            vb_machine m;
            vb_procs p;
            memset(&m, 0, sizeof m);
            memcpy(m.uuid, all.v[i].uuid, VB_UUID_LEN);
            m.name = all.v[i].name;
            m.path = all.v[i].path;
            if (stat(m.path, &m.st) < 0 || vb_procs_find(&c->ctx, &m, &p) < 0)
                p.vm = 0;
            int active = p.vm != 0;
            if (!((active && (flags & SB_DOMAIN_LIST_ACTIVE)) ||
                  (!active && (flags & SB_DOMAIN_LIST_INACTIVE))))
                continue;
        }
        if (!(names[n] = g_host->strdup(all.v[i].name)))
            rc = vb_oom(&c->ctx);
        else
            n++;
    }
    vb_entries_free(&all);
    if (rc < 0) {
        for (size_t k = 0; k < n; k++)
            g_host->free(names[k]);
        g_host->free(names);
        return rc;
    }
    *out_names = names;
    *out_n = n;
    return 0;
}

static int vbox_domain_get_xml(char **out_xml, sb_conn *c, const char *domain, unsigned flags)
{
    const vb_machine *m;
    char *xml = NULL;
    int rc;
    (void)flags;
    *out_xml = NULL;
    if ((rc = load(c, domain, &m)) < 0 || (rc = vb_domain_xml(&c->ctx, m, &m->hw, -1, &xml)) < 0)
        return rc;
    return hand_over(c, out_xml, xml);
}

static int vbox_domain_get_state(int *out_state, sb_conn *c, const char *domain)
{
    const vb_machine *m;
    int rc = load(c, domain, &m);
    return rc < 0 ? rc : machine_state(c, m, out_state);
}

static int vbox_domain_get_state_reason(int *out_state, int *out_reason, sb_conn *c,
                                        const char *domain)
{
    const vb_machine *m;
    int rc = load(c, domain, &m);
    *out_reason = 0;
    if (rc < 0 || (rc = machine_state(c, m, out_state)) < 0)
        return rc;
    if (*out_state == SB_DOMAIN_SHUTOFF && m->state_file)
        *out_reason = 5; /* VIR_DOMAIN_SHUTOFF_SAVED */
    return 0;
}

/* ---- snapshot queries ----------------------------------------------------- */

static int names_out(sb_conn *c, const vb_machine *m, const size_t *idx, size_t n,
                     char ***out_names, size_t *out_n)
{
    char **names = g_host->alloc((n + 1) * sizeof *names);
    if (!names)
        return vb_oom(&c->ctx);
    for (size_t i = 0; i < n; i++) {
        if (!(names[i] = g_host->strdup(m->snaps[idx[i]].name))) {
            for (size_t k = 0; k < i; k++)
                g_host->free(names[k]);
            g_host->free(names);
            return vb_oom(&c->ctx);
        }
    }
    *out_names = names;
    *out_n = n;
    return 0;
}

static int vbox_snapshot_list(char ***out_names, size_t *out_n, sb_conn *c, const char *domain,
                              const char *from, unsigned flags)
{
    const vb_machine *m;
    size_t *idx = NULL, n = 0;
    long top = -1;
    int rc;
    *out_names = NULL;
    *out_n = 0;
    if ((rc = load(c, domain, &m)) < 0)
        return rc;
    if (from && (top = vb_snapshot_lookup(&c->ctx, m, from, &rc)) < 0)
        return rc;
    if ((rc = vb_snapshot_filter(&c->ctx, m, top, flags, &idx, &n)) == 0)
        rc = names_out(c, m, idx, n, out_names, out_n);
    free(idx);
    return rc;
}

static int vbox_snapshot_get_xml(char **out_xml, sb_conn *c, const char *domain,
                                 const char *name, unsigned flags)
{
    const vb_machine *m;
    char *xml = NULL;
    long i;
    int rc;
    (void)flags;
    *out_xml = NULL;
    if ((rc = load(c, domain, &m)) < 0 || (i = vb_snapshot_lookup(&c->ctx, m, name, &rc)) < 0)
        return rc;
    if ((rc = vb_snapshot_xml(&c->ctx, m, (size_t)i, &xml)) < 0)
        return rc;
    return hand_over(c, out_xml, xml);
}

static int vbox_snapshot_current(char **out_name, sb_conn *c, const char *domain)
{
    const vb_machine *m;
    int rc;
    *out_name = NULL;
    if ((rc = load(c, domain, &m)) < 0)
        return rc;
    const vb_snap *s = vb_current(m);
    if (!s)
        /* VirtualBox's answer (libvirt's vbox driver), not NO_DOMAIN_SNAPSHOT */
        return vb_error(&c->ctx, SB_ERR_OPERATION_INVALID,
                        "domain '%s' has no current snapshot", m->name);
    return dup_out(c, out_name, s->name);
}

static int vbox_snapshot_parent(char **out_name, sb_conn *c, const char *domain,
                                const char *name)
{
    const vb_machine *m;
    long i;
    int rc;
    *out_name = NULL;
    if ((rc = load(c, domain, &m)) < 0 || (i = vb_snapshot_lookup(&c->ctx, m, name, &rc)) < 0)
        return rc;
    if (m->snaps[i].parent < 0)
        return vb_error(&c->ctx, SB_ERR_NO_DOMAIN_SNAPSHOT,
                        "snapshot '%s' does not have a parent", name);
    return dup_out(c, out_name, m->snaps[m->snaps[i].parent].name);
}

static int vbox_snapshot_exists(sb_conn *c, const char *domain, const char *snapshot_xml)
{
    const vb_machine *m;
    char uuid[VB_UUID_LEN], *name = NULL;
    int rc;
    if ((rc = load(c, domain, &m)) < 0)
        return rc;
    if (vb_xml_fields(snapshot_xml, &name, NULL, uuid) < 0 || !name) {
        free(name);
        return vb_error(&c->ctx, SB_ERR_XML_ERROR, "snapshot definition without a name");
    }
    rc = uuid[0] ? vb_snap_index(m, uuid) >= 0 : 0;
    for (size_t i = 0; !uuid[0] && i < m->nsnaps && !rc; i++)
        rc = strcmp(m->snaps[i].name, name) == 0;
    free(name);
    return rc;
}

static int vbox_snapshot_usage(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                               const char *name, const char *snapshot_xml)
{
    const vb_machine *m;
    long i;
    int rc;
    (void)snapshot_xml;
    if ((rc = load(c, domain, &m)) < 0 || (i = vb_snapshot_lookup(&c->ctx, m, name, &rc)) < 0)
        return rc;
    const vb_snap *s = &m->snaps[i];
    unsigned long long bytes = 0, mem = 0;
    const char *where = m->path;
    for (size_t k = 0; k < s->hw.natt; k++) {
        const vb_medium *md = vb_attach_medium(m, &s->hw.att[k]);
        vb_vdi *v = NULL;
        struct stat st;
        if (!md || !vb_medium_snapshotted(m, md))
            continue;
        if (where == m->path)
            where = md->path;
        if (md->format && strcmp(md->format, "VDI") == 0 && vb_vdi_open(&c->ctx, md->path, 0, &v) == 0)
            bytes += vb_vdi_allocated_bytes(v);
        else if (stat(md->path, &st) == 0)
            bytes += (unsigned long long)st.st_blocks * 512;
        vb_vdi_close(v);
    }
    if (s->state_file) {
        char *sav = vb_path_join(m->dir, s->state_file);
        struct stat st;
        if (sav && stat(sav, &st) == 0)
            mem = (unsigned long long)st.st_size;
        free(sav);
    }
    out->bytes = bytes + mem;
    out->known_bytes = 1;
    if (out->struct_size >= offsetof(struct sb_snapshot_usage, location) + sizeof out->location) {
        out->memory_bytes = mem;
        snprintf(out->location, sizeof out->location, "%s", where);
    }
    return 0;
}

/* ---- snapshot changes ----------------------------------------------------- */

typedef int (*op_fn)(vb_ctx *ctx, const char *settings_path, const char *xml, unsigned flags);

/* Under the machine's lock, after any interrupted operation is finished. */
static int locked_op(sb_conn *c, const char *domain, op_fn fn, const char *xml, unsigned flags)
{
    char *path = NULL;
    int rc, lk;
    lend_cache(c, domain);
    if ((rc = vb_machine_find(&c->ctx, domain, &path)) < 0)
        return rc;
    if ((lk = vb_lock_machine(&c->ctx, path, 1)) < 0) {
        free(path);
        return lk;
    }
    if ((rc = vb_recover(&c->ctx, path)) == 0)
        rc = fn(&c->ctx, path, xml, flags);
    vb_unlock(lk);
    free(path);
    return rc;
}

static int vbox_snapshot_create(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                                unsigned flags)
{
    *out_xml = NULL;
    return locked_op(c, domain, (flags & SB_SNAPSHOT_CREATE_REDEFINE) ? vb_op_redefine : vb_op_create,
                     xml, flags);
}

static int vbox_snapshot_revert(char **out_xml, sb_conn *c, const char *domain, const char *xml,
                                unsigned flags)
{
    *out_xml = NULL;
    return locked_op(c, domain, vb_op_revert, xml, flags);
}

static int vbox_snapshot_delete(sb_conn *c, const char *domain, const char *xml, unsigned flags)
{
    return locked_op(c, domain, vb_op_delete, xml, flags);
}

static const struct sb_plugin vbox_plugin = {
    .struct_size = sizeof(struct sb_plugin),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .name = "vbox",
    .version = "0.1.0",
    .description = "VirtualBox: machine settings (.vbox) and VDI images; VBoxManage for running "
                   "machines",
    .caps = &vbox_caps,
    .open = vbox_open,
    .close = vbox_close,
    .domain_list = vbox_domain_list,
    .domain_get_xml = vbox_domain_get_xml,
    .domain_get_state = vbox_domain_get_state,
    .snapshot_create = vbox_snapshot_create,
    .snapshot_revert = vbox_snapshot_revert,
    .snapshot_delete = vbox_snapshot_delete,
    .snapshot_list = vbox_snapshot_list,
    .snapshot_get_xml = vbox_snapshot_get_xml,
    .snapshot_current = vbox_snapshot_current,
    .snapshot_parent = vbox_snapshot_parent,
    .snapshot_exists = vbox_snapshot_exists,
    .snapshot_usage = vbox_snapshot_usage,
    .domain_get_state_reason = vbox_domain_get_state_reason,
};

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host,
                                        uint32_t host_abi_major, uint32_t host_abi_minor);

SB_PLUGIN_EXPORT int sb_plugin_entry_v1(const struct sb_plugin **out,
                                        const struct sb_host_api *host,
                                        uint32_t host_abi_major, uint32_t host_abi_minor)
{
    (void)host_abi_minor;
    if (!host || !out)
        return -SB_ERR_INVALID_ARG;
    if (host_abi_major != SB_PLUGIN_ABI_MAJOR) {
        if (host->set_error)
            host->set_error(NULL, SB_ERR_PLUGIN_ABI, "vbox plugin: built for ABI %u, broker has %u",
                            SB_PLUGIN_ABI_MAJOR, (unsigned)host_abi_major);
        return -SB_ERR_PLUGIN_ABI;
    }
    if (host->struct_size < offsetof(struct sb_host_api, domain_view_free) + sizeof(void *) ||
        !host->set_error || !host->alloc || !host->realloc || !host->strdup || !host->free ||
        !host->snapshot_view || !host->domain_view) {
        if (host->set_error)
            host->set_error(NULL, SB_ERR_PLUGIN_ABI,
                            "vbox plugin: the broker's host services table lacks services the "
                            "plugin needs (alloc, strdup, free, snapshot_view, domain_view)");
        return -SB_ERR_PLUGIN_ABI;
    }
    g_host = host;
    *out = &vbox_plugin;
    return 0;
}
