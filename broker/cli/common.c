/* snapbroker CLI - broker/connection setup and error printing (cli.h). */
#include "cli.h"
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "error: %s: ", sb_error_class_name(code));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
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

int cli_broker(sb_cli *cli)
{
    const char *const *warnings = NULL;

    if (cli->broker)
        return 0;
    if (sb_broker_new(&cli->broker, cli->config) < 0) {
        cli->broker = NULL;
        return cli_fail();
    }
    size_t n = sb_broker_warnings(cli->broker, &warnings);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "warning: %s\n", warnings[i]);
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

void cli_json_snapshot(sb_json *j, const char *key, const char *domain,
                       const char *name, const sb_snapshot_info *info)
{
    sb_json_begin_object(j, key);
    sb_json_str(j, "name", name);
    sb_json_str(j, "domain", domain);
    if (info->parent[0])
        sb_json_str(j, "parent", info->parent);
    else
        sb_json_null(j, "parent");
    sb_json_int(j, "creation_time", info->creation_time);
    sb_json_str(j, "state", sb_snapshot_state_name(info->state));
    sb_json_str(j, "location", info->external ? "external" : "internal");
    sb_json_bool(j, "current", info->is_current);
    sb_json_bool(j, "metadata", info->has_metadata);
    sb_json_int(j, "children", (long long)info->children);
    sb_json_int(j, "descendants", (long long)info->descendants);
    sb_json_end_object(j);
}
