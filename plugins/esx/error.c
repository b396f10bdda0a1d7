/* Errors, logging and small helpers.  An error goes to the broker
 * (host->set_error) and is kept in the connection too, so the unit tests,
 * which run without a broker, can read it. */
#include "esx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int esx_error(esx_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap);
    va_end(ap);
    c->err_code = code;
    if (c->api && !c->quiet)
        return c->api->set_error(c->h, code, "%s", c->err_msg);
    return -code;
}

int esx_oom(esx_conn *c)
{
    return esx_error(c, SB_ERR_NO_MEMORY, "esx: out of memory");
}

void esx_log(esx_conn *c, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!c->api)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->api->log(c->h, level, "%s", msg);
}

/* vSphere fault types -> the broker's classes.  Everything else a host
 * reports is HYPERVISOR. */
int esx_fault_class(const char *t)
{
    static const struct {
        const char *type;
        int code;
    } map[] = {
        { "InvalidLogin", SB_ERR_CONFIG },
        { "NoPermission", SB_ERR_OPERATION_DENIED },
        { "InvalidPowerState", SB_ERR_OPERATION_INVALID },
        { "InvalidState", SB_ERR_OPERATION_INVALID },
        { "TaskInProgress", SB_ERR_OPERATION_INVALID },
        { "ToolsUnavailable", SB_ERR_OPERATION_INVALID },
        { "NotSupported", SB_ERR_OPERATION_UNSUPPORTED },
        { "InvalidArgument", SB_ERR_INVALID_ARG },
        { "InvalidName", SB_ERR_INVALID_ARG },
        { "RequestCanceled", SB_ERR_OPERATION_FAILED },
    };
    for (size_t i = 0; t && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].type, t) == 0)
            return map[i].code;
    return SB_ERR_HYPERVISOR;
}

double esx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void esx_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

char *esx_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}
