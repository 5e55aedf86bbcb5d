/* Wire blobs: round trips, and every malformed-blob case rejected. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apf/apf_core.h"
#include "apf/apf_wire.h"

static apf_wire_info ginfo(int n, int s)
{
    apf_wire_info i = {APF_WIRE_GRADIENT, 3, n, s, s, 3, 8.0f, 0x1122334455667788ull};
    return i;
}

static int8_t *ternary(size_t count, unsigned seed)
{
    int8_t *v = malloc(count);
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (int8_t)((seed >> 20) % 3) - 1;
    }
    return v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}
static void fix_crc(uint8_t *b, size_t size)
{
    uint32_t c = (uint32_t)crc32(0, b, 48);
    c = (uint32_t)crc32(c, b + 52, (uInt)(size - 52));
    put32(b + 48, c);
}

/* A blob whose payload is zlib over arbitrary raw bytes, with consistent
 * sizes and CRC: a version 1 gradient (2-bit codes) or a noise blob. */
static uint8_t *craft(const apf_wire_info *info, const uint8_t *raw, size_t rn, uint32_t declared_raw,
                      size_t *size)
{
    int8_t zero[12] = {0};
    apf_wire_info small = *info;
    small.n = 1, small.height = 2, small.width = 2;
    void *tmpl;
    size_t tn;
    ck_assert_int_eq(apf_wire_encode(&small, zero, &tmpl, &tn), APF_OK);
    uLongf cn = compressBound(rn);
    uint8_t *b = malloc(52 + cn);
    memcpy(b, tmpl, 52);
    free(tmpl);
    compress2(b + 52, &cn, raw, rn, 9);
    put32(b + 12, (uint32_t)info->n);
    put32(b + 16, (uint32_t)info->height);
    put32(b + 20, (uint32_t)info->width);
    put32(b + 40, declared_raw);
    put32(b + 44, (uint32_t)cn);
    if (info->kind == APF_WIRE_GRADIENT)
        b[4] = 1, b[5] = 0, b[7] = 0; /* version 1, 2-bit ternary */
    *size = 52 + cn;
    fix_crc(b, *size);
    return b;
}

/* Round trip one map and return the blob's size. */
static size_t round_trip(const apf_wire_info *in, const int8_t *v)
{
    size_t count = (size_t)in->n * in->height * in->width * 3, size;
    void *blob;
    int8_t *back;
    apf_wire_info out;
    ck_assert_int_eq(apf_wire_encode(in, v, &blob, &size), APF_OK);
    ck_assert_int_eq(apf_wire_decode(blob, size, &out, &back), APF_OK);
    ck_assert_mem_eq(v, back, count);
    free(blob), free(back);
    return size;
}

START_TEST(gradient_round_trip)
{
    apf_wire_info in = ginfo(3, 112), out;
    size_t count = 3 * 112 * 112 * 3;
    int8_t *v = ternary(count, 5), *back;
    void *blob;
    size_t size;
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob, &size), APF_OK);
    ck_assert_int_eq(apf_wire_decode(blob, size, &out, &back), APF_OK);
    ck_assert_mem_eq(v, back, count);
    ck_assert_int_eq(out.kind, APF_WIRE_GRADIENT);
    ck_assert_int_eq(out.algorithm, 3);
    ck_assert_int_eq(out.n, 3);
    ck_assert_int_eq(out.height, 112);
    ck_assert_float_eq(out.eps, 8.0f);
    ck_assert_uint_eq(out.model_hash, in.model_hash);
    free(v), free(back), free(blob);
}
END_TEST

START_TEST(noise_round_trip)
{
    apf_wire_info in = ginfo(2, 37), out;
    in.kind = APF_WIRE_NOISE;
    size_t count = 2 * 37 * 37 * 3;
    int8_t *v = malloc(count), *back;
    for (size_t i = 0; i < count; i++)
        v[i] = (int8_t)((int)(i * 7 % 17) - 8);
    void *blob;
    size_t size;
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob, &size), APF_OK);
    ck_assert_int_eq(apf_wire_decode(blob, size, &out, &back), APF_OK);
    ck_assert_mem_eq(v, back, count);
    ck_assert_int_eq(out.kind, APF_WIRE_NOISE);
    free(blob);
    v[5] = 9; /* beyond eps */
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob, &size), APF_E_INVALID);
    free(v), free(back);
}
END_TEST

START_TEST(encoder_validates)
{
    apf_wire_info in = ginfo(1, 16);
    int8_t v[16 * 16 * 3] = {0};
    void *blob;
    size_t size;
    v[3] = 2;
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob, &size), APF_E_INVALID);
    v[3] = 0;
    in.n = 0;
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob, &size), APF_E_LIMIT);
    in = ginfo(1, 16);
    in.eps = NAN;
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob, &size), APF_E_INVALID);
    ck_assert_int_eq(apf_wire_encode(NULL, v, &blob, &size), APF_E_INVALID);
}
END_TEST

