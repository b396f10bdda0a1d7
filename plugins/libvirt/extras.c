/* libvirt plugin - the ABI 1.1 callbacks: domain_validate, snapshot_usage,
 * domain_job_info and domain_job_abort (domain_get_state_reason is in
 * domain.c).  All of them only read, except the abort. */
#include "lvp.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- domain_validate ------------------------------------------------------- */

/* libvirt has no "would you define this?" call: defining and undefining a
 * copy would be seen by every other client (events, a visible domain, a
 * config file written).  What it does answer without side effects is
 * virConnectGetDomainCapabilities for the definition's emulator, arch,
 * machine and virt type: it fails exactly when this host cannot run such a
 * domain at all (no such emulator, KVM without /dev/kvm, unknown machine).
 * The rest of the definition is checked by libvirt when it is used. */
static int op_validate(sb_conn *c, void *arg)
{
    const char *xml = arg;
    struct lvp_dom_target t;
    char *caps;
    int rc = 0;

    if (lvp_xml_domain_target(xml, &t) < 0)
        return lvp_fail(c, SB_ERR_XML_ERROR,
                        "domain definition is not well-formed XML with a <domain> root");
    if (!t.virttype) {
        lvp_dom_target_free(&t);
        return lvp_fail(c, SB_ERR_XML_ERROR, "domain definition lacks <domain type='...'>");
    }
    caps = virConnectGetDomainCapabilities(c->vc, t.emulator, t.arch, t.machine, t.virttype, 0);
    if (caps) {
        free(caps);
    } else if ((rc = lvp_fail_vir(c, "host '%s' cannot run a domain of type '%s'", c->host,
                                  t.virttype)) == -SB_ERR_NO_SUPPORT) {
        /* The driver cannot tell (test, esx...): libvirt judges at use. */
        memset(&c->err, 0, sizeof(c->err));
        rc = 0;
    } else if (!c->err.conn_lost) {
        c->err.code = SB_ERR_CONFIG_UNSUPPORTED;
        rc = -SB_ERR_CONFIG_UNSUPPORTED;
    }
    lvp_dom_target_free(&t);
    return rc;
}

int lvp_domain_validate(sb_conn *c, const char *domain_xml, unsigned flags)
{
    if (flags)
        return lvp_host->set_error(c->h, SB_ERR_INVALID_ARG,
                                   "unsupported flags (0x%x) in domain_validate", flags);
    return lvp_call(c, LVP_READ, "domain validation", op_validate, (void *)domain_xml);
}

/* ---- snapshot_usage ---------------------------------------------------------- */

struct usage_args {
    struct sb_snapshot_usage *out;
    const char *domain, *name;
};

/* Allocated bytes of one file: libvirt knows it as a disk of the domain
 * (the current top image) or as a volume of a storage pool.  0 with
 * *known = 0 when neither. */
static unsigned long long allocation(sb_conn *c, virDomainPtr d, const char *path, int *known)
{
    virDomainBlockInfo bi;
    virStorageVolInfo vi;
    virStorageVolPtr vol;

    if (d && virDomainGetBlockInfo(d, path, &bi, 0) == 0)
        return bi.allocation;
    if ((vol = virStorageVolLookupByPath(c->vc, path))) {
        int ok = virStorageVolGetInfo(vol, &vi) == 0;
        virStorageVolFree(vol);
        if (ok)
            return vi.allocation;
    }
    virResetLastError();
    *known = 0;
    return 0;
}

static void set_location(struct sb_snapshot_usage *u, const char *path)
{
    if (path && !u->location[0] && u->struct_size >= offsetof(struct sb_snapshot_usage, location) +
                                                           sizeof(u->location))
        snprintf(u->location, sizeof(u->location), "%s", path);
}

