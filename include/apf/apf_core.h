/**
 * @file apf_core.h
 * @brief libapf shared core: status codes, images, face-recognition models.
 *
 * Everything here lives in libapf-core, which both the end-side library
 * (libapf-end) and the cloud-side library (libapf-cloud) build on.
 *
 * Conventions (the same across libapf):
 * - Every fallible function returns an ::apf_status. On failure a human
 *   readable message for the calling thread is available from
 *   apf_last_error(); it stays valid until the next failing libapf call on
 *   that thread. This thread-local message is the library's only global state.
 * - Handles are opaque. A handle may be used from any thread, but not from
 *   two threads at once; distinct handles are independent.
 * - Images are 8-bit RGB, row-major, interleaved (`R G B R G B ...`).
 */
#ifndef APF_CORE_H
#define APF_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Marks a symbol as part of libapf's public ABI. */
#if defined(APF_BUILDING_LIBRARY)
#define APF_API __attribute__((visibility("default")))
#else
#define APF_API
#endif

/** @brief Library major version (bumped on ABI breaks, with the SONAME). */
#define APF_VERSION_MAJOR 0
/** @brief Library minor version (bumped on backwards compatible additions). */
#define APF_VERSION_MINOR 3
/** @brief Library patch version. */
#define APF_VERSION_PATCH 0
/** @brief The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH
 *  (compare with apf_version_number() to check the loaded library). */
#define APF_VERSION_NUMBER (APF_VERSION_MAJOR * 10000 + APF_VERSION_MINOR * 100 + APF_VERSION_PATCH)

/** @brief Largest L-inf budget (eps, in 0..255 pixel units) any libapf call
 *  accepts; budgets are in (0, APF_EPS_MAX]. */
#define APF_EPS_MAX 64.0f

/** @brief Result of every fallible libapf call. */
typedef enum apf_status {
    APF_OK = 0,              /**< Success. */
    APF_E_INVALID = 1,       /**< An argument is NULL, out of range or inconsistent. */
    APF_E_NOMEM = 2,         /**< Out of memory, or a size would overflow. */
    APF_E_IO = 3,            /**< A file could not be opened, read or written. */
    APF_E_FORMAT = 4,        /**< Input data is corrupt, truncated or not of the expected format. */
    APF_E_UNSUPPORTED = 5,   /**< Valid data using a feature libapf does not implement. */
    APF_E_CHECKSUM = 6,      /**< A stored checksum does not match the data. */
    APF_E_LIMIT = 7,         /**< Input exceeds a documented size limit. */
    APF_E_BACKEND = 8,       /**< The compute backend (oneDNN) failed. */
    APF_E_STATE = 9,         /**< Call out of order (e.g. backward before a training forward). */
    APF_E_EXISTS = 10,       /**< The output file exists; libapf never overwrites. */
    APF_E_NUMERIC = 11       /**< Input contains NaN or infinity. */
} apf_status;

/**
 * @brief Short constant description of a status code.
 * @param status Any value; unknown values give "unknown status".
 * @return A static string, never NULL.
 */
APF_API const char *apf_status_string(apf_status status);

/**
 * @brief Message describing the calling thread's most recent libapf failure.
 * @return A thread-local string ("" if nothing failed yet), never NULL.
 */
APF_API const char *apf_last_error(void);

/**
 * @brief Version of the loaded library as "MAJOR.MINOR.PATCH".
 * @return A static string.
 */
APF_API const char *apf_version_string(void);

/**
 * @brief Version of the loaded library as ::APF_VERSION_NUMBER computes it.
 * @return MAJOR * 10000 + MINOR * 100 + PATCH of the library actually loaded.
 */
APF_API int apf_version_number(void);

/* ------------------------------------------------------------------ */
/* Images                                                              */
/* ------------------------------------------------------------------ */

/** @brief An owned 8-bit RGB image (opaque). */
typedef struct apf_image apf_image;

/** @brief Largest width or height libapf accepts for an image. */
#define APF_IMAGE_MAX_SIDE 16384

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

/* ------------------------------------------------------------------ */
/* Face-recognition models                                             */
/* ------------------------------------------------------------------ */

