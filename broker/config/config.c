/* Configuration loading and validation (see config.h).
 *
 * libconfig has no schema, so every group is walked member by member: known
 * keys are type-checked, unknown ones become warnings naming FILE:LINE (a
 * typo such as `stat_dir` must not silently fall back to a default).
 */
#include "config/config_internal.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "plugin/log.h"
#include "plugin/validate.h"
#include "sb_config.h"

#define EMBEDDED_NAME "<embedded default>"

/* Used when no file exists: the local QEMU session, as virsh would pick. */
static const char embedded_default[] =
    "default_host = \"local\";\n"
    "hosts = ( { name = \"local\"; plugin = \"qemu\"; uri = \"qemu:///session\"; } );\n";

struct config_impl {
    sb_config pub; /* first: sb_config * and config_impl * convert */
    config_t cfg;
    int cfg_ready;
    char *path;
    char *base_dir; /* for relative paths */
    char *state_dir;
    char *plugin_dir;
    sb_config_host *hosts;
    struct sb_config_group *groups;
    char **warnings;
    size_t nwarnings;
};

static const char *file_of(const struct config_impl *c, const config_setting_t *s)
{
    return sb_config_setting_file(s, c->path);
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct config_impl *c,
                                                        const config_setting_t *s,
                                                        const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sb_error_set(SB_ERR_CONFIG, "%s:%d: %s", file_of(c, s),
                        s ? config_setting_source_line(s) : 0, msg);
}

__attribute__((format(printf, 3, 4))) static int warn_at(struct config_impl *c,
                                                        const config_setting_t *s,
                                                        const char *fmt, ...)
{
    char msg[768], *line;
    char **w;
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    n = snprintf(NULL, 0, "%s:%d: %s", file_of(c, s), config_setting_source_line(s), msg);
    if (n < 0 || !(line = malloc((size_t)n + 1)))
        return sb_error_oom();
    snprintf(line, (size_t)n + 1, "%s:%d: %s", file_of(c, s), config_setting_source_line(s), msg);
    w = realloc(c->warnings, (c->nwarnings + 1) * sizeof(*w));
    if (!w) {
        free(line);
        return sb_error_oom();
    }
    w[c->nwarnings++] = line;
    c->warnings = w;
    sb_log_write(SB_LOG_WARN, "config", "%s", line);
    return 0;
}

/* A string setting, or a type error naming what it belongs to. */
static int get_string(struct config_impl *c, const config_setting_t *s, const char *what,
                      const char **out)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail_at(c, s, "%s must be a string, not %s", what,
                       sb_config_type_name(config_setting_type(s)));
    *out = config_setting_get_string(s);
    if (!**out)
        return fail_at(c, s, "%s must not be empty", what);
    return 0;
}

/* Relative paths in a file are relative to the file's directory, so a
 * config and its state can move together. */
static char *resolve_path(const struct config_impl *c, const char *p)
{
    size_t lb, lp;
    char *s;

    if (p[0] == '/' || !c->base_dir)
        return strdup(p);
    lb = strlen(c->base_dir);
    lp = strlen(p);
    if (!(s = malloc(lb + lp + 2)))
        return NULL;
    memcpy(s, c->base_dir, lb);
    s[lb] = '/';
    memcpy(s + lb + 1, p, lp + 1);
    return s;
}

/* plugin_dir may be a ':'-separated list: resolve every element. */
static char *resolve_path_list(const struct config_impl *c, const char *list)
{
    size_t cap = strlen(list) * 2 + (c->base_dir ? strlen(c->base_dir) * 8 : 0) + 2;
    char *out, *copy, *tok, *save = NULL;
    size_t used = 0;

    /* Each element grows by at most base_dir + 1; count them. */
    for (const char *q = list; *q; q++)
        if (*q == ':')
            cap += (c->base_dir ? strlen(c->base_dir) : 0) + 1;
    if (!(out = malloc(cap)) || !(copy = strdup(list))) {
        free(out);
        return NULL;
    }
    out[0] = '\0';
    for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        char *r = resolve_path(c, tok);
        if (!r) {
            free(out);
            free(copy);
            return NULL;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ":" : "", r);
        free(r);
    }
    free(copy);
    return out;
}

static int check_host_name(struct config_impl *c, const config_setting_t *s, const char *name)
{
    size_t i;

    for (i = 0; name[i]; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
        if (!ok || i >= 64)
            return fail_at(c, s,
                           "invalid host name '%s' (must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}: "
                           "it names a state directory)",
                           name);
    }
    return 0;
}

