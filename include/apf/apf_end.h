/**
 * @file apf_end.h
 * @brief libapf-end: the device side. Sees the original face, runs the small
 *        probe model (MobileFaceNet) and computes the adversarial gradient g,
 *        the only thing sent to the cloud (APF paper section 3.3, Eq. 1, 2, 13).
 *
 * Sign convention: the attacks maximise D = ||f(x') - (f(x_e) + delta)||^2,
 * the squared distance of the protected face's embedding from the enrolled
 * one (the paper writes L = -||f(x) - f(x_e)||; g moves against its gradient).
 * g is ternary: g = sign(x_T - x) for iterative attacks, sign(grad D) for
 * FGSM; the perturbation it stands for is eps * g.
 */
#ifndef APF_END_H
#define APF_END_H

#include <stddef.h>

#include "apf/apf_core.h"
#include "apf/apf_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Gradient-based attacks the probe can run. */
typedef enum apf_attack {
    APF_ATTACK_FGSM = 0,    /**< One step of size eps (Goodfellow et al.). */
    APF_ATTACK_IFGSM = 1,   /**< Iterative FGSM, projected to the eps ball. */
    APF_ATTACK_MIFGSM = 2,  /**< I-FGSM with momentum on the L1-normalised gradient. */
    APF_ATTACK_DI2FGSM = 3, /**< I-FGSM with random input diversity. */
    APF_ATTACK_MDI2FGSM = 4 /**< Momentum plus input diversity. */
} apf_attack;

/** @brief Number of ::apf_attack values. */
#define APF_ATTACK_COUNT 5

/** @brief Most recognizers one probe attacks together, its first model included. */
#define APF_PROBE_MAX_MODELS 8

/** @brief How a probe with several models (apf_probe_add_model()) spends its iterations. */
typedef enum apf_probe_schedule {
    APF_SCHEDULE_ALL = 0,   /**< Every model each iteration; their normalised gradients are summed. */
    APF_SCHEDULE_ROTATE = 1 /**< One model per iteration, in turn: an iteration costs one model. */
} apf_probe_schedule;

/**
 * @brief Probe settings. Initialise with apf_probe_options_init(), then change
 *        fields; @c struct_size lets later versions add fields compatibly.
 */
