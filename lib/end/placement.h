/* Placement: where an aligned face sits in its photo, as the attack sees it.
 *
 * The device adds the noise to the photo, not to the aligned crop: each
 * photo pixel takes the noise sampled at its aligned position (faded at the
 * square's edge, apf_face_add_noise), and a recognizer re-aligns the photo,
 * sampling it again. Where the face is smaller in the photo than the
 * 112-pixel crop, that round trip keeps only what the photo's coarser grid
 * can carry, and a noise optimised on the crop loses much of its effect.
 * The attack therefore optimises what the recognizer will see:
 * x0 + R(delta), R = re-align(fade * sample-into-photo(delta)), both linear,
 * with R's adjoint carrying the gradient back. */
#ifndef APF_PLACEMENT_H
#define APF_PLACEMENT_H

#include "apf/apf_core.h"

typedef struct placement {
    int placed;        /* 1: the face sits in a photo (a matrix was given): a recognizer re-detects it */
    int active;        /* 0: R is the identity (no matrix, or the face is as large in the photo as aligned) */
    int size;          /* aligned side */
    int pw, ph;        /* photo patch holding the aligned square */
    double to_patch[6];   /* aligned (u, v) -> patch (x, y) */
    double to_aligned[6]; /* patch (x, y) -> aligned (u, v) */
    float *fade;       /* pw * ph: the noise's weight at each patch pixel */
    float *patch;      /* pw * ph * 3 scratch */
} placement;

/* Set up R for a face whose aligned square maps into the photo by
 * to_image (as apf_face_align_matrix gives), or the identity for NULL.
 * Returns APF_OK, APF_E_INVALID (singular or non-finite matrix) or APF_E_NOMEM. */
apf_status placement_init(placement *pl, const double *to_image, int size);
/* APF_OK when m (6 values) is a usable placement: finite, not singular. */
apf_status placement_check(const double *m);
void placement_free(placement *pl);
/* out = R(delta), size x size x 3 each. */
void placement_forward(placement *pl, const float *delta, float *out);
/* d_delta = R^T(d_out) (overwrites d_delta). */
void placement_backward(placement *pl, const float *d_out, float *d_delta);

#endif