static int parse_host(struct config_impl *c, config_setting_t *g, size_t idx)
{
    sb_config_host *h = &c->hosts[idx];
    struct sb_config_group *grp = &c->groups[idx];
    config_setting_t *s;
    int i, n, rc;

    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(c, g, "hosts entry %zu must be a group { name = ...; plugin = ...; uri = "
                             "...; }, not %s",
                       idx + 1, sb_config_type_name(config_setting_type(g)));
    h->line = config_setting_source_line(g);

    /* name and plugin first: messages and the plugin group depend on them */
    if (!(s = config_setting_get_member(g, "name")))
        return fail_at(c, g, "hosts entry %zu has no 'name'", idx + 1);
    if ((rc = get_string(c, s, "'name' of a host", &h->name)) < 0 ||
        (rc = check_host_name(c, s, h->name)) < 0)
        return rc;
    if (!(s = config_setting_get_member(g, "plugin")))
        return fail_at(c, g, "host '%s' has no 'plugin'", h->name);
    if ((rc = get_string(c, s, "'plugin' of a host", &h->plugin)) < 0)
        return rc;
    if (!sb_plugin_name_valid(h->plugin))
        return fail_at(c, s, "host '%s': invalid plugin name '%s' (must match "
                             "[a-z0-9][a-z0-9_-]{0,31})",
                       h->name, h->plugin);
    if (!(s = config_setting_get_member(g, "uri")))
        return fail_at(c, g, "host '%s' has no 'uri'", h->name);
    if ((rc = get_string(c, s, "'uri' of a host", &h->uri)) < 0)
        return rc;

    n = config_setting_length(g);
    for (i = 0; i < n; i++) {
        const char *key;
        s = config_setting_get_elem(g, (unsigned)i);
        key = config_setting_name(s);
        if (!strcmp(key, "name") || !strcmp(key, "plugin") || !strcmp(key, "uri"))
            continue;
        if (!strcmp(key, h->plugin)) {
            if (config_setting_type(s) != CONFIG_TYPE_GROUP)
                return fail_at(c, s, "'%s' of host '%s' (the plugin's group) must be a group, "
                                     "not %s",
                               key, h->name, sb_config_type_name(config_setting_type(s)));
            grp->setting = s;
            grp->file = file_of(c, s);
            grp->host = h->name;
            grp->plugin = h->plugin;
            h->group = grp;
            continue;
        }
        if ((rc = warn_at(c, s, "unknown key '%s' in host '%s' (ignored; the plugin's group "
                                "must be named '%s')",
                          key, h->name, h->plugin)) < 0)
            return rc;
    }
    return 0;
}

static int parse_hosts(struct config_impl *c, config_setting_t *list)
{
    int n, rc;
    size_t i, j;

    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(c, list, "'hosts' must be a list ( { ... }, { ... } ), not %s",
                       sb_config_type_name(config_setting_type(list)));
    n = config_setting_length(list);
    if (n == 0)
        return 0;
    c->hosts = calloc((size_t)n, sizeof(*c->hosts));
    c->groups = calloc((size_t)n, sizeof(*c->groups));
    c->pub.hosts = c->hosts;
    if (!c->hosts || !c->groups)
        return sb_error_oom();
    for (i = 0; i < (size_t)n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if ((rc = parse_host(c, g, i)) < 0)
            return rc;
        for (j = 0; j < i; j++)
            if (strcmp(c->hosts[j].name, c->hosts[i].name) == 0)
                return fail_at(c, g, "duplicate host name '%s' (first defined at %s:%d)",
                               c->hosts[i].name,
                               file_of(c, config_setting_get_elem(list, (unsigned)j)),
                               c->hosts[j].line);
        c->pub.nhosts = i + 1;
    }
    return 0;
}

static int parse_root(struct config_impl *c)
{
    config_setting_t *root = config_root_setting(&c->cfg), *s, *dflt = NULL;
    const char *str;
    int i, n, rc;

    n = config_setting_length(root);
    for (i = 0; i < n; i++) {
        const char *key;
        s = config_setting_get_elem(root, (unsigned)i);
        key = config_setting_name(s);
        if (!strcmp(key, "state_dir") || !strcmp(key, "plugin_dir")) {
            char **dst = key[0] == 's' ? &c->state_dir : &c->plugin_dir;
            if ((rc = get_string(c, s, key, &str)) < 0)
                return rc;
            free(*dst);
            *dst = key[0] == 's' ? resolve_path(c, str) : resolve_path_list(c, str);
            if (!*dst)
                return sb_error_oom();
        } else if (!strcmp(key, "log_level")) {
            if ((rc = get_string(c, s, key, &str)) < 0)
                return rc;
            if (!(c->pub.log_level = sb_log_level_parse(str)))
                return fail_at(c, s, "log_level '%s' is not one of error, warn, info, debug",
                               str);
        } else if (!strcmp(key, "default_host")) {
            if ((rc = get_string(c, s, key, &c->pub.default_host)) < 0)
                return rc;
            dflt = s;
        } else if (!strcmp(key, "hosts")) {
            if ((rc = parse_hosts(c, s)) < 0)
                return rc;
        } else if ((rc = warn_at(c, s, "unknown key '%s' (ignored)", key)) < 0) {
            return rc;
        }
    }
    if (dflt && !sb_config_find_host(&c->pub, c->pub.default_host))
        return fail_at(c, dflt, "default_host '%s' is not a configured host",
                       c->pub.default_host);
    if (!dflt && c->pub.nhosts > 0)
        c->pub.default_host = c->hosts[0].name;
    return 0;
}