/** @brief A loaded face-recognition network (opaque). See docs/model-format.md. */
typedef struct apf_model apf_model;

/**
 * @brief Load a `.apfm` model file.
 *
 * The file is fully validated (header checksum, payload checksum, every
 * node's shape and weight count) before anything is built from it.
 * @param path Model file.
 * @param out  Receives the model; free with apf_model_free().
 * @return ::APF_OK, ::APF_E_IO, ::APF_E_FORMAT, ::APF_E_CHECKSUM,
 *         ::APF_E_UNSUPPORTED, ::APF_E_LIMIT, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_model_load(const char *path, apf_model **out);

/**
 * @brief Load a model from an in-memory `.apfm` image (see apf_model_load()).
 * @param data File bytes (copied as needed; may be freed after the call).
 * @param size Number of bytes.
 * @param out  Receives the model.
 * @return As apf_model_load().
 */
APF_API apf_status apf_model_load_memory(const void *data, size_t size, apf_model **out);

/**
 * @brief Release a model and all its compute plans. NULL is ignored.
 * @param model Model to free.
 */
APF_API void apf_model_free(apf_model *model);

/**
 * @brief The model's name as stored in its file.
 * @param model A model.
 * @return A string owned by the model, or "" when @p model is NULL.
 */
APF_API const char *apf_model_name(const apf_model *model);

/**
 * @brief Side of the square input the network itself takes (e.g. 112, 150, 224).
 * @param model A model.
 * @return Size in pixels, or 0 when @p model is NULL.
 */
APF_API int apf_model_input_size(const apf_model *model);

/**
 * @brief Length of the embedding vector.
 * @param model A model.
 * @return Dimension, or 0 when @p model is NULL.
 */
APF_API int apf_model_embedding_dim(const apf_model *model);

/**
 * @brief 64-bit FNV-1a hash of the model file's bytes, to tie a gradient to
 *        the probe that computed it.
 * @param model A model.
 * @return The hash, or 0 when @p model is NULL.
 */
APF_API uint64_t apf_model_hash(const apf_model *model);

/**
 * @brief Set the number of CPU threads this model's calls use.
 * @param model   A model.
 * @param threads 1..256; the default is the OpenMP default.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_model_set_threads(apf_model *model, int threads);

/**
 * @brief Embed a batch of aligned faces.
 *
 * Faces are float RGB in 0..255 (so callers can embed perturbed faces),
 * @p n faces of @p size x @p size pixels, NHWC. They are resized to the
 * network's input size (bilinear), converted with the model's own
 * preprocessing, and run forward. The embeddings are L2-normalised.
 * @param model     A model.
 * @param faces     n*size*size*3 floats; NaN or infinity is rejected.
 * @param n         Batch size, 1..1024.
 * @param size      Face side in pixels, 16..1024.
 * @param embedding Receives n*apf_model_embedding_dim() floats.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NUMERIC, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_model_embed(apf_model *model, const float *faces, int n, int size,
                                   float *embedding);

/**
 * @brief Embed, then back-propagate a loss on the embeddings to the faces.
 *
 * Runs the same computation as apf_model_embed() in training mode, then the
 * backward pass: given dL/d(embedding) in @p d_embedding, writes
 * dL/d(faces) (per 0..255 pixel unit) into @p d_faces. Resize and
 * preprocessing are differentiated too.
 * @param model       A model.
 * @param faces       As apf_model_embed().
 * @param n           Batch size.
 * @param size        Face side in pixels.
 * @param embedding   Receives the L2-normalised embeddings (may be NULL).
 * @param loss_fn     Callback computing dL/d(embedding) from the embeddings;
 *                    it receives (embedding, n, dim, d_embedding, user) and
 *                    returns 0 on success. May be NULL, then @p d_embedding_in is used.
 * @param d_embedding_in dL/d(embedding) when @p loss_fn is NULL.
 * @param user        Passed to @p loss_fn.
 * @param d_faces     Receives n*size*size*3 floats.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NUMERIC, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_model_embed_backward(apf_model *model, const float *faces, int n, int size,
                                            float *embedding,
                                            int (*loss_fn)(const float *embedding, int n, int dim,
                                                           float *d_embedding, void *user),
                                            const float *d_embedding_in, void *user,
                                            float *d_faces);

/**
 * @brief Run the bare network on its own input tensor (no resize, no preprocessing).
 *
 * For tests against reference implementations and for advanced callers.
 * @param model  A model.
 * @param input  n*S*S*C floats, NHWC, S = apf_model_input_size().
 * @param n      Batch size, 1..1024.
 * @param train  Nonzero keeps what apf_model_backward_raw() needs.
 * @param output Receives n*apf_model_embedding_dim() raw (unnormalised) floats.
 * @return ::APF_OK, ::APF_E_INVALID (also for a detector: use apf_model_forward_outputs()),
 *         ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_model_forward_raw(apf_model *model, const float *input, int n, int train,
                                         float *output);

/**
 * @brief Back-propagate from the raw output to the raw input tensor.
 *
 * Must follow apf_model_forward_raw() with @p train nonzero and the same batch size.
 * @param model    A model.
 * @param d_output n*dim floats: dL/d(raw output).
 * @param n        Batch size used in the forward call.
 * @param d_input  Receives n*S*S*C floats: dL/d(input tensor).
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_STATE or ::APF_E_BACKEND.
 */