START_TEST(malformed_blobs_rejected)
{
    apf_wire_info in = ginfo(2, 20), out;
    size_t count = 2 * 20 * 20 * 3;
    int8_t *v = ternary(count, 9), *back = (int8_t *)0x1;
    void *blob0;
    size_t size;
    ck_assert_int_eq(apf_wire_encode(&in, v, &blob0, &size), APF_OK);
    uint8_t *good = blob0, *b = malloc(size + 16);
#define RESET() memcpy(b, good, size)
    /* truncations at every length */
    for (size_t cut = 0; cut < size; cut += (cut < 60 ? 1 : 37)) {
        apf_status st = apf_wire_decode(good, cut, &out, &back);
        ck_assert_msg(st == APF_E_FORMAT, "cut %zu: %d", cut, st);
        ck_assert_ptr_null(back);
    }
    /* trailing bytes */
    RESET();
    b[size] = 0;
    ck_assert_int_eq(apf_wire_decode(b, size + 1, &out, &back), APF_E_FORMAT);
    /* wrong magic, version */
    RESET();
    b[0] = 'X';
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    RESET();
    b[4] = APF_WIRE_VERSION + 1;
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_UNSUPPORTED);
    RESET();
    b[4] = 0;
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_UNSUPPORTED);
    /* any flipped byte after the version is caught by the checksum */
    for (size_t k = 6; k < size; k += 7) {
        RESET();
        b[k] ^= 0x40;
        ck_assert_msg(apf_wire_decode(b, size, &out, &back) == APF_E_CHECKSUM, "flip at %zu", k);
    }
    /* consistent checksums but hostile headers */
    RESET();
    put32(b + 12, 1000000); /* faces over the limit */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_LIMIT);
    RESET();
    put32(b + 16, 0x7fffffff);
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_LIMIT);
    RESET();
    put32(b + 24, 4); /* channels */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    RESET();
    float e = NAN;
    memcpy(b + 28, &e, 4);
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    RESET();
    b[7] = 1; /* int8 encoding on a gradient */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    RESET();
    b[4] = 1; /* a context-coded payload labelled version 1 */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    /* the coded stream cut short or followed by extra bytes (sizes and CRC
     * made consistent, so only the coder itself can notice) */
    for (size_t cut = 1; cut <= 8; cut++) {
        memcpy(b, good, size - cut);
        put32(b + 44, (uint32_t)(size - cut - 52));
        fix_crc(b, size - cut);
        ck_assert_msg(apf_wire_decode(b, size - cut, &out, &back) == APF_E_FORMAT, "cut %zu", cut);
    }
    RESET();
    b[size] = 0x5a, b[size + 1] = 0;
    put32(b + 44, (uint32_t)(size + 2 - 52));
    fix_crc(b, size + 2);
    ck_assert_int_eq(apf_wire_decode(b, size + 2, &out, &back), APF_E_FORMAT);
    /* a tiny stream declaring the largest shape is refused up front */
    RESET();
    put32(b + 12, APF_WIRE_MAX_FACES);
    put32(b + 16, APF_WIRE_MAX_SIDE);
    put32(b + 20, APF_WIRE_MAX_SIDE);
    put32(b + 40, (uint32_t)APF_WIRE_MAX_FACES * APF_WIRE_MAX_SIDE * APF_WIRE_MAX_SIDE * 3);
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(apf_last_error(), "cannot hold"));
    RESET();
    b[52] = 1; /* a coded stream always starts with a zero byte */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    RESET();
    b[6] = 9; /* unknown kind */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    RESET();
    put32(b + 40, 5); /* raw size disagrees with the shape */
    fix_crc(b, size);
    ck_assert_int_eq(apf_wire_decode(b, size, &out, &back), APF_E_FORMAT);
    /* decompression bomb: declares the right size, inflates to far more */
    size_t rn = (count + 3) / 4;
    uint8_t *raw = calloc(rn * 64, 1);
    size_t bsize;
    uint8_t *bomb = craft(&in, raw, rn * 64, (uint32_t)rn, &bsize);
    ck_assert_int_eq(apf_wire_decode(bomb, bsize, &out, &back), APF_E_FORMAT);
    free(bomb);
    /* short payload */
    bomb = craft(&in, raw, rn - 1, (uint32_t)rn, &bsize);
    ck_assert_int_eq(apf_wire_decode(bomb, bsize, &out, &back), APF_E_FORMAT);
    free(bomb);
    /* invalid ternary code 3 */
    raw[10] = 0x0c;
    bomb = craft(&in, raw, rn, (uint32_t)rn, &bsize);
    ck_assert_int_eq(apf_wire_decode(bomb, bsize, &out, &back), APF_E_FORMAT);
    free(bomb);
    /* noise values outside [-eps, eps] */
    apf_wire_info ni = in;
    ni.kind = APF_WIRE_NOISE;
    uint8_t *nraw = calloc(count, 1);
    nraw[17] = (uint8_t)(int8_t)-9;
    bomb = craft(&ni, nraw, count, (uint32_t)count, &bsize);
    bomb[7] = 1;
    fix_crc(bomb, bsize);
    ck_assert_int_eq(apf_wire_decode(bomb, bsize, &out, &back), APF_E_FORMAT);
    free(bomb);
    ck_assert_int_eq(apf_wire_decode(NULL, 10, &out, &back), APF_E_INVALID);
    ck_assert_ptr_null(back);
    free(raw), free(nraw), free(b), free(good), free(v);
}
END_TEST

