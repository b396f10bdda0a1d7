/* tests/common - out-of-memory walks (oom_walk.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "oom_walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oom_run(const char *what, long at, int (*fn)(void *), void *arg, int *out_rc,
            long *out_calls)
{
    fa_arm(at);
    int rc = fn(arg);
    long counted = fa_disarm();
    int hit = at && counted >= at;
    const char *msg = rc < 0 && sb_error_last() ? sb_error_last()->message : "";
    if (getenv("OOM_TRACE"))
        print_message("# %s: allocation %ld of %ld: %s\n", what, at, counted,
                      rc < 0 ? msg : "succeeded");
    if (rc < 0 && !hit)
        fail_msg("%s failed with nothing failing: %s", what, msg);
    if (rc < 0 && !*msg)
        fail_msg("%s: an error without a message", what);
    *out_rc = rc;
    if (out_calls)
        *out_calls = counted;
    return hit;
}

void oom_walk(const char *what, const char *whose, long total, int runs,
              int (*step)(void *arg, long at), void *arg)
{
    long stride = getenv("OOM_STRIDE") ? atol(getenv("OOM_STRIDE"))
                  : runs > 16 ? total / (runs - 16) + 1 : 1;
    long first = getenv("OOM_AT") ? atol(getenv("OOM_AT")) : 1;
    if (stride < 1 || first > 1)
        stride = first > 1 ? total + 1 : 1;
    int done = 0, hit = 0;
    for (long at = first; at <= total; at += at < 16 ? 1 : stride) {
        done++;
        hit += step(arg, at);
    }
    if (stride == 1)
        print_message("# %s: %ld allocations by %s, each failed once: %d reached theirs\n",
                      what, total, whose, hit);
    else
        print_message("# %s: %ld allocations by %s, the first 16 and every %ld-th failed: %d "
                      "runs, %d reached theirs\n", what, total, whose, stride, done, hit);
}

char *oom_tree(sb_connection *c, const char *domain)
{
    char **names = NULL, *cur = NULL, buf[1024];
    size_t n = 0, off = 0;
    if (sb_snapshot_list(&names, &n, c, domain, NULL, SB_SNAPSHOT_LIST_TOPOLOGICAL) < 0)
        fail_msg("list: %s", sb_error_last()->message);
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? "," : "", names[i]);
    for (size_t i = 0; i < n; i++) {
        char *p = NULL;
        if (sb_snapshot_parent(&p, c, domain, names[i]) < 0 &&
            sb_error_last()->code != SB_ERR_NO_DOMAIN_SNAPSHOT)
            fail_msg("parent of %s: %s", names[i], sb_error_last()->message);
        off += (size_t)snprintf(buf + off, sizeof buf - off, " %s<%s", names[i], p ? p : "");
        free(p);
    }
    if (sb_snapshot_current(&cur, c, domain) < 0)
        cur = NULL; /* none */
    snprintf(buf + off, sizeof buf - off, " current=%s", cur ? cur : "");
    free(cur);
    sb_names_free(names, n);
    return strdup(buf);
}

/* ---- one operation on a state made afresh per run ------------------------ */

struct one {
    const struct oom_case *c;
    const struct oom_op *op;
    void *ctx;
    char *after;  /* what the run without a failure left */
    long total;   /* the allocations that run made */
};

static int run_op(void *arg)
{
    struct one *o = arg;
    return o->op->run(o->c, o->ctx);
}

static char *tree_of(const struct oom_case *c, void *ctx)
{
    return oom_tree(c->conn(ctx), c->domain(ctx));
}

/* One run on a fresh state with allocation at failing (0: none, the run
 * that tells "after" and the total). */
static int one_run(void *arg, long at)
{
    struct one *o = arg;
    const struct oom_case *c = o->c;
    const char *what = o->op->name;
    o->ctx = c->make();
    char *before = tree_of(c, o->ctx);
    int rc;
    int hit = oom_run(what, at, run_op, o, &rc, at ? NULL : &o->total);
    if (rc < 0 && c->finish)
        c->finish(o->ctx);
    if (c->check)
        c->check(o->ctx);
    char *now = tree_of(c, o->ctx);
    if (!o->after) {
        o->after = strdup(now);
    } else if (strcmp(now, before) && strcmp(now, o->after) &&
               (!o->op->between || strcmp(now, o->op->between))) {
        fail_msg("%s: the state is '%s', neither before ('%s') nor after ('%s')", what, now,
                 before, o->after);
    } else if (rc == 0 && strcmp(now, o->after)) {
        fail_msg("%s succeeded, but the state is '%s', not '%s'", what, now, o->after);
    } else if (strcmp(now, o->after)) { /* left unfinished: the same works now */
        if (o->op->run(c, o->ctx) < 0)
            fail_msg("%s again: %s", what, sb_error_last()->message);
        if (c->check)
            c->check(o->ctx);
        free(now);
        now = tree_of(c, o->ctx);
        assert_string_equal(now, o->after);
    }
    free(now);
    free(before);
    c->done(o->ctx);
    o->ctx = NULL;
    return hit;
}

void oom_walk_op(const struct oom_case *c, const struct oom_op *op)
{
    struct one o = {c, op, NULL, NULL, 0};
    one_run(&o, 0);
    assert_true(o.total > 0); /* else the watched object is not the one at work */
    oom_walk(op->name, c->whose, o.total, c->runs, one_run, &o);
    free(o.after);
}

void oom_test_run(void **state)
{
    const struct oom_test *t = *state;
    oom_walk_op(t->c, t->op);
}

/* ---- the operations every case has ------------------------------------------ */

static int revert_a(const struct oom_case *c, void *ctx)
{
    return sb_snapshot_revert(c->conn(ctx), c->domain(ctx), "a", 0);
}

static int delete_a(const struct oom_case *c, void *ctx)
{
    return sb_snapshot_delete(c->conn(ctx), c->domain(ctx), "a", 0);
}

static int delete_a_children(const struct oom_case *c, void *ctx)
{
    return sb_snapshot_delete(c->conn(ctx), c->domain(ctx), "a", SB_SNAPSHOT_DELETE_CHILDREN);
}

static int dumpxml_b(const struct oom_case *c, void *ctx)
{
    char *xml = NULL;
    int rc = sb_snapshot_get_xml(&xml, c->conn(ctx), c->domain(ctx), "b", 0);
    if (rc == 0 && !strstr(xml, "<name>b</name>"))
        fail_msg("b's document: %s", xml);
    free(xml);
    return rc;
}

const struct oom_op oom_revert_a = {"revert", revert_a, NULL};
const struct oom_op oom_delete_a = {"delete", delete_a, NULL};
const struct oom_op oom_delete_a_children = {"delete_children", delete_a_children,
                                             "a a< current=a"};
const struct oom_op oom_dumpxml_b = {"dumpxml", dumpxml_b, NULL};
