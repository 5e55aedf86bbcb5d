/* Image handles and JPEG/PNG codecs. Decoders treat every byte as hostile:
 * libjpeg errors longjmp back here, libpng's simplified API reports errors as
 * values, EXIF is parsed with explicit bounds checks. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "exif_policy.h"
#include "image_meta.h"
#include "../core/internal.h"

#define MAX_PIXELS ((size_t)1 << 28) /* 268 Mpx: beyond any camera, below memory trouble */
#define MAX_FILE ((size_t)1 << 30)

struct apf_image {
    int w, h;
    uint8_t *px;
    image_meta meta; /* EXIF and ICC carried from the file to the saved copy */
};

static apf_status image_alloc(int w, int h, apf_image **out)
{
    if (w < 1 || h < 1 || w > APF_IMAGE_MAX_SIDE || h > APF_IMAGE_MAX_SIDE ||
        (size_t)w * h > MAX_PIXELS)
        return apf_fail(APF_E_LIMIT, "image: %dx%d outside 1..%d per side", w, h, APF_IMAGE_MAX_SIDE);
    apf_image *im = calloc(1, sizeof *im);
    if (!im || !(im->px = calloc((size_t)w * h, 3))) {
        free(im);
        return apf_fail(APF_E_NOMEM, "image: out of memory for %dx%d", w, h);
    }
    im->w = w;
    im->h = h;
    *out = im;
    return APF_OK;
}

apf_status apf_image_create(int width, int height, apf_image **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "image: out is NULL");
    *out = NULL;
    if (width < 1 || height < 1 || width > APF_IMAGE_MAX_SIDE || height > APF_IMAGE_MAX_SIDE)
        return apf_fail(APF_E_INVALID, "image: size %dx%d out of range", width, height);
    return image_alloc(width, height, out);
}

void apf_image_free(apf_image *img)
{
    if (img) {
        image_meta_clear(&img->meta);
        free(img->px);
        free(img);
    }
}

int apf_image_width(const apf_image *img) { return img ? img->w : 0; }
int apf_image_height(const apf_image *img) { return img ? img->h : 0; }
uint8_t *apf_image_pixels(apf_image *img) { return img ? img->px : NULL; }
const uint8_t *apf_image_pixels_const(const apf_image *img) { return img ? img->px : NULL; }

/* ---- EXIF orientation ---- */

/* Orientation (1..8) from an APP1 payload, or 1 when absent or malformed. */
static int exif_orientation(const uint8_t *d, size_t n)
{
    if (n < 14 || memcmp(d, "Exif\0\0", 6))
        return 1;
    return image_meta_tiff_orientation(d + 6, n - 6);
}

/* Apply an EXIF orientation so pixels come out upright. */
static apf_status orient(apf_image **io, int o)
{
    if (o == 1)
        return APF_OK;
    apf_image *in = *io, *out;
    int W = in->w, H = in->h, swap = o >= 5;
    apf_status st = image_alloc(swap ? H : W, swap ? W : H, &out);
    if (st)
        return st;
    for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;
            case 4: sx = x; sy = H - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = H - 1 - x; break;
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;
            default: sx = W - 1 - y; sy = x; break; /* 8 */
            }
            memcpy(out->px + ((size_t)y * out->w + x) * 3, in->px + ((size_t)sy * W + sx) * 3, 3);
        }
    out->meta = in->meta; /* move */
    memset(&in->meta, 0, sizeof in->meta);
    apf_image_free(in);
    *io = out;
    return APF_OK;
}

/* ---- JPEG ---- */

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
    int truncated; /* libjpeg hit the end of the data and padded the image */
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jmp, 1);
}

/* Warnings stay quiet, but data that ends early is remembered: libjpeg
 * would pad the rest of the image with grey and call it a success, and a
 * truncated photo must be an error, not a protected grey smear. It ends
 * early when the bytes run out (JWRN_JPEG_EOF) and also when a cut file
 * still ends with an end-of-image marker, met where entropy-coded data
 * should be (JWRN_HIT_MARKER, or JWRN_MUST_RESYNC at a restart marker). */
static void jerr_silent(j_common_ptr c, int level)
{
    int code = c->err->msg_code;
    if (level < 0 && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC))
        ((jerr *)c->err)->truncated = 1;
}

/* The IJG quality a JPEG was most likely written with: libjpeg scales the
 * standard luminance table (Annex K) by S = 5000/q (q < 50) or 200 - 2q,
 * so the ratio of the file's table to the standard one gives q back. */
