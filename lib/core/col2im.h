/* The adjoint of im2col for convolutions on NHWC images: every input pixel
 * sums the column entries (one per kernel tap and channel of each output
 * pixel) that read it. Plain C and OpenMP; the engine uses it for the
 * backward-to-input of image layers (engine_dnnl.c, lowered_backward). */
#ifndef APF_COL2IM_H
#define APF_COL2IM_H

#include "engine.h"

#define col2im_make apf__col2im_make
#define col2im_free apf__col2im_free
#define col2im_run apf__col2im_run

typedef struct col2im col2im;

/* For the convolution d (c <= 4 input channels). NULL when out of memory. */
col2im *col2im_make(const eng_conv_desc *d);
void col2im_free(col2im *t);
/* col: n x oh x ow x kpad, tap (ky, kx, ci) at (ky * kw + kx) * c + ci;
 * dsrc: n x h x w x c, overwritten. */
void col2im_run(const col2im *t, const float *col, int kpad, float *dsrc);

#endif
