/* tests/common - a failing allocator for out-of-memory walks.
 *
 * Linking failing_alloc.c into a test program interposes malloc, calloc,
 * realloc, strdup and strndup for the whole process.  Once armed, it
 * counts the calls made directly from the code of one shared object (the
 * one fa_watch named) and fails exactly the chosen one with ENOMEM;
 * calls from anywhere else (libc, libxml2, json-c, the test itself, other
 * objects) are never failed.  The walk SQLite's tests make over every
 * allocation, with the failure kept inside the code under test.
 *
 * Nothing real runs out of memory on demand: this is the stand-in, and a
 * test using it says so.  Not for AddressSanitizer builds, which own
 * malloc there. */
#ifndef SB_TESTS_FAILING_ALLOC_H
#define SB_TESTS_FAILING_ALLOC_H

/* Watch the loaded object whose file name is name ("qemu.so",
 * "libsnapbroker.so.0"; "libvirt.so" is the plugin, not libvirt's own
 * libvirt.so.0): 0, or -1 when none is loaded. */
int fa_watch(const char *name);
/* Count the watched object's allocations from now on and fail the at-th
 * (at 0: fail none, only count). */
void fa_arm(long at);
/* Stop failing; the number of the watched object's allocations since
 * fa_arm (a count >= at says the chosen one happened, so failed). */
long fa_disarm(void);

#endif
