/* Gradient / noise blobs (docs/wire-format.md). The decoder treats the bytes
 * as hostile: every header field is range-checked before anything is
 * allocated, and inflation is capped at the size the shape implies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "apf/apf_wire.h"
#include "internal.h"
#include "trit_coder.h"
#include "wire_internal.h"

#define MAGIC "APFW"
/* ENC_TERNARY2 is version 1's gradient encoding; it is still decoded. */
enum { ENC_TERNARY2 = 0, ENC_INT8 = 1, ENC_TRIT_CTX = 2 };

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static apf_status check_info(const apf_wire_info *in, size_t *count)
{
    if (in->kind != APF_WIRE_GRADIENT && in->kind != APF_WIRE_NOISE)
        return apf_fail(APF_E_FORMAT, "wire: unknown kind %d", (int)in->kind);
    if (in->n < 1 || in->n > APF_WIRE_MAX_FACES || in->height < 1 || in->width < 1 ||
        in->height > APF_WIRE_MAX_SIDE || in->width > APF_WIRE_MAX_SIDE)
        return apf_fail(APF_E_LIMIT, "wire: shape %dx%dx%d over the limits", in->n, in->height,
                        in->width);
    if (in->channels != 3)
        return apf_fail(APF_E_FORMAT, "wire: %d channels (must be 3)", in->channels);
    if (!(in->eps > 0 && in->eps <= APF_EPS_MAX))
        return apf_fail(APF_E_FORMAT, "wire: eps %g outside (0, %g]", in->eps, APF_EPS_MAX);
    if (in->algorithm < 0 || in->algorithm > 255)
        return apf_fail(APF_E_FORMAT, "wire: algorithm %d", in->algorithm);
    *count = (size_t)in->n * in->height * in->width * 3;
    return APF_OK;
}

/* The "raw size" header field: bytes after inflation for the zlib
 * encodings, the number of values for the context coder. */
static size_t raw_size(int enc, size_t count)
{
    return enc == ENC_TERNARY2 ? (count + 3) / 4 : count;
}

/* zlib payload of noise: one signed byte per value. */
static apf_status deflate_noise(const int8_t *values, size_t count, uint8_t **out, size_t *out_size)
{
    uLongf cn = compressBound((uLong)count);
    uint8_t *z = malloc(cn);
    /* Noise is encoded on the server per request, where level 9 costs
     * several times level 6's time for ~4% fewer bytes. */
    if (!z || compress2(z, &cn, (const Bytef *)values, (uLong)count, 6) != Z_OK) {
        free(z);
        return apf_fail(APF_E_NOMEM, "wire: compression failed");
    }
    *out = z;
    *out_size = cn;
    return APF_OK;
}