START_TEST(version1_gradients_still_decode)
{
    apf_wire_info in = ginfo(1, 4), out;
    size_t count = 4 * 4 * 3;
    int8_t *v = ternary(count, 77), *back;
    uint8_t raw[12] = {0};
    for (size_t i = 0; i < count; i++)
        raw[i / 4] |= (uint8_t)((v[i] == 0 ? 0 : v[i] > 0 ? 1 : 2) << (2 * (i % 4)));
    size_t bsize;
    uint8_t *b = craft(&in, raw, sizeof raw, sizeof raw, &bsize);
    ck_assert_int_eq(apf_wire_decode(b, bsize, &out, &back), APF_OK);
    ck_assert_mem_eq(v, back, count);
    ck_assert_int_eq(out.n, 1);
    free(b), free(back), free(v);
}
END_TEST

/* Skewed and structured maps drive the range coder to extreme
 * probabilities and long carry chains; every one must come back exactly,
 * and predictable maps must cost far less than 2 bits per value. */
START_TEST(coder_extremes_round_trip)
{
    apf_wire_info in = ginfo(2, 64);
    size_t count = 2 * 64 * 64 * 3;
    int8_t *v = malloc(count);
    for (int fill = -1; fill <= 1; fill++) {
        memset(v, fill, count);
        size_t size = round_trip(&in, v);
        ck_assert_msg(size < 52 + 200, "constant map %d took %zu bytes", fill, size);
    }
    /* smooth sign regions, same sign across channels: context-predictable */
    for (size_t i = 0; i < count; i++) {
        size_t px = i / 3, x = px % 64, y = (px / 64) % 64;
        v[i] = (int8_t)(((x / 9 + y / 7) % 2) ? 1 : -1);
    }
    size_t smooth = round_trip(&in, v);
    ck_assert_msg(smooth < 52 + count / 16, "smooth map took %zu bytes", smooth);
    /* rare nonzeros, rare zeros */
    unsigned seed = 3;
    for (int mode = 0; mode < 2; mode++) {
        for (size_t i = 0; i < count; i++) {
            seed = seed * 1664525u + 1013904223u;
            int rare = (seed >> 16) % 1000 < 3;
            v[i] = (int8_t)(mode == 0 ? (rare ? ((seed >> 8) & 1 ? 1 : -1) : 0)
                                      : (rare ? 0 : ((seed >> 8) & 1 ? 1 : -1)));
        }
        round_trip(&in, v);
    }
    /* a 1x1 face and a 1-pixel-wide strip */
    apf_wire_info tiny = ginfo(1, 1);
    int8_t t3[3] = {1, -1, 0};
    round_trip(&tiny, t3);
    tiny.height = 50;
    round_trip(&tiny, v);
    free(v);
}
END_TEST

START_TEST(padding_bits_checked)
{
    apf_wire_info in = ginfo(1, 1), out;
    in.height = 1, in.width = 1; /* 3 values: the last byte has 2 padding bits */
    int8_t *back;
    uint8_t raw[1] = {0x01 | 0x40}; /* a value in the padding slot */
    size_t bsize;
    uint8_t *b = craft(&in, raw, 1, 1, &bsize);
    ck_assert_int_eq(apf_wire_decode(b, bsize, &out, &back), APF_E_FORMAT);
    free(b);
}
END_TEST

Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *t = tcase_create("wire");
    tcase_add_test(t, gradient_round_trip);
    tcase_add_test(t, noise_round_trip);
    tcase_add_test(t, encoder_validates);
    tcase_add_test(t, malformed_blobs_rejected);
    tcase_add_test(t, padding_bits_checked);
    tcase_add_test(t, version1_gradients_still_decode);
    tcase_add_test(t, coder_extremes_round_trip);
    suite_add_tcase(s, t);
    return s;
}
