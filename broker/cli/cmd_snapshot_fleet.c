/* snapbroker CLI - snapshot-list --all-hosts: every snapshot of every
 * configured host (sb_fleet_list; docs/fleet.md).
 *
 * The table has one row per snapshot; --summary one per host; --json one
 * document with both.  A host that could not be listed is named on stderr
 * (and in the summary and the JSON) and makes the exit status 1, after
 * everything the other hosts answered was printed. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "output.h"

/* ---- option values ---- */

struct unit {
    const char *name;
    unsigned long long factor;
};

/* NUMBER[.FRACTION][UNIT] with one of units (case-insensitive); a bare
 * number is in the first unit.  The fraction is exact to the byte or
 * second, rounded down ("1.5G" is 1610612736): it is kept as an integer
 * over 10^digits, never as a double.  0, or -1 when s is not such a value
 * or overflows. */
static int parse_scaled(const char *s, const struct unit *units, unsigned long long *out)
{
    char *end;
    unsigned long long frac = 0, scale = 1;

    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end == '.') {
        if (!isdigit((unsigned char)end[1]))
            return -1;
        for (end++; isdigit((unsigned char)*end); end++) {
            if (scale >= 1000000000ULL)
                return -1; /* more than nine decimals: finer than any unit */
            frac = frac * 10 + (unsigned long long)(*end - '0');
            scale *= 10;
        }
    }
    while (*end == ' ')
        end++;
    for (const struct unit *u = units; u->name; u++) {
        if ((*end == '\0' && u == units) || (*end && strcasecmp(end, u->name) == 0)) {
            unsigned __int128 total = (unsigned __int128)v * u->factor +
                                      (unsigned __int128)frac * u->factor / scale;
            if (total > ~0ULL)
                return -1;
            *out = (unsigned long long)total;
            return 0;
        }
    }
    return -1;
}

static int parse_duration(const char *s, long long *out_seconds)
{
    static const struct unit units[] = {
        { "s", 1 },         { "m", 60 },         { "min", 60 },  { "h", 3600 },
        { "d", 86400 },     { "w", 7 * 86400 },  { NULL, 0 },
    };
    unsigned long long v;
    if (parse_scaled(s, units, &v) < 0 || v > (unsigned long long)(1LL << 40))
        return -1;
    *out_seconds = (long long)v;
    return 0;
}

static int parse_size(const char *s, unsigned long long *out_bytes)
{
    /* virsh's scaled integers: K, KiB = 1024; KB = 1000 */
    static const struct unit units[] = {
        { "B", 1 },
        { "K", 1ULL << 10 },  { "KiB", 1ULL << 10 },  { "KB", 1000ULL },
        { "M", 1ULL << 20 },  { "MiB", 1ULL << 20 },  { "MB", 1000000ULL },
        { "G", 1ULL << 30 },  { "GiB", 1ULL << 30 },  { "GB", 1000000000ULL },
        { "T", 1ULL << 40 },  { "TiB", 1ULL << 40 },  { "TB", 1000000000000ULL },
        { NULL, 0 },
    };
    return parse_scaled(s, units, out_bytes);
}

static char *format_size(char *buf, size_t len, unsigned long long bytes)
{
    static const char *const names[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", bytes);
        return buf;
    }
    double v = (double)bytes / 1024;
    size_t k = 0;
    while (v >= 1024 && k + 1 < sizeof(names) / sizeof(names[0])) {
        v /= 1024;
        k++;
    }
    snprintf(buf, len, "%.1f %s", v, names[k]);
    return buf;
}

/* ---- output ---- */

static const char *host_status(const sb_fleet_host *h)
{
    return h->status == 0 ? "ok" : h->timed_out ? "timed out" : "failed";
}

static int print_snapshots(const sb_fleet_snapshot *s, size_t n)
{
    const char *hdr[] = { "Host", "Domain", "Name", "Creation Time", "State", "Location", "Size" };
    sb_table *t = sb_table_new(7, hdr);
    char when[64], size[32];

    for (size_t i = 0; i < n; i++) {
        const char *row[] = {
            s[i].host, s[i].domain, s[i].name,
            sb_format_time(when, sizeof(when), s[i].creation_time),
            sb_snapshot_state_name(s[i].state), s[i].external ? "external" : "internal",
            s[i].known_bytes ? format_size(size, sizeof(size), s[i].bytes) : "-",
        };
        sb_table_add_row(t, row);
    }
    return sb_table_finish(t, stdout) < 0 ? cli_error(SB_ERR_NO_MEMORY, "out of memory") : 0;
}

