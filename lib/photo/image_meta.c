/* EXIF and ICC kept across load and save (image_meta.h). Everything here
 * parses bytes from user files: every offset is bounds-checked and any
 * malformed block is dropped rather than trusted. */
#include "image_meta.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/internal.h"

void image_meta_clear(image_meta *m)
{
    free(m->exif);
    free(m->icc);
    free(m->alpha);
    memset(m, 0, sizeof *m);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = n ? malloc(n) : NULL;
    if (d)
        memcpy(d, p, n);
    return d;
}

apf_status image_meta_copy(image_meta *dst, const image_meta *src)
{
    image_meta t = *src;
    t.exif = t.icc = t.alpha = NULL;
    if ((src->exif_size && !(t.exif = dup_bytes(src->exif, src->exif_size))) ||
        (src->icc_size && !(t.icc = dup_bytes(src->icc, src->icc_size))) ||
        (src->alpha_size && !(t.alpha = dup_bytes(src->alpha, src->alpha_size)))) {
        free(t.exif), free(t.icc), free(t.alpha);
        return apf_fail(APF_E_NOMEM, "image: out of memory for metadata");
    }
    image_meta_clear(dst);
    *dst = t;
    return APF_OK;
}

/* ---- EXIF ---- */

static unsigned rd16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)rd16(p, 1) | (uint32_t)rd16(p + 2, 1) << 16
              : (uint32_t)rd16(p, 0) << 16 | rd16(p + 2, 0);
}

/* Offset of IFD0's orientation value (a SHORT) in TIFF bytes, and their
 * byte order; 0 when absent, -1 when the header or IFD0 is malformed. */
static long orientation_offset(const uint8_t *d, size_t n, int *le)
{
    if (n < 8)
        return -1;
    if (!memcmp(d, "II*\0", 4))
        *le = 1;
    else if (!memcmp(d, "MM\0*", 4))
        *le = 0;
    else
        return -1;
    uint32_t ifd = rd32(d + 4, *le);
    if (ifd < 8 || ifd > n - 2)
        return -1;
    unsigned count = rd16(d + ifd, *le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + 12 * (size_t)i;
        if (e + 12 > n)
            return -1;
        if (rd16(d + e, *le) == 0x0112 && rd16(d + e + 2, *le) == 3)
            return (long)(e + 8);
    }
    return 0;
}

int image_meta_tiff_orientation(const uint8_t *tiff, size_t n)
{
    int le = 1;
    long off = orientation_offset(tiff, n, &le);
    if (off <= 0)
        return 1;
    unsigned v = rd16(tiff + off, le);
    return v >= 1 && v <= 8 ? (int)v : 1;
}

/* Rewrite the orientation to 1 (top-left) in place: libapf applies the
 * rotation to the pixels once, so a viewer must not apply it again.
 * Returns 0 if the TIFF header or IFD0 is malformed. */
static int reset_orientation(uint8_t *d, size_t n)
{
    int le = 1;
    long off = orientation_offset(d, n, &le);
    if (off > 0) {
        d[off] = le ? 1 : 0;
        d[off + 1] = le ? 0 : 1;
    }
    return off >= 0;
}

void image_meta_set_exif_tiff(image_meta *m, const uint8_t *tiff, size_t n)
{
    if (!tiff || n < 8 || n > IMAGE_META_MAX_EXIF)
        return;
    uint8_t *copy = dup_bytes(tiff, n);
    if (!copy)
        return;
    if (!reset_orientation(copy, n)) {
        free(copy);
        return;
    }
    free(m->exif);
    m->exif = copy;
    m->exif_size = n;
}

void image_meta_set_exif_app1(image_meta *m, const uint8_t *app1, size_t n)
{
    if (app1 && n > 6 && !memcmp(app1, "Exif\0\0", 6))
        image_meta_set_exif_tiff(m, app1 + 6, n - 6);
}

/* ---- ICC in JPEG: APP2 "ICC_PROFILE\0" seq count data ---- */

