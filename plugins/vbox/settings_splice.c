/* vbox plugin - taking a snapshot by editing the settings file's text.
 *
 * A snapshot changes a few places of a file that can hold a thousand
 * snapshots with full hardware copies: the Machine's start tag
 * (currentSnapshot, currentStateModified, lastStateChange), one new
 * <HardDisk> per disk in the registry, one <Image uuid> per disk in the
 * machine's state, and one new <Snapshot> (a copy of the machine's state
 * elements) under the current snapshot.  The streaming reader recorded
 * where those places are (vb_machine.spliceable); editing the text there
 * costs no document build and keeps every other byte as VirtualBox wrote
 * it.  Whatever does not fit this shape falls back to the document
 * (settings_edit.c). */
#include "vb.h"
#include "buf.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>

typedef struct edit {
    size_t at, del;
    char *ins;
} edit;

static int cmp_edit(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The Machine start tag with currentSnapshot, currentStateModified and
 * lastStateChange set (kept in place when present, else appended). */
static char *machine_tag(const char *buf, size_t at, size_t end, const char *snap, const char *ts)
{
    static const char *const names[] = { "currentSnapshot", "currentStateModified",
                                         "lastStateChange" };
    char values[3][64];
    int seen[3] = { 0, 0, 0 };
    vb_buf b = { 0 };
    size_t i = at + strlen("<Machine");

    snprintf(values[0], sizeof values[0], "{%s}", snap);
    snprintf(values[1], sizeof values[1], "false");
    snprintf(values[2], sizeof values[2], "%s", ts);
    if (strncmp(buf + at, "<Machine", 8) != 0 || !is_space(buf[i]))
        return NULL;
    vb_buf_add(&b, "<Machine");
    for (;;) {
        size_t ws = i;
        while (i < end && is_space(buf[i]))
            i++;
        if (i >= end)
            goto bad;
        if (buf[i] == '>' || buf[i] == '/')
            break;
        size_t name = i;
        while (i < end && !is_space(buf[i]) && buf[i] != '=')
            i++;
        size_t name_len = i - name;
        while (i < end && is_space(buf[i]))
            i++;
        if (i >= end || buf[i++] != '=')
            goto bad;
        while (i < end && is_space(buf[i]))
            i++;
        if (i >= end || (buf[i] != '"' && buf[i] != '\''))
            goto bad;
        const char *close = memchr(buf + i + 1, buf[i], end - i - 1);
        if (!close)
            goto bad;
        size_t after = (size_t)(close - buf) + 1;
        int k;
        for (k = 0; k < 3; k++)
            if (strlen(names[k]) == name_len && strncmp(buf + name, names[k], name_len) == 0)
                break;
        if (k < 3) {
            seen[k] = 1;
            vb_buf_addf(&b, " %s=\"%s\"", names[k], values[k]);
        } else {
            /* everything else exactly as it was, spacing included */
            char *text = strndup(buf + ws, after - ws);
            if (!text)
                goto bad;
            vb_buf_add(&b, text);
            free(text);
        }
        i = after;
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            vb_buf_addf(&b, " %s=\"%s\"", names[k], values[k]);
    vb_buf_add(&b, buf[i] == '/' ? "/>" : ">");
    return vb_buf_take(&b);
bad:
    vb_buf_free(&b);
    return NULL;
}

/* Attribute value text: VirtualBox's names may hold any character. */
static void esc_attr(vb_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\t' || *s == '\n' || *s == '\r')
            vb_buf_addf(b, "&#%d;", *s);
        else {
            char one[2] = { *s, 0 };
            vb_buf_esc(b, one);
        }
    }
}

static int add(edit *e, size_t *n, size_t at, size_t del, char *ins)
{
    if (!ins)
        return -1;
    e[*n].at = at;
    e[*n].del = del;
    e[*n].ins = ins;
    (*n)++;
    return 0;
}

int vb_splice_snapshot(vb_ctx *ctx, const vb_machine *m, const char *buf, size_t len,
                       const char *uuid, const char *name, const char *desc, long long now,
                       const vb_new_disk *disks, size_t ndisks, char **out, size_t *out_len)
{
    edit *e = calloc(2 * ndisks + 4, sizeof *e);
    size_t n = 0;
    char ts[32];
    int rc = 1; /* "use the document instead" unless everything fits */
    vb_buf snap = { 0 };

    *out = NULL;
    *out_len = 0;
    if (!e)
        return vb_oom(ctx);
    if (!m->spliceable || !m->machine_close_at || !m->nstate)
        goto out;
    const vb_snap *cur = vb_current(m);
    vb_time_format(now, ts, sizeof ts);
    /* the machine's start tag */
    if (add(e, &n, m->machine_at, m->machine_open_end - m->machine_at,
            machine_tag(buf, m->machine_at, m->machine_open_end, uuid, ts)) < 0)
        goto out;
    for (size_t i = 0; i < ndisks; i++) {
        const vb_medium *p = &m->media[disks[i].parent];
        const vb_attach *a = &m->hw.att[disks[i].att];
        vb_buf hd = { 0 };
        if (p->global || !p->tag_end || !a->image_at)
            goto out;
        vb_buf_addf(&hd, "<HardDisk uuid=\"{%s}\" location=\"", disks[i].uuid);
        esc_attr(&hd, disks[i].location);
        vb_buf_add(&hd, "\" format=\"VDI\"/>");
        char *child = vb_buf_take(&hd);
        if (!child)
            goto oom;
        /* under its parent: before its end tag, or the parent opens up */
        if (p->empty) {
            char *wrapped = vb_printf(">%s</HardDisk>", child);
            free(child);
            if (add(e, &n, p->tag_end, 2, wrapped) < 0) /* "/>" */
                goto oom;
        } else if (add(e, &n, p->close_at, 0, child) < 0) {
            goto oom;
        }
        /* the machine's attachment names the new image */
        if (add(e, &n, a->image_at, a->image_len, vb_printf("{%s}", disks[i].uuid)) < 0)
            goto oom;
    }
    /* the snapshot: a copy of the machine's state as it is now */
    vb_buf_addf(&snap, "%s<Snapshot uuid=\"{%s}\" name=\"", cur && !cur->kids_close_at ? "<Snapshots>" : "",
                uuid);
    esc_attr(&snap, name);
    vb_buf_addf(&snap, "\" timeStamp=\"%s\">", ts);
    if (desc && *desc) {
        vb_buf_add(&snap, "<Description>");
        vb_buf_esc(&snap, desc);
        vb_buf_add(&snap, "</Description>");
    }
    for (size_t k = 0; k < m->nstate; k++) {
        char *text = strndup(buf + m->state_at[k], m->state_end[k] - m->state_at[k]);
        if (!text)
            goto oom;
        vb_buf_add(&snap, text);
        free(text);
    }
    vb_buf_addf(&snap, "</Snapshot>%s", cur && !cur->kids_close_at ? "</Snapshots>" : "");
    size_t where = !cur ? m->machine_close_at : cur->kids_close_at ? cur->kids_close_at
                                                                    : cur->close_at;
    if (!where || add(e, &n, where, 0, vb_buf_take(&snap)) < 0)
        goto out;
    /* apply, in file order; edits never overlap */
    qsort(e, n, sizeof *e, cmp_edit);
    vb_buf res = { 0 };
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].at < pos || e[i].at + e[i].del > len) {
            vb_buf_free(&res);
            goto out;
        }
        char *keep = strndup(buf + pos, e[i].at - pos);
        if (!keep) {
            vb_buf_free(&res);
            goto oom;
        }
        vb_buf_add(&res, keep);
        free(keep);
        vb_buf_add(&res, e[i].ins);
        pos = e[i].at + e[i].del;
    }
    vb_buf_add(&res, buf + pos);
    *out_len = res.len;
    if (!(*out = vb_buf_take(&res)))
        goto oom;
    rc = 0;
    goto out;
oom:
    rc = vb_oom(ctx);
out:
    vb_buf_free(&snap);
    for (size_t i = 0; i < n; i++)
        free(e[i].ins);
    free(e);
    return rc;
}
