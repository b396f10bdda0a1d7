/* sb_store_check(): re-read the log from disk and verify every record,
 * then the tree's invariants; report findings one per line. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/fsutil.h"

/* Scan the file; returns the number of problems (or -errno class). */
static int check_log(sb_store *s, FILE *rep)
{
    int fd;
    int orc = sb_fs_open(s->log_path, O_RDONLY, 0, &fd);
    if (orc != 0)
        return orc < 0 ? orc : 0; /* 1: no log yet */
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, e, "cannot stat '%s'", s->log_path);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (data == MAP_FAILED)
        return sb_error_set_errno(SB_ERR_SYSTEM_ERROR, errno, "cannot map '%s'", s->log_path);
    int bad = 0;
    if (!sb_log_header_ok(data, size)) {
        fprintf(rep, "%s: bad header\n", s->log_path);
        bad++;
        goto out;
    }
    size_t off = SB_LOG_HEADER_SIZE, nrec = 0;
    for (;;) {
        const uint8_t *p;
        size_t plen, next;
        int r = sb_log_scan(data, size, off, &p, &plen, &next);
        if (r == SB_SCAN_END)
            break;
        if (r == SB_SCAN_OK) {
            size_t pos = 0;
            sb_log_op op;
            int d;
            while ((d = sb_log_decode_op(p, plen, &pos, &op)) == 1)
                ;
            if (d < 0) {
                fprintf(rep, "%s: record at offset %zu has a valid checksum but does not "
                             "decode (op at payload byte %zu)\n", s->log_path, off, pos);
                bad++;
            }
            nrec++;
            off = next;
            continue;
        }
        size_t resync = sb_log_resync(data, size, off);
        if (resync < size && sb_store__unacknowledged_after(data, size, off, resync)) {
            fprintf(rep, "note: %s: incomplete records from offset %zu (%zu bytes), a group "
                         "commit interrupted before its fdatasync; dropped on the next write\n",
                    s->log_path, off, size - off);
            break;
        }
        if (resync == size) {
            fprintf(rep, "note: %s: incomplete last record at offset %zu (%zu bytes), "
                         "an interrupted commit; dropped on the next write\n",
                    s->log_path, off, size - off);
            break;
        }
        fprintf(rep, "%s: damaged record at offset %zu (%zu bytes up to the next valid "
                     "record)\n", s->log_path, off, resync - off);
        bad++;
        off = resync;
    }
    fprintf(rep, "note: %s: %zu record(s), %zu bytes\n", s->log_path, nrec, size);
out:
    if (data)
        munmap(data, size);
    return bad;
}

int sb_store_check(sb_store *s, char **report)
{
    if (report)
        *report = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *rep = open_memstream(&buf, &len);
    if (!rep)
        return sb_error_oom();
    int rc = 0, bad = 0;
    /* inside a transaction we hold the lock exclusively already; taking it
     * shared on the same descriptor would downgrade it */
    bool lock = s->lock_fd >= 0 && !s->in_txn;
    if (lock && (rc = sb_fs_lock(s->lock_fd, LOCK_SH, true, s->lock_path)) < 0)
        goto out;
    if (!s->in_txn)
        rc = sb_store__sync(s, false);
    if (rc == 0) {
        int b = check_log(s, rep);
        if (b < 0)
            rc = b;
        else
            bad += b;
    }
    if (lock)
        sb_fs_unlock(s->lock_fd);
    if (rc < 0)
        goto out;
    bad += sb_tree_verify(s->tree, rep);
    for (size_t i = 0; i < s->warnings.n; i++) {
        /* a torn tail (of one commit, or of a group whose fdatasync never
         * ran) is normal after a crash; everything else is a finding */
        bool note = strstr(s->warnings.v[i], "incomplete last record") != NULL ||
                    strstr(s->warnings.v[i], "commits were interrupted before") != NULL ||
                    strstr(s->warnings.v[i], "damaged log kept as") != NULL;
        fprintf(rep, "%s%s\n", note ? "note: " : "", s->warnings.v[i]);
        bad += !note;
    }
    for (size_t i = 0; i < s->nintents; i++)
        fprintf(rep, "note: unresolved intent %llu: %s '%s' begun by pid %d at %lld\n",
                (unsigned long long)s->intents[i].id, s->intents[i].op,
                s->intents[i].snapshot, s->intents[i].pid, s->intents[i].time);
out:
    fclose(rep);
    if (rc == 0 && bad) {
        /* the first non-note line is the message */
        const char *line = buf;
        while (line && strncmp(line, "note: ", 6) == 0) {
            line = strchr(line, '\n');
            line = line ? line + 1 : NULL;
        }
        size_t n = line ? strcspn(line, "\n") : 0;
        rc = sb_error_set(SB_ERR_STORE, "%d problem(s) in store '%s': %.*s", bad, s->dir,
                          (int)n, line ? line : "");
    }
    if (rc == 0 && len == 0) {
        free(buf);
        buf = strdup("ok\n");
    }
    if (report)
        *report = buf;
    else
        free(buf);
    return rc;
}
