/* Plugin loading: dlopen, entry, validation, and the registry of loaded
 * plugins (unique names).
 *
 * Load sequence (docs/plugin-abi.md has the vendor's view):
 *   1. dlopen(RTLD_NOW | RTLD_LOCAL): unresolved symbols fail here, not in
 *      the middle of an operation, and plugins cannot see each other;
 *   2. dlsym(SB_PLUGIN_ENTRY_SYMBOL);
 *   3. entry(&table, host services, broker ABI) - the plugin may refuse;
 *   4. validation and copy into a sb_loaded_plugin (validate.h);
 *   5. the name must not be loaded yet.
 * A refusal before step 3 dlclose()s the file.  From step 3 on the file is
 * never unloaded, even when refused: the entry may have registered
 * destructors, started threads or handed out pointers (libvirt loads its
 * modules RTLD_NODELETE for the same reason).
 *
 * Thread safety: a registry serializes its own loads and lookups; records
 * are never freed before the registry, so a returned record stays valid.
 */
#ifndef SB_PLUGIN_LOADER_H
#define SB_PLUGIN_LOADER_H

#include <stddef.h>

#include "plugin/path.h"
#include "plugin/record.h"

typedef struct sb_plugin_registry sb_plugin_registry;

int sb_registry_new(sb_plugin_registry **out);
/* Frees the records (never dlclose()s; see above).  Accepts NULL. */
void sb_registry_free(sb_plugin_registry *r);

/* Load the plugin file at path.  Loading a file that is already loaded
 * (same dlopen handle) returns the existing record without running the
 * entry again.  Refusals: SB_ERR_PLUGIN_LOAD (file, symbol, entry, duplicate
 * name) or SB_ERR_PLUGIN_ABI (table), message "plugin file 'PATH': REASON". */
int sb_registry_load_file(const sb_loaded_plugin **out, sb_plugin_registry *r, const char *path);

/* The loaded plugin called name, else find <dir>/<name>.so on the search
 * path and load it.  An unknown name is SB_ERR_PLUGIN_LOAD naming the
 * directories searched; so is a file whose plugin declares another name,
 * which is then not registered (under neither name). */
int sb_registry_load_name(const sb_loaded_plugin **out, sb_plugin_registry *r,
                          const sb_plugin_path *path, const char *name);

/* A loaded plugin by name; NULL if none (no error set). */
const sb_loaded_plugin *sb_registry_find(sb_plugin_registry *r, const char *name);

/* Loaded plugins in load order. */
size_t sb_registry_count(sb_plugin_registry *r);
const sb_loaded_plugin *sb_registry_get(sb_plugin_registry *r, size_t i);

#endif
