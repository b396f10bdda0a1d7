/* snapbroker CLI - what every command file shares.
 *
 * A command is a row in a table: its name, help text, option table
 * (opts.h), mutually exclusive option pairs and a run function.  main.c
 * parses the options before anything else, so an option error means the
 * command does not run at all; run functions open the broker and the
 * connection lazily (cli_broker / cli_connect) after their own argument
 * checks, for the same reason. */
#ifndef SB_CLI_CLI_H
#define SB_CLI_CLI_H

#include <stdio.h>

#include "snapbroker/snapbroker.h"
#include "opts.h"

typedef struct sb_cli {
    const char *connect;      /* -c HOST|URI; NULL = default host */
    const char *config;       /* --config FILE */
    int readonly;             /* -r */
    int json;                 /* global --json */
    sb_broker *broker;
    sb_connection *conn;
    const sb_args *args;      /* the running command's options */
    char *resolved_domain;    /* the name an ID or UUID stood for */
} sb_cli;

typedef struct sb_cmddef {
    const char *name;
    const char *summary;                /* one line, for `help` */
    const char *description;
    const sb_optdef *opts;              /* terminated by { NULL } */
    const char *const *exclusive;       /* pairs, NULL-terminated, or NULL */
    int (*run)(sb_cli *cli, const sb_args *args); /* 0, or -1 once reported */
} sb_cmddef;

/* Command groups, each terminated by a { NULL } entry. */
extern const sb_cmddef sb_cmds_snapshot_create[];
extern const sb_cmddef sb_cmds_snapshot_list[];
extern const sb_cmddef sb_cmds_snapshot_misc[];
extern const sb_cmddef sb_cmds_snapshot_hier[];
extern const sb_cmddef sb_cmds_snapshot_edit[];
extern const sb_cmddef sb_cmds_domain[];
extern const sb_cmddef sb_cmds_job[];
extern const sb_cmddef sb_cmds_broker[];
extern const sb_cmddef sb_cmds_xml[];
extern const sb_cmddef sb_cmds_conformance[];

/* Shared option rows. */
#define SB_OPT_DOMAIN \
    { "domain", SB_OPT_STRING, SB_OPTF_POSITIONAL | SB_OPTF_REQUIRED | SB_OPTF_DOMAIN, \
      "domain name, id or uuid" }
#define SB_OPT_XPATH \
    { "xpath", SB_OPT_STRING, 0, "xpath expression to filter the XML document" }, \
    { "wrap", SB_OPT_BOOL, 0, "wrap xpath results in an common root element" }
#define SB_OPT_JSON \
    { "json", SB_OPT_BOOL, 0, "machine-readable output (snapbroker(1), JSON OUTPUT)" }

/* snapshot-list --all-hosts (cmd_snapshot_fleet.c): run_list hands over. */
int cli_fleet_list(sb_cli *cli, const sb_args *args);

/* Open the broker / the connection once; on failure the error is already
 * printed and -1 returned. */
int cli_broker(sb_cli *cli);
int cli_connect(sb_cli *cli);

/* A domain option given as an ID or UUID is replaced by the domain's name
 * (domlookup.c); cli_connect does it once connected, so run functions read
 * the domain option after cli_connect. */
void cli_resolve_domain(sb_cli *cli);
/* The string value of an XPath expression on the domain's XML ("" when
 * it selects nothing); -1 when the XML cannot be read or parsed. */
int cli_domain_field(char **out, sb_cli *cli, const char *domain, const char *expr);

/* Print "error: CLASS: message" for the library's last error; returns -1. */
int cli_fail(void);
/* Print "error: CLASS: message" for an error found by the CLI itself. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "warning: ORIGIN: message" ("warning: message" when origin is NULL). */
void cli_warning(const char *origin, const char *message);
/* With --json: errors and warnings become one JSON object per line on
 * stderr, {"error":{"class":C,"message":M}} and
 * {"warning":{"origin":O,"message":M}} (docs/snapbroker.1, JSON OUTPUT). */
void cli_set_json_errors(int on);

/* Progress on stderr (progress.c): the --progress mode (NULL: "line");
 * -1 (printed) for an unknown one.  attach: give the broker the sink the
 * mode asks for.  end: erase a line left drawn (before any other output on
 * stderr, and at exit).  With a library that has no progress sink
 * (checked by meson) nothing is ever drawn. */
enum { CLI_PROGRESS_AUTO, CLI_PROGRESS_LINE, CLI_PROGRESS_JSON, CLI_PROGRESS_NONE };
int cli_progress_mode(const char *value);
void cli_progress_attach(sb_broker *b);
void cli_progress_end(void);
/* Print the library's log ring on stderr ("warning: ORIGIN: message");
 * nothing with a library that has no log ring (checked by meson). */
void cli_drain_log(void);

/* JSON output wanted: global --json or the command's own --json. */
int cli_want_json(const sb_cli *cli, const sb_args *args);

/* Read a whole file (an XML document) into *out; errors are printed. */
int cli_read_file(char **out, const char *path);
/* Write text to path (outfile.c): a new file, an existing regular file
 * replaced atomically (through symlinks), or a FIFO or device written as
 * it is; a failure changes nothing that was there.  secret: a file made
 * is mode 0600 (else 0666 less the umask).  -1 once the error is printed. */
int cli_write_file(const char *path, const char *text, int secret);

/* Write text to a temporary file, run $VISUAL / $EDITOR / vi on it and
 * read it back into *edited (malloc'd); the file is removed.  -1 once the
 * error is printed (an editor that fails is an error). */
int cli_edit_text(char **edited, const char *text);

/* Print an XML document followed by one empty line, as virsh's dumpxml
 * commands do (a missing final newline is supplied). */
void cli_print_xml(const char *xml);
/* The same, or with xpath set only the nodes it selects (xpath.h,
 * `--xpath EXPR [--wrap]`); -1 once the error is printed. */
int cli_print_xml_filtered(const char *xml, const char *xpath, int wrap);

/* Print a JSON document (jsonout.h) on stdout and free it; 0, or -1 with
 * the error printed when it could not be built. */
struct sb_jdoc;
int cli_print_json(struct sb_jdoc *d);

/* Fill o, an object of d, with one snapshot's members (docs/snapbroker.1,
 * JSON OUTPUT); its details are asked for on cli's connection.  0, or -1
 * with the error printed. */
struct json_object;
int cli_json_snapshot(struct sb_jdoc *d, struct json_object *o, sb_cli *cli, const char *domain,
                      const char *name, const sb_snapshot_info *info);

/* Print help for one command (`help CMD`, `CMD --help`). */
void cli_print_command_help(FILE *out, const sb_cmddef *cmd);

#endif
