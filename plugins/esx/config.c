/* What the plugin is told: the URI, a libvirt-style auth file, and a
 * certificate thumbprint.  Pure functions, unit-tested on their own. */
#include "esx.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void esx_uri_clear(esx_uri *u)
{
    free(u->user);
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof(*u));
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* %XX escapes, in place; -1 for a malformed one or %00. */
static int percent_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int v = 0;
        for (int i = 1; i <= 2; i++) {
            char ch = r[i];
            int d = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        if (!v)
            return -1;
        *w++ = (char)v;
        r += 2;
    }
    *w = '\0';
    return 0;
}

static int bad(char *why, size_t size, const char *fmt, const char *arg)
{
    snprintf(why, size, fmt, arg);
    return -SB_ERR_INVALID_ARG;
}

/* The query: only transport=http|https is understood. */
static int parse_query(const char *q, esx_uri *out, char *why, size_t size)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n == 14 && strncmp(q, "transport=http", 14) == 0)
            out->https = 0;
        else if (n == 15 && strncmp(q, "transport=https", 15) == 0)
            out->https = 1;
        else if (n) {
            char item[64];
            snprintf(item, sizeof(item), "%.*s", (int)(n < 60 ? n : 60), q);
            return bad(why, size,
                       "unknown URI parameter '%s' (only transport=http|https; TLS settings "
                       "belong in the host's esx group)",
                       item);
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

static int parse_uri(const char *uri, esx_uri *out, char *why, size_t size)
{
    const char *p;
    int rc;

    if (!uri)
        return bad(why, size, "%sno URI", "");
    if (strncmp(uri, "esx://", 6) == 0 || strncmp(uri, "esx+https://", 12) == 0) {
        out->https = 1;
        p = strstr(uri, "://") + 3;
    } else if (strncmp(uri, "esx+http://", 11) == 0) {
        p = uri + 11;
    } else {
        return bad(why, size, "URI '%s' is not esx://, esx+https:// or esx+http://", uri);
    }

    size_t auth_len = strcspn(p, "/?");
    /* the last '@': vCenter users look like administrator@vsphere.local */
    const char *at = memrchr(p, '@', auth_len);
    const char *hostpart = p;
    if (at) {
        if (memchr(p, ':', (size_t)(at - p)))
            return bad(why, size,
                       "%sthe URI must not carry a password (it would show in command lines "
                       "and logs): put it in the host's esx group or an auth file",
                       "");
        if (at == p)
            return bad(why, size, "%sempty user name before '@' in the URI", "");
        if (!(out->user = dup_n(p, (size_t)(at - p))))
            goto oom;
        if (percent_decode(out->user) < 0)
            return bad(why, size, "%sbad %%-escape in the URI's user name", "");
        hostpart = at + 1;
    }
    size_t hlen = auth_len - (size_t)(hostpart - p);
    const char *colon = NULL;
    if (hlen && hostpart[0] == '[') {
        const char *close = memchr(hostpart, ']', hlen);
        if (!close)
            return bad(why, size, "unterminated '[' in the host of URI '%s'", uri);
        if ((size_t)(close - hostpart) + 1 < hlen) {
            if (close[1] != ':')
                return bad(why, size, "garbage after ']' in URI '%s'", uri);
            colon = close + 1;
        }
    } else {
        colon = memchr(hostpart, ':', hlen);
    }
    size_t name_len = colon ? (size_t)(colon - hostpart) : hlen;
    if (name_len == 0)
        return bad(why, size, "no host in URI '%s'", uri);
    if (!(out->host = dup_n(hostpart, name_len)))
        goto oom;
    if (colon) {
        char *end;
        errno = 0;
        long port = strtol(colon + 1, &end, 10);
        if (errno || end != hostpart + hlen || port <= 0 || port > 65535 || end == colon + 1)
            return bad(why, size, "bad port in URI '%s'", uri);
        out->port = (int)port;
    }

    const char *rest = p + auth_len;
    const char *query = strchr(rest, '?');
    const char *path = rest;
    size_t plen = query ? (size_t)(query - rest) : strlen(rest);
    while (plen && *path == '/') {
        path++;
        plen--;
    }
    while (plen && path[plen - 1] == '/')
        plen--;
    if (!(out->path = dup_n(path, plen)))
        goto oom;
    if ((rc = parse_query(query ? query + 1 : NULL, out, why, size)) < 0)
        return rc;
    return 0;
oom:
    snprintf(why, size, "out of memory");
    return -SB_ERR_NO_MEMORY;
}

int esx_uri_parse(const char *uri, esx_uri *out, char *why, size_t size)
{
    memset(out, 0, sizeof(*out));
    int rc = parse_uri(uri, out, why, size);
    if (rc < 0)
        esx_uri_clear(out);
    return rc;
}

/* ---- auth file (libvirt's auth.conf format) ---- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

struct section {
    char *name;
    char *credentials, *authname, *password;
};

static void sections_free(struct section *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].credentials);
        free(v[i].authname);
        if (v[i].password) {
            memset(v[i].password, 0, strlen(v[i].password));
            free(v[i].password);
        }
    }
    free(v);
}

static struct section *find_section(struct section *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static int read_sections(FILE *f, struct section **out, size_t *out_n, int *line)
{
    struct section *v = NULL;
    size_t n = 0;
    char buf[1024];

    *line = 0;
    while (fgets(buf, sizeof(buf), f)) {
        (*line)++;
        char *s = trim(buf);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end)
                goto malformed;
            *end = '\0';
            struct section *nv = realloc(v, (n + 1) * sizeof(*v));
            if (!nv)
                goto oom;
            v = nv;
            memset(&v[n], 0, sizeof(v[n]));
            if (!(v[n++].name = strdup(trim(s + 1))))
                goto oom;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || !n)
            goto malformed;
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        char **slot = strcmp(key, "credentials") == 0 ? &v[n - 1].credentials
                      : strcmp(key, "authname") == 0  ? &v[n - 1].authname
                      : strcmp(key, "password") == 0  ? &v[n - 1].password
                                                      : NULL;
        if (slot) {
            free(*slot);
            if (!(*slot = strdup(val)))
                goto oom;
        }
        memset(buf, 0, sizeof(buf)); /* a password may have been in it */
    }
    *out = v;
    *out_n = n;
    return 0;
