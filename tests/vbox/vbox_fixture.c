/* tests/vbox - shared helpers (vbox_fixture.h). */
#include "vbox_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

void fx_tmpdir(char *out, size_t size, const char *tag)
{
    snprintf(out, size, "/tmp/sb-vbox-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(out));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* In process, as every helper here that needs no real tool: the walks of
 * the out-of-memory and crash tests make hundreds of machines, and a
 * process costs 20 ms on the 2-CPU machines the suite runs on. */
void fx_rmrf(const char *dir)
{
    if (dir && strncmp(dir, "/tmp/sb-vbox-", 13) == 0)
        (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    assert_true(vasprintf(&s, fmt, ap) >= 0);
    return s;
}

int fx_sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vformat(fmt, ap);
    va_end(ap);
    int st = system(cmd);
    free(cmd);
    return st == -1 ? -1 : WEXITSTATUS(st);
}

char *fx_sh_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vformat(fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    pclose(p);
    return buf;
}

char *fx_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    /* read to the end: /proc files have no size */
    size_t cap = 4096, len = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

void fx_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

int fx_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

size_t fx_count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        char path[1024];
        struct stat st;
        if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            n += fx_count_files(path, suffix);
        else if (!suffix || (strlen(de->d_name) >= strlen(suffix) &&
                             strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix) == 0))
            n++;
    }
    closedir(d);
    return n;
}

/* RTUUID layout: the first three fields little endian. */
void fx_vdi_uuid(const char *path, char out[37])
{
    unsigned char b[16];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, 16, 392), 16);
    close(fd);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
             b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

const char *fx_machine(const char *dir, const char *name, int ndisks, const unsigned *mib)
{
    static char settings[512];
    char mdir[400], hd[4096] = "", att[4096] = "", uuid[37], path[512];
    snprintf(mdir, sizeof mdir, "%s/%s", dir, name);
    assert_true(mkdir(mdir, 0755) == 0 || errno == EEXIST);
    for (int i = 0; i < ndisks; i++) {
        snprintf(path, sizeof path, "%s/disk%d.vdi", mdir, i);
        assert_int_equal(fx_sh("qemu-img create -q -f vdi '%s' %uM", path, mib[i]), 0);
        fx_vdi_uuid(path, uuid);
        size_t n = strlen(hd);
        snprintf(hd + n, sizeof hd - n,
                 "        <HardDisk uuid=\"{%s}\" location=\"disk%d.vdi\" format=\"VDI\" "
                 "type=\"Normal\"/>\n", uuid, i);
        n = strlen(att);
        snprintf(att + n, sizeof att - n,
                 "            <AttachedDevice type=\"HardDisk\" hotpluggable=\"false\" "
                 "port=\"%d\" device=\"0\">\n              <Image uuid=\"{%s}\"/>\n"
                 "            </AttachedDevice>\n", i, uuid);
    }
    /* every machine its own UUID: tests running at once never see each
     * other's machines in VirtualBox's processes */
    unsigned char r[16];
    char machine_uuid[37];
    int rfd = open("/dev/urandom", O_RDONLY);
    assert_true(rfd >= 0);
    assert_int_equal(read(rfd, r, sizeof r), (ssize_t)sizeof r);
    close(rfd);
    snprintf(machine_uuid, sizeof machine_uuid,
             "%02x%02x%02x%02x-%02x%02x-4%x%02x-8%x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6] & 15, r[7], r[8] & 15, r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
    snprintf(settings, sizeof settings, "%s/%s.vbox", mdir, name);
    FILE *f = fopen(settings, "w");
    assert_non_null(f);
    fprintf(f,
            "<?xml version=\"1.0\"?>\n"
            "<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.19-linux\">\n"
            "  <Machine uuid=\"{%s}\" name=\"%s\" "
            "OSType=\"Debian_64\" snapshotFolder=\"Snapshots\" "
            "lastStateChange=\"2025-01-01T00:00:00Z\">\n"
            "    <MediaRegistry>\n      <HardDisks>\n%s      </HardDisks>\n"
            "    </MediaRegistry>\n"
            "    <Hardware>\n      <CPU count=\"2\"/>\n      <Memory RAMSize=\"512\"/>\n"
            "      <StorageControllers>\n"
            "        <StorageController name=\"SATA\" type=\"AHCI\" PortCount=\"4\" "
            "useHostIOCache=\"false\" Bootable=\"true\">\n%s"
            "            <AttachedDevice passthrough=\"false\" type=\"DVD\" "
            "hotpluggable=\"false\" port=\"3\" device=\"0\"/>\n"
            "        </StorageController>\n      </StorageControllers>\n"
            "    </Hardware>\n  </Machine>\n</VirtualBox>\n",
            machine_uuid, name, hd, att);
    assert_int_equal(fclose(f), 0);
    return settings;
}

static void print_schema_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    printf("# schema: %s:%d: %s", e->file ? e->file : "?", e->line,
           e->message ? e->message : "?\n");
}

