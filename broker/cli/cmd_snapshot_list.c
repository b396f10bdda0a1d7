/* snapbroker CLI - snapshot-list: the table, --name, --tree and JSON.
 *
 * The library returns names in its listing order (TOPOLOGICAL when asked);
 * sorting by name happens here, case-insensitively, as virsh does it on
 * the client side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "namesort.h"
#include "output.h"
#include "tree.h"

static const struct { const char *opt; unsigned flag; } filter_flags[] = {
    { "leaves", SB_SNAPSHOT_LIST_LEAVES },
    { "no-leaves", SB_SNAPSHOT_LIST_NO_LEAVES },
    { "metadata", SB_SNAPSHOT_LIST_METADATA },
    { "no-metadata", SB_SNAPSHOT_LIST_NO_METADATA },
    { "inactive", SB_SNAPSHOT_LIST_INACTIVE },
    { "active", SB_SNAPSHOT_LIST_ACTIVE },
    { "disk-only", SB_SNAPSHOT_LIST_DISK_ONLY },
    { "internal", SB_SNAPSHOT_LIST_INTERNAL },
    { "external", SB_SNAPSHOT_LIST_EXTERNAL },
    { "topological", SB_SNAPSHOT_LIST_TOPOLOGICAL },
};

/* One row of the listing. */
typedef struct entry {
    char *name;
    sb_snapshot_info info;
} entry;

static int check_options(const sb_args *args)
{
    int from = sb_args_str(args, "from") != NULL, cur = sb_args_bool(args, "current");

    static const char *const fleet_only[] = {
        "older-than", "larger-than", "parallel", "timeout", NULL,
    };
    const char *const *list;
    for (const char *const *o = fleet_only; *o; o++)
        if (sb_args_str(args, *o))
            return cli_error(SB_ERR_INVALID_ARG, "--%s needs --all-hosts", *o);
    if (sb_args_list(args, "host", &list) || sb_args_list(args, "plugin", &list) ||
        sb_args_bool(args, "summary"))
        return cli_error(SB_ERR_INVALID_ARG, "--host, --plugin and --summary need --all-hosts");
    if (!sb_args_str(args, "domain"))
        return cli_error(SB_ERR_INVALID_ARG, "command 'snapshot-list' requires <domain> option");
    if (sb_args_bool(args, "descendants") && !from && !cur)
        return cli_error(SB_ERR_INVALID_ARG, "--descendants requires either --from or --current");
    return 0;
}

/* The i-th row to print: order[i] when sorted by name, else the
 * library's order. */
#define ROW(e, order, i) (&(e)[(order) ? (order)[i] : (i)])

static void print_table(entry *e, const size_t *order, size_t n, int with_parent)
{
    const char *hdr[] = { "Name", "Creation Time", "State", "Parent" };
    sb_table *t = sb_table_new(with_parent ? 4 : 3, hdr);
    char when[64];

    for (size_t i = 0; i < n; i++) {
        const entry *r = ROW(e, order, i);
        const char *row[] = {
            r->name, sb_format_time(when, sizeof(when), r->info.creation_time),
            sb_snapshot_state_name(r->info.state), r->info.parent,
        };
        sb_table_add_row(t, row);
    }
    if (sb_table_finish(t, stdout) < 0) {
        cli_error(SB_ERR_NO_MEMORY, "out of memory");
        return;
    }
}

static int print_tree(entry *e, const size_t *order, size_t n, const char *root)
{
    const char **names = calloc(n + 1, sizeof(*names));
    const char **parents = calloc(n + 1, sizeof(*parents));
    int ret = -1;

    if (names && parents) {
        for (size_t i = 0; i < n; i++) {
            const entry *r = ROW(e, order, i);
            names[i] = r->name;
            parents[i] = r->info.parent[0] ? r->info.parent : NULL;
        }
        ret = sb_tree_print(stdout, n, names, parents, root);
    }
    free(names);
    free(parents);
    return ret < 0 ? cli_error(SB_ERR_NO_MEMORY, "out of memory") : 0;
}

