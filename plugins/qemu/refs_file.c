/* qemu plugin - the images each snapshot refers to, kept on disk between
 * processes: <state>/refs/<domain>.cache.
 *
 * A process that has not seen a domain's tree (every CLI call) parsed
 * every snapshot's document to learn which images the others need before
 * an operation could change one: 23 µs a snapshot, a quarter of a second
 * per call at 10 000 snapshots.  The references depend on the document
 * alone, so each is written here under a digest of its document
 * (XXH3-128, with its length); a later process takes an entry only when
 * the document it is lent has that same digest and length, and parses
 * the others.  A stale, missing, torn or foreign file therefore costs
 * parses, never a wrong answer.  The digest guards against accidents,
 * not against an adversary, and needs not: a document crafted to match an
 * entry would have to be stored by a REDEFINE of that very snapshot, and
 * whoever may do that can already make the snapshot name any images.
 *
 * The entries are what this build of the plugin read in the documents:
 * another build may read them differently (a fix in how names or
 * whitespace are read), so the file carries a stamp of the code that
 * wrote it, and a file of other code is not taken at all.
 *
 * The file is a cache: written to a temporary file and renamed over the
 * old one (never half-written), not synced (lost in a crash, it is made
 * again), and only by a walk that had to parse a good share of the tree
 * (snapshot_refs.c).  A temporary file a kill left behind is removed by
 * the next write.  Every byte read is checked: the code stamp, the body's
 * checksum, then each length against what is left.
 *
 *   "SBQREFS2" | u64 code stamp | u64 body length | u64 XXH3-64 of the body
 *   body: u32 count, then per snapshot:
 *     u32 name length, name | 16-byte digest | u64 document length |
 *     u32 flags (1 external, 2 named_unsure) |
 *     four lists (captured, overlays, reverts, named): u32 n, then n of
 *     u32 length, bytes
 * Integers are in this machine's byte order (the file never leaves it). */
#include "snapshot_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "SBQREFS2"
#define HEADER_BYTES 32
/* far above any real tree (10 000 snapshots: about 2 MB) */
#define FILE_MAX (512u << 20)

enum { FLAG_EXTERNAL = 1, FLAG_NAMED_UNSURE = 2 };

void qp_refs_digest(const char *xml, size_t len, unsigned char out[QP_REFS_DIGEST])
{
    XXH128_hash_t h = XXH3_128bits(xml, len);
    memcpy(out, &h.low64, 8);
    memcpy(out + 8, &h.high64, 8);
}

static char *cache_path(qp_ctx *ctx, const char *domain)
{
    return qp_printf("%s/refs/%s.cache", ctx->state_dir, domain);
}

/* ---- the code stamp ---- */

/* A digest of the GNU build ID of the object this code is in (any change
 * to the code changes it) or, in a build made without one, of the
 * object's executable code itself (read once per process). */
static uint64_t stamp;
static pthread_once_t stamp_once = PTHREAD_ONCE_INIT;

static int stamp_of_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t self = (uintptr_t)data;
    int mine = 0;
    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        mine = ph->p_type == PT_LOAD && self >= lo && self - lo < ph->p_memsz;
    }
    if (!mine)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (ph->p_type == PT_NOTE && (size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
            size_t name = (nh->n_namesz + 3u) & ~3u, desc = (nh->n_descsz + 3u) & ~3u;
            const char *d = p + sizeof *nh + name;
            if ((size_t)(end - p) < sizeof *nh + name + desc)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(p + sizeof *nh, "GNU", 4)) {
                stamp = XXH3_64bits(d, nh->n_descsz);
                return 1;
            }
            p = d + desc;
        }
    }
    XXH3_state_t *h = XXH3_createState();
    if (h && XXH3_64bits_reset(h) == XXH_OK) {
        for (int i = 0; i < info->dlpi_phnum; i++) {
            const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
            if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
                XXH3_64bits_update(h, (const void *)(info->dlpi_addr + ph->p_vaddr),
                                   ph->p_filesz);
        }
        stamp = XXH3_64bits_digest(h);
    }
    XXH3_freeState(h);
    return 1;
}

static void compute_stamp(void)
{
    dl_iterate_phdr(stamp_of_object, (void *)(uintptr_t)&stamp_of_object);
}

static uint64_t code_stamp(void)
{
    pthread_once(&stamp_once, compute_stamp);
    return stamp;
}

