/* bench - snapbroker as a target: its public API on the shipped qemu
 * plugin (the default host), a state directory per target, and a real
 * domain to hang snapshots on. */
#ifndef BENCH_SB_H
#define BENCH_SB_H

#include "snapbroker/snapbroker.h"

/* The domain every W1/W2/W4 snapbroker target works on. */
#define BENCH_SB_DOMAIN "bench"

/* A qcow2 image of W3's shape: size (qemu-img units, "1G") with
 * data_mib MiB written at its start (0: empty).  Dies on failure. */
void bench_disk(const char *path, const char *size, int data_mib);

/* Broker + connection to the default host (qemu plugin) with
 * SNAPBROKER_STATE_DIR=state_dir.  Dies on failure. */
void bench_sb_connect(const char *state_dir, sb_broker **b, sb_connection **c);

/* A guest definition for the qemu plugin and libvirt alike: mem_mib of
 * RAM, one virtio qcow2 disk.  kvm selects the domain type.  Static
 * buffer. */
const char *bench_domain_xml(const char *name, const char *disk, int mem_mib, int kvm);

/* Define BENCH_SB_DOMAIN on c (disk: an existing qcow2) and return its
 * definition as the plugin stores it, for embedding in redefined
 * snapshots (malloc'd).  Dies on failure. */
char *bench_sb_define(sb_connection *c, const char *disk);

#endif
