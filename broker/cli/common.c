/* snapbroker CLI - broker/connection setup and error printing (cli.h). */
#include "cli.h"
#include "output.h"
#include "xpath.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* With --json, what goes to stderr is one JSON object per line. */
static int json_stderr;

void cli_set_json_errors(int on)
{
    json_stderr = on;
}

/* {"KIND":{"K1":V1,"K2":V2}} and a newline on stderr.  The two members
 * are strings (json-c escapes what a message holds). */
static void json_line(const char *kind, const char *k1, const char *v1, const char *k2,
                      const char *v2)
{
    sb_jdoc d;
    json_object *o = sb_jdoc_object(&d, sb_jdoc_init(&d, 0), kind);

    sb_jdoc_str(&d, o, k1, v1);
    sb_jdoc_str(&d, o, k2, v2);
    if (sb_jdoc_print(&d, stderr) < 0)
        fputs("{\"error\":{\"class\":\"NO_MEMORY\",\"message\":\"out of memory\"}}\n", stderr);
}

int cli_error(int code, const char *fmt, ...)
{
    char raw[2048], line[4096];
    va_list ap;

    cli_progress_end();
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    if (json_stderr) {
        json_line("error", "class", sb_error_class_name(code), "message", raw);
        return -1;
    }
    /* the library's messages are escaped already; the CLI's own ones carry
     * arguments as typed: one line each, whatever a name holds */
    fprintf(stderr, "error: %s: %s\n", sb_error_class_name(code),
            sb_escape_controls(line, sizeof(line), raw));
    return -1;
}

void cli_warning(const char *origin, const char *message)
{
    char line[2048];

    if (json_stderr)
        json_line("warning", "origin", origin, "message", message);
    else if (origin)
        fprintf(stderr, "warning: %s: %s\n", origin, message);
    else
        fprintf(stderr, "warning: %s\n", sb_escape_controls(line, sizeof(line), message));
}

int cli_fail(void)
{
    const sb_error *e = sb_error_last();

    /* The library promises a message with every failure; if one slipped
     * through we still say something rather than print "error: OK". */
    if (!e || e->code == SB_OK)
        return cli_error(SB_ERR_INTERNAL_ERROR, "operation failed without a message");
    return cli_error(e->code, "%s", e->message);
}

#ifdef SB_CLI_HAVE_LOG_DRAIN
static void print_log(void *opaque, const char *level, const char *origin, const char *message)
{
    (void)opaque;
    /* "error" log lines are not the command's error (that is printed once,
     * by the command): they are shown as warnings. */
    if (strcmp(level, "error") == 0 || strcmp(level, "warn") == 0)
        cli_warning(origin, message);
    else if (json_stderr)
        json_line(level, "origin", origin, "message", message);
    else
        fprintf(stderr, "%s: %s: %s\n", level, origin, message);
}
#endif

void cli_drain_log(void)
{
#ifdef SB_CLI_HAVE_LOG_DRAIN
    sb_log_drain(print_log, NULL);
#endif
}

int cli_broker(sb_cli *cli)
{
    const char *const *warnings = NULL;

    if (cli->broker)
        return 0;
    if (sb_broker_new(&cli->broker, cli->config) < 0) {
        cli->broker = NULL;
        return cli_fail();
    }
#ifdef SB_CLI_HAVE_LOG_DRAIN
    /* The configuration's warnings are also log lines, printed from the
     * ring by cli_drain_log(); printing the list too would say it twice. */
    (void)warnings;
#else
    size_t n = sb_broker_warnings(cli->broker, &warnings);
    for (size_t i = 0; i < n; i++)
        cli_warning(NULL, warnings[i]);
#endif
    cli_progress_attach(cli->broker);
    return 0;
}

int cli_connect(sb_cli *cli)
{
    if (cli->conn)
        return 0;
    if (cli_broker(cli) < 0)
        return -1;
    if (sb_connect(&cli->conn, cli->broker, cli->connect,
                   cli->readonly ? SB_CONNECT_READONLY : 0) < 0) {
        cli->conn = NULL;
        return cli_fail();
    }
    cli_resolve_domain(cli);
    return 0;
}