static int estimate_quality(const struct jpeg_decompress_struct *ci)
{
    static const unsigned short std_luma_sum = 3708; /* sum of the Annex K luminance table */
    const JQUANT_TBL *q = ci->quant_tbl_ptrs[0];
    if (!q)
        return 0;
    unsigned long sum = 0;
    for (int i = 0; i < DCTSIZE2; i++)
        sum += q->quantval[i];
    double scale = 100.0 * sum / std_luma_sum; /* percent */
    int quality = scale <= 100 ? (int)lround((200 - scale) / 2) : (int)lround(5000 / scale);
    return quality < 1 ? 1 : quality > 100 ? 100 : quality;
}

/* CMYK scanline to RGB. Adobe's files (the usual CMYK JPEGs) store the
 * inks inverted, 255 = no ink; others store ink amounts. */
static void cmyk_to_rgb(const uint8_t *in, uint8_t *out, int w, int inverted)
{
    for (int x = 0; x < w; x++) {
        int c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
        if (!inverted)
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        out[3 * x] = (uint8_t)((c * k + 127) / 255);
        out[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
        out[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
    }
}

/* The header's size, refused before any pixel memory is taken. */
static apf_status over_limit(const char *what, unsigned w, unsigned h, uint64_t max_pixels)
{
    if (w > APF_IMAGE_MAX_SIDE || h > APF_IMAGE_MAX_SIDE)
        return apf_fail(APF_E_LIMIT, "%s: %ux%u is over the %d pixel side limit", what, w, h,
                        APF_IMAGE_MAX_SIDE);
    return apf_fail(APF_E_LIMIT, "%s: %ux%u is %.1f megapixels, over the limit of %.1f (raise it with "
                                 "apf_image_load_max, or apf protect --max-megapixels)",
                    what, w, h, (double)w * h / 1e6, (double)max_pixels / 1e6);
}

static apf_status decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, apf_image **out)
{
    struct jpeg_decompress_struct ci;
    jerr e;
    apf_image *volatile im = NULL;
    uint8_t *volatile line = NULL; /* a CMYK scanline */
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    e.mgr.emit_message = jerr_silent;
    e.truncated = 0;
    if (setjmp(e.jmp)) {
        jpeg_destroy_decompress(&ci);
        apf_image_free(im);
        free(line);
        return apf_fail(APF_E_FORMAT, "jpeg: %s", e.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, data, (unsigned long)size);
    jpeg_save_markers(&ci, JPEG_APP0 + 1, 0xffff);
    jpeg_save_markers(&ci, JPEG_APP0 + 2, 0xffff);
    jpeg_read_header(&ci, TRUE);
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && (orientation = exif_orientation(m->data, m->data_length)) != 1)
            break;
    /* CMYK (and YCCK) files: libjpeg gives CMYK, converted here */
    int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    if (ci.image_width > APF_IMAGE_MAX_SIDE || ci.image_height > APF_IMAGE_MAX_SIDE ||
        (uint64_t)ci.image_width * ci.image_height > max_pixels) {
        jpeg_destroy_decompress(&ci);
        return over_limit("jpeg", ci.image_width, ci.image_height, max_pixels);
    }
    jpeg_start_decompress(&ci);
    apf_image *tmp;
    apf_status st = image_alloc((int)ci.output_width, (int)ci.output_height, &tmp);
    if (st) {
        jpeg_destroy_decompress(&ci);
        return st;
    }
    im = tmp;
    im->meta.format = APF_IMAGE_JPEG;
    im->meta.jpeg_quality = estimate_quality(&ci);
    im->meta.jpeg_subsampled = ci.num_components == 3 &&
                               (ci.comp_info[0].h_samp_factor > ci.comp_info[1].h_samp_factor ||
                                ci.comp_info[0].v_samp_factor > ci.comp_info[1].v_samp_factor);
    {
        const uint8_t *icc[255];
        size_t icc_n[255];
        int n_icc = 0, icc_bad = 0;
        for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next) {
            if (m->marker == JPEG_APP0 + 1 && !im->meta.exif)
                image_meta_set_exif_app1(&im->meta, m->data, m->data_length);
            else if (m->marker == JPEG_APP0 + 2 && m->data_length > 12 &&
                     !memcmp(m->data, "ICC_PROFILE", 12)) {
                if (n_icc < 255) {
                    icc[n_icc] = m->data;
                    icc_n[n_icc++] = m->data_length;
                } else {
                    icc_bad = 1;
                }
            }
        }
        if (!icc_bad && !cmyk) /* a CMYK profile does not describe the RGB pixels */
            image_meta_icc_from_app2(&im->meta, icc, icc_n, n_icc);
    }
    line = cmyk ? malloc((size_t)im->w * 4) : NULL;
    if (cmyk && !line) {
        jpeg_destroy_decompress(&ci);
        apf_image_free(im);
        return apf_fail(APF_E_NOMEM, "jpeg: out of memory");
    }
    while (ci.output_scanline < ci.output_height) {
        uint8_t *dst = im->px + (size_t)ci.output_scanline * im->w * 3;
        JSAMPROW row = cmyk ? line : dst;
        if (jpeg_read_scanlines(&ci, &row, 1) == 1 && cmyk)
            cmyk_to_rgb(line, dst, im->w, ci.saw_Adobe_marker);
    }
    free(line);
    line = NULL;
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    if (e.truncated) {
        apf_image_free(im);
        return apf_fail(APF_E_FORMAT, "jpeg: truncated (data ends before the image does)");
    }
    tmp = im;
    if ((st = orient(&tmp, orientation))) {
        apf_image_free(tmp);
        return st;
    }
    *out = tmp;
    return APF_OK;
}

