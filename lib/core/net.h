/* One network held for calls: its metadata and graph, the engine context,
 * the execution plans cached for the last batch size, the handle's lock
 * and thread count. apf_model (recognizers, the detector) and apf_transfer
 * (the cloud's U-Net) both hold one, so the caching, locking and threading
 * rules are written once. */
#ifndef APF_NET_H
#define APF_NET_H

#include <pthread.h>

#include "model_file.h"

#define net_open apf__net_open
#define net_close apf__net_close
#define net_enter apf__net_enter
#define net_leave apf__net_leave
#define net_set_threads apf__net_set_threads
#define net_plan apf__net_plan
#define net_forward apf__net_forward
#define net_backward apf__net_backward
#define net_weight_grad apf__net_weight_grad
#define net_refresh_weights apf__net_refresh_weights
#define net_drop_plans apf__net_drop_plans

typedef struct net {
    apfm_meta meta;
    graph g;
    eng_ctx *ctx;
    gplan *infer, *train; /* cached for the last batch size each was used with */
    int train_flags;      /* ENG_TRAIN_DATA, with ENG_TRAIN_WEIGHTS for a trainable net */
    int one_plan;         /* a training plan replaces the inference plan of its batch (memory) */
    int threads;          /* 0: the OpenMP default */
    pthread_mutex_t lock; /* serialises calls on the handle */
} net;

/* meta and g already filled (and g finalized): make the engine context and
 * the lock. On failure nothing is held but meta and g (net_close frees them). */
APF_PRIVATE apf_status net_open(net *n, int train_flags, int one_plan);
APF_PRIVATE void net_close(net *n);
/* One call on the handle: take the lock and the handle's thread count;
 * net_leave restores the caller's OpenMP count and releases the lock. */
APF_PRIVATE int net_enter(net *n);
APF_PRIVATE void net_leave(net *n, int previous);
APF_PRIVATE apf_status net_set_threads(net *n, int threads, const char *what);
/* Inside enter/leave: the plan for (batch, train), rebuilt when the batch changes. */
APF_PRIVATE apf_status net_plan(net *n, int batch, int train, gplan **out);
/* Inside enter/leave: a forward pass (train: on the training plan, for a
 * backward next), and the backward of the last training forward. */
APF_PRIVATE apf_status net_forward(net *n, int batch, int train, const float *in, float *out);
APF_PRIVATE apf_status net_backward(net *n, int batch, const float *d_out, float *d_in);
/* Trainable nets: conv node j's weight gradient after a backward, and its
 * new weights pushed into every cached plan after an update. */
APF_PRIVATE const float *net_weight_grad(const net *n, int j, const float **bias_grad);
APF_PRIVATE apf_status net_refresh_weights(net *n, int j);
/* Free the cached plans (their activation memory); the next call rebuilds
 * them. Takes the handle's lock. */
APF_PRIVATE void net_drop_plans(net *n);

#endif
