/* What EXIF a protected photo may carry (exif_policy.h). libexif parses and
 * rewrites the TIFF structure; this file decides which entries survive and
 * puts a thumbnail of the saved pixels where the original's was.
 *
 * Why a list of tags to keep rather than a list to drop: cameras and phone
 * apps write private data under many tags (owner and artist names, serial
 * numbers, comments, maker notes that hold face-detection boxes and
 * sometimes names), and unknown tags can hold anything. What a viewer or
 * photo manager needs to show a photo right is small and known. */
#include "exif_policy.h"

#include <libexif/exif-data.h>
#include <stdlib.h>
#include <string.h>

#include "image_meta.h"
#include "../core/internal.h"

/* Kept in IFD0, the EXIF IFD and the interoperability IFD by default:
 * how to display the photo (orientation, resolution, colour), when it was
 * taken, and with what camera and settings. */
static const ExifTag KEEP[] = {
    /* IFD0 */
    EXIF_TAG_MAKE, EXIF_TAG_MODEL, EXIF_TAG_ORIENTATION, EXIF_TAG_X_RESOLUTION,
    EXIF_TAG_Y_RESOLUTION, EXIF_TAG_RESOLUTION_UNIT, EXIF_TAG_SOFTWARE, EXIF_TAG_DATE_TIME,
    EXIF_TAG_YCBCR_POSITIONING, EXIF_TAG_WHITE_POINT, EXIF_TAG_PRIMARY_CHROMATICITIES,
    EXIF_TAG_TRANSFER_FUNCTION,
    /* EXIF IFD: capture settings and dates */
    EXIF_TAG_EXPOSURE_TIME, EXIF_TAG_FNUMBER, EXIF_TAG_EXPOSURE_PROGRAM,
    EXIF_TAG_ISO_SPEED_RATINGS, EXIF_TAG_SENSITIVITY_TYPE, EXIF_TAG_EXIF_VERSION,
    EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_DATE_TIME_DIGITIZED, EXIF_TAG_OFFSET_TIME,
    EXIF_TAG_OFFSET_TIME_ORIGINAL, EXIF_TAG_OFFSET_TIME_DIGITIZED,
    EXIF_TAG_COMPONENTS_CONFIGURATION, EXIF_TAG_SHUTTER_SPEED_VALUE, EXIF_TAG_APERTURE_VALUE,
    EXIF_TAG_BRIGHTNESS_VALUE, EXIF_TAG_EXPOSURE_BIAS_VALUE, EXIF_TAG_MAX_APERTURE_VALUE,
    EXIF_TAG_METERING_MODE, EXIF_TAG_LIGHT_SOURCE, EXIF_TAG_FLASH, EXIF_TAG_FOCAL_LENGTH,
    EXIF_TAG_SUB_SEC_TIME, EXIF_TAG_SUB_SEC_TIME_ORIGINAL, EXIF_TAG_SUB_SEC_TIME_DIGITIZED,
    EXIF_TAG_FLASH_PIX_VERSION, EXIF_TAG_COLOR_SPACE, EXIF_TAG_PIXEL_X_DIMENSION,
    EXIF_TAG_PIXEL_Y_DIMENSION, EXIF_TAG_SENSING_METHOD, EXIF_TAG_FILE_SOURCE,
    EXIF_TAG_SCENE_TYPE, EXIF_TAG_CUSTOM_RENDERED, EXIF_TAG_EXPOSURE_MODE,
    EXIF_TAG_WHITE_BALANCE, EXIF_TAG_DIGITAL_ZOOM_RATIO, EXIF_TAG_FOCAL_LENGTH_IN_35MM_FILM,
    EXIF_TAG_SCENE_CAPTURE_TYPE, EXIF_TAG_GAIN_CONTROL, EXIF_TAG_CONTRAST, EXIF_TAG_SATURATION,
    EXIF_TAG_SHARPNESS, EXIF_TAG_SUBJECT_DISTANCE_RANGE, EXIF_TAG_LENS_SPECIFICATION,
    EXIF_TAG_LENS_MAKE, EXIF_TAG_LENS_MODEL, EXIF_TAG_GAMMA,
    /* interoperability IFD */
    EXIF_TAG_INTEROPERABILITY_INDEX, EXIF_TAG_INTEROPERABILITY_VERSION,
};

static int kept_by_default(ExifTag t)
{
    for (size_t k = 0; k < sizeof KEEP / sizeof KEEP[0]; k++)
        if (KEEP[k] == t)
            return 1;
    return 0;
}

/* Remove from one IFD every entry the policy does not keep. IFD1 only
 * describes the thumbnail and stays; its pixels are handled apart. */
static void filter_ifd(ExifContent *c, ExifIfd ifd, unsigned keep)
{
    if (!c || ifd == EXIF_IFD_1)
        return;
    if (ifd == EXIF_IFD_GPS ? (keep & APF_METADATA_KEEP_GPS) : (keep & APF_METADATA_KEEP_PERSONAL))
        return;
    /* Backwards: removing an entry moves the later ones down. */
    for (unsigned i = c->count; i-- > 0;)
        if (ifd == EXIF_IFD_GPS || !kept_by_default(c->entries[i]->tag))
            exif_content_remove_entry(c, c->entries[i]);
}

/* The photo scaled to fit 160x160 (the size EXIF thumbnails customarily
 * have) by averaging the source pixels each thumbnail pixel covers, as a
 * JPEG with no metadata of its own. */
