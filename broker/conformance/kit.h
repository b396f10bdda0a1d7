/* The conformance kit: a catalogue of scenarios that checks, through the
 * public API only (snapbroker.h), that a host's plugin behaves as
 * docs/semantics.md says, for the capabilities it declares.  The CLI's
 * `conformance` command is a thin front end (docs/conformance.md).
 *
 * The kit leaves the host as it found it: every scenario works on a
 * scratch domain of its own (defined, used, undefined with its snapshot
 * metadata), or, with opts.domain, on an existing domain without
 * snapshots, deleting only the snapshots it made. */
#ifndef SB_CONFORMANCE_KIT_H
#define SB_CONFORMANCE_KIT_H

#include <stdio.h>

enum sbk_format {
    SBK_HUMAN = 0, /* one line per scenario and a summary */
    SBK_TAP = 1    /* TAP version 13, for meson test and prove */
};

struct sbk_options {
    const char *config;        /* --config FILE, or NULL */
    const char *host;          /* -c HOST|URI, or NULL for the default host */
    const char *const *only;   /* --only ID (a trailing '*' matches a prefix) */
    size_t nonly;
    int list;                  /* --list: print the catalogue, run nothing */
    enum sbk_format format;
    const char *junit;         /* --junit FILE, or NULL */
    const char *domain;        /* --domain NAME: use this existing domain */
    const char *guest_data;    /* --guest-data qemu-io, or NULL */
    FILE *out;
};

/* Run (or list) the kit.  Returns 0 when nothing failed, 1 when a
 * scenario failed, -1 when the kit could not run at all (message printed
 * as "error: CLASS: ..." on stderr). */
int sbk_main(const struct sbk_options *opts);

#endif
