/**
 * @file apf_cloud.h
 * @brief libapf-cloud: the server side. Never sees the photo, only the
 *        device's gradient g, and returns the noise s (APF paper sections
 *        3.4, 3.5; Eq. 3-10).
 *
 * s = clip_eps(T(g) + E(u)): T is a U-Net mapping the probe's gradient to the
 * one the server-side recognizers would give; u is a universal perturbation
 * and E(u) = conv1x1(beta * u + gamma) adapts it. Faces are 112x112 RGB,
 * perturbations are in 0..255 pixel units.
 */
#ifndef APF_CLOUD_H
#define APF_CLOUD_H

#include "apf/apf_core.h"
#include "apf/apf_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Side of the faces the cloud side works on. */
#define APF_CLOUD_SIZE 112

/** @brief The transfer network T (opaque). */
typedef struct apf_transfer apf_transfer;
/** @brief The universal perturbation u and its enhancement E (opaque). */
typedef struct apf_enhancer apf_enhancer;

/**
 * @brief A new, randomly initialised U-Net (He initialisation).
 * @param base_channels Channels of the first level (the next two double), 4..64.
 * @param eps           Perturbation budget the network is scaled for (pixel units).
 * @param seed          Initialisation seed.
 * @param out           Receives the network; free with apf_transfer_free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_transfer_create(int base_channels, float eps, uint64_t seed, apf_transfer **out);

/** @brief Most levels apf_transfer_create_unet() builds (112 down to 7 pixels). */
#define APF_TRANSFER_MAX_LEVELS 5

/**
 * @brief A new, randomly initialised U-Net of a chosen depth and width.
 *
 * Level l (0-based) works at 112 / 2^l pixels with base_channels * 2^l
 * channels; each level has @p convs 3x3 convolutions with ReLU, the
 * decoder mirrors the encoder with skip connections.
 * With @p residual, T(g) = g + U(g) and U's last layer starts at zero, so
 * an untrained T returns the device's g (scaled to pixels) unchanged and
 * training only adds to it. apf_transfer_create(b, ...) is
 * apf_transfer_create_unet(b, 3, 1, 0, ...).
 * @param base_channels Channels of the first level, 4..64.
 * @param levels        2..#APF_TRANSFER_MAX_LEVELS.
 * @param convs         Convolutions per level, 1..3.
 * @param residual      Nonzero: add g to the output (see above).
 * @param eps           Perturbation budget the network is scaled for (pixel units).
 * @param seed          Initialisation seed.
 * @param out           Receives the network; free with apf_transfer_free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_transfer_create_unet(int base_channels, int levels, int convs, int residual,
                                            float eps, uint64_t seed, apf_transfer **out);

/**
 * @brief Load T from a `.apfm` file written by apf_transfer_save().
 * @param path File.
 * @param out  Receives the network.
 * @return ::APF_OK or any status of apf_model_load().
 */
APF_API apf_status apf_transfer_load(const char *path, apf_transfer **out);

/**
 * @brief Save T (weights included) as `.apfm`, via a temporary file and rename.
 * @param t    Network.
 * @param path Destination.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_IO or ::APF_E_NOMEM.
 */
APF_API apf_status apf_transfer_save(const apf_transfer *t, const char *path);

/**
 * @brief Release T. NULL is ignored.
 * @param t Network.
 */
APF_API void apf_transfer_free(apf_transfer *t);

/**
 * @brief CPU threads for T's calls.
 * @param t       Network.
 * @param threads 1..256.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_transfer_set_threads(apf_transfer *t, int threads);

/**
 * @brief ghat = T(g) for a batch.
 * @param t     Network.
 * @param g     n x 112 x 112 x 3 floats (pixel units, e.g. eps * ternary g).
 * @param n     1..#APF_WIRE_MAX_FACES.
 * @param train Nonzero keeps what apf_transfer_backward() needs.
 * @param ghat  Receives n x 112 x 112 x 3 floats.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NUMERIC, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_transfer_forward(apf_transfer *t, const float *g, int n, int train, float *ghat);

/**
 * @brief Back-propagate dL/d(ghat) into T's weight gradients (after a training forward).
 * @param t      Network.
 * @param d_ghat n x 112 x 112 x 3 floats.
 * @param n      The forward call's batch size.
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_STATE.
 */
APF_API apf_status apf_transfer_backward(apf_transfer *t, const float *d_ghat, int n);

/**
 * @brief One Adam step (beta1 0.9, beta2 0.999) on T's weights from the last backward.
 * @param t  Network.
 * @param lr Learning rate, e.g. 1e-4.
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_STATE.
 */
APF_API apf_status apf_transfer_adam_step(apf_transfer *t, float lr);

/**
 * @brief How many floats T's weight gradients hold (see apf_transfer_get_gradients()).
 * @param t Network.
 * @param n Receives the count.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_transfer_gradient_size(const apf_transfer *t, size_t *n);

/**
 * @brief Copy T's weight gradients from the last apf_transfer_backward() into one vector.
 *
 * For data-parallel training: each worker runs forward and backward on its
 * share of a batch (with the loss scaled by the whole batch), the workers
 * sum these vectors (e.g. MPI_Allreduce), and each sets the sum with
 * apf_transfer_set_gradients() before apf_transfer_adam_step(); workers that
 * start from the same weights then stay identical. Order: each convolution's
 * weight gradient then its bias gradient, in graph order.
 * @param t    Network (not modified; not const because the call takes its lock).
 * @param grad Receives @p n floats.
 * @param n    apf_transfer_gradient_size().
 * @return ::APF_OK, ::APF_E_INVALID (NULL or wrong @p n) or ::APF_E_STATE (no backward yet).
 */
