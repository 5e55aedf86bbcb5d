/**
 * @file apf_eval.h
 * @brief libapf-eval: measuring protection (APF paper section 4.1, Eq. 11, 12).
 *
 * SSIM between original and protected images, match thresholds calibrated
 * on clean pairs, and the attack success rate
 * ASR = (N_matched_before - N_matched_after) / N_pairs over positive pairs.
 */
#ifndef APF_EVAL_H
#define APF_EVAL_H

#include "apf/apf_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief SSIM (Wang et al. 2004) of two RGB images, as scikit-image computes it:
 *        11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, range 255,
 *        population covariance, map cropped by 5 pixels, mean over R, G, B.
 * @param a           First image, width*height*3 bytes.
 * @param b           Second image, same shape.
 * @param width       Width, >= 11.
 * @param height      Height, >= 11.
 * @param ssim        Receives the mean over channels.
 * @param per_channel Receives the three channel values (may be NULL).
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_NOMEM.
 */
APF_API apf_status apf_ssim(const uint8_t *a, const uint8_t *b, int width, int height, double *ssim,
                            double per_channel[3]);

/**
 * @brief Threshold with the best verification accuracy (the LFW protocol's),
 *        a pair matching when similarity >= threshold.
 * @param sim       n similarities.
 * @param same      n flags: 1 for a same-person pair.
 * @param n         Number of pairs, >= 1.
 * @param threshold Receives the threshold (midpoint between neighbouring similarities).
 * @param accuracy  Receives the accuracy at it (may be NULL).
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_threshold_best_accuracy(const float *sim, const uint8_t *same, int n,
                                               float *threshold, double *accuracy);

/**
 * @brief Lowest threshold whose false accept rate on the different-person
 *        pairs is at most @p far.
 * @param sim       n similarities.
 * @param same      n flags.
 * @param n         Number of pairs.
 * @param far       Allowed false accept rate, in [0, 1).
 * @param threshold Receives the threshold.
 * @return ::APF_OK or ::APF_E_INVALID (also when there is no negative pair).
 */
APF_API apf_status apf_threshold_at_far(const float *sim, const uint8_t *same, int n, double far,
                                        float *threshold);

/** @brief A set of recognizers with calibrated thresholds (opaque). */
typedef struct apf_evaluator apf_evaluator;

/**
 * @brief Load recognizers for evaluation.
 * @param model_paths n_models `.apfm` files.
 * @param n_models    1..32.
 * @param threads     CPU threads per model (0: OpenMP default).
 * @param out         Receives the evaluator; free with apf_evaluator_free().
 * @return ::APF_OK, ::APF_E_INVALID, or any status of apf_model_load().
 */
APF_API apf_status apf_evaluator_create(const char *const *model_paths, int n_models, int threads,
                                        apf_evaluator **out);

/**
 * @brief Release an evaluator. NULL is ignored.
 * @param ev Evaluator to free.
 */
APF_API void apf_evaluator_free(apf_evaluator *ev);

/**
 * @brief Number of recognizers.
 * @param ev An evaluator.
 * @return Count, 0 for NULL.
 */
APF_API int apf_evaluator_model_count(const apf_evaluator *ev);

/**
 * @brief A recognizer's model handle (owned by the evaluator).
 * @param ev    An evaluator.
 * @param model Index.
 * @return The model, or NULL when out of range.
 */
APF_API apf_model *apf_evaluator_model(apf_evaluator *ev, int model);

/**
 * @brief Embed pairs of faces with one recognizer and return cosine similarities.
 * @param ev    An evaluator.
 * @param model Recognizer index.
 * @param a     n faces (size x size RGB bytes each).
 * @param b     n faces.
 * @param n     Number of pairs, 1..1048576.
 * @param size  Face side (112 for aligned faces).
 * @param sim   Receives n similarities.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_evaluator_similarity(apf_evaluator *ev, int model, const uint8_t *a,
                                            const uint8_t *b, int n, int size, float *sim);

/**
 * @brief Calibrate every recognizer's thresholds on clean labelled pairs.
 * @param ev   An evaluator.
 * @param a    n faces.
 * @param b    n faces.
 * @param same n flags (1: same person).
 * @param n    Number of pairs, >= 2 with both kinds present.
 * @param size Face side.
 * @return ::APF_OK, ::APF_E_INVALID or a compute failure.
 */
APF_API apf_status apf_evaluator_calibrate(apf_evaluator *ev, const uint8_t *a, const uint8_t *b,
                                           const uint8_t *same, int n, int size);

/**
 * @brief A recognizer's calibrated thresholds.
 * @param ev        An evaluator.
 * @param model     Recognizer index.
 * @param threshold Receives the best-accuracy threshold (may be NULL).
 * @param accuracy  Receives the clean accuracy at it (may be NULL).
 * @param far_threshold Receives the threshold at 0.1% false accepts (may be NULL).
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_STATE before calibration.
 */
APF_API apf_status apf_evaluator_thresholds(const apf_evaluator *ev, int model, float *threshold,
                                            double *accuracy, float *far_threshold);

/**
 * @brief Attack success rate (Eq. 11) over positive pairs for one recognizer:
 *        (pairs matched with the originals - pairs matched with the
 *        protected images) / n, at the best-accuracy threshold.
 * @param ev        A calibrated evaluator.
 * @param model     Recognizer index.
 * @param original  n original faces (the ones that were protected).
 * @param protected_ n protected versions of @p original.
 * @param other     n faces of the same people (e.g. the enrolled photos).
 * @param n         Number of positive pairs.
 * @param size      Face side.
 * @param asr       Receives the rate in [-1, 1].
 * @param matched_before Receives the matched count with originals (may be NULL).
 * @param matched_after  Receives the matched count with protected faces (may be NULL).
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_STATE or a compute failure.
 */
APF_API apf_status apf_evaluator_asr(apf_evaluator *ev, int model, const uint8_t *original,
                                     const uint8_t *protected_, const uint8_t *other, int n, int size,
                                     double *asr, int *matched_before, int *matched_after);

#ifdef __cplusplus
}
#endif

#endif /* APF_EVAL_H */
