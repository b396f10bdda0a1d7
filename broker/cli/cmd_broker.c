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
        sb_jdoc d;
        json_object *root = sb_jdoc_init(&d, 0);
        sb_jdoc_str(&d, root, "state_dir", sb_broker_state_dir(cli->broker));
        sb_jdoc_str(&d, root, "plugin_dir", sb_broker_plugin_dir(cli->broker));
        json_object *list = sb_jdoc_array(&d, root, "hosts");
        for (size_t i = 0; i < n; i++) {
            json_object *h = sb_jdoc_object(&d, list, NULL);
            sb_jdoc_str(&d, h, "name", hosts[i].name);
            sb_jdoc_str(&d, h, "plugin", hosts[i].plugin);
            sb_jdoc_str(&d, h, "uri", hosts[i].uri);
            sb_jdoc_bool(&d, h, "default", hosts[i].is_default);
        }
        return cli_print_json(&d);
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
    domain = sb_args_str(args, "domain"); /* an ID or UUID is a name now */
    problems = sb_check(&report, cli->conn, domain,
                        (sb_args_bool(args, "discard-unresolved") ? SB_CHECK_DISCARD_UNRESOLVED : 0) |
                            (sb_args_bool(args, "repair") ? SB_CHECK_REPAIR : 0));
    if (problems < 0) {
        free(report);
        return cli_fail();
    }
    if (cli_want_json(cli, args)) {
        sb_jdoc d;
        json_object *root = sb_jdoc_init(&d, 0);
        sb_jdoc_str(&d, root, "domain", domain);
        sb_jdoc_int(&d, root, "problems", problems);
        json_object *list = sb_jdoc_array(&d, root, "findings");
        /* The report is one finding per line. */
        for (char *line = report, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (*line)
                sb_jdoc_str(&d, list, NULL, line);
        }
        if (cli_print_json(&d) < 0) {
            free(report);
            return -1;
        }
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
    { "domain", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_DOMAIN,
      "domain name, id or uuid (all domains when omitted)" },
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
