/* Photo metadata kept across load and save: EXIF (TIFF bytes, orientation
 * reset to 1 once the pixels are upright) and the ICC colour profile. */
#ifndef APF_IMAGE_META_H
#define APF_IMAGE_META_H

#include <stddef.h>
#include <stdint.h>

#include "apf/apf_photo.h"

typedef struct image_meta {
    apf_image_format format; /* what the file was */
    uint8_t *exif;           /* TIFF structure ("II*\0" / "MM\0*"), no "Exif\0\0" prefix */
    size_t exif_size;
    uint8_t *icc;            /* the raw ICC profile */
    size_t icc_size;
    uint8_t *alpha;          /* PNG alpha plane, one byte a pixel; NULL when opaque */
    size_t alpha_size;
    int jpeg_quality;        /* source JPEG's IJG quality, estimated from its tables; 0 unknown */
    int jpeg_subsampled;     /* source JPEG's chroma at half resolution */
} image_meta;

/* Largest metadata libapf keeps (an EXIF APP1 segment is < 64 KB; ICC
 * profiles of real cameras and screens are well under 4 MB). */
#define IMAGE_META_MAX_EXIF 65533
#define IMAGE_META_MAX_ICC (4u << 20)

void image_meta_clear(image_meta *m);
apf_status image_meta_copy(image_meta *dst, const image_meta *src);

/* Orientation (1..8) in TIFF bytes; 1 when absent or malformed. */
int image_meta_tiff_orientation(const uint8_t *tiff, size_t n);

/* Set EXIF from an APP1 payload ("Exif\0\0" + TIFF); the copy's
 * orientation tag is rewritten to 1. Malformed EXIF is dropped, not fatal. */
void image_meta_set_exif_app1(image_meta *m, const uint8_t *app1, size_t n);
/* Same from bare TIFF bytes (PNG eXIf chunk). */
void image_meta_set_exif_tiff(image_meta *m, const uint8_t *tiff, size_t n);
/* Append one JPEG APP2 ICC_PROFILE chunk (seq/count checked); the profile
 * is kept only when every chunk arrived in order. */
void image_meta_icc_from_app2(image_meta *m, const uint8_t **chunks, const size_t *sizes, int n);
/* EXIF and ICC from a PNG file's eXIf and iCCP chunks. */
void image_meta_from_png(image_meta *m, const uint8_t *png, size_t n);

/* Build the APP1 / APP2 marker payloads to write into a JPEG. *count
 * payloads are returned in a malloc'd array of malloc'd buffers. */
apf_status image_meta_jpeg_markers(const image_meta *m, uint8_t ***payloads, size_t **sizes,
                                   int **markers, int *count);
/* Insert iCCP and eXIf chunks after IHDR of an encoded PNG (realloc'd). */
apf_status image_meta_png_insert(const image_meta *m, uint8_t **png, size_t *size);

#endif
