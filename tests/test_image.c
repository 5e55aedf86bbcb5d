/* Image I/O and resampling: round trips, EXIF orientation, corrupt files,
 * never overwriting, and the warp/resize adjoints. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <omp.h>
#include <png.h>
#include <zlib.h>

#include "apf/apf_face.h"
#include "apf/apf_photo.h"
#include "testutil.h"

static apf_image *pattern(int w, int h)
{
    apf_image *im;
    ck_assert_int_eq(apf_image_create(w, h, &im), APF_OK);
    uint8_t *p = apf_image_pixels(im);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            p[(y * w + x) * 3 + 0] = (uint8_t)(x * 255 / (w - 1));
            p[(y * w + x) * 3 + 1] = (uint8_t)(y * 255 / (h - 1));
            p[(y * w + x) * 3 + 2] = (uint8_t)((x + y) & 0xff);
        }
    return im;
}

static const char *tmp(const char *name) { return tu_path(tu_tmpdir(), name); }

START_TEST(png_round_trip_is_exact)
{
    apf_image *a = pattern(37, 21), *b;
    unlink(tmp("a.png"));
    ck_assert_int_eq(apf_image_save(a, tmp("a.png"), 0), APF_OK);
    ck_assert_int_eq(apf_image_load(tmp("a.png"), &b), APF_OK);
    ck_assert_int_eq(apf_image_width(b), 37);
    ck_assert_int_eq(apf_image_height(b), 21);
    ck_assert_mem_eq(apf_image_pixels(a), apf_image_pixels(b), 37 * 21 * 3);
    apf_image_free(a);
    apf_image_free(b);
}
END_TEST

START_TEST(jpeg_round_trip_is_close)
{
    apf_image *a = pattern(64, 48), *b;
    unlink(tmp("a.jpg"));
    ck_assert_int_eq(apf_image_save(a, tmp("a.jpg"), 95), APF_OK);
    ck_assert_int_eq(apf_image_load(tmp("a.jpg"), &b), APF_OK);
    double err = 0;
    for (int i = 0; i < 64 * 48 * 3; i++)
        err += fabs((double)apf_image_pixels(a)[i] - apf_image_pixels(b)[i]);
    ck_assert_double_lt(err / (64 * 48 * 3), 3.0);
    apf_image_free(a);
    apf_image_free(b);
}
END_TEST

START_TEST(save_never_overwrites)
{
    apf_image *a = pattern(8, 8), *c = pattern(8, 8);
    apf_image_pixels(c)[0] = 7;
    unlink(tmp("keep.png"));
    ck_assert_int_eq(apf_image_save(a, tmp("keep.png"), 0), APF_OK);
    struct stat before, after;
    stat(tmp("keep.png"), &before);
    ck_assert_int_eq(apf_image_save(c, tmp("keep.png"), 0), APF_E_EXISTS);
    stat(tmp("keep.png"), &after);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(before.st_size, after.st_size);
    apf_image *b;
    ck_assert_int_eq(apf_image_load(tmp("keep.png"), &b), APF_OK);
    ck_assert_mem_eq(apf_image_pixels(a), apf_image_pixels(b), 8 * 8 * 3);
    /* no temporary file is left behind */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp- > /dev/null", tu_tmpdir());
    ck_assert_int_ne(system(cmd), 0);
    /* unwritable folder and unknown extension */
    ck_assert_int_eq(apf_image_save(a, "/nonexistent-dir/x.png", 0), APF_E_IO);
    ck_assert_int_eq(apf_image_save(a, tmp("x.gif"), 0), APF_E_INVALID);
    ck_assert_int_eq(apf_image_save(a, tmp("x.jpg"), -1), APF_E_INVALID);
    apf_image_free(a);
    apf_image_free(b);
    apf_image_free(c);
}
END_TEST

/* A JPEG with an EXIF APP1 carrying the given orientation and, when
 * icc_chunks > 0, an ICC profile (icc, icc_size) split over that many APP2
 * markers, in order or (swap_icc) with the first two swapped. */
static void write_exif_jpeg_icc(const char *path, const apf_image *im, int orientation, int big_endian,
                                const uint8_t *icc, size_t icc_size, int icc_chunks, int swap_icc);

static void write_exif_jpeg(const char *path, const apf_image *im, int orientation, int big_endian)
{
    write_exif_jpeg_icc(path, im, orientation, big_endian, NULL, 0, 0, 0);
}

