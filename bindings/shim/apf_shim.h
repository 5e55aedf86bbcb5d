/**
 * @file apf_shim.h
 * @brief The flat layer the SWIG bindings (Python, Go) are generated from.
 *
 * Not part of libapf's public ABI: it is compiled into each binding. It
 * exists so both languages see one shape of API that their array typemaps
 * fit: every array is a pointer plus an element count that is checked
 * against the shape arguments (a binding can never hand libapf a short
 * buffer); handles come back as return values with the status in @c *status;
 * variable-size results (blobs, decoded payloads) come back as an owned
 * ::apfs_buffer the binding copies out and frees. Only plain C types appear,
 * so typemaps written for `unsigned char`, `signed char` and `float` apply.
 */
#ifndef APF_SHIM_H
#define APF_SHIM_H

#include "apf/apf.h"

/** @brief An owned byte buffer returned to a binding. */
typedef struct apfs_buffer apfs_buffer;
/** @brief A decoded wire blob: header fields plus values. */
typedef struct apfs_wire apfs_wire;

/* Errors and version */
const char *apfs_last_error(void);
const char *apfs_status_string(int status);
const char *apfs_version(void);

/* Buffers */
int apfs_buffer_size(const apfs_buffer *b);
int apfs_buffer_copy(const apfs_buffer *b, unsigned char *dst, int dst_len);
void apfs_buffer_free(apfs_buffer *b);

/* Images (8-bit RGB, height x width x 3) */
apf_image *apfs_image_load(const char *path, int *status);
int apfs_image_width(const apf_image *img);
int apfs_image_height(const apf_image *img);
int apfs_image_copy(const apf_image *img, unsigned char *dst, int dst_len);
void apfs_image_free(apf_image *img);
int apfs_image_save(const unsigned char *pixels, int pixels_len, int width, int height,
                    const char *path, int jpeg_quality);

/* Recognition models */
apf_model *apfs_model_load(const char *path, int *status);
void apfs_model_free(apf_model *m);
const char *apfs_model_name(const apf_model *m);
int apfs_model_dim(const apf_model *m);
int apfs_model_input_size(const apf_model *m);
unsigned long long apfs_model_hash(const apf_model *m);
int apfs_model_set_threads(apf_model *m, int threads);
int apfs_model_embed(apf_model *m, const float *faces, int faces_len, int n, int size,
                     float *embedding, int embedding_len);
int apfs_model_gradient(apf_model *m, const float *faces, int faces_len, int n, int size,
                        const float *d_embedding, int d_embedding_len, float *d_faces,
                        int d_faces_len);

/* End side */
/* Options as "name=value" pairs separated by spaces or commas, named as
 * the fields of apf_probe_options (attack, eps, step, iterations, momentum,
 * diversity_prob, enrol_offset, offset_fraction, offset_range, seed,
 * threads, random_target, schedule, texture_ssim, g_flip, g_drop,
 * smooth_sigma, reach_budget); a field not named keeps the C default, so
 * the bindings repeat no default. */
apf_probe *apfs_probe_create_with(const char *model_path, const char *options, int *status);
/* A field of the probe's options as it runs (after defaults), by the same
 * names; the attack and schedule as their enum values. */
double apfs_probe_option(apf_probe *p, const char *name, int *status);
/* Change some of a running probe's options (the same list; fields not
 * named keep what the probe runs with). */