/* VirtualBox's schema, read once per process: libxml2's XML Schema
 * validator (the one `xmllint --schema` runs) takes 20 ms a call as a
 * process here, most of it reading the 67 KB schema again. */
static xmlSchemaPtr settings_schema(void)
{
    static xmlSchemaPtr schema;
    if (schema)
        return schema;
    const char *root = getenv("SB_SOURCE_ROOT");
    assert_non_null(root);
    char xsd[1024];
    snprintf(xsd, sizeof xsd, "%s/tests/vbox/data/VirtualBox-settings.xsd", root);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(xsd);
    assert_non_null(pc);
    xmlSchemaSetParserStructuredErrors(pc, print_schema_error, NULL);
    schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (!schema)
        fail_msg("cannot read the schema %s", xsd);
    return schema;
}

int fx_schema_ok(const char *settings_path)
{
    xmlSchemaPtr schema = settings_schema();
    xmlDocPtr doc = xmlReadFile(settings_path, NULL, XML_PARSE_NONET);
    if (!doc) {
        printf("# schema: %s is not well-formed XML\n", settings_path);
        return 1;
    }
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    assert_non_null(vc);
    xmlSchemaSetValidStructuredErrors(vc, print_schema_error, NULL);
    int r = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    xmlFreeDoc(doc);
    return r;
}

void fx_copy_file(const char *from, const char *to, unsigned mode)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
    assert_true(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

/* A copy of a differencing VDI that qemu accepts: type dynamic, no parent
 * (offset 76: image type; 424 and 440: parent and parent-modification
 * UUIDs). */
static void standalone_copy(const char *vdi, const char *copy)
{
    static const unsigned char zero[32];
    const unsigned char one[4] = { 1, 0, 0, 0 };
    fx_copy_file(vdi, copy, 0644);
    int fd = open(copy, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, one, 4, 76), 4);
    assert_int_equal(pwrite(fd, zero, 32, 424), 32);
    close(fd);
}

static int is_diff(const char *vdi)
{
    unsigned char t[4];
    int fd = open(vdi, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, t, 4, 76), 4);
    close(fd);
    return t[0] == 4;
}

int fx_qemu_check(const char *vdi)
{
    char copy[600];
    if (!is_diff(vdi)) {
        char *out = fx_sh_out("qemu-img check -q -f vdi '%s' 2>&1; echo \"rc=$?\"", vdi);
        char *rc = strstr(out, "rc=");
        int r = rc ? atoi(rc + 3) : -1;
        if (r != 0)
            printf("# qemu-img check %s: %s\n", vdi, out);
        free(out);
        return r;
    }
    snprintf(copy, sizeof copy, "%s.standalone", vdi);
    standalone_copy(vdi, copy);
    int r = fx_sh("qemu-img check -q -f vdi '%s' >/dev/null 2>&1", copy);
    if (r)
        fx_sh("qemu-img check -f vdi '%s' 2>&1 | sed 's/^/# /'", copy);
    unlink(copy);
    return r;
}

int fx_qemu_io(const char *image, const char *fmt, const char *cmd)
{
    return fx_sh("qemu-io -f %s -c '%s' '%s' >/dev/null", fmt, cmd, image);
}

/* Lay the data ranges of a VDI (a differencing one through its
 * standalone copy) over out_raw: qemu-img map says which ranges hold data
 * and where in the file each is (a VDI block is stored as it is), and the
 * bytes are read from there. */
static void overlay(const char *vdi, const char *out_raw)
{
    char copy[600];
    int diff = is_diff(vdi);
    snprintf(copy, sizeof copy, "%s%s", vdi, diff ? ".standalone" : "");
    if (diff)
        standalone_copy(vdi, copy);
    char *map = fx_sh_out("qemu-img map -f vdi --output=json '%s'", copy);
    int in = open(copy, O_RDONLY), out = open(out_raw, O_WRONLY);
    assert_true(in >= 0 && out >= 0);
    char *buf = malloc(FX_MIB);
    for (char *p = strstr(map, "\"start\":"); p; p = strstr(p + 1, "\"start\":")) {
        char *len = strstr(p, "\"length\":"), *end = strchr(p, '}');
        assert_non_null(len);
        assert_non_null(end);
        unsigned long long start = strtoull(p + 8, NULL, 10);
        unsigned long long length = strtoull(len + 9, NULL, 10);
        /* the map covers the whole disk: out_raw is at least as long */
        struct stat st;
        assert_int_equal(fstat(out, &st), 0);
        if ((unsigned long long)st.st_size < start + length)
            assert_int_equal(ftruncate(out, (off_t)(start + length)), 0);
        char *data = strstr(p, "\"data\": true"), *at = strstr(p, "\"offset\":");
        if (!data || data > end)
            continue;
        if (!at || at > end)
            fail_msg("qemu-img map of %s: a data range without its offset in the file", copy);
        unsigned long long file_off = strtoull(at + 9, NULL, 10);
        for (unsigned long long done = 0; done < length; done += FX_MIB) {
            size_t part = length - done < FX_MIB ? (size_t)(length - done) : FX_MIB;
            assert_int_equal(pread(in, buf, part, (off_t)(file_off + done)), (ssize_t)part);
            assert_int_equal(pwrite(out, buf, part, (off_t)(start + done)), (ssize_t)part);
        }
    }
    assert_true(strstr(map, "\"start\":") != NULL); /* qemu-img answered */
    free(buf);
    free(map);
    close(in);
    close(out);
    if (diff)
        unlink(copy);
}