typedef struct apf_probe_options {
    size_t struct_size;      /**< sizeof(apf_probe_options), set by apf_probe_options_init(). */
    apf_attack attack;       /**< Default ::APF_ATTACK_DI2FGSM. */
    float eps;               /**< L-inf budget in 0..255 units, default 8. */
    float step;              /**< Step per iteration, default 2. */
    int iterations;          /**< Iterations for iterative attacks, default 30. */
    float momentum;          /**< Momentum decay for MI attacks, default 1. */
    float diversity_prob;    /**< Probability of a random transform per iteration (DI), default 0.5. */
    int enrol_offset;        /**< Eq. 13: add delta to f(x_e), default 1 (on). */
    float offset_fraction;   /**< Fraction of embedding elements offset, default 0.1. */
    float offset_range;      /**< Offsets are U(-range, range), default 0.07. */
    uint64_t seed;           /**< Randomness is derived from this and each face's pixels. */
    int threads;             /**< CPU threads, default 0 = OpenMP default. */
    /* Fields since 0.3 (a caller built against 0.2 gets their defaults). */
    float random_target;     /**< Weight of a per-face random direction in each model's
                                  embedding space that the face is also pushed toward, so that
                                  two protected photos of one person land apart; 0 = off.
                                  With decoys (apf_probe_set_decoys()) the direction is a
                                  decoy face's. Default 1. */
    apf_probe_schedule schedule; /**< With several models; default ::APF_SCHEDULE_ALL. */
    float texture_ssim;      /**< Per-pixel budget from local texture: each value's bound is
                                  chosen so that SSIM's contrast term stays near this value
                                  (capped at eps, at least 1); 0 = the uniform budget eps.
                                  Default 0. */
    /* Fields since 1.1. */
    float g_flip;            /**< Share of g's values whose sign the probe flips before g
                                  leaves it, each chosen at random (per face, from the seed
                                  and the pixels), so a server learns less of the face from g
                                  (docs/threat-model.md); costs protection. [0, 0.5), default 0. */
    float g_drop;            /**< Share of g's values the probe sets to 0 before g leaves it
                                  (same purpose and trade-off). [0, 1), default 0. */
    /* Fields since 1.3. */
    float smooth_sigma;      /**< Translation-invariant attack (Dong et al. 2019): each
                                  iteration's gradient is blurred by a Gaussian of this many
                                  pixels (standard deviation) before its sign is taken, so the
                                  noise varies less from pixel to pixel. It transfers better to
                                  recognizers the probe does not hold and costs SSIM less
                                  (docs/protection.md). [0, 8], default 0 (off). */
    /* Fields since 1.4. */
    int reach_budget;        /**< 1: each value's budget on the device is how far the attack
                                  itself moved it (apf_probe_gradient_reach()), so the photo
                                  carries the attack's own perturbation instead of eps at every
                                  value: higher SSIM at the same protection
                                  (docs/protection.md). apf_photo_job honours it; other callers
                                  keep the reach and call apf_limit_noise_to_reach(). 0 or 1,
                                  default 0 (the paper's s = clip(T(g) + E(u)) applied whole). */
    /* Fields since 1.6. */
    int diversity_jpeg;      /**< JPEG re-encoding in the input diversity: of a model's further
                                  samples (apf_probe_set_model_samples()), every second one sees
                                  its transformed face through a stand-in for JPEG at this
                                  quality (YCbCr, 4:2:0 chroma, the standard tables' 8x8 DCT
                                  quantisation; the gradient passes straight through), so the
                                  noise aimed at that recognizer survives a photo's
                                  re-encoding (docs/protection.md). Models with one sample are
                                  not affected. 1..100, or 0 = off (default). */
    float ssim_floor;        /**< With the reach (apf_probe_gradient_reach()): a face whose
                                  noise, applied as the reach allows, would leave its SSIM to
                                  the original (apf_ssim(), on the face as given) below this
                                  value gets its reach scaled down in steps of 15% until it
                                  does not, so every protected face keeps the paper's utility
                                  floor; the few faces whose noise shows most pay in protection.
                                  Not applied without a reach. [0.5, 1), or 0 = off (default). */
    /* Fields since 1.9. */
    float diversity_blur;    /**< Blur in the input diversity: each draw of a transform (the
                                  DI attacks) is also followed, with this probability and
                                  independently of @c diversity_prob, by a Gaussian blur of sigma
                                  uniform in [diversity_blur_sigma / 5, diversity_blur_sigma],
                                  so the noise is aimed at features a blur keeps: it transfers
                                  better to recognizers the probe does not hold
                                  (docs/protection.md). [0, 1], default 0 (off). */
    float diversity_blur_sigma; /**< The largest blur of @c diversity_blur, in pixels of the
                                  probe's face. [0.1, 8], default 1.5. */
} apf_probe_options;

/** @brief The device-side gradient computer (opaque). */
typedef struct apf_probe apf_probe;

/**
 * @brief Fill the first @p size bytes of @p opt with the defaults listed in
 *        ::apf_probe_options and set its @c struct_size to @p size.
 *
 * Writes no further than @p size, so a caller built against an older,
 * smaller ::apf_probe_options is safe with a newer library. Call it through
 * apf_probe_options_init(), which passes the caller's own sizeof.
 * @param opt  Options to initialise.
 * @param size sizeof(apf_probe_options) as the caller compiled it,
 *             #APF_PROBE_OPTIONS_MIN_SIZE or more.
 */
APF_API void apf_probe_options_init_size(apf_probe_options *opt, size_t size);

