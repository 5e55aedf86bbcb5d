/* The metadata privacy policy: what EXIF a protected photo carries. The
 * test photos carry what a phone camera writes (make, model, dates,
 * exposure, a GPS position, Artist, owner name, serial number, a maker
 * note, a user comment, an XMP packet naming a tagged person) and an EXIF
 * thumbnail showing the unprotected photo. libexif builds them and reads
 * the results, independently of the code under test's own use of it. */
#include <check.h>
#include <libexif/exif-data.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "apf/apf_photo.h"
#include "testutil.h"

static const char *tmp(const char *name) { return tu_path(tu_tmpdir(), name); }

static apf_image *solid(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    apf_image *im;
    ck_assert_int_eq(apf_image_create(w, h, &im), APF_OK);
    uint8_t *p = apf_image_pixels(im);
    for (int i = 0; i < w * h; i++)
        p[i * 3] = r, p[i * 3 + 1] = g, p[i * 3 + 2] = b;
    return im;
}

static ExifEntry *add(ExifData *ed, ExifIfd ifd, ExifTag tag, ExifFormat f, const void *v,
                      unsigned n)
{
    ExifEntry *e = exif_entry_new();
    exif_content_add_entry(ed->ifd[ifd], e);
    e->tag = tag;
    e->format = f;
    e->components = f == EXIF_FORMAT_RATIONAL ? n / 8 : f == EXIF_FORMAT_SHORT ? n / 2 : n;
    e->size = n;
    e->data = malloc(n);
    memcpy(e->data, v, n);
    exif_entry_unref(e);
    return e;
}

static void add_ascii(ExifData *ed, ExifIfd ifd, ExifTag tag, const char *s)
{
    add(ed, ifd, tag, EXIF_FORMAT_ASCII, s, (unsigned)strlen(s) + 1);
}

/* A phone camera's EXIF (little-endian, as phones write it) with a
 * thumbnail of `thumb_of`. Returns "Exif\0\0" + TIFF bytes. */
static unsigned char *camera_exif(const apf_image *thumb_of, unsigned *size)
{
    ExifData *ed = exif_data_new();
    exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    ExifByteOrder o = EXIF_BYTE_ORDER_INTEL;
    add_ascii(ed, EXIF_IFD_0, EXIF_TAG_MAKE, "Google");
    add_ascii(ed, EXIF_IFD_0, EXIF_TAG_MODEL, "Pixel 7");
    add_ascii(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME, "2026:06:01 12:34:56");
    add_ascii(ed, EXIF_IFD_0, EXIF_TAG_ARTIST, "Jane Private");
    add_ascii(ed, EXIF_IFD_0, EXIF_TAG_IMAGE_DESCRIPTION, "Jane and Tom at home");
    unsigned char sh[2];
    exif_set_short(sh, o, 1);
    add(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION, EXIF_FORMAT_SHORT, sh, 2);
    add_ascii(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, "2026:06:01 12:34:56");
    unsigned char r[8];
    exif_set_rational(r, o, (ExifRational){1, 120});
    add(ed, EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_TIME, EXIF_FORMAT_RATIONAL, r, 8);
    add_ascii(ed, EXIF_IFD_EXIF, EXIF_TAG_CAMERA_OWNER_NAME, "Jane Private");
    add_ascii(ed, EXIF_IFD_EXIF, EXIF_TAG_BODY_SERIAL_NUMBER, "SN1234567");
    add(ed, EXIF_IFD_EXIF, EXIF_TAG_MAKER_NOTE, EXIF_FORMAT_UNDEFINED, "FACE:12,40,80,80;Jane", 21);
    add(ed, EXIF_IFD_EXIF, EXIF_TAG_USER_COMMENT, EXIF_FORMAT_UNDEFINED, "ASCII\0\0\0Jane bday", 17);
    add_ascii(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE_REF, "N");
    unsigned char lat[24];
    exif_set_rational(lat, o, (ExifRational){48, 1});
    exif_set_rational(lat + 8, o, (ExifRational){51, 1});
    exif_set_rational(lat + 16, o, (ExifRational){2959, 100});
    add(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE, EXIF_FORMAT_RATIONAL, lat, 24);
    void *jpg;
    size_t jn;
    ck_assert_int_eq(apf_image_encode_jpeg(thumb_of, 75, &jpg, &jn), APF_OK);
    ed->data = jpg; /* libexif frees it */
    ed->size = (unsigned)jn;
    unsigned char *d = NULL;
    exif_data_save_data(ed, &d, size);
    exif_data_unref(ed);
    ck_assert_ptr_nonnull(d);
    return d;
}

