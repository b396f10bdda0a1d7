/* qemu plugin - canonical paths of images, remembered for one locked call.
 *
 * A snapshot operation compares image paths many times over (the
 * definition's disks, QEMU's chains, qcow2 backing names, the snapshot's
 * XML, the plugin's list of its files), and each comparison resolved its
 * paths again: an active commit called realpath() on the same two images
 * about thirty times (194 readlinks).  Between qp_lock_domain() and
 * qp_unlock() the answers are kept per thread, keyed by the path as given.
 *
 * Why a kept answer stays right for the length of the call: the domain
 * lock keeps every other snapshot operation on the domain out; the plugin
 * itself only creates regular files (O_EXCL|O_NOFOLLOW) and removes them
 * through qp_ours_unlink, which forgets everything kept; QEMU and qemu-img
 * write into images but never replace a path with a symlink.  Only an
 * answer for an existing file is kept: a missing one is resolved through
 * its directory each time, since it may be created during the call.  A
 * user who swaps symlinks under a running operation races it either way;
 * nothing is kept from one call to the next. */
#include "qp.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CANON_KEEP 32

static __thread struct canon_entry {
    char *given, *canonical;
} kept[CANON_KEEP];
static __thread size_t nkept;

void qp_canon_forget(void)
{
    for (size_t i = 0; i < nkept; i++) {
        free(kept[i].given);
        free(kept[i].canonical);
    }
    nkept = 0;
}

static void keep(const char *given, const char *canonical)
{
    if (!qp_in_locked_call() || nkept == CANON_KEEP)
        return;
    char *g = qp_strdup(given), *c = qp_strdup(canonical);
    if (!g || !c) {
        free(g);
        free(c);
        return;
    }
    kept[nkept].given = g;
    kept[nkept].canonical = c;
    nkept++;
}

char *qp_realpath_or_copy(const char *path)
{
    char buf[PATH_MAX];
    if (!path)
        return NULL;
    for (size_t i = 0; i < nkept; i++) /* empty outside a locked call */
        if (!strcmp(kept[i].given, path))
            return qp_strdup(kept[i].canonical);
    if (realpath(path, buf)) {
        keep(path, buf);
        return qp_strdup(buf);
    }
    /* missing file: resolve its directory */
    char *copy = qp_strdup(path), *copy2 = qp_strdup(path);
    char *res = NULL;
    if (copy && copy2 && realpath(dirname(copy), buf))
        res = qp_printf("%s/%s", strcmp(buf, "/") ? buf : "", basename(copy2));
    free(copy);
    free(copy2);
    return res ? res : qp_strdup(path);
}

int qp_strv_add_canon(qp_strv *v, const char *path)
{
    if (!path)
        return 0;
    char *c = qp_realpath_or_copy(path);
    int r = !c ? -SB_ERR_NO_MEMORY : qp_strv_has(v, c) ? 0 : qp_strv_add(v, c);
    free(c);
    return r;
}
