/* snapbroker CLI - domjobinfo's text, as virsh prints it (pure code:
 * tests/cli/test_cli_units.c checks it without a broker). */
#ifndef SB_CLI_JOBFMT_H
#define SB_CLI_JOBFMT_H

#include <stdio.h>

#include "snapbroker/snapbroker.h"

/* virsh's name of a job's operation ("Snapshot delete", "Active Block
 * Commit"...) for the plugin's one ("snapshot-delete",
 * "active-block-commit"); an unknown one is printed as the plugin gave it. */
const char *cli_job_operation_name(const char *operation);

/* virsh's vshPrettyCapacity: the value in B, KiB, MiB... (*unit). */
double cli_pretty_capacity(unsigned long long bytes, const char **unit);

/* "Job type:  None" alone when no job runs; else the type, operation,
 * elapsed time and, when known, the data processed, remaining and total,
 * column for column as virsh domjobinfo. */
void cli_print_job(FILE *out, const sb_domain_job *j);

#endif
