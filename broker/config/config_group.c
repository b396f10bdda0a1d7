/* Read-only lookups in a host's plugin group (host services config_*). */
#include "config/config_internal.h"

#include "core/error.h"

const char *sb_config_setting_file(const config_setting_t *s, const char *fallback)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    return f ? f : fallback;
}

const char *sb_config_type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "group";
    case CONFIG_TYPE_INT: return "integer";
    case CONFIG_TYPE_INT64: return "64-bit integer";
    case CONFIG_TYPE_FLOAT: return "float";
    case CONFIG_TYPE_STRING: return "string";
    case CONFIG_TYPE_BOOL: return "boolean";
    case CONFIG_TYPE_ARRAY: return "array";
    case CONFIG_TYPE_LIST: return "list";
    default: return "unknown";
    }
}

/* The setting for key, NULL when absent (g NULL = no group at all). */
static config_setting_t *lookup(const sb_config_group *g, const char *key)
{
    if (!g || !g->setting || !key || !*key)
        return NULL;
    return config_setting_lookup(g->setting, key);
}

static int wrong_type(const sb_config_group *g, const config_setting_t *s, const char *key,
                      const char *expected)
{
    return sb_error_set(SB_ERR_CONFIG, "%s:%d: '%s' in the %s group of host '%s' must be %s, not %s",
                        sb_config_setting_file(s, g->file), config_setting_source_line(s), key,
                        g->plugin, g->host, expected,
                        sb_config_type_name(config_setting_type(s)));
}

int sb_config_group_string(const sb_config_group *g, const char *key, const char **out)
{
    config_setting_t *s = lookup(g, key);

    *out = NULL;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return wrong_type(g, s, key, "a string");
    *out = config_setting_get_string(s);
    return 1;
}

int sb_config_group_int(const sb_config_group *g, const char *key, long long *out)
{
    config_setting_t *s = lookup(g, key);

    *out = 0;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return wrong_type(g, s, key, "an integer");
    *out = config_setting_get_int64(s);
    return 1;
}

int sb_config_group_bool(const sb_config_group *g, const char *key, int *out)
{
    config_setting_t *s = lookup(g, key);

    *out = 0;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return wrong_type(g, s, key, "a boolean (true or false)");
    *out = config_setting_get_bool(s) ? 1 : 0;
    return 1;
}

int sb_config_group_invalid(const sb_config_group *g, const char *key, const char *msg)
{
    config_setting_t *s = lookup(g, key);

    if (!s)
        return sb_error_set(SB_ERR_CONFIG, "'%s' in the %s group of host '%s': %s", key,
                            g ? g->plugin : "plugin", g ? g->host : "?", msg);
    return sb_error_set(SB_ERR_CONFIG, "%s:%d: '%s' in the %s group of host '%s': %s",
                        sb_config_setting_file(s, g->file), config_setting_source_line(s), key,
                        g->plugin, g->host, msg);
}