/* The metadata written with img's pixels: its own, with the EXIF passed
 * through the save policy (thumbnail made from these pixels). */
static apf_status meta_for_save(const apf_image *img, image_meta *out)
{
    *out = img->meta;
    out->exif = NULL;
    out->exif_size = 0;
    return exif_policy_for_save(img->meta.exif, img->meta.exif_size, img, &out->exif,
                                &out->exif_size);
}

static apf_status encode_jpeg(const apf_image *img, int quality, int subsample, void **data, size_t *size);

apf_status apf_image_encode_jpeg(const apf_image *img, int quality, void **data, size_t *size)
{
    if (!img || !data || !size || quality < 0 || quality > 100)
        return apf_fail(APF_E_INVALID, "jpeg: bad arguments");
    /* 0: as the source JPEG was written (its estimated quality and chroma
     * resolution), else 95 with full chroma; a given quality of 90 or more
     * keeps full chroma (subsampling blurs the noise in the colour channels) */
    if (quality == 0)
        return encode_jpeg(img, img->meta.jpeg_quality > 0 ? img->meta.jpeg_quality : 95,
                           img->meta.jpeg_quality > 0 && img->meta.jpeg_subsampled, data, size);
    return encode_jpeg(img, quality, quality < 90, data, size);
}

static apf_status encode_jpeg(const apf_image *img, int quality, int subsample, void **data, size_t *size)
{
    struct jpeg_compress_struct ci;
    jerr e;
    unsigned char *volatile buf = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    if (setjmp(e.jmp)) {
        jpeg_destroy_compress(&ci);
        free(buf);
        return apf_fail(APF_E_IO, "jpeg: %s", e.msg);
    }
    jpeg_create_compress(&ci);
    unsigned char *b = NULL;
    jpeg_mem_dest(&ci, &b, &len);
    ci.image_width = (JDIMENSION)img->w;
    ci.image_height = (JDIMENSION)img->h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    if (!subsample)
        for (int k = 0; k < 3; k++)
            ci.comp_info[k].h_samp_factor = ci.comp_info[k].v_samp_factor = 1;
    uint8_t **meta_pl = NULL;
    size_t *meta_sz = NULL;
    int *meta_mk = NULL, meta_n = 0;
    image_meta meta;
    apf_status mst = meta_for_save(img, &meta);
    if (!mst)
        mst = image_meta_jpeg_markers(&meta, &meta_pl, &meta_sz, &meta_mk, &meta_n);
    free(meta.exif);
    if (mst) {
        jpeg_destroy_compress(&ci);
        free(b);
        return mst;
    }
    jpeg_start_compress(&ci, TRUE);
    for (int k = 0; k < meta_n; k++) {
        jpeg_write_marker(&ci, meta_mk[k], meta_pl[k], (unsigned)meta_sz[k]);
        free(meta_pl[k]);
    }
    free(meta_pl), free(meta_sz), free(meta_mk);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = img->px + (size_t)ci.next_scanline * img->w * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    buf = b;
    jpeg_destroy_compress(&ci);
    *data = buf;
    *size = len;
    return APF_OK;
}

/* ---- PNG ---- */