static void write_exif_jpeg_icc(const char *path, const apf_image *im, int orientation, int big_endian,
                                const uint8_t *icc, size_t icc_size, int icc_chunks, int swap_icc)
{
    FILE *f = fopen(path, "wb");
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr em;
    ci.err = jpeg_std_error(&em);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = apf_image_width(im);
    ci.image_height = apf_image_height(im);
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    jpeg_start_compress(&ci, TRUE);
    uint8_t exif[6 + 8 + 2 + 12 + 4] = {'E', 'x', 'i', 'f', 0, 0};
    uint8_t *t = exif + 6;
    if (big_endian) {
        memcpy(t, "MM\0*\0\0\0\x08", 8);
        uint8_t e[] = {0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (uint8_t)orientation, 0, 0};
        memcpy(t + 8, e, sizeof e);
    } else {
        memcpy(t, "II*\0\x08\0\0\0", 8);
        uint8_t e[] = {1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, (uint8_t)orientation, 0, 0, 0};
        memcpy(t + 8, e, sizeof e);
    }
    jpeg_write_marker(&ci, JPEG_APP0 + 1, exif, sizeof exif);
    size_t per = icc_chunks ? (icc_size + icc_chunks - 1) / icc_chunks : 0;
    for (int k = 0; k < icc_chunks; k++) {
        int c = swap_icc && k < 2 ? 1 - k : k;
        size_t off = c * per, len = icc_size - off < per ? icc_size - off : per;
        uint8_t *m = malloc(14 + len);
        memcpy(m, "ICC_PROFILE", 12);
        m[12] = (uint8_t)(c + 1);
        m[13] = (uint8_t)icc_chunks;
        memcpy(m + 14, icc + off, len);
        jpeg_write_marker(&ci, JPEG_APP0 + 2, m, (unsigned)(14 + len));
        free(m);
    }
    const uint8_t *px = apf_image_pixels_const(im);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)px + ci.next_scanline * ci.image_width * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

START_TEST(exif_orientation_applied)
{
    /* A 40x24 image with a bright block in its top-left corner. */
    apf_image *im;
    ck_assert_int_eq(apf_image_create(40, 24, &im), APF_OK);
    uint8_t *p = apf_image_pixels(im);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            memset(p + (y * 40 + x) * 3, 255, 3);
    /* where the block ends up (x, y of its centre) for each orientation */
    struct { int o, w, h, cx, cy; } cases[] = {
        {1, 40, 24, 4, 4},  {2, 40, 24, 35, 4}, {3, 40, 24, 35, 19}, {4, 40, 24, 4, 19},
        {5, 24, 40, 4, 4},  {6, 24, 40, 19, 4}, {7, 24, 40, 19, 35}, {8, 24, 40, 4, 35},
    };
    for (int k = 0; k < 8; k++) {
        char name[64];
        snprintf(name, sizeof name, "exif%d.jpg", cases[k].o);
        write_exif_jpeg(tmp(name), im, cases[k].o, k % 2);
        apf_image *r;
        ck_assert_int_eq(apf_image_load(tmp(name), &r), APF_OK);
        ck_assert_int_eq(apf_image_width(r), cases[k].w);
        ck_assert_int_eq(apf_image_height(r), cases[k].h);
        const uint8_t *q = apf_image_pixels_const(r);
        ck_assert_msg(q[(cases[k].cy * cases[k].w + cases[k].cx) * 3] > 200,
                      "orientation %d: block not at (%d,%d)", cases[k].o, cases[k].cx, cases[k].cy);
        apf_image_free(r);
    }
    apf_image_free(im);
}
END_TEST

/* The orientation value in IFD0 of TIFF bytes, or -1. */
static int tiff_orientation(const uint8_t *d, size_t n)
{
    int le = d[0] == 'I';
    unsigned ifd = le ? d[4] | d[5] << 8 : d[7] | d[6] << 8;
    unsigned count = le ? d[ifd] | d[ifd + 1] << 8 : d[ifd] << 8 | d[ifd + 1];
    for (unsigned i = 0; i < count && ifd + 2 + 12 * (i + 1) <= n; i++) {
        const uint8_t *e = d + ifd + 2 + 12 * i;
        unsigned tag = le ? e[0] | e[1] << 8 : e[0] << 8 | e[1];
        if (tag == 0x0112)
            return le ? e[8] | e[9] << 8 : e[8] << 8 | e[9];
    }
    return -1;
}