static apf_status thumbnail_jpeg(const apf_image *img, void **jpg, size_t *jpg_size)
{
    int w = apf_image_width(img), h = apf_image_height(img);
    int side = w > h ? w : h;
    int tw = side > 160 ? (int)((long)w * 160 / side) : w;
    int th = side > 160 ? (int)((long)h * 160 / side) : h;
    tw = tw < 1 ? 1 : tw;
    th = th < 1 ? 1 : th;
    apf_image *t;
    apf_status st = apf_image_create(tw, th, &t);
    if (st)
        return st;
    const uint8_t *px = apf_image_pixels_const(img);
    uint8_t *tp = apf_image_pixels(t);
    for (int y = 0; y < th; y++) {
        int y0 = (int)((long)y * h / th), y1 = (int)((long)(y + 1) * h / th);
        y1 = y1 > y0 ? y1 : y0 + 1;
        for (int x = 0; x < tw; x++) {
            int x0 = (int)((long)x * w / tw), x1 = (int)((long)(x + 1) * w / tw);
            x1 = x1 > x0 ? x1 : x0 + 1;
            unsigned long sum[3] = {0, 0, 0}, cnt = (unsigned long)(y1 - y0) * (x1 - x0);
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                    for (int c = 0; c < 3; c++)
                        sum[c] += px[((size_t)yy * w + xx) * 3 + c];
            for (int c = 0; c < 3; c++)
                tp[((size_t)y * tw + x) * 3 + c] = (uint8_t)((sum[c] + cnt / 2) / cnt);
        }
    }
    st = apf_image_encode_jpeg(t, 75, jpg, jpg_size);
    apf_image_free(t);
    return st;
}

/* Parse TIFF bytes with libexif, keeping unknown tags and maker notes as
 * they are (the policy, not the parser, decides what goes). NULL for a size
 * outside what one APP1 segment holds, or no memory; bytes libexif cannot
 * read give an ExifData with nothing in it. */
static ExifData *parse(const uint8_t *tiff, size_t n)
{
    if (!tiff || n < 8 || n > IMAGE_META_MAX_EXIF)
        return NULL;
    uint8_t *app1 = malloc(n + 6);
    if (!app1)
        return NULL;
    memcpy(app1, "Exif\0\0", 6);
    memcpy(app1 + 6, tiff, n);
    ExifData *ed = exif_data_new();
    if (ed) {
        exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
        exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
        exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
        exif_data_load_data(ed, app1, (unsigned)(n + 6));
    }
    free(app1);
    return ed;
}

/* Serialise back to TIFF bytes (libexif writes the "Exif\0\0" header
 * first). Fails when the result would not fit one APP1 segment. */
static int serialise(ExifData *ed, uint8_t **out, size_t *out_n)
{
    unsigned char *d = NULL;
    unsigned int dn = 0;
    exif_data_save_data(ed, &d, &dn);
    if (!d || dn <= 6 + 8 || dn - 6 > IMAGE_META_MAX_EXIF || memcmp(d, "Exif\0\0", 6)) {
        free(d);
        return 0;
    }
    memmove(d, d + 6, dn - 6);
    *out = d;
    *out_n = dn - 6;
    return 1;
}

apf_status exif_policy_filter(image_meta *m, unsigned keep)
{
    if (!m->exif)
        return APF_OK;
    ExifData *ed = parse(m->exif, m->exif_size);
    uint8_t *out = NULL;
    size_t out_n = 0;
    if (ed) {
        for (int i = 0; i < EXIF_IFD_COUNT; i++)
            filter_ifd(ed->ifd[i], (ExifIfd)i, keep);
        /* The original's thumbnail shows the unprotected face: its pixels
         * never survive, whatever is kept. The blank stays as a marker that
         * the photo had one, so apf_image_save() writes a thumbnail of the
         * pixels it saves. */
        if (ed->data)
            memset(ed->data, 0, ed->size);
        if (!serialise(ed, &out, &out_n))
            out = NULL;
        exif_data_unref(ed);
    }
    /* Whatever did not parse is dropped, never passed on unfiltered. */
    free(m->exif);
    m->exif = out;
    m->exif_size = out ? out_n : 0;
    return APF_OK;
}

apf_status exif_policy_for_save(const uint8_t *tiff, size_t n, const apf_image *img,
                                uint8_t **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    ExifData *ed = parse(tiff, n);
    if (!ed) /* nothing that fits one APP1 segment: nothing is written */
        return APF_OK;
    if (!ed->data) { /* no thumbnail: the bytes go out as they came */
        exif_data_unref(ed);
        if (!(*out = malloc(n)))
            return apf_fail(APF_E_NOMEM, "image: out of memory for metadata");
        memcpy(*out, tiff, n);
        *out_n = n;
        return APF_OK;
    }
    apf_status st = APF_OK;
    {
        void *jpg = NULL;
        size_t jpg_n = 0;
        if ((st = thumbnail_jpeg(img, &jpg, &jpg_n))) {
            exif_data_unref(ed);
            return st;
        }
        /* libexif frees ed->data with its default allocator, free(). */
        free(ed->data);
        ed->data = jpg;
        ed->size = (unsigned)jpg_n;
    }
    if (!serialise(ed, out, out_n) && ed->data) {
        /* Too large with the thumbnail: write the EXIF without one. */
        free(ed->data);
        ed->data = NULL;
        ed->size = 0;
        serialise(ed, out, out_n);
    }
    exif_data_unref(ed);
    return st;
}
