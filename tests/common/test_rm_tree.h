/* Removing a test's scratch directory and everything a test or a program it
 * ran left in it (a state directory the CLI filled, say), without a shell.
 * A directory that cannot be removed fails the test (cmocka), so a leak
 * into /tmp is caught where it starts. */
#ifndef SB_TESTS_COMMON_TEST_RM_TREE_H
#define SB_TESTS_COMMON_TEST_RM_TREE_H

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static inline int test_rm_entry(const char *path, const struct stat *st, int flag,
                                struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove dir and all below it; a dir already gone is fine. */
static inline void rm_rf(const char *dir)
{
    if (nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        fail_msg("cannot remove '%s': %s", dir, strerror(errno));
}

#endif
