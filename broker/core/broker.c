/* sb_broker: configuration, plugin search path and loaded plugins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "plugin/log.h"
#include "sb_config.h"

int sb_broker_new(sb_broker **out, const char *config_path)
{
    sb_broker *b;
    int rc;

    if (!out)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_broker_new: out is NULL");
    *out = NULL;
    if (!(b = calloc(1, sizeof(*b))))
        return sb_error_oom();
    b->refs = 1;
    if ((rc = sb_config_load(&b->cfg, config_path)) < 0)
        goto fail;
    sb_log_set_level(b->cfg->log_level);
    if ((rc = sb_plugin_path_init(&b->path, b->cfg->plugin_dir)) < 0)
        goto fail;
    if ((rc = sb_registry_new(&b->registry)) < 0)
        goto fail;
    if (b->cfg->nhosts && !(b->hosts = calloc(b->cfg->nhosts, sizeof(*b->hosts)))) {
        rc = sb_error_oom();
        goto fail;
    }
    for (size_t i = 0; i < b->cfg->nhosts; i++) {
        const sb_config_host *h = &b->cfg->hosts[i];
        b->hosts[i] = (sb_host_info){ h->name, h->plugin, h->uri,
                                      b->cfg->default_host &&
                                          strcmp(b->cfg->default_host, h->name) == 0 };
    }
    sb_api_install_xml_ops();
    *out = b;
    return 0;
fail:
    sb_broker_free(b);
    return rc;
}

sb_broker *sb_broker__ref(sb_broker *b)
{
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    return b;
}

void sb_broker_free(sb_broker *b)
{
    if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    free(b->hosts);
    sb_registry_free(b->registry);
    sb_plugin_path_clear(&b->path);
    sb_config_free(b->cfg);
    free(b);
}

size_t sb_broker_warnings(const sb_broker *b, const char *const **out)
{
    *out = b->cfg->warnings;
    return b->cfg->nwarnings;
}

size_t sb_broker_hosts(const sb_broker *b, const sb_host_info **out)
{
    *out = b->hosts;
    return b->cfg->nhosts;
}

const char *sb_broker_state_dir(const sb_broker *b)
{
    return b->cfg->state_dir;
}

const char *sb_broker_plugin_dir(const sb_broker *b)
{
    static _Thread_local char buf[4096];
    char *s = sb_plugin_path_string(&b->path);
    snprintf(buf, sizeof(buf), "%s", s ? s : "");
    free(s);
    return buf;
}

void sb_broker_set_progress(sb_broker *b, void (*fn)(void *opaque, const char *what,
                                                     unsigned percent), void *opaque)
{
    b->progress = fn;
    b->progress_opaque = opaque;
}

struct drain_ctx {
    void (*fn)(void *opaque, const char *level, const char *origin, const char *message);
    void *opaque;
};

static void drain_one(void *data, int level, const char *origin, const char *message)
{
    struct drain_ctx *d = data;
    d->fn(d->opaque, sb_log_level_name(level), origin, message);
}

size_t sb_log_drain(void (*fn)(void *opaque, const char *level, const char *origin,
                               const char *message), void *opaque)
{
    struct drain_ctx d = { fn, opaque };
    return sb_log_ring_drain(drain_one, &d);
}

const char *sb_version(void)
{
    return SB_VERSION;
}

void sb_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