START_TEST(metadata_kept_across_save)
{
    /* EXIF (orientation 6) and a 100 KB ICC profile in 2 APP2 chunks survive
     * load -> save (JPEG and PNG) -> load; the orientation is applied once. */
    apf_image *im = pattern(40, 24);
    size_t icc_size = 100000;
    uint8_t *icc = malloc(icc_size);
    for (size_t i = 0; i < icc_size; i++)
        icc[i] = (uint8_t)(i * 7 + (i >> 9));
    write_exif_jpeg_icc(tmp("meta.jpg"), im, 6, 0, icc, icc_size, 2, 0);
    apf_image *r;
    ck_assert_int_eq(apf_image_load(tmp("meta.jpg"), &r), APF_OK);
    ck_assert_int_eq(apf_image_width(r), 24); /* rotated once */
    ck_assert_int_eq(apf_image_source_format(r), APF_IMAGE_JPEG);
    const uint8_t *e, *c;
    size_t en = apf_image_exif(r, &e), cn = apf_image_icc(r, &c);
    ck_assert_uint_gt(en, 8);
    ck_assert_int_eq(tiff_orientation(e, en), 1);
    ck_assert_uint_eq(cn, icc_size);
    ck_assert_int_eq(memcmp(c, icc, icc_size), 0);
    const char *outs[] = {"meta-out.jpg", "meta-out.png"};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(apf_image_save(r, tmp(outs[k]), 95), APF_OK);
        apf_image *r2;
        ck_assert_int_eq(apf_image_load(tmp(outs[k]), &r2), APF_OK);
        ck_assert_int_eq(apf_image_width(r2), 24); /* not rotated again */
        ck_assert_int_eq(apf_image_source_format(r2), k ? APF_IMAGE_PNG : APF_IMAGE_JPEG);
        const uint8_t *e2, *c2;
        ck_assert_uint_eq(apf_image_exif(r2, &e2), en);
        ck_assert_int_eq(memcmp(e2, e, en), 0);
        ck_assert_uint_eq(apf_image_icc(r2, &c2), icc_size);
        ck_assert_int_eq(memcmp(c2, icc, icc_size), 0);
        apf_image_free(r2);
    }
    /* metadata moves to a new image (the protected copy) */
    apf_image *copy;
    ck_assert_int_eq(apf_image_create(24, 40, &copy), APF_OK);
    ck_assert_uint_eq(apf_image_exif(copy, NULL), 0);
    ck_assert_int_eq(apf_image_copy_metadata(copy, r), APF_OK);
    ck_assert_uint_eq(apf_image_icc(copy, NULL), icc_size);
    ck_assert_int_eq(apf_image_copy_metadata(NULL, r), APF_E_INVALID);
    apf_image_free(copy);
    apf_image_free(r);
    /* chunks out of order: the profile is dropped, the photo still loads */
    write_exif_jpeg_icc(tmp("meta-bad.jpg"), im, 1, 1, icc, icc_size, 3, 1);
    ck_assert_int_eq(apf_image_load(tmp("meta-bad.jpg"), &r), APF_OK);
    ck_assert_uint_eq(apf_image_icc(r, NULL), 0);
    ck_assert_uint_gt(apf_image_exif(r, NULL), 8);
    apf_image_free(r);
    free(icc);
    apf_image_free(im);
}
END_TEST

START_TEST(corrupt_files_rejected)
{
    apf_image *a = pattern(32, 32), *b = (apf_image *)0x1;
    void *jpg;
    size_t n;
    ck_assert_int_eq(apf_image_encode_jpeg(a, 90, &jpg, &n), APF_OK);
    /* truncated JPEG: libjpeg would pad the rest with grey and warn; libapf
     * turns that into an error (a half photo must not be "protected") */
    size_t cuts[] = {2, 3, 10, 100, n / 2, n - 2};
    for (size_t k = 0; k < 6; k++) {
        b = (apf_image *)0x1;
        ck_assert_int_eq(apf_image_decode(jpg, cuts[k], &b), APF_E_FORMAT);
        ck_assert_ptr_null(b);
    }
    ck_assert_int_eq(apf_image_decode(jpg, 3, &b), APF_E_FORMAT);
    /* cut in the middle but still ending with an end-of-image marker: the
     * bottom half would come out flat grey */
    apf_image *big = pattern(200, 150);
    void *bj;
    size_t bn;
    ck_assert_int_eq(apf_image_encode_jpeg(big, 90, &bj, &bn), APF_OK);
    for (int pct = 50; pct <= 90; pct += 40) {
        size_t k = bn * pct / 100;
        uint8_t *cut = malloc(k + 2);
        memcpy(cut, bj, k);
        cut[k] = 0xFF, cut[k + 1] = 0xD9;
        b = (apf_image *)0x1;
        ck_assert_msg(apf_image_decode(cut, k + 2, &b) == APF_E_FORMAT, "cut at %d%% decoded", pct);
        ck_assert_ptr_null(b);
        free(cut);
    }
    ck_assert_int_eq(apf_image_decode(bj, bn, &b), APF_OK); /* the whole file is fine */
    apf_image_free(b);
    free(bj);
    apf_image_free(big);
    /* garbage after a valid signature */
    uint8_t junk[64];
    memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
    for (int i = 8; i < 64; i++)
        junk[i] = (uint8_t)(i * 31);
    ck_assert_int_eq(apf_image_decode(junk, 64, &b), APF_E_FORMAT);
    ck_assert_ptr_null(b);
    junk[0] = 0xFF, junk[1] = 0xD8, junk[2] = 0xFF;
    ck_assert_int_eq(apf_image_decode(junk, 64, &b), APF_E_FORMAT);
    ck_assert_int_eq(apf_image_decode("hello", 5, &b), APF_E_FORMAT);
    ck_assert_int_eq(apf_image_decode(NULL, 5, &b), APF_E_INVALID);
    ck_assert_int_eq(apf_image_load("/nonexistent.jpg", &b), APF_E_IO);
    ck_assert_int_eq(apf_image_load("/", &b), APF_E_IO);
    ck_assert_int_eq(apf_image_create(0, 5, &b), APF_E_INVALID);
    ck_assert_int_eq(apf_image_create(5, APF_IMAGE_MAX_SIDE + 1, &b), APF_E_INVALID);
    free(jpg);
    apf_image_free(a);
}
END_TEST

