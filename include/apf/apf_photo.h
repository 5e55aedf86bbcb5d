/**
 * @file apf_photo.h
 * @brief Photos: decoding and encoding JPEG and PNG files, their metadata and
 *        the privacy policy applied to it. Part of libapf-photo, which the
 *        device side uses and the cloud side never links (it needs libjpeg,
 *        libpng and libexif; the core and the cloud half do not).
 */
#ifndef APF_PHOTO_H
#define APF_PHOTO_H

#include "apf/apf_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Images                                                              */
/* ------------------------------------------------------------------ */

/** @brief An owned 8-bit RGB image (opaque). */
typedef struct apf_image apf_image;

/** @brief Most pixels apf_image_load() and apf_image_decode() accept: 50
 *  megapixels (a 48 MP phone photo fits), 150 MB of RGB. A file declaring
 *  more is refused from its header, before any pixel memory is taken;
 *  apf_image_load_max() raises the limit. */
#define APF_IMAGE_DEFAULT_MAX_PIXELS 50000000u

/**
 * @brief Create a black image.
 * @param width  Width in pixels, 1..#APF_IMAGE_MAX_SIDE.
 * @param height Height in pixels, 1..#APF_IMAGE_MAX_SIDE.
 * @param out    Receives the new image; free with apf_image_free().
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_NOMEM.
 */
APF_API apf_status apf_image_create(int width, int height, apf_image **out);

/**
 * @brief Load a JPEG or PNG file as 8-bit RGB.
 *
 * Greyscale, palette and CMYK images are converted to RGB, a PNG's alpha
 * channel is kept apart (apf_image_save() writes it back), 16-bit PNG is
 * reduced to 8 bits, and the JPEG EXIF orientation tag is applied so the
 * pixels come out upright. Images over #APF_IMAGE_DEFAULT_MAX_PIXELS are
 * refused with ::APF_E_LIMIT.
 * @param path File to read.
 * @param out  Receives the new image; free with apf_image_free().
 * @return ::APF_OK, ::APF_E_IO, ::APF_E_FORMAT, ::APF_E_LIMIT or ::APF_E_NOMEM.
 */
APF_API apf_status apf_image_load(const char *path, apf_image **out);

/**
 * @brief apf_image_load() with a pixel limit of the caller's choosing.
 * @param path       File to read.
 * @param max_pixels Most pixels (width x height) to accept; the per-side
 *                   limit #APF_IMAGE_MAX_SIDE still holds.
 * @param out        Receives the new image; free with apf_image_free().
 * @return As apf_image_load().
 */
APF_API apf_status apf_image_load_max(const char *path, uint64_t max_pixels, apf_image **out);

/**
 * @brief Decode a JPEG or PNG held in memory (see apf_image_load()).
 * @param data Encoded bytes.
 * @param size Number of bytes.
 * @param out  Receives the new image.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_FORMAT, ::APF_E_LIMIT or ::APF_E_NOMEM.
 */
APF_API apf_status apf_image_decode(const void *data, size_t size, apf_image **out);

/**
 * @brief apf_image_decode() with a pixel limit of the caller's choosing.
 * @param data       Encoded bytes.
 * @param size       Number of bytes.
 * @param max_pixels Most pixels to accept (see apf_image_load_max()).
 * @param out        Receives the new image.
 * @return As apf_image_decode().
 */
APF_API apf_status apf_image_decode_max(const void *data, size_t size, uint64_t max_pixels,
                                        apf_image **out);

/**
 * @brief Save an image as PNG or JPEG, chosen by the path's extension.
 *
 * The data is written to a temporary file beside @p path and renamed into
 * place, so no half-written file ever carries the final name. An existing
 * file at @p path is never replaced: the call fails with ::APF_E_EXISTS.
 * EXIF and ICC metadata the image carries (apf_image_exif()) are written
 * too, in either format; an EXIF thumbnail is replaced by one made from the
 * pixels being saved.
 * A PNG decoded with an alpha channel is saved with it (as PNG). A 16-bit
 * PNG is saved at 8 bits, a greyscale or CMYK photo in RGB colour (the
 * protecting noise is per colour channel).
 * @param img          Image to write.
 * @param path         Destination ending in .png, .jpg or .jpeg (any case).
 * @param jpeg_quality 1..100 for JPEG, or 0 for the quality and chroma
 *                     resolution the source JPEG was written with (estimated
 *                     from its quantisation tables; 95 when the source was
 *                     not a JPEG); ignored for PNG.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_EXISTS or ::APF_E_IO.
 */
APF_API apf_status apf_image_save(const apf_image *img, const char *path, int jpeg_quality);

/**
 * @brief Encode an image as JPEG into a newly allocated buffer.
 *
 * Qualities of 90 and above keep full chroma resolution, lower ones halve
 * it (4:2:0), as most cameras do.
 * @param img     Image to encode.
 * @param quality 1..100, or 0 as for apf_image_save().
 * @param data    Receives a malloc'd buffer; release with free().
 * @param size    Receives its length.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM or ::APF_E_IO.
 */
APF_API apf_status apf_image_encode_jpeg(const apf_image *img, int quality, void **data, size_t *size);

