/* snapbroker CLI - domain commands, where the host's plugin supports them
 * (the library answers NO_SUPPORT otherwise). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "reason.h"
#include "xpath.h"

typedef struct dom_row {
    char *name;
    int state;
    char *id;      /* "1", or "-" for a domain without one */
    char *uuid;
    char *title;
} dom_row;

/* virsh lists running domains before shut-off ones; within each group we
 * sort by name (virsh uses the numeric id, which not every plugin has). */
static int by_state_name(const void *a, const void *b)
{
    const dom_row *x = a, *y = b;
    int xa = x->state != SB_DOMAIN_SHUTOFF, ya = y->state != SB_DOMAIN_SHUTOFF;
    if (xa != ya)
        return ya - xa;
    return strcmp(x->name, y->name);
}

static int print_json(const dom_row *rows, size_t n)
{
    sb_jdoc d;
    json_object *list = sb_jdoc_array(&d, sb_jdoc_init(&d, 0), "domains");
    for (size_t i = 0; i < n; i++) {
        json_object *o = sb_jdoc_object(&d, list, NULL);
        sb_jdoc_str(&d, o, "name", rows[i].name);
        sb_jdoc_str(&d, o, "state", sb_domain_state_name(rows[i].state));
    }
    return cli_print_json(&d);
}

/* --uuid, --id, --name: those fields of each domain on one line, in
 * virsh's order (uuid, id, name); --id alone skips domains without one. */
static void print_fields(const dom_row *rows, size_t n, int uuid, int id, int name)
{
    for (size_t i = 0; i < n; i++) {
        if (id && !uuid && !name && strcmp(rows[i].id, "-") == 0)
            continue;
        /* a plugin whose XML has no <uuid> gets "-", as a missing id */
        const char *u = rows[i].uuid && *rows[i].uuid ? rows[i].uuid : "-";
        const char *f[3] = { uuid ? u : NULL, id ? rows[i].id : NULL,
                             name ? rows[i].name : NULL };
        const char *sep = "";
        for (int k = 0; k < 3; k++) {
            if (f[k]) {
                printf("%s%s", sep, f[k]);
                sep = " ";
            }
        }
        putchar('\n');
    }
    putchar('\n');
}

static int print_table(const dom_row *rows, size_t n, int title)
{
    const char *hdr[] = { "Id", "Name", "State", "Title" };
    sb_table *t = sb_table_new(title ? 4 : 3, hdr);
    for (size_t i = 0; i < n; i++) {
        const char *row[] = { rows[i].id, rows[i].name, sb_domain_state_name(rows[i].state),
                              rows[i].title };
        sb_table_add_row(t, row);
    }
    if (sb_table_finish(t, stdout) < 0)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

/* virsh's --state-* groups: none given = every state. */
static int state_wanted(const sb_args *args, int state)
{
    int run = sb_args_bool(args, "state-running"), pau = sb_args_bool(args, "state-paused");
    int off = sb_args_bool(args, "state-shutoff"), oth = sb_args_bool(args, "state-other");

    if (!run && !pau && !off && !oth)
        return 1;
    switch (state) {
    case SB_DOMAIN_RUNNING: return run;
    case SB_DOMAIN_PAUSED: return pau;
    case SB_DOMAIN_SHUTOFF: return off;
    default: return oth;
    }
}

/* --with-snapshot / --without-snapshot: both or neither = all. */
static int snapshot_wanted(sb_cli *cli, const sb_args *args, const char *domain, int *want)
{
    int with = sb_args_bool(args, "with-snapshot"), without = sb_args_bool(args, "without-snapshot");
    size_t n;

    *want = 1;
    if (with == without)
        return 0;
    if (sb_snapshot_count(&n, cli->conn, domain, NULL, 0) < 0)
        return cli_fail();
    *want = with ? n > 0 : n == 0;
    return 0;
}

/* The XML fields a row shows: the id of a running domain, uuid, title.
 * One XML read per domain, and none for a shut-off domain when neither
 * --uuid nor --title asks for its fields (the plugin may be remote). */
static int fill_row(sb_cli *cli, dom_row *r, int want_fields)
{
    char *xml = NULL;

    if (r->state != SB_DOMAIN_SHUTOFF || want_fields) {
        if (sb_domain_get_xml(&xml, cli->conn, r->name, 0) < 0)
            return cli_fail();
        if (r->state != SB_DOMAIN_SHUTOFF)
            r->id = sb_xpath_string(xml, "string(/domain/@id)");
        r->uuid = sb_xpath_string(xml, "string(/domain/uuid)");
        r->title = sb_xpath_string(xml, "string(/domain/title)");
        free(xml);
    }
    if (!r->id || !*r->id) {
        free(r->id);
        r->id = strdup("-");
    }
    if (!r->uuid)
        r->uuid = strdup("");
    if (!r->title)
        r->title = strdup("");
    if (!r->id || !r->uuid || !r->title)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    return 0;
}

static void free_rows(dom_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].id);
        free(rows[i].uuid);
        free(rows[i].title);
    }
    free(rows);
}

