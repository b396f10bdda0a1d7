/* Host services handed to plugins (see host.h). */
#include "plugin/host.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "plugin/log.h"
#include "store/safe_path.h"

struct sb_host {
    char *plugin;
    char *host;
    char *state_root;
    char *state_dir;
    char *state_created; /* topmost directory state_dir() created, or NULL */
    int state_dir_ready;
    const sb_config_group *group;
    const struct sb_host_tree_ops *tree;
    void *ctx;
    sb_progress_sink progress;
    void *progress_data;
    /* Why the last host service called on this host failed, until the
     * plugin's next call: its set_error keeps it as the cause. */
    char cause[sizeof(sb_error_last()->message)];
};

/* A service failed: remember its message for the plugin's set_error. */
static void service_failed(sb_host *h)
{
    if (h)
        memcpy(h->cause, sb_error_last()->message, sizeof(h->cause));
}

static void service_called(sb_host *h)
{
    if (h)
        h->cause[0] = '\0';
}

/* ---- errors and logging -------------------------------------------- */

static int host_set_error(sb_host *h, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int host_set_error(sb_host *h, int code, const char *fmt, ...)
{
    char msg[sizeof(sb_error_last()->message)];
    va_list ap;

    (void)h;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt ? fmt : "(no message)", ap);
    va_end(ap);
    /* A plugin that reports a failed host service in its own words would
     * hide what failed (which key at FILE:LINE, which directory and
     * errno): the service's message follows as the cause. */
    if (h && h->cause[0] && !strstr(msg, h->cause)) {
        size_t n = strlen(msg), room = sizeof(msg) - n - 1; /* truncation is fine */
        size_t add = strnlen(h->cause, sizeof(h->cause));
        if (room > 2) {
            memcpy(msg + n, ": ", 2);
            memcpy(msg + n + 2, h->cause, add < room - 2 ? add : room - 2);
            msg[n + 2 + (add < room - 2 ? add : room - 2)] = '\0';
        }
    }
    service_called(h);
    /* Accept -SB_ERR_X too: the message matters more than the sign.
     * INT_MIN has no positive counterpart: it is no class at all. */
    if (code == INT_MIN)
        code = INT_MAX;
    else if (code < 0)
        code = -code;
    if (code == SB_OK || strcmp(sb_error_class_name(code), "UNKNOWN") == 0) {
        sb_error_set(SB_ERR_INTERNAL_ERROR, "%s (plugin used unknown error class %d)", msg,
                     code);
        return -SB_ERR_INTERNAL_ERROR;
    }
    return sb_error_set(code, "%s", msg);
}

