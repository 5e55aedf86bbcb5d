/* Element-wise graph ops oneDNN does not do (ops.c); plan.c calls them. */
#ifndef APF_OPS_H
#define APF_OPS_H

#include <stddef.h>

#include "graph.h"

/* y = min(max(x, lo), hi) over n values. */
APF_HIDDEN void op_clip(const float *x, float *y, size_t n, float lo, float hi);
/* y = a[k] x + b[k] per channel k of c, over pixels x c values. */
APF_HIDDEN void op_scale_shift(const float *x, float *y, const float *a, const float *b, size_t pixels,
                                int c);
/* Zero padding of node n (input x): copy small into the padded big
 * (to_big), or the adjoint, big's interior back into small. */
APF_HIDDEN void op_pad(const float *small, float *big, const gnode *n, const gnode *x, int batch,
                         int to_big);
/* Nearest upsampling x -> y by node n's factors (or, adjoint, summing each
 * block of y back into x). */
APF_HIDDEN void op_upsample(const float *x, float *y, const gnode *xn, const gnode *n, int batch, int adjoint);
/* Channel concatenation of a (ca) and b (cb) into y (or, split, the adjoint). */
APF_HIDDEN void op_concat(const float *a, const float *b, float *y, int ca, int cb, size_t pixels, int split);
/* Adjoint of op_scale_shift with respect to x: dx = a[k] dy. */
APF_HIDDEN void op_scale_backward(const float *dy, float *dx, const float *a, size_t pixels, int c);
/* dst = src over n values (parallel above the element-wise threshold). */
APF_HIDDEN void op_copy(const float *src, float *dst, size_t n);

#endif