/**
 * @brief Release an image. NULL is ignored.
 * @param img Image to free.
 */
APF_API void apf_image_free(apf_image *img);

/**
 * @brief Width in pixels.
 * @param img An image.
 * @return Width, or 0 when @p img is NULL.
 */
APF_API int apf_image_width(const apf_image *img);

/**
 * @brief Height in pixels.
 * @param img An image.
 * @return Height, or 0 when @p img is NULL.
 */
APF_API int apf_image_height(const apf_image *img);

/**
 * @brief Pixel buffer: height rows of width*3 bytes, RGB.
 * @param img An image.
 * @return Mutable pointer into the image, or NULL when @p img is NULL.
 */
APF_API uint8_t *apf_image_pixels(apf_image *img);

/**
 * @brief Read-only pixel buffer (see apf_image_pixels()).
 * @param img An image.
 * @return Pointer into the image, or NULL when @p img is NULL.
 */
APF_API const uint8_t *apf_image_pixels_const(const apf_image *img);

/** @brief The file format an image was decoded from. */
typedef enum apf_image_format {
    APF_IMAGE_UNKNOWN = 0, /**< Created in memory. */
    APF_IMAGE_JPEG = 1,    /**< Decoded from JPEG. */
    APF_IMAGE_PNG = 2      /**< Decoded from PNG. */
} apf_image_format;

/**
 * @brief The format the image was decoded from (to save a protected copy in kind).
 * @param img An image (NULL gives ::APF_IMAGE_UNKNOWN).
 * @return Its source format.
 */
APF_API apf_image_format apf_image_source_format(const apf_image *img);

/**
 * @brief EXIF metadata carried by the image (from its JPEG APP1 or PNG eXIf).
 *
 * The image keeps the file's EXIF and ICC profile and apf_image_save()
 * writes them back, so a protected copy keeps camera data, dates and
 * colour. The orientation tag is already reset to 1 (top-left): the
 * rotation was applied to the pixels once at load. Malformed EXIF is
 * dropped at load rather than trusted.
 * @param img  An image.
 * @param data Receives a pointer to the TIFF-structured bytes (owned by the
 *             image), or NULL; may be NULL.
 * @return The byte count, 0 when there is none.
 */
APF_API size_t apf_image_exif(const apf_image *img, const uint8_t **data);

/**
 * @brief ICC colour profile carried by the image (JPEG APP2 chunks or PNG iCCP).
 * @param img  An image.
 * @param data Receives a pointer to the profile (owned by the image), or NULL; may be NULL.
 * @return The byte count, 0 when there is none.
 */
APF_API size_t apf_image_icc(const apf_image *img, const uint8_t **data);

/** @brief apf_image_copy_metadata_keep() bit: keep the GPS position. */
#define APF_METADATA_KEEP_GPS 1u
/** @brief apf_image_copy_metadata_keep() bit: keep every other EXIF entry
 *  (names, serial numbers, comments, maker notes, tags libexif does not know). */
#define APF_METADATA_KEEP_PERSONAL 2u
/** @brief apf_image_copy_metadata_keep() bits: keep all EXIF entries. */
#define APF_METADATA_KEEP_ALL (APF_METADATA_KEEP_GPS | APF_METADATA_KEEP_PERSONAL)

/**
 * @brief Give @p dst the source format, ICC profile and the EXIF of @p src
 *        that the privacy policy keeps (apf_image_copy_metadata_keep() with 0).
 *
 * Kept: how to display the photo (orientation, resolution, colour space),
 * when it was taken (dates, time offsets) and with what camera and settings
 * (make, model, lens, exposure). Dropped: the GPS position and every other
 * EXIF entry, including Artist, Copyright, owner and serial numbers, user
 * comments, Windows XP tags, maker notes and unknown tags.
 * @param dst Image that will be saved.
 * @param src Image decoded from the original file.
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_NOMEM.
 */
APF_API apf_status apf_image_copy_metadata(apf_image *dst, const apf_image *src);

/**
 * @brief apf_image_copy_metadata() with a choice of what else to keep.
 *
 * Whatever is kept, the original's EXIF thumbnail never is: it shows the
 * unprotected photo. Its pixels are blanked here, and apf_image_save()
 * writes a thumbnail made from the pixels it saves (160 pixels on the long
 * side) wherever the EXIF has one. XMP (where photo managers keep tagged
 * people's names and face regions) is never copied. EXIF that libexif
 * cannot parse is dropped.
 * @param dst  Image that will be saved.
 * @param src  Image decoded from the original file.
 * @param keep 0 (the privacy policy) or an OR of ::APF_METADATA_KEEP_GPS and
 *             ::APF_METADATA_KEEP_PERSONAL (::APF_METADATA_KEEP_ALL).
 * @return ::APF_OK, ::APF_E_INVALID (NULL image, unknown bits) or ::APF_E_NOMEM.
 */
APF_API apf_status apf_image_copy_metadata_keep(apf_image *dst, const apf_image *src,
                                                unsigned keep);

#ifdef __cplusplus
}
#endif

#endif /* APF_PHOTO_H */
