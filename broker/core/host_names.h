/* Which name a host's metadata lives under (docs/config.md, "Where a
 * host's metadata lives"): STATE/hosts/<name>/, where <name> is the
 * configured host's name, or for a URI no configured host has, a name
 * derived from the URI. */
#ifndef SB_CORE_HOST_NAMES_H
#define SB_CORE_HOST_NAMES_H

#include "config/config.h"

/* The storable name of an unconfigured URI: every run of characters
 * outside [A-Za-z0-9.-] becomes one '_', none at either end
 * ("ref:///default" -> "ref_default").  Malloc'ed; NULL when out of
 * memory. */
char *sb_host_name_from_uri(const char *uri);

/* Connecting to configured host h: log a warning for every other name
 * the same URI's metadata exists under in state_dir (the URI's derived
 * name, another configured host with the same URI), so metadata that
 * "moved" when a URI was added to the configuration, or is split between
 * two names, is not silently an empty tree. */
void sb_host_names_warn(const sb_config *cfg, const sb_config_host *h);

#endif
