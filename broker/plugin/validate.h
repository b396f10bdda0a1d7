/* Validation of the tables a plugin's entry returned (no dlopen here, so
 * the rules are testable on in-memory tables too). */
#ifndef SB_PLUGIN_VALIDATE_H
#define SB_PLUGIN_VALIDATE_H

#include "plugin/record.h"

/* Largest struct_size believed: a bigger one is a corrupt table, and the
 * zero-tail check must not wander through the plugin's memory. */
#define SB_PLUGIN_STRUCT_SIZE_MAX 4096u

/* Check table (and its caps) against ABI 1.x and fill rec's name, version,
 * description, sizes, ops and caps.  Every refusal is SB_ERR_PLUGIN_ABI
 * with a message "plugin file 'PATH': REASON".  On failure rec's strings
 * may be partly set; sb_plugin_record_clear() releases them either way. */
int sb_plugin_validate(sb_loaded_plugin *rec, const struct sb_plugin *table, const char *path);

/* Validate a capabilities block (size rules, known flag bits, enum ranges)
 * and copy it zero-extended into *dst; *out_size (may be NULL) receives
 * the size the plugin declared.  path names the plugin in refusals
 * (SB_ERR_PLUGIN_ABI).  Used for the table's caps and for a connection's
 * conn_caps(). */
int sb_plugin_caps_copy(struct sb_plugin_caps *dst, uint32_t *out_size,
                        const struct sb_plugin_caps *caps, const char *path);

/* 1 when name matches [a-z0-9][a-z0-9_-]{0,31}. */
int sb_plugin_name_valid(const char *name);

/* Free the strings of rec and zero it (the dl handle is left alone). */
void sb_plugin_record_clear(sb_loaded_plugin *rec);

#endif