static int print_json(sb_cli *cli, const char *domain, const char *from, entry *e,
                      const size_t *order, size_t n)
{
    sb_jdoc d;
    json_object *root = sb_jdoc_init(&d, 0);

    sb_jdoc_str(&d, root, "domain", domain);
    sb_jdoc_str(&d, root, "from", from);
    json_object *list = sb_jdoc_array(&d, root, "snapshots");
    for (size_t i = 0; i < n; i++) {
        const entry *r = ROW(e, order, i);
        if (cli_json_snapshot(&d, sb_jdoc_object(&d, list, NULL), cli, domain, r->name,
                              &r->info) < 0) {
            sb_jdoc_free(&d);
            return -1;
        }
    }
    return cli_print_json(&d);
}

/* Collect the names with their info; *out is the caller's. */
static int collect(entry **out, size_t *n, sb_cli *cli, const char *domain, const char *from,
                   unsigned flags)
{
    sb_snapshot_info *info = NULL;
    char **names = NULL;
    size_t count = 0;
    entry *e;

    /* One call for names and infos: a listing of N snapshots costs one
     * store access, not N. */
    if (sb_snapshot_list_info(&names, &info, &count, cli->conn, domain, from, flags) < 0)
        return cli_fail();
    if (!(e = calloc(count + 1, sizeof(*e)))) {
        sb_names_free(names, count);
        free(info);
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        e[i].name = names[i];
        e[i].info = info[i];
        names[i] = NULL;
    }
    sb_names_free(names, count);
    free(info);
    *out = e;
    *n = count;
    return 0;
}

static int sort_entries(const entry *e, size_t n, size_t **order)
{
    const char **names = malloc((n ? n : 1) * sizeof(*names));
    if (!names)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++)
        names[i] = e[i].name;
    int rc = cli_names_order(names, n, order);
    free(names);
    return rc < 0 ? cli_error(SB_ERR_NO_MEMORY, "out of memory") : 0;
}

/* --name: the names alone, so the library builds no info per snapshot
 * (its parent's name, children and descendants counted) only for this to
 * drop it. */
static int print_names(sb_cli *cli, const char *domain, const char *from, unsigned flags)
{
    char **names = NULL;
    size_t n = 0, *order = NULL;

    if (sb_snapshot_list(&names, &n, cli->conn, domain, from, flags) < 0)
        return cli_fail();
    if (!(flags & SB_SNAPSHOT_LIST_TOPOLOGICAL) &&
        cli_names_order((const char *const *)names, n, &order) < 0) {
        sb_names_free(names, n);
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        fputs_unlocked(names[order ? order[i] : i], stdout);
        putc_unlocked('\n', stdout);
    }
    putchar('\n');
    free(order);
    sb_names_free(names, n);
    return 0;
}

static int run_list(sb_cli *cli, const sb_args *args)
{
    const char *domain = sb_args_str(args, "domain");
    const char *from_opt = sb_args_str(args, "from");
    char *current = NULL;
    const char *from;
    unsigned flags = 0;
    entry *e = NULL;
    size_t n = 0, *order = NULL;
    int ret = -1;

    if (sb_args_bool(args, "all-hosts"))
        return cli_fleet_list(cli, args);
    if (check_options(args) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(filter_flags) / sizeof(filter_flags[0]); i++)
        if (sb_args_bool(args, filter_flags[i].opt))
            flags |= filter_flags[i].flag;
    /* ROOTS and DESCENDANTS share bit 0: which one it means depends on
     * whether the listing starts from a snapshot. */
    if (sb_args_bool(args, "roots") || sb_args_bool(args, "descendants"))
        flags |= SB_SNAPSHOT_LIST_ROOTS;

    if (cli_connect(cli) < 0)
        return -1;
    domain = sb_args_str(args, "domain"); /* an ID or UUID is a name now */
    if (sb_args_bool(args, "current") &&
        sb_snapshot_current(&current, cli->conn, domain) < 0)
        return cli_fail();
    from = current ? current : from_opt;
    if (sb_args_bool(args, "name") && !cli_want_json(cli, args)) {
        ret = print_names(cli, domain, from, flags);
        goto cleanup;
    }
    if (collect(&e, &n, cli, domain, from, flags) < 0)
        goto cleanup;
    if (!(flags & SB_SNAPSHOT_LIST_TOPOLOGICAL) && sort_entries(e, n, &order) < 0)
        goto cleanup;

    ret = 0;
    if (cli_want_json(cli, args))
        ret = print_json(cli, domain, from, e, order, n);
    else if (sb_args_bool(args, "tree"))
        ret = print_tree(e, order, n, from);
    else
        print_table(e, order, n, sb_args_bool(args, "parent"));
 cleanup:
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
    free(order);
    free(current);
    return ret;
}