/* Temporary files of this domain's cache ("." name "." six characters)
 * left by a writer killed before its rename.  One being written right
 * now by another process goes too: its rename then fails, which costs
 * that process nothing but the cache (logged). */
static void remove_leftovers(const char *dir, const char *domain)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t dl = strlen(domain);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] == '.' && !strncmp(n + 1, domain, dl) && n[1 + dl] == '.' &&
            strlen(n + 2 + dl) == 6)
            (void)unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

/* ---- writing ---- */

typedef struct out {
    qp_bytes b;
    int failed;
} out;

static void put(out *o, const void *data, size_t n)
{
    if (!o->failed && qp_bytes_add(&o->b, data, n) < 0)
        o->failed = 1;
}

static void put_u32(out *o, uint32_t v)
{
    put(o, &v, sizeof v);
}

static void put_str(out *o, const char *s, size_t n)
{
    put_u32(o, (uint32_t)n);
    put(o, s, n);
}

static void put_list(out *o, const qp_strv *v)
{
    put_u32(o, (uint32_t)v->n);
    for (size_t i = 0; i < v->n; i++)
        put_str(o, v->v[i], strlen(v->v[i]));
}

/* Write the file in one piece (a temporary file renamed over it); best
 * effort: a failure is logged, never the operation's. */
void qp_refs_file_save(qp_ctx *ctx, const char *domain, const qp_refs_rec *recs, size_t n)
{
    out o = {0};
    char header[HEADER_BYTES] = MAGIC;
    put(&o, header, sizeof header);
    put_u32(&o, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const qp_refs_rec *r = &recs[i];
        put_str(&o, r->name, strlen(r->name));
        put(&o, r->digest, QP_REFS_DIGEST);
        put(&o, &r->doc_len, sizeof r->doc_len);
        put_u32(&o, (r->refs.external ? FLAG_EXTERNAL : 0) |
                        (r->refs.named_unsure ? FLAG_NAMED_UNSURE : 0));
        put_list(&o, &r->refs.captured);
        put_list(&o, &r->refs.overlays);
        put_list(&o, &r->refs.reverts);
        put_list(&o, &r->refs.named);
    }
    char *dir = qp_printf("%s/refs", ctx->state_dir), *path = cache_path(ctx, domain);
    char *tmp = dir ? qp_printf("%s/.%s.XXXXXX", dir, domain) : NULL;
    const char *failed = NULL;
    int fd = -1, e = 0;
    if (o.failed || !dir || !path || !tmp || o.b.len - HEADER_BYTES > FILE_MAX) {
        failed = "out of memory";
        goto out;
    }
    uint64_t body = o.b.len - HEADER_BYTES, sum = XXH3_64bits(o.b.p + HEADER_BYTES, body);
    uint64_t code = code_stamp();
    memcpy(o.b.p + 8, &code, 8);
    memcpy(o.b.p + 16, &body, 8);
    memcpy(o.b.p + 24, &sum, 8);
    if ((e = -qp_mkdir_p(dir, 0700)) != 0) {
        failed = "mkdir";
        goto out;
    }
    remove_leftovers(dir, domain);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        e = errno;
        failed = "create";
        goto out;
    }
    for (size_t off = 0; off < o.b.len;) {
        ssize_t w = write(fd, o.b.p + off, o.b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            failed = "write";
            goto out;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        fd = -1;
        e = errno;
        failed = "rename";
        goto out;
    }
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    if (failed) {
        if (tmp)
            unlink(tmp); /* the template itself when nothing was made: harmless */
        qp_log(ctx, SB_LOG_DEBUG, "domain '%s': references not kept on disk (%s: %s)", domain,
               failed, e ? strerror(e) : "");
    }
    free(o.b.p);
    free(dir);
    free(path);
    free(tmp);
}

/* ---- reading ---- */

typedef struct in {
    const char *p, *end;
    int bad;
} in;

static const char *take(in *i, size_t n)
{
    if (i->bad || (size_t)(i->end - i->p) < n) {
        i->bad = 1;
        return NULL;
    }
    const char *at = i->p;
    i->p += n;
    return at;
}

static uint32_t take_u32(in *i)
{
    uint32_t v = 0;
    const char *at = take(i, sizeof v);
    if (at)
        memcpy(&v, at, sizeof v);
    return v;
}

