/* The simulator harness (esxsim.h). */
#include "esxsim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

/* Only catches hangs: the simulator is ready in well under a second. */
#define START_DEADLINE_S 120

static void take(char *dst, size_t size, const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) == 0 && line[n] == '=')
        snprintf(dst, size, "%s", line + n + 1);
}

static int read_facts(esxsim *s, int fd)
{
    char buf[8192];
    size_t len = 0;
    time_t deadline = time(NULL) + START_DEADLINE_S;

    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(&p, 1, left * 1000) <= 0) {
            fprintf(stderr, "esxsim: not ready after %d s\n", START_DEADLINE_S);
            return -1;
        }
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            fprintf(stderr, "esxsim: exited before READY (see %s/esxsim.log)\n", s->dir);
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "READY\n"))
            break;
        if (len + 1 >= sizeof(buf))
            return -1;
    }
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        take(s->url, sizeof(s->url), line, "URL");
        take(s->ctl, sizeof(s->ctl), line, "CTL");
        take(s->thumbprint, sizeof(s->thumbprint), line, "THUMBPRINT");
        take(s->thumbprint_sha1, sizeof(s->thumbprint_sha1), line, "THUMBPRINT_SHA1");
        take(s->ca, sizeof(s->ca), line, "CA");
        take(s->libvirt_url, sizeof(s->libvirt_url), line, "LIBVIRT_URL");
    }
    const char *h = strstr(s->url, "://");
    if (!h || !*s->ctl)
        return -1;
    snprintf(s->hostport, sizeof(s->hostport), "%.*s", (int)strcspn(h + 3, "/"), h + 3);
    return 0;
}

int esxsim_start(esxsim *s, const char *const *args)
{
    const char *bin = getenv("SB_ESXSIM");
    int in[2], out[2];
    const char *argv[32];
    int argc = 0;

    memset(s, 0, sizeof(*s));
    s->pid = -1;
    s->stdin_fd = -1;
    if (!bin) {
        fprintf(stderr, "esxsim: SB_ESXSIM is not set\n");
        return -1;
    }
    const char *base = getenv("SB_BUILD_ROOT");
    snprintf(s->dir, sizeof(s->dir), "%s/esxsim-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(s->dir) || pipe(in) < 0 || pipe(out) < 0)
        return -1;
    argv[argc++] = bin;
    argv[argc++] = "-stdin";
    argv[argc++] = "-cert-dir";
    argv[argc++] = s->dir;
    for (size_t i = 0; args && args[i] && argc < 30; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    char log[300];
    snprintf(log, sizeof(log), "%s/esxsim.log", s->dir);
    s->pid = fork();
    if (s->pid == 0) {
        int err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (err >= 0)
            dup2(err, 2);
        close(in[1]);
        close(out[0]);
        setenv("TMPDIR", s->dir, 1); /* the datastore's files go here */
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    int rc = s->pid < 0 ? -1 : read_facts(s, out[0]);
    close(out[0]);
    if (rc < 0)
        esxsim_stop(s);
    return rc;
}

void esxsim_stop(esxsim *s)
{
    if (s->stdin_fd >= 0)
        close(s->stdin_fd); /* the simulator exits on end of input */
    s->stdin_fd = -1;
    if (s->pid > 0) {
        int status;
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 600 && waitpid(s->pid, &status, WNOHANG) == 0; i++) {
            if (i == 599) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &status, 0);
            }
            usleep(100000);
        }
    }
    s->pid = -1;
    if (s->dir[0]) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "esxsim: could not remove %s\n", s->dir);
        s->dir[0] = '\0';
    }
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    FILE *f = arg;
    return fwrite(p, size, n, f);
}

char *esxsim_ctl(esxsim *s, const char *fmt, ...)
{
    char path[2048], url[2400];
    char *body = NULL;
    size_t len = 0;
    long code = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    snprintf(url, sizeof(url), "%s%s", s->ctl, path);
    CURL *h = curl_easy_init();
    FILE *f = open_memstream(&body, &len);
    if (!h || !f) {
        if (h)
            curl_easy_cleanup(h);
        if (f)
            fclose(f);
        free(body);
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    fclose(f);
    if (cc != CURLE_OK || code != 200) {
        fprintf(stderr, "esxsim control %s: %s (HTTP %ld) %s\n", path, curl_easy_strerror(cc),
                code, body ? body : "");
        free(body);
        return NULL;
    }
    while (len && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        body[--len] = '\0';
    return body;
}

int esxsim_new_vm(esxsim *s, const char *name, const char *query, char *moref)
{
    char *out = esxsim_ctl(s, "vm/create?name=%s&%s", name, query ? query : "");
    if (!out)
        return -1;
    int ok = sscanf(out, "%31s", moref) == 1;
    free(out);
    return ok ? 0 : -1;
}

char *esxsim_requests(esxsim *s)
{
    return esxsim_ctl(s, "requests?clear=1");
}

int esxsim_count(const char *requests, const char *method)
{
    char key[128];
    int n = 0;
    size_t klen = (size_t)snprintf(key, sizeof(key), "%s\t", method);
    for (const char *p = requests; p && *p;) {
        if (strncmp(p, key, klen) == 0)
            n++;
        const char *sep = strstr(p, "\n----\n");
        p = sep ? sep + 6 : NULL;
    }
    return n;
}

int esxsim_write_config(esxsim *s, const char *name, const char *uri, const char *group,
                        char *path)
{
    snprintf(path, 512, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "log_level = \"debug\";\n"
            "hosts = ( { name = \"sim\"; plugin = \"esx\"; uri = \"%s\";\n"
            "  esx = { %s };\n} );\n",
            uri, group ? group : "");
    return fclose(f) == 0 ? 0 : -1;
}

const char *esxsim_unique(const char *prefix)
{
    static char buf[64];
    static unsigned n;
    snprintf(buf, sizeof(buf), "%s%u", prefix, ++n);
    return buf;
}
