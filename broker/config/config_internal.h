/* Shared between config.c (loading) and config_group.c (lookups). */
#ifndef SB_CONFIG_INTERNAL_H
#define SB_CONFIG_INTERNAL_H

#include <stdio.h>
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

/* Largest configuration (or included) file read: a datacenter's host list
 * fits many times over; a file beyond it is a mistake (docs/config.md). */
#define SB_CONFIG_MAX_SIZE (4 * 1024 * 1024)

/* Open the configuration file for libconfig after checking it and every
 * file its @include lines name (resolved in include_dir, as libconfig 1.5
 * does): regular, readable, at most SB_CONFIG_MAX_SIZE bytes.  libconfig's
 * scanner exits the process on a directory and blocks on a FIFO.  Returns
 * 0 with *out (fclose it) or -SB_ERR_CONFIG naming the file
 * (config_file.c). */
int sb_config_open_file(const char *path, const char *include_dir, FILE **out);

/* "string", "integer", "group", ... */
const char *sb_config_type_name(int type);

#endif
