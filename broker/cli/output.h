/* snapbroker CLI - output helpers: virsh-style tables, times, XML text
 * (JSON documents: jsonout.h, included below).
 *
 * Pure code (no library calls) so tests/cli/test_cli_units.c can check the
 * exact bytes virsh prints without a broker. */
#ifndef SB_CLI_OUTPUT_H
#define SB_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

/* ---- tables ---------------------------------------------------------- */

/* A table in virsh's layout: a leading space, cells left-aligned and padded
 * to the column's display width, three spaces between columns, the last
 * cell of a row never padded, a dash rule two wider than the widest
 * possible row, and an empty line at the end. */
typedef struct sb_table sb_table;

sb_table *sb_table_new(size_t ncols, const char *const *headers);
/* Copies the cells; NULL cells print as empty.  Returns 0 or -1 (ENOMEM). */
int sb_table_add_row(sb_table *t, const char *const *cells);
void sb_table_print(const sb_table *t, FILE *out);
void sb_table_free(sb_table *t);
/* Print the table and free it.  -1 (nothing printed) when the table could
 * not be made or a row could not be added (out of memory).  Accepts NULL,
 * so callers build with sb_table_new/sb_table_add_row without checking
 * each step and check once here. */
int sb_table_finish(sb_table *t, FILE *out);

/* Display width of a string in columns, as virsh measures table cells:
 * each character's wcwidth() in the locale's character set (LC_CTYPE, set
 * from the environment by main), so a CJK character or an emoji counts
 * two and a combining accent none.  A byte that is no character in that
 * set (invalid UTF-8; any non-ASCII byte in the C locale) counts one,
 * and so does a non-printable character. */
size_t sb_display_width(const char *s);

/* ---- time ------------------------------------------------------------ */

/* "%Y-%m-%d %H:%M:%S %z" in local time, as virsh prints creation times.
 * buf must hold at least 64 bytes.  Returns buf. */
char *sb_format_time(char *buf, size_t len, long long t);

/* JSON documents: broker/jsonout/jsonout.h (json-c), included here so
 * command code has tables and JSON from one header. */
#include "jsonout.h"

/* ---- XML text -------------------------------------------------------- */

/* Append s to out escaped for XML text and single- or double-quoted
 * attributes (&, <, >, ', " as libvirt escapes them). */
void sb_xml_escape(FILE *out, const char *s);

#endif
