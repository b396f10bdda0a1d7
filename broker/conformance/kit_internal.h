/* The conformance kit's insides: the scenario record, the run context and
 * the helpers every family file (s_*.c) uses.  Everything here reaches the
 * broker through the public API only. */
#ifndef SB_CONFORMANCE_KIT_INTERNAL_H
#define SB_CONFORMANCE_KIT_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "snapbroker/snapbroker.h"
#include "kit.h"

enum k_result { K_PASS = 0, K_FAIL = 1, K_SKIP = 2 };

/* Operations a scenario needs from the plugin (beyond the mandatory). */
enum k_op {
    K_OP_START = 1u << 0,
    K_OP_DESTROY = 1u << 1,
    K_OP_SUSPEND = 1u << 2,
    K_OP_RESUME = 1u << 3,
    K_OP_DEFINE = 1u << 4, /* a fresh scratch domain (not --domain) */
    K_OP_IS_ACTIVE = 1u << 5, /* ABI 1.2 domain_is_active */
};
#define K_OPS_RUN (K_OP_START | K_OP_DESTROY)
#define K_OPS_PAUSE (K_OP_START | K_OP_DESTROY | K_OP_SUSPEND)

/* Declared traits a scenario needs. */
enum k_trait {
    K_T_BROKER_META = 1u << 0,   /* metadata owner: broker */
    K_T_HV_META = 1u << 1,       /* metadata owner: hypervisor */
    K_T_UNIQUE = 1u << 2,        /* names unique */
    K_T_NOT_UNIQUE = 1u << 3,    /* names not unique */
    K_T_PARSE_CREATE = 1u << 4,  /* a plain create is parsed as a create */
    K_T_OVERRIDE_NONE = 1u << 5, /* no <disks> entries */
    K_T_OVERRIDE_MATCH = 1u << 6,
    K_T_OVERRIDE_ALLOWED = 1u << 7,
    K_T_MAX_DEPTH = 1u << 8,     /* a declared depth limit */
    K_T_MAX_SNAPSHOTS = 1u << 9, /* a declared count limit */
    K_T_NAME_MAX = 1u << 10,     /* names shorter than the broker's 255 */
    K_T_GUEST_DATA = 1u << 11,   /* --guest-data given */
    K_T_DISKS = 1u << 12,        /* snapshots report <disks> (broker-owned) */
};

struct k_needs {
    unsigned create, revert, del, list, xml; /* flags that must be declared */
    unsigned ops;                            /* enum k_op */
    unsigned traits;                         /* enum k_trait */
};

struct k;
struct k_scenario;
typedef int (*k_run_fn)(struct k *k, const struct k_scenario *s);

struct k_scenario {
    const char *id;      /* stable: FAMILY-WHAT */
    const char *section; /* of docs/semantics.md, "5.2" */
    const char *rule;    /* one line */
    struct k_needs needs;
    k_run_fn run;
    unsigned arg, arg2;  /* parameters of table-driven scenarios */
    const char *sarg;
};

struct k_family {
    const char *name;
    const struct k_scenario *v;
    size_t n;
};

/* The run context. */
struct k {
    const struct sbk_options *opts;
    sb_broker *b;
    sb_connection *c;
    sb_connection_caps caps;
    char dir[256];   /* scratch directory (images, files); "" if none */
    char dom[128];   /* the domain of the running scenario */
    int fresh;       /* dom was defined by the kit for this scenario */
    int images;      /* template qcow2 images exist in dir */
    unsigned seq;    /* scratch domain counter */
    char msg[2048];  /* failure or skip reason of the running scenario */
    char **made;     /* snapshots made on an existing domain (--domain) */
    size_t nmade;
    /* The domain's first two disk targets: vda and vdb on a scratch
     * domain, what the domain has with --domain (an ESX VM's sda, sdb).
     * The scenarios name disks 'vda' and 'vdb'; k_devs() maps them. */
    char disk[2][32];
    /* SBK_SIMULATOR "PLUGIN:DESCRIPTION": the host is a simulator of that
     * plugin's hypervisor (the in-tree esx run: VMware's vSphere
     * simulator), NULL for a real host (k_simulator_limit). */
    const char *simulator;
    /* The process spawner (spawner.c): the socket to it and its pid, 0
     * when it is not running. */
    int spawner_sock;
    pid_t spawner_pid;
};

