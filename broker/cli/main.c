/* snapbroker - the command line.  Global options, the command table and
 * dispatch; every command lives in a cmd_*.c file. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef SB_CLI_VERSION
#error "SB_CLI_VERSION must be defined by the build"
#endif

static const sb_cmddef *const groups[] = {
    sb_cmds_snapshot_create, sb_cmds_snapshot_list, sb_cmds_snapshot_misc,
    sb_cmds_snapshot_edit, sb_cmds_snapshot_hier, sb_cmds_domain, sb_cmds_job, sb_cmds_broker,
    sb_cmds_xml, sb_cmds_conformance, NULL,
};

static const char *const group_titles[] = {
    "Snapshot", "Snapshot", "Snapshot", "Snapshot", "Snapshot",
    "Domain", "Domain", "Broker", "XML", "Conformance",
};

static const sb_cmddef *find_command(const char *name)
{
    for (size_t g = 0; groups[g]; g++)
        for (const sb_cmddef *c = groups[g]; c->name; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

static void usage(FILE *out)
{
    const char *last = NULL;

    fprintf(out,
            "Usage: snapbroker [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
            "\n"
            "  Global options:\n"
            "    -c, --connect HOST|URI  host from the configuration, or a URI\n"
            "                            (the scheme picks the plugin); default host if unset\n"
            "        --config FILE       configuration file (else $SNAPBROKER_CONFIG)\n"
            "    -r, --readonly          read-only connection\n"
            "        --json              machine-readable output of listing and info commands\n"
            "        --progress[=MODE]   progress of long work on stderr: line (the default\n"
            "                            on a terminal), json (one object per line), none\n"
            "    -h, --help              this help; `snapbroker help COMMAND` for one command\n"
            "    -V, --version           print the version\n");
    for (size_t g = 0; groups[g]; g++) {
        if (!last || strcmp(last, group_titles[g]) != 0)
            fprintf(out, "\n  %s commands:\n", group_titles[g]);
        last = group_titles[g];
        for (const sb_cmddef *c = groups[g]; c->name; c++)
            fprintf(out, "    %-20s %s\n", c->name, c->summary);
    }
    fprintf(out, "\nExit status: 0 on success, 1 on any failure.  See snapbroker(1).\n");
}

/* `help` is handled here: it needs the table, and no broker. */
static int cmd_help(int argc, char **argv)
{
    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    if (argc > 1)
        return cli_error(SB_ERR_INVALID_ARG, "unexpected data '%s'", argv[1]);
    const sb_cmddef *c = find_command(argv[0]);
    if (!c)
        return cli_error(SB_ERR_INVALID_ARG, "command or command group '%s' doesn't exist", argv[0]);
    cli_print_command_help(stdout, c);
    return 0;
}

/* Global option with a value: "-c X", "--connect X", "--connect=X".
 * Unless empty_ok, an empty value is refused as a command option's is
 * (opts.c): an empty --config would otherwise mean "not given" to the
 * library and quietly load another configuration.  (An empty -c is
 * refused when connecting, and the bash completion passes the host
 * being typed, "" at first, to commands that do not connect.) */
static int global_value(int argc, char **argv, int *i, const char *shopt, const char *lopt,
                        int empty_ok, const char **slot)
{
    const char *a = argv[*i];
    size_t llen = strlen(lopt);

    if (strncmp(a, lopt, llen) == 0 && a[llen] == '=') {
        *slot = a + llen + 1;
    } else if (strcmp(a, lopt) != 0 && !(shopt && strcmp(a, shopt) == 0)) {
        return 0;
    } else if (*i + 1 >= argc) {
        cli_error(SB_ERR_INVALID_ARG, "option '%s' requires an argument", a);
        return -1;
    } else {
        *slot = argv[++*i];
    }
    if (!empty_ok && !**slot) {
        cli_error(SB_ERR_INVALID_ARG, "Failed to get option '%s': Option argument is empty",
                  lopt + 2);
        return -1;
    }
    return 1;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

/* The command's own --json among its words (before "--"), when it has
 * that option: its option errors are then JSON too, although the words
 * did not parse. */
static int command_json(const sb_cmddef *cmd, int argc, char **argv)
{
    int has = 0;

    for (const sb_optdef *o = cmd->opts; o && o->name && !has; o++)
        has = strcmp(o->name, "json") == 0;
    for (int i = 0; has && i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

static int run_command(sb_cli *cli, const sb_cmddef *cmd, int argc, char **argv)
{
    sb_args args;
    char err[1024];
    int ret;

    if (wants_help(argc, argv)) {
        cli_print_command_help(stdout, cmd);
        return 0;
    }
    if (command_json(cmd, argc, argv))
        cli_set_json_errors(1);
    if (sb_args_parse(&args, cmd->name, cmd->opts, argc, argv, err, sizeof(err)) < 0)
        return cli_error(SB_ERR_INVALID_ARG, "%s", err);
    if (sb_args_exclusive(&args, cmd->exclusive, err, sizeof(err)) < 0)
        ret = cli_error(SB_ERR_INVALID_ARG, "%s", err);
    else {
        cli->args = &args;
        ret = cmd->run(cli, &args);
        cli->args = NULL;
    }
    sb_args_free(&args);
    return ret;
}

int main(int argc, char **argv)
{
    sb_cli cli = { 0 };
    int i, ret;

    /* Table cells are measured in the user's character set (output.h,
     * sb_display_width), as virsh does.  Only LC_CTYPE: numbers and times
     * keep the C locale's format, which scripts and docs/cli.md rely on. */
    setlocale(LC_CTYPE, "");

    /* A global --json anywhere among the global options makes every error
     * JSON, the global options' own included. */
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0)
            cli_set_json_errors(1);
        else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--connect") == 0 ||
                  strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            i++;
    }
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        int r;
        if ((r = global_value(argc, argv, &i, "-c", "--connect", 1, &cli.connect)) ||
            (r = global_value(argc, argv, &i, NULL, "--config", 0, &cli.config))) {
            if (r < 0)
                return 1;
        } else if (strcmp(a, "-r") == 0 || strcmp(a, "--readonly") == 0) {
            cli.readonly = 1;
        } else if (strcmp(a, "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(a, "--progress") == 0 || strncmp(a, "--progress=", 11) == 0) {
            if (cli_progress_mode(a[10] == '=' ? a + 11 : NULL) < 0)
                return 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("snapbroker %s\n", SB_CLI_VERSION);
            return 0;
        } else {
            cli_error(SB_ERR_INVALID_ARG, "unsupported option '%s'; see 'snapbroker --help'", a);
            return 1;
        }
    }
    if (i >= argc) {
        cli_error(SB_ERR_INVALID_ARG, "no command given; see 'snapbroker --help'");
        return 1;
    }
    if (strcmp(argv[i], "help") == 0) {
        ret = cmd_help(argc - i - 1, argv + i + 1);
    } else {
        const sb_cmddef *cmd = find_command(argv[i]);
        if (!cmd)
            ret = cli_error(SB_ERR_INVALID_ARG, "unknown command: '%s'", argv[i]);
        else
            ret = run_command(&cli, cmd, argc - i - 1, argv + i + 1);
    }
    if (cli.conn)
        sb_disconnect(cli.conn);
    if (cli.broker)
        sb_broker_free(cli.broker);
    free(cli.resolved_domain);
    cli_progress_end();
    cli_drain_log();
    if (fflush(stdout) != 0 && ret == 0)
        ret = cli_error(SB_ERR_SYSTEM_ERROR, "cannot write the output");
    return ret < 0 ? 1 : 0;
}
