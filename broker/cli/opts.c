/* snapbroker CLI - option parser (see opts.h). */
#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long find_def(const sb_optdef *defs, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(defs[i].name) == len && strncmp(defs[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

static int list_append(sb_optval *v, const char *s)
{
    const char **l = realloc(v->list, (v->nlist + 1) * sizeof(*l));
    if (!l)
        return -1;
    l[v->nlist++] = s;
    v->list = l;
    return 0;
}

/* Store value into option i; 0 or -1 with err set. */
static int set_value(sb_args *a, size_t i, const char *value, char *err, size_t errlen)
{
    const sb_optdef *d = &a->defs[i];
    sb_optval *v = &a->vals[i];

    if (!*value && !(d->flags & SB_OPTF_EMPTY_OK)) {
        snprintf(err, errlen, "Failed to get option '%s': Option argument is empty", d->name);
        return -1;
    }
    if (d->type == SB_OPT_LIST) {
        if (list_append(v, value) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    } else {
        v->str = value;
    }
    v->seen = 1;
    return 0;
}

/* The first positional option that has not been given yet. */
static long next_positional(const sb_args *a)
{
    for (size_t i = 0; i < a->ndefs; i++) {
        const sb_optdef *d = &a->defs[i];
        if (!(d->flags & SB_OPTF_POSITIONAL))
            continue;
        if (d->type == SB_OPT_LIST || !a->vals[i].seen)
            return (long)i;
    }
    return -1;
}

static int parse_one(sb_args *a, const char *cmd, int argc, char *const *argv, int *pos,
                     int *dashdash, char *err, size_t errlen)
{
    const char *w = argv[*pos];

    if (*dashdash || w[0] != '-' || w[1] != '-' || w[2] == '\0') {
        if (!*dashdash && strcmp(w, "--") == 0) {
            *dashdash = 1;
            return 0;
        }
        long i = next_positional(a);
        if (i < 0) {
            snprintf(err, errlen, "unexpected data '%s'", w);
            return -1;
        }
        return set_value(a, (size_t)i, w, err, errlen);
    }

    const char *name = w + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    long i = find_def(a->defs, a->ndefs, name, len);
    if (i < 0) {
        snprintf(err, errlen, "command '%s' doesn't support option --%.*s", cmd, (int)len, name);
        return -1;
    }
    const sb_optdef *d = &a->defs[i];
    if (a->vals[i].seen && d->type != SB_OPT_LIST) {
        snprintf(err, errlen, "option --%s already seen", d->name);
        return -1;
    }
    if (d->type == SB_OPT_BOOL) {
        if (eq) {
            snprintf(err, errlen, "option --%s takes no value", d->name);
            return -1;
        }
        a->vals[i].seen = 1;
        return 0;
    }
    if (eq)
        return set_value(a, (size_t)i, eq + 1, err, errlen);
    if (*pos + 1 >= argc) {
        snprintf(err, errlen, "expected syntax: --%s <string>", d->name);
        return -1;
    }
    (*pos)++;
    return set_value(a, (size_t)i, argv[*pos], err, errlen);
}

int sb_args_parse(sb_args *out, const char *cmd, const sb_optdef *defs,
                  int argc, char *const *argv, char *err, size_t errlen)
{
    sb_args a = { .defs = defs };
    int dashdash = 0;

    while (defs[a.ndefs].name)
        a.ndefs++;
    a.vals = calloc(a.ndefs ? a.ndefs : 1, sizeof(*a.vals));
    if (!a.vals) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int pos = 0; pos < argc; pos++) {
        if (parse_one(&a, cmd, argc, argv, &pos, &dashdash, err, errlen) < 0)
            goto error;
    }
    for (size_t i = 0; i < a.ndefs; i++) {
        if ((defs[i].flags & SB_OPTF_REQUIRED) && !a.vals[i].seen) {
            snprintf(err, errlen, "command '%s' requires <%s> option", cmd, defs[i].name);
            goto error;
        }
    }
    *out = a;
    return 0;
 error:
    sb_args_free(&a);
    memset(out, 0, sizeof(*out));
    return -1;
}

void sb_args_free(sb_args *a)
{
    if (!a->vals)
        return;
    for (size_t i = 0; i < a->ndefs; i++)
        free(a->vals[i].list);
    free(a->vals);
    a->vals = NULL;
}

static const sb_optval *lookup(const sb_args *a, const char *name, sb_opt_type type)
{
    long i = find_def(a->defs, a->ndefs, name, strlen(name));
    if (i < 0 || a->defs[i].type != type) {
        fprintf(stderr, "BUG: option --%s is not in the command's table\n", name);
        abort();
    }
    return &a->vals[i];
}

int sb_args_bool(const sb_args *a, const char *name)
{
    return lookup(a, name, SB_OPT_BOOL)->seen;
}

const char *sb_args_str(const sb_args *a, const char *name)
{
    return lookup(a, name, SB_OPT_STRING)->str;
}

size_t sb_args_list(const sb_args *a, const char *name, const char *const **out)
{
    const sb_optval *v = lookup(a, name, SB_OPT_LIST);
    *out = v->list;
    return v->nlist;
}

/* Whether an option of any type was given. */
static int given(const sb_args *a, const char *name)
{
    long i = find_def(a->defs, a->ndefs, name, strlen(name));
    if (i < 0) {
        fprintf(stderr, "BUG: option --%s is not in the command's table\n", name);
        abort();
    }
    return a->vals[i].seen;
}

int sb_args_exclusive(const sb_args *a, const char *const *pairs, char *err, size_t errlen)
{
    for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2) {
        if (given(a, pairs[i]) && given(a, pairs[i + 1])) {
            snprintf(err, errlen, "Options --%s and --%s are mutually exclusive",
                     pairs[i], pairs[i + 1]);
            return -1;
        }
    }
    return 0;
}