static const char XMP[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><mwg-rs:Regions>"
                          "<mwg-rs:Name>Jane Private</mwg-rs:Name></mwg-rs:Regions></x:xmpmeta>";

static void write_camera_jpeg(const char *path, const apf_image *im, const apf_image *thumb_of)
{
    unsigned en;
    unsigned char *exif = camera_exif(thumb_of, &en);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
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
    jpeg_start_compress(&ci, TRUE);
    jpeg_write_marker(&ci, JPEG_APP0 + 1, exif, en);
    jpeg_write_marker(&ci, JPEG_APP0 + 1, (const JOCTET *)XMP, sizeof XMP);
    const uint8_t *px = apf_image_pixels_const(im);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)px + ci.next_scanline * ci.image_width * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
    free(exif);
}

/* The EXIF of a saved file, parsed by libexif. */
static ExifData *exif_of(const char *path)
{
    apf_image *im;
    ck_assert_int_eq(apf_image_load(path, &im), APF_OK);
    const uint8_t *e;
    size_t n = apf_image_exif(im, &e);
    ck_assert_uint_gt(n, 8);
    unsigned char *app1 = malloc(n + 6);
    memcpy(app1, "Exif\0\0", 6);
    memcpy(app1 + 6, e, n);
    ExifData *ed = exif_data_new_from_data(app1, (unsigned)(n + 6));
    free(app1);
    apf_image_free(im);
    ck_assert_ptr_nonnull(ed);
    return ed;
}

static int has(ExifData *ed, ExifIfd ifd, ExifTag tag)
{
    return exif_content_get_entry(ed->ifd[ifd], tag) != NULL;
}

/* Mean red value of the EXIF thumbnail, decoded; -1 when there is none. */
static int thumbnail_red(ExifData *ed)
{
    if (!ed->data || !ed->size)
        return -1;
    apf_image *t;
    ck_assert_int_eq(apf_image_decode(ed->data, ed->size, &t), APF_OK);
    ck_assert_int_le(apf_image_width(t), 160);
    ck_assert_int_le(apf_image_height(t), 160);
    long s = 0;
    int n = apf_image_width(t) * apf_image_height(t);
    for (int i = 0; i < n; i++)
        s += apf_image_pixels_const(t)[i * 3];
    apf_image_free(t);
    return (int)(s / n);
}

static int file_contains(const char *path, const char *needle)
{
    size_t n = 0;
    char *d = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(d);
    size_t k = strlen(needle);
    int found = 0;
    for (size_t i = 0; i + k <= n && !found; i++)
        found = !memcmp(d + i, needle, k);
    free(d);
    return found;
}

/* Load the camera photo (a white "original"), give its metadata to a black
 * "protected" copy under `keep`, save it as `out`. */
static void protect_like_apf(const char *out, unsigned keep)
{
    apf_image *orig = solid(320, 240, 250, 250, 250);
    write_camera_jpeg(tmp("camera.jpg"), orig, orig);
    apf_image *photo, *prot = solid(320, 240, 5, 5, 5);
    ck_assert_int_eq(apf_image_load(tmp("camera.jpg"), &photo), APF_OK);
    ck_assert_int_eq(apf_image_copy_metadata_keep(prot, photo, keep), APF_OK);
    /* in memory already, the original thumbnail's pixels are gone */
    const uint8_t *e;
    size_t n = apf_image_exif(prot, &e);
    ck_assert_uint_gt(n, 8);
    remove(out);
    ck_assert_int_eq(apf_image_save(prot, out, 90), APF_OK);
    apf_image_free(photo);
    apf_image_free(prot);
    apf_image_free(orig);
}

