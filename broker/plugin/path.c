/* Plugin search path (see path.h). */
#include "plugin/path.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/strlist.h"
#include "plugin/validate.h"
#include "sb_config.h"

static int push(char ***v, size_t *n, char *s)
{
    char **nv;

    if (!s)
        return sb_error_oom();
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv) {
        free(s);
        return sb_error_oom();
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);

    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

void sb_plugin_path_clear(sb_plugin_path *p)
{
    if (!p)
        return;
    sb_plugin_path_list_free(p->dirs, p->n);
    p->dirs = NULL;
    p->n = 0;
}

static int split_dirs(sb_plugin_path *out, const char *list)
{
    const char *s = list;

    while (*s) {
        const char *e = strchr(s, ':');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len > 0) {
            int rc = push(&out->dirs, &out->n, strndup(s, len));
            if (rc < 0)
                return rc;
        }
        s += len;
        if (*s == ':')
            s++;
    }
    return 0;
}

/* Subdirectories of dir, sorted; a missing dir adds nothing. */
static int push_subdirs(sb_plugin_path *out, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    int rc = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL && rc == 0) {
        char *full;
        if (de->d_name[0] == '.')
            continue;
        if (!(full = join(dir, de->d_name)))
            rc = sb_error_oom();
        else if (!is_dir(full))
            free(full);
        else
            rc = push(&names, &n, full);
    }
    closedir(d);
    if (rc == 0 && n)
        qsort(names, n, sizeof(*names), sb_str_cmp);
    for (i = 0; i < n; i++) {
        if (rc == 0)
            rc = push(&out->dirs, &out->n, names[i]);
        else
            free(names[i]);
    }
    free(names);
    return rc;
}

/* 1 when path is build_root itself or below it (component-wise). */
static int inside(const char *path, const char *root)
{
    size_t lr = strlen(root);

    while (lr > 1 && root[lr - 1] == '/')
        lr--;
    return strncmp(path, root, lr) == 0 && (path[lr] == '/' || path[lr] == '\0');
}

int sb_plugin_path_init_auto(sb_plugin_path *out, const char *exe, const char *build_root,
                             const char *install_dir)
{
    char real_exe[PATH_MAX], real_root[PATH_MAX];
    int rc;

    out->dirs = NULL;
    out->n = 0;
    if (exe && build_root && realpath(exe, real_exe) && realpath(build_root, real_root) &&
        inside(real_exe, real_root)) {
        char *plugins = join(real_root, "plugins");
        if (!plugins)
            return sb_error_oom();
        rc = push_subdirs(out, plugins);
        free(plugins);
        /* the test fixtures: refhv (hypervisor-owned metadata), then ref */
        if (rc == 0)
            rc = push(&out->dirs, &out->n, join(real_root, "tests/plugins/refhv"));
        if (rc == 0)
            rc = push(&out->dirs, &out->n, join(real_root, "tests/plugins/reference"));
    } else {
        rc = push(&out->dirs, &out->n, strdup(install_dir));
    }
    if (rc < 0)
        sb_plugin_path_clear(out);
    return rc;
}

int sb_plugin_path_init(sb_plugin_path *out, const char *explicit_dirs)
{
    int rc;

    out->dirs = NULL;
    out->n = 0;
    if (explicit_dirs && *explicit_dirs) {
        if ((rc = split_dirs(out, explicit_dirs)) < 0)
            sb_plugin_path_clear(out);
        return rc;
    }
    return sb_plugin_path_init_auto(out, "/proc/self/exe", SB_BUILD_ROOT, SB_INSTALL_PLUGIN_DIR);
}

char *sb_plugin_path_string(const sb_plugin_path *p)
{
    size_t len = 1, i;
    char *s;

    for (i = 0; i < p->n; i++)
        len += strlen(p->dirs[i]) + 1;
    if (!(s = malloc(len)))
        return NULL;
    s[0] = '\0';
    for (i = 0; i < p->n; i++) {
        if (i)
            strcat(s, ":");
        strcat(s, p->dirs[i]);
    }
    return s;
}

int sb_plugin_path_find(char **out_file, const sb_plugin_path *p, const char *name)
{
    char file[NAME_MAX + 1];
    size_t i;
    char *dirs;

    *out_file = NULL;
    if (!sb_plugin_name_valid(name))
        return sb_error_set(SB_ERR_PLUGIN_LOAD,
                            "invalid plugin name '%s' (must match [a-z0-9][a-z0-9_-]{0,31})",
                            name ? name : "(null)");
    snprintf(file, sizeof(file), "%s.so", name);
    for (i = 0; i < p->n; i++) {
        char *full = join(p->dirs[i], file);
        if (!full)
            return sb_error_oom();
        if (is_file(full)) {
            *out_file = full;
            return 0;
        }
        free(full);
    }
    dirs = sb_plugin_path_string(p);
    sb_error_set(SB_ERR_PLUGIN_LOAD, "no plugin '%s' (looked for %s in %s)", name, file,
                 dirs && *dirs ? dirs : "no directory");
    free(dirs);
    return -SB_ERR_PLUGIN_LOAD;
}

static int has_so_suffix(const char *n)
{
    size_t l = strlen(n);
    return l > 3 && strcmp(n + l - 3, ".so") == 0;
}

static int seen(char **files, size_t n, const char *base)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const char *b = strrchr(files[i], '/');
        if (strcmp(b ? b + 1 : files[i], base) == 0)
            return 1;
    }
    return 0;
}

int sb_plugin_path_list(char ***out_files, size_t *out_n, const sb_plugin_path *p)
{
    char **files = NULL;
    size_t n = 0, i;
    int rc = 0;

    *out_files = NULL;
    *out_n = 0;
    for (i = 0; i < p->n && rc == 0; i++) {
        DIR *d = opendir(p->dirs[i]);
        struct dirent *de;
        char **here = NULL;
        size_t nhere = 0, j;

        if (!d)
            continue; /* a missing directory holds no plugins */
        while ((de = readdir(d)) != NULL && rc == 0) {
            if (de->d_name[0] == '.' || !has_so_suffix(de->d_name) || seen(files, n, de->d_name))
                continue;
            char *full = join(p->dirs[i], de->d_name);
            if (!full)
                rc = sb_error_oom();
            else if (!is_file(full))
                free(full);
            else
                rc = push(&here, &nhere, full);
        }
        closedir(d);
        if (nhere)
            qsort(here, nhere, sizeof(*here), sb_str_cmp);
        for (j = 0; j < nhere; j++) {
            if (rc == 0)
                rc = push(&files, &n, here[j]);
            else
                free(here[j]);
        }
        free(here);
    }
    if (rc < 0) {
        sb_plugin_path_list_free(files, n);
        return rc;
    }
    *out_files = files;
    *out_n = n;
    return 0;
}

void sb_plugin_path_list_free(char **files, size_t n)
{
    size_t i;

    if (!files)
        return;
    for (i = 0; i < n; i++)
        free(files[i]);
    free(files);
}
