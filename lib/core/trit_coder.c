/* Ternary map coder: adaptive binary range coding with neighbour contexts.
 * See trit_coder.h for why, docs/wire-format.md for the bit-exact rules. */
#include <stdlib.h>
#include <string.h>

#include "trit_coder.h"

/* ---- probability model ------------------------------------------------ */

#define PROB_BITS 12
#define COUNT_LIMIT 255 /* halve counts past this: keeps the model adaptive */
#define N_CTX 729       /* 3 channels x 3^5 neighbour states */

/* Two adaptive bits per value: "is it nonzero", then "is it negative". */
typedef struct model {
    uint16_t zero[N_CTX][2];
    uint16_t sign[N_CTX][2];
} model;

/* P(bit = 0) in 1..4095 from the counts (Krichevsky-Trofimov estimate). */
static uint32_t prob0(const uint16_t c[2])
{
    uint32_t num = (2u * c[0] + 1) << PROB_BITS, den = 2u * (c[0] + c[1]) + 2;
    uint32_t p = num / den;
    return p < 1 ? 1 : p > (1u << PROB_BITS) - 1 ? (1u << PROB_BITS) - 1 : p;
}

static void update(uint16_t c[2], int bit)
{
    if (++c[bit] + c[!bit] > COUNT_LIMIT) {
        c[0] = (uint16_t)((c[0] + 1) / 2);
        c[1] = (uint16_t)((c[1] + 1) / 2);
    }
}

/* Coded symbols of one face (0, 1, 2 for value 0, +1, -1) with a zero
 * border of one row above and one column either side, so every neighbour
 * is a plain load. */
typedef struct plane {
    uint8_t *sym;
    size_t row; /* bytes per padded row */
} plane;

static int plane_init(plane *pl, int h, int w)
{
    pl->row = (size_t)(w + 2) * 3;
    pl->sym = calloc((size_t)(h + 1) * pl->row, 1);
    return pl->sym != NULL;
}

static size_t plane_at(const plane *pl, int y, int x)
{
    return (size_t)(y + 1) * pl->row + (size_t)(x + 1) * 3;
}

/* Context of channel c at padded index i, from already coded symbols only:
 * the pixel's earlier channels, then left, up and up-right in channel c. */
static int context(const plane *pl, size_t i, int c)
{
    const uint8_t *p = pl->sym + i + c, *up = p - pl->row;
    int p0 = c >= 1 ? p[-c] : 0, p1 = c >= 2 ? p[1 - c] : 0;
    int ctx = (c * 3 + p0) * 3 + p1;
    ctx = ctx * 3 + p[-3];
    ctx = ctx * 3 + up[0];
    return ctx * 3 + up[3];
}

static uint8_t to_sym(int v)
{
    return (uint8_t)(v == 0 ? 0 : v > 0 ? 1 : 2);
}

/* ---- range encoder (carry-propagating, 32-bit range) -------------------- */

typedef struct enc {
    uint8_t *buf;
    size_t len, cap;
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    size_t pending; /* cache byte plus this many 0xff bytes not yet written */
    int oom;
} enc;

static void put_byte(enc *e, uint8_t b)
{
    if (e->len == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4096;
        uint8_t *nb = realloc(e->buf, cap);
        if (!nb) {
            e->oom = 1;
            return;
        }
        e->buf = nb;
        e->cap = cap;
    }
    e->buf[e->len++] = b;
}

/* Move the top byte of low out; a carry into it may still change the
 * cached byte and the run of 0xff bytes after it, so those wait. */
static void shift_low(enc *e)
{
    if ((uint32_t)e->low < 0xff000000u || (e->low >> 32)) {
        uint8_t carry = (uint8_t)(e->low >> 32);
        put_byte(e, (uint8_t)(e->cache + carry));
        for (; e->pending; e->pending--)
            put_byte(e, (uint8_t)(0xff + carry));
        e->cache = (uint8_t)(e->low >> 24);
    } else {
        e->pending++;
    }
    e->low = (e->low & 0x00ffffffu) << 8;
}

static void encode_bit(enc *e, uint16_t c[2], int bit)
{
    uint32_t bound = (e->range >> PROB_BITS) * prob0(c);
    if (!bit) {
        e->range = bound;
    } else {
        e->low += bound;
        e->range -= bound;
    }
    while (e->range < (1u << 24)) {
        e->range <<= 8;
        shift_low(e);
    }
    update(c, bit);
}

