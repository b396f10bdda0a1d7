/* snapbroker CLI - snapshot-current, -info, -dumpxml, -parent, -revert,
 * -delete: the commands that act on one snapshot. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/* SNAPSHOTNAME or --current, exactly one of them (virsh's wording). */
static int check_target(const sb_args *args)
{
    int cur = sb_args_bool(args, "current");
    const char *name = sb_args_str(args, "snapshotname");

    if (cur && name)
        return cli_error(SB_ERR_INVALID_ARG, "--snapshotname and --current are mutually exclusive");
    if (!cur && !name)
        return cli_error(SB_ERR_INVALID_ARG, "--snapshotname or --current is required");
    return 0;
}

/* After check_target and cli_connect: the snapshot's name (malloc'd). */
static int resolve_target(char **out, sb_cli *cli, const sb_args *args)
{
    const char *name = sb_args_str(args, "snapshotname");

    if (name) {
        if (!(*out = strdup(name)))
            return cli_error(SB_ERR_NO_MEMORY, "out of memory");
        return 0;
    }
    if (sb_snapshot_current(out, cli->conn, sb_args_str(args, "domain")) < 0)
        return cli_fail();
    return 0;
}

/* Check, connect and resolve: the common start of these commands. */
static int begin(char **name, sb_cli *cli, const sb_args *args)
{
    *name = NULL;
    if (check_target(args) < 0 || cli_connect(cli) < 0)
        return -1;
    return resolve_target(name, cli, args);
}

