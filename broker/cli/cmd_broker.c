/* snapbroker CLI - broker commands: hosts, plugin-info, check. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static int run_hosts(sb_cli *cli, const sb_args *args)
{
    const sb_host_info *hosts = NULL;
    size_t n;

    if (cli_broker(cli) < 0)
        return -1;
    n = sb_broker_hosts(cli->broker, &hosts);
    if (cli_want_json(cli, args)) {
        sb_json j;
        sb_json_init(&j, stdout);
        sb_json_begin_object(&j, NULL);
        sb_json_str(&j, "state_dir", sb_broker_state_dir(cli->broker));
        sb_json_str(&j, "plugin_dir", sb_broker_plugin_dir(cli->broker));
        sb_json_begin_array(&j, "hosts");
        for (size_t i = 0; i < n; i++) {
            sb_json_begin_object(&j, NULL);
            sb_json_str(&j, "name", hosts[i].name);
            sb_json_str(&j, "plugin", hosts[i].plugin);
            sb_json_str(&j, "uri", hosts[i].uri);
            sb_json_bool(&j, "default", hosts[i].is_default);
            sb_json_end_object(&j);
        }
        sb_json_end_array(&j);
        sb_json_end_object(&j);
        sb_json_finish(&j);
        return 0;
    }
    const char *hdr[] = { "Name", "Plugin", "URI", "Default" };
    sb_table *t = sb_table_new(4, hdr);
    for (size_t i = 0; i < n; i++) {
        const char *row[] = { hosts[i].name, hosts[i].plugin, hosts[i].uri,
                              hosts[i].is_default ? "yes" : "" };
        sb_table_add_row(t, row);
    }
    if (sb_table_finish(t, stdout) < 0)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

static int run_plugin_info(sb_cli *cli, const sb_args *args)
{
    char *text = NULL;
    size_t len;

    if (cli_broker(cli) < 0)
        return -1;
    if (sb_plugin_describe(&text, cli->broker, sb_args_str(args, "plugin"),
                           cli_want_json(cli, args)) < 0)
        return cli_fail();
    len = strlen(text);
    fputs(text, stdout);
    if (len == 0 || text[len - 1] != '\n')
        putchar('\n');
    free(text);
    return 0;
}

static int run_check(sb_cli *cli, const sb_args *args)
{
    const char *domain = sb_args_str(args, "domain");
    char *report = NULL;
    int problems;

    if (cli_connect(cli) < 0)
        return -1;
    problems = sb_check(&report, cli->conn, domain,
                        (sb_args_bool(args, "discard-unresolved") ? SB_CHECK_DISCARD_UNRESOLVED : 0) |
                            (sb_args_bool(args, "repair") ? SB_CHECK_REPAIR : 0));
    if (problems < 0) {
        free(report);
        return cli_fail();
    }
    if (cli_want_json(cli, args)) {
        sb_json j;
        sb_json_init(&j, stdout);
        sb_json_begin_object(&j, NULL);
        sb_json_str(&j, "domain", domain);
        sb_json_int(&j, "problems", problems);
        sb_json_begin_array(&j, "findings");
        /* The report is one finding per line. */
        for (char *line = report, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (*line)
                sb_json_str(&j, NULL, line);
        }
        sb_json_end_array(&j);
        sb_json_end_object(&j);
        sb_json_finish(&j);
    } else if (report && *report) {
        size_t len = strlen(report);
        fputs(report, stdout);
        if (report[len - 1] != '\n')
            putchar('\n');
    }
    free(report);
    if (problems > 0)
        return cli_error(SB_ERR_STORE, "check found %d problem%s%s%s", problems,
                         problems == 1 ? "" : "s", domain ? " in domain " : "",
                         domain ? domain : "");
    return 0;
}

static const sb_optdef hosts_opts[] = { SB_OPT_JSON, { NULL } };

static const sb_optdef plugin_info_opts[] = {
    SB_OPT_JSON,
    { "plugin", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED, "plugin name" },
    { NULL },
};

static const sb_optdef check_opts[] = {
    { "domain", SB_OPT_STRING, SB_OPTF_POSITIONAL, "domain name (all domains when omitted)" },
    SB_OPT_JSON,
    { "discard-unresolved", SB_OPT_BOOL, 0,
      "drop interrupted operations the plugin cannot decide (after checking the domain)" },
    { "repair", SB_OPT_BOOL, 0,
      "rewrite a damaged store from what still loads (the damaged log is kept aside)" },
    { NULL },
};

const sb_cmddef sb_cmds_broker[] = {
    { "hosts", "list configured hosts",
      "List the hosts of the configuration: name, plugin, URI and which one is the default.",
      hosts_opts, NULL, run_hosts },
    { "plugin-info", "describe a plugin",
      "Describe a plugin: ABI version, capabilities, accepted flags, metadata owner.",
      plugin_info_opts, NULL, run_plugin_info },
    { "check", "verify snapshot metadata",
      "Verify the store's invariants and reconcile unresolved intents; exit status 1 when "
      "problems remain.",
      check_opts, NULL, run_check },
    { NULL },
};
