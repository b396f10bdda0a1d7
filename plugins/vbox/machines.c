/* vbox plugin - which machines exist: the machine registry of a VirtualBox
 * home (VirtualBox.xml, <MachineEntry src uuid>) and the settings files
 * found in configured machine folders (any .vbox file in a folder or in its
 * direct subfolders).
 * The global registry's media (VirtualBox before 4.0 registered every
 * disk there) are added to each machine loaded. */
#include "vb.h"
#include "settings.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GLOBAL_FILE "VirtualBox.xml"

static int read_home(vb_ctx *ctx, const char *home, vb_machine *g, vb_entries *entries)
{
    char *path, *buf = NULL;
    size_t len = 0;
    int rc;

    memset(g, 0, sizeof *g);
    if (!home)
        return 0;
    if (!(path = vb_path_join(home, GLOBAL_FILE)))
        return vb_oom(ctx);
    if (!vb_file_exists(path)) {
        free(path);
        return 0;
    }
    g->dir = strdup(home);
    if (!g->dir)
        rc = vb_oom(ctx);
    else if ((rc = vb_read_file(ctx, path, VB_SETTINGS_MAX, &buf, &len)) == 0)
        rc = vb_settings_sax(ctx, buf, len, path, g, entries, 0);
    free(buf);
    free(path);
    return rc;
}

static int read_global(vb_ctx *ctx, vb_machine *g, vb_entries *entries)
{
    return read_home(ctx, ctx->home, g, entries);
}

int vb_global_media(vb_ctx *ctx, vb_machine *m)
{
    vb_machine g;
    vb_entries unused = { 0 };
    int rc = read_global(ctx, &g, &unused);
    long *map = NULL;

    vb_entries_free(&unused);

    if (rc < 0 || !g.nmedia) {
        vb_machine_clear(&g);
        return rc;
    }
    vb_medium *v = realloc(m->media, (m->nmedia + g.nmedia) * sizeof *v);
    if (!v || !(map = malloc(g.nmedia * sizeof *map))) {
        if (v)
            m->media = v;
        vb_machine_clear(&g);
        return vb_oom(ctx);
    }
    m->media = v;
    m->cmedia = m->nmedia + g.nmedia;
    /* parents come before their children in both registries */
    for (size_t i = 0; i < g.nmedia; i++) {
        vb_medium md = g.media[i];
        memset(&g.media[i], 0, sizeof g.media[i]);
        long mine = vb_medium_index(m, md.uuid);
        if (mine >= 0) {
            /* the machine's own registration wins over a stale global one */
            map[i] = mine;
            vb_medium_clear(&md);
            continue;
        }
        md.global = 1;
        if (md.parent >= 0)
            md.parent = map[md.parent];
        map[i] = (long)m->nmedia;
        m->media[m->nmedia++] = md;
    }
    free(map);
    vb_machine_clear(&g);
    return 0;
}

char *vb_user_home(const char *vbox_user_home, const char *home)
{
    if (vbox_user_home && *vbox_user_home)
        return strdup(vbox_user_home);
    if (!home || !*home)
        return NULL;
    char *cfg = vb_printf("%s/.config/VirtualBox", home), *old = vb_printf("%s/.VirtualBox", home);
    if (cfg && old && !vb_file_exists(cfg) && vb_file_exists(old)) {
        free(cfg);
        return old;
    }
    free(old);
    return cfg;
}

int vb_home_registers(vb_ctx *ctx, const char *home, const char *uuid)
{
    vb_machine g;
    vb_entries reg = { 0 };
    int rc = read_home(ctx, home, &g, &reg), hit = 0;
    for (size_t i = 0; rc == 0 && i < reg.n; i++)
        hit |= strcmp(reg.v[i].uuid, uuid) == 0;
    vb_machine_clear(&g);
    vb_entries_free(&reg);
    return rc < 0 ? rc : hit;
}

static int add_entry(vb_ctx *ctx, vb_entries *out, const char *path, const char *uuid,
                     char *name)
{
    vb_entry *v = realloc(out->v, (out->n + 1) * sizeof *v);
    if (!v) {
        free(name);
        return vb_oom(ctx);
    }
    out->v = v;
    vb_entry *e = &out->v[out->n];
    memset(e, 0, sizeof *e);
    memcpy(e->uuid, uuid, VB_UUID_LEN);
    e->name = name;
    if (!(e->path = strdup(path))) {
        free(name);
        return vb_oom(ctx);
    }
    out->n++;
    return 0;
}

static int listed(const vb_entries *out, const char *uuid)
{
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->v[i].uuid, uuid) == 0)
            return 1;
    return 0;
}