START_TEST(default_policy_keeps_camera_data_only)
{
    const char *outs[] = {"prot.jpg", "prot.png"};
    for (int k = 0; k < 2; k++) {
        protect_like_apf(tmp(outs[k]), 0);
        ExifData *ed = exif_of(tmp(outs[k]));
        /* kept: display, date, camera */
        ck_assert(has(ed, EXIF_IFD_0, EXIF_TAG_MAKE));
        ck_assert(has(ed, EXIF_IFD_0, EXIF_TAG_MODEL));
        ck_assert(has(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION));
        ck_assert(has(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME));
        ck_assert(has(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL));
        ck_assert(has(ed, EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_TIME));
        /* dropped: where, who, and what identifies the owner */
        ck_assert_uint_eq(ed->ifd[EXIF_IFD_GPS]->count, 0);
        ck_assert(!has(ed, EXIF_IFD_0, EXIF_TAG_ARTIST));
        ck_assert(!has(ed, EXIF_IFD_0, EXIF_TAG_IMAGE_DESCRIPTION));
        ck_assert(!has(ed, EXIF_IFD_EXIF, EXIF_TAG_CAMERA_OWNER_NAME));
        ck_assert(!has(ed, EXIF_IFD_EXIF, EXIF_TAG_BODY_SERIAL_NUMBER));
        ck_assert(!has(ed, EXIF_IFD_EXIF, EXIF_TAG_MAKER_NOTE));
        ck_assert(!has(ed, EXIF_IFD_EXIF, EXIF_TAG_USER_COMMENT));
        /* the thumbnail shows the protected (black) pixels, not the white original */
        int red = thumbnail_red(ed);
        ck_assert_msg(red >= 0 && red < 30, "%s: thumbnail red %d", outs[k], red);
        exif_data_unref(ed);
        ck_assert(!file_contains(tmp(outs[k]), "Jane"));
        ck_assert(!file_contains(tmp(outs[k]), "ns.adobe.com/xap"));
    }
}
END_TEST

START_TEST(keep_all_still_rebuilds_thumbnail)
{
    protect_like_apf(tmp("prot-all.jpg"), APF_METADATA_KEEP_ALL);
    ExifData *ed = exif_of(tmp("prot-all.jpg"));
    ck_assert_uint_eq(ed->ifd[EXIF_IFD_GPS]->count, 2);
    ck_assert(has(ed, EXIF_IFD_0, EXIF_TAG_ARTIST));
    ck_assert(has(ed, EXIF_IFD_EXIF, EXIF_TAG_BODY_SERIAL_NUMBER));
    int red = thumbnail_red(ed);
    ck_assert_msg(red >= 0 && red < 30, "thumbnail red %d", red);
    exif_data_unref(ed);
    /* XMP is never copied */
    ck_assert(!file_contains(tmp("prot-all.jpg"), "ns.adobe.com/xap"));

    protect_like_apf(tmp("prot-gps.jpg"), APF_METADATA_KEEP_GPS);
    ed = exif_of(tmp("prot-gps.jpg"));
    ck_assert_uint_eq(ed->ifd[EXIF_IFD_GPS]->count, 2);
    ck_assert(!has(ed, EXIF_IFD_0, EXIF_TAG_ARTIST));
    exif_data_unref(ed);
}
END_TEST

START_TEST(plain_save_rebuilds_thumbnail)
{
    /* Loading a photo, changing its pixels and saving it (no copy call)
     * also writes a thumbnail of the new pixels. */
    apf_image *orig = solid(200, 100, 250, 250, 250), *im;
    write_camera_jpeg(tmp("camera2.jpg"), orig, orig);
    ck_assert_int_eq(apf_image_load(tmp("camera2.jpg"), &im), APF_OK);
    memset(apf_image_pixels(im), 0, 200 * 100 * 3);
    remove(tmp("edited.jpg"));
    ck_assert_int_eq(apf_image_save(im, tmp("edited.jpg"), 90), APF_OK);
    ExifData *ed = exif_of(tmp("edited.jpg"));
    int red = thumbnail_red(ed);
    ck_assert_msg(red >= 0 && red < 30, "thumbnail red %d", red);
    exif_data_unref(ed);
    apf_image_free(im);
    apf_image_free(orig);
}
END_TEST

START_TEST(bad_arguments)
{
    apf_image *a = solid(4, 4, 0, 0, 0), *b = solid(4, 4, 0, 0, 0);
    ck_assert_int_eq(apf_image_copy_metadata_keep(a, b, 4), APF_E_INVALID);
    ck_assert_int_eq(apf_image_copy_metadata_keep(NULL, b, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_image_copy_metadata_keep(a, NULL, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_image_copy_metadata_keep(a, a, 0), APF_OK);
    apf_image_free(a);
    apf_image_free(b);
}
END_TEST

Suite *metadata_suite(void)
{
    Suite *s = suite_create("metadata");
    TCase *t = tcase_create("policy");
    tcase_add_test(t, default_policy_keeps_camera_data_only);
    tcase_add_test(t, keep_all_still_rebuilds_thumbnail);
    tcase_add_test(t, plain_save_rebuilds_thumbnail);
    tcase_add_test(t, bad_arguments);
    suite_add_tcase(s, t);
    return s;
}