static void host_log(sb_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(sb_host *h, int level, const char *fmt, ...)
{
    char origin[160];
    va_list ap;

    if (level < SB_LOG_ERROR)
        level = SB_LOG_ERROR;
    if (level > SB_LOG_DEBUG)
        level = SB_LOG_DEBUG;
    if (h)
        snprintf(origin, sizeof(origin), "plugin %s (host %s)", h->plugin, h->host);
    else
        snprintf(origin, sizeof(origin), "plugin");
    va_start(ap, fmt);
    sb_log_writev(level, origin, fmt ? fmt : "", ap);
    va_end(ap);
}

static void host_progress(sb_host *h, const char *what, unsigned percent)
{
    if (!h || !h->progress)
        return;
    h->progress(h->progress_data, h->plugin, h->host, what ? what : "",
                percent > 100 ? 100 : percent);
}

/* ---- memory ------------------------------------------------------------ */

static void *host_alloc(size_t n)
{
    /* never 0 bytes: a NULL would read as failure */
    return calloc(1, n ? n : 1);
}

static void *host_realloc(void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

static char *host_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void host_free(void *p)
{
    free(p);
}

/* ---- configuration and state ---------------------------------------- */

static int service_result(sb_host *h, int rc)
{
    if (rc < 0)
        service_failed(h);
    else
        service_called(h);
    return rc;
}

static int host_config_string(sb_host *h, const char *key, const char **out)
{
    return service_result(h, sb_config_group_string(h ? h->group : NULL, key, out));
}

static int host_config_int(sb_host *h, const char *key, long long *out)
{
    return service_result(h, sb_config_group_int(h ? h->group : NULL, key, out));
}

static int host_config_bool(sb_host *h, const char *key, int *out)
{
    return service_result(h, sb_config_group_bool(h ? h->group : NULL, key, out));
}

static int host_config_invalid(sb_host *h, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int host_config_invalid(sb_host *h, const char *key, const char *fmt, ...)
{
    char msg[sizeof(sb_error_last()->message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt ? fmt : "invalid value", ap);
    va_end(ap);
    return sb_config_group_invalid(h ? h->group : NULL, key ? key : "?", msg);
}

static const char *state_dir_of(sb_host *h);

static const char *host_state_dir(sb_host *h)
{
    const char *dir = state_dir_of(h);
    service_result(h, dir ? 0 : -1);
    return dir;
}

static const char *state_dir_of(sb_host *h)
{
    if (!h || !h->state_dir) {
        sb_error_set(SB_ERR_INTERNAL_ERROR, "no state directory for plugin '%s' on host '%s'",
                     h ? h->plugin : "?", h ? h->host : "?");
        return NULL;
    }
    if (!h->state_dir_ready) {
        /* below the broker's state directory: created 0700, no symbolic
         * link followed, nothing writable by others (store/safe_path.h) */
        size_t n = strlen(h->state_root);
        if (strncmp(h->state_dir, h->state_root, n) != 0 || h->state_dir[n] != '/') {
            sb_error_set(SB_ERR_INTERNAL_ERROR, "state directory '%s' is not below '%s'",
                         h->state_dir, h->state_root);
            return NULL;
        }
        if (sb_safe_dir(h->state_root, h->state_dir + n + 1, true, &h->state_created) < 0)
            return NULL;
        h->state_dir_ready = 1;
    }
    return h->state_dir;
}

/* ---- XML services (process-wide hooks) -------------------------------- */

static pthread_mutex_t xml_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb_host_xml_ops xml_ops;

static struct sb_host_xml_ops xml_get(void)
{
    struct sb_host_xml_ops ops;

    pthread_mutex_lock(&xml_lock);
    ops = xml_ops;
    pthread_mutex_unlock(&xml_lock);
    return ops;
}

void sb_host_set_xml_ops(const struct sb_host_xml_ops *ops)
{
    pthread_mutex_lock(&xml_lock);
    if (ops)
        xml_ops = *ops;
    else
        memset(&xml_ops, 0, sizeof(xml_ops));
    pthread_mutex_unlock(&xml_lock);
}

static int unavailable(const char *service)
{
    return sb_error_set(SB_ERR_NO_SUPPORT, "host service '%s' is not available", service);
}

static int host_snapshot_view(sb_host *h, const char *xml, struct sb_snapshot_view **out)
{
    struct sb_host_xml_ops ops = xml_get();

    if (out)
        *out = NULL;
    return ops.snapshot_view ? ops.snapshot_view(h, xml, out) : unavailable("snapshot_view");
}

static void host_snapshot_view_free(struct sb_snapshot_view *v)
{
    struct sb_host_xml_ops ops = xml_get();

    if (v && ops.snapshot_view_free)
        ops.snapshot_view_free(v);
}

static int host_snapshot_format(sb_host *h, const struct sb_snapshot_view *v, char **out)
{
    struct sb_host_xml_ops ops = xml_get();

    if (out)
        *out = NULL;
    return ops.snapshot_format ? ops.snapshot_format(h, v, out) : unavailable("snapshot_format");
}

static int host_domain_view(sb_host *h, const char *xml, struct sb_domain_view **out)
{
    struct sb_host_xml_ops ops = xml_get();

    if (out)
        *out = NULL;
    return ops.domain_view ? ops.domain_view(h, xml, out) : unavailable("domain_view");
}

static void host_domain_view_free(struct sb_domain_view *v)
{
    struct sb_host_xml_ops ops = xml_get();

    if (v && ops.domain_view_free)
        ops.domain_view_free(v);
}

/* ---- tree services (per-connection hooks) ---------------------------- */

#define TREE_HOOK(h, member) ((h) && (h)->tree && (h)->tree->member)

static int host_tree_get_xml(sb_host *h, const char *domain, const char *name, char **out)
{
    if (out)
        *out = NULL;
    return TREE_HOOK(h, tree_get_xml) ? h->tree->tree_get_xml(h, domain, name, out)
                                      : unavailable("tree_get_xml");
}

static int host_tree_parent(sb_host *h, const char *domain, const char *name, char **out)
{
    if (out)
        *out = NULL;
    return TREE_HOOK(h, tree_parent) ? h->tree->tree_parent(h, domain, name, out)
                                     : unavailable("tree_parent");
}

static int host_tree_children(sb_host *h, const char *domain, const char *name, char ***out,
                              size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    return TREE_HOOK(h, tree_children) ? h->tree->tree_children(h, domain, name, out, n)
                                       : unavailable("tree_children");
}

static int host_tree_current(sb_host *h, const char *domain, char **out)
{
    if (out)
        *out = NULL;
    return TREE_HOOK(h, tree_current) ? h->tree->tree_current(h, domain, out)
                                      : unavailable("tree_current");
}

static int host_tree_list(sb_host *h, const char *domain, char ***out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    return TREE_HOOK(h, tree_list) ? h->tree->tree_list(h, domain, out, n)
                                   : unavailable("tree_list");
}

static int host_tree_update_xml(sb_host *h, const char *domain, const char *name,
                                const char *xml)
{
    return TREE_HOOK(h, tree_update_xml) ? h->tree->tree_update_xml(h, domain, name, xml)
                                         : unavailable("tree_update_xml");
}

static int host_tree_each(sb_host *h, const char *domain,
                          int (*fn)(void *arg, const char *name, const char *xml, size_t len),
                          void *arg)
{
    if (!fn)
        return sb_error_set(SB_ERR_INVALID_ARG, "tree_each: no function to call");
    return TREE_HOOK(h, tree_each) ? h->tree->tree_each(h, domain, fn, arg)
                                   : unavailable("tree_each");
}

static int host_tree_each_versioned(sb_host *h, const char *domain,
                                    int (*fn)(void *arg, const char *name, uint64_t version,
                                              const char *xml),
                                    void *arg)
{
    if (!fn)
        return sb_error_set(SB_ERR_INVALID_ARG, "tree_each_versioned: no function to call");
    return TREE_HOOK(h, tree_each_versioned) ? h->tree->tree_each_versioned(h, domain, fn, arg)
                                             : unavailable("tree_each_versioned");
}

/* No hook (a connection outside the broker's API, a unit test): nothing
 * is waiting to be made durable. */
static int host_intent_durable(sb_host *h)
{
    return TREE_HOOK(h, intent_durable) ? h->tree->intent_durable(h) : 0;
}

/* No hook: no create of the broker's is being dispatched. */
static int host_create_name_defaulted(sb_host *h)
{
    return TREE_HOOK(h, create_name_defaulted) ? h->tree->create_name_defaulted(h) : 0;
}

/* ---- the table -------------------------------------------------------- */

static const struct sb_host_api host_api = {
    .struct_size = sizeof(struct sb_host_api),
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .set_error = host_set_error,
    .log = host_log,
    .progress = host_progress,
    .alloc = host_alloc,
    .realloc = host_realloc,
    .strdup = host_strdup,
    .free = host_free,
    .config_string = host_config_string,
    .config_int = host_config_int,
    .config_bool = host_config_bool,
    .state_dir = host_state_dir,
    .snapshot_view = host_snapshot_view,
    .snapshot_view_free = host_snapshot_view_free,
    .snapshot_format = host_snapshot_format,
    .domain_view = host_domain_view,
    .domain_view_free = host_domain_view_free,
    .tree_get_xml = host_tree_get_xml,
    .tree_parent = host_tree_parent,
    .tree_children = host_tree_children,
    .tree_current = host_tree_current,
    .tree_list = host_tree_list,
    .tree_update_xml = host_tree_update_xml,
    .config_invalid = host_config_invalid,
    .tree_each = host_tree_each,
    .tree_each_versioned = host_tree_each_versioned,
    .intent_durable = host_intent_durable,
    .create_name_defaulted = host_create_name_defaulted,
};

const struct sb_host_api *sb_host_api_table(void)
{
    return &host_api;
}

/* ---- sb_host ----------------------------------------------------------- */

int sb_host_new(sb_host **out, const struct sb_host_params *params)
{
    sb_host *h = calloc(1, sizeof(*h));

    *out = NULL;
    if (!h)
        return sb_error_oom();
    h->plugin = strdup(params->plugin ? params->plugin : "?");
    h->host = strdup(params->host ? params->host : "?");
    h->state_dir = params->state_dir ? strdup(params->state_dir) : NULL;
    h->group = params->group;
    if (params->state_dir) {
        const char *root = params->state_root;
        char *copy = root ? NULL : strdup(params->state_dir);
        h->state_root = root ? strdup(root) : copy ? strdup(dirname(copy)) : NULL;
        free(copy);
    }
    if (!h->plugin || !h->host || (params->state_dir && (!h->state_dir || !h->state_root))) {
        sb_host_free(h);
        return sb_error_oom();
    }
    *out = h;
    return 0;
}

void sb_host_free(sb_host *h)
{
    if (!h)
        return;
    free(h->plugin);
    free(h->host);
    free(h->state_root);
    free(h->state_dir);
    free(h->state_created);
    free(h);
}

void sb_host_discard_state(sb_host *h)
{
    if (!h || !h->state_created)
        return;
    sb_safe_dir_rollback(h->state_dir, h->state_created);
    free(h->state_created);
    h->state_created = NULL;
    h->state_dir_ready = 0;
}

void sb_host_set_tree_ops(sb_host *h, const struct sb_host_tree_ops *ops)
{
    h->tree = ops;
}

void sb_host_set_ctx(sb_host *h, void *ctx)
{
    h->ctx = ctx;
}

void *sb_host_ctx(const sb_host *h)
{
    return h ? h->ctx : NULL;
}

void sb_host_set_progress_sink(sb_host *h, sb_progress_sink fn, void *data)
{
    h->progress = fn;
    h->progress_data = data;
}

const char *sb_host_plugin_name(const sb_host *h)
{
    return h ? h->plugin : NULL;
}

const char *sb_host_name(const sb_host *h)
{
    return h ? h->host : NULL;
}
