/* Wire blobs: round trips, and every malformed-blob case rejected. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

/* A blob whose payload is arbitrary raw bytes, with consistent sizes and CRC. */
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
    *size = 52 + cn;
    fix_crc(b, *size);
    return b;
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
    b[4] = 2;
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
    suite_add_tcase(s, t);
    return s;
}
