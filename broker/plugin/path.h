/* Where plugins are looked for.
 *
 * The search path is a list of directories; a plugin called NAME is the
 * file <dir>/NAME.so in the first directory that has one (like $PATH).
 *
 * Resolution (docs/config.md):
 *   1. explicit: SNAPBROKER_PLUGIN_DIR, else the config's plugin_dir (the
 *      config module resolves that order); a ':'-separated list;
 *   2. the build tree, when the running binary lives inside SB_BUILD_ROOT:
 *      every directory SB_BUILD_ROOT/plugins/<x>/ (one per in-tree plugin,
 *      where meson puts <x>.so) and SB_BUILD_ROOT/tests/plugins/reference/
 *      (the "ref" test fixture).  The broken fixtures live in
 *      tests/plugins/broken/, deliberately outside this list;
 *   3. otherwise the installed SB_INSTALL_PLUGIN_DIR.
 */
#ifndef SB_PLUGIN_PATH_H
#define SB_PLUGIN_PATH_H

#include <stddef.h>

typedef struct sb_plugin_path {
    char **dirs;
    size_t n;
} sb_plugin_path;

/* explicit_dirs: ':'-separated directories, or NULL / "" for automatic
 * (build tree beside the running binary, else installed). */
int sb_plugin_path_init(sb_plugin_path *out, const char *explicit_dirs);

/* The automatic rule with its inputs spelled out (for tests): build-tree
 * directories when exe is inside build_root, else install_dir. */
int sb_plugin_path_init_auto(sb_plugin_path *out, const char *exe, const char *build_root,
                             const char *install_dir);

void sb_plugin_path_clear(sb_plugin_path *p);

/* The directories joined with ':' (for plugin-info, messages).  Caller
 * frees; NULL on out of memory. */
char *sb_plugin_path_string(const sb_plugin_path *p);

/* <dir>/<name>.so of the first directory that has it.  name must be a
 * valid plugin name (so it cannot climb out of the directory).  Not found:
 * SB_ERR_PLUGIN_LOAD "no plugin 'NAME' (looked for NAME.so in DIRS)". */
int sb_plugin_path_find(char **out_file, const sb_plugin_path *p, const char *name);

/* Every *.so file on the path, directory order then file-name order; a file
 * name already seen in an earlier directory is skipped (shadowed). */
int sb_plugin_path_list(char ***out_files, size_t *out_n, const sb_plugin_path *p);

/* Free a list from sb_plugin_path_list (accepts NULL). */
void sb_plugin_path_list_free(char **files, size_t n);

#endif