/* Peek at one settings file; an unreadable one is noted, not fatal. */
static int consider(vb_ctx *ctx, vb_entries *out, const char *path, const char *want_uuid)
{
    char uuid[VB_UUID_LEN], *name = NULL;
    int rc = vb_machine_peek(ctx, path, uuid, &name);
    if (rc == -SB_ERR_NO_MEMORY)
        return rc;
    if (rc < 0) {
        vb_log(ctx, SB_LOG_WARN, "%s", ctx->err_msg);
        if (vb_strv_add(&out->unreadable, ctx->err_msg) < 0)
            return vb_oom(ctx);
        return 0;
    }
    if (want_uuid && strcmp(uuid, want_uuid) != 0) {
        char *msg = vb_printf("'%s' holds machine {%s}, not {%s} as VirtualBox.xml says", path,
                              uuid, want_uuid);
        vb_log(ctx, SB_LOG_WARN, "%s", msg ? msg : "machine registry mismatch");
        rc = msg ? vb_strv_add(&out->unreadable, msg) : -ENOMEM;
        free(msg);
        free(name);
        return rc < 0 ? vb_oom(ctx) : 0;
    }
    if (listed(out, uuid)) {
        free(name);
        return 0;
    }
    return add_entry(ctx, out, path, uuid, name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* The .vbox files of a folder and of its direct subfolders, sorted. */
static int scan_folder(vb_ctx *ctx, const char *folder, int depth, vb_strv *out)
{
    DIR *d = opendir(folder);
    struct dirent *de;
    vb_strv subdirs = { 0 };
    int rc = 0;

    if (!d)
        return 0; /* a folder that does not exist holds no machine */
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = vb_path_join(folder, de->d_name);
        struct stat st;
        if (!p) {
            rc = vb_oom(ctx);
            break;
        }
        if (stat(p, &st) == 0) {
            if (S_ISREG(st.st_mode) && has_suffix(de->d_name, ".vbox"))
                rc = vb_strv_add(out, p) < 0 ? vb_oom(ctx) : 0;
            else if (S_ISDIR(st.st_mode) && depth == 0)
                rc = vb_strv_add(&subdirs, p) < 0 ? vb_oom(ctx) : 0;
        }
        free(p);
    }
    closedir(d);
    if (subdirs.n)
        qsort(subdirs.v, subdirs.n, sizeof *subdirs.v, cmp_str);
    for (size_t i = 0; rc == 0 && i < subdirs.n; i++)
        rc = scan_folder(ctx, subdirs.v[i], depth + 1, out);
    vb_strv_free(&subdirs);
    return rc;
}

int vb_machines_list(vb_ctx *ctx, vb_entries *out)
{
    vb_machine g;
    vb_entries reg = { 0 };
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = read_global(ctx, &g, &reg)) < 0) {
        vb_machine_clear(&g);
        vb_entries_free(&reg);
        return rc;
    }
    vb_machine_clear(&g);
    for (size_t i = 0; rc == 0 && i < reg.n; i++) {
        if (!vb_file_exists(reg.v[i].path)) {
            char *msg = vb_printf("'%s' (machine {%s} in VirtualBox.xml) does not exist",
                                  reg.v[i].path, reg.v[i].uuid);
            rc = !msg || vb_strv_add(&out->unreadable, msg) < 0 ? vb_oom(ctx) : 0;
            free(msg);
            continue;
        }
        rc = consider(ctx, out, reg.v[i].path, reg.v[i].uuid);
    }
    vb_entries_free(&reg);
    for (size_t f = 0; rc == 0 && f < ctx->nfolders; f++) {
        vb_strv files = { 0 };
        rc = scan_folder(ctx, ctx->folders[f], 0, &files);
        if (files.n)
            qsort(files.v, files.n, sizeof *files.v, cmp_str);
        for (size_t i = 0; rc == 0 && i < files.n; i++)
            rc = consider(ctx, out, files.v[i], NULL);
        vb_strv_free(&files);
    }
    if (rc < 0)
        vb_entries_free(out);
    return rc;
}

void vb_entries_free(vb_entries *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].path);
        free(e->v[i].name);
    }
    free(e->v);
    vb_strv_free(&e->unreadable);
    memset(e, 0, sizeof *e);
}

static int no_domain(vb_ctx *ctx, const vb_entries *all, const char *domain)
{
    if (!all->unreadable.n)
        return vb_error(ctx, SB_ERR_NO_DOMAIN, "no domain with matching name '%s'", domain);
    return vb_error(ctx, SB_ERR_NO_DOMAIN,
                    "no domain with matching name '%s' (%zu settings file%s could not be read, "
                    "the first: %s)",
                    domain, all->unreadable.n, all->unreadable.n == 1 ? "" : "s",
                    all->unreadable.v[0]);
}

int vb_machine_find(vb_ctx *ctx, const char *domain, char **out_path)
{
    vb_entries all;
    char uuid[VB_UUID_LEN];
    int by_uuid = vb_uuid_parse(domain, uuid) == 0;
    long hit = -1;
    size_t hits = 0;
    int rc;

    *out_path = NULL;
    if ((rc = vb_machines_list(ctx, &all)) < 0)
        return rc;
    for (size_t i = 0; i < all.n; i++) {
        if ((by_uuid && strcmp(all.v[i].uuid, uuid) == 0) ||
            strcmp(all.v[i].name, domain) == 0) {
            if (!hits++)
                hit = (long)i;
        }
    }
    if (!hits) {
        rc = no_domain(ctx, &all, domain);
    } else if (hits > 1) {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < all.n && used < sizeof list - 48; i++)
            if (strcmp(all.v[i].name, domain) == 0)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s{%s}",
                                         used ? ", " : "", all.v[i].uuid);
        rc = vb_error(ctx, SB_ERR_INVALID_ARG,
                      "domain name '%s' is ambiguous: %zu machines have it (%s); name one by "
                      "its UUID", domain, hits, list);
    } else if (!(*out_path = strdup(all.v[hit].path))) {
        rc = vb_oom(ctx);
    }
    vb_entries_free(&all);
    return rc;
}

int vb_machine_load(vb_ctx *ctx, const char *domain, vb_machine **out)
{
    char *path = NULL;
    int rc;

    *out = NULL;
    if ((rc = vb_machine_find(ctx, domain, &path)) < 0)
        return rc;
    if ((rc = vb_machine_read(ctx, path, out)) == 0 && (rc = vb_global_media(ctx, *out)) < 0) {
        vb_machine_free(*out);
        *out = NULL;
    }
    free(path);
    return rc;
}
