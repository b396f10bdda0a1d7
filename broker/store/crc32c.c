/* CRC-32C: hardware instruction when the CPU has it, slice-by-8 otherwise.
 * Check value: sb_crc32c(0, "123456789", 9) == 0xE3069283. */
#include "store/crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u /* Castagnoli, reflected */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
    pthread_once(&table_once, make_table);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= c;
        c = table[7][v & 0xFF] ^ table[6][(v >> 8) & 0xFF] ^ table[5][(v >> 16) & 0xFF] ^
            table[4][(v >> 24) & 0xFF] ^ table[3][(v >> 32) & 0xFF] ^
            table[2][(v >> 40) & 0xFF] ^ table[1][(v >> 48) & 0xFF] ^ table[0][v >> 56];
        p += 8;
        n -= 8;
    }
#endif
    while (n--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The crc32 instruction has a latency of 3 cycles and a throughput of 1:
 * one stream of it runs at a third of what the CPU can do.  So three
 * blocks of STRIDE bytes are run as three independent streams (the 2nd and
 * 3rd starting from 0) and combined: the register after A||B is
 * shift(reg after A, |B|) ^ (reg of B from 0), where shift(x, n) runs n
 * zero bytes through x.  Linear over GF(2), so for the fixed n = STRIDE it
 * is four table lookups (shift_tab, built once from the one-bit operator
 * squared up to STRIDE bytes, as zlib's crc32_combine does). */
#define STRIDE 256u
static uint32_t shift_tab[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* mat[i] = image of bit i */
static uint32_t gf2_times(const uint32_t mat[32], uint32_t v)
{
    uint32_t sum = 0;
    for (int i = 0; v; i++, v >>= 1)
        if (v & 1)
            sum ^= mat[i];
    return sum;
}

static void make_shift_tab(void)
{
    uint32_t op[32], sq[32];
    op[0] = POLY; /* one zero bit: bit 0 falls out and brings the polynomial */
    for (int i = 1; i < 32; i++)
        op[i] = 1u << (i - 1);
    for (unsigned bits = 1; bits < STRIDE * 8; bits *= 2) { /* op = op^2 */
        for (int i = 0; i < 32; i++)
            sq[i] = gf2_times(op, op[i]);
        memcpy(op, sq, sizeof(op));
    }
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++)
            shift_tab[k][b] = gf2_times(op, b << (8 * k));
}

static uint32_t shift_stride(uint32_t x)
{
    return shift_tab[0][x & 0xFF] ^ shift_tab[1][(x >> 8) & 0xFF] ^
           shift_tab[2][(x >> 16) & 0xFF] ^ shift_tab[3][x >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p,
                                                          size_t n)
{
    uint64_t c64 = c;
    if (n >= 3 * STRIDE)
        pthread_once(&shift_once, make_shift_tab);
    while (n >= 3 * STRIDE) {
        uint64_t a = c64, b = 0, d = 0;
        for (size_t i = 0; i < STRIDE; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, p + i, 8);
            memcpy(&vb, p + STRIDE + i, 8);
            memcpy(&vd, p + 2 * STRIDE + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            d = __builtin_ia32_crc32di(d, vd);
        }
        c64 = shift_stride(shift_stride((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
        p += 3 * STRIDE;
        n -= 3 * STRIDE;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}

static int have_hw(void)
{
    static int cached = -1; /* benign race: every thread computes the same */
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return cached;
}
#endif

uint32_t sb_crc32c(uint32_t crc, const void *buf, size_t n)
{
    uint32_t c = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (have_hw())
        return ~crc_hw(c, buf, n);
#endif
    return ~crc_sw(c, buf, n);
}

/* for the tests: the portable path, whatever the CPU */
uint32_t sb_crc32c__portable(uint32_t crc, const void *buf, size_t n);
uint32_t sb_crc32c__portable(uint32_t crc, const void *buf, size_t n)
{
    return ~crc_sw(~crc, buf, n);
}
