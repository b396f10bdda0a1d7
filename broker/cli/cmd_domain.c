/* snapbroker CLI - domain commands, where the host's plugin supports them
 * (the library answers NO_SUPPORT otherwise). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

typedef struct dom_row {
    char *name;
    int state;
} dom_row;

/* virsh lists running domains before shut-off ones; within each group we
 * sort by name (virsh uses the numeric id, which we do not have). */
static int by_state_name(const void *a, const void *b)
{
    const dom_row *x = a, *y = b;
    int xa = x->state != SB_DOMAIN_SHUTOFF, ya = y->state != SB_DOMAIN_SHUTOFF;
    if (xa != ya)
        return ya - xa;
    return strcmp(x->name, y->name);
}

static void print_domains(const dom_row *rows, size_t n, int names_only, int json)
{
    if (json) {
        sb_jdoc d;
        json_object *list = sb_jdoc_array(&d, sb_jdoc_init(&d, 0), "domains");
        for (size_t i = 0; i < n; i++) {
            json_object *o = sb_jdoc_object(&d, list, NULL);
            sb_jdoc_str(&d, o, "name", rows[i].name);
            sb_jdoc_str(&d, o, "state", sb_domain_state_name(rows[i].state));
        }
        cli_print_json(&d);
        return;
    }
    if (names_only) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", rows[i].name);
        putchar('\n');
        return;
    }
    const char *hdr[] = { "Id", "Name", "State" };
    sb_table *t = sb_table_new(3, hdr);
    for (size_t i = 0; i < n; i++) {
        /* The API has no numeric domain ids: "-" as virsh shows for an
         * inactive domain (docs/cli.md). */
        const char *row[] = { "-", rows[i].name, sb_domain_state_name(rows[i].state) };
        sb_table_add_row(t, row);
    }
    if (sb_table_finish(t, stdout) < 0) {
        cli_error(SB_ERR_NO_MEMORY, "out of memory");
        return;
    }
}

static int run_list(sb_cli *cli, const sb_args *args)
{
    unsigned flags = SB_DOMAIN_LIST_ACTIVE;
    char **names = NULL;
    dom_row *rows = NULL;
    size_t n = 0;
    int ret = -1;

    if (sb_args_bool(args, "all"))
        flags = 0;
    else if (sb_args_bool(args, "inactive"))
        flags = SB_DOMAIN_LIST_INACTIVE;
    if (cli_connect(cli) < 0)
        return -1;
    if (sb_domain_list(&names, &n, cli->conn, flags) < 0)
        return cli_fail();
    if (!(rows = calloc(n + 1, sizeof(*rows)))) {
        cli_error(SB_ERR_NO_MEMORY, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].name = names[i];
        if (sb_domain_get_state(&rows[i].state, cli->conn, names[i]) < 0) {
            cli_fail();
            goto cleanup;
        }
    }
    qsort(rows, n, sizeof(*rows), by_state_name);
    print_domains(rows, n, sb_args_bool(args, "name"), cli_want_json(cli, args));
    ret = 0;
 cleanup:
    free(rows);
    sb_names_free(names, n);
    return ret;
}

static int run_define(sb_cli *cli, const sb_args *args)
{
    const char *file = sb_args_str(args, "file");
    char *xml = NULL, *name = NULL;
    int ret = -1;

    if (cli_read_file(&xml, file) < 0)
        return -1;
    if (cli_connect(cli) == 0) {
        if (sb_domain_define(&name, cli->conn, xml) < 0) {
            cli_fail();
        } else {
            printf("Domain '%s' defined from %s\n\n", name, file);
            ret = 0;
        }
    }
    free(name);
    free(xml);
    return ret;
}

static int run_dumpxml(sb_cli *cli, const sb_args *args)
{
    char *xml = NULL;

    if (cli_connect(cli) < 0)
        return -1;
    if (sb_domain_get_xml(&xml, cli->conn, sb_args_str(args, "domain"),
                          sb_args_bool(args, "security-info") ? SB_SNAPSHOT_XML_SECURE : 0) < 0)
        return cli_fail();
    int ret = cli_print_xml_filtered(xml, sb_args_str(args, "xpath"), sb_args_bool(args, "wrap"));
    free(xml);
    return ret;
}

static int run_domstate(sb_cli *cli, const sb_args *args)
{
    const char *domain = sb_args_str(args, "domain");
    int state;

    if (cli_connect(cli) < 0)
        return -1;
    if (sb_domain_get_state(&state, cli->conn, domain) < 0)
        return cli_fail();
    if (cli_want_json(cli, args)) {
        sb_jdoc d;
        json_object *root = sb_jdoc_init(&d, 0);
        sb_jdoc_str(&d, root, "domain", domain);
        sb_jdoc_str(&d, root, "state", sb_domain_state_name(state));
        return cli_print_json(&d);
    }
    printf("%s\n\n", sb_domain_state_name(state));
    return 0;
}

