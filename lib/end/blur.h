/* Separable Gaussian blur of one face's HWC float values (size x size x 3),
 * edges mirrored: the texture budget's local statistics and the smoothing
 * of the attack's gradient (translation-invariant attack) both use it. */
#ifndef APF_BLUR_H
#define APF_BLUR_H

/* Largest face side blur_hwc takes (the wire's, APF_WIRE_MAX_SIDE). */
#define BLUR_MAX_SIDE 512

/* out = in blurred by a Gaussian of `sigma` pixels in x and y, each
 * channel alone (radius ceil(3 sigma), at most 24 and size - 1); tmp holds
 * size*size*3 floats; size <= BLUR_MAX_SIDE. out may be in (the rows go to
 * tmp before out is written), not tmp. */
void blur_hwc(const float *in, float *tmp, float *out, int size, float sigma);

#endif