/* ---- outcome ---- */
int k_fail(struct k *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int k_skip(struct k *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A scenario saw (r == K_FAIL, k->msg says what) a behaviour its rule
 * forbids and which is a known limit of a simulator, not of the plugin:
 * on a run against that simulator of plugin's hypervisor (SBK_SIMULATOR),
 * a skip naming the limit and what was seen; anywhere else r. */
int k_simulator_limit(struct k *k, int r, const char *plugin, const char *limit);
/* flags of family (SB_FLAGS_*) by their libvirt names, "VIR_..._LEAVES|
 * VIR_..._TOPOLOGICAL", "0" for none (one of four static buffers). */
const char *k_flags(int family, unsigned flags);
/* "CLASS: message" of the library's last error (static buffer). */
const char *k_errstr(void);
/* rc must be >= 0, else fail "what: CLASS: message". */
int k_ok(struct k *k, int rc, const char *what);
/* rc must be -cls. */
int k_err_is(struct k *k, int rc, int cls, const char *what);
/* rc must be one of the classes (0-terminated list). */
int k_err_in(struct k *k, int rc, const int *classes, const char *what);
#define K_TRY(expr)                \
    do {                           \
        int k_rc_ = (expr);        \
        if (k_rc_ != K_PASS)       \
            return k_rc_;          \
    } while (0)

/* ---- snapshot XML ---- */
/* text with every 'vda' and 'vdb' (quoted) replaced by the domain's first
 * and second disk target (k->disk); malloc'ed. */
char *k_devs(const struct k *k, const char *text);
/* Record a snapshot the kit made in another process (--domain cleanup). */
void k_remember(struct k *k, const char *name);
/* A create document named name (NULL: no <name>) with extra inner XML;
 * a plugin that parses creates as redefines also gets state and
 * creationTime.  malloc'ed. */
char *k_snap_xml(const struct k *k, const char *name, const char *extra);
/* Text of a top-level element of a snapshot document ("state", "name",
 * "creationTime", "description"), or of <parent><name> for "parent";
 * malloc'ed, NULL if absent. */
char *k_xml_field(const char *xml, const char *elem);
/* 1 if the snapshot document says external (memory or a disk). */
int k_xml_external(const char *xml);

/* ---- snapshot calls (fail the scenario on an unexpected result) ---- */
int k_create(struct k *k, const char *name, unsigned flags);
int k_create_xml(struct k *k, const char *xml, unsigned flags, char **out_name);
/* The raw call: returns the library's rc and records the name made. */
int k_create_rc(struct k *k, const char *xml, unsigned flags, char **out_name);
int k_revert(struct k *k, const char *name, unsigned flags);
int k_delete(struct k *k, const char *name, unsigned flags);
/* Delete name (with DELETE_CHILDREN: and its descendants) so that a
 * redefine from the XML can bring it back: hypervisor-owned metadata with
 * DELETE_METADATA_ONLY declared forgets only the metadata (VirtualBox
 * keeps the images a redefine needs), else a plain delete. */
int k_forget(struct k *k, const char *name, unsigned flags);
char *k_get_xml(struct k *k, const char *name); /* NULL after k_fail */
int k_current_is(struct k *k, const char *name); /* NULL: no current */
int k_parent_is(struct k *k, const char *name, const char *parent);
/* The listing, sorted by name and joined with ' ', must be want. */
int k_list_is(struct k *k, const char *from, unsigned flags, const char *want);
/* Names of a listing in the order given, joined with ' ' (malloc'ed);
 * NULL after k_fail. */
char *k_list_str(struct k *k, const char *from, unsigned flags, int sorted);

/* ---- the whole tree, to prove a failed call changed nothing ---- */
/* "name<parent ...|current" (sorted), malloc'ed; NULL after k_fail. */
char *k_tree_sig(struct k *k);
/* k_tree_sig() must still be before. */
int k_unchanged(struct k *k, const char *before, const char *what);
/* A create of xml with flags must fail with cls and change nothing. */
int k_create_refused(struct k *k, const char *xml, unsigned flags, int cls, const char *what);

/* ---- the domain ---- */
int k_state(struct k *k, int *out);
int k_state_is(struct k *k, int want);
/* Bring the scratch domain to running / paused / shut off. */
int k_set_state(struct k *k, int want);
/* The domain's disk source of target dev (malloc'ed), NULL if none. */
char *k_disk_source(struct k *k, const char *target);

/* ---- shared trees (trees.c) ---- */
/* The branching tree P1 -> P2 -> P3 and P1 -> P4 -> P5 (current), built
 * with creates and one revert (to P1) on a shut-off domain. */
int k_build_branch(struct k *k, const char *p);
/* Redefine the documents xml[0..n) parents first (parent[i]: index or -1);
 * xml[current] (if >= 0) with CREATE_CURRENT. */
int k_redefine_all(struct k *k, char **xml, const int *parent, size_t n, int current);

/* ---- needs ---- */
/* NULL when met, else why not (static buffer). */
const char *k_unmet(const struct k *k, const struct k_needs *n);

/* ---- families (s_*.c) ---- */
extern const struct k_family k_family_flags;
extern const struct k_family k_family_xml;
extern const struct k_family k_family_tree;
extern const struct k_family k_family_list;
extern const struct k_family k_family_errors;
extern const struct k_family k_family_revert;
extern const struct k_family k_family_meta;
extern const struct k_family k_family_limits;
extern const struct k_family k_family_concurrency;
extern const struct k_family k_family_data;

/* The whole catalogue in order (catalogue.c); *out borrowed. */
size_t k_catalogue(const struct k_scenario *const **out);

/* ---- scratch domains (scratch.c) ---- */
/* ---- processes of their own (spawner.c; the concurrency scenarios) ----
 * A job: n operations, on names prefix1..prefixN of dom (one name,
 * prefix itself, n times for K_JOB_CREATE_SAME), in a worker process with
 * its own broker and connection. */
enum k_job_kind { K_JOB_CREATE, K_JOB_DELETE, K_JOB_LIST, K_JOB_CREATE_SAME };
struct k_job {
    int kind;            /* enum k_job_kind */
    int n;
    int redefine_create; /* the plugin parses a create as a redefine */
    char prefix[32];
    char dom[128];
};
/* The most a worker reports: its status byte, a message, the NUL. */
#define K_JOB_REPORT_MAX 1300
/* In the worker (s_concurrency.c): run the job on a connection of its own;
 * msg gets what happened.  Returns 1 when the job failed, else 0. */
int k_job_run(struct k *k, const struct k_job *job, char *msg, size_t len);
/* Fork the spawner: at the kit's start, before anything is loaded. */
int k_spawner_start(struct k *k);     /* -1 on failure (printed) */
void k_spawner_stop(struct k *k);
/* Start a worker on job: its pid, and the read end of its report (a
 * status byte '0' or '1', then k_job_run's message; end of file when the
 * worker is done).  K_PASS or K_FAIL (k->msg says why). */
int k_spawn(struct k *k, const struct k_job *job, pid_t *pid, int *report);

int k_scratch_init(struct k *k);       /* -1 on failure (printed) */
void k_scratch_fini(struct k *k);
int k_domain_begin(struct k *k, int fresh); /* K_PASS or K_FAIL (k->msg) */
/* Remove what the scenario left: always runs; adds to k->msg on error. */
int k_domain_end(struct k *k);
/* A fresh extra domain named <dom>-<suffix> (scenarios that need two). */
int k_domain_extra(struct k *k, const char *suffix, char *out, size_t len);
int k_domain_extra_end(struct k *k, const char *name);

/* ---- guest data (data.c): qemu-io on a shut-off domain's images ---- */
int k_data_write(struct k *k, const char *target, int pattern);
/* K_PASS when the disk holds pattern. */
int k_data_check(struct k *k, const char *target, int pattern);

#endif