int fx_flatten(const char *const *paths, size_t n, const char *out_raw)
{
    fx_raw_create(out_raw, 0); /* the base's map gives the size */
    for (size_t i = 0; i < n; i++)
        overlay(paths[i], out_raw);
    return 0;
}

/* 0 when the two raw images read the same (a missing tail reads as
 * zeros, as qemu-img compare says of images of different sizes). */
int fx_compare_raw(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    assert_true(fa >= 0 && fb >= 0);
    static unsigned char ba[FX_MIB], bb[FX_MIB];
    int differ = 0;
    for (off_t off = 0; !differ; off += FX_MIB) {
        ssize_t na = pread(fa, ba, FX_MIB, off), nb = pread(fb, bb, FX_MIB, off);
        assert_true(na >= 0 && nb >= 0);
        if (na == 0 && nb == 0)
            break;
        memset(ba + na, 0, FX_MIB - (size_t)na);
        memset(bb + nb, 0, FX_MIB - (size_t)nb);
        differ = memcmp(ba, bb, FX_MIB) != 0;
    }
    close(fa);
    close(fb);
    return differ;
}

void fx_raw_create(const char *path, unsigned long long size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    assert_int_equal(close(fd), 0);
}

void fx_raw_write(const char *path, int pattern, unsigned long long off, unsigned long long len)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    static unsigned char buf[FX_MIB];
    memset(buf, pattern, sizeof buf);
    while (len > 0) {
        size_t part = len < FX_MIB ? (size_t)len : FX_MIB;
        assert_int_equal(pwrite(fd, buf, part, (off_t)off), (ssize_t)part);
        off += part;
        len -= part;
    }
    assert_int_equal(close(fd), 0);
}

void fx_write_conf(const char *path, const char *dir, const char *extra)
{
    FILE *c = fopen(path, "w");
    assert_non_null(c);
    fprintf(c,
            "state_dir = \"%s/.state\";\n"
            "hosts = ( { name = \"vb\"; plugin = \"vbox\"; uri = \"vbox://%s\";\n"
            "            vbox = { %s %s }; } );\n",
            dir, dir, extra && strstr(extra, "vboxmanage") ? "" : "vboxmanage = \"\";",
            extra ? extra : "");
    assert_int_equal(fclose(c), 0);
}

void fx_connect(fx_conn *f, const char *dir, const char *extra)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->conf, sizeof f->conf, "%s/snapbroker.conf", dir);
    fx_write_conf(f->conf, dir, extra);
    setenv("SNAPBROKER_CONFIG", f->conf, 1);
    unsetenv("SNAPBROKER_STATE_DIR");
    unsetenv("SNAPBROKER_PLUGIN_DIR"); /* the build tree's search path finds vbox.so */
    assert_int_equal(sb_broker_new(&f->b, NULL), 0);
    if (sb_connect(&f->c, f->b, "vb", 0) != 0)
        fail_msg("connect: %s", sb_error_last()->message);
}

void fx_disconnect(fx_conn *f)
{
    sb_disconnect(f->c);
    sb_broker_free(f->b);
    f->c = NULL;
    f->b = NULL;
}

void fx_expect_error(int rc, int code, const char *fragment)
{
    const sb_error *e = sb_error_last();
    if (rc >= 0 || !e || e->code != code)
        fail_msg("expected error %d, got rc %d (%s)", code, rc, e ? e->message : "no message");
    if (!strstr(e->message, fragment))
        fail_msg("message '%s' lacks '%s'", e->message, fragment);
}

const char *fx_list(sb_connection *c, const char *dom, const char *from, unsigned flags)
{
    static char buf[2048];
    char **names = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (sb_snapshot_list(&names, &n, c, dom, from, flags) < 0)
        fail_msg("list %s from %s flags 0x%x: %s", dom, from ? from : "-", flags,
                 sb_error_last()->message);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(buf, ",", sizeof buf - strlen(buf) - 1);
        strncat(buf, names[i], sizeof buf - strlen(buf) - 1);
    }
    sb_names_free(names, n);
    return buf;
}
