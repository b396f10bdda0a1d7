/* bench - helpers shared by the workload programs (w1_tree, w2_cold,
 * w3_ops, w4_xml): clocks, statistics, memory figures, scratch
 * directories, child processes, and the snapshot XML of W1/W2.
 *
 * Every program measures snapbroker and its peers in one run and prints
 * ratios: the machines are too noisy to compare figures across runs. */
#ifndef BENCH_H
#define BENCH_H

#include <spawn.h>
#include <stddef.h>
#include <sys/types.h>

double bench_now_us(void);
/* CPU time this process has used (user + system), ms: on a machine
 * shared with other work the wall clock mostly measures the wait for a
 * CPU, this what the operation itself costs. */
double bench_cpu_ms(void);

/* Sorts v in place. */
double bench_median(double *v, size_t n);
double bench_min(const double *v, size_t n);
double bench_max(const double *v, size_t n);

/* /proc/self/status fields in KiB (VmRSS, VmHWM); -1 when unreadable. */
long bench_status_kib(const char *field);

/* "med (min–max)" with a precision that suits the magnitude. */
const char *bench_fmt_stat(double *v, size_t n);
const char *bench_fmt(double x);
/* a ÷ b as "1.23×" ("–" when either is missing or zero). */
const char *bench_ratio(double a, double b);

/* mkdtemp under base (or /var/tmp), chmod 0755 (libvirt's QEMU runs as
 * another user); exits on failure.  Returns a malloc'd path. */
char *bench_tmpdir(const char *base, const char *prefix);
void bench_rm_rf(const char *path);

/* Start argv (no shell; PATH searched) with posix_spawn and the file
 * actions fa (may be NULL), this process's environment: 0 or -1.  Every
 * child a workload times is started this way (bench.c says why). */
int bench_spawn(pid_t *pid, char *const argv[], const posix_spawn_file_actions_t *fa);

/* Run argv (no shell), wait; returns the exit status or -1.  Output is
 * discarded unless keep_output. */
int bench_run(char *const argv[], int keep_output);

/* fork a child running fn(arg), which writes len bytes of result to the
 * pipe; the parent reads them into out and reaps.  Returns 0 when the
 * child delivered a full result. */
int bench_in_child(void (*fn)(void *arg, int fd), void *arg, void *out, size_t len);

/* Pin the calling thread (and what it forks) to CPU cpu; -1 = all CPUs.
 * libvirt's QEMU capability cache is keyed on the CPU it was written on,
 * so libvirt opens are pinned to stay comparable. */
void bench_pin(int cpu);

/* libvirt test:///default's internal snapshot of the running "test"
 * domain, with the whole <domain> (what virsh snapshot-dumpxml prints);
 * parent may be NULL.  dom_xml NULL = the test domain.  malloc'd. */
char *bench_snap_xml(const char *name, const char *parent, const char *dom_xml);

/* The same, padded with a <description> to size bytes when shorter: a
 * target whose own <domain> is smaller than the test domain's still
 * parses, stores and formats as many bytes as libvirt-test. */
char *bench_snap_xml_sized(const char *name, const char *parent, const char *dom_xml,
                           size_t size);

void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Markdown output goes to stdout and, when BENCH_OUT names a file, is
 * appended there too. */
void bench_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Machine-readable results for bench/run's summary: "key value" lines
 * appended to the file BENCH_KV names (nothing when unset). */
void bench_kv(const char *key, double value);

/* Comma-separated sizes ("100,1000") into v (at most max); returns count. */
size_t bench_parse_sizes(const char *s, long *v, size_t max);

#endif
