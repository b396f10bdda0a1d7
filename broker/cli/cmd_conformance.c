/* snapbroker CLI - `conformance`: the conformance kit (broker/conformance/,
 * docs/conformance.md) against the host of -c. */
#include "cli.h"
#include "kit.h"

static int run_conformance(sb_cli *cli, const sb_args *args)
{
    struct sbk_options o = {
        .config = cli->config,
        .host = cli->connect,
        .list = sb_args_bool(args, "list"),
        .format = sb_args_bool(args, "tap") ? SBK_TAP : SBK_HUMAN,
        .junit = sb_args_str(args, "junit"),
        .domain = sb_args_str(args, "domain"),
        .guest_data = sb_args_str(args, "guest-data"),
        .out = stdout,
    };
    o.nonly = sb_args_list(args, "only", &o.only);
    return sbk_main(&o) == 0 ? 0 : -1;
}

static const sb_optdef conformance_opts[] = {
    { "only", SB_OPT_LIST, 0, "run only this scenario (ID, or a prefix ending in '*'); repeatable" },
    { "list", SB_OPT_BOOL, 0, "list the scenarios (ID, section, rule, needs) and run nothing" },
    { "tap", SB_OPT_BOOL, 0, "TAP output (for meson test, prove)" },
    { "junit", SB_OPT_STRING, 0, "also write a JUnit XML report to this file" },
    { "domain", SB_OPT_STRING, 0,
      "work on this existing domain (no snapshots) instead of scratch domains" },
    { "guest-data", SB_OPT_STRING, 0,
      "how to read and write guest data for the data scenarios: qemu-io" },
    { NULL },
};

const sb_cmddef sb_cmds_conformance[] = {
    { "conformance", "run the conformance kit against a host",
      "Check, scenario by scenario, that the host's plugin behaves as docs/semantics.md says "
      "for the capabilities it declares; scenarios it does not declare are skipped with the "
      "reason.  Exit status 1 when a scenario fails (docs/conformance.md).",
      conformance_opts, NULL, run_conformance },
    { NULL },
};
