/* The backward-to-input of a strided depthwise convolution on NHWC
 * tensors, as a gather in plain C and OpenMP: every input pixel sums ddst
 * times the per-channel weight of each tap that read it. The engine uses it
 * instead of oneDNN 2.6's jit_dw backward-data kernel, which ran
 * MobileFaceNet's stride-2 depthwise layers at 2-3x their forward time in
 * the model (engine_dnnl.c, depthwise_gather_wanted). */
#ifndef APF_DW_ADJOINT_H
#define APF_DW_ADJOINT_H

#include "engine.h"

#define dw_adjoint_make apf__dw_adjoint_make
#define dw_adjoint_free apf__dw_adjoint_free
#define dw_adjoint_set_weights apf__dw_adjoint_set_weights
#define dw_adjoint_run apf__dw_adjoint_run

typedef struct dw_adjoint dw_adjoint;

/* Taps per kernel handled (7x7 fits); the engine leaves larger kernels to
 * oneDNN. */
#define DW_ADJOINT_MAX_TAPS 64

/* For the depthwise convolution d (groups == c == o, at most
 * DW_ADJOINT_MAX_TAPS taps).
 * NULL when out of memory or d is not such a convolution. */
dw_adjoint *dw_adjoint_make(const eng_conv_desc *d);
void dw_adjoint_free(dw_adjoint *t);
/* w: the plain weights, GOHWI with O/G = I/G = 1 (c x kh x kw). */
void dw_adjoint_set_weights(dw_adjoint *t, const float *w);
/* ddst: n x oh x ow x c; dsrc: n x h x w x c, overwritten. */
void dw_adjoint_run(const dw_adjoint *t, const float *ddst, float *dsrc);

#endif