static int op_usage(sb_conn *c, void *arg)
{
    struct usage_args *a = arg;
    struct sb_snapshot_usage *u = a->out;
    struct lvp_snap_files f;
    virDomainPtr d;
    virDomainSnapshotPtr s;
    char *xml = NULL;
    int rc = 0, known = 1;

    if (!(d = lvp_domain(c, a->domain)))
        return -c->err.code;
    if (!(s = lvp_snapshot(c, d, a->domain, a->name))) {
        virDomainFree(d);
        return -c->err.code;
    }
    if (!(xml = virDomainSnapshotGetXMLDesc(s, 0)))
        rc = lvp_fail_vir(c, "XML of snapshot '%s' of domain '%s'", a->name, a->domain);
    else if (lvp_xml_snapshot_files(xml, &f) < 0)
        rc = lvp_fail(c, SB_ERR_HYPERVISOR, "libvirt's XML of snapshot '%s' is unreadable",
                      a->name);
    if (rc == 0) {
        unsigned long long bytes = 0, mem = 0;
        for (size_t i = 0; i < f.nexternal; i++) {
            bytes += allocation(c, d, f.external[i], &known);
            set_location(u, f.external[i]);
        }
        if (f.memory_file) {
            mem = allocation(c, NULL, f.memory_file, &known);
            set_location(u, f.memory_file);
        }
        /* Internal snapshots share clusters with the image: which ones
         * only this snapshot holds is not something libvirt tells. */
        if (f.ninternal)
            known = 0;
        for (size_t i = 0; i < f.ninternal; i++)
            set_location(u, f.internal[i]);
        u->bytes = known ? bytes + mem : 0;
        u->memory_bytes = known ? mem : 0;
        u->known_bytes = known;
        lvp_snap_files_free(&f);
    }
    free(xml);
    virDomainSnapshotFree(s);
    virDomainFree(d);
    return rc;
}

int lvp_snapshot_usage(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                       const char *name, const char *snapshot_xml)
{
    struct usage_args a = { .out = out, .domain = domain, .name = name };
    (void)snapshot_xml; /* NULL: libvirt keeps the definition */
    return lvp_call(c, LVP_READ, "snapshot usage", op_usage, &a);
}

/* ---- jobs ----------------------------------------------------------------------
 *
 * A domain job (save, snapshot, snapshot delete, migration...) is what
 * virDomainGetJobStats reports; a block job (a commit, pull or copy on one
 * disk, e.g. started by `virsh blockcommit`) is per disk, asked with
 * virDomainGetBlockJobInfo for each disk of the definition. */

static const char *const operation_names[] = {
    [VIR_DOMAIN_JOB_OPERATION_UNKNOWN] = "unknown",
    [VIR_DOMAIN_JOB_OPERATION_START] = "start",
    [VIR_DOMAIN_JOB_OPERATION_SAVE] = "save",
    [VIR_DOMAIN_JOB_OPERATION_RESTORE] = "restore",
    [VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN] = "migration-in",
    [VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT] = "migration-out",
    [VIR_DOMAIN_JOB_OPERATION_SNAPSHOT] = "snapshot",
    [VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_REVERT] = "snapshot-revert",
    [VIR_DOMAIN_JOB_OPERATION_DUMP] = "dump",
    [VIR_DOMAIN_JOB_OPERATION_BACKUP] = "backup",
    [VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_DELETE] = "snapshot-delete",
};

static const char *const block_job_names[] = {
    [VIR_DOMAIN_BLOCK_JOB_TYPE_UNKNOWN] = "block-job",
    [VIR_DOMAIN_BLOCK_JOB_TYPE_PULL] = "block-pull",
    [VIR_DOMAIN_BLOCK_JOB_TYPE_COPY] = "block-copy",
    [VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT] = "block-commit",
    [VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT] = "active-block-commit",
    [VIR_DOMAIN_BLOCK_JOB_TYPE_BACKUP] = "backup",
};

#define NAME_OF(table, i)                                                              \
    ((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof((table)[0]) && (table)[i] ? (table)[i] \
                                                                                   : "unknown")

struct job_args {
    struct sb_job_info *out;
    const char *domain;
};

/* The domain job, if one runs: 1 (j filled when not NULL), 0 none. */
static int domain_job(sb_conn *c, virDomainPtr d, const char *domain, struct sb_job_info *j)
{
    virTypedParameterPtr params = NULL;
    int type, n = 0, op = 0;
    unsigned long long v;

    if (virDomainGetJobStats(d, &type, &params, &n, 0) < 0) {
        int rc = lvp_fail_vir(c, "job of domain '%s'", domain);
        if (rc != -SB_ERR_NO_SUPPORT)
            return rc;
        memset(&c->err, 0, sizeof(c->err)); /* a driver without jobs */
        return 0;
    }
    if (type != VIR_DOMAIN_JOB_NONE && j) {
        j->active = 1;
        virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &op);
        snprintf(j->operation, sizeof(j->operation), "%s", NAME_OF(operation_names, op));
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &v) == 1)
            j->processed = v;
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_TOTAL, &v) == 1)
            j->total = v;
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
            j->elapsed_ms = (long long)v;
    }
    virTypedParamsFree(params, n);
    return type != VIR_DOMAIN_JOB_NONE;
}