/**
 * @brief Fill @p opt with the defaults listed in ::apf_probe_options.
 *
 * A macro over apf_probe_options_init_size() with the caller's sizeof; the
 * exported function of this name (for binaries built against 0.2 headers)
 * writes the 0.2 struct's size.
 * @param opt Options to initialise.
 */
APF_API void apf_probe_options_init(apf_probe_options *opt);
/** @brief apf_probe_options_init() as callers compile it: passes their own
 *  sizeof to apf_probe_options_init_size(). */
#define apf_probe_options_init(opt) apf_probe_options_init_size((opt), sizeof *(opt))

/** @brief Smallest @c struct_size the library accepts: the struct up to and
 *  including @c attack. Fields beyond a caller's @c struct_size take their
 *  defaults. */
#define APF_PROBE_OPTIONS_MIN_SIZE (offsetof(apf_probe_options, attack) + sizeof(apf_attack))

/**
 * @brief Name of an attack ("fgsm", "i-fgsm", "mi-fgsm", "di2-fgsm", "m-di2-fgsm").
 * @param attack An attack.
 * @return A static string ("?" for unknown values).
 */
APF_API const char *apf_attack_name(apf_attack attack);

/**
 * @brief Parse an attack name (as apf_attack_name() prints it, any case).
 * @param name   The name.
 * @param attack Receives the attack.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_attack_from_name(const char *name, apf_attack *attack);

/**
 * @brief Create a probe from a `.apfm` model (normally models/mobilefacenet.apfm).
 * @param model_path Probe model file.
 * @param opt        Options, or NULL for the defaults.
 * @param out        Receives the probe; free with apf_probe_free().
 * @return ::APF_OK, ::APF_E_INVALID, or any status of apf_model_load().
 */
APF_API apf_status apf_probe_create(const char *model_path, const apf_probe_options *opt,
                                    apf_probe **out);

/**
 * @brief Add a recognizer to the probe's attack (a device-side ensemble).
 *
 * Each iteration's gradient is the weighted sum of every model's gradient,
 * each normalised to mean magnitude 1 per face (or one model per iteration
 * with ::APF_SCHEDULE_ROTATE). Not thread-safe against calls on the same
 * probe running at the same time.
 * @param probe      A probe.
 * @param model_path A recognizer `.apfm` (not a detector).
 * @param weight     Its weight, finite and in (0, 100]; the first model's is 1.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_LIMIT (already
 *         #APF_PROBE_MAX_MODELS models) or any status of apf_model_load().
 */
APF_API apf_status apf_probe_add_model(apf_probe *probe, const char *model_path, float weight);

/**
 * @brief Number of models the probe attacks (1 + those added).
 * @param probe A probe.
 * @return The count, or 0 for NULL.
 */
APF_API int apf_probe_model_count(const apf_probe *probe);

/** @brief Most input-diversity samples one model sees per iteration (apf_probe_set_model_samples()). */
#define APF_PROBE_MAX_SAMPLES 16

/**
 * @brief Let one of the probe's models see several transformed copies of
 *        the face per iteration.
 *
 * Each iteration every model sees the face through one random input-
 * diversity transform (DI2-FGSM, M-DI2-FGSM; for a face placed in its
 * photo also a re-alignment jitter). With @p samples > 1, model @p index
 * also sees samples - 1 further independent draws, and its gradient is
 * their sum (an expectation over transformations): a steadier direction,
 * for samples - 1 more passes of that model per iteration. Worth it for a
 * recognizer that is cheap but hard to break: the shipped setting gives
 * mobileface (about 1 ms a pass) several samples (docs/protection.md).
 * Attacks without input diversity, on faces not placed in a photo, would
 * see the same copy again; there the extra samples are skipped.
 * The draws come from each face's own random stream, so results stay
 * deterministic for a seed. Safe while the probe runs on another thread
 * (the call waits for it).
 * @param probe   A probe.
 * @param index   0..apf_probe_model_count() - 1 (0 is the probe model proper).
 * @param samples 1 (every model's default) .. #APF_PROBE_MAX_SAMPLES.
 * @return ::APF_OK or ::APF_E_INVALID (NULL, bad index or count).
 */