APF_API apf_status apf_model_backward_raw(apf_model *model, const float *d_output, int n,
                                          float *d_input);

/**
 * @brief Number of outputs: 1 for a recognizer, one per head for a detector
 *        such as BlazeFace.
 * @param model A model.
 * @return Count, or 0 when @p model is NULL.
 */
APF_API int apf_model_output_count(const apf_model *model);

/**
 * @brief Shape of output @p k (per batch element).
 * @param model A model.
 * @param k     Output index.
 * @param h     Receives the height.
 * @param w     Receives the width.
 * @param c     Receives the channels.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_model_output_shape(const apf_model *model, int k, int *h, int *w, int *c);

/**
 * @brief Run the bare network and copy every output (for detectors).
 * @param model   A model.
 * @param input   n*S*S*3 floats, the network's own input tensor.
 * @param n       Batch size, 1..1024.
 * @param outputs apf_model_output_count() buffers; buffer k receives n*h*w*c floats.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NUMERIC, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_model_forward_outputs(apf_model *model, const float *input, int n,
                                             float *const *outputs);

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

/**
 * @brief Bilinear affine warp of an NHWC float image, and its adjoint.
 *
 * For each destination pixel (x, y) the source is sampled at
 * (m[0]*x + m[1]*y + m[2], m[3]*x + m[4]*y + m[5]) in pixel-centre
 * coordinates; samples outside the source read 0. With @p adjoint nonzero
 * the call instead accumulates the transpose: gradients w.r.t. the
 * destination (@p dst) are scattered back into @p src (added, not assigned).
 * @param src     Source image, sh*sw*c floats (adjoint: accumulates into it).
 * @param sh      Source height.
 * @param sw      Source width.
 * @param c       Channels.
 * @param dst     Destination, dh*dw*c floats (adjoint: read).
 * @param dh      Destination height.
 * @param dw      Destination width.
 * @param m       2x3 destination-to-source matrix, row-major.
 * @param adjoint 0 for the warp, nonzero for its transpose.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_warp_affine(float *src, int sh, int sw, int c, float *dst, int dh, int dw,
                                   const double m[6], int adjoint);

/**
 * @brief Bilinear resize (align-corners off, half-pixel centres) and its adjoint.
 *
 * Same conventions as apf_warp_affine() with the matrix of a pure scale.
 * @param src     Source, sh*sw*c floats (adjoint: accumulates into it).
 * @param sh      Source height.
 * @param sw      Source width.
 * @param c       Channels.
 * @param dst     Destination, dh*dw*c floats (adjoint: read).
 * @param dh      Destination height.
 * @param dw      Destination width.
 * @param adjoint 0 for the resize, nonzero for its transpose.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_resize(float *src, int sh, int sw, int c, float *dst, int dh, int dw,
                              int adjoint);

#ifdef __cplusplus
}
#endif

#endif /* APF_CORE_H */
