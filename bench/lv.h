/* bench - libvirt 9.0 as a peer: the event loop qemu:///embed needs, and
 * embed roots (backends.md §3b). */
#ifndef BENCH_LV_H
#define BENCH_LV_H

#include <libvirt/libvirt.h>

/* Register the default event implementation and run it in a thread
 * (embed refuses to open without one).  Idempotent. */
void lv_event_loop(void);

/* The message of the last libvirt error ("" if none).  libvirt clears it
 * at the start of every public call, so read it before freeing. */
const char *lv_err(void);

/* A ready embed root: ROOT/etc/qemu.conf as backends.md §3b requires,
 * 0755 directories, and a warm QEMU capability cache.  The first call
 * probes QEMU (~7 s) in `tmpl` (created when missing); every root made
 * afterwards is a copy of it, so only one probe is paid per bench run.
 * Returns a malloc'd new root under base. */
char *lv_embed_root(const char *tmpl, const char *base);

/* Open qemu:///embed?root=ROOT (pinned to CPU 0 while opening: the
 * capability cache is keyed on the CPU's CPUID). */
virConnectPtr lv_embed_open(const char *root);

/* The <domain> of a defined domain, indented to sit inside a
 * <domainsnapshot> (what libvirt itself embeds).  malloc'd. */
char *lv_domain_xml(virDomainPtr d);

#endif
