/* snapbroker CLI - domjobinfo, domjobabort: a domain's long job (a
 * snapshot delete's commit...) watched or stopped from another terminal. */
#include "cli.h"
#include "jobfmt.h"
#include "output.h"

#include <stdio.h>

static int run_domjobinfo(sb_cli *cli, const sb_args *args)
{
    const char *domain;
    sb_domain_job j;

    if (cli_connect(cli) < 0)
        return -1;
    domain = sb_args_str(args, "domain"); /* an ID or UUID resolved by now */
    if (sb_domain_job_info(&j, cli->conn, domain) < 0)
        return cli_fail();
    if (cli_want_json(cli, args)) {
        sb_jdoc d;
        json_object *root = sb_jdoc_init(&d, 0);
        sb_jdoc_str(&d, root, "domain", domain);
        sb_jdoc_bool(&d, root, "active", j.active);
        if (j.active) {
            sb_jdoc_str(&d, root, "operation", j.operation);
            sb_jdoc_str(&d, root, "snapshot", j.snapshot[0] ? j.snapshot : NULL);
            sb_jdoc_int(&d, root, "elapsed_ms", j.elapsed_ms);
            sb_jdoc_uint(&d, root, "processed", j.processed);
            sb_jdoc_uint(&d, root, "total", j.total);
        }
        return cli_print_json(&d);
    } else {
        cli_print_job(stdout, &j);
        putchar('\n'); /* virsh ends its report with an empty line */
    }
    return 0;
}

static int run_domjobabort(sb_cli *cli, const sb_args *args)
{
    if (cli_connect(cli) < 0)
        return -1;
    if (sb_domain_job_abort(cli->conn, sb_args_str(args, "domain")) < 0)
        return cli_fail();
    return 0; /* virsh prints nothing */
}

static const sb_optdef jobinfo_opts[] = { SB_OPT_DOMAIN, SB_OPT_JSON, { NULL } };
static const sb_optdef jobabort_opts[] = { SB_OPT_DOMAIN, { NULL } };

const sb_cmddef sb_cmds_job[] = {
    { "domjobinfo", "domain job information",
      "Returns information about the job running on a domain (a snapshot delete's block "
      "commit...), whichever process started it.", jobinfo_opts, NULL, run_domjobinfo },
    { "domjobabort", "abort active domain job",
      "Aborts the job running on a domain; returns once it has stopped. The operation that "
      "ran it fails.", jobabort_opts, NULL, run_domjobabort },
    { NULL },
};