APF_API apf_status apf_probe_set_model_samples(apf_probe *probe, int index, int samples);

/**
 * @brief The samples per iteration of model @p index (apf_probe_set_model_samples()).
 * @param probe A probe.
 * @param index 0..apf_probe_model_count() - 1.
 * @return 1..#APF_PROBE_MAX_SAMPLES, or 0 for NULL or a bad index.
 */
APF_API int apf_probe_model_samples(const apf_probe *probe, int index);

/** @brief Longest refresh period of one model (apf_probe_set_model_period()). */
#define APF_PROBE_MAX_PERIOD 8

/**
 * @brief Compute one of the probe's models' gradient only every
 *        @p period iterations, reusing it in between.
 *
 * With period 1 (every model's default) each iteration runs every model
 * of the ensemble. With @p period > 1, model @p index runs on the first
 * iteration and then on the iterations i with (i + index) % period == 0;
 * on the others its last weighted contribution to the summed gradient is
 * added again. The offset by the index staggers two slow models of one
 * period, so they take turns. A stale gradient of a slow recognizer moves
 * the face almost as well as a fresh one, while the time it frees buys
 * more iterations for all models: the shipped setting refreshes faceres
 * and the dlib ResNet every second iteration and runs 11 iterations in
 * the device time of 8 (docs/protection.md). It applies to ensembles
 * (apf_probe_model_count() > 1) under ::APF_SCHEDULE_ALL; a model alone
 * runs every iteration (reusing its gradient would only repeat the last
 * step), and ::APF_SCHEDULE_ROTATE already runs one model per iteration.
 * Safe while the probe runs on another thread (the call waits for it).
 * @param probe  A probe.
 * @param index  0..apf_probe_model_count() - 1 (0 is the probe model proper).
 * @param period 1 .. #APF_PROBE_MAX_PERIOD.
 * @return ::APF_OK or ::APF_E_INVALID (NULL, bad index or period).
 */
APF_API apf_status apf_probe_set_model_period(apf_probe *probe, int index, int period);

/**
 * @brief The refresh period of model @p index (apf_probe_set_model_period()).
 * @param probe A probe.
 * @param index 0..apf_probe_model_count() - 1.
 * @return 1..#APF_PROBE_MAX_PERIOD, or 0 for NULL or a bad index.
 */
APF_API int apf_probe_model_period(const apf_probe *probe, int index);

/** @brief Most decoy faces one probe holds (apf_probe_set_decoys()). */
#define APF_PROBE_MAX_DECOYS 1024

/**
 * @brief Give the probe faces of other people to pull protected faces toward.
 *
 * With apf_probe_options::random_target > 0, each protected face is pulled,
 * with that weight, toward a direction in each model's embedding space.
 * Without decoys the direction is random. With decoys, each face gets one
 * decoy (drawn from its own random stream: the seed and its pixels) and,
 * in every model, the direction of that decoy's embedding (its part
 * orthogonal to the face's own): two protected photos of one person are
 * then pulled toward two different people and match each other less
 * (docs/protection.md measures it). The decoys should be aligned like the
 * faces the probe protects; the `apf` command ships 64 LFW faces of people
 * in no LFW pair (`weights/decoys.jpg`).
 *
 * The faces are copied. Each decoy's embedding by each model is computed
 * the first time a face gets that decoy (one forward pass) and kept.
 * Adding a model later is fine. Safe while the probe runs on another
 * thread (the call waits for it).
 * @param probe A probe.
 * @param faces @p n faces, @p size x @p size x 3 RGB bytes each; NULL with @p n = 0.
 * @param n     0 (remove the decoys: random directions again) .. #APF_PROBE_MAX_DECOYS.
 * @param size  Face side, 16 .. #APF_WIRE_MAX_SIDE (ignored for @p n = 0).
 * @return ::APF_OK, ::APF_E_INVALID (NULL probe, NULL faces with n > 0, n
 *         or size out of range; the decoys unchanged) or ::APF_E_NOMEM.
 */
