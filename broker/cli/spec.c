/* snapbroker CLI - memspec/diskspec and the create-as document (spec.h). */
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

void sb_spec_free(char **tokens, size_t n)
{
    for (size_t i = 0; tokens && i < n; i++)
        free(tokens[i]);
    free(tokens);
}

int sb_spec_split(char ***out, size_t *n, const char *spec)
{
    size_t len = strlen(spec), count = 0;
    char **tok = calloc(len + 1, sizeof(*tok)); /* at most len + 1 tokens */
    char *cur = malloc(len + 1);
    size_t clen = 0;

    if (!tok || !cur)
        goto nomem;
    for (const char *p = spec;; p++) {
        if (*p == ',' && p[1] == ',') {
            cur[clen++] = ',';
            p++;
            continue;
        }
        if (*p == ',' || *p == '\0') {
            cur[clen] = '\0';
            if (!(tok[count] = strdup(cur)))
                goto nomem;
            count++;
            clen = 0;
            if (*p == '\0')
                break;
            continue;
        }
        cur[clen++] = *p;
    }
    free(cur);
    *out = tok;
    *n = count;
    return 0;
 nomem:
    free(cur);
    sb_spec_free(tok, count);
    return -1;
}

/* If tok is "key=value", point *slot at value; 1 when it matched, -1 when
 * the key was already given, 0 when tok is not that key. */
static int take(const char *tok, const char *key, const char **slot)
{
    size_t klen = strlen(key);
    if (strncmp(tok, key, klen) != 0 || tok[klen] != '=')
        return 0;
    if (*slot)
        return -1;
    *slot = tok + klen + 1;
    return 1;
}

typedef struct memspec { const char *file, *snapshot; } memspec;
typedef struct diskspec { const char *name, *snapshot, *driver, *stype, *file; } diskspec;

static int parse_memspec(memspec *m, char **tok, size_t n, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        int r;
        if (!*tok[i]) {
            *why = "empty field";
            return -1;
        }
        if ((r = take(tok[i], "file", &m->file)) || (r = take(tok[i], "snapshot", &m->snapshot))) {
            if (r < 0) {
                *why = "a key is given twice";
                return -1;
            }
            continue;
        }
        if (strchr(tok[i], '=') || m->file) {
            *why = m->file ? "more than one file" : "unknown key";
            return -1;
        }
        m->file = tok[i]; /* a bare word is the file name */
    }
    return 0;
}

static int parse_diskspec(diskspec *d, char **tok, size_t n, const char **why)
{
    if (n == 0 || !*tok[0]) {
        /* virsh 9.0 prints a broken <disk> for this; we refuse it. */
        *why = "missing disk name";
        return -1;
    }
    d->name = tok[0];
    for (size_t i = 1; i < n; i++) {
        int r;
        if ((r = take(tok[i], "snapshot", &d->snapshot)) || (r = take(tok[i], "driver", &d->driver)) ||
            (r = take(tok[i], "stype", &d->stype)) || (r = take(tok[i], "file", &d->file))) {
            if (r < 0) {
                *why = "a key is given twice";
                return -1;
            }
            continue;
        }
        *why = "unknown field";
        return -1;
    }
    if (d->stype && strcmp(d->stype, "file") != 0 && strcmp(d->stype, "block") != 0) {
        *why = "unknown storage type, expected 'file' or 'block'";
        return -1;
    }
    return 0;
}

static void attr(FILE *f, const char *name, const char *value)
{
    if (!value)
        return;
    fprintf(f, " %s='", name);
    sb_xml_escape(f, value);
    fputc('\'', f);
}

static void write_disk(FILE *f, const diskspec *d)
{
    int block = d->stype && strcmp(d->stype, "block") == 0;

    fputs("    <disk", f);
    attr(f, "name", d->name);
    attr(f, "snapshot", d->snapshot);
    attr(f, "type", d->stype);
    if (!d->driver && !d->file) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n", f);
    if (d->driver) {
        fputs("      <driver", f);
        attr(f, "type", d->driver);
        fputs("/>\n", f);
    }
    if (d->file) {
        fputs("      <source", f);
        attr(f, block ? "dev" : "file", d->file);
        fputs("/>\n", f);
    }
    fputs("    </disk>\n", f);
}

static void text_elem(FILE *f, const char *elem, const char *value)
{
    if (!value)
        return;
    fprintf(f, "  <%s>", elem);
    sb_xml_escape(f, value);
    fprintf(f, "</%s>\n", elem);
}

int sb_createas_xml(char **out, const char *name, const char *description,
                    const char *memspec_str, const char *const *diskspecs, size_t ndisks,
                    char *err, size_t errlen)
{
    char **mtok = NULL, ***dtok = NULL;
    size_t mn = 0, *dn = NULL;
    memspec m = { 0 };
    diskspec *d = NULL;
    const char *why = NULL;
    char *buf = NULL;
    size_t blen = 0;
    int ret = -1;

    *out = NULL;
    dtok = calloc(ndisks + 1, sizeof(*dtok));
    dn = calloc(ndisks + 1, sizeof(*dn));
    d = calloc(ndisks + 1, sizeof(*d));
    if (!dtok || !dn || !d)
        goto nomem;
    if (memspec_str) {
        if (sb_spec_split(&mtok, &mn, memspec_str) < 0)
            goto nomem;
        if (parse_memspec(&m, mtok, mn, &why) < 0) {
            snprintf(err, errlen, "unable to parse memspec: %s (%s)", memspec_str, why);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < ndisks; i++) {
        if (sb_spec_split(&dtok[i], &dn[i], diskspecs[i]) < 0)
            goto nomem;
        if (parse_diskspec(&d[i], dtok[i], dn[i], &why) < 0) {
            snprintf(err, errlen, "unable to parse diskspec: %s (%s)", diskspecs[i], why);
            goto cleanup;
        }
    }

    FILE *f = open_memstream(&buf, &blen);
    if (!f)
        goto nomem;
    fputs("<domainsnapshot>\n", f);
    text_elem(f, "name", name);
    text_elem(f, "description", description);
    if (memspec_str) {
        fputs("  <memory", f);
        attr(f, "snapshot", m.snapshot);
        attr(f, "file", m.file);
        fputs("/>\n", f);
    }
    if (ndisks) {
        fputs("  <disks>\n", f);
        for (size_t i = 0; i < ndisks; i++)
            write_disk(f, &d[i]);
        fputs("  </disks>\n", f);
    }
    fputs("</domainsnapshot>\n", f);
    if (fclose(f) != 0) {
        free(buf);
        goto nomem;
    }
    *out = buf;
    ret = 0;
    goto cleanup;
 nomem:
    snprintf(err, errlen, "out of memory");
 cleanup:
    sb_spec_free(mtok, mn);
    for (size_t i = 0; dtok && i < ndisks; i++)
        sb_spec_free(dtok[i], dn[i]);
    free(dtok);
    free(dn);
    free(d);
    return ret;
}
