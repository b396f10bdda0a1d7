/* Output of the kit (report.c). */
#ifndef SB_CONFORMANCE_REPORT_H
#define SB_CONFORMANCE_REPORT_H

#include <stdio.h>

#include "kit_internal.h"

struct k_outcome {
    int result;      /* enum k_result */
    char msg[2048];  /* failure or skip reason */
    double seconds;
};

void k_report_begin(FILE *out, enum sbk_format fmt, size_t n, const char *host,
                    const char *plugin);
void k_report_one(FILE *out, enum sbk_format fmt, size_t index, const struct k_scenario *s,
                  const struct k_outcome *o);
void k_report_end(FILE *out, enum sbk_format fmt, const size_t counts[3]);
/* Write the JUnit file; -1 with errno on failure. */
int k_report_junit(const char *path, const char *host, const char *plugin,
                   const struct k_scenario *const *v, const struct k_outcome *o, size_t n,
                   const size_t counts[3]);

#endif