static const sb_optdef list_opts[] = {
    /* required, but for --all-hosts (where it selects domains by name) */
    { "domain", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_DOMAIN, "domain name, id or uuid" },
    { "parent", SB_OPT_BOOL, 0, "add a column showing parent snapshot" },
    { "roots", SB_OPT_BOOL, 0, "list only snapshots without parents" },
    { "leaves", SB_OPT_BOOL, 0, "list only snapshots without children" },
    { "no-leaves", SB_OPT_BOOL, 0, "list only snapshots that are not leaves (with children)" },
    { "metadata", SB_OPT_BOOL, 0, "list only snapshots that have metadata that would prevent undefine" },
    { "no-metadata", SB_OPT_BOOL, 0, "list only snapshots that have no metadata managed by the broker" },
    { "inactive", SB_OPT_BOOL, 0, "filter by snapshots taken while inactive" },
    { "active", SB_OPT_BOOL, 0, "filter by snapshots taken while active (full system snapshots)" },
    { "disk-only", SB_OPT_BOOL, 0, "filter by disk-only snapshots" },
    { "internal", SB_OPT_BOOL, 0, "filter by internal snapshots" },
    { "external", SB_OPT_BOOL, 0, "filter by external snapshots" },
    { "tree", SB_OPT_BOOL, 0, "list snapshots in a tree" },
    { "from", SB_OPT_STRING, SB_OPTF_POSITIONAL, "limit list to children of given snapshot" },
    { "current", SB_OPT_BOOL, 0, "limit list to children of current snapshot" },
    { "descendants", SB_OPT_BOOL, 0, "with --from, list all descendants" },
    { "name", SB_OPT_BOOL, 0, "list snapshot names only" },
    { "topological", SB_OPT_BOOL, 0, "sort list topologically rather than by name" },
    /* the fleet view (cmd_snapshot_fleet.c, docs/fleet.md) */
    { "all-hosts", SB_OPT_BOOL, 0, "every snapshot of every configured host (docs/fleet.md)" },
    { "host", SB_OPT_LIST, 0, "with --all-hosts, only this configured host (repeatable)" },
    { "plugin", SB_OPT_LIST, 0, "with --all-hosts, only hosts of this plugin (repeatable)" },
    { "older-than", SB_OPT_STRING, 0, "with --all-hosts, only snapshots older than this (90m, 30d)" },
    { "larger-than", SB_OPT_STRING, 0, "with --all-hosts, only snapshots known to hold more (10G)" },
    { "summary", SB_OPT_BOOL, 0, "with --all-hosts, one line per host" },
    { "parallel", SB_OPT_STRING, 0, "with --all-hosts, hosts queried at once (default 8)" },
    { "timeout", SB_OPT_STRING, 0, "with --all-hosts, give up on a host after this (default 60s)" },
    SB_OPT_JSON,
    { NULL },
};

/* virsh's exclusions, checked before anything runs. */
static const char *const list_excl[] = {
    "parent", "tree",   "roots", "tree",   "roots", "from",   "roots", "current",
    "tree", "name",     "leaves", "tree",  "no-leaves", "tree", "from", "current",
    NULL,
};

const sb_cmddef sb_cmds_snapshot_list[] = {
    { "snapshot-list", "List snapshots for a domain", "Snapshot List", list_opts, list_excl,
      run_list },
    { NULL },
};