START_TEST(grey_png_promoted)
{
    /* An 8-bit greyscale PNG (and a grey+alpha one) come back as RGB. */
    uint8_t grey[6] = {0, 50, 100, 150, 200, 250};
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 3;
    pi.height = 2;
    pi.format = PNG_FORMAT_GRAY;
    unlink(tmp("grey.png"));
    ck_assert(png_image_write_to_file(&pi, tmp("grey.png"), 0, grey, 0, NULL));
    apf_image *b;
    ck_assert_int_eq(apf_image_load(tmp("grey.png"), &b), APF_OK);
    ck_assert_int_eq(apf_image_width(b), 3);
    ck_assert_int_eq(apf_image_height(b), 2);
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_int_eq(apf_image_pixels(b)[i * 3 + c], grey[i]);
    apf_image_free(b);
}
END_TEST


START_TEST(alpha_kept)
{
    /* An RGBA PNG: the colour is read as it is (not flattened), and the
     * alpha plane comes back in a saved copy whose colour changed. */
    enum { W = 4, H = 3 };
    uint8_t rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        rgba[4 * i] = (uint8_t)(20 * i), rgba[4 * i + 1] = 200, rgba[4 * i + 2] = (uint8_t)(255 - 9 * i);
        rgba[4 * i + 3] = (uint8_t)(i * 23); /* 0 (transparent) .. 253 */
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = W, pi.height = H, pi.format = PNG_FORMAT_RGBA;
    unlink(tmp("alpha.png"));
    ck_assert(png_image_write_to_file(&pi, tmp("alpha.png"), 0, rgba, 0, NULL));
    apf_image *a, *b, *c;
    ck_assert_int_eq(apf_image_load(tmp("alpha.png"), &a), APF_OK);
    for (int i = 1; i < W * H; i++) /* not composited on black */
        ck_assert_int_eq(apf_image_pixels(a)[3 * i + 1], 200);
    ck_assert_int_eq(apf_image_create(W, H, &b), APF_OK);
    memcpy(apf_image_pixels(b), apf_image_pixels(a), W * H * 3);
    apf_image_pixels(b)[4] ^= 1; /* "protected" */
    ck_assert_int_eq(apf_image_copy_metadata(b, a), APF_OK);
    unlink(tmp("alpha-out.png"));
    ck_assert_int_eq(apf_image_save(b, tmp("alpha-out.png"), 0), APF_OK);
    png_image po;
    memset(&po, 0, sizeof po);
    po.version = PNG_IMAGE_VERSION;
    ck_assert(png_image_begin_read_from_file(&po, tmp("alpha-out.png")));
    ck_assert(po.format & PNG_FORMAT_FLAG_ALPHA);
    po.format = PNG_FORMAT_RGBA;
    uint8_t back[W * H * 4];
    ck_assert(png_image_finish_read(&po, NULL, back, 0, NULL));
    for (int i = 0; i < W * H; i++)
        ck_assert_int_eq(back[4 * i + 3], rgba[4 * i + 3]);
    ck_assert_int_eq(back[5], 200 ^ 1); /* pixel 1's green */
    /* alpha belongs to those pixels: not carried onto an image of another size */
    ck_assert_int_eq(apf_image_create(W + 1, H, &c), APF_OK);
    ck_assert_int_eq(apf_image_copy_metadata(c, a), APF_OK);
    unlink(tmp("alpha-other.png"));
    ck_assert_int_eq(apf_image_save(c, tmp("alpha-other.png"), 0), APF_OK);
    memset(&po, 0, sizeof po);
    po.version = PNG_IMAGE_VERSION;
    ck_assert(png_image_begin_read_from_file(&po, tmp("alpha-other.png")));
    ck_assert(!(po.format & PNG_FORMAT_FLAG_ALPHA));
    png_image_free(&po);
    apf_image_free(a), apf_image_free(b), apf_image_free(c);
}
END_TEST

