/* snapbroker CLI - domjobinfo's text (jobfmt.h). */
#include "jobfmt.h"

#include <string.h>

const char *cli_job_operation_name(const char *operation)
{
    /* libvirt's domain job operations (virshDomainJobOperation), then its
     * block job types (virshDomainBlockJobType): one run of domjobinfo
     * reports either kind */
    static const char *const names[][2] = {
        { "unknown", "Unknown" },
        { "start", "Start" },
        { "save", "Save" },
        { "restore", "Restore" },
        { "migration-in", "Incoming migration" },
        { "migration-out", "Outgoing migration" },
        { "snapshot", "Snapshot" },
        { "snapshot-revert", "Snapshot revert" },
        { "dump", "Dump" },
        { "backup", "Backup" },
        { "snapshot-delete", "Snapshot delete" },
        { "block-pull", "Block Pull" },
        { "block-copy", "Block Copy" },
        { "block-commit", "Block Commit" },
        { "active-block-commit", "Active Block Commit" },
        { "block-job", "Unknown job" },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(operation, names[i][0]) == 0)
            return names[i][1];
    return operation;
}

double cli_pretty_capacity(unsigned long long bytes, const char **unit)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    size_t i = 0;

    while (v >= 1024.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        i++;
    }
    *unit = units[i];
    return v;
}

static void data_line(FILE *out, const char *label, unsigned long long bytes)
{
    const char *unit;
    double v = cli_pretty_capacity(bytes, &unit);

    fprintf(out, "%-17s %-.3lf %s\n", label, v, unit);
}

void cli_print_job(FILE *out, const sb_domain_job *j)
{
    if (!j->active) {
        fprintf(out, "%-17s %-12s\n", "Job type:", "None");
        return;
    }
    /* libvirt's qemu driver calls its running jobs unbounded too (no
     * "Time remaining" line) */
    fprintf(out, "%-17s %-12s\n", "Job type:", "Unbounded");
    fprintf(out, "%-17s %-12s\n", "Operation:",
            cli_job_operation_name(j->operation[0] ? j->operation : "unknown"));
    fprintf(out, "%-17s %-12llu ms\n", "Time elapsed:", (unsigned long long)j->elapsed_ms);
    if (j->total || j->processed) {
        unsigned long long left = j->total > j->processed ? j->total - j->processed : 0;
        data_line(out, "Data processed:", j->processed);
        data_line(out, "Data remaining:", left);
        data_line(out, "Data total:", j->total);
    }
}
