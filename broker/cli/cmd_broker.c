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

/* check --json: sb_check_domains() as one document (docs/snapbroker.1,
 * JSON OUTPUT).  *problems: what is left, for the exit status. */
static int print_check_json(sb_cli *cli, const char *domain, unsigned flags, int *problems)
{
    sb_check_domain *r = NULL;
    sb_connection_caps caps;
    size_t n = 0;
    sb_jdoc d;

    if ((*problems = sb_check_domains(&r, &n, cli->conn, domain, flags)) < 0 ||
        sb_connection_get_caps(&caps, cli->conn) < 0) {
        sb_check_domains_free(r, n);
        return cli_fail();
    }
    json_object *root = sb_jdoc_init(&d, 0);
    sb_jdoc_str(&d, root, "domain", domain);
    sb_jdoc_int(&d, root, "problems", *problems);
    sb_jdoc_str(&d, root, "metadata_owner", caps.metadata_owner);
    json_object *list = sb_jdoc_array(&d, root, "domains");
    for (size_t i = 0; i < n; i++) {
        json_object *o = sb_jdoc_object(&d, list, NULL);
        sb_jdoc_str(&d, o, "name", r[i].name);
        sb_jdoc_int(&d, o, "problems", r[i].problems);
        sb_jdoc_bool(&d, o, "metadata", r[i].has_metadata);
        json_object *found = sb_jdoc_array(&d, o, "findings");
        for (size_t k = 0; k < r[i].nfindings; k++) {
            json_object *x = sb_jdoc_object(&d, found, NULL);
            sb_jdoc_str(&d, x, "severity", r[i].findings[k].severity);
            sb_jdoc_str(&d, x, "message", r[i].findings[k].message);
        }
    }
    sb_check_domains_free(r, n);
    return cli_print_json(&d);
}

static int run_check(sb_cli *cli, const sb_args *args)
{
    const char *domain;
    unsigned flags = (sb_args_bool(args, "discard-unresolved") ? SB_CHECK_DISCARD_UNRESOLVED : 0) |
                     (sb_args_bool(args, "repair") ? SB_CHECK_REPAIR : 0);
    char *report = NULL;
    int problems;

    if (cli_connect(cli) < 0)
        return -1;
    domain = sb_args_str(args, "domain"); /* an ID or UUID is a name now */
    if (cli_want_json(cli, args)) {
        if (print_check_json(cli, domain, flags, &problems) < 0)
            return -1;
    } else {
        if ((problems = sb_check(&report, cli->conn, domain, flags)) < 0) {
            free(report);
            return cli_fail();
        }
        if (report && *report) {
            size_t len = strlen(report);
            fputs(report, stdout);
            if (report[len - 1] != '\n')
                putchar('\n');
        }
        free(report);
    }
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
