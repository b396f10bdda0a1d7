/* sb_fleet_list: every configured host at once (fleet.h).
 *
 * Threads, not processes: a library must not fork behind its caller's
 * back.  Each worker takes the next host, lists it on a connection of its
 * own and hands the result back; at most max_parallel work at once.  The
 * calling thread waits for them and enforces each host's deadline: a host
 * still busy at its deadline is reported as timed out and its worker is
 * abandoned (it cannot be cancelled safely inside a plugin call) and
 * replaced, so the others keep their pace.  An abandoned worker finishes
 * on its own: everything it touches (the job below, a reference to the
 * broker) lives until the last worker is done with it, and its result is
 * thrown away. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/parser.h>

#include "core/error.h"
#include "core/fleet.h"

#define DEFAULT_PARALLEL 8u
#define DEFAULT_TIMEOUT_MS 60000u

enum slot_state { WAITING, RUNNING, DONE, ABANDONED };

struct slot {
    char *host;
    enum slot_state state;
    double started_ms, deadline_ms, elapsed_ms;
    struct sb_fleet_result res; /* DONE: the worker's result */
    pthread_t worker;           /* RUNNING: who lists it */
};

struct job {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int refs;             /* the caller and every worker */
    sb_broker *b;         /* a reference of its own */
    struct sb_fleet_filter filter;
    struct slot *slots;
    size_t nslots, next;  /* next slot to start */
    unsigned active;      /* workers on a slot that is not abandoned */
    double timeout_ms;    /* per host */
    /* Workers are joined when the call ends, so none is still exiting
     * (with its per-thread state, libxml2's included) when the caller
     * goes on; an abandoned one is detached instead. */
    pthread_t *tids;
    bool *detached;
    size_t ntids, captids;
};

struct sb_fleet {
    sb_fleet_host *hosts;
    size_t nhosts;
    sb_fleet_snapshot *snaps;
    size_t nsnaps;
    struct sb_fleet_result *results; /* own the snapshots' strings */
    char **strings;                  /* host, plugin, uri copies, errors */
    size_t nstrings;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void job_free(struct job *j)
{
    for (size_t i = 0; i < j->nslots; i++) {
        free(j->slots[i].host);
        sb_fleet__result_clear(&j->slots[i].res);
    }
    free(j->slots);
    free(j->tids);
    free(j->detached);
    free(j->filter.domain);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->changed);
    sb_broker_free(j->b); /* our reference */
    free(j);
}

/* Drop one reference; the job's lock is held and released here.  The
 * last one frees the job, lock included, while another thread may just
 * have returned from unlocking it: POSIX allows destroying an unlocked
 * mutex, and glibc's unlock touches nothing after releasing it (helgrind
 * still reports it). */
static void job_unref_unlock(struct job *j)
{
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (last)
        job_free(j);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    bool abandoned = false;

    pthread_mutex_lock(&j->lock);
    while (j->next < j->nslots) {
        struct slot *s = &j->slots[j->next++];
        struct sb_fleet_result res;
        s->state = RUNNING;
        s->worker = pthread_self();
        s->started_ms = now_ms();
        s->deadline_ms = s->started_ms + j->timeout_ms;
        pthread_cond_broadcast(&j->changed); /* a new deadline to watch */
        pthread_mutex_unlock(&j->lock);
        sb_fleet__list_host(&res, j->b, s->host, &j->filter);
        pthread_mutex_lock(&j->lock);
        if (s->state == ABANDONED) {
            /* too late: the caller reported it, and no longer counts us */
            sb_fleet__result_clear(&res);
            abandoned = true;
            break;
        }
        s->res = res;
        s->state = DONE;
        s->elapsed_ms = now_ms() - s->started_ms;
        pthread_cond_broadcast(&j->changed);
    }
    if (!abandoned)
        j->active--;
    pthread_cond_broadcast(&j->changed);
    job_unref_unlock(j);
    sb_error_clear();
    return NULL;
}

/* Start one more worker (lock held); false when no thread could be made. */
static bool start_worker(struct job *j)
{
    pthread_attr_t attr;
    pthread_t t;
    bool ok = pthread_attr_init(&attr) == 0;

    ok = ok && j->ntids < j->captids;
    j->refs++;
    j->active++;
    ok = ok && pthread_create(&t, &attr, worker, j) == 0;
    if (ok)
        j->tids[j->ntids++] = t;
    pthread_attr_destroy(&attr);
    if (!ok) {
        j->refs--;
        j->active--;
    }
    return ok;
}

/* Wait until every slot is done or abandoned (lock held throughout, but
 * released by the condition waits). */
