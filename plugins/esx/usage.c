/* Space a snapshot holds (ABI 1.1 snapshot_usage), from the VM's
 * layoutEx: the snapshot's state file (.vmsn), its memory file, and the
 * delta disks it froze: the files of its disk chains that its parent's
 * chains do not have (a root's chains begin at the base disks, which are
 * not the snapshot's).  One extra round trip, only when asked. */
#include "esx.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lfile {
    long long key, size;
    char *name;
};

struct chain {
    long long *keys; /* file keys of the chains past their first unit */
    size_t n;
};

static void files_free(struct lfile *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].name);
    free(f);
}

static const struct lfile *file_of(const struct lfile *f, size_t n, long long key)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].key == key)
            return &f[i];
    return NULL;
}

/* The snapshot layout whose key is this snapshot reference. */
static const xmlNode *layout_of(const xmlNode *snapshots, const char *ref)
{
    for (xmlNode *s = ex_child(snapshots, NULL); s; s = ex_next(s)) {
        char *k = ex_child_text(s, "key");
        int hit = k && strcmp(k, ref) == 0;
        free(k);
        if (hit)
            return s;
    }
    return NULL;
}

/* Delta files of a snapshot layout's disks (every chain unit but the
 * first, the base disk). */
static int delta_keys(const xmlNode *layout, struct chain *out)
{
    memset(out, 0, sizeof(*out));
    for (xmlNode *d = ex_child(layout, "disk"); d; d = ex_next(d)) {
        int unit = 0;
        for (xmlNode *u = ex_child(d, "chain"); u; u = ex_next(u), unit++) {
            if (unit == 0)
                continue;
            for (xmlNode *k = ex_child(u, "fileKey"); k; k = ex_next(k)) {
                char *t = ex_text(k);
                long long *nv = realloc(out->keys, (out->n + 1) * sizeof(*nv));
                if (!t || !nv) {
                    free(t);
                    if (nv)
                        out->keys = nv;
                    return -1;
                }
                out->keys = nv;
                out->keys[out->n++] = strtoll(t, NULL, 10);
                free(t);
            }
        }
    }
    return 0;
}

static int has_key(const struct chain *c, long long k)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->keys[i] == k)
            return 1;
    return 0;
}

#define FITS(out, member) \
    ((out)->struct_size >= offsetof(struct sb_snapshot_usage, member) + sizeof((out)->member))

int esx_snapshot_usage(struct sb_snapshot_usage *out, sb_conn *c, const char *domain,
                       const char *name, const char *xml)
{
    struct lfile *files = NULL;
    struct chain mine = { 0 }, parents = { 0 };
    esx_result res = { 0 };
    esx_buf spec = { 0 };
    size_t nfiles = 0;
    esx_vm *vm;
    long idx;
    int rc;

    (void)xml; /* hypervisor-owned: looked up by name */
    if ((rc = esx_vm_get(c, domain, 0, &vm)) < 0 ||
        (rc = esx_snap_lookup(c, vm, domain, name, &idx)) < 0)
        return rc;
    char *ref = strdup(vm->tree.v[idx].ref.value);
    long pidx = vm->tree.v[idx].parent;
    char *pref = pidx >= 0 ? strdup(vm->tree.v[pidx].ref.value) : NULL;
    if (!ref || (pidx >= 0 && !pref)) {
        rc = esx_oom(c);
        goto out;
    }
    eb_adds(&spec, "<propSet><type>VirtualMachine</type><all>false</all>"
                   "<pathSet>layoutEx.file</pathSet><pathSet>layoutEx.snapshot</pathSet>"
                   "</propSet>");
    rc = esx_retrieve_one(c, &spec, vm->ref.type, vm->ref.value, &res);
    if (rc < 0)
        goto out;
    const esx_obj *o = res.nobjs ? &res.objs[0] : NULL;
    const xmlNode *fl = esx_obj_prop(o, "layoutEx.file");
    const xmlNode *sl = esx_obj_prop(o, "layoutEx.snapshot");
    for (xmlNode *f = ex_child(fl, NULL); f; f = ex_next(f)) {
        struct lfile *nv = realloc(files, (nfiles + 1) * sizeof(*nv));
        if (!nv) {
            rc = esx_oom(c);
            goto out;
        }
        files = nv;
        struct lfile *x = &files[nfiles++];
        memset(x, 0, sizeof(*x));
        ex_child_ll(f, "key", &x->key);
        ex_child_ll(f, "size", &x->size);
        x->name = ex_child_text(f, "name");
    }
    const xmlNode *lay = layout_of(sl, ref);
    if (!lay) {
        rc = esx_error(c, SB_ERR_NO_SUPPORT,
                       "esx: %s does not describe the files of snapshot '%s' of '%s' "
                       "(layoutEx)",
                       c->display, name, domain);
        goto out;
    }
    if (delta_keys(lay, &mine) < 0 ||
        (pref && layout_of(sl, pref) && delta_keys(layout_of(sl, pref), &parents) < 0)) {
        rc = esx_oom(c);
        goto out;
    }
    long long data_key = -1, mem_key = -1;
    ex_child_ll(lay, "dataKey", &data_key);
    ex_child_ll(lay, "memoryKey", &mem_key);
    const struct lfile *data = file_of(files, nfiles, data_key);
    const struct lfile *mem = mem_key >= 0 ? file_of(files, nfiles, mem_key) : NULL;
    unsigned long long bytes = (data ? (unsigned long long)data->size : 0) +
                               (mem && mem != data ? (unsigned long long)mem->size : 0);
    for (size_t i = 0; i < mine.n; i++) {
        const struct lfile *f = file_of(files, nfiles, mine.keys[i]);
        if (f && !has_key(&parents, mine.keys[i]))
            bytes += (unsigned long long)f->size;
    }
    if (FITS(out, bytes))
        out->bytes = bytes;
    if (FITS(out, known_bytes))
        out->known_bytes = data != NULL;
    if (FITS(out, memory_bytes))
        out->memory_bytes = mem ? (unsigned long long)mem->size : 0;
    if (FITS(out, location) && data && data->name)
        snprintf(out->location, sizeof(out->location), "%s", data->name);
out:
    free(ref);
    free(pref);
    free(mine.keys);
    free(parents.keys);
    files_free(files, nfiles);
    esx_result_clear(&res);
    return rc;
}