/* The first disk with a block job: its target in *disk (malloc'd, NULL
 * when none), j filled when not NULL. */
static int block_job(sb_conn *c, virDomainPtr d, const char *domain, struct sb_job_info *j,
                     char **disk)
{
    char *xml = virDomainGetXMLDesc(d, 0), **targets = NULL;
    size_t n = 0;
    int rc = 0;

    *disk = NULL;
    if (!xml)
        return lvp_fail_vir(c, "XML of domain '%s'", domain);
    if (lvp_xml_disk_targets(xml, &targets, &n) < 0)
        rc = lvp_fail(c, SB_ERR_HYPERVISOR, "libvirt's XML of domain '%s' is unreadable", domain);
    for (size_t i = 0; i < n && rc == 0 && !*disk; i++) {
        virDomainBlockJobInfo info;
        int r = virDomainGetBlockJobInfo(d, targets[i], &info, 0);
        if (r < 0) {
            rc = lvp_fail_vir(c, "block job of disk '%s' of domain '%s'", targets[i], domain);
            if (rc == -SB_ERR_NO_SUPPORT) { /* a driver without block jobs */
                memset(&c->err, 0, sizeof(c->err));
                rc = 0;
                break;
            }
        } else if (r == 1) {
            *disk = targets[i];
            targets[i] = NULL;
            if (j) {
                j->active = 1;
                snprintf(j->operation, sizeof(j->operation), "%s",
                         NAME_OF(block_job_names, info.type));
                j->processed = info.cur;
                j->total = info.end;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(targets[i]);
    free(targets);
    free(xml);
    return rc;
}

static int op_job_info(sb_conn *c, void *arg)
{
    struct job_args *a = arg;
    virDomainPtr d = lvp_domain(c, a->domain);
    char *disk = NULL;
    int rc;

    if (!d)
        return -c->err.code;
    if ((rc = domain_job(c, d, a->domain, a->out)) == 0)
        rc = block_job(c, d, a->domain, a->out, &disk);
    free(disk);
    virDomainFree(d);
    return rc < 0 ? rc : 0;
}

int lvp_domain_job_info(struct sb_job_info *out, sb_conn *c, const char *domain)
{
    /* Only members every 1.1 broker has are written (the broker zeroed
     * the rest).  libvirt does not say which snapshot a job works for, so
     * out->snapshot stays "". */
    struct job_args a = { .out = out, .domain = domain };
    return lvp_call(c, LVP_READ, "job info", op_job_info, &a);
}

static int op_job_abort(sb_conn *c, void *arg)
{
    const char *domain = arg;
    virDomainPtr d = lvp_domain(c, domain);
    char *disk = NULL;
    int rc;

    if (!d)
        return -c->err.code;
    if ((rc = domain_job(c, d, domain, NULL)) == 1) {
        rc = virDomainAbortJob(d) < 0 ? lvp_fail_vir(c, "aborting the job of domain '%s'", domain)
                                      : 0;
    } else if (rc == 0 && (rc = block_job(c, d, domain, NULL, &disk)) == 0) {
        if (!disk)
            rc = lvp_fail(c, SB_ERR_OPERATION_INVALID, "no job is running on domain '%s'",
                          domain);
        else if (virDomainBlockJobAbort(d, disk, 0) < 0)
            rc = lvp_fail_vir(c, "aborting the block job of disk '%s' of domain '%s'", disk,
                              domain);
    }
    free(disk);
    virDomainFree(d);
    return rc;
}

int lvp_domain_job_abort(sb_conn *c, const char *domain, unsigned flags)
{
    if (flags)
        return lvp_host->set_error(c->h, SB_ERR_INVALID_ARG,
                                   "unsupported flags (0x%x) in domain_job_abort", flags);
    return lvp_call(c, LVP_WRITE, "job abort", op_job_abort, (void *)domain);
}
