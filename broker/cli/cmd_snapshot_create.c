/* snapbroker CLI - snapshot-create and snapshot-create-as. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spec.h"

/* The create flags both commands share, by option name. */
static const struct { const char *opt; unsigned flag; } create_flags[] = {
    { "no-metadata", SB_SNAPSHOT_CREATE_NO_METADATA },
    { "halt", SB_SNAPSHOT_CREATE_HALT },
    { "disk-only", SB_SNAPSHOT_CREATE_DISK_ONLY },
    { "reuse-external", SB_SNAPSHOT_CREATE_REUSE_EXT },
    { "quiesce", SB_SNAPSHOT_CREATE_QUIESCE },
    { "atomic", SB_SNAPSHOT_CREATE_ATOMIC },
    { "live", SB_SNAPSHOT_CREATE_LIVE },
    { "validate", SB_SNAPSHOT_CREATE_VALIDATE },
};

static unsigned common_flags(const sb_args *args)
{
    unsigned flags = 0;
    for (size_t i = 0; i < sizeof(create_flags) / sizeof(create_flags[0]); i++)
        if (sb_args_bool(args, create_flags[i].opt))
            flags |= create_flags[i].flag;
    return flags;
}

#define CREATE_FLAG_OPTS \
    { "no-metadata", SB_OPT_BOOL, 0, "take snapshot but create no metadata" }, \
    { "halt", SB_OPT_BOOL, 0, "halt domain after snapshot is created" }, \
    { "disk-only", SB_OPT_BOOL, 0, "capture disk state but not vm state" }, \
    { "reuse-external", SB_OPT_BOOL, 0, "reuse any existing external files" }, \
    { "quiesce", SB_OPT_BOOL, 0, "quiesce guest's file systems" }, \
    { "atomic", SB_OPT_BOOL, 0, "require atomic operation" }, \
    { "live", SB_OPT_BOOL, 0, "take a live snapshot" }, \
    { "validate", SB_OPT_BOOL, 0, "validate the XML against the schema" }

static int create(sb_cli *cli, const sb_args *args, const char *xml, unsigned flags,
                  const char *from_file)
{
    char *name = NULL;

    if (cli_connect(cli) < 0)
        return -1;
    const char *domain = sb_args_str(args, "domain"); /* after the ID/UUID lookup */
    if (sb_snapshot_create_xml(&name, cli->conn, domain, xml, flags) < 0)
        return cli_fail();
    if (from_file)
        printf("Domain snapshot %s created from '%s'\n", name, from_file);
    else
        printf("Domain snapshot %s created\n", name);
    free(name);
    return 0;
}

static int run_create(sb_cli *cli, const sb_args *args)
{
    const char *file = sb_args_str(args, "xmlfile");
    unsigned flags = common_flags(args);
    char *xml = NULL;
    int ret;

    if (sb_args_bool(args, "redefine"))
        flags |= SB_SNAPSHOT_CREATE_REDEFINE;
    if (sb_args_bool(args, "current"))
        flags |= SB_SNAPSHOT_CREATE_CURRENT;
    if (file && cli_read_file(&xml, file) < 0)
        return -1;
    /* Without a file virsh sends an empty document: every field takes
     * its default (name = creation time, ...). */
    ret = create(cli, args, xml ? xml : "<domainsnapshot/>", flags, file);
    free(xml);
    return ret;
}

static int run_create_as(sb_cli *cli, const sb_args *args)
{
    const char *const *disks = NULL;
    size_t ndisks = sb_args_list(args, "diskspec", &disks);
    char err[1024], *xml = NULL;
    int ret;

    if (sb_createas_xml(&xml, sb_args_str(args, "name"), sb_args_str(args, "description"),
                        sb_args_str(args, "memspec"), disks, ndisks, err, sizeof(err)) < 0)
        return cli_error(SB_ERR_INVALID_ARG, "%s", err);
    if (sb_args_bool(args, "print-xml")) {
        /* virsh prints the document and two empty lines; no host needed. */
        printf("%s\n\n", xml);
        free(xml);
        return 0;
    }
    ret = create(cli, args, xml, common_flags(args), NULL);
    free(xml);
    return ret;
}

static const sb_optdef create_opts[] = {
    SB_OPT_DOMAIN,
    { "xmlfile", SB_OPT_STRING, SB_OPTF_POSITIONAL, "domain snapshot XML" },
    { "redefine", SB_OPT_BOOL, 0, "redefine metadata for existing snapshot" },
    { "current", SB_OPT_BOOL, 0, "with redefine, set current snapshot" },
    CREATE_FLAG_OPTS,
    { NULL },
};

static const sb_optdef create_as_opts[] = {
    SB_OPT_DOMAIN,
    { "name", SB_OPT_STRING, SB_OPTF_POSITIONAL, "name of snapshot" },
    { "description", SB_OPT_STRING, SB_OPTF_POSITIONAL, "description of snapshot" },
    { "print-xml", SB_OPT_BOOL, 0, "print XML document rather than create" },
    CREATE_FLAG_OPTS,
    { "memspec", SB_OPT_STRING, 0, "memory attributes: [file=]name[,snapshot=type]" },
    { "diskspec", SB_OPT_LIST, SB_OPTF_POSITIONAL,
      "disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]" },
    { NULL },
};

const sb_cmddef sb_cmds_snapshot_create[] = {
    { "snapshot-create", "Create a snapshot from XML",
      "Create a snapshot from an XML <domainsnapshot> document (or all defaults without FILE).",
      create_opts, NULL, run_create },
    { "snapshot-create-as", "Create a snapshot from a set of args",
      "Create a snapshot (disk and RAM) from arguments; extra words are disk specs.",
      create_as_opts, NULL, run_create_as },
    { NULL },
};
