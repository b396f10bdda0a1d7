/* snapbroker CLI - declarative per-command option parser.
 *
 * Each command lists its options in a table (name, type, flags, help), in
 * the order used for bare words, like virsh's option definitions:
 *   - `--name value`, `--name=value` and, for options marked POSITIONAL,
 *     a bare word, which goes to the first positional option not given
 *     yet; a LIST option marked POSITIONAL takes every remaining word;
 *   - a bool or string option given twice, an unknown option, a missing or
 *     empty value, a missing required option and a word with nowhere to go
 *     are errors, and the command does not run at all;
 *   - `--` ends option parsing (later words are bare words).
 * Pure code: tests/cli/test_cli_units.c runs it without a broker. */
#ifndef SB_CLI_OPTS_H
#define SB_CLI_OPTS_H

#include <stddef.h>

typedef enum sb_opt_type {
    SB_OPT_BOOL,
    SB_OPT_STRING,
    SB_OPT_LIST      /* a string that may be given several times */
} sb_opt_type;

enum sb_opt_flags {
    SB_OPTF_POSITIONAL = 1u << 0, /* may be given as a bare word */
    SB_OPTF_REQUIRED = 1u << 1,   /* the command needs it */
    SB_OPTF_EMPTY_OK = 1u << 2,   /* an empty value is allowed */
    SB_OPTF_DOMAIN = 1u << 3      /* a domain: name, ID or UUID (domlookup.c) */
};

typedef struct sb_optdef {
    const char *name;   /* without the leading "--" */
    sb_opt_type type;
    unsigned flags;
    const char *help;
} sb_optdef;

typedef struct sb_optval {
    int seen;
    const char *str;          /* SB_OPT_STRING: borrowed from argv */
    const char **list;        /* SB_OPT_LIST: borrowed strings, owned array */
    size_t nlist;
} sb_optval;

typedef struct sb_args {
    const sb_optdef *defs;    /* terminated by a { NULL } entry */
    size_t ndefs;
    sb_optval *vals;          /* one per def */
} sb_args;

/* Parse argv[0..argc) (the words after the command name) against defs.
 * On error returns -1 with a one-line message in err (naming the command
 * and the option) and leaves *out empty; out-of-memory is also -1. */
int sb_args_parse(sb_args *out, const char *cmd, const sb_optdef *defs,
                  int argc, char *const *argv, char *err, size_t errlen);
void sb_args_free(sb_args *a);

/* Accessors by option name; a name not in the table is a programming
 * error and aborts, so a typo cannot silently read as "not given". */
int sb_args_bool(const sb_args *a, const char *name);
const char *sb_args_str(const sb_args *a, const char *name);
size_t sb_args_list(const sb_args *a, const char *name, const char *const **out);

/* Mutually exclusive pairs: pairs is a NULL-terminated list of names taken
 * two at a time.  Returns -1 with "Options --a and --b are mutually
 * exclusive" in err when both of a pair were given. */
int sb_args_exclusive(const sb_args *a, const char *const *pairs, char *err, size_t errlen);

#endif
