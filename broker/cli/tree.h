/* snapbroker CLI - `snapshot-list --tree` drawing, byte for byte as virsh
 * 9.0 draws it. */
#ifndef SB_CLI_TREE_H
#define SB_CLI_TREE_H

#include <stddef.h>
#include <stdio.h>

/* Draw the snapshots names[0..n) whose parents are parents[i] (NULL for a
 * root).  Siblings appear in the order of names[], so the caller decides
 * between name order and topological order by ordering the array.
 *
 * root == NULL: every entry without a parent starts a tree.  Entries whose
 * parent is not among names[] are not drawn (virsh does the same when a
 * filter removed the parent).
 * root != NULL: only root is drawn at the top, with the entries whose
 * parent is root below it (root itself need not be in names[]).
 *
 * The output ends with one empty line, as virsh's does.
 * Returns 0, or -1 when memory ran out (nothing sensible was printed). */
int sb_tree_print(FILE *out, size_t n, const char *const *names,
                  const char *const *parents, const char *root);

#endif
