/* Element-wise passes of the graph (PReLU forward and backward, sums).
 *
 * They are memory bound, but only once they are vectorised wide enough:
 * the baseline x86-64 build (SSE2) ran MobileFaceNet's PReLUs at about half
 * the speed of an AVX2 build, 20% of a forward+backward pass. Each kernel
 * is therefore compiled twice, for AVX2 and for the baseline, and picks one
 * per call from the CPU's features (no global state of ours). */
#ifndef APF_ELTWISE_H
#define APF_ELTWISE_H

#include <stddef.h>

#include "internal.h"

#define eltw_prelu_fwd apf__eltw_prelu_fwd
#define eltw_add apf__eltw_add
#define eltw_clip_mask apf__eltw_clip_mask
#define eltw_clip_bwd_masked apf__eltw_clip_bwd_masked
#define eltw_prelu_fwd_masked apf__eltw_prelu_fwd_masked
#define eltw_prelu_bwd_masked apf__eltw_prelu_bwd_masked
/* (hidden: only the graph layer of libapf-core calls them) */

/* Below this many floats a pass runs on the calling thread: waking the
 * other threads costs more than it saves. */
#define ELTW_PAR_MIN 65536

/* y = x > 0 ? x : a[k] * x over pixels x c NHWC values (k: the channel);
 * y may be x. */
void eltw_prelu_fwd(const float *x, float *y, const float *a, size_t pixels, int c);
/* As eltw_prelu_fwd, and mask[i] = x[i] > 0 keeps what the backward pass
 * needs (a byte, not the float x); y may be x. */
void eltw_prelu_fwd_masked(const float *x, float *y, unsigned char *mask, const float *a,
                           size_t pixels, int c);
/* dx = dy * (mask ? 1 : a[k]); dx may be dy. */
void eltw_prelu_bwd_masked(const unsigned char *mask, const float *dy, float *dx, const float *a,
                           size_t pixels, int c);
/* mask[i] = lo < y[i] < hi over a clip's output y (ReLU, ReLU6): where its
 * backward pass lets the gradient through. */
void eltw_clip_mask(const float *y, unsigned char *mask, size_t n, float lo, float hi);
/* dx = dy * mask; dx may be dy. */
void eltw_clip_bwd_masked(const unsigned char *mask, const float *dy, float *dx, size_t n);
/* y = u + v over n values; y may be u or v. */
void eltw_add(const float *u, const float *v, float *y, size_t n);

#endif
