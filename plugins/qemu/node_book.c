/* qemu plugin - the node book: the names the plugin gave to block nodes in
 * the domain's running QEMU, and the image each was opened on.
 *
 * A commit names nodes (top-node, base-node), and QEMU's query-block gives
 * the node name of a disk's top only; the nodes below it were found in
 * query-named-block-nodes, a second graph query whose answer (every node,
 * with its image's details) QEMU builds in its main loop between the
 * guest's work, and which costs a running guest's external delete about
 * as much as the rest of the monitor talk.  The plugin makes every node a
 * chain of its own has: the start's format node d-<target> on the
 * definition's image, and each snapshot's overlay node (its
 * snapshot-node-name) on the overlay.  Written down when made, they need
 * not be asked for.
 *
 * Why a name from the book is the node on that image: QEMU never renames
 * a node nor changes the image a format node reads, and a name is given
 * once per QEMU process (d-<target> at the start only; an overlay's name
 * holds the time and a counter).  The book belongs to one QEMU process:
 * its first line holds QEMU's pid and start time (/proc/<pid>/stat), so a
 * book left by another one (an older plugin that started QEMU and did not
 * remove it) is not read.  What the book cannot say (no book, another
 * process's, an image whose node it does not list) is asked of QEMU as
 * before, so a lost or partial book costs a query, never a wrong answer;
 * nothing in it needs to survive a crash, and it is never synced.
 *
 * STATE/run/<domain>/nodes:
 *   qemu <pid> <start ticks>
 *   <node-name> <canonical image path>     (one line per node made)
 * The last line naming an image wins (an overlay file made again after
 * its node went away in a commit). */
#include "qp.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *book_path(qp_ctx *ctx, const char *domain)
{
    return qp_printf("%s/run/%s/nodes", ctx->state_dir, domain);
}

/* One entry as a line, or NULL (out of memory, or a path that a line
 * cannot hold: such an image is simply not in the book). */
static char *entry_line(const char *node, const char *path)
{
    if (strchr(node, ' ') || strchr(node, '\n') || strchr(path, '\n'))
        return NULL;
    return qp_printf("%s %s\n", node, path);
}

/* One line to the book (a line that cannot be made is left out: that
 * image is not in the book); 0 or -errno. */
static int put_line(int fd, const char *node, const char *path)
{
    char *canon = qp_realpath_or_copy(path);
    char *line = canon ? entry_line(node, canon) : NULL;
    int r = line ? qp_write_all(fd, line, strlen(line)) : 0;
    free(line);
    free(canon);
    return r;
}

void qp_book_start(qp_ctx *ctx, const qp_domain *d, pid_t qpid)
{
    unsigned long long ticks = qp_proc_start_ticks(qpid);
    char *path = book_path(ctx, d->name);
    char *head = qp_printf("qemu %ld %llu\n", (long)qpid, ticks);
    int fd = path && head && ticks
                 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    int r = fd >= 0 ? qp_write_all(fd, head, strlen(head)) : -1;
    for (size_t i = 0; i < d->ndisks && r == 0; i++) {
        if (!d->disks[i].source)
            continue;
        char *node = qp_printf("d-%s", d->disks[i].target);
        r = node ? put_line(fd, node, d->disks[i].source) : -1;
        free(node);
    }
    if (fd >= 0)
        close(fd);
    if (r < 0 && path)
        unlink(path); /* a book that could not be written whole is none */
    free(head);
    free(path); /* no book only costs a query later */
}

void qp_book_add(qp_ctx *ctx, const char *domain, const char *node, const char *path)
{
    /* only to a book the start wrote (O_APPEND, no O_CREAT): one write of
     * one line, so a reader sees it whole or not at all */
    char *file = book_path(ctx, domain);
    int fd = file ? open(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd >= 0) {
        if (put_line(fd, node, path) < 0)
            unlink(file); /* a torn line must not be read: no book */
        close(fd);
    }
    free(file);
}

int qp_book_exists(qp_ctx *ctx, const char *domain)
{
    char *file = book_path(ctx, domain);
    int r = file && access(file, F_OK) == 0;
    free(file);
    return r;
}

void qp_book_remove(qp_ctx *ctx, const char *domain)
{
    char *file = book_path(ctx, domain);
    if (file)
        unlink(file);
    free(file);
}

/* The book's text when it is QEMU pid's (NUL-terminated), else NULL. */
static char *read_book(qp_ctx *ctx, const char *domain, pid_t pid)
{
    char *file = book_path(ctx, domain), *buf = NULL;
    qp_ctx quiet = *ctx; /* no book is no error */
    quiet.api = NULL;
    int r = file ? qp_read_file(&quiet, file, &buf, NULL) : -1;
    free(file);
    long bpid = 0;
    unsigned long long bticks = 0;
    if (r < 0 || sscanf(buf, "qemu %ld %llu\n", &bpid, &bticks) != 2 || bpid != (long)pid ||
        !bticks || bticks != qp_proc_start_ticks(pid)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The node the book gives for image path (canonical), copied to out; 0
 * when it has none. */
static int book_node(const char *book, const char *path, char *out, size_t outlen)
{
    int found = 0;
    size_t plen = strlen(path);
    const char *line = strchr(book, '\n'); /* past the header */
    while (line && *++line) {
        const char *end = strchr(line, '\n');
        if (!end)
            break; /* an unfinished last line */
        const char *sp = memchr(line, ' ', (size_t)(end - line));
        if (sp && (size_t)(end - sp - 1) == plen && !memcmp(sp + 1, path, plen) &&
            (size_t)(sp - line) < outlen) {
            memcpy(out, line, (size_t)(sp - line));
            out[sp - line] = '\0';
            found = 1; /* a later line wins */
        }
        line = end;
    }
    return found;
}

int qp_book_chain_nodes(qp_ctx *ctx, const char *domain, pid_t pid, const char *top,
                        const qp_strv *files, qp_strv *nodes)
{
    if (!files->n)
        return 0;
    char *book = read_book(ctx, domain, pid);
    if (!book)
        return 0;
    qp_strv got = {0};
    int all = qp_strv_add(&got, top) == 0;
    char node[128];
    for (size_t i = 1; i < files->n && all; i++)
        all = book_node(book, files->v[i], node, sizeof node) && qp_strv_add(&got, node) == 0;
    free(book);
    if (all) {
        *nodes = got;
        return 1;
    }
    qp_strv_free(&got);
    return 0;
}
