/* Shared between config.c (loading) and config_group.c (lookups). */
#ifndef SB_CONFIG_INTERNAL_H
#define SB_CONFIG_INTERNAL_H

#include <libconfig.h>

#include "config/config.h"

struct sb_config_group {
    config_setting_t *setting; /* inside the sb_config's config_t */
    const char *file;          /* for messages */
    const char *host;
    const char *plugin;
};

/* FILE of a setting: its own source file (differs under @include), else
 * the fallback name. */
const char *sb_config_setting_file(const config_setting_t *s, const char *fallback);

/* "string", "integer", "group", ... */
const char *sb_config_type_name(int type);

#endif
