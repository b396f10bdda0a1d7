/* w3_sb: snapbroker as W3 targets - the public API in this process, and
 * the CLI, one process per operation (what a shell script pays: exec,
 * configuration, plugin load, store open, then the same work).  Each
 * gets its own state dir; the default host (qemu plugin) drives QEMU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "sb.h"
#include "w3.h"

struct sbt {
    char state[1100], dir[1024], err[1100], dom[64];
    sb_broker *b;
    sb_connection *c;
    int kvm;
};

void *w3_sb_api_at(const char *dir, const char *state, const char *dom, int kvm)
{
    struct sbt *s = calloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->state, sizeof s->state, "%s", state);
    snprintf(s->dom, sizeof s->dom, "%s", dom);
    s->kvm = kvm;
    bench_sb_connect(s->state, &s->b, &s->c);
    return s;
}

static void *api_init(const char *dir, int kvm)
{
    char state[1100];
    snprintf(state, sizeof state, "%s/state", dir);
    return w3_sb_api_at(dir, state, "w3", kvm);
}

static int api_fail(struct sbt *s, int rc)
{
    if (rc < 0)
        snprintf(s->err, sizeof s->err, "%s", sb_error_last()->message);
    return rc < 0 ? -1 : 0;
}

static int api_op(void *ctx, enum w3_op op, const struct w3_env *e)
{
    struct sbt *s = ctx;
    const char *name = w3_snap_name(op);
    switch (op) {
    case OP_DEFINE: {
        char *n = NULL;
        int rc = sb_domain_define(&n, s->c, w3_domain_xml(s->dom, e->disk, e->kvm));
        free(n);
        return api_fail(s, rc);
    }
    case OP_START: return api_fail(s, sb_domain_start(s->c, s->dom, 0));
    case OP_DESTROY: return api_fail(s, sb_domain_destroy(s->c, s->dom));
    case OP_INT:
    case OP_DEXT:
    case OP_FEXT:
    case OP_OFF_INT:
    case OP_OFF_EXT:
        return api_fail(s, sb_snapshot_create_xml(NULL, s->c, s->dom, w3_snap_xml(op, e),
                                                  w3_disk_only(op) ? SB_SNAPSHOT_CREATE_DISK_ONLY
                                                                   : 0));
    case OP_INT_REVERT:
        return api_fail(s, sb_snapshot_revert(s->c, s->dom, name, SB_SNAPSHOT_REVERT_RUNNING));
    case OP_OFF_INT_REVERT: return api_fail(s, sb_snapshot_revert(s->c, s->dom, name, 0));
    default: return api_fail(s, sb_snapshot_delete(s->c, s->dom, name, 0));
    }
}

static const char *sbt_err(void *ctx)
{
    return ((struct sbt *)ctx)->err;
}

static void api_fini(void *ctx)
{
    struct sbt *s = ctx;
    int st;
    if (sb_domain_get_state(&st, s->c, s->dom) == 0 && st != 5 /* shut off */)
        sb_domain_destroy(s->c, s->dom);
    sb_disconnect(s->c);
    sb_broker_free(s->b);
    free(s);
}

const struct w3_target w3_sb_api = {"snapbroker API", api_init, api_op, sbt_err, api_fini};

/* ---- CLI ------------------------------------------------------------------ */
static char cli_path[4096];

void *w3_sb_cli_at(const char *dir, const char *state, const char *dom, int kvm)
{
    struct sbt *s = calloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->state, sizeof s->state, "%s", state);
    snprintf(s->dom, sizeof s->dom, "%s", dom);
    s->kvm = kvm;
    const char *p = getenv("BENCH_CLI");
    if (!p)
        bench_die("BENCH_CLI must name the snapbroker CLI");
    snprintf(cli_path, sizeof cli_path, "%s", p);
    return s;
}

static void *cli_init(const char *dir, int kvm)
{
    char state[1100];
    snprintf(state, sizeof state, "%s/state", dir);
    return w3_sb_cli_at(dir, state, "w3", kvm);
}

/* Write doc to dir/name (before the clock starts: virsh users have their
 * XML in a file too). */
static const char *to_file(struct sbt *s, const char *name, const char *doc)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(doc, f) < 0 || fclose(f) != 0)
        bench_die("cannot write %s", path);
    return path;
}

static int cli_run(struct sbt *s, const char *a1, const char *a2, const char *a3,
                   const char *a4)
{
    /* the child inherits SNAPBROKER_STATE_DIR set just for it */
    char *argv[] = {cli_path, (char *)a1, s->dom, (char *)a2, (char *)a3, (char *)a4, NULL};
    if (!strcmp(a1, "define"))
        argv[2] = (char *)a2, argv[3] = NULL;
    setenv("SNAPBROKER_STATE_DIR", s->state, 1);
    int rc = bench_run(argv, 0);
    if (rc != 0)
        snprintf(s->err, sizeof s->err, "snapbroker %s exited %d (rerun it by hand)", a1, rc);
    return rc ? -1 : 0;
}

static int cli_op(void *ctx, enum w3_op op, const struct w3_env *e)
{
    struct sbt *s = ctx;
    const char *name = w3_snap_name(op);
    switch (op) {
    case OP_DEFINE:
        return cli_run(s, "define", to_file(s, "dom.xml", w3_domain_xml(s->dom, e->disk, e->kvm)),
                       NULL, NULL);
    case OP_START: return cli_run(s, "start", NULL, NULL, NULL);
    case OP_DESTROY: return cli_run(s, "destroy", NULL, NULL, NULL);
    case OP_INT:
    case OP_DEXT:
    case OP_FEXT:
    case OP_OFF_INT:
    case OP_OFF_EXT:
        return cli_run(s, "snapshot-create", to_file(s, "snap.xml", w3_snap_xml(op, e)),
                       w3_disk_only(op) ? "--disk-only" : NULL, NULL);
    case OP_INT_REVERT: return cli_run(s, "snapshot-revert", name, "--running", NULL);
    case OP_OFF_INT_REVERT: return cli_run(s, "snapshot-revert", name, NULL, NULL);
    default: return cli_run(s, "snapshot-delete", name, NULL, NULL);
    }
}

static void cli_fini(void *ctx)
{
    struct sbt *s = ctx;
    char *argv[] = {cli_path, (char *)"destroy", s->dom, NULL};
    setenv("SNAPBROKER_STATE_DIR", s->state, 1);
    bench_run(argv, 0); /* fails harmlessly when already shut off */
    free(s);
}

const struct w3_target w3_sb_cli = {"snapbroker CLI", cli_init, cli_op, sbt_err, cli_fini};
