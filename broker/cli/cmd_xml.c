/* snapbroker CLI - xml-normalize: the XML engine on its own, no broker and
 * no host; the tool conformance suites feed documents to. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "snapbroker/xml.h"

static int parse_time(long long *out, const char *s)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return cli_error(SB_ERR_INVALID_ARG, "invalid --creation-time '%s': expected an integer", s);
    return 0;
}

static int run_normalize(sb_cli *cli, const sb_args *args)
{
    const char *file = sb_args_str(args, "file");
    const char *domfile = sb_args_str(args, "domain");
    const char *ctime = sb_args_str(args, "creation-time");
    sb_normalize_opts o;
    char *xml = NULL, *dom = NULL, *out = NULL;
    int ret = -1;

    (void)cli;
    memset(&o, 0, sizeof(o));
    o.redefine = sb_args_bool(args, "redefine");
    o.running = sb_args_bool(args, "running");
    o.offline = sb_args_bool(args, "offline");
    o.disk_only = sb_args_bool(args, "disk-only");
    o.validate = sb_args_bool(args, "validate");
    o.secure = sb_args_bool(args, "security-info");
    if (ctime && parse_time(&o.creation_time, ctime) < 0)
        return -1;
    if (cli_read_file(&xml, file) < 0)
        return -1;
    if (domfile && cli_read_file(&dom, domfile) < 0)
        goto cleanup;
    o.domain_xml = dom;
    if (sb_xml_normalize(xml, strlen(xml), file, &o, &out) < 0) {
        cli_fail();
        goto cleanup;
    }
    fputs(out, stdout);
    if (!*out || out[strlen(out) - 1] != '\n')
        putchar('\n');
    ret = 0;
 cleanup:
    free(out);
    free(dom);
    free(xml);
    return ret;
}

static const sb_optdef normalize_opts[] = {
    { "redefine", SB_OPT_BOOL, 0, "parse as a redefinition (all fields kept, required ones enforced)" },
    { "domain", SB_OPT_STRING, 0, "domain XML file: disks are aligned with it and it is embedded" },
    { "creation-time", SB_OPT_STRING, 0, "creation time to use in create mode (default: now)" },
    { "running", SB_OPT_BOOL, 0, "the guest is running (the default)" },
    { "offline", SB_OPT_BOOL, 0, "the guest is shut off" },
    { "disk-only", SB_OPT_BOOL, 0, "disk-only snapshot (SB_SNAPSHOT_CREATE_DISK_ONLY)" },
    { "validate", SB_OPT_BOOL, 0, "validate against the RelaxNG schema first" },
    { "security-info", SB_OPT_BOOL, 0, "keep security-sensitive parts of <domain>" },
    { "file", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED, "the <domainsnapshot> document" },
    { NULL },
};
static const char *const normalize_excl[] = { "running", "offline", NULL };

const sb_cmddef sb_cmds_xml[] = {
    { "xml-normalize", "print a snapshot document normalized",
      "Parse, validate and normalize a <domainsnapshot> document and print its canonical form.",
      normalize_opts, normalize_excl, run_normalize },
    { NULL },
};
