/**
 * @file apf_core.h
 * @brief libapf shared core: status codes, face-recognition models, geometry.
 *
 * Everything here lives in libapf-core, which both the end-side library
 * (libapf-end) and the cloud-side library (libapf-cloud) build on.
 *
 * Conventions (the same across libapf):
 * - Every fallible function returns an ::apf_status. On failure a human
 *   readable message for the calling thread is available from
 *   apf_last_error(); it stays valid until the next failing libapf call on
 *   that thread. This thread-local message is the library's only global state.
 * - Handles are opaque and may be used from any thread. A handle that
 *   computes (apf_model, apf_detector, apf_probe, apf_transfer,
 *   apf_evaluator) may be shared between threads: its calls take turns on
 *   its lock (apf_detector and apf_evaluator on the locks of the models
 *   they hold; their own state is read-only during calls), and distinct
 *   handles run in parallel. Calls that configure or train a handle
 *   (the *_set_threads and *_set_threshold calls, apf_probe_add_model,
 *   apf_evaluator_calibrate, backward and Adam steps of apf_transfer and
 *   apf_enhancer) must not overlap other calls on the same handle.
 * - CPU threads are a property of the handle: its *_set_threads call or the
 *   thread count given when it is made (0 or unset: the OpenMP default,
 *   which is the number of CPUs this process may run on). A call uses that
 *   count on the calling thread and restores the caller's own OpenMP
 *   setting before it returns.
 * - During a call of a model, transfer or probe handle, the calling thread
 *   and its OpenMP threads flush denormal floats to zero (on x86: FTZ and
 *   DAZ in MXCSR; they cost Intel cores a microcode assist each, and
 *   carry nothing an embedding or a gradient's sign can use); each thread
 *   gets its own floating-point mode back before the call returns.
 * - Images are 8-bit RGB, row-major, interleaved (`R G B R G B ...`);
 *   decoding and encoding photos is libapf-photo's (apf_photo.h).
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
#define APF_VERSION_MAJOR 1
/** @brief Library minor version (bumped on backwards compatible additions). */
#define APF_VERSION_MINOR 10
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

/** @brief Largest width or height libapf accepts for an image (photos and
 *  the resampling functions below). */
#define APF_IMAGE_MAX_SIDE 16384

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
 * Large images use the calling thread's OpenMP thread count; the result is
 * the same to the bit on any count (docs/architecture.md). Pass finite
 * images: a forward colour warp takes a tap of weight 0 too, so an infinite
 * or NaN source value can make a neighbouring destination value NaN.
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
