/* snapbroker CLI - per-command help in virsh's layout (NAME, SYNOPSIS,
 * DESCRIPTION, OPTIONS), generated from the option tables. */
#include <string.h>

#include "cli.h"

static void synopsis_opt(FILE *out, const sb_optdef *d)
{
    int pos = d->flags & SB_OPTF_POSITIONAL, req = d->flags & SB_OPTF_REQUIRED;

    if (d->type == SB_OPT_BOOL)
        fprintf(out, " [--%s]", d->name);
    else if (d->type == SB_OPT_LIST)
        fprintf(out, pos ? " [[--%s] <string>]..." : " [--%s <string>]...", d->name);
    else if (req)
        fprintf(out, " <%s>", d->name);
    else
        fprintf(out, " [--%s <string>]", d->name);
}

void cli_print_command_help(FILE *out, const sb_cmddef *cmd)
{
    char left[128];

    fprintf(out, "  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", cmd->name, cmd->summary, cmd->name);
    for (const sb_optdef *d = cmd->opts; d->name; d++)
        synopsis_opt(out, d);
    fprintf(out, "\n\n  DESCRIPTION\n    %s\n\n", cmd->description);
    if (!cmd->opts[0].name)
        return;
    fprintf(out, "  OPTIONS\n");
    for (const sb_optdef *d = cmd->opts; d->name; d++) {
        if (d->type == SB_OPT_BOOL)
            snprintf(left, sizeof(left), "--%s", d->name);
        else if (d->flags & SB_OPTF_POSITIONAL)
            snprintf(left, sizeof(left), "[--%s] <string>", d->name);
        else
            snprintf(left, sizeof(left), "--%s <string>", d->name);
        fprintf(out, "    %-15s  %s\n", left, d->help);
    }
    fputc('\n', out);
}