static int run_list(sb_cli *cli, const sb_args *args)
{
    unsigned flags = SB_DOMAIN_LIST_ACTIVE;
    int uuid = sb_args_bool(args, "uuid"), id = sb_args_bool(args, "id");
    int names_only = sb_args_bool(args, "name");
    char **names = NULL;
    dom_row *rows = NULL;
    size_t n = 0, kept = 0;
    int ret = -1;

    /* --inactive keeps its meaning; otherwise a state filter looks at
     * every domain, as virsh's */
    if (sb_args_bool(args, "inactive"))
        flags = SB_DOMAIN_LIST_INACTIVE;
    else if (sb_args_bool(args, "all") || sb_args_bool(args, "state-running") ||
             sb_args_bool(args, "state-paused") || sb_args_bool(args, "state-shutoff") ||
             sb_args_bool(args, "state-other"))
        flags = 0;
    if (cli_connect(cli) < 0)
        return -1;
    if (sb_domain_list(&names, &n, cli->conn, flags) < 0)
        return cli_fail();
    if (!(rows = calloc(n + 1, sizeof(*rows)))) {
        cli_error(SB_ERR_NO_MEMORY, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        dom_row *r = &rows[kept];
        int want;
        r->name = names[i];
        if (sb_domain_get_state(&r->state, cli->conn, names[i]) < 0) {
            cli_fail();
            goto cleanup;
        }
        if (!state_wanted(args, r->state))
            continue;
        if (snapshot_wanted(cli, args, names[i], &want) < 0)
            goto cleanup;
        if (!want)
            continue;
        kept++;
        if (fill_row(cli, r, uuid || sb_args_bool(args, "title")) < 0)
            goto cleanup;
    }
    qsort(rows, kept, sizeof(*rows), by_state_name);
    ret = 0;
    if (cli_want_json(cli, args))
        ret = print_json(rows, kept);
    else if (uuid || id || names_only)
        print_fields(rows, kept, uuid, id, names_only);
    else
        ret = print_table(rows, kept, sb_args_bool(args, "title"));
 cleanup:
    free_rows(rows, kept);
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
        if (sb_domain_define_flags(&name, cli->conn, xml,
                                   sb_args_bool(args, "validate") ? SB_DOMAIN_DEFINE_VALIDATE : 0) < 0) {
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
    unsigned flags = 0;
    char *xml = NULL;

    if (sb_args_bool(args, "security-info"))
        flags |= SB_DOMAIN_XML_SECURE;
    if (sb_args_bool(args, "inactive"))
        flags |= SB_DOMAIN_XML_INACTIVE;
    if (cli_connect(cli) < 0)
        return -1;
    if (sb_domain_get_xml(&xml, cli->conn, sb_args_str(args, "domain"), flags) < 0)
        return cli_fail();
    int ret = cli_print_xml_filtered(xml, sb_args_str(args, "xpath"), sb_args_bool(args, "wrap"));
    free(xml);
    return ret;
}

static int run_domstate(sb_cli *cli, const sb_args *args)
{
    int state, reason = 0, with_reason = sb_args_bool(args, "reason");

    if (cli_connect(cli) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain"); /* after the ID/UUID lookup */
    if ((with_reason ? sb_domain_get_state_reason(&state, &reason, cli->conn, domain)
                     : sb_domain_get_state(&state, cli->conn, domain)) < 0)
        return cli_fail();
    if (cli_want_json(cli, args)) {
        sb_jdoc d;
        json_object *root = sb_jdoc_init(&d, 0);
        sb_jdoc_str(&d, root, "domain", domain);
        sb_jdoc_str(&d, root, "state", sb_domain_state_name(state));
        if (with_reason)
            sb_jdoc_str(&d, root, "reason", sb_state_reason_name(state, reason));
        return cli_print_json(&d);
    }
    if (with_reason)
        printf("%s (%s)\n\n", sb_domain_state_name(state), sb_state_reason_name(state, reason));
    else
        printf("%s\n\n", sb_domain_state_name(state));
    return 0;
}

/* The state-changing commands differ only in the call and the message. */
static int lifecycle(sb_cli *cli, const sb_args *args, const char *fmt,
                     int (*op)(sb_connection *, const char *))
{
    if (cli_connect(cli) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain"); /* after the ID/UUID lookup */
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
    { "with-snapshot", SB_OPT_BOOL, 0, "list domains with existing snapshot" },
    { "without-snapshot", SB_OPT_BOOL, 0, "list domains without a snapshot" },
    { "state-running", SB_OPT_BOOL, 0, "list domains in running state" },
    { "state-paused", SB_OPT_BOOL, 0, "list domains in paused state" },
    { "state-shutoff", SB_OPT_BOOL, 0, "list domains in shutoff state" },
    { "state-other", SB_OPT_BOOL, 0, "list domains in other states" },
    { "uuid", SB_OPT_BOOL, 0, "list uuid's only" },
    { "name", SB_OPT_BOOL, 0, "list domain names only" },
    { "id", SB_OPT_BOOL, 0, "list domain IDs only" },
    { "table", SB_OPT_BOOL, 0, "list table (default)" },
    { "title", SB_OPT_BOOL, 0, "show domain title" },
    SB_OPT_JSON,
    { NULL },
};
static const char *const list_excl[] = {
    "inactive", "all", "table", "name", "table", "uuid", "table", "id",
    "title", "name", "title", "uuid", "title", "id", NULL,
};

static const sb_optdef define_opts[] = {
    { "file", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED,
      "file containing an XML domain description" },
    { "validate", SB_OPT_BOOL, 0, "validate the XML against the schema" },
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
    { "inactive", SB_OPT_BOOL, 0, "show inactive defined XML" },
    { "security-info", SB_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    SB_OPT_XPATH,
    { NULL },
};

static const sb_optdef domstate_opts[] = {
    SB_OPT_DOMAIN,
    { "reason", SB_OPT_BOOL, 0, "also print reason for the state" },
    SB_OPT_JSON,
    { NULL },
};

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
