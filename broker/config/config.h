/* The broker's configuration (libconfig 1.5 file, environment, defaults).
 *
 * Sources, first match wins (docs/config.md has the user's view):
 *   file:        the explicit path, else $SNAPBROKER_CONFIG, else
 *                SB_INSTALL_SYSCONFDIR/snapbroker/snapbroker.conf when it
 *                exists, else the embedded default (one host "local",
 *                plugin "qemu", uri "qemu:///session");
 *   state_dir:   $SNAPBROKER_STATE_DIR, the file's state_dir, else
 *                /var/lib/snapbroker for root, $XDG_STATE_HOME/snapbroker or
 *                ~/.local/state/snapbroker for others;
 *   plugin_dir:  $SNAPBROKER_PLUGIN_DIR, the file's plugin_dir, else NULL
 *                (automatic: plugin/path.h).
 * Relative state_dir / plugin_dir in a file are relative to the file's
 * directory.
 *
 * Errors (SB_ERR_CONFIG) name FILE:LINE; unknown keys are collected as
 * warnings (never printed here).  The libconfig tree stays alive as long as
 * the sb_config, so the plugin groups handed to plugins are borrowed views
 * into it, valid until sb_config_free().
 */
#ifndef SB_CONFIG_CONFIG_H
#define SB_CONFIG_CONFIG_H

#include <stddef.h>

/* A read-only view of one host's plugin group (e.g. `qemu = { ... }`). */
typedef struct sb_config_group sb_config_group;

typedef struct sb_config_host {
    const char *name;   /* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
    const char *plugin; /* a valid plugin name */
    const char *uri;
    const sb_config_group *group; /* the group named after the plugin; NULL if none */
    int line;                     /* where the host's group starts (0: embedded) */
} sb_config_host;

typedef struct sb_config {
    const char *path;         /* file read, or "<embedded default>" */
    int from_file;            /* 0 for the embedded default */
    const char *state_dir;    /* resolved, never NULL */
    const char *plugin_dir;   /* ':'-separated list, or NULL = automatic */
    int log_level;            /* enum sb_log_level; default SB_LOG_WARN */
    const char *default_host; /* NULL only when there are no hosts */
    const sb_config_host *hosts;
    size_t nhosts;
    const char *const *warnings; /* "FILE:LINE: ..." */
    size_t nwarnings;
} sb_config;

/* Load and validate.  path NULL: see the file order above; "" is refused
 * (INVALID_ARG).  On error *out is NULL and the thread error
 * (SB_ERR_CONFIG, INVALID_ARG or NO_MEMORY) says why. */
int sb_config_load(sb_config **out, const char *path);

/* Same rules on text held in memory; name is used in messages as the file
 * name and as the base of relative paths ("." when NULL). */
int sb_config_load_string(sb_config **out, const char *text, const char *name);

void sb_config_free(sb_config *c); /* accepts NULL */

/* A host by name; NULL when there is none (no error set). */
const sb_config_host *sb_config_find_host(const sb_config *c, const char *name);

/* The default state directory for this user, without the environment or a
 * file (see above).  Caller frees; NULL with the error set on failure. */
char *sb_config_default_state_dir(void);

/* Plugin-group lookups, the implementation of the host services
 * config_string/int/bool.  key may be a dotted path into subgroups
 * ("monitor.timeout").  Return 1 found, 0 absent (also when g is NULL),
 * -SB_ERR_CONFIG for a wrong type, with "FILE:LINE: ..." naming the key,
 * the host and what type was expected.  Strings are borrowed from the
 * sb_config.  config_int takes int and int64 settings; config_bool takes
 * only booleans (true/false), not integers. */
int sb_config_group_string(const sb_config_group *g, const char *key, const char **out);
int sb_config_group_int(const sb_config_group *g, const char *key, long long *out);
int sb_config_group_bool(const sb_config_group *g, const char *key, int *out);
/* A value of the right type that the plugin refuses: CONFIG error
 * "FILE:LINE: 'KEY' in the PLUGIN group of host 'HOST': MSG". */
int sb_config_group_invalid(const sb_config_group *g, const char *key, const char *msg);

#endif