/* The space a host's snapshots hold: "-" when no size is known, and how
 * many are left out when only some are ("1.5 GiB (3 unknown)"). */
static void host_size(char *buf, size_t len, const sb_fleet_host *h)
{
    char size[32];
    if (h->status || h->snapshots == h->unknown_sizes)
        snprintf(buf, len, "-");
    else if (h->unknown_sizes)
        snprintf(buf, len, "%s (%zu unknown)", format_size(size, sizeof(size), h->bytes),
                 h->unknown_sizes);
    else
        snprintf(buf, len, "%s", format_size(size, sizeof(size), h->bytes));
}

static int print_summary(const sb_fleet_host *h, size_t n)
{
    const char *hdr[] = { "Host", "Plugin", "Status", "Domains", "Snapshots", "Size",
                          "Oldest" };
    sb_table *t = sb_table_new(7, hdr);
    char doms[32], snaps[32], size[64], when[64];

    for (size_t i = 0; i < n; i++) {
        snprintf(doms, sizeof(doms), "%zu", h[i].domains);
        snprintf(snaps, sizeof(snaps), "%zu", h[i].snapshots);
        host_size(size, sizeof(size), &h[i]);
        const char *row[] = {
            h[i].name, h[i].plugin, host_status(&h[i]), doms, snaps, size,
            h[i].snapshots ? sb_format_time(when, sizeof(when), h[i].oldest) : "-",
        };
        sb_table_add_row(t, row);
    }
    return sb_table_finish(t, stdout) < 0 ? cli_error(SB_ERR_NO_MEMORY, "out of memory") : 0;
}

/* NULL for an empty string: "parent" and "where" are null when unknown. */
static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

static void json_host(sb_jdoc *d, json_object *o, const sb_fleet_host *h)
{
    sb_jdoc_str(d, o, "name", h->name);
    sb_jdoc_str(d, o, "plugin", h->plugin);
    sb_jdoc_str(d, o, "uri", h->uri);
    sb_jdoc_str(d, o, "status", host_status(h));
    sb_jdoc_str(d, o, "error", h->status ? h->error : NULL);
    sb_jdoc_uint(d, o, "domains", h->domains);
    sb_jdoc_uint(d, o, "snapshots", h->snapshots);
    sb_jdoc_uint(d, o, "bytes", h->bytes);
    sb_jdoc_uint(d, o, "unknown_sizes", h->unknown_sizes);
    if (h->snapshots)
        sb_jdoc_int(d, o, "oldest", h->oldest);
    else
        sb_jdoc_null(d, o, "oldest");
}

static void json_snapshot(sb_jdoc *d, json_object *o, const sb_fleet_snapshot *s)
{
    sb_jdoc_str(d, o, "host", s->host);
    sb_jdoc_str(d, o, "plugin", s->plugin);
    sb_jdoc_str(d, o, "domain", s->domain);
    sb_jdoc_str(d, o, "name", s->name);
    sb_jdoc_str(d, o, "parent", or_null(s->parent));
    sb_jdoc_int(d, o, "creation_time", s->creation_time);
    sb_jdoc_str(d, o, "state", sb_snapshot_state_name(s->state));
    sb_jdoc_str(d, o, "location", s->external ? "external" : "internal");
    sb_jdoc_bool(d, o, "current", s->is_current);
    if (s->known_bytes) {
        sb_jdoc_uint(d, o, "bytes", s->bytes);
        sb_jdoc_uint(d, o, "memory_bytes", s->memory_bytes);
    } else {
        sb_jdoc_null(d, o, "bytes");
        sb_jdoc_null(d, o, "memory_bytes");
    }
    sb_jdoc_str(d, o, "where", or_null(s->where));
}

/* {"hosts":[HOST...],"snapshots":[SNAPSHOT...]} (no snapshots with
 * --summary), compact on one line. */
static int print_json(const sb_fleet *f, int summary)
{
    const sb_fleet_host *h;
    const sb_fleet_snapshot *s;
    size_t nh = sb_fleet_hosts(f, &h), ns = summary ? 0 : sb_fleet_snapshots(f, &s);
    sb_jdoc d;
    json_object *root = sb_jdoc_init(&d, 0);
    json_object *hosts = sb_jdoc_array(&d, root, "hosts");

    for (size_t i = 0; i < nh; i++)
        json_host(&d, sb_jdoc_object(&d, hosts, NULL), &h[i]);
    if (!summary) {
        json_object *snaps = sb_jdoc_array(&d, root, "snapshots");
        for (size_t i = 0; i < ns; i++)
            json_snapshot(&d, sb_jdoc_object(&d, snaps, NULL), &s[i]);
    }
    return cli_print_json(&d);
}

