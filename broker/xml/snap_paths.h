/* Path rewrites of an import (--map-path OLD=NEW, snap_paths.c). */
#ifndef SB_XML_SNAP_PATHS_H
#define SB_XML_SNAP_PATHS_H

#include <stddef.h>

#include "snapbroker/snapbroker.h"
#include "xml/snapdef.h"

/* INVALID_ARG when a rule lacks a side or a side is not absolute. */
int sb_path_maps_check(const sb_path_map *maps, size_t n);

/* path moved by the longest rule whose from is path or a parent
 * directory of it: 1 and *out (malloc'd), 0 when no rule applies (also
 * for NULL and relative paths), or a negative class. */
int sb_path_map_apply(const sb_path_map *maps, size_t n, const char *path, char **out);

/* Every local path of def (memory file, <disks>, <revertDisks>, disk
 * sources and backing chains of <domain> and <inactiveDomain>). */
int sb_snapdef_map_paths(sb_snapdef *def, const sb_path_map *maps, size_t n);

#endif