static void wait_for_hosts(struct job *j, unsigned parallel)
{
    for (;;) {
        size_t finished = 0;
        double first_deadline = 0, now = now_ms();
        for (size_t i = 0; i < j->nslots; i++) {
            struct slot *s = &j->slots[i];
            if (s->state == RUNNING && now >= s->deadline_ms) {
                s->state = ABANDONED; /* its worker stops after this host */
                for (size_t k = 0; k < j->ntids; k++)
                    if (!j->detached[k] && pthread_equal(j->tids[k], s->worker)) {
                        pthread_detach(j->tids[k]);
                        j->detached[k] = true;
                    }
                s->elapsed_ms = now - s->started_ms;
                j->active--;
            }
            if (s->state == DONE || s->state == ABANDONED)
                finished++;
            else if (s->state == RUNNING &&
                     (first_deadline == 0 || s->deadline_ms < first_deadline))
                first_deadline = s->deadline_ms;
        }
        if (finished == j->nslots)
            return;
        /* keep `parallel` workers on waiting hosts; none at all can start
         * in a process out of threads: those hosts fail below */
        while (j->next < j->nslots && j->active < parallel && start_worker(j))
            ;
        if (j->active == 0 && j->next < j->nslots)
            return;
        if (first_deadline == 0) /* none running yet: a worker will say */
            first_deadline = now + 1000;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double wait_ms = first_deadline - now + 1;
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)((wait_ms - (double)(long)(wait_ms / 1000) * 1000) * 1e6);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&j->changed, &j->lock, &ts);
        (void)rc; /* timeouts and wake-ups are both looked at above */
    }
}

/* ---- the result ---- */

static const char *keep(sb_fleet *f, const char *s)
{
    char *c = strdup(s ? s : "");
    if (!c)
        return NULL;
    f->strings[f->nstrings++] = c;
    return c;
}

static int build(sb_fleet *f, struct job *j, const sb_config_host *const *cfg)
{
    size_t total = 0;
    f->nhosts = j->nslots;
    f->hosts = calloc(j->nslots + 1, sizeof(*f->hosts));
    f->results = calloc(j->nslots + 1, sizeof(*f->results));
    f->strings = calloc(4 * j->nslots + 1, sizeof(char *));
    if (!f->hosts || !f->results || !f->strings)
        return sb_error_oom();
    for (size_t i = 0; i < j->nslots; i++) {
        struct slot *s = &j->slots[i];
        sb_fleet_host *h = &f->hosts[i];
        if (s->state == DONE) {
            f->results[i] = s->res;
            memset(&s->res, 0, sizeof(s->res));
        } else {
            struct sb_fleet_result *r = &f->results[i];
            r->status = -(s->state == ABANDONED ? SB_ERR_OPERATION_TIMEOUT : SB_ERR_SYSTEM_ERROR);
            if (s->state == ABANDONED)
                snprintf(r->error, sizeof(r->error), "no answer within %.0f ms", j->timeout_ms);
            else
                snprintf(r->error, sizeof(r->error), "no thread could be started for it");
            h->timed_out = s->state == ABANDONED;
        }
        const struct sb_fleet_result *r = &f->results[i];
        if (!(h->name = keep(f, cfg[i]->name)) || !(h->plugin = keep(f, cfg[i]->plugin)) ||
            !(h->uri = keep(f, cfg[i]->uri)) || !(h->error = keep(f, r->error)))
            return sb_error_oom();
        h->status = r->status;
        h->domains = r->domains;
        h->snapshots = r->n;
        h->elapsed_ms = s->elapsed_ms;
        total += r->n;
    }
    f->snaps = calloc(total + 1, sizeof(*f->snaps));
    if (!f->snaps)
        return sb_error_oom();
    for (size_t i = 0; i < j->nslots; i++) {
        sb_fleet_host *h = &f->hosts[i];
        const struct sb_fleet_result *r = &f->results[i];
        for (size_t k = 0; k < r->n; k++) {
            const struct sb_fleet_snap *in = &r->v[k];
            sb_fleet_snapshot *o = &f->snaps[f->nsnaps++];
            *o = (sb_fleet_snapshot){
                .host = h->name, .plugin = h->plugin, .domain = in->domain, .name = in->name,
                .parent = in->parent, .creation_time = in->creation_time, .state = in->state,
                .external = in->external, .is_current = in->is_current,
                .known_bytes = in->known_bytes, .bytes = in->bytes,
                .memory_bytes = in->memory_bytes, .where = in->where ? in->where : "",
            };
            if (in->known_bytes)
                h->bytes += in->bytes;
            else
                h->unknown_sizes++;
            if (h->oldest == 0 || in->creation_time < h->oldest)
                h->oldest = in->creation_time;
        }
    }
    return 0;
}

void sb_fleet_free(sb_fleet *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->results && i < f->nhosts; i++)
        sb_fleet__result_clear(&f->results[i]);
    for (size_t i = 0; i < f->nstrings; i++)
        free(f->strings[i]);
    free(f->strings);
    free(f->results);
    free(f->hosts);
    free(f->snaps);
    free(f);
}

size_t sb_fleet_hosts(const sb_fleet *f, const sb_fleet_host **out)
{
    *out = f ? f->hosts : NULL;
    return f ? f->nhosts : 0;
}

size_t sb_fleet_snapshots(const sb_fleet *f, const sb_fleet_snapshot **out)
{
    *out = f ? f->snaps : NULL;
    return f ? f->nsnaps : 0;
}

