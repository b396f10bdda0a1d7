/* Which files and directories the broker trusts, and how it creates its
 * state directories (docs/store.md, "Ownership and permissions").
 *
 * The broker often runs as root: a plugin it loads runs as root, and what
 * it writes under the state directory holds the hosts' snapshot metadata.
 * The rule is sshd's and sudo's: a plugin file, the state directory and
 * every directory above either must be owned by root or by the user the
 * broker runs as, and writable by nobody else (a directory with the sticky
 * bit, such as /tmp, may be world-writable above the checked path: others
 * can add entries to it but not replace ours).  Below the state directory
 * the broker creates everything itself, mode 0700, and never follows a
 * symbolic link there. */
#ifndef SB_STORE_SAFE_PATH_H
#define SB_STORE_SAFE_PATH_H

#include <stdbool.h>

/* Check path (a file or a directory) and every directory above it, after
 * resolving symbolic links; what names it in the message ("plugin file",
 * "state directory").  Returns 0 and the resolved path in *out_real
 * (free(); may be NULL), or -code with a message saying which path is
 * owned or writable by whom. */
int sb_safe_path_check(const char *path, int code, const char *what, char **out_real);

/* The directory root/rel: root (the state directory) is created with its
 * missing parents (mode 0700) when create, then checked with
 * sb_safe_path_check; each component of rel is created (0700) or opened
 * without following symbolic links and must be a directory owned by root
 * or the running user and writable by nobody else.  New entries are made
 * durable (parent fsync'd).  Returns 0; 1 when !create and the directory
 * does not exist; or a negative class (CONFIG for an untrusted root, STORE
 * for a bad component, SYSTEM_ERROR with errno).  When created is not
 * NULL, *created is the topmost directory this call created (free()), or
 * NULL if it created none: sb_safe_dir_rollback undoes the call. */
int sb_safe_dir(const char *root, const char *rel, bool create, char **created);

/* Remove path and its parents up to and including created_top, deepest
 * first, each only if empty (stops at the first that is not).  For a
 * refused connection: it leaves nothing behind. */
void sb_safe_dir_rollback(const char *path, const char *created_top);

#endif
