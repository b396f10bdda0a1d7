/* Log lines of the broker and its plugins.
 *
 * The library never prints.  A line at or below the current level (default
 * SB_LOG_WARN; the config's log_level sets it) goes to the sink the
 * embedding program installed, or, without a sink, into a small ring of the
 * latest SB_LOG_RING_SIZE lines that the program can drain later (the CLI
 * prints them to stderr after a command).  Process-wide and thread-safe:
 * plugins log from their entry function, before any connection exists.
 */
#ifndef SB_PLUGIN_LOG_H
#define SB_PLUGIN_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "snapbroker/plugin.h" /* enum sb_log_level */

#define SB_LOG_RING_SIZE 64
#define SB_LOG_LINE_MAX 512

/* origin: who wrote the line, e.g. "plugin ref (host local)" or "config". */
typedef void (*sb_log_sink)(void *data, int level, const char *origin, const char *message);

void sb_log_set_level(int level); /* clamped to SB_LOG_ERROR..SB_LOG_DEBUG */
int sb_log_level(void);
/* NULL restores the ring. */
void sb_log_set_sink(sb_log_sink fn, void *data);

void sb_log_write(int level, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sb_log_writev(int level, const char *origin, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Hand every line in the ring (oldest first) to fn and empty it.  Returns
 * the number of lines; dropped lines (ring overflow) are reported as one
 * SB_LOG_WARN line "N older log lines dropped" first. */
size_t sb_log_ring_drain(sb_log_sink fn, void *data);

/* "error", "warn", "info", "debug"; NULL for others. */
const char *sb_log_level_name(int level);
/* The level of a name above; 0 when unknown. */
int sb_log_level_parse(const char *name);

#endif