APF_API apf_status apf_transfer_get_gradients(apf_transfer *t, float *grad, size_t n);

/**
 * @brief Replace T's weight gradients before apf_transfer_adam_step().
 * @param t    Network, after apf_transfer_backward().
 * @param grad @p n finite floats in apf_transfer_get_gradients()'s order.
 * @param n    apf_transfer_gradient_size().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NUMERIC or ::APF_E_STATE.
 */
APF_API apf_status apf_transfer_set_gradients(apf_transfer *t, const float *grad, size_t n);

/**
 * @brief A new enhancer holding u, with E initialised to the identity.
 * @param u   112 x 112 x 3 floats (pixel units), or NULL for zeros.
 * @param out Receives the enhancer; free with apf_enhancer_free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NUMERIC or ::APF_E_NOMEM.
 */
APF_API apf_status apf_enhancer_create(const float *u, apf_enhancer **out);

/**
 * @brief Load u and E from a `.apfm` file written by apf_enhancer_save().
 * @param path File.
 * @param out  Receives the enhancer.
 * @return ::APF_OK or a load failure.
 */
APF_API apf_status apf_enhancer_load(const char *path, apf_enhancer **out);

/**
 * @brief Save u and E as `.apfm`.
 * @param e    Enhancer.
 * @param path Destination.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_IO or ::APF_E_NOMEM.
 */
APF_API apf_status apf_enhancer_save(const apf_enhancer *e, const char *path);

/**
 * @brief Release an enhancer. NULL is ignored.
 * @param e Enhancer.
 */
APF_API void apf_enhancer_free(apf_enhancer *e);

/**
 * @brief Replace u (E's parameters are kept).
 * @param e Enhancer.
 * @param u 112 x 112 x 3 finite floats.
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_NUMERIC.
 */
APF_API apf_status apf_enhancer_set_universal(apf_enhancer *e, const float *u);

/**
 * @brief Set beta, E's gain on u, to @p gain in every channel (other parameters kept).
 *
 * Gain 0 makes E(u) contribute nothing until training grows it: the
 * training program starts E there, so the budget clip does not cut the
 * image-specific T(g) before E has learnt where u helps.
 * @param e    Enhancer.
 * @param gain Finite, |gain| <= 16.
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_NUMERIC.
 */
APF_API apf_status apf_enhancer_set_gain(apf_enhancer *e, float gain);

/**
 * @brief E(u) = conv1x1(beta * u + gamma).
 * @param e  Enhancer.
 * @param eu Receives 112 x 112 x 3 floats.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_enhancer_output(const apf_enhancer *e, float *eu);

/**
 * @brief Accumulate dL/d(E(u)) (already summed over the batch) into E's gradients.
 * @param e    Enhancer.
 * @param d_eu 112 x 112 x 3 floats.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_enhancer_backward(apf_enhancer *e, const float *d_eu);

/**
 * @brief One Adam step on beta, gamma and the 1x1 convolution; clears the gradients.
 * @param e  Enhancer.
 * @param lr Learning rate.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_enhancer_adam_step(apf_enhancer *e, float lr);

/**
 * @brief Noise for decoded gradients: s = clip(T(eps * g) + E(u), -eps, eps).
 * @param t   Transfer network (NULL: T is the identity, so s = clip(eps * g + E(u))).
 * @param e   Enhancer (NULL: no E(u) term).
 * @param g   n x 112 x 112 x 3 ternary values.
 * @param n   1..#APF_WIRE_MAX_FACES.
 * @param eps Budget in pixel units, (0, 64].
 * @param s   Receives n x 112 x 112 x 3 floats in [-eps, eps].
 * @return ::APF_OK, ::APF_E_INVALID or a compute failure.
 */
APF_API apf_status apf_cloud_noise(apf_transfer *t, const apf_enhancer *e, const int8_t *g, int n,
                                   float eps, float *s);

/**
 * @brief The privacy server's whole job: gradient blob in, noise blob out.
 *
 * Decodes and validates @p g_blob (a hostile payload is rejected), computes s
 * with apf_cloud_noise(), rounds it to integer pixel offsets and encodes it
 * with the same eps, algorithm and model hash.
 * @param t       Transfer network (may be NULL, see apf_cloud_noise()).
 * @param e       Enhancer (may be NULL).
 * @param g_blob  Received bytes.
 * @param g_size  Their number.
 * @param s_blob  Receives a malloc'd noise blob; release with free().
 * @param s_size  Receives its length.
 * @return ::APF_OK, any apf_wire_decode() status, ::APF_E_UNSUPPORTED for
 *         faces other than 112x112, or a compute failure.
 */
APF_API apf_status apf_cloud_filter(apf_transfer *t, const apf_enhancer *e, const void *g_blob,
                                    size_t g_size, void **s_blob, size_t *s_size);

#ifdef __cplusplus
}
#endif

#endif /* APF_CLOUD_H */