malformed:
    memset(buf, 0, sizeof(buf));
    sections_free(v, n);
    return -2;
oom:
    memset(buf, 0, sizeof(buf));
    sections_free(v, n);
    errno = ENOMEM;
    *line = 0;
    return -1;
}

int esx_auth_file_lookup(const char *path, const char *host, char **user, char **password,
                         int *line)
{
    struct section *v = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "r");
    int rc;

    *user = *password = NULL;
    *line = 0;
    if (!f)
        return -1;
    rc = read_sections(f, &v, &n, line);
    fclose(f);
    if (rc == -2)
        return -1;
    if (rc < 0)
        return -1;

    const char *prefixes[] = { "auth-esx-", "auth-vpx-" };
    struct section *auth = NULL;
    char name[512];
    for (size_t i = 0; !auth && i < 2; i++) {
        snprintf(name, sizeof(name), "%s%s", prefixes[i], host);
        auth = find_section(v, n, name);
    }
    if (!auth)
        auth = find_section(v, n, "auth-esx-default");
    struct section *cred = NULL;
    if (auth && auth->credentials) {
        snprintf(name, sizeof(name), "credentials-%s", auth->credentials);
        cred = find_section(v, n, name);
    }
    rc = 0;
    if (cred && cred->password) {
        *user = esx_strdup(cred->authname);
        *password = strdup(cred->password);
        rc = (*password && (!cred->authname || *user)) ? 1 : -1;
        if (rc < 0) {
            free(*user);
            free(*password);
            *user = *password = NULL;
            errno = ENOMEM;
        }
    }
    sections_free(v, n);
    return rc;
}

/* ---- thumbprints ---- */

int esx_thumbprint_parse(const char *text, unsigned char *out)
{
    int n = 0, half = -1;

    if (!text)
        return -1;
    if (strncasecmp(text, "sha256:", 7) == 0)
        text += 7;
    else if (strncasecmp(text, "sha1:", 5) == 0)
        text += 5;
    for (const char *p = text; *p; p++) {
        int v;
        if (*p == ':' || *p == ' ')
            continue;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            return -1;
        if (half < 0) {
            half = v;
        } else {
            if (n == 32)
                return -1;
            out[n++] = (unsigned char)(half * 16 + v);
            half = -1;
        }
    }
    return (half < 0 && (n == 20 || n == 32)) ? n : -1;
}

void esx_thumbprint_format(const unsigned char *d, int n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < n; i++) {
        out[3 * i] = hex[d[i] >> 4];
        out[3 * i + 1] = hex[d[i] & 15];
        out[3 * i + 2] = i + 1 < n ? ':' : '\0';
    }
    if (n == 0)
        out[0] = '\0';
}