/* The state-changing commands differ only in the call and the message. */
static int lifecycle(sb_cli *cli, const sb_args *args, const char *fmt,
                     int (*op)(sb_connection *, const char *))
{
    const char *domain = sb_args_str(args, "domain");

    if (cli_connect(cli) < 0)
        return -1;
    if (op(cli->conn, domain) < 0)
        return cli_fail();
    printf(fmt, domain);
    return 0;
}

static int start_op(sb_connection *c, const char *d) { return sb_domain_start(c, d, 0); }
static int start_paused_op(sb_connection *c, const char *d)
{
    return sb_domain_start(c, d, SB_DOMAIN_START_PAUSED);
}

static int run_start(sb_cli *cli, const sb_args *args)
{
    return lifecycle(cli, args, "Domain '%s' started\n\n",
                     sb_args_bool(args, "paused") ? start_paused_op : start_op);
}
static int undefine_op(sb_connection *c, const char *d) { return sb_domain_undefine(c, d, 0); }
static int undefine_meta_op(sb_connection *c, const char *d)
{
    return sb_domain_undefine(c, d, SB_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
}

static int run_undefine(sb_cli *cli, const sb_args *args)
{
    return lifecycle(cli, args, "Domain '%s' has been undefined\n\n",
                     sb_args_bool(args, "snapshots-metadata") ? undefine_meta_op : undefine_op);
}
static int run_destroy(sb_cli *cli, const sb_args *args)
{
    return lifecycle(cli, args, "Domain '%s' destroyed\n\n", sb_domain_destroy);
}
static int run_shutdown(sb_cli *cli, const sb_args *args)
{
    return lifecycle(cli, args, "Domain '%s' is being shutdown\n\n", sb_domain_shutdown);
}
static int run_suspend(sb_cli *cli, const sb_args *args)
{
    return lifecycle(cli, args, "Domain '%s' suspended\n\n", sb_domain_suspend);
}
static int run_resume(sb_cli *cli, const sb_args *args)
{
    return lifecycle(cli, args, "Domain '%s' resumed\n\n", sb_domain_resume);
}

static const sb_optdef list_opts[] = {
    { "inactive", SB_OPT_BOOL, 0, "list inactive domains" },
    { "all", SB_OPT_BOOL, 0, "list inactive & active domains" },
    { "name", SB_OPT_BOOL, 0, "list domain names only" },
    SB_OPT_JSON,
    { NULL },
};
static const char *const list_excl[] = { "inactive", "all", NULL };

static const sb_optdef define_opts[] = {
    { "file", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED,
      "file containing an XML domain description" },
    { NULL },
};

static const sb_optdef dom_opts[] = { SB_OPT_DOMAIN, { NULL } };

static const sb_optdef undefine_opts[] = {
    SB_OPT_DOMAIN,
    { "snapshots-metadata", SB_OPT_BOOL, 0,
      "remove all domain snapshot metadata (vm must be inactive)" },
    { NULL },
};

static const sb_optdef start_opts[] = {
    SB_OPT_DOMAIN,
    { "paused", SB_OPT_BOOL, 0, "leave the guest paused after creation" },
    { NULL },
};

static const sb_optdef dumpxml_opts[] = {
    SB_OPT_DOMAIN,
    { "security-info", SB_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    SB_OPT_XPATH,
    { NULL },
};

static const sb_optdef domstate_opts[] = { SB_OPT_DOMAIN, SB_OPT_JSON, { NULL } };

const sb_cmddef sb_cmds_domain[] = {
    { "list", "list domains", "Returns list of domains (running ones unless --all/--inactive).",
      list_opts, list_excl, run_list },
    { "define", "define (but don't start) a domain from an XML file",
      "Define a domain.", define_opts, NULL, run_define },
    { "undefine", "undefine a domain", "Undefine an inactive domain.", undefine_opts, NULL, run_undefine },
    { "start", "start a (previously defined) inactive domain", "Start a domain.",
      start_opts, NULL, run_start },
    { "destroy", "destroy (stop) a domain", "Forcefully stop a given domain.",
      dom_opts, NULL, run_destroy },
    { "shutdown", "gracefully shutdown a domain", "Run shutdown in the target domain.",
      dom_opts, NULL, run_shutdown },
    { "suspend", "suspend a domain", "Suspend a running domain.", dom_opts, NULL, run_suspend },
    { "resume", "resume a domain", "Resume a previously suspended domain.",
      dom_opts, NULL, run_resume },
    { "dumpxml", "domain information in XML", "Output the domain information as an XML dump.",
      dumpxml_opts, NULL, run_dumpxml },
    { "domstate", "domain state", "Returns state about a domain.",
      domstate_opts, NULL, run_domstate },
    { NULL },
};
