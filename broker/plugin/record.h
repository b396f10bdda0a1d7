/* The broker's own copy of a loaded plugin's tables.
 *
 * The loader never keeps pointing at a table it did not validate: the
 * entry's table and caps are copied (zero-extended, since-minor gated) into
 * this record, and every later use (dispatch, plugin-info) reads the copy.
 */
#ifndef SB_PLUGIN_RECORD_H
#define SB_PLUGIN_RECORD_H

#include <stdint.h>

#include "snapbroker/plugin.h"

typedef struct sb_loaded_plugin {
    char *path;        /* the file it was loaded from */
    char *name;        /* copies of the table's strings ("" when NULL) */
    char *version;
    char *description;
    uint32_t table_size; /* struct_size as the plugin declared them */
    uint32_t caps_size;
    uint16_t abi_minor;  /* the plugin's minor (gates "since 1.N" members) */
    /* Full-size copies.  ops.name/version/description point at the copies
     * above and ops.caps at caps; callbacks the plugin's minor predates are
     * NULL. */
    struct sb_plugin ops;
    struct sb_plugin_caps caps;
    void *dl;            /* dlopen handle; never closed once entry ran */
} sb_loaded_plugin;

#endif