APF_API apf_status apf_probe_set_decoys(apf_probe *probe, const uint8_t *faces, int n, int size);

/**
 * @brief Number of decoy faces the probe holds (apf_probe_set_decoys()).
 * @param probe A probe.
 * @return 0 .. #APF_PROBE_MAX_DECOYS, or 0 for NULL.
 */
APF_API int apf_probe_decoy_count(const apf_probe *probe);

/**
 * @brief Model @p i of the probe (0 is the probe model proper, as
 *        apf_probe_model() returns, then those added with
 *        apf_probe_add_model()), borrowed.
 *
 * For an application that also wants embeddings from the recognizers the
 * probe already holds (the `apf` command's self-check), without loading a
 * second copy. The model stays owned by the probe and valid until
 * apf_probe_free(); its calls are serialised by its own lock, so using it
 * while the probe runs on another thread is safe (they take turns).
 * @param probe A probe.
 * @param i     0..apf_probe_model_count() - 1.
 * @return The model, or NULL (with a message) for a bad index.
 */
APF_API apf_model *apf_probe_model_at(apf_probe *probe, int i);

/**
 * @brief Release a probe. NULL is ignored.
 * @param probe Probe to free.
 */
APF_API void apf_probe_free(apf_probe *probe);

/**
 * @brief Compute the ternary gradient g for a batch of aligned faces.
 *
 * Deterministic for a given seed and face: the same pixels always give the
 * same g, whatever else is in the batch.
 * @param probe    A probe.
 * @param faces    n faces of size x size RGB bytes, contiguous.
 * @param enrolled n enrolled faces x_e of the same shape, or NULL to push each
 *                 face away from its own clean embedding (x_e = x).
 * @param n        1..#APF_WIRE_MAX_FACES.
 * @param size     Face side, 16..#APF_WIRE_MAX_SIDE (112 for aligned faces).
 * @param g        Receives n*size*size*3 values in {-1, 0, 1}.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_probe_gradient(apf_probe *probe, const uint8_t *faces, const uint8_t *enrolled,
                                      int n, int size, int8_t *g);

/**
 * @brief apf_probe_gradient(), encoded as a wire blob ready to send.
 * @param probe    A probe.
 * @param faces    As apf_probe_gradient().
 * @param enrolled As apf_probe_gradient().
 * @param n        As apf_probe_gradient().
 * @param size     As apf_probe_gradient().
 * @param blob     Receives a malloc'd blob; release with free().
 * @param blob_size Receives its length.
 * @return As apf_probe_gradient(), or apf_wire_encode() failures.
 */
APF_API apf_status apf_probe_gradient_blob(apf_probe *probe, const uint8_t *faces,
                                           const uint8_t *enrolled, int n, int size, void **blob,
                                           size_t *blob_size);

/**
 * @brief apf_probe_gradient() for faces that will be protected inside a photo.
 *
 * The device adds a face's noise to the photo (apf_face_add_noise() samples
 * it at each photo pixel's aligned position, fading it out over the square's
 * outer 8 pixels) and a recognizer re-aligns the photo. Where the face is
 * smaller in the photo than in the aligned crop, that round trip keeps only
 * what the photo's coarser grid can carry. With each face's matrix the
 * attack optimises the face as the recognizer will see it after the round
 * trip, and the gradient flows back through it (both steps are linear
 * bilinear resamplings). Faces as large in the photo as aligned (a scale
 * of 1 or more) keep their noise through the round trip, which is then
 * left out. At every scale a recognizer re-detects the protected photo
 * and aligns it a little differently from the device, so every draw that
 * the input diversity leaves untransformed is instead shifted, turned and
 * rescaled by up to 2 pixels, 2 degrees and 2% (a face given the identity
 * matrix, an aligned crop as its own photo, is attacked that way too). The noise still lives
 * on the aligned grid, so g, the wire and the cloud are unchanged.
 * @param probe    A probe.
 * @param faces    As apf_probe_gradient().
 * @param enrolled As apf_probe_gradient().
 * @param n        As apf_probe_gradient().
 * @param size     As apf_probe_gradient().
 * @param to_image n 2x3 row-major matrices (6 doubles per face) from aligned
 *                 (u, v) to photo (x, y), as apf_face_align_matrix() gives;
 *                 NULL for apf_probe_gradient().
 * @param g        As apf_probe_gradient().
 * @return As apf_probe_gradient(); ::APF_E_INVALID also for a non-finite or
 *         singular matrix.
 */
