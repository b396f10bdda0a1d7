/* snapbroker CLI - progress of long operations on stderr.
 *
 *   auto (default)  on a terminal, one line redrawn in place
 *                   ("block-commit:  42%", \r and erase-to-end), erased when
 *                   the operation ends; nothing when stderr is a file or a
 *                   pipe, so scripts and logs see only the one-line error
 *   line            that line whatever stderr is (--progress)
 *   json            one JSON object per line, for scripts, whatever stderr
 *                   is: {"progress":{"operation":"block-commit","percent":42}}
 *   none            nothing
 *
 * The plugin reports as often as it polls (QEMU's job every few ms): only
 * a change of operation or percent is drawn, so 100% is never repeated.
 * While the line may be drawn, stdout goes through a stream that erases
 * it before the command's own output ("Domain snapshot s1 deleted")
 * reaches the terminal. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

static int mode = CLI_PROGRESS_AUTO;
static int line_open;          /* a line is drawn and not erased yet */
static char last_what[128];
static int last_percent = -1;

int cli_progress_mode(const char *value)
{
    if (!value || strcmp(value, "line") == 0)
        mode = CLI_PROGRESS_LINE;
    else if (strcmp(value, "json") == 0)
        mode = CLI_PROGRESS_JSON;
    else if (strcmp(value, "none") == 0)
        mode = CLI_PROGRESS_NONE;
    else if (strcmp(value, "auto") == 0)
        mode = CLI_PROGRESS_AUTO;
    else
        return cli_error(SB_ERR_INVALID_ARG,
                         "invalid --progress '%s' (auto, line, json or none)", value);
    return 0;
}

#ifdef SB_CLI_HAVE_PROGRESS
static ssize_t stdout_write(void *cookie, const char *buf, size_t size)
{
    size_t off = 0;

    (void)cookie;
    cli_progress_end();
    while (off < size) {
        ssize_t w = write(STDOUT_FILENO, buf + off, size - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return off ? (ssize_t)off : -1;
        off += (size_t)w;
    }
    return (ssize_t)size;
}

/* stdout through stdout_write, buffered as stdout was (line on a
 * terminal); stdout stays as it is if the stream cannot be made. */
static void erase_before_output(void)
{
    cookie_io_functions_t io = { .write = stdout_write };
    FILE *f;

    fflush(stdout);
    if (!(f = fopencookie(NULL, "w", io)))
        return;
    setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
    stdout = f;
}

static void show(void *opaque, const char *what, unsigned percent)
{
    (void)opaque;
    if (percent > 100)
        percent = 100;
    if ((int)percent == last_percent && strcmp(what, last_what) == 0)
        return;
    last_percent = (int)percent;
    snprintf(last_what, sizeof(last_what), "%s", what);
    if (mode == CLI_PROGRESS_JSON) {
        json_object *o = json_object_new_object(), *p = json_object_new_object();
        json_object_object_add(p, "operation", json_object_new_string(what));
        json_object_object_add(p, "percent", json_object_new_int((int)percent));
        json_object_object_add(o, "progress", p);
        fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        char safe[256];
        /* a plugin's text: one line whatever it holds */
        fprintf(stderr, "\r%s: %3u%%\033[K", sb_escape_controls(safe, sizeof(safe), what),
                percent);
        line_open = 1;
    }
    fflush(stderr);
}
#endif

void cli_progress_attach(sb_broker *b)
{
#ifdef SB_CLI_HAVE_PROGRESS
    int on = mode == CLI_PROGRESS_LINE || mode == CLI_PROGRESS_JSON ||
             (mode == CLI_PROGRESS_AUTO && isatty(STDERR_FILENO));
    if (on)
        sb_broker_set_progress(b, show, NULL);
    if (on && mode != CLI_PROGRESS_JSON)
        erase_before_output();
#else
    (void)b;
#endif
}

void cli_progress_end(void)
{
    /* erase the line: what follows (the result, an error) starts clean */
    if (line_open) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        line_open = 0;
    }
    last_percent = -1;
    last_what[0] = '\0';
}
