/* tests/vbox - shared helpers: machines written by the tests themselves
 * (settings file + VDI bases made with qemu-img), the checks done with
 * independent tools (libxml2's schema validator against VirtualBox's
 * schema, qemu-img check, map and convert, qemu-io), and a broker
 * connection.
 *
 * qemu's VDI driver refuses differencing images (image type 4, a parent
 * UUID), so a differencing image is checked through a copy whose header
 * says "dynamic image, no parent"; block map and data are byte for byte
 * the plugin's. */
#ifndef VBOX_FIXTURE_H
#define VBOX_FIXTURE_H

#include <stddef.h>

#include "snapbroker/snapbroker.h"

#define FX_MIB (1024ull * 1024ull)

/* A fresh directory under /tmp (removed by fx_rmrf). */
void fx_tmpdir(char *out, size_t size, const char *tag);
void fx_rmrf(const char *dir);
/* Run a shell command (printf format); its exit status. */
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, output captured (malloc'ed). */
char *fx_sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *fx_read(const char *path);
void fx_write(const char *path, const char *text);
/* A byte copy of a file (created with mode, or truncated). */
void fx_copy_file(const char *from, const char *to, unsigned mode);
int fx_exists(const char *path);
/* Regular files under dir, recursively. */
size_t fx_count_files(const char *dir, const char *suffix);

/* A machine in dir/name/name.vbox with ndisks normal VDI disks (sizes in
 * MiB) on a SATA controller plus an empty DVD drive; disk i is
 * dir/name/disk<i>.vdi.  Returns the settings path (static buffer). */
const char *fx_machine(const char *dir, const char *name, int ndisks, const unsigned *mib);
/* The VDI image UUID of a file (its header). */
void fx_vdi_uuid(const char *path, char out[37]);

/* Valid against tests/vbox/data/VirtualBox-settings.xsd (libxml2's XML
 * Schema validator, as `xmllint --schema`): 0 when valid (the errors go
 * to the test log otherwise). */
int fx_schema_ok(const char *settings_path);
/* qemu-img check of an image (a differencing one through its copy). */
int fx_qemu_check(const char *vdi);
/* Write/verify a pattern with qemu-io (base images: qemu reads VDI). */
int fx_qemu_io(const char *image, const char *fmt, const char *cmd);
/* The content of a VDI chain (paths[0] the base, then each child) as a
 * raw file, as qemu reads the images: each image's data ranges, where
 * `qemu-img map` says they are in the file, laid over the previous ones
 * (a differencing image through its standalone copy). */
int fx_flatten(const char *const *paths, size_t n, const char *out_raw);
/* Two raw files: 0 when they read the same (as qemu-img compare). */
int fx_compare_raw(const char *a, const char *b);
/* The expected contents of a disk: a raw file of size bytes (zeros), and
 * len bytes of pattern written at off (in process: a raw image is bytes). */
void fx_raw_create(const char *path, unsigned long long size);
void fx_raw_write(const char *path, int pattern, unsigned long long off, unsigned long long len);

/* A broker connection to vbox:///dir through a configuration file with
 * the plugin's group (extra: more settings inside "vbox = { ... }"). */
typedef struct fx_conn {
    char dir[256];
    char conf[300];
    sb_broker *b;
    sb_connection *c;
} fx_conn;
void fx_connect(fx_conn *f, const char *dir, const char *extra);
/* That configuration file alone, at path. */
void fx_write_conf(const char *path, const char *dir, const char *extra);
void fx_disconnect(fx_conn *f);
/* Snapshot names joined with ',' in listing order (static buffer). */
const char *fx_list(sb_connection *c, const char *dom, const char *from, unsigned flags);
/* Assert the last call failed with class code and a message containing
 * fragment. */
void fx_expect_error(int rc, int code, const char *fragment);

#endif
