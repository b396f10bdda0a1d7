/* File helpers shared by the test fixture plugins (ref, refhv): a plugin's
 * whole state is one small file, read whole and rewritten atomically,
 * because the CLI is one process per command.  Compiled into each fixture
 * (plugins link nothing of the broker). */
#ifndef SB_FIXTURE_FILE_H
#define SB_FIXTURE_FILE_H

#include <stddef.h>

#include "snapbroker/plugin.h"

/* Read path whole into *out (NUL-terminated, from host->alloc; free with
 * host->free).  Returns 0, 1 when the file does not exist, or -1 with
 * errno set (EIO for a file that shrank while read, ENOMEM). */
int fx_read_file(const struct sb_host_api *host, const char *path, char **out, size_t *len);

/* Replace path with data: a temp file beside it, fsync, rename, fsync of
 * the directory, so a crash leaves the old or the new content.  Returns 0
 * or -1 with errno set; the temp file never stays behind. */
int fx_write_file(const struct sb_host_api *host, const char *path, const char *data,
                  size_t len);

/* dir + "/" + file from host->alloc; NULL when out of memory. */
char *fx_path_join(const struct sb_host_api *host, const char *dir, const char *file);

/* Open (creating) path and flock it shared or exclusive, retrying on EINTR.
 * Returns the descriptor (close it to unlock) or -1 with errno set. */
int fx_lock_file(const char *path, int exclusive);

#endif
