/* Device lists set aside unread.  A VM read brings the VM's whole
 * device list (most of the answer: every device's label, summary, slot),
 * and most callers want only the snapshot tree, power state or tools
 * status from it.  Before the answer is parsed, each config.hardware.device
 * value is cut out of the text and replaced by a marker; the text is
 * parsed only when a caller needs the disks (esx_conf_disks).
 *
 * The cut needs the exact end of the <val> element without parsing it.
 * In well-formed XML a '<' only starts markup ('<' is not allowed in text
 * or attribute values), and a start tag ends at the first '>' outside
 * quotes; so counting start and end tags finds it, as long as there is no
 * comment, CDATA section, processing instruction or DOCTYPE (vSphere
 * sends none): any of those, or an answer cut short, and the answer is
 * parsed whole as before.  A malformed device list is then reported when
 * it is read. */
#include "esx.h"

#include <stdlib.h>
#include <string.h>

#define NAME_TAG "<name>config.hardware.device</name>"

void esx_texts_clear(esx_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* Just past the element whose start tag begins at p, or NULL. */
static const char *element_end(const char *p, const char *end)
{
    int depth = 0;

    while (p < end) {
        if (*p != '<') {
            if (!(p = memchr(p, '<', (size_t)(end - p))))
                return NULL;
            continue;
        }
        if (end - p < 2 || p[1] == '!' || p[1] == '?')
            return NULL;
        if (p[1] == '/') {
            const char *gt = memchr(p, '>', (size_t)(end - p));
            if (!gt)
                return NULL;
            p = gt + 1;
            if (--depth <= 0)
                return depth == 0 ? p : NULL;
            continue;
        }
        char quote = 0;
        const char *t = p + 1;
        for (; t < end && (quote || *t != '>'); t++) {
            if (quote) {
                if (*t == quote)
                    quote = 0;
            } else if (*t == '"' || *t == '\'') {
                quote = *t;
            }
        }
        if (t >= end)
            return NULL;
        p = t + 1;
        if (t[-1] != '/')
            depth++;
        else if (depth == 0)
            return p; /* <val/> */
    }
    return NULL;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int add_text(esx_texts *t, const char *s, size_t n)
{
    char **nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    t->v = nv;
    if (!(t->v[t->n] = malloc(n + 1)))
        return -1;
    memcpy(t->v[t->n], s, n);
    t->v[t->n++][n] = '\0';
    return 0;
}

int ex_defer_devices(esx_buf *answer, esx_texts *texts)
{
    const char *p = answer->p, *end = p ? p + answer->len : NULL, *copied = p;
    size_t first = texts->n;
    esx_buf out = { 0 };

    while (p && (p = memmem(p, (size_t)(end - p), NAME_TAG, sizeof(NAME_TAG) - 1))) {
        const char *val = p + sizeof(NAME_TAG) - 1;
        while (val < end && is_space(*val))
            val++;
        const char *val_end = NULL;
        if (end - val > 4 && memcmp(val, "<val", 4) == 0 &&
            (is_space(val[4]) || val[4] == '>' || val[4] == '/'))
            val_end = element_end(val, end);
        if (!val_end)
            break; /* not what vSphere sends: the rest is parsed whole */
        if (add_text(texts, val, (size_t)(val_end - val)) < 0)
            goto oom;
        eb_add(&out, copied, (size_t)(val - copied));
        eb_printf(&out, "<esxDeferred>%zu</esxDeferred>", texts->n - 1);
        copied = p = val_end;
    }
    if (texts->n == first)
        return 0;
    eb_add(&out, copied, (size_t)(end - copied));
    if (out.oom)
        goto oom;
    eb_free(answer);
    *answer = out;
    return 0;
oom:
    while (texts->n > first)
        free(texts->v[--texts->n]);
    eb_free(&out);
    return -1;
}