#define ICC_TAG "ICC_PROFILE"
#define ICC_HDR 14 /* tag + NUL + seq + count */

void image_meta_icc_from_app2(image_meta *m, const uint8_t **chunks, const size_t *sizes, int n)
{
    if (n <= 0 || n > 255)
        return;
    size_t total = 0;
    int count = -1;
    for (int i = 0; i < n; i++) {
        if (sizes[i] <= ICC_HDR || memcmp(chunks[i], ICC_TAG, 12))
            return;
        if (chunks[i][12] != i + 1 || (count >= 0 && chunks[i][13] != count))
            return; /* out of order or inconsistent: drop the profile */
        count = chunks[i][13];
        total += sizes[i] - ICC_HDR;
    }
    if (count != n || total > IMAGE_META_MAX_ICC)
        return;
    uint8_t *icc = malloc(total);
    if (!icc)
        return;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy(icc + off, chunks[i] + ICC_HDR, sizes[i] - ICC_HDR);
        off += sizes[i] - ICC_HDR;
    }
    free(m->icc);
    m->icc = icc;
    m->icc_size = total;
}

/* ---- PNG chunks ---- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* iCCP: name (1-79 bytes) NUL method(0) zlib-stream. */
static void icc_from_iccp(image_meta *m, const uint8_t *d, size_t n)
{
    size_t name = 0;
    while (name < n && name < 80 && d[name])
        name++;
    if (name == 0 || name >= 80 || name + 2 >= n || d[name + 1] != 0)
        return;
    const uint8_t *z = d + name + 2;
    size_t zn = n - name - 2;
    uLongf cap = 1 << 16;
    for (;;) { /* grow until it fits, never past the limit */
        uint8_t *out = malloc(cap);
        if (!out)
            return;
        uLongf len = cap;
        int rc = uncompress(out, &len, z, (uLong)zn);
        if (rc == Z_OK) {
            free(m->icc);
            m->icc = out;
            m->icc_size = len;
            return;
        }
        free(out);
        if (rc != Z_BUF_ERROR || cap >= IMAGE_META_MAX_ICC)
            return;
        cap *= 4;
    }
}

void image_meta_from_png(image_meta *m, const uint8_t *png, size_t n)
{
    size_t p = 8;
    while (p + 12 <= n) {
        uint32_t len = be32(png + p);
        if (len > n - p - 12)
            return;
        const uint8_t *type = png + p + 4, *data = png + p + 8;
        if (!memcmp(type, "iCCP", 4))
            icc_from_iccp(m, data, len);
        else if (!memcmp(type, "eXIf", 4))
            image_meta_set_exif_tiff(m, data, len);
        else if (!memcmp(type, "IDAT", 4) || !memcmp(type, "IEND", 4))
            return; /* metadata we keep must precede the image data */
        p += 12 + (size_t)len;
    }
}

/* ---- writing ---- */

