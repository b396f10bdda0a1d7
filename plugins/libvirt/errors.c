/* libvirt plugin - libvirt's error numbers as the broker's classes.
 *
 * The broker's classes that mirror libvirt's keep libvirt's value
 * (include/snapbroker/errors.h), so most errors map to themselves; the
 * table below lists every libvirt error that gets a different class and
 * why.  docs/libvirt.md has the same table for users. */
#include "lvp.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

/* The classes whose value is libvirt's own. */
static const int same_value[] = {
    SB_ERR_INTERNAL_ERROR,   SB_ERR_NO_MEMORY,          SB_ERR_NO_SUPPORT,
    SB_ERR_INVALID_ARG,      SB_ERR_OPERATION_FAILED,   SB_ERR_XML_ERROR,
    SB_ERR_OPERATION_DENIED, SB_ERR_XML_DETAIL,         SB_ERR_SYSTEM_ERROR,
    SB_ERR_NO_DOMAIN,        SB_ERR_OPERATION_INVALID,  SB_ERR_CONFIG_UNSUPPORTED,
    SB_ERR_OPERATION_TIMEOUT, SB_ERR_NO_DOMAIN_SNAPSHOT, SB_ERR_SNAPSHOT_REVERT_RISKY,
    SB_ERR_OPERATION_UNSUPPORTED, SB_ERR_XML_INVALID_SCHEMA,
};

static const struct {
    int vir;
    int sb;
} mapped[] = {
    /* An object handle or argument libvirt found invalid. */
    { VIR_ERR_INVALID_DOMAIN, SB_ERR_INVALID_ARG },
    { VIR_ERR_INVALID_DOMAIN_SNAPSHOT, SB_ERR_INVALID_ARG },
    { VIR_ERR_ARGUMENT_UNSUPPORTED, SB_ERR_INVALID_ARG },
    { VIR_ERR_OVERFLOW, SB_ERR_INVALID_ARG },
    /* Who may do what: credentials and access control. */
    { VIR_ERR_AUTH_FAILED, SB_ERR_OPERATION_DENIED },
    { VIR_ERR_AUTH_CANCELLED, SB_ERR_OPERATION_DENIED },
    { VIR_ERR_AUTH_UNAVAILABLE, SB_ERR_OPERATION_DENIED },
    { VIR_ERR_ACCESS_DENIED, SB_ERR_OPERATION_DENIED },
    /* Not now: another job, a block copy, an unsafe migration. */
    { VIR_ERR_RESOURCE_BUSY, SB_ERR_OPERATION_INVALID },
    { VIR_ERR_BLOCK_COPY_ACTIVE, SB_ERR_OPERATION_INVALID },
    { VIR_ERR_MIGRATE_UNSAFE, SB_ERR_OPERATION_INVALID },
    /* Duplicates: the broker's class for "already exists". */
    { VIR_ERR_DOM_EXIST, SB_ERR_OPERATION_FAILED },
    /* A job that was cancelled (domjobabort) failed, cleanly. */
    { VIR_ERR_OPERATION_ABORTED, SB_ERR_OPERATION_FAILED },
    /* The definition asks for what this host cannot give. */
    { VIR_ERR_CPU_INCOMPATIBLE, SB_ERR_CONFIG_UNSUPPORTED },
    { VIR_ERR_NO_NAME, SB_ERR_XML_ERROR },
};

int lvp_error_class(int vir_code)
{
    for (size_t i = 0; i < sizeof(same_value) / sizeof(same_value[0]); i++)
        if (same_value[i] == vir_code)
            return vir_code;
    for (size_t i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++)
        if (mapped[i].vir == vir_code)
            return mapped[i].sb;
    /* Everything else (RPC and transport failures, guest agent, storage,
     * network...) is the hypervisor's failure; the message says which. */
    return SB_ERR_HYPERVISOR;
}

int lvp_error_is_connection(int vir_code, int vir_domain)
{
    switch (vir_code) {
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_UNKNOWN_HOST:
    case VIR_ERR_RPC:
    case VIR_ERR_GNUTLS_ERROR:
    case VIR_ERR_SSH:
    case VIR_ERR_LIBSSH:
    case VIR_ERR_NO_SERVER:
        return 1;
    default:
        return vir_domain == VIR_FROM_RPC || vir_domain == VIR_FROM_REMOTE;
    }
}

/* libvirt's formatcaps documentation: a <guest><features><externalSnapshot/>
 * capability, "since 9.9.0", says the qemu driver reverts to and deletes
 * external snapshots (with memory state).  9.0 refuses the revert. */
#define EXTERNAL_REVERT_VERSION 9009000UL

void lvp_error_hint(const sb_conn *c, int vir_code, const char *msg, char *buf, size_t size)
{
    unsigned long v = c->lib_version;

    buf[0] = '\0';
    if (vir_code == VIR_ERR_CONFIG_UNSUPPORTED && v && v < EXTERNAL_REVERT_VERSION &&
        strstr(msg, "revert to external snapshot not supported"))
        snprintf(buf, size,
                 " (host '%s' runs libvirt %lu.%lu.%lu; libvirt 9.9.0 and later revert to "
                 "external snapshots)",
                 c->host, v / 1000000, v / 1000 % 1000, v % 1000);
    else if (vir_code == VIR_ERR_OPERATION_UNSUPPORTED &&
             strstr(msg, "external snapshot that has internal snapshot as parent"))
        snprintf(buf, size,
                 " (no libvirt release known to this plugin deletes it: delete its internal "
                 "parent first, or only its metadata with --metadata)");
}