/* Write a 4x2 JPEG in CMYK, Adobe's inverted convention (255 = no ink). */
static void write_cmyk_jpeg(const char *path, const uint8_t *cmyk)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr em;
    ci.err = jpeg_std_error(&em);
    jpeg_create_compress(&ci);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = 4, ci.image_height = 2, ci.input_components = 4, ci.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    jpeg_start_compress(&ci, TRUE); /* libjpeg writes the Adobe marker for CMYK */
    for (int y = 0; y < 2; y++) {
        JSAMPROW row = (JSAMPROW)(cmyk + y * 16);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

START_TEST(cmyk_jpeg_converted)
{
    /* every pixel: inverted C, M, Y, K; expected RGB = (C K, M K, Y K) / 255 */
    uint8_t cmyk[32];
    for (int i = 0; i < 8; i++) {
        cmyk[4 * i] = 255, cmyk[4 * i + 1] = 0, cmyk[4 * i + 2] = 0, cmyk[4 * i + 3] = 255; /* red */
        if (i >= 4)
            cmyk[4 * i] = 255, cmyk[4 * i + 1] = 255, cmyk[4 * i + 2] = 255, cmyk[4 * i + 3] = 128; /* grey */
    }
    write_cmyk_jpeg(tmp("cmyk.jpg"), cmyk);
    apf_image *a;
    ck_assert_int_eq(apf_image_load(tmp("cmyk.jpg"), &a), APF_OK);
    const uint8_t *p = apf_image_pixels(a);
    ck_assert_int_ge(p[0], 245);
    ck_assert_int_le(p[1], 10);
    ck_assert_int_le(p[2], 10);
    for (int c = 0; c < 3; c++)
        ck_assert_int_le(abs(p[4 * 3 + c] - 128), 6);
    apf_image_free(a);
}
END_TEST

/* Luminance quantisation table and luma sampling factor of a JPEG file. */
static void jpeg_tables(const char *path, unsigned *qsum, int *luma_h)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr em;
    ci.err = jpeg_std_error(&em);
    jpeg_create_decompress(&ci);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    jpeg_stdio_src(&ci, f);
    jpeg_read_header(&ci, TRUE);
    *qsum = 0;
    for (int i = 0; i < DCTSIZE2; i++)
        *qsum += ci.quant_tbl_ptrs[0]->quantval[i];
    *luma_h = ci.comp_info[0].h_samp_factor;
    jpeg_destroy_decompress(&ci);
    fclose(f);
}

START_TEST(jpeg_quality_matched)
{
    /* Quality 0 writes what the source was: a q60 4:2:0 file comes back
     * with the q60 table and 4:2:0; a q92 full-chroma one likewise. */
    static const int q[2] = {60, 92};
    for (int k = 0; k < 2; k++) {
        apf_image *a = pattern(64, 48), *b, *c;
        void *buf;
        size_t len;
        ck_assert_int_eq(apf_image_encode_jpeg(a, q[k], &buf, &len), APF_OK);
        char src[64], out[64];
        snprintf(src, sizeof src, "q%d.jpg", q[k]);
        snprintf(out, sizeof out, "q%d-out.jpg", q[k]);
        FILE *f = fopen(tmp(src), "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
        fclose(f);
        free(buf);
        ck_assert_int_eq(apf_image_load(tmp(src), &b), APF_OK);
        ck_assert_int_eq(apf_image_create(64, 48, &c), APF_OK);
        memcpy(apf_image_pixels(c), apf_image_pixels(b), 64 * 48 * 3);
        ck_assert_int_eq(apf_image_copy_metadata(c, b), APF_OK);
        unlink(tmp(out));
        ck_assert_int_eq(apf_image_save(c, tmp(out), 0), APF_OK);
        unsigned qs_src, qs_out;
        int h_src, h_out;
        jpeg_tables(tmp(src), &qs_src, &h_src);
        jpeg_tables(tmp(out), &qs_out, &h_out);
        ck_assert_uint_eq(qs_out, qs_src);
        ck_assert_int_eq(h_out, h_src);
        ck_assert_int_eq(h_src, q[k] < 90 ? 2 : 1);
        apf_image_free(a), apf_image_free(b), apf_image_free(c);
    }
    /* a source that was not a JPEG: 95, full chroma */
    apf_image *d = pattern(16, 16);
    unlink(tmp("from-png.jpg"));
    ck_assert_int_eq(apf_image_save(d, tmp("from-png.jpg"), 0), APF_OK);
    unsigned qs;
    int h;
    jpeg_tables(tmp("from-png.jpg"), &qs, &h);
    ck_assert_int_eq(h, 1);
    ck_assert_uint_lt(qs, 400); /* q95's table sums to about 370 (Annex K's 3708 / 10) */
    ck_assert_int_eq(apf_image_save(d, tmp("bad-q.jpg"), 101), APF_E_INVALID);
    apf_image_free(d);
}
END_TEST

/* A PNG whose header declares w x h RGB with a tiny body. */
static void write_declared_png(const char *path, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    for (int k = 0; k < 4; k++)
        ihdr[8 + k] = (uint8_t)(w >> (24 - 8 * k)), ihdr[12 + k] = (uint8_t)(h >> (24 - 8 * k));
    ihdr[16] = 8, ihdr[17] = 2; /* 8-bit RGB */
    uint32_t crc = (uint32_t)crc32(0, ihdr + 4, 17);
    for (int k = 0; k < 4; k++)
        ihdr[21 + k] = (uint8_t)(crc >> (24 - 8 * k));
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    uint8_t zeros[64] = {0}, idat[128] = {0, 0, 0, 0, 'I', 'D', 'A', 'T'};
    uLongf zn = sizeof idat - 12;
    ck_assert_int_eq(compress(idat + 8, &zn, zeros, sizeof zeros), Z_OK);
    for (int k = 0; k < 4; k++)
        idat[k] = (uint8_t)(zn >> (24 - 8 * k));
    crc = (uint32_t)crc32(0, idat + 4, (uInt)zn + 4);
    for (int k = 0; k < 4; k++)
        idat[8 + zn + k] = (uint8_t)(crc >> (24 - 8 * k));
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(sig, 1, 8, f), fwrite(ihdr, 1, 25, f), fwrite(idat, 1, zn + 12, f), fwrite(iend, 1, 12, f);
    fclose(f);
}

START_TEST(pixel_limit)
{
    /* declared 16000 x 16000 (256 MP): refused from the header, by name */
    write_declared_png(tmp("huge.png"), 16000, 16000);
    apf_image *a = NULL;
    ck_assert_int_eq(apf_image_load(tmp("huge.png"), &a), APF_E_LIMIT);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(apf_last_error(), "megapixels"));
    /* the limit is the caller's: 64x48 = 3072 pixels */
    apf_image *b = pattern(64, 48);
    unlink(tmp("limit.png"));
    ck_assert_int_eq(apf_image_save(b, tmp("limit.png"), 0), APF_OK);
    ck_assert_int_eq(apf_image_load_max(tmp("limit.png"), 3071, &a), APF_E_LIMIT);
    ck_assert_int_eq(apf_image_load_max(tmp("limit.png"), 3072, &a), APF_OK);
    apf_image_free(a);
    FILE *f = fopen(tmp("limit.png"), "rb");
    uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_int_eq(apf_image_decode_max(buf, n, 100, &a), APF_E_LIMIT);
    ck_assert_int_eq(apf_image_decode_max(buf, n, 5000, &a), APF_OK);
    apf_image_free(a);
    apf_image_free(b);
}
END_TEST

