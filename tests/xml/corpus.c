/* Golden corpus loader (see tests/data/xml/README.md for the format). */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapbroker/flags.h"

static char data_dir[4096];
static char tmp_dir[256];

const char *corpus_dir(void)
{
    if (!data_dir[0]) {
        const char *root = getenv("SB_SOURCE_ROOT");
        snprintf(data_dir, sizeof(data_dir), "%s/tests/data/xml", root ? root : ".");
    }
    return data_dir;
}

const char *corpus_tmpdir(void)
{
    if (!tmp_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp_dir, sizeof(tmp_dir), "%s/sbxml.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp_dir)) {
            perror("mkdtemp");
            exit(99);
        }
    }
    return tmp_dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void corpus_cleanup(void)
{
    if (tmp_dir[0])
        nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmp_dir[0] = '\0';
}

char *corpus_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(buf, cap);
            if (!p)
                abort();
            buf = p;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *corpus_subst(const char *text)
{
    const char *dir = corpus_tmpdir();
    size_t count = 0;
    for (const char *p = text; (p = strstr(p, "@DATA@")); p += 6)
        count++;
    size_t n = strlen(text) + count * strlen(dir) + 1;
    char *out = malloc(n), *o = out;
    if (!out)
        abort();
    for (const char *p = text;;) {
        const char *q = strstr(p, "@DATA@");
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        strcpy(o, dir);
        o += strlen(dir);
        p = q + 6;
    }
    return out;
}

/* Every @DATA@/NAME becomes a file, except NAME starting with "nofile"
 * (left missing) or "dir" (a directory). */
static void create_placeholders(const char *text)
{
    for (const char *p = text; (p = strstr(p, "@DATA@/")); ) {
        p += 7;
        size_t n = strcspn(p, "'\"</ \t\r\n");
        char name[256], path[512];
        if (n == 0 || n >= sizeof(name))
            continue;
        memcpy(name, p, n);
        name[n] = '\0';
        snprintf(path, sizeof(path), "%s/%s", corpus_tmpdir(), name);
        if (!strncmp(name, "nofile", 6))
            continue;
        if (!strncmp(name, "dir", 3)) {
            mkdir(path, 0755);
            continue;
        }
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0)
            close(fd);
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **corpus_list(size_t *n)
{
    DIR *d = opendir(corpus_dir());
    struct dirent *e;
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 7 || strcmp(e->d_name + len - 7, ".in.xml") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        names[(*n)++] = strndup(e->d_name, len - 7);
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(*names), cmp_names);
    return names;
}

void corpus_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int parse_location(const char *s)
{
    if (!strcmp(s, "internal"))
        return SB_LOCATION_INTERNAL;
    if (!strcmp(s, "external"))
        return SB_LOCATION_EXTERNAL;
    if (!strcmp(s, "no"))
        return SB_LOCATION_NO;
    return -1;
}

static char *path_in_data(const char *rel)
{
    size_t n = strlen(corpus_dir()) + strlen(rel) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", corpus_dir(), rel);
    return p;
}

static void set_arg_error(corpus_case *c, const char *what, const char *arg)
{
    if (c->arg_error)
        return;
    size_t n = strlen(what) + strlen(arg) + 4;
    c->arg_error = malloc(n);
    snprintf(c->arg_error, n, "%s %s", what, arg);
}

static void parse_args(corpus_case *c, char *args)
{
    char *save = NULL;
    for (char *t = strtok_r(args, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        sb_normalize_opts *o = &c->opts;
        if (!strcmp(t, "--redefine"))
            o->redefine = 1;
        else if (!strcmp(t, "--running"))
            o->running = 1;
        else if (!strcmp(t, "--offline"))
            o->offline = 1;
        else if (!strcmp(t, "--disk-only"))
            o->disk_only = 1;
        else if (!strcmp(t, "--validate"))
            o->validate = 1;
        else if (!strcmp(t, "--secure"))
            o->secure = 1;
        else if (!strcmp(t, "--mixed"))
            o->mixed_locations = 1;
        else if (!strcmp(t, "--force-default"))
            o->force_default = 1;
        else if (!strcmp(t, "--no-override"))
            o->no_override = 1;
        else if (!strcmp(t, "--no-disk-entries"))
            o->no_disk_entries = 1;
        else if (!strcmp(t, "--input-schema-invalid"))
            c->input_schema_invalid = true;
        else if (!strcmp(t, "--schema-invalid"))
            c->schema_invalid = c->input_schema_invalid = true;
        else if (!strcmp(t, "--creation-time") || !strcmp(t, "--domain") ||
                 !strcmp(t, "--default-location") || !strcmp(t, "--plugin")) {
            char *v = strtok_r(NULL, " \t\r\n", &save);
            if (!v) {
                set_arg_error(c, "missing value for", t);
                return;
            }
            if (!strcmp(t, "--creation-time")) {
                o->creation_time = strtoll(v, NULL, 10);
            } else if (!strcmp(t, "--plugin")) {
                o->plugin_name = strdup(v);
            } else if (!strcmp(t, "--default-location")) {
                if ((o->default_location = parse_location(v)) < 0)
                    set_arg_error(c, "bad --default-location", v);
            } else {
                char *p = path_in_data(v);
                char *raw = corpus_read_file(p, NULL);
                free(p);
                if (!raw) {
                    set_arg_error(c, "cannot read --domain", v);
                    return;
                }
                create_placeholders(raw);
                free(c->domain_xml);
                c->domain_xml = corpus_subst(raw);
                free(raw);
                o->domain_xml = c->domain_xml;
            }
        } else {
            set_arg_error(c, "unknown option", t);
        }
    }
}

static char *sidecar(const char *name, const char *suffix)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "%s%s", name, suffix);
    char *p = path_in_data(rel);
    char *text = corpus_read_file(p, NULL);
    free(p);
    return text;
}

int corpus_load(const char *name, corpus_case *c)
{
    memset(c, 0, sizeof(*c));
    c->name = strdup(name);
    char *raw = sidecar(name, ".in.xml");
    if (!raw)
        return -1;
    create_placeholders(raw);
    c->input = corpus_subst(raw);
    c->input_len = strlen(c->input);
    /* Inputs with NUL bytes or invalid UTF-8 are kept byte-exact. */
    if (!strstr(raw, "@DATA@")) {
        free(c->input);
        char *p = path_in_data(name);
        size_t n = strlen(p) + 8;
        char *full = malloc(n);
        snprintf(full, n, "%s.in.xml", p);
        c->input = corpus_read_file(full, &c->input_len);
        free(full);
        free(p);
    }
    free(raw);

    char *args = sidecar(name, ".args");
    if (args) {
        parse_args(c, args);
        free(args);
    }
    char *out = sidecar(name, ".out.xml");
    if (out) {
        c->expected_out = corpus_subst(out);
        free(out);
    }
    char *err = sidecar(name, ".err");
    if (err) {
        char *nl = strchr(err, '\n');
        if (nl) {
            *nl = '\0';
            char *frag = nl + 1;
            frag[strcspn(frag, "\r\n")] = '\0';
            c->err_fragment = corpus_subst(frag);
        }
        c->err_class = strdup(err);
        free(err);
    }
    return 0;
}

void corpus_case_free(corpus_case *c)
{
    free(c->name);
    free(c->input);
    free(c->expected_out);
    free(c->err_class);
    free(c->err_fragment);
    free(c->domain_xml);
    free((char *)c->opts.plugin_name);
    free(c->arg_error);
    memset(c, 0, sizeof(*c));
}
