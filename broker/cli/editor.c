/* snapbroker CLI - hand a document to the user's editor (cli.h,
 * cli_edit_text), as virsh's *-edit commands do. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Characters a temporary file name may hold: it is pasted into a shell
 * command line after the editor (virsh accepts the same set). */
static const char safe_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@/";

static int write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* $VISUAL, else $EDITOR, else vi, run as `sh -c 'EDITOR FILE'`: EDITOR
 * may carry its own options ("emacs -nw"), as for every Unix tool. */
static int run_editor(const char *path)
{
    const char *editor = getenv("VISUAL");
    char *cmd = NULL;
    int ret = 0;
    int status;
    pid_t pid;

    if (!editor || !*editor)
        editor = getenv("EDITOR");
    if (!editor || !*editor)
        editor = "vi";
    if (asprintf(&cmd, "%s %s", editor, path) < 0)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        free(cmd);
        return cli_error(SB_ERR_SYSTEM_ERROR, "cannot start the editor: %s", strerror(errno));
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int err = errno;
            free(cmd);
            return cli_error(SB_ERR_SYSTEM_ERROR, "waiting for the editor: %s", strerror(err));
        }
    }
    /* the message names the editor, not the (removed) temporary file */
    if (WIFSIGNALED(status))
        ret = cli_error(SB_ERR_OPERATION_FAILED, "editor '%s' was killed by signal %d; "
                        "nothing was changed", editor, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        ret = cli_error(SB_ERR_OPERATION_FAILED, "editor '%s' failed with exit status %d; "
                        "nothing was changed", editor, WEXITSTATUS(status));
    free(cmd);
    return ret;
}

int cli_edit_text(char **edited, const char *text)
{
    const char *dir = getenv("TMPDIR");
    char *path = NULL;
    int fd, ret = -1;

    *edited = NULL;
    if (!dir || !*dir)
        dir = "/tmp";
    if (asprintf(&path, "%s/snapbrokerXXXXXX.xml", dir) < 0)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    if (strspn(path, safe_chars) != strlen(path)) {
        cli_error(SB_ERR_INVALID_ARG, "temporary file name '%s' holds characters a shell would "
                  "interpret (is $TMPDIR right?)", path);
        free(path);
        return -1;
    }
    if ((fd = mkstemps(path, 4)) < 0) {
        cli_error(SB_ERR_SYSTEM_ERROR, "cannot create a temporary file in '%s': %s", dir,
                  strerror(errno));
        free(path);
        return -1;
    }
    int wr = write_all(fd, text, strlen(text));
    int err = errno;
    if (close(fd) < 0 && wr == 0) {
        wr = -1;
        err = errno;
    }
    if (wr < 0) {
        cli_error(SB_ERR_SYSTEM_ERROR, "cannot write '%s': %s", path, strerror(err));
        goto out;
    }
    if (run_editor(path) == 0 && cli_read_file(edited, path) == 0)
        ret = 0;
out:
    unlink(path);
    free(path);
    return ret;
}