static unsigned rs = 99;
static float fr(void)
{
    rs = rs * 1664525u + 1013904223u;
    return (float)((rs >> 8) / 16777216.0);
}

/* <A x, y> == <x, A^T y> for the resampling operators. */
static void check_adjoint(int sh, int sw, int dh, int dw, const double *m)
{
    size_t ns = (size_t)sh * sw * 3, nd = (size_t)dh * dw * 3;
    float *x = malloc(ns * 4), *ax = malloc(nd * 4), *y = malloc(nd * 4), *aty = calloc(ns, 4);
    for (size_t i = 0; i < ns; i++)
        x[i] = fr();
    for (size_t i = 0; i < nd; i++)
        y[i] = fr();
    if (m) {
        ck_assert_int_eq(apf_warp_affine(x, sh, sw, 3, ax, dh, dw, m, 0), APF_OK);
        ck_assert_int_eq(apf_warp_affine(aty, sh, sw, 3, y, dh, dw, m, 1), APF_OK);
    } else {
        ck_assert_int_eq(apf_resize(x, sh, sw, 3, ax, dh, dw, 0), APF_OK);
        ck_assert_int_eq(apf_resize(aty, sh, sw, 3, y, dh, dw, 1), APF_OK);
    }
    double l = 0, r = 0;
    for (size_t i = 0; i < nd; i++)
        l += (double)ax[i] * y[i];
    for (size_t i = 0; i < ns; i++)
        r += (double)x[i] * aty[i];
    ck_assert_msg(fabs(l - r) <= 1e-5 * fabs(l), "<Ax,y> %.8f vs <x,A'y> %.8f", l, r);
    free(x), free(ax), free(y), free(aty);
}

START_TEST(resample_adjoints)
{
    check_adjoint(112, 112, 224, 224, NULL);
    check_adjoint(112, 112, 150, 150, NULL);
    check_adjoint(150, 120, 112, 112, NULL);
    const double rot[6] = {0.9, -0.3, 20.5, 0.25, 1.1, -3.0};
    check_adjoint(200, 180, 112, 112, rot);
}
END_TEST

