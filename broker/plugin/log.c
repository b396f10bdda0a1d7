/* Process-wide log sink / ring (see log.h). */
#include "plugin/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "snapbroker/errors.h"

struct ring_line {
    int level;
    char origin[64];
    char message[SB_LOG_LINE_MAX];
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_level = SB_LOG_WARN;
static sb_log_sink log_sink;
static void *log_sink_data;
static struct ring_line ring[SB_LOG_RING_SIZE];
static size_t ring_start, ring_count, ring_dropped;

void sb_log_set_level(int level)
{
    if (level < SB_LOG_ERROR)
        level = SB_LOG_ERROR;
    if (level > SB_LOG_DEBUG)
        level = SB_LOG_DEBUG;
    pthread_mutex_lock(&log_lock);
    log_level = level;
    pthread_mutex_unlock(&log_lock);
}

int sb_log_level(void)
{
    int level;

    pthread_mutex_lock(&log_lock);
    level = log_level;
    pthread_mutex_unlock(&log_lock);
    return level;
}

void sb_log_set_sink(sb_log_sink fn, void *data)
{
    pthread_mutex_lock(&log_lock);
    log_sink = fn;
    log_sink_data = data;
    pthread_mutex_unlock(&log_lock);
}

void sb_log_writev(int level, const char *origin, const char *fmt, va_list ap)
{
    char message[SB_LOG_LINE_MAX];
    sb_log_sink sink;
    void *data;

    pthread_mutex_lock(&log_lock);
    if (level > log_level) {
        pthread_mutex_unlock(&log_lock);
        return;
    }
    sink = log_sink;
    data = log_sink_data;
    pthread_mutex_unlock(&log_lock);

    char raw[SB_LOG_LINE_MAX];
    vsnprintf(raw, sizeof(raw), fmt, ap);
    sb_escape_controls(message, sizeof(message), raw); /* one line, as errors */
    if (!origin)
        origin = "broker";
    if (sink) {
        /* Called unlocked: a sink may log or change the sink itself. */
        sink(data, level, origin, message);
        return;
    }
    pthread_mutex_lock(&log_lock);
    {
        struct ring_line *l;
        if (ring_count == SB_LOG_RING_SIZE) {
            ring_start = (ring_start + 1) % SB_LOG_RING_SIZE;
            ring_count--;
            ring_dropped++;
        }
        l = &ring[(ring_start + ring_count) % SB_LOG_RING_SIZE];
        l->level = level;
        snprintf(l->origin, sizeof(l->origin), "%s", origin);
        memcpy(l->message, message, sizeof(l->message));
        ring_count++;
    }
    pthread_mutex_unlock(&log_lock);
}

void sb_log_write(int level, const char *origin, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_log_writev(level, origin, fmt, ap);
    va_end(ap);
}

size_t sb_log_ring_drain(sb_log_sink fn, void *data)
{
    struct ring_line copy[SB_LOG_RING_SIZE];
    size_t n, dropped, i;

    /* Copy out under the lock, call fn without it. */
    pthread_mutex_lock(&log_lock);
    n = ring_count;
    dropped = ring_dropped;
    for (i = 0; i < n; i++)
        copy[i] = ring[(ring_start + i) % SB_LOG_RING_SIZE];
    ring_start = ring_count = ring_dropped = 0;
    pthread_mutex_unlock(&log_lock);

    if (dropped && fn) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%zu older log lines dropped", dropped);
        fn(data, SB_LOG_WARN, "broker", msg);
    }
    for (i = 0; i < n && fn; i++)
        fn(data, copy[i].level, copy[i].origin, copy[i].message);
    return n;
}

static const char *const level_names[] = {NULL, "error", "warn", "info", "debug"};

const char *sb_log_level_name(int level)
{
    if (level < SB_LOG_ERROR || level > SB_LOG_DEBUG)
        return NULL;
    return level_names[level];
}

int sb_log_level_parse(const char *name)
{
    int i;

    for (i = SB_LOG_ERROR; name && i <= SB_LOG_DEBUG; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return 0;
}