apf_status apf_wire_encode(const apf_wire_info *info, const int8_t *values, void **blob,
                           size_t *size)
{
    if (!info || !values || !blob || !size)
        return apf_fail(APF_E_INVALID, "wire: NULL argument");
    size_t count;
    apf_status st = check_info(info, &count);
    if (st)
        return st == APF_E_FORMAT ? apf_fail(APF_E_INVALID, "%s", apf_last_error()) : st;
    int lim = info->kind == APF_WIRE_GRADIENT ? 1 : (int)lroundf(info->eps);
    for (size_t i = 0; i < count; i++)
        if (values[i] < -lim || values[i] > lim)
            return apf_fail(APF_E_INVALID, "wire: value %d at %zu outside [-%d, %d]", values[i], i,
                            lim, lim);
    /* Gradients leave the device, where bytes count: context-coded. */
    int enc = info->kind == APF_WIRE_GRADIENT ? ENC_TRIT_CTX : ENC_INT8;
    uint8_t *payload = NULL;
    size_t cn = 0;
    st = enc == ENC_TRIT_CTX
             ? trit_encode(values, info->n, info->height, info->width, &payload, &cn)
             : deflate_noise(values, count, &payload, &cn);
    if (st)
        return st;
    uint8_t *out = malloc(APF_WIRE_HEADER_SIZE + cn);
    if (!out) {
        free(payload);
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    }
    memcpy(out + APF_WIRE_HEADER_SIZE, payload, cn);
    free(payload);
    size_t rn = raw_size(enc, count);
    uint8_t *h = out;
    memset(h, 0, APF_WIRE_HEADER_SIZE);
    memcpy(h, MAGIC, 4);
    put16(h + 4, APF_WIRE_VERSION);
    h[6] = (uint8_t)info->kind;
    h[7] = (uint8_t)enc;
    h[8] = (uint8_t)info->algorithm;
    put32(h + 12, (uint32_t)info->n);
    put32(h + 16, (uint32_t)info->height);
    put32(h + 20, (uint32_t)info->width);
    put32(h + 24, 3);
    memcpy(h + 28, &info->eps, 4);
    put32(h + 32, (uint32_t)info->model_hash);
    put32(h + 36, (uint32_t)(info->model_hash >> 32));
    put32(h + 40, (uint32_t)rn);
    put32(h + 44, (uint32_t)cn);
    uint32_t crc = (uint32_t)crc32(0, h, 48);
    crc = (uint32_t)crc32(crc, out + APF_WIRE_HEADER_SIZE, cn);
    put32(h + 48, crc);
    *blob = out;
    *size = APF_WIRE_HEADER_SIZE + cn;
    return APF_OK;
}

/* Inflate exactly rn bytes; the output cap (rn + 1) makes a bomb cheap. */
static apf_status inflate_exact(const uint8_t *in, size_t cn, uint8_t *raw, size_t rn)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)cn;
    z.next_out = raw;
    z.avail_out = (uInt)(rn + 1);
    int zr = inflate(&z, Z_FINISH);
    size_t produced = rn + 1 - z.avail_out;
    int leftover = z.avail_in != 0;
    inflateEnd(&z);
    if (zr != Z_STREAM_END || produced != rn || leftover)
        return apf_fail(APF_E_FORMAT, "wire: payload is corrupt, truncated or larger than declared");
    return APF_OK;
}

/* Version 1 gradients and all noise: zlib, then unpack and range-check. */
static apf_status decode_zlib(const uint8_t *in, size_t cn, int enc, size_t count, float eps,
                              int8_t *v)
{
    size_t rn = raw_size(enc, count);
    uint8_t *raw = malloc(rn + 1); /* one spare byte to detect over-long output */
    if (!raw)
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    apf_status st = inflate_exact(in, cn, raw, rn);
    int lim = (int)lroundf(eps);
    for (size_t i = 0; !st && i < count; i++) {
        if (enc == ENC_TERNARY2) {
            int code = (raw[i / 4] >> (2 * (i % 4))) & 3;
            if (code == 3)
                st = apf_fail(APF_E_FORMAT, "wire: invalid ternary code at %zu", i);
            v[i] = (int8_t)(code == 0 ? 0 : code == 1 ? 1 : -1);
        } else {
            v[i] = (int8_t)raw[i];
            if (v[i] < -lim || v[i] > lim)
                st = apf_fail(APF_E_FORMAT, "wire: noise %d at %zu outside [-%d, %d]", v[i], i, lim, lim);
        }
    }
    /* unused bits of the last ternary byte must be zero */
    if (!st && enc == ENC_TERNARY2 && count % 4 && (raw[rn - 1] >> (2 * (count % 4))))
        st = apf_fail(APF_E_FORMAT, "wire: padding bits are not zero");
    free(raw);
    return st;
}