START_TEST(resample_values)
{
    /* resizing a constant image keeps it constant (edges clamp) */
    float *x = malloc(10 * 10 * 3 * 4), *y = malloc(23 * 17 * 3 * 4);
    for (int i = 0; i < 300; i++)
        x[i] = 42.0f;
    ck_assert_int_eq(apf_resize(x, 10, 10, 3, y, 23, 17, 0), APF_OK);
    for (int i = 0; i < 23 * 17 * 3; i++)
        ck_assert_float_eq_tol(y[i], 42.0f, 1e-4);
    /* the identity warp copies; a shift by one pixel shifts */
    for (int i = 0; i < 300; i++)
        x[i] = (float)i;
    const double id[6] = {1, 0, 0, 0, 1, 0}, sh[6] = {1, 0, 1, 0, 1, 0};
    ck_assert_int_eq(apf_warp_affine(x, 10, 10, 3, y, 10, 10, id, 0), APF_OK);
    ck_assert_mem_eq(x, y, 300 * 4);
    ck_assert_int_eq(apf_warp_affine(x, 10, 10, 3, y, 10, 10, sh, 0), APF_OK);
    ck_assert_float_eq(y[(5 * 10 + 3) * 3 + 1], x[(5 * 10 + 4) * 3 + 1]);
    ck_assert_float_eq(y[(5 * 10 + 9) * 3], 0.0f); /* outside reads 0 */
    const double bad[6] = {NAN, 0, 0, 0, 1, 0};
    ck_assert_int_eq(apf_warp_affine(x, 10, 10, 3, y, 10, 10, bad, 0), APF_E_NUMERIC);
    ck_assert_int_eq(apf_resize(NULL, 10, 10, 3, y, 10, 10, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_resize(x, 0, 10, 3, y, 10, 10, 0), APF_E_INVALID);
    free(x), free(y);
}
END_TEST

/* apf_resize takes its bilinear taps from per-row and per-column tables;
 * wherever no edge clamp applies it must give the general warp's values
 * with the same matrix to the bit, up- and downsampling, and its adjoint
 * must scatter the same. */
START_TEST(resize_matches_the_general_warp)
{
    const int sizes[][4] = {{112, 112, 224, 224}, {112, 112, 150, 150}, {150, 150, 112, 112}, {37, 53, 64, 29}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int sh = sizes[t][0], sw = sizes[t][1], dh = sizes[t][2], dw = sizes[t][3];
        float *x = malloc((size_t)sh * sw * 3 * 4), *a = malloc((size_t)dh * dw * 3 * 4);
        float *b = malloc((size_t)dh * dw * 3 * 4);
        float *ga = calloc((size_t)sh * sw * 3, 4), *gb = calloc((size_t)sh * sw * 3, 4);
        for (int i = 0; i < sh * sw * 3; i++)
            x[i] = (float)((i * 7919) % 1009) * 0.25f;
        double fx = (double)sw / dw, fy = (double)sh / dh;
        const double m[6] = {fx, 0, 0.5 * fx - 0.5, 0, fy, 0.5 * fy - 0.5};
        ck_assert_int_eq(apf_resize(x, sh, sw, 3, a, dh, dw, 0), APF_OK);
        ck_assert_int_eq(apf_warp_affine(x, sh, sw, 3, b, dh, dw, m, 0), APF_OK);
        int compared = 0;
        for (int y = 0; y < dh; y++)
            for (int xx = 0; xx < dw; xx++) {
                double sx = m[0] * xx + m[2], sy = m[4] * y + m[5];
                if (sx < 0 || sy < 0 || sx > sw - 1 || sy > sh - 1)
                    continue;
                compared++;
                for (int c = 0; c < 3; c++)
                    ck_assert_float_eq(a[((size_t)y * dw + xx) * 3 + c], b[((size_t)y * dw + xx) * 3 + c]);
            }
        ck_assert_int_gt(compared, dh * dw / 2);
        /* adjoint of a gradient that is zero near the edges: no clamp touched */
        for (int y = 0; y < dh; y++)
            for (int xx = 0; xx < dw; xx++) {
                double sx = m[0] * xx + m[2], sy = m[4] * y + m[5];
                int inside = sx >= 0 && sy >= 0 && sx <= sw - 1 && sy <= sh - 1;
                for (int c = 0; c < 3; c++)
                    a[((size_t)y * dw + xx) * 3 + c] = inside ? (float)((y * 31 + xx * 17 + c) % 13) - 6.0f : 0.0f;
            }
        memcpy(b, a, (size_t)dh * dw * 3 * 4);
        ck_assert_int_eq(apf_resize(ga, sh, sw, 3, a, dh, dw, 1), APF_OK);
        ck_assert_int_eq(apf_warp_affine(gb, sh, sw, 3, b, dh, dw, m, 1), APF_OK);
        ck_assert_mem_eq(ga, gb, (size_t)sh * sw * 3 * 4);
        free(x), free(a), free(b), free(ga), free(gb);
    }
}
END_TEST

/* The warps and resizes run on every core (the warp by destination rows,
 * its adjoint by bands of source rows, each band taking its taps in the
 * serial order): the result must be the same to the bit on 1, 2 and 3
 * cores, for a turned warp and for up- and downsizing, forward and back. */
static void resample_on(int threads, int sh, int sw, int dh, int dw, const double *m, const float *x,
                        const float *y, float *fwd, float *adj)
{
    omp_set_num_threads(threads);
    memset(adj, 0, (size_t)sh * sw * 3 * 4);
    if (m) {
        ck_assert_int_eq(apf_warp_affine((float *)x, sh, sw, 3, fwd, dh, dw, m, 0), APF_OK);
        ck_assert_int_eq(apf_warp_affine(adj, sh, sw, 3, (float *)y, dh, dw, m, 1), APF_OK);
    } else {
        ck_assert_int_eq(apf_resize((float *)x, sh, sw, 3, fwd, dh, dw, 0), APF_OK);
        ck_assert_int_eq(apf_resize(adj, sh, sw, 3, (float *)y, dh, dw, 1), APF_OK);
    }
}

START_TEST(resampling_is_the_same_on_any_number_of_cores)
{
    const double turn[6] = {0.93, -0.17, 12.0, 0.17, 0.93, -6.0};
    /* source and destination sides; the first two turned, the others resized */
    const int sizes[][4] = {{112, 112, 112, 112}, {150, 150, 112, 112}, {112, 112, 224, 224}, {150, 150, 112, 112}};
    for (int t = 0; t < 4; t++) {
        const int *sz = sizes[t];
        const double *m = t < 2 ? turn : NULL;
        int sh = sz[0], sw = sz[1], dh = sz[2], dw = sz[3];
        size_t ns = (size_t)sh * sw * 3, nd = (size_t)dh * dw * 3;
        float *x = malloc(ns * 4), *y = malloc(nd * 4), *f1 = malloc(nd * 4), *a1 = malloc(ns * 4);
        float *fn = malloc(nd * 4), *an = malloc(ns * 4);
        for (size_t i = 0; i < ns; i++)
            x[i] = fr() * 255.0f;
        for (size_t i = 0; i < nd; i++)
            y[i] = fr() - 0.5f;
        int before = omp_get_max_threads();
        resample_on(1, sh, sw, dh, dw, m, x, y, f1, a1);
        for (int threads = 2; threads <= 3; threads++) {
            resample_on(threads, sh, sw, dh, dw, m, x, y, fn, an);
            ck_assert_mem_eq(f1, fn, nd * 4);
            ck_assert_mem_eq(a1, an, ns * 4);
        }
        omp_set_num_threads(before);
        free(x), free(y), free(f1), free(a1), free(fn), free(an);
    }
}
END_TEST

/* The face's noise fades out over the aligned square's outer
 * APF_FACE_FADE pixels: none at the edge, full strength inside, rising
 * monotonically in between, and nothing outside the square. */
START_TEST(face_noise_fades_at_the_edge)
{
    apf_image *orig, *out;
    ck_assert_int_eq(apf_image_create(200, 200, &orig), APF_OK);
    ck_assert_int_eq(apf_image_create(200, 200, &out), APF_OK);
    memset(apf_image_pixels(orig), 128, 200 * 200 * 3);
    memset(apf_image_pixels(out), 128, 200 * 200 * 3);
    int8_t *noise = malloc(APF_FACE_SIZE * APF_FACE_SIZE * 3);
    memset(noise, 8, APF_FACE_SIZE * APF_FACE_SIZE * 3);
    const double m[6] = {1, 0, 40, 0, 1, 40}; /* aligned (u, v) -> photo (u + 40, v + 40) */
    ck_assert_int_eq(apf_face_add_noise(out, orig, m, noise, 8.0f), APF_OK);
    const uint8_t *px = apf_image_pixels_const(out);
#define AT(x, y) px[((size_t)(y) * 200 + (x)) * 3]
    int mid = 40 + APF_FACE_SIZE / 2;
    ck_assert_int_eq(AT(mid, mid), 136);
    ck_assert_int_eq(AT(40, mid), 128);                      /* the edge: faded out */
    ck_assert_int_eq(AT(39, mid), 128);                      /* outside */
    ck_assert_int_eq(AT(40 + APF_FACE_FADE, mid), 136);      /* the band's inner side: full */
    ck_assert_int_eq(AT(40 + APF_FACE_SIZE - 1, mid), 128);  /* the far edge */
    int prev = 128, rising = 0;
    for (int x = 40; x <= 40 + APF_FACE_FADE; x++) {
        ck_assert_int_ge(AT(x, mid), prev);
        rising += AT(x, mid) > 128 && AT(x, mid) < 136;
        prev = AT(x, mid);
    }
    ck_assert_int_ge(rising, APF_FACE_FADE / 2); /* a ramp, not a step */
#undef AT
    free(noise);
    apf_image_free(orig);
    apf_image_free(out);
}
END_TEST

START_TEST(lfw_faces_load)
{
    apf_image *im;
    const char *p = tu_path(tu_shared_dir(), "data/lfw/aligned112/Aaron_Peirsol/Aaron_Peirsol_0001.jpg");
    ck_assert_int_eq(apf_image_load(p, &im), APF_OK);
    ck_assert_int_eq(apf_image_width(im), 112);
    ck_assert_int_eq(apf_image_height(im), 112);
    apf_image_free(im);
}
END_TEST

Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *t = tcase_create("image");
    tcase_add_test(t, png_round_trip_is_exact);
    tcase_add_test(t, face_noise_fades_at_the_edge);
    tcase_add_test(t, jpeg_round_trip_is_close);
    tcase_add_test(t, save_never_overwrites);
    tcase_add_test(t, exif_orientation_applied);
    tcase_add_test(t, metadata_kept_across_save);
    tcase_add_test(t, corrupt_files_rejected);
    tcase_add_test(t, grey_png_promoted);
    tcase_add_test(t, alpha_kept);
    tcase_add_test(t, cmyk_jpeg_converted);
    tcase_add_test(t, jpeg_quality_matched);
    tcase_add_test(t, pixel_limit);
    tcase_add_test(t, resample_adjoints);
    tcase_add_test(t, resample_values);
    tcase_add_test(t, resize_matches_the_general_warp);
    tcase_add_test(t, resampling_is_the_same_on_any_number_of_cores);
    tcase_add_test(t, lfw_faces_load);
    suite_add_tcase(s, t);
    return s;
}
