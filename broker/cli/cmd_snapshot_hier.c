/* snapbroker CLI - snapshot-export and snapshot-import: a whole snapshot
 * hierarchy as one <domainsnapshots> document (docs/format.md, "Snapshot
 * hierarchies"; docs/migration.md walks through a move between hosts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Write xml to path (cli_write_file), or to stdout for NULL or "-". */
static int write_out(const char *path, const char *xml, int secret)
{
    if (!path || strcmp(path, "-") == 0) {
        fputs(xml, stdout);
        return 0;
    }
    return cli_write_file(path, xml, secret);
}

static int run_export(sb_cli *cli, const sb_args *args)
{
    unsigned flags = sb_args_bool(args, "security-info") ? SB_SNAPSHOT_XML_SECURE : 0;
    char *xml = NULL;
    int ret;

    if (cli_connect(cli) < 0)
        return -1;
    if (sb_snapshot_export(&xml, cli->conn, sb_args_str(args, "domain"),
                           sb_args_str(args, "from"), flags) < 0)
        return cli_fail();
    ret = write_out(sb_args_str(args, "file"), xml, (flags & SB_SNAPSHOT_XML_SECURE) != 0);
    free(xml);
    return ret;
}

/* --map-path OLD=NEW, each split at its first '=' (paths rarely hold one;
 * a path that does can be given through the API). */
static int parse_maps(sb_path_map **out, char ***strings, const char *const *specs, size_t n)
{
    sb_path_map *maps = calloc(n + 1, sizeof(*maps));
    char **copies = calloc(n + 1, sizeof(*copies));

    *out = maps;
    *strings = copies;
    if (!maps || !copies)
        return cli_error(SB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char *eq;
        if (!(copies[i] = strdup(specs[i])))
            return cli_error(SB_ERR_NO_MEMORY, "out of memory");
        if (!(eq = strchr(copies[i], '=')) || eq == copies[i] || !eq[1])
            return cli_error(SB_ERR_INVALID_ARG, "--map-path '%s': expected OLD=NEW", specs[i]);
        *eq = '\0';
        maps[i] = (sb_path_map){ copies[i], eq + 1 };
    }
    return 0;
}

static int run_import(sb_cli *cli, const sb_args *args)
{
    const char *domain = sb_args_str(args, "domain"), *file = sb_args_str(args, "file");
    const char *const *specs = NULL;
    size_t nmaps = sb_args_list(args, "map-path", &specs), n = 0;
    unsigned flags = 0;
    sb_path_map *maps = NULL;
    char **strings = NULL, *xml = NULL;
    int ret = -1;

    if (sb_args_bool(args, "current"))
        flags |= SB_SNAPSHOT_IMPORT_CURRENT;
    if (sb_args_bool(args, "validate"))
        flags |= SB_SNAPSHOT_IMPORT_VALIDATE;
    if (parse_maps(&maps, &strings, specs, nmaps) < 0 || cli_read_file(&xml, file) < 0 ||
        cli_connect(cli) < 0)
        goto out;
    domain = sb_args_str(args, "domain"); /* an ID or UUID is a name now */
    if (sb_snapshot_import(&n, cli->conn, domain, xml, strlen(xml), file, maps, nmaps, flags) < 0) {
        ret = cli_fail();
        goto out;
    }
    printf("Domain '%s': %zu snapshot%s imported from '%s'\n\n", domain, n, n == 1 ? "" : "s",
           file);
    ret = 0;
out:
    for (size_t i = 0; strings && i < nmaps; i++)
        free(strings[i]);
    free(strings);
    free(maps);
    free(xml);
    return ret;
}

static const sb_optdef export_opts[] = {
    SB_OPT_DOMAIN,
    { "from", SB_OPT_STRING, 0, "export only this snapshot and its descendants" },
    { "file", SB_OPT_STRING, 0, "write the document to this file instead of standard output" },
    { "security-info", SB_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    { NULL },
};

static const sb_optdef import_opts[] = {
    SB_OPT_DOMAIN,
    { "file", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED,
      "a <domainsnapshots> document (snapshot-export)" },
    { "map-path", SB_OPT_LIST, 0,
      "OLD=NEW: move disk and memory paths under OLD to NEW (repeatable)" },
    { "current", SB_OPT_BOOL, 0, "make the snapshot marked current='yes' current" },
    { "validate", SB_OPT_BOOL, 0, "validate every entry against the schema" },
    { NULL },
};

const sb_cmddef sb_cmds_snapshot_hier[] = {
    { "snapshot-export", "Export a domain's snapshot hierarchy as one document",
      "Write every snapshot of the domain (or of the subtree --from), parents first, as one "
      "<domainsnapshots> document whose entries are what snapshot-dumpxml prints; the current "
      "snapshot carries current='yes'.",
      export_opts, NULL, run_export },
    { "snapshot-import", "Redefine a whole snapshot hierarchy from one document",
      "Redefine every snapshot of a <domainsnapshots> document in the domain, all or nothing, "
      "each with the checks of snapshot-create --redefine.",
      import_opts, NULL, run_import },
    { NULL },
};