APF_API apf_status apf_probe_gradient_placed(apf_probe *probe, const uint8_t *faces,
                                             const uint8_t *enrolled, int n, int size,
                                             const double *to_image, int8_t *g);

/**
 * @brief apf_probe_gradient_placed(), encoded as a wire blob ready to send.
 * @param probe     A probe.
 * @param faces     As apf_probe_gradient().
 * @param enrolled  As apf_probe_gradient().
 * @param n         As apf_probe_gradient().
 * @param size      As apf_probe_gradient().
 * @param to_image  As apf_probe_gradient_placed().
 * @param blob      Receives a malloc'd blob; release with free().
 * @param blob_size Receives its length.
 * @return As apf_probe_gradient_placed(), or apf_wire_encode() failures.
 */
APF_API apf_status apf_probe_gradient_blob_placed(apf_probe *probe, const uint8_t *faces,
                                                  const uint8_t *enrolled, int n, int size,
                                                  const double *to_image, void **blob,
                                                  size_t *blob_size);

/**
 * @brief apf_probe_gradient_placed() that also says how far the attack moved each value.
 *
 * The attack's own result is x0 + reach * g (values rounded); eps * g, what
 * the paper applies, moves every value by the whole budget although most
 * moved less. The reach is the device's to keep: it is not part of g, never
 * goes on the wire, and apf_limit_noise_to_reach() bounds the cloud's noise
 * by it before the noise is added.
 * @param probe    A probe.
 * @param faces    As apf_probe_gradient().
 * @param enrolled As apf_probe_gradient().
 * @param n        As apf_probe_gradient().
 * @param size     As apf_probe_gradient().
 * @param to_image As apf_probe_gradient_placed() (NULL: faces stand alone).
 * @param g        Receives n*size*size*3 values in {-1, 0, 1}.
 * @param reach    NULL, or receives n*size*size*3 values, each |x_T - x0| rounded
 *                 (0 to eps rounded up).
 * @return As apf_probe_gradient_placed().
 */
APF_API apf_status apf_probe_gradient_reach(apf_probe *probe, const uint8_t *faces,
                                            const uint8_t *enrolled, int n, int size,
                                            const double *to_image, int8_t *g, uint8_t *reach);

/**
 * @brief apf_probe_gradient_reach(), g encoded as a wire blob ready to send.
 * @param probe     A probe.
 * @param faces     As apf_probe_gradient().
 * @param enrolled  As apf_probe_gradient().
 * @param n         As apf_probe_gradient().
 * @param size      As apf_probe_gradient().
 * @param to_image  As apf_probe_gradient_placed().
 * @param reach     As apf_probe_gradient_reach() (NULL: not wanted); not in the blob.
 * @param blob      Receives a malloc'd blob; release with free().
 * @param blob_size Receives its length.
 * @return As apf_probe_gradient_blob_placed().
 */
APF_API apf_status apf_probe_gradient_blob_reach(apf_probe *probe, const uint8_t *faces,
                                                 const uint8_t *enrolled, int n, int size,
                                                 const double *to_image, uint8_t *reach,
                                                 void **blob, size_t *blob_size);