apf_status image_meta_jpeg_markers(const image_meta *m, uint8_t ***payloads, size_t **sizes,
                                   int **markers, int *count)
{
    enum { ICC_MAX_CHUNK = 65519 };
    int n_icc = m->icc_size ? (int)((m->icc_size + ICC_MAX_CHUNK - 1) / ICC_MAX_CHUNK) : 0;
    int n = (m->exif_size ? 1 : 0) + n_icc;
    *count = 0;
    *payloads = NULL;
    *sizes = NULL;
    *markers = NULL;
    if (n == 0)
        return APF_OK;
    if (n_icc > 255)
        n_icc = 0, n = m->exif_size ? 1 : 0; /* cannot be split into 255 chunks: drop it */
    uint8_t **pl = calloc((size_t)n, sizeof *pl);
    size_t *sz = calloc((size_t)n, sizeof *sz);
    int *mk = calloc((size_t)n, sizeof *mk);
    int k = 0;
    if (!pl || !sz || !mk)
        goto nomem;
    if (m->exif_size) {
        if (!(pl[k] = malloc(6 + m->exif_size)))
            goto nomem;
        memcpy(pl[k], "Exif\0\0", 6);
        memcpy(pl[k] + 6, m->exif, m->exif_size);
        sz[k] = 6 + m->exif_size;
        mk[k++] = 0xE1;
    }
    for (int i = 0; i < n_icc; i++) {
        size_t off = (size_t)i * ICC_MAX_CHUNK;
        size_t len = m->icc_size - off < ICC_MAX_CHUNK ? m->icc_size - off : ICC_MAX_CHUNK;
        if (!(pl[k] = malloc(ICC_HDR + len)))
            goto nomem;
        memcpy(pl[k], ICC_TAG, 12);
        pl[k][12] = (uint8_t)(i + 1);
        pl[k][13] = (uint8_t)n_icc;
        memcpy(pl[k] + ICC_HDR, m->icc + off, len);
        sz[k] = ICC_HDR + len;
        mk[k++] = 0xE2;
    }
    *payloads = pl;
    *sizes = sz;
    *markers = mk;
    *count = k;
    return APF_OK;
nomem:
    for (int i = 0; pl && i < n; i++)
        free(pl[i]);
    free(pl), free(sz), free(mk);
    return apf_fail(APF_E_NOMEM, "image: out of memory for metadata");
}

/* One PNG chunk: length, type, data, CRC over type + data. */
static uint8_t *put_chunk(uint8_t *o, const char *type, const uint8_t *a, size_t an,
                          const uint8_t *b, size_t bn)
{
    put_be32(o, (uint32_t)(an + bn));
    memcpy(o + 4, type, 4);
    if (an)
        memcpy(o + 8, a, an);
    if (bn)
        memcpy(o + 8 + an, b, bn);
    uLong crc = crc32(0L, o + 4, (uInt)(4 + an + bn));
    put_be32(o + 8 + an + bn, (uint32_t)crc);
    return o + 12 + an + bn;
}

apf_status image_meta_png_insert(const image_meta *m, uint8_t **png, size_t *size)
{
    if (!m->exif_size && !m->icc_size)
        return APF_OK;
    /* IHDR is always first: 8-byte signature + 25-byte chunk. */
    const size_t after_ihdr = 8 + 25;
    if (*size < after_ihdr || memcmp(*png + 12, "IHDR", 4))
        return apf_fail(APF_E_FORMAT, "png: encoder output has no IHDR");
    uint8_t *z = NULL;
    uLongf zn = 0;
    static const uint8_t iccp_name[] = "ICC profile\0"; /* name, NUL, then method 0 below */
    if (m->icc_size) {
        zn = compressBound((uLong)m->icc_size);
        if (!(z = malloc(zn + 1)))
            return apf_fail(APF_E_NOMEM, "png: out of memory for metadata");
        z[0] = 0; /* compression method: zlib */
        if (compress2(z + 1, &zn, m->icc, (uLong)m->icc_size, 9) != Z_OK) {
            free(z);
            return apf_fail(APF_E_NOMEM, "png: cannot compress the ICC profile");
        }
        zn += 1;
    }
    size_t extra = (m->icc_size ? 12 + 12 + zn : 0) + (m->exif_size ? 12 + m->exif_size : 0);
    uint8_t *out = malloc(*size + extra);
    if (!out) {
        free(z);
        return apf_fail(APF_E_NOMEM, "png: out of memory for metadata");
    }
    memcpy(out, *png, after_ihdr);
    uint8_t *o = out + after_ihdr;
    if (m->icc_size)
        o = put_chunk(o, "iCCP", iccp_name, 12, z, zn);
    if (m->exif_size)
        o = put_chunk(o, "eXIf", m->exif, m->exif_size, NULL, 0);
    memcpy(o, *png + after_ihdr, *size - after_ihdr);
    free(z);
    free(*png);
    *png = out;
    *size += extra;
    return APF_OK;
}
