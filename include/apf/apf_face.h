/**
 * @file apf_face.h
 * @brief Faces in whole photos: detection (BlazeFace), alignment to the
 *        112x112 ArcFace template, and mapping a face's noise back onto the
 *        photo. Part of libapf-photo.
 *
 * Coordinates are image pixels with pixel centres at integers. Landmarks use
 * the ArcFace order: image-left eye, image-right eye, nose tip, image-left
 * mouth corner, image-right mouth corner. The alignment matrix maps aligned
 * 112x112 coordinates to photo coordinates (the form apf_warp_affine() and
 * apf_face_crop() take).
 */
#ifndef APF_FACE_H
#define APF_FACE_H

#include "apf/apf_photo.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Side of an aligned face. */
#define APF_FACE_SIZE 112

/** Width, in aligned pixels, of the band along the aligned square's edge over
 *  which apf_face_add_noise() fades the noise out (smoothstep from full
 *  strength to none), so protected photos show no seam where it ends. */
#define APF_FACE_FADE 8

/** @brief A face in a photo. */
typedef struct apf_face {
    float score;             /**< Detector confidence in [0, 1] (1 for faces the caller gave). */
    float box[4];            /**< x0, y0, x1, y1 of the face box. */
    float landmarks[5][2];   /**< (x, y) per landmark, ArcFace order (see the file comment). */
    int mouth_centre_only;   /**< Nonzero when only the mouth centre is known (BlazeFace):
                                  it is in landmarks[3] and landmarks[4]. */
} apf_face;

/** @brief A face detector (opaque). */
typedef struct apf_detector apf_detector;

/**
 * @brief Load a detector model (models/blazeface.apfm).
 * @param model_path A `.apfm` file flagged as a detector with BlazeFace's
 *                   four heads (16x16x2 and 8x8x6 scores, 16x16x32 and
 *                   8x8x96 boxes with six keypoints).
 * @param out        Receives the detector; free with apf_detector_free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_UNSUPPORTED (not such a
 *         detector) or any status of apf_model_load().
 */
APF_API apf_status apf_detector_create(const char *model_path, apf_detector **out);

/**
 * @brief Release a detector. NULL is ignored.
 * @param det Detector to free.
 */
APF_API void apf_detector_free(apf_detector *det);

/**
 * @brief CPU threads for the detector's networks (and its face check's).
 * @param det     A detector.
 * @param threads 1..256; the default is the OpenMP default.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_detector_set_threads(apf_detector *det, int threads);

/**
 * @brief Minimum confidence for a detection (default 0.5).
 * @param det       A detector.
 * @param min_score In (0, 1).
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_detector_set_threshold(apf_detector *det, float min_score);

/** @brief apf protect's threshold for apf_detector_set_face_check(): the
 *  one \@vladmandic/human applies to this score. On LFW's photos no labelled
 *  face scores below 0.75; docs/app.md ("Animal faces") has what 0.2 and
 *  stricter thresholds drop, of animals and of people in the background. */
#define APF_FACE_CHECK_MIN_SCORE 0.2f

/**
 * @brief Keep only detections that look like a person's face.
 *
 * BlazeFace also fires on animal faces (a cat, a squirrel). With a face
 * check, apf_detect_faces() scores each detection with a second network
 * (MediaPipe FaceMesh's face-presence output, models/facemesh.apfm from
 * tools/setup-models.sh) on a 192x192 crop of its box enlarged 1.4 times
 * and turned upright (its eye line level), as FaceMesh is fed, and drops
 * those scoring below @p min_score. A detector has no check until this is
 * called, and then detects as before.
 * @param det        A detector.
 * @param model_path The check's model, or NULL to remove the check.
 * @param min_score  In [0, 1); 0 scores every detection but keeps them all
 *                   (see apf_detector_face_score()).
 * @return ::APF_OK, ::APF_E_INVALID (bad @p min_score), ::APF_E_UNSUPPORTED
 *         (not a 192x192 model with one output), or any status of
 *         apf_model_load(). On failure the detector keeps its previous check.
 */
APF_API apf_status apf_detector_set_face_check(apf_detector *det, const char *model_path, float min_score);