/**
 * @brief Bound each noise value by the attack's reach: noise = clamp(noise, -reach, reach).
 *
 * The device's step before adding the cloud's noise when the probe's
 * @c reach_budget is on (apf_photo_job does it itself). Apply it after
 * apf_probe_limit_noise(); the order does not matter, both only shrink.
 * @param noise Integer pixel offsets, clamped in place.
 * @param reach As apf_probe_gradient_reach() gave for the same faces.
 * @param count Number of values, >= 1.
 * @return ::APF_OK or ::APF_E_INVALID (NULL or zero count).
 */
APF_API apf_status apf_limit_noise_to_reach(int8_t *noise, const uint8_t *reach, size_t count);

/**
 * @brief The options a probe runs with (after defaults were applied).
 *
 * Writes at most @p opt->struct_size bytes: initialise @p opt with
 * apf_probe_options_init() first.
 * @param probe A probe.
 * @param opt   Receives a copy, as much as its @c struct_size holds.
 * @return ::APF_OK or ::APF_E_INVALID (also for a @c struct_size below
 *         #APF_PROBE_OPTIONS_MIN_SIZE).
 */
APF_API apf_status apf_probe_get_options(const apf_probe *probe, apf_probe_options *opt);

/**
 * @brief Change the settings of an existing probe (its models stay loaded).
 *
 * For a caller that attacks some faces harder than others, for example
 * again with more iterations when a self-check finds a face still matched
 * (`apf protect --retry`). Fields beyond @p opt->struct_size take their
 * defaults, as in apf_probe_create(). Waits for a running call on the
 * same probe; later calls use the new settings. A @c threads of 0 leaves
 * the models' thread count as it was.
 * @param probe A probe.
 * @param opt   Options initialised with apf_probe_options_init() (usually
 *              a copy from apf_probe_get_options(), changed).
 * @return ::APF_OK, or ::APF_E_INVALID (NULL, or options
 *         apf_probe_create() would refuse; the probe keeps its settings).
 */
APF_API apf_status apf_probe_set_options(apf_probe *probe, const apf_probe_options *opt);

/**
 * @brief The probe's model (for embedding faces with it, e.g. self-checks).
 * @param probe A probe.
 * @return The model, owned by the probe, or NULL.
 */
APF_API apf_model *apf_probe_model(apf_probe *probe);

/**
 * @brief Limit a noise to the probe's per-pixel budget for these faces.
 *
 * With a @c texture_ssim option each value is clamped to the bound the
 * face's local texture allows (the same bound the attack used); without
 * it, to [-eps, eps]. The device calls this on the cloud's noise before
 * adding it, since only the device has the image the bound comes from.
 * @param probe A probe.
 * @param faces n faces of size x size RGB bytes (the originals).
 * @param n     1..#APF_WIRE_MAX_FACES.
 * @param size  Face side, 16..#APF_WIRE_MAX_SIDE.
 * @param noise n*size*size*3 integer pixel offsets, clamped in place.
 * @return ::APF_OK, ::APF_E_INVALID or ::APF_E_NOMEM.
 */
APF_API apf_status apf_probe_limit_noise(apf_probe *probe, const uint8_t *faces, int n, int size,
                                         int8_t *noise);

/**
 * @brief Add a perturbation to faces: out = clip(faces + scale * values, 0, 255).
 *
 * With g from apf_probe_gradient() and scale = eps this gives the end-only
 * protected face APF_g; with a decoded cloud noise s and scale = 1, APF_s.
 * @param faces  count bytes (any layout).
 * @param values count perturbation values.
 * @param count  Number of bytes, >= 1.
 * @param scale  Multiplier for @p values, finite, |scale| <= 255.
 * @param out    Receives count bytes (may equal @p faces).
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_apply_perturbation(const uint8_t *faces, const int8_t *values, size_t count,
                                          float scale, uint8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* APF_END_H */