/* Environment and computed defaults, after the file. */
static int apply_env(struct config_impl *c)
{
    const char *e;

    if ((e = getenv("SNAPBROKER_STATE_DIR")) && *e) {
        free(c->state_dir);
        if (!(c->state_dir = strdup(e)))
            return sb_error_oom();
    }
    if ((e = getenv("SNAPBROKER_PLUGIN_DIR")) && *e) {
        free(c->plugin_dir);
        if (!(c->plugin_dir = strdup(e)))
            return sb_error_oom();
    }
    if (!c->state_dir && !(c->state_dir = sb_config_default_state_dir()))
        return -SB_ERR_CONFIG;
    return 0;
}

static int finish(sb_config **out, struct config_impl *c)
{
    int rc = parse_root(c);

    if (rc == 0)
        rc = apply_env(c);
    if (rc < 0) {
        sb_config_free(&c->pub);
        return rc;
    }
    c->pub.path = c->path;
    c->pub.state_dir = c->state_dir;
    c->pub.plugin_dir = c->plugin_dir;
    c->pub.hosts = c->hosts;
    c->pub.warnings = (const char *const *)c->warnings;
    c->pub.nwarnings = c->nwarnings;
    *out = &c->pub;
    return 0;
}

static struct config_impl *impl_new(const char *name, int from_file)
{
    struct config_impl *c = calloc(1, sizeof(*c));
    char *copy;

    if (!c)
        return NULL;
    config_init(&c->cfg);
    c->cfg_ready = 1;
    c->pub.log_level = SB_LOG_WARN;
    c->pub.from_file = from_file;
    c->path = strdup(name);
    copy = strdup(name);
    if (c->path && copy)
        c->base_dir = strdup(dirname(copy));
    free(copy);
    if (!c->path || !c->base_dir) {
        sb_config_free(&c->pub);
        return NULL;
    }
    /* @include "x" resolves beside the including file */
    config_set_include_dir(&c->cfg, c->base_dir);
    return c;
}

static int parse_error(struct config_impl *c)
{
    const char *f = config_error_file(&c->cfg);
    int rc = sb_error_set(SB_ERR_CONFIG, "%s:%d: %s", f ? f : c->path,
                          config_error_line(&c->cfg), config_error_text(&c->cfg));
    sb_config_free(&c->pub);
    return rc;
}

int sb_config_load_string(sb_config **out, const char *text, const char *name)
{
    struct config_impl *c;

    *out = NULL;
    if (!(c = impl_new(name ? name : ".", name != NULL)))
        return sb_error_oom();
    if (config_read_string(&c->cfg, text) != CONFIG_TRUE)
        return parse_error(c);
    return finish(out, c);
}

int sb_config_load(sb_config **out, const char *path)
{
    static const char installed[] = SB_INSTALL_SYSCONFDIR "/snapbroker/snapbroker.conf";
    struct config_impl *c;
    const char *env = getenv("SNAPBROKER_CONFIG");
    FILE *f;
    int rc;

    *out = NULL;
    /* "" is a mistake (an unset variable, --config=), not "no file": it
     * must not load another configuration instead */
    if (path && !*path)
        return sb_error_set(SB_ERR_INVALID_ARG, "empty configuration file path");
    if (!path)
        path = env && *env ? env : NULL;
    if (!path && access(installed, F_OK) == 0)
        path = installed;
    if (!path) {
        if (!(c = impl_new(EMBEDDED_NAME, 0)))
            return sb_error_oom();
        /* the embedded text has no relative paths; no base directory */
        free(c->base_dir);
        c->base_dir = NULL;
        if (config_read_string(&c->cfg, embedded_default) != CONFIG_TRUE)
            return parse_error(c);
        return finish(out, c);
    }

    /* Open it ourselves first: libconfig reports a missing file as a parse
     * error on line 0 without errno, and exits or hangs on what is not a
     * regular file. */
    if (!(c = impl_new(path, 1)))
        return sb_error_oom();
    if ((rc = sb_config_open_file(path, c->base_dir, &f)) < 0) {
        sb_config_free(&c->pub);
        return rc;
    }
    if (config_read(&c->cfg, f) != CONFIG_TRUE) {
        fclose(f);
        return parse_error(c);
    }
    fclose(f);
    return finish(out, c);
}

void sb_config_free(sb_config *pub)
{
    struct config_impl *c = (struct config_impl *)pub;
    size_t i;

    if (!c)
        return;
    if (c->cfg_ready)
        config_destroy(&c->cfg);
    for (i = 0; i < c->nwarnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    free(c->hosts);
    free(c->groups);
    free(c->path);
    free(c->base_dir);
    free(c->state_dir);
    free(c->plugin_dir);
    free(c);
}

const sb_config_host *sb_config_find_host(const sb_config *c, const char *name)
{
    size_t i;

    if (!c || !name)
        return NULL;
    for (i = 0; i < c->nhosts; i++)
        if (strcmp(c->hosts[i].name, name) == 0)
            return &c->hosts[i];
    return NULL;
}