/* ---- range decoder -------------------------------------------------------- */

typedef struct dec {
    const uint8_t *in;
    size_t size, pos;
    uint32_t range, code;
    int overrun;
} dec;

static uint8_t next_byte(dec *d)
{
    if (d->pos < d->size)
        return d->in[d->pos++];
    d->overrun = 1;
    return 0;
}

static int decode_bit(dec *d, uint16_t c[2])
{
    uint32_t bound = (d->range >> PROB_BITS) * prob0(c);
    int bit;
    if (d->code < bound) {
        d->range = bound;
        bit = 0;
    } else {
        d->code -= bound;
        d->range -= bound;
        bit = 1;
    }
    while (d->range < (1u << 24)) {
        d->range <<= 8;
        d->code = (d->code << 8) | next_byte(d);
    }
    update(c, bit);
    return bit;
}

/* ---- maps --------------------------------------------------------------------- */

apf_status trit_encode(const int8_t *values, int n, int h, int w, uint8_t **out, size_t *out_size)
{
    model *m = malloc(sizeof *m);
    plane pl;
    enc e = {.range = 0xffffffffu};
    if (!m || !plane_init(&pl, h, w)) {
        free(m);
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    }
    size_t per = (size_t)h * w * 3;
    /* The first byte out is always the zero the cache starts with; it is
     * written so the decoder can read a fixed 5-byte preamble. */
    for (int k = 0; k < n; k++) {
        const int8_t *f = values + k * per;
        memset(m, 0, sizeof *m);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = plane_at(&pl, y, x);
                for (int c = 0; c < 3; c++) {
                    int v = *f++, ctx = context(&pl, i, c);
                    encode_bit(&e, m->zero[ctx], v != 0);
                    if (v)
                        encode_bit(&e, m->sign[ctx], v < 0);
                    pl.sym[i + c] = to_sym(v);
                }
            }
    }
    for (int i = 0; i < 5; i++)
        shift_low(&e);
    free(m);
    free(pl.sym);
    if (e.oom) {
        free(e.buf);
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    }
    *out = e.buf;
    *out_size = e.len;
    return APF_OK;
}

apf_status trit_decode(const uint8_t *in, size_t size, int n, int h, int w, int8_t *values)
{
    /* Counts are halved past 255, so no decision is ever more likely than
     * 4088/4096 and none costs less than 0.0028 bits: a stream holds at
     * most ~2840 decisions per byte. A header declaring more values than
     * that is refused before any work (it would make a small hostile blob
     * cost seconds of decoding). */
    if ((size_t)n * h * w * 3 > (size_t)4096 * size)
        return apf_fail(APF_E_FORMAT, "wire: %zu coded bytes cannot hold %zu values", size,
                        (size_t)n * h * w * 3);
    model *m = malloc(sizeof *m);
    plane pl;
    if (!m || !plane_init(&pl, h, w)) {
        free(m);
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    }
    dec d = {.in = in, .size = size, .range = 0xffffffffu};
    apf_status st = APF_OK;
    if (next_byte(&d) != 0)
        st = apf_fail(APF_E_FORMAT, "wire: coded stream does not start with 0");
    for (int i = 0; i < 4; i++)
        d.code = (d.code << 8) | next_byte(&d);
    for (int k = 0; k < n && !st && !d.overrun; k++) {
        int8_t *f = values + k * (size_t)h * w * 3;
        memset(m, 0, sizeof *m);
        for (int y = 0; y < h && !d.overrun; y++) /* a short stream stops here, not at the end */
            for (int x = 0; x < w; x++) {
                size_t i = plane_at(&pl, y, x);
                for (int c = 0; c < 3; c++) {
                    int ctx = context(&pl, i, c);
                    int8_t v = 0;
                    if (decode_bit(&d, m->zero[ctx]))
                        v = decode_bit(&d, m->sign[ctx]) ? -1 : 1;
                    *f++ = v;
                    pl.sym[i + c] = to_sym(v);
                }
            }
    }
    free(m);
    free(pl.sym);
    if (st)
        return st;
    if (d.overrun)
        return apf_fail(APF_E_FORMAT, "wire: coded stream is truncated");
    if (d.pos != d.size)
        return apf_fail(APF_E_FORMAT, "wire: %zu bytes after the coded stream", d.size - d.pos);
    return APF_OK;
}
