/**
 * @file apf_photo_job.h
 * @brief Whole-photo protection on the device, in two calls around the
 *        network hop. Part of libapf-photo (which uses libapf-end's probe).
 *
 * @code
 * apf_photo_job *job;
 * apf_photo_job_create(probe, detector, photo, NULL, 0, &job);   // detect, align, g
 * apf_photo_job_gradient_blob(job, &g, &g_size);                 // the only bytes that leave
 * ...send g, receive the noise blob s...
 * apf_photo_job_apply(job, s, s_size, 0, &protected_photo);      // check s, add it to the photo
 * apf_photo_job_free(job);
 * @endcode
 *
 * The `apf` command, the Python and Go bindings and the examples all run
 * this pipeline. A job is one photo's state between the two calls; it is
 * not shared between threads. It borrows the probe and the photo: both
 * must outlive it (the detector is only used during create).
 */
#ifndef APF_PHOTO_JOB_H
#define APF_PHOTO_JOB_H

#include "apf/apf_end.h"
#include "apf/apf_face.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief One photo between the device's two steps (opaque). */
typedef struct apf_photo_job apf_photo_job;

/** @brief Most faces one job protects (one wire blob); further faces are
 *  counted by apf_photo_job_faces_found() but left as they are. */
#define APF_PHOTO_JOB_MAX_FACES APF_WIRE_MAX_FACES

/**
 * @brief Step 1: find the faces, align each to 112x112 and compute g.
 *
 * The faces are @p faces when given (for instance, boxes a photo manager
 * already tagged, turned into faces by apf_face_from_landmarks()), else the
 * detector's, best first, at most #APF_PHOTO_JOB_MAX_FACES. The gradient
 * blob (apf_photo_job_gradient_blob()) holds every face's g. A photo with
 * no face gives ::APF_OK and a job with no faces and no blob.
 * @param probe    The device probe (borrowed: keep it until the job is freed).
 * @param detector A face detector, or NULL when @p faces are given.
 * @param photo    The photo (borrowed: keep it until the job is freed).
 * @param faces    The caller's faces, or NULL to detect.
 * @param n_faces  Number of @p faces (0 with NULL).
 * @param out      Receives the job; free with apf_photo_job_free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_NOMEM, or any status of the
 *         detector, the alignment or the probe.
 */
APF_API apf_status apf_photo_job_create(apf_probe *probe, apf_detector *detector, const apf_image *photo,
                                        const apf_face *faces, int n_faces, apf_photo_job **out);

/**
 * @brief Release a job. NULL is ignored.
 * @param job A job.
 */
APF_API void apf_photo_job_free(apf_photo_job *job);

/**
 * @brief Faces detected (or given), which may exceed those protected.
 * @param job A job.
 * @return The count, or -1 for NULL.
 */
APF_API int apf_photo_job_faces_found(const apf_photo_job *job);

/**
 * @brief Faces in the gradient blob, which step 2 protects.
 * @param job A job.
 * @return 0..#APF_PHOTO_JOB_MAX_FACES, or -1 for NULL.
 */
APF_API int apf_photo_job_face_count(const apf_photo_job *job);

/**
 * @brief Face @p i of the blob, in photo coordinates.
 * @param job  A job.
 * @param i    0..apf_photo_job_face_count() - 1.
 * @param face Receives the face.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_photo_job_face(const apf_photo_job *job, int i, apf_face *face);

/**
 * @brief The bytes to send to the cloud filter: g for every face.
 * @param job  A job.
 * @param blob Receives a pointer owned by the job (NULL when it has no face).
 * @param size Receives the size in bytes (0 when it has no face).
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_photo_job_gradient_blob(const apf_photo_job *job, const void **blob, size_t *size);

/**
 * @brief Step 2: check the cloud's noise blob and apply it to a copy of the photo.
 *
 * The blob must be noise (not a gradient) for exactly this job's faces at
 * 112x112, with a budget no larger than the probe's eps; anything else is
 * refused before a pixel changes. The noise is clamped to each face's own
 * per-pixel budget (apf_probe_limit_noise()), mapped back through each
 * face's alignment and added in the photo's own pixels within eps of the
 * original (apf_face_add_noise()). The new image carries the photo's
 * metadata under the privacy policy (apf_image_copy_metadata_keep()).
 * A job may be applied more than once (the same blob gives the same photo).
 * @param job       A job with at least one face.
 * @param blob      The noise blob from the cloud filter.
 * @param size      Its size in bytes.
 * @param keep      Metadata bits for apf_image_copy_metadata_keep() (0: the privacy policy).
 * @param protected_photo Receives the protected photo; free with apf_image_free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_STATE (no face), ::APF_E_FORMAT
 *         (not noise for these faces or over budget), ::APF_E_CHECKSUM,
 *         ::APF_E_NOMEM.
 */
APF_API apf_status apf_photo_job_apply(apf_photo_job *job, const void *blob, size_t size, unsigned keep,
                                       apf_image **protected_photo);

/**
 * @brief The aligned 112x112 crop of face @p i from the original photo, and
 *        with the same alignment from a protected photo (for a self-check).
 * @param job        A job.
 * @param i          0..apf_photo_job_face_count() - 1.
 * @param protected_photo A photo from apf_photo_job_apply(), or NULL.
 * @param original   Receives 112*112*3 bytes, or NULL.
 * @param protected_ Receives 112*112*3 bytes cut from @p protected_photo, or NULL.
 * @return ::APF_OK or ::APF_E_INVALID.
 */
APF_API apf_status apf_photo_job_crops(const apf_photo_job *job, int i, const apf_image *protected_photo,
                                       uint8_t *original, uint8_t *protected_);

#ifdef __cplusplus
}
#endif

#endif /* APF_PHOTO_JOB_H */