static apf_status decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, apf_image **out)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, data, size))
        return apf_fail(APF_E_FORMAT, "png: %s", pi.message);
    if (pi.width > APF_IMAGE_MAX_SIDE || pi.height > APF_IMAGE_MAX_SIDE ||
        (uint64_t)pi.width * pi.height > max_pixels) {
        png_image_free(&pi);
        return over_limit("png", pi.width, pi.height, max_pixels);
    }
    /* with alpha: read RGBA, keep the colour and the alpha plane apart (the
     * alpha is written back on save; faces are protected in the colour) */
    int has_alpha = (pi.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    pi.format = has_alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    apf_image *im;
    apf_status st = image_alloc((int)pi.width, (int)pi.height, &im);
    if (st) {
        png_image_free(&pi);
        return st;
    }
    size_t npx = (size_t)pi.width * pi.height;
    uint8_t *rgba = has_alpha ? malloc(npx * 4) : NULL;
    if (has_alpha && (!rgba || !(im->meta.alpha = malloc(npx)))) {
        png_image_free(&pi);
        free(rgba);
        apf_image_free(im);
        return apf_fail(APF_E_NOMEM, "png: out of memory");
    }
    if (!png_image_finish_read(&pi, NULL, has_alpha ? rgba : im->px, 0, NULL)) {
        free(rgba);
        apf_image_free(im);
        return apf_fail(APF_E_FORMAT, "png: %s", pi.message);
    }
    for (size_t i = 0; has_alpha && i < npx; i++) {
        memcpy(im->px + 3 * i, rgba + 4 * i, 3);
        im->meta.alpha[i] = rgba[4 * i + 3];
    }
    free(rgba);
    im->meta.alpha_size = has_alpha ? npx : 0;
    im->meta.format = APF_IMAGE_PNG;
    image_meta_from_png(&im->meta, data, size);
    *out = im;
    return APF_OK;
}

static apf_status encode_png(const apf_image *img, void **data, size_t *size)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)img->w;
    pi.height = (png_uint_32)img->h;
    size_t npx = (size_t)img->w * img->h;
    int has_alpha = img->meta.alpha && img->meta.alpha_size == npx;
    pi.format = has_alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    const uint8_t *src = img->px;
    uint8_t *rgba = NULL;
    if (has_alpha) {
        if (!(rgba = malloc(npx * 4)))
            return apf_fail(APF_E_NOMEM, "png: out of memory");
        for (size_t i = 0; i < npx; i++) {
            memcpy(rgba + 4 * i, img->px + 3 * i, 3);
            rgba[4 * i + 3] = img->meta.alpha[i];
        }
        src = rgba;
    }
    png_alloc_size_t len = 0;
    void *buf = NULL;
    if (!png_image_write_to_memory(&pi, NULL, &len, 0, src, 0, NULL) || !(buf = malloc(len)) ||
        !png_image_write_to_memory(&pi, buf, &len, 0, src, 0, NULL)) {
        free(buf);
        free(rgba);
        return buf || len == 0 ? apf_fail(APF_E_IO, "png: %s", pi.message)
                               : apf_fail(APF_E_NOMEM, "png: out of memory");
    }
    free(rgba);
    uint8_t *png = buf;
    size_t png_size = len;
    image_meta meta;
    apf_status st = meta_for_save(img, &meta);
    if (!st)
        st = image_meta_png_insert(&meta, &png, &png_size);
    free(meta.exif);
    if (st) {
        free(png);
        return st;
    }
    *data = png;
    *size = png_size;
    return APF_OK;
}

/* ---- public load/save ---- */

apf_status apf_image_decode(const void *data, size_t size, apf_image **out)
{
    return apf_image_decode_max(data, size, APF_IMAGE_DEFAULT_MAX_PIXELS, out);
}