int cli_want_json(const sb_cli *cli, const sb_args *args)
{
    if (cli->json)
        return 1;
    for (size_t i = 0; i < args->ndefs; i++)
        if (strcmp(args->defs[i].name, "json") == 0)
            return args->vals[i].seen;
    return 0;
}

int cli_read_file(char **out, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f)
        return cli_error(SB_ERR_SYSTEM_ERROR, "Failed to open file '%s': %s", path, strerror(errno));
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return cli_error(SB_ERR_NO_MEMORY, "out of memory reading '%s'", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int err = errno;
        free(buf);
        fclose(f);
        return cli_error(SB_ERR_SYSTEM_ERROR, "Failed to read file '%s': %s", path, strerror(err));
    }
    fclose(f);
    buf[len] = '\0';
    *out = buf;
    return 0;
}

void cli_print_xml(const char *xml)
{
    size_t len = strlen(xml);

    fputs(xml, stdout);
    if (len == 0 || xml[len - 1] != '\n')
        fputc('\n', stdout);
    fputc('\n', stdout);
}

int cli_print_xml_filtered(const char *xml, const char *xpath, int wrap)
{
    char err[1024], *text;

    /* --wrap alone changes nothing, as in virsh */
    if (!xpath) {
        cli_print_xml(xml);
        return 0;
    }
    if (sb_xpath_format(&text, xml, xpath, wrap, err, sizeof(err)) < 0)
        return cli_error(SB_ERR_INVALID_ARG, "%s", err);
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    return 0;
}

int cli_print_json(sb_jdoc *d)
{
    if (d->oom || !d->root) {
        sb_jdoc_free(d);
        return cli_error(SB_ERR_NO_MEMORY, "out of memory building the JSON output");
    }
    /* a write error shows at the final fflush (main.c) */
    sb_jdoc_print(d, stdout);
    return 0;
}

int cli_json_snapshot(sb_jdoc *d, json_object *o, sb_cli *cli, const char *domain,
                      const char *name, const sb_snapshot_info *info)
{
    sb_snapshot_details *x = NULL;

    if (sb_snapshot_get_details(&x, cli->conn, domain, name) < 0)
        return cli_fail();
    sb_jdoc_str(d, o, "name", name);
    sb_jdoc_str(d, o, "domain", domain);
    sb_jdoc_str(d, o, "parent", info->parent[0] ? info->parent : NULL);
    sb_jdoc_int(d, o, "creation_time", info->creation_time);
    sb_jdoc_str(d, o, "state", sb_snapshot_state_name(info->state));
    sb_jdoc_str(d, o, "location", info->external ? "external" : "internal");
    sb_jdoc_bool(d, o, "current", info->is_current);
    sb_jdoc_bool(d, o, "metadata", info->has_metadata);
    sb_jdoc_uint(d, o, "children", info->children);
    sb_jdoc_uint(d, o, "descendants", info->descendants);
    sb_jdoc_str(d, o, "host", sb_connection_host(cli->conn));
    sb_jdoc_str(d, o, "description", x->description);
    json_object *mem = sb_jdoc_object(d, o, "memory");
    sb_jdoc_str(d, mem, "snapshot", x->memory);
    sb_jdoc_str(d, mem, "file", x->memory_file);
    json_object *disks = sb_jdoc_array(d, o, "disks");
    for (size_t i = 0; i < x->ndisks; i++) {
        json_object *disk = sb_jdoc_object(d, disks, NULL);
        sb_jdoc_str(d, disk, "name", x->disks[i].name);
        sb_jdoc_str(d, disk, "snapshot", x->disks[i].snapshot);
        sb_jdoc_str(d, disk, "type", x->disks[i].type);
        sb_jdoc_str(d, disk, "driver_type", x->disks[i].driver_type);
        sb_jdoc_str(d, disk, "source", x->disks[i].source);
    }
    sb_snapshot_details_free(x);
    return 0;
}
