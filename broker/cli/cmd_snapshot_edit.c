/* snapbroker CLI - snapshot-edit: the snapshot's XML in the user's editor,
 * then redefined, as virsh's snapshot-edit.
 *
 * Where virsh changes something before it finds a problem, we look first,
 * so a refused edit changes nothing: a new name without --rename/--clone
 * is refused before the redefine (virsh redefines, then deletes the copy),
 * and so is a new name that another snapshot already has (virsh would
 * overwrite that snapshot's definition).  docs/cli.md lists both. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xpath.h"

static int name_taken(sb_cli *cli, const char *domain, const char *name)
{
    char *xml = NULL;
    int rc = sb_snapshot_get_xml(&xml, cli->conn, domain, name, 0);

    free(xml);
    if (rc == 0)
        return 1;
    if (sb_error_last() && sb_error_last()->code == SB_ERR_NO_DOMAIN_SNAPSHOT)
        return 0;
    return cli_fail();
}

/* After the edit: redefine, then what --rename / --clone ask for. */
static int apply(sb_cli *cli, const sb_args *args, const char *domain, const char *name,
                 const char *orig, const char *edited)
{
    int rename = sb_args_bool(args, "rename"), clone = sb_args_bool(args, "clone");
    unsigned flags = SB_SNAPSHOT_CREATE_REDEFINE;
    char *new_name = NULL, *defined = NULL;
    int ret = -1;

    /* --current sets the edited snapshot current only with a name given
     * (without one, --current is how the snapshot was chosen), as virsh. */
    if (sb_args_bool(args, "current") && sb_args_str(args, "snapshotname"))
        flags |= SB_SNAPSHOT_CREATE_CURRENT;
    if (strstr(orig, "<state>disk-snapshot</state>"))
        flags |= SB_SNAPSHOT_CREATE_DISK_ONLY;

    if (strcmp(orig, edited) == 0 && !(flags & SB_SNAPSHOT_CREATE_CURRENT)) {
        printf("Snapshot %s XML configuration not changed.\n\n", name);
        return 0;
    }
    /* A document that does not parse keeps the old name here; the
     * redefine below refuses it with the library's own message. */
    new_name = sb_xpath_string(edited, "string(/domainsnapshot/name)");
    if (new_name && *new_name && strcmp(new_name, name) != 0) {
        if (!rename && !clone) {
            cli_error(SB_ERR_INVALID_ARG, "Must use --rename or --clone to change %s to %s; "
                      "nothing was changed", name, new_name);
            goto out;
        }
        int taken = name_taken(cli, domain, new_name);
        if (taken != 0) {
            if (taken > 0)
                cli_error(SB_ERR_OPERATION_INVALID, "snapshot '%s' already exists in domain "
                          "'%s'; nothing was changed", new_name, domain);
            goto out;
        }
    }
    if (sb_snapshot_create_xml(&defined, cli->conn, domain, edited, flags) < 0) {
        cli_fail();
        goto out;
    }
    if (strcmp(defined, name) == 0) {
        printf("Snapshot %s edited.\n\n", name);
    } else if (clone) {
        printf("Snapshot %s cloned to %s.\n\n", name, defined);
    } else if (sb_snapshot_delete(cli->conn, domain, name,
                                  SB_SNAPSHOT_DELETE_METADATA_ONLY) < 0) {
        /* --rename: the old name's metadata goes; virsh prints nothing */
        const sb_error *e = sb_error_last();
        cli_error(e ? e->code : SB_ERR_INTERNAL_ERROR,
                  "snapshot %s was defined, but %s could not be removed: %s", defined, name,
                  e ? e->message : "unknown error");
        goto out;
    }
    ret = 0;
out:
    free(defined);
    free(new_name);
    return ret;
}

static int run_edit(sb_cli *cli, const sb_args *args)
{
    const char *given = sb_args_str(args, "snapshotname");
    char *name = NULL, *xml = NULL, *edited = NULL;
    int ret = -1;

    if (!given && !sb_args_bool(args, "current"))
        return cli_error(SB_ERR_INVALID_ARG, "--snapshotname or --current is required");
    if (cli_connect(cli) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain");
    if (given)
        name = strdup(given);
    else if (sb_snapshot_current(&name, cli->conn, domain) < 0)
        return cli_fail();
    if (!name)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    /* the whole definition, secrets included, so redefining it loses
     * nothing (virsh asks for the same) */
    if (sb_snapshot_get_xml(&xml, cli->conn, domain, name, SB_SNAPSHOT_XML_SECURE) < 0)
        cli_fail();
    else if (cli_edit_text(&edited, xml) == 0)
        ret = apply(cli, args, domain, name, xml, edited);
    free(edited);
    free(xml);
    free(name);
    return ret;
}

static const sb_optdef edit_opts[] = {
    SB_OPT_DOMAIN,
    { "snapshotname", SB_OPT_STRING, SB_OPTF_POSITIONAL, "snapshot name" },
    { "current", SB_OPT_BOOL, 0, "also set edited snapshot as current" },
    { "rename", SB_OPT_BOOL, 0, "allow renaming an existing snapshot" },
    { "clone", SB_OPT_BOOL, 0, "allow cloning to new name" },
    { NULL },
};
static const char *const edit_excl[] = { "rename", "clone", NULL };

const sb_cmddef sb_cmds_snapshot_edit[] = {
    { "snapshot-edit", "edit XML for a snapshot",
      "Edit the domain snapshot XML for a named snapshot (in $VISUAL, $EDITOR or vi), "
      "then redefine it.",
      edit_opts, edit_excl, run_edit },
    { NULL },
};