apf_status wire_read_header(const void *blob, size_t size, apf_wire_info *info)
{
    if (!blob || !info)
        return apf_fail(APF_E_INVALID, "wire: NULL argument");
    const uint8_t *h = blob;
    if (size < APF_WIRE_HEADER_SIZE)
        return apf_fail(APF_E_FORMAT, "wire: %zu bytes is shorter than a header", size);
    if (memcmp(h, MAGIC, 4))
        return apf_fail(APF_E_FORMAT, "wire: bad magic");
    int version = h[4] | h[5] << 8;
    if (version < APF_WIRE_MIN_VERSION || version > APF_WIRE_VERSION)
        return apf_fail(APF_E_UNSUPPORTED, "wire: version %d (this library speaks %d..%d)", version,
                        APF_WIRE_MIN_VERSION, APF_WIRE_VERSION);
    uint32_t rn = get32(h + 40), cn = get32(h + 44);
    if ((size_t)cn != size - APF_WIRE_HEADER_SIZE)
        return apf_fail(APF_E_FORMAT, "wire: %zu payload bytes, header says %u (truncated or trailing data)",
                        size - APF_WIRE_HEADER_SIZE, cn);
    uint32_t crc = (uint32_t)crc32(0, h, 48);
    crc = (uint32_t)crc32(crc, h + APF_WIRE_HEADER_SIZE, cn);
    if (APF_CHECKSUM_BAD(crc == get32(h + 48)))
        return apf_fail(APF_E_CHECKSUM, "wire: checksum mismatch");
    if (h[9] || h[10] || h[11])
        return apf_fail(APF_E_FORMAT, "wire: reserved bytes are not zero");
    memset(info, 0, sizeof *info);
    info->kind = (apf_wire_kind)h[6];
    info->algorithm = h[8];
    info->n = (int)get32(h + 12);
    info->height = (int)get32(h + 16);
    info->width = (int)get32(h + 20);
    info->channels = (int)get32(h + 24);
    memcpy(&info->eps, h + 28, 4);
    info->model_hash = (uint64_t)get32(h + 32) | (uint64_t)get32(h + 36) << 32;
    if (get32(h + 12) > APF_WIRE_MAX_FACES || get32(h + 16) > APF_WIRE_MAX_SIDE ||
        get32(h + 20) > APF_WIRE_MAX_SIDE)
        return apf_fail(APF_E_LIMIT, "wire: shape over the limits");
    size_t count;
    apf_status st = check_info(info, &count);
    if (st)
        return st;
    /* version 1 gradients are 2-bit zlib; version 2 gradients context-coded */
    int enc = info->kind == APF_WIRE_NOISE ? ENC_INT8 : version == 1 ? ENC_TERNARY2 : ENC_TRIT_CTX;
    if (h[7] != enc)
        return apf_fail(APF_E_FORMAT, "wire: encoding %d does not fit kind %d in version %d", h[7],
                        (int)info->kind, version);
    if (rn != raw_size(enc, count))
        return apf_fail(APF_E_FORMAT, "wire: declared raw size %u, shape needs %zu", rn,
                        raw_size(enc, count));
    return APF_OK;
}

apf_status apf_wire_decode(const void *blob, size_t size, apf_wire_info *info, int8_t **values)
{
    if (!blob || !info || !values)
        return apf_fail(APF_E_INVALID, "wire: NULL argument");
    *values = NULL;
    apf_status st = wire_read_header(blob, size, info);
    return st ? st : wire_read_values(blob, size, info, values);
}

apf_status wire_read_values(const void *blob, size_t size, const apf_wire_info *info,
                            int8_t **values)
{
    const uint8_t *h = blob;
    size_t count = (size_t)info->n * info->height * info->width * 3;
    int8_t *v = malloc(count);
    if (!v)
        return apf_fail(APF_E_NOMEM, "wire: out of memory");
    const uint8_t *payload = h + APF_WIRE_HEADER_SIZE;
    size_t cn = size - APF_WIRE_HEADER_SIZE;
    apf_status st = h[7] == ENC_TRIT_CTX
                        ? trit_decode(payload, cn, info->n, info->height, info->width, v)
                        : decode_zlib(payload, cn, h[7], count, info->eps, v);
    if (st) {
        free(v);
        return st;
    }
    *values = v;
    return APF_OK;
}