/* ---- the call ---- */

static bool listed(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* The configured hosts q selects; an unknown host name is an error. */
static int select_hosts(const sb_broker *b, const sb_fleet_query *q,
                        const sb_config_host ***out, size_t *n)
{
    const sb_config *cfg = b->cfg;
    *n = 0;
    for (size_t i = 0; i < q->nhosts; i++) {
        bool found = false;
        for (size_t k = 0; q->hosts[i] && k < cfg->nhosts; k++)
            found = found || strcmp(cfg->hosts[k].name, q->hosts[i]) == 0;
        if (!found)
            return sb_error_set(SB_ERR_INVALID_ARG, "no configured host named '%s'",
                                q->hosts[i] ? q->hosts[i] : "");
    }
    if (!(*out = calloc(cfg->nhosts + 1, sizeof(**out))))
        return sb_error_oom();
    for (size_t k = 0; k < cfg->nhosts; k++) {
        const sb_config_host *h = &cfg->hosts[k];
        if ((q->nhosts && !listed(q->hosts, q->nhosts, h->name)) ||
            (q->nplugins && !listed(q->plugins, q->nplugins, h->plugin)))
            continue;
        (*out)[(*n)++] = h;
    }
    return 0;
}

/* A job for n hosts, holding its own reference to b. */
static struct job *job_new(sb_broker *b, const sb_config_host *const *hosts, size_t n,
                           const sb_fleet_query *q, double timeout_ms)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->changed, NULL);
    j->refs = 1;
    j->b = sb_broker__ref(b);
    j->timeout_ms = timeout_ms;
    j->filter.created_before = q->older_than > 0 ? (long long)time(NULL) - q->older_than : 0;
    /* larger_than 0 is "no filter" unless the flag says it was given */
    j->filter.larger_than = q->larger_than;
    j->filter.size_filter = q->larger_than > 0 || (q->usage & SB_FLEET_LARGER_THAN_SET);
    j->filter.usage = q->usage || j->filter.size_filter;
    j->captids = 2 * n + 1; /* every host abandoned and replaced, at most */
    bool ok = (j->slots = calloc(n + 1, sizeof(*j->slots))) != NULL &&
              (j->tids = calloc(j->captids, sizeof(*j->tids))) != NULL &&
              (j->detached = calloc(j->captids, sizeof(*j->detached))) != NULL &&
              (!q->domain || (j->filter.domain = strdup(q->domain)));
    for (size_t i = 0; ok && i < n; i++, j->nslots++)
        ok = (j->slots[i].host = strdup(hosts[i]->name)) != NULL;
    if (!ok) {
        job_free(j);
        return NULL;
    }
    return j;
}

int sb_fleet_list(sb_fleet **out, sb_broker *b, const sb_fleet_query *q)
{
    static const sb_fleet_query all = { 0 };
    const sb_config_host **hosts = NULL;
    struct job *j;
    sb_fleet *f = NULL;
    size_t n = 0;
    int rc;

    if (!out || !b)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_fleet_list: NULL %s",
                            !out ? "output" : "broker");
    *out = NULL;
    q = q ? q : &all;
    if (q->nhosts && !q->hosts)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_fleet_list: nhosts is %zu, hosts is NULL",
                            q->nhosts);
    if (q->nplugins && !q->plugins)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_fleet_list: nplugins is %zu, plugins is NULL",
                            q->nplugins);
    if (q->older_than < 0)
        return sb_error_set(SB_ERR_INVALID_ARG, "sb_fleet_list: negative age %lld",
                            q->older_than);
    if ((rc = select_hosts(b, q, &hosts, &n)) < 0)
        return rc;
    unsigned parallel = q->max_parallel ? q->max_parallel : DEFAULT_PARALLEL;
    double timeout_ms = q->timeout_ms ? q->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!(f = calloc(1, sizeof(*f))) || !(j = job_new(b, hosts, n, q, timeout_ms))) {
        free(hosts);
        free(f);
        return sb_error_oom();
    }
    /* libxml2's one-time setup is not safe to race */
    xmlInitParser();

    pthread_mutex_lock(&j->lock);
    wait_for_hosts(j, parallel);
    rc = build(f, j, hosts);
    /* the workers that were not abandoned are done or about to exit */
    pthread_t *join = calloc(j->ntids + 1, sizeof(*join));
    size_t njoin = 0;
    for (size_t k = 0; k < j->ntids; k++) {
        if (j->detached[k])
            continue;
        if (join)
            join[njoin++] = j->tids[k];
        else
            pthread_detach(j->tids[k]); /* out of memory: let them go */
    }
    job_unref_unlock(j);
    for (size_t k = 0; k < njoin; k++)
        pthread_join(join[k], NULL);
    free(join);
    free(hosts);
    if (rc < 0) {
        sb_fleet_free(f);
        return rc;
    }
    size_t failed = 0;
    for (size_t i = 0; i < f->nhosts; i++)
        failed += f->hosts[i].status != 0;
    *out = f;
    return (int)failed;
}