/**
 * @brief How much a face looks like a person's face, by the face check.
 *
 * The score apf_detect_faces() compares with the check's threshold. The
 * crop is placed by the face's box and eyes, so it suits the detector's
 * faces; a face from apf_face_from_landmarks() has a box around its
 * landmarks only, smaller than the detector's, and scores lower.
 * @param det   A detector with a face check (apf_detector_set_face_check()).
 * @param img   The photo the face is in.
 * @param face  The face (its box and eyes place the crop).
 * @param score Receives a probability-like score in [0, 1].
 * @return ::APF_OK, ::APF_E_INVALID (NULL, degenerate landmarks, no check
 *         set), ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_detector_face_score(apf_detector *det, const apf_image *img, const apf_face *face,
                                           float *score);

/**
 * @brief Detections the face check dropped in the detector's last
 *        apf_detect_faces() call (with calls from several threads, the
 *        last to finish).
 * @param det A detector.
 * @return The count (0 without a check), or -1 for NULL.
 */
APF_API int apf_detector_rejected_count(const apf_detector *det);

/**
 * @brief Find faces in a photo.
 *
 * The photo is padded to a square and scaled to the network's input (area
 * averaging when shrinking); overlapping candidates are merged by
 * score-weighted averaging. Faces come out by decreasing score. With a face
 * check (apf_detector_set_face_check()), detections it scores below its
 * threshold are left out (apf_detector_rejected_count() counts them).
 * @param det       A detector.
 * @param img       The photo.
 * @param faces     Receives up to @p max_faces faces.
 * @param max_faces Capacity of @p faces, >= 1.
 * @param count     Receives the number found (may exceed @p max_faces:
 *                  only the best @p max_faces are written).
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM or ::APF_E_BACKEND.
 */
APF_API apf_status apf_detect_faces(apf_detector *det, const apf_image *img, apf_face *faces,
                                    int max_faces, int *count);

/**
 * @brief A face from five landmarks given by the caller (ArcFace order).
 * @param landmarks Five (x, y) points; all finite.
 * @param face      Receives the face (score 1, box around the landmarks).
 * @return ::APF_OK or ::APF_E_INVALID (NULL, non-finite or coincident eyes).
 */
APF_API apf_status apf_face_from_landmarks(const float landmarks[5][2], apf_face *face);

/**
 * @brief Similarity transform from the aligned 112x112 face to the photo.
 *
 * Least-squares fit of the landmarks to the ArcFace template (five points,
 * or eyes, nose and mouth centre when only the centre is known).
 * @param face     A face.
 * @param to_image Receives the 2x3 row-major matrix: (x, y) in the photo =
 *                 to_image * (u, v, 1) for (u, v) in the aligned face.
 * @return ::APF_OK or ::APF_E_INVALID (degenerate landmarks).
 */
APF_API apf_status apf_face_align_matrix(const apf_face *face, double to_image[6]);

/**
 * @brief Cut the aligned face out of the photo (bilinear; black outside).
 * @param img      The photo.
 * @param to_image Matrix from apf_face_align_matrix().
 * @param face     Receives 112*112*3 RGB bytes.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_face_crop(const apf_image *img, const double to_image[6], uint8_t *face);

/**
 * @brief Add an aligned face's noise to the photo, in the photo's pixels.
 *
 * Each photo pixel that maps inside the aligned square gets the noise
 * sampled (bilinear) at its aligned position, faded out over the square's
 * outer #APF_FACE_FADE pixels (weight 0 at the edge). The result is kept within
 * eps of @p original in every channel (so several faces' noise never adds
 * up beyond the budget) and within 0..255.
 * @param photo    The protected photo, updated in place (same size as @p original).
 * @param original The unprotected photo.
 * @param to_image Matrix from apf_face_align_matrix().
 * @param noise    112*112*3 values, the decoded cloud noise s.
 * @param eps      Budget in pixel units, (0, 64].
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_face_add_noise(apf_image *photo, const apf_image *original,
                                      const double to_image[6], const int8_t *noise, float eps);

#ifdef __cplusplus
}
#endif

#endif /* APF_FACE_H */