/* ---- the command ---- */

/* Options of a single domain's listing, meaningless over the fleet. */
static const char *const domain_only[] = {
    "parent", "roots", "leaves", "no-leaves", "metadata", "no-metadata", "inactive", "active",
    "disk-only", "internal", "external", "tree", "current", "descendants", "name",
    "topological", NULL,
};

static int check_options(const sb_cli *cli, const sb_args *args)
{
    for (const char *const *o = domain_only; *o; o++)
        if (sb_args_bool(args, *o))
            return cli_error(SB_ERR_INVALID_ARG, "--%s cannot be used with --all-hosts", *o);
    if (sb_args_str(args, "from"))
        return cli_error(SB_ERR_INVALID_ARG, "--from cannot be used with --all-hosts");
    if (cli->connect)
        return cli_error(SB_ERR_INVALID_ARG,
                         "--all-hosts lists every configured host: choose some with --host, "
                         "not -c");
    return 0;
}

static int read_query(sb_fleet_query *q, const sb_args *args)
{
    const char *older = sb_args_str(args, "older-than"), *larger = sb_args_str(args, "larger-than");
    const char *parallel = sb_args_str(args, "parallel"), *timeout = sb_args_str(args, "timeout");
    unsigned long long v;

    memset(q, 0, sizeof(*q));
    q->domain = sb_args_str(args, "domain");
    q->nhosts = sb_args_list(args, "host", &q->hosts);
    q->nplugins = sb_args_list(args, "plugin", &q->plugins);
    q->usage = 1;
    if (older && parse_duration(older, &q->older_than) < 0)
        return cli_error(SB_ERR_INVALID_ARG,
                         "--older-than '%s': expected a duration such as 3600, 90m, 12h, 30d "
                         "or 2w", older);
    if (larger && parse_size(larger, &q->larger_than) < 0)
        return cli_error(SB_ERR_INVALID_ARG,
                         "--larger-than '%s': expected a size such as 1048576, 512M, 1.5G, 10GiB "
                         "or 2TB", larger);
    if (larger) /* a filter even at 0: a size must be known to be listed */
        q->usage |= SB_FLEET_LARGER_THAN_SET;
    if (parallel) {
        char *end;
        errno = 0;
        v = strtoull(parallel, &end, 10);
        if (!isdigit((unsigned char)*parallel) || *end || errno || v == 0 || v > 256)
            return cli_error(SB_ERR_INVALID_ARG, "--parallel '%s': expected 1 to 256", parallel);
        q->max_parallel = (unsigned)v;
    }
    if (timeout) {
        long long secs;
        if (parse_duration(timeout, &secs) < 0 || secs == 0 || secs > 86400)
            return cli_error(SB_ERR_INVALID_ARG,
                             "--timeout '%s': expected a duration of 1 s to 1 d (30, 2m)",
                             timeout);
        q->timeout_ms = (unsigned)(secs * 1000);
    }
    return 0;
}

int cli_fleet_list(sb_cli *cli, const sb_args *args)
{
    sb_fleet_query q;
    sb_fleet *f = NULL;
    int failed, ret;

    if (check_options(cli, args) < 0 || read_query(&q, args) < 0 || cli_broker(cli) < 0)
        return -1;
    if ((failed = sb_fleet_list(&f, cli->broker, &q)) < 0)
        return cli_fail();

    const sb_fleet_host *h;
    const sb_fleet_snapshot *s;
    size_t nh = sb_fleet_hosts(f, &h), ns = sb_fleet_snapshots(f, &s);
    if (cli_want_json(cli, args))
        ret = print_json(f, sb_args_bool(args, "summary"));
    else if (sb_args_bool(args, "summary"))
        ret = print_summary(h, nh);
    else
        ret = print_snapshots(s, ns);
    fflush(stdout);
    for (size_t i = 0; i < nh; i++) {
        char who[300];
        snprintf(who, sizeof(who), "host '%s'", h[i].name);
        if (h[i].status && strstr(h[i].error, who)) /* the message names it already */
            cli_error(-h[i].status, "%s", h[i].error);
        else if (h[i].status)
            cli_error(-h[i].status, "%s: %s", who, h[i].error);
    }
    sb_fleet_free(f);
    return ret < 0 || failed ? -1 : 0;
}