apf_status apf_image_decode_max(const void *data, size_t size, uint64_t max_pixels, apf_image **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "image: out is NULL");
    *out = NULL;
    if (!data)
        return apf_fail(APF_E_INVALID, "image: data is NULL");
    const uint8_t *d = data;
    if (size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return decode_jpeg(d, size, max_pixels, out);
    if (size >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        return decode_png(d, size, max_pixels, out);
    return apf_fail(APF_E_FORMAT, "image: neither JPEG nor PNG (%zu bytes)", size);
}

apf_status apf_image_load(const char *path, apf_image **out)
{
    return apf_image_load_max(path, APF_IMAGE_DEFAULT_MAX_PIXELS, out);
}

apf_status apf_image_load_max(const char *path, uint64_t max_pixels, apf_image **out)
{
    if (!path || !out)
        return apf_fail(APF_E_INVALID, "image: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    apf_status st = apf_read_file(path, MAX_FILE, "image", &buf, &size);
    if (st)
        return st;
    st = apf_image_decode_max(buf, size, max_pixels, out);
    free(buf);
    if (st && st != APF_E_IO) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", apf_last_error());
        apf_fail(st, "%s: %s", path, msg);
    }
    return st;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

/* Write bytes to a temporary file beside path, then link it to path. link()
 * fails when path exists, so an existing file (the user's original) is never
 * replaced, and no partial file ever carries the final name. */
static apf_status write_new_file(const char *path, const void *data, size_t size)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return apf_fail(APF_E_NOMEM, "save: out of memory");
    /* like mkstemp, but created with 0666 so the user's umask decides the
     * final permissions (mkstemp would leave the photo at 0600) */
    int fd = -1;
    static _Thread_local unsigned seq;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, n + 16, "%s.tmp-%06x", path, ((unsigned)getpid() * 2654435761u + seq++ * 40503u) & 0xffffff);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        apf_status st = apf_fail(APF_E_IO, "save: cannot create a file beside %s: %s", path,
                                 strerror(errno));
        free(tmp);
        return st;
    }
    const uint8_t *p = data;
    size_t left = size;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    int ok = left == 0 && fsync(fd) == 0;
    int err = errno;
    ok = (close(fd) == 0) && ok;
    apf_status st = APF_OK;
    if (!ok) {
        st = apf_fail(APF_E_IO, "save: writing %s failed: %s", path, strerror(err));
    } else if (link(tmp, path) != 0) {
        st = errno == EEXIST ? apf_fail(APF_E_EXISTS, "save: %s exists; refusing to overwrite", path)
                             : apf_fail(APF_E_IO, "save: cannot create %s: %s", path, strerror(errno));
    }
    unlink(tmp);
    free(tmp);
    return st;
}

apf_status apf_image_save(const apf_image *img, const char *path, int jpeg_quality)
{
    if (!img || !path)
        return apf_fail(APF_E_INVALID, "save: NULL argument");
    void *data = NULL;
    size_t size = 0;
    apf_status st;
    if (ends_with(path, ".png"))
        st = encode_png(img, &data, &size);
    else if (ends_with(path, ".jpg") || ends_with(path, ".jpeg"))
        st = apf_image_encode_jpeg(img, jpeg_quality, &data, &size);
    else
        return apf_fail(APF_E_INVALID, "save: %s: extension must be .png, .jpg or .jpeg", path);
    if (st)
        return st;
    st = write_new_file(path, data, size);
    free(data);
    return st;
}

/* ---- metadata ---- */

apf_image_format apf_image_source_format(const apf_image *img)
{
    return img ? img->meta.format : APF_IMAGE_UNKNOWN;
}

size_t apf_image_exif(const apf_image *img, const uint8_t **data)
{
    if (data)
        *data = img ? img->meta.exif : NULL;
    return img ? img->meta.exif_size : 0;
}

size_t apf_image_icc(const apf_image *img, const uint8_t **data)
{
    if (data)
        *data = img ? img->meta.icc : NULL;
    return img ? img->meta.icc_size : 0;
}

apf_status apf_image_copy_metadata_keep(apf_image *dst, const apf_image *src, unsigned keep)
{
    if (!dst || !src)
        return apf_fail(APF_E_INVALID, "image: NULL argument");
    if (keep & ~(unsigned)APF_METADATA_KEEP_ALL)
        return apf_fail(APF_E_INVALID, "image: unknown metadata keep bits 0x%x", keep);
    image_meta m = {0};
    apf_status st = image_meta_copy(&m, &src->meta);
    if (!st && m.alpha_size != (size_t)dst->w * dst->h) { /* alpha only onto the same pixels */
        free(m.alpha);
        m.alpha = NULL;
        m.alpha_size = 0;
    }
    if (!st)
        st = exif_policy_filter(&m, keep);
    if (st) {
        image_meta_clear(&m);
        return st;
    }
    image_meta_clear(&dst->meta);
    dst->meta = m;
    return APF_OK;
}

apf_status apf_image_copy_metadata(apf_image *dst, const apf_image *src)
{
    return apf_image_copy_metadata_keep(dst, src, 0);
}