static int run_current(sb_cli *cli, const sb_args *args)
{
    const char *set = sb_args_str(args, "snapshotname");
    char *name = NULL, *xml = NULL;
    int ret = -1;

    if (cli_connect(cli) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain"); /* after the ID/UUID lookup */
    if (set) {
        if (sb_snapshot_set_current(cli->conn, domain, set) < 0)
            return cli_fail();
        printf("Snapshot %s set as current\n", set);
        return 0;
    }
    if (sb_snapshot_current(&name, cli->conn, domain) < 0)
        return cli_fail();
    if (sb_args_bool(args, "name")) {
        if (cli_want_json(cli, args)) {
            sb_jdoc d;
            json_object *root = sb_jdoc_init(&d, 0);
            sb_jdoc_str(&d, root, "domain", domain);
            sb_jdoc_str(&d, root, "current", name);
            ret = cli_print_json(&d);
        } else {
            printf("%s\n", name);
            ret = 0;
        }
    } else if (sb_snapshot_get_xml(&xml, cli->conn, domain, name,
                                   sb_args_bool(args, "security-info") ? SB_SNAPSHOT_XML_SECURE : 0) < 0) {
        cli_fail();
    } else {
        cli_print_xml(xml);
        ret = 0;
    }
    free(xml);
    free(name);
    return ret;
}

static void print_info(const char *domain, const char *name, const sb_snapshot_info *in)
{
    printf("%-15s %s\n", "Name:", name);
    printf("%-15s %s\n", "Domain:", domain);
    printf("%-15s %s\n", "Current:", in->is_current ? "yes" : "no");
    printf("%-15s %s\n", "State:", sb_snapshot_state_name(in->state));
    printf("%-15s %s\n", "Location:", in->external ? "external" : "internal");
    printf("%-15s %s\n", "Parent:", in->parent[0] ? in->parent : "-");
    printf("%-15s %zu\n", "Children:", in->children);
    printf("%-15s %zu\n", "Descendants:", in->descendants);
    printf("%-15s %s\n\n", "Metadata:", in->has_metadata ? "yes" : "no");
}

static int run_info(sb_cli *cli, const sb_args *args)
{
    sb_snapshot_info info;
    char *name;
    int ret = -1;

    if (begin(&name, cli, args) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain"); /* after the ID/UUID lookup */
    if (sb_snapshot_info_get(&info, cli->conn, domain, name) < 0) {
        cli_fail();
    } else {
        if (cli_want_json(cli, args)) {
            sb_jdoc d;
            if (cli_json_snapshot(&d, sb_jdoc_init(&d, 0), cli, domain, name, &info) < 0)
                sb_jdoc_free(&d);
            else
                ret = cli_print_json(&d);
        } else {
            print_info(domain, name, &info);
            ret = 0;
        }
    }
    free(name);
    return ret;
}

static int run_dumpxml(sb_cli *cli, const sb_args *args)
{
    char *xml = NULL;

    if (cli_connect(cli) < 0)
        return -1;
    if (sb_snapshot_get_xml(&xml, cli->conn, sb_args_str(args, "domain"),
                            sb_args_str(args, "snapshotname"),
                            sb_args_bool(args, "security-info") ? SB_SNAPSHOT_XML_SECURE : 0) < 0)
        return cli_fail();
    int ret = cli_print_xml_filtered(xml, sb_args_str(args, "xpath"), sb_args_bool(args, "wrap"));
    free(xml);
    return ret;
}

static int run_parent(sb_cli *cli, const sb_args *args)
{
    char *name, *parent = NULL;
    int ret = -1;

    if (begin(&name, cli, args) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain"); /* after the ID/UUID lookup */
    if (sb_snapshot_parent(&parent, cli->conn, domain, name) < 0) {
        cli_fail();
    } else {
        if (cli_want_json(cli, args)) {
            sb_jdoc d;
            json_object *root = sb_jdoc_init(&d, 0);
            sb_jdoc_str(&d, root, "domain", domain);
            sb_jdoc_str(&d, root, "name", name);
            sb_jdoc_str(&d, root, "parent", parent);
            ret = cli_print_json(&d);
        } else {
            printf("%s\n", parent);
            ret = 0;
        }
    }
    free(parent);
    free(name);
    return ret;
}

static int run_revert(sb_cli *cli, const sb_args *args)
{
    unsigned flags = 0;
    char *name;
    int ret = -1;

    /* --running with --paused is left to the library, which refuses it
     * with INVALID_ARG as libvirt's API layer does. */
    if (sb_args_bool(args, "running"))
        flags |= SB_SNAPSHOT_REVERT_RUNNING;
    if (sb_args_bool(args, "paused"))
        flags |= SB_SNAPSHOT_REVERT_PAUSED;
    if (sb_args_bool(args, "force"))
        flags |= SB_SNAPSHOT_REVERT_FORCE;
    if (sb_args_bool(args, "reset-nvram"))
        flags |= SB_SNAPSHOT_REVERT_RESET_NVRAM;
    if (begin(&name, cli, args) < 0)
        return -1;
    if (sb_snapshot_revert(cli->conn, sb_args_str(args, "domain"), name, flags) < 0) {
        cli_fail();
    } else {
        printf("Domain snapshot %s reverted\n\n", name);
        ret = 0;
    }
    free(name);
    return ret;
}

static int run_delete(sb_cli *cli, const sb_args *args)
{
    unsigned flags = 0;
    char *name;
    int ret = -1;

    if (sb_args_bool(args, "children"))
        flags |= SB_SNAPSHOT_DELETE_CHILDREN;
    if (sb_args_bool(args, "children-only"))
        flags |= SB_SNAPSHOT_DELETE_CHILDREN_ONLY;
    if (sb_args_bool(args, "metadata"))
        flags |= SB_SNAPSHOT_DELETE_METADATA_ONLY;
    if (begin(&name, cli, args) < 0)
        return -1;
    if (sb_snapshot_delete(cli->conn, sb_args_str(args, "domain"), name, flags) < 0) {
        cli_fail();
    } else {
        if (flags & SB_SNAPSHOT_DELETE_CHILDREN_ONLY)
            printf("Domain snapshot %s children deleted\n\n", name);
        else
            printf("Domain snapshot %s deleted\n\n", name);
        ret = 0;
    }
    free(name);
    return ret;
}

#define OPT_SNAPNAME(help) { "snapshotname", SB_OPT_STRING, SB_OPTF_POSITIONAL, help }

static const sb_optdef current_opts[] = {
    SB_OPT_DOMAIN,
    { "name", SB_OPT_BOOL, 0, "list the name, rather than the full xml" },
    { "security-info", SB_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    OPT_SNAPNAME("name of existing snapshot to make current"),
    SB_OPT_JSON,
    { NULL },
};
static const char *const current_excl[] = {
    "name", "snapshotname", "security-info", "snapshotname", "json", "snapshotname", NULL,
};

static const sb_optdef info_opts[] = {
    SB_OPT_DOMAIN,
    OPT_SNAPNAME("snapshot name"),
    { "current", SB_OPT_BOOL, 0, "info on current snapshot" },
    SB_OPT_JSON,
    { NULL },
};

static const sb_optdef dumpxml_opts[] = {
    SB_OPT_DOMAIN,
    { "snapshotname", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED, "snapshot name" },
    { "security-info", SB_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    SB_OPT_XPATH,
    { NULL },
};

static const sb_optdef parent_opts[] = {
    SB_OPT_DOMAIN,
    OPT_SNAPNAME("find parent of snapshot name"),
    { "current", SB_OPT_BOOL, 0, "find parent of current snapshot" },
    SB_OPT_JSON,
    { NULL },
};

static const sb_optdef revert_opts[] = {
    SB_OPT_DOMAIN,
    OPT_SNAPNAME("snapshot name"),
    { "current", SB_OPT_BOOL, 0, "revert to current snapshot" },
    { "running", SB_OPT_BOOL, 0, "after reverting, change state to running" },
    { "paused", SB_OPT_BOOL, 0, "after reverting, change state to paused" },
    { "force", SB_OPT_BOOL, 0, "try harder on risky reverts" },
    { "reset-nvram", SB_OPT_BOOL, 0, "re-initialize NVRAM from its pristine template" },
    { NULL },
};

static const sb_optdef delete_opts[] = {
    SB_OPT_DOMAIN,
    OPT_SNAPNAME("snapshot name"),
    { "current", SB_OPT_BOOL, 0, "delete current snapshot" },
    { "children", SB_OPT_BOOL, 0, "delete snapshot and all children" },
    { "children-only", SB_OPT_BOOL, 0, "delete children but not snapshot" },
    { "metadata", SB_OPT_BOOL, 0, "delete only metadata, leaving snapshot contents behind" },
    { NULL },
};

const sb_cmddef sb_cmds_snapshot_misc[] = {
    { "snapshot-current", "Get or set the current snapshot",
      "Get or set the current snapshot: its XML, its name (--name), or make SNAPSHOTNAME current.",
      current_opts, current_excl, run_current },
    { "snapshot-info", "snapshot information", "Returns basic information about a snapshot.",
      info_opts, NULL, run_info },
    { "snapshot-dumpxml", "Dump XML for a domain snapshot", "Snapshot Dump XML",
      dumpxml_opts, NULL, run_dumpxml },
    { "snapshot-parent", "Get the name of the parent of a snapshot",
      "Extract the snapshot's parent, if any", parent_opts, NULL, run_parent },
    { "snapshot-revert", "Revert a domain to a snapshot", "Revert domain to snapshot",
      revert_opts, NULL, run_revert },
    { "snapshot-delete", "Delete a domain snapshot", "Snapshot Delete",
      delete_opts, NULL, run_delete },
    { NULL },
};