int apfs_probe_set_options(apf_probe *p, const char *options);
void apfs_probe_free(apf_probe *p);
int apfs_probe_add_model(apf_probe *p, const char *model_path, float weight);
int apfs_probe_model_count(apf_probe *p);
/* apf_probe_set_model_samples / apf_probe_model_samples (0: bad index). */
int apfs_probe_set_model_samples(apf_probe *p, int index, int samples);
int apfs_probe_model_samples(apf_probe *p, int index);
/* apf_probe_set_model_period / apf_probe_model_period (0: bad index). */
int apfs_probe_set_model_period(apf_probe *p, int index, int period);
int apfs_probe_model_period(apf_probe *p, int index);
/* apf_probe_set_decoys: n faces of size x size x 3 (n = 0: none) / apf_probe_decoy_count. */
int apfs_probe_set_decoys(apf_probe *p, const unsigned char *faces, int faces_len, int n, int size);
int apfs_probe_decoy_count(apf_probe *p);
int apfs_probe_limit_noise(apf_probe *p, const unsigned char *faces, int faces_len, int n, int size,
                           signed char *dst, int dst_len);
int apfs_probe_gradient(apf_probe *p, const unsigned char *faces, int faces_len,
                        const unsigned char *enrolled, int enrolled_len, int n, int size,
                        signed char *g, int g_len);
/* apf_probe_gradient_placed: m holds 6 doubles per face (aligned -> photo). */
int apfs_probe_gradient_placed(apf_probe *p, const unsigned char *faces, int faces_len,
                               const unsigned char *enrolled, int enrolled_len, const double *m, int m_len,
                               int n, int size, signed char *g, int g_len);
apfs_buffer *apfs_probe_gradient_blob(apf_probe *p, const unsigned char *faces, int faces_len,
                                      const unsigned char *enrolled, int enrolled_len, int n,
                                      int size, int *status);
/* apf_probe_gradient_reach: g and each value's reach (how far the attack
 * moved it, 0..eps); m as above, or empty (m_len 0) for faces that stand
 * alone. */
int apfs_probe_gradient_reach(apf_probe *p, const unsigned char *faces, int faces_len,
                              const unsigned char *enrolled, int enrolled_len, const double *m, int m_len,
                              int n, int size, signed char *g, int g_len, unsigned char *reach,
                              int reach_len);
/* apf_probe_gradient_blob_reach: the wire blob of g, and the reach (which
 * stays on the device) into reach. */
apfs_buffer *apfs_probe_gradient_blob_reach(apf_probe *p, const unsigned char *faces, int faces_len,
                                           const unsigned char *enrolled, int enrolled_len,
                                           const double *m, int m_len, int n, int size,
                                           unsigned char *reach, int reach_len, int *status);
/* apf_limit_noise_to_reach: clamp noise (in place) to +-reach, value by value. */
int apfs_limit_noise_to_reach(signed char *dst, int dst_len, const unsigned char *reach, int reach_len);
int apfs_apply(const unsigned char *faces, int faces_len, const signed char *values,
               int values_len, float scale, unsigned char *out, int out_len);

/* Wire blobs */
apfs_buffer *apfs_wire_encode(int kind, int algorithm, int n, int height, int width, float eps,
                              unsigned long long model_hash, const signed char *values,
                              int values_len, int *status);
apfs_wire *apfs_wire_decode(const unsigned char *blob, int blob_len, int *status);
int apfs_wire_kind(const apfs_wire *w);
int apfs_wire_algorithm(const apfs_wire *w);
int apfs_wire_n(const apfs_wire *w);
int apfs_wire_height(const apfs_wire *w);
int apfs_wire_width(const apfs_wire *w);
float apfs_wire_eps(const apfs_wire *w);
unsigned long long apfs_wire_model_hash(const apfs_wire *w);
int apfs_wire_values(const apfs_wire *w, signed char *dst, int dst_len);
void apfs_wire_free(apfs_wire *w);

/* Cloud side */
apf_transfer *apfs_transfer_load(const char *path, int *status);
void apfs_transfer_free(apf_transfer *t);
int apfs_transfer_set_threads(apf_transfer *t, int threads);
apf_enhancer *apfs_enhancer_load(const char *path, int *status);
void apfs_enhancer_free(apf_enhancer *e);
apfs_buffer *apfs_cloud_filter(apf_transfer *t, const apf_enhancer *e, const unsigned char *blob,
                               int blob_len, int *status);