static void take_list(in *i, qp_strv *v)
{
    uint32_t n = take_u32(i);
    for (uint32_t k = 0; k < n && !i->bad; k++) {
        uint32_t len = take_u32(i);
        const char *s = take(i, len);
        if (!s || memchr(s, '\0', len) || qp_strv_addn(v, s, len) < 0)
            i->bad = 1;
    }
}

static void rec_clear(qp_refs_rec *r)
{
    qp_strv_free(&r->refs.captured);
    qp_strv_free(&r->refs.overlays);
    qp_strv_free(&r->refs.reverts);
    qp_strv_free(&r->refs.named);
    free((char *)r->name);
    memset(r, 0, sizeof *r);
}

/* Map the whole file: NULL when it is missing, unreadable or not one of
 * ours (the reason in *why).  Mapped, not read into memory of our own:
 * the page cache's pages are mapped sixteen at a fault, where a buffer of
 * ours faults once a page (a quarter of a megabyte per 1 000 snapshots).
 * The plugin never changes the file in place (a new one is renamed over
 * it), so the mapping cannot shrink while it is read. */
static char *map_all(const char *path, size_t *len, const char **why)
{
    /* O_NONBLOCK: a FIFO put in its place must not hang the walk */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    void *map = MAP_FAILED;
    *why = "missing";
    if (fd < 0)
        return NULL;
    *why = "unreadable";
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= HEADER_BYTES &&
        (uint64_t)st.st_size <= FILE_MAX + HEADER_BYTES)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return NULL;
    *len = (size_t)st.st_size;
    return map;
}

int qp_refs_file_load(qp_ctx *ctx, const char *domain,
                      int (*keep)(void *arg, qp_refs_rec *rec), void *arg)
{
    char *path = cache_path(ctx, domain);
    size_t len = 0;
    const char *why = "out of memory";
    char *buf = path ? map_all(path, &len, &why) : NULL;
    int count = -1;
    if (buf) {
        uint64_t code = 0, body = 0, sum = 0;
        memcpy(&code, buf + 8, 8);
        memcpy(&body, buf + 16, 8);
        memcpy(&sum, buf + 24, 8);
        why = "not a references file, or damaged";
        if (!memcmp(buf, MAGIC, 8) && code != code_stamp())
            why = "written by other code";
        else if (!memcmp(buf, MAGIC, 8) && body == len - HEADER_BYTES &&
                 XXH3_64bits(buf + HEADER_BYTES, body) == sum) {
            in i = {buf + HEADER_BYTES, buf + len, 0};
            uint32_t n = take_u32(&i);
            count = 0;
            for (uint32_t k = 0; k < n && !i.bad; k++) {
                qp_refs_rec r = {0};
                uint32_t nl = take_u32(&i);
                const char *name = take(&i, nl), *digest = NULL, *dl = NULL;
                r.name = name && !memchr(name, '\0', nl) ? strndup(name, nl) : NULL;
                if (!r.name || !(digest = take(&i, QP_REFS_DIGEST)) || !(dl = take(&i, 8)))
                    i.bad = 1;
                if (!i.bad) {
                    memcpy(r.digest, digest, QP_REFS_DIGEST);
                    memcpy(&r.doc_len, dl, 8);
                    uint32_t flags = take_u32(&i);
                    r.refs.external = !!(flags & FLAG_EXTERNAL);
                    r.refs.named_unsure = !!(flags & FLAG_NAMED_UNSURE);
                    take_list(&i, &r.refs.captured);
                    take_list(&i, &r.refs.overlays);
                    take_list(&i, &r.refs.reverts);
                    take_list(&i, &r.refs.named);
                }
                if (!i.bad && keep(arg, &r) == 0)
                    count++;
                rec_clear(&r);
            }
            if (i.bad || i.p != i.end)
                why = "damaged";
            else
                why = NULL;
        }
    }
    if (why)
        qp_log(ctx, SB_LOG_DEBUG, "domain '%s': references file %s (%s)", domain,
               path ? path : "", why);
    if (buf)
        munmap(buf, len);
    free(path);
    return why ? -1 : count;
}

void qp_refs_file_remove(qp_ctx *ctx, const char *domain)
{
    char *path = cache_path(ctx, domain);
    if (path)
        unlink(path);
    free(path);
}
