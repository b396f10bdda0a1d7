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

/* The lifecycle of a fixture domain: for a domain verb ("domain_start",
 * "domain_destroy", "domain_shutdown", "domain_suspend", "domain_resume")
 * and its flags, the states it may start from, the state it leads to and
 * what to say when the domain is in another state.  Returns the flag bits
 * the verb does not accept (0 when all are fine). */
struct fx_transition {
    unsigned from_mask; /* 1 << enum sb_domain_state */
    int to;
    const char *refusal; /* "is not running", ... */
};
unsigned fx_domain_transition(const char *verb, unsigned flags, struct fx_transition *out);

/* Open's shared part: the fixture's state file and its lock file under
 * host->state_dir(), named base and base.lock (host->alloc'd).  Returns 0
 * or the error class already reported through host->set_error. */
int fx_state_files(const struct sb_host_api *host, sb_host *h, const char *base, char **file,
                   char **lock_file);

#endif