int apfs_cloud_noise(apf_transfer *t, const apf_enhancer *e, const signed char *g, int g_len, int n,
                     float eps, float *s, int s_len);

/* Faces in photos: a face is APFS_FACE_FLOATS floats (score, x0 y0 x1 y1,
 * five landmark x y pairs in ArcFace order, then 1 if only the mouth centre
 * is known); the alignment matrix is 6 doubles (aligned -> photo). */
#define APFS_FACE_FLOATS 16
apf_detector *apfs_detector_create(const char *path, int *status);
void apfs_detector_free(apf_detector *d);
int apfs_detector_set_threshold(apf_detector *d, float min_score);
int apfs_detect(apf_detector *d, const unsigned char *pixels, int pixels_len, int width, int height,
                float *faces, int faces_len, int *count);
/* The face check (apf_detector_set_face_check): path NULL or "" removes it. */
int apfs_detector_set_face_check(apf_detector *d, const char *path, float min_score);
int apfs_detector_face_score(apf_detector *d, const unsigned char *pixels, int pixels_len, int width, int height,
                             const float *face, int face_len, float *score);
int apfs_detector_rejected_count(apf_detector *d);
int apfs_face_align(const float *face, int face_len, double *matrix, int matrix_len);
int apfs_face_crop(const unsigned char *pixels, int pixels_len, int width, int height,
                   const double *m, int m_len, unsigned char *dst, int dst_len);
int apfs_face_add_noise(unsigned char *out, int out_len, const unsigned char *original,
                        int original_len, int width, int height, const double *m, int m_len,
                        const signed char *values, int values_len, float eps);

/* The whole-photo pipeline (apf_photo_job.h) in two calls around the
 * network hop. The job owns a copy of the photo's pixels. faces_len 0
 * (faces unused) detects with the detector; otherwise faces are rows of
 * APFS_FACE_FLOATS. apfs_job_apply writes the protected photo's pixels
 * (width x height x 3) into out. */
typedef struct apfs_job apfs_job;
apfs_job *apfs_job_create(apf_probe *p, apf_detector *d, const unsigned char *pixels, int pixels_len,
                          int width, int height, const float *face, int face_len, int *status);
void apfs_job_free(apfs_job *j);
int apfs_job_face_count(const apfs_job *j);
int apfs_job_faces_found(const apfs_job *j);
int apfs_job_faces(const apfs_job *j, float *faces, int faces_len);
apfs_buffer *apfs_job_gradient_blob(const apfs_job *j, int *status);
int apfs_job_apply(apfs_job *j, const unsigned char *blob, int blob_len, int keep_metadata,
                   unsigned char *out, int out_len);

/* Evaluation */
int apfs_ssim(const unsigned char *a, int a_len, const unsigned char *b, int b_len, int width,
              int height, double *ssim);
apf_evaluator *apfs_evaluator_create(const char *model_paths, int threads, int *status);
void apfs_evaluator_free(apf_evaluator *ev);
int apfs_evaluator_model_count(const apf_evaluator *ev);
const char *apfs_evaluator_model_name(apf_evaluator *ev, int model);
int apfs_evaluator_similarity(apf_evaluator *ev, int model, const unsigned char *a, int a_len,
                              const unsigned char *b, int b_len, int n, int size, float *sim,
                              int sim_len);
int apfs_evaluator_calibrate(apf_evaluator *ev, const unsigned char *a, int a_len,
                             const unsigned char *b, int b_len, const unsigned char *same,
                             int same_len, int n, int size);
int apfs_evaluator_threshold(const apf_evaluator *ev, int model, float *threshold,
                             double *accuracy);
int apfs_evaluator_asr(apf_evaluator *ev, int model, const unsigned char *original, int original_len,
                       const unsigned char *protected_, int protected_len,
                       const unsigned char *other, int other_len, int n, int size, double *asr,
                       int *matched_before, int *matched_after);

#endif /* APF_SHIM_H */
