/* A face-recognition network as a list of nodes, and per-batch execution
 * plans that run it forward and backward. The graph layer speaks in tensors
 * and layers; all oneDNN details stay behind engine.h. */
#ifndef APF_GRAPH_H
#define APF_GRAPH_H

#include "engine.h"

/* graph_finalize and graph_free are exported to the other libapf libraries
 * as apf__<name> (the cloud builds and saves graphs); plans stay inside the
 * core, behind net.h. */
#define graph_finalize apf__graph_finalize
#define graph_free apf__graph_free

/* Node kinds; the numbers are the .apfm op codes (docs/model-format.md). */
enum {
    OP_INPUT = 0,
    OP_CONV = 1,        /* t0: weights OHWI (I = c/groups), t1: bias */
    OP_PRELU = 2,       /* t0: per-channel slope */
    OP_CLIP = 3,        /* f0..f1: lo, hi (use +-3e38 for open ends) */
    OP_ADD = 4,         /* two inputs of one shape */
    OP_MAXPOOL = 5,
    OP_AVGPOOL = 6,
    OP_GAP = 7,         /* global average pool to 1x1 */
    OP_FC = 8,          /* t0: weights OI over the NHWC-flattened input, t1: bias */
    OP_PAD = 9,         /* zero pad: pt, pb, pl, pr spatially, cpad channels after */
    OP_SCALE_SHIFT = 10,/* t0: per-channel scale, t1: per-channel shift */
    OP_UPSAMPLE = 11,   /* nearest-neighbour, integer factor kh (rows) x kw (columns) */
    OP_CONCAT = 12,     /* channels of input 0, then channels of input 1 */
    OP_COUNT
};

/* Integer attribute slots (the .apfm iattr array). */
enum { A_KH, A_KW, A_SH, A_SW, A_PT, A_PB, A_PL, A_PR, A_GROUPS, A_DH, A_DW, A_COUT, A_CPAD,
       A_COUNT = 16 };

typedef struct gnode {
    int op;
    int in[2];          /* input node indices, -1 when unused */
    int a[A_COUNT];
    float f[4];
    int h, w, c;        /* output shape */
    float *t[2];        /* owned parameter tensors */
    size_t tn[2];
    int fused_into;     /* CLIP fused into its producing conv: that conv's index, else -1 */
} gnode;

#define GRAPH_MAX_OUTPUTS 16

typedef struct graph {
    int n;
    gnode *nodes;
    int n_out;                    /* outputs: 1 (the last node) for recognizers */
    int out[GRAPH_MAX_OUTPUTS];   /* node indices; a detector lists its heads */
} graph;

/* Check every node's inputs, attributes, output shape and tensor sizes, and
 * mark conv+clip pairs for fusion. */
APF_PRIVATE apf_status graph_finalize(graph *g);
APF_PRIVATE void graph_free(graph *g);

typedef struct gplan gplan;

/* flags: ENG_TRAIN_DATA for backward to the input, ENG_TRAIN_WEIGHTS for
 * weight gradients (not needed for frozen recognizers). */
APF_HIDDEN apf_status gplan_create(eng_ctx *ctx, const graph *g, int batch, int flags, gplan **out);
APF_HIDDEN int gplan_batch(const gplan *p);
APF_HIDDEN int gplan_flags(const gplan *p);
/* in: batch x H x W x C of node 0; out: batch x (output node size). */
APF_HIDDEN apf_status gplan_forward(gplan *p, const float *in, float *out);
/* Output k's activations after the last forward (batch x h x w x c). */
APF_HIDDEN const float *gplan_output(const gplan *p, int k);
/* Requires a forward on this plan first. d_in may be NULL (weights only).
 * d_out is the gradient of the last node; other outputs of a multi-output
 * graph (a detector's heads) get no gradient of their own. */
APF_HIDDEN apf_status gplan_backward(gplan *p, const float *d_out, float *d_in);
/* Plans built with ENG_TRAIN_WEIGHTS: after a backward pass, the weight and
 * bias gradients of conv node j (plain OHWI layout), else NULL. */
APF_HIDDEN const float *gplan_weight_grad(const gplan *p, int j, const float **bias_grad);
/* Load new weights for conv node j from the graph (after an update). */
APF_HIDDEN apf_status gplan_refresh_weights(gplan *p, int j);
APF_HIDDEN void gplan_free(gplan *p);
/* Bytes in the plan's activation and gradient buffers (not counting the
 * layers' weights, PReLU masks or scratch). */
APF_HIDDEN size_t gplan_buffer_bytes(const gplan *p);

#endif
