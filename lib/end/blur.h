/* Separable Gaussian blur of one face's HWC float values (size x size x 3),
 * edges mirrored: the texture budget's local statistics and the smoothing
 * of the attack's gradient (translation-invariant attack) both use it. */
#ifndef APF_BLUR_H
#define APF_BLUR_H

/* Taps each side of the centre for a Gaussian of this standard deviation:
 * ceil(3 sigma), at most size - 1 (the mirror reaches no further). */
int blur_radius(float sigma, int size);

/* Largest face side blur_hwc takes (the wire's, APF_WIRE_MAX_SIDE). */
#define BLUR_MAX_SIDE 512

/* out = in blurred by a Gaussian of `sigma` pixels in x and y, each
 * channel alone; tmp holds size*size*3 floats; size <= BLUR_MAX_SIDE. in
 * and out may not alias. */
void blur_hwc(const float *in, float *tmp, float *out, int size, float sigma);

#endif
