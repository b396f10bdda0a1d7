/* vbox plugin - UUIDs in VirtualBox's two spellings: "{xxxxxxxx-...}" in
 * settings files, and the RTUUID byte layout in image headers (the first
 * three fields little endian, the rest in string order). */
#include "vb.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vb_uuid_parse(const char *in, char out[VB_UUID_LEN])
{
    size_t len;
    int braced;

    if (!in)
        return -1;
    len = strlen(in);
    braced = len == 38 && in[0] == '{' && in[37] == '}';
    if (braced)
        in++;
    else if (len != 36)
        return -1;
    for (int i = 0; i < 36; i++) {
        char c = in[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return -1;
            out[i] = '-';
        } else {
            int v = hexval(c);
            if (v < 0)
                return -1;
            out[i] = "0123456789abcdef"[v];
        }
    }
    out[36] = '\0';
    return 0;
}

int vb_uuid_is_null(const char *u)
{
    for (; *u; u++)
        if (*u != '0' && *u != '-')
            return 0;
    return 1;
}

/* String position of each byte of the RTUUID layout. */
static const int byte_pos[16] = { 6, 4, 2, 0, 11, 9, 16, 14, 19, 21, 24, 26, 28, 30, 32, 34 };

int vb_uuid_to_bin(const char *u, unsigned char b[16])
{
    char canon[VB_UUID_LEN];
    if (vb_uuid_parse(u, canon) < 0)
        return -1;
    for (int i = 0; i < 16; i++)
        b[i] = (unsigned char)(hexval(canon[byte_pos[i]]) << 4 | hexval(canon[byte_pos[i] + 1]));
    return 0;
}

void vb_uuid_from_bin(const unsigned char b[16], char out[VB_UUID_LEN])
{
    memset(out, '-', 36);
    for (int i = 0; i < 16; i++) {
        out[byte_pos[i]] = "0123456789abcdef"[b[i] >> 4];
        out[byte_pos[i] + 1] = "0123456789abcdef"[b[i] & 15];
    }
    out[36] = '\0';
}

static void random_bytes(unsigned char *b, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, b + got, n - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
    }
    if (got < n) {
        /* no /dev/urandom: time and pid still make collisions unlikely */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_nsec ^
                               ((unsigned long long)ts.tv_sec << 20) ^
                               ((unsigned long long)getpid() << 40);
        for (size_t i = got; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            b[i] = (unsigned char)(x >> 56);
        }
    }
}

void vb_uuid_generate(char out[VB_UUID_LEN])
{
    unsigned char b[16];
    vb_uuid_generate_bin(b);
    vb_uuid_from_bin(b, out);
}

void vb_uuid_generate_bin(unsigned char b[16])
{
    random_bytes(b, 16);
    /* version 4 in the time_hi_and_version field (little endian: byte 7),
     * RFC 4122 variant in clock_seq_hi (byte 8) */
    b[7] = (unsigned char)((b[7] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
}
