/* The network holder shared by apf_model and apf_transfer (net.h). */
#include <stdlib.h>

#include "net.h"

apf_status net_open(net *n, int train_flags, int one_plan)
{
    n->infer = n->train = NULL;
    n->train_flags = train_flags;
    n->one_plan = one_plan;
    n->threads = 0;
    apf_status st = eng_ctx_create(&n->ctx);
    if (st)
        return st;
    pthread_mutex_init(&n->lock, NULL);
    return APF_OK;
}

void net_drop_plans(net *n)
{
    pthread_mutex_lock(&n->lock);
    gplan_free(n->infer);
    gplan_free(n->train);
    n->infer = n->train = NULL;
    pthread_mutex_unlock(&n->lock);
}

void net_close(net *n)
{
    gplan_free(n->infer);
    gplan_free(n->train);
    n->infer = n->train = NULL;
    if (n->ctx) {
        eng_ctx_free(n->ctx);
        pthread_mutex_destroy(&n->lock);
        n->ctx = NULL;
    }
    graph_free(&n->g);
}

int net_enter(net *n)
{
    pthread_mutex_lock(&n->lock);
    int previous = apf_use_threads(n->threads);
    apf_flush_denormals_enter();
    return previous;
}

void net_leave(net *n, int previous)
{
    apf_flush_denormals_leave();
    apf_restore_threads(previous);
    pthread_mutex_unlock(&n->lock);
}

apf_status net_set_threads(net *n, int threads, const char *what)
{
    if (threads < 1 || threads > 256)
        return apf_fail(APF_E_INVALID, "%s: threads must be 1..256", what);
    pthread_mutex_lock(&n->lock);
    n->threads = threads;
    pthread_mutex_unlock(&n->lock);
    return APF_OK;
}

apf_status net_plan(net *n, int batch, int train, gplan **out)
{
    gplan **slot = train ? &n->train : &n->infer;
    if (train && n->one_plan && n->infer && gplan_batch(n->infer) == batch) {
        /* the forward will use the training plan from now on: drop the
         * inference plan before building it so both are never resident */
        gplan_free(n->infer);
        n->infer = NULL;
    }
    if (!*slot || gplan_batch(*slot) != batch) {
        gplan_free(*slot);
        *slot = NULL;
        apf_status st = gplan_create(n->ctx, &n->g, batch, train ? n->train_flags : 0, slot);
        if (st)
            return st;
    }
    *out = *slot;
    return APF_OK;
}

apf_status net_forward(net *n, int batch, int train, const float *in, float *out)
{
    gplan *p;
    apf_status st = net_plan(n, batch, train, &p);
    return st ? st : gplan_forward(p, in, out);
}

apf_status net_backward(net *n, int batch, const float *d_out, float *d_in)
{
    if (!n->train || gplan_batch(n->train) != batch)
        return apf_fail(APF_E_STATE, "%s: backward needs a training forward with batch %d", n->meta.name,
                        batch);
    return gplan_backward(n->train, d_out, d_in);
}

const float *net_weight_grad(const net *n, int j, const float **bias_grad)
{
    return n->train ? gplan_weight_grad(n->train, j, bias_grad) : NULL;
}

apf_status net_refresh_weights(net *n, int j)
{
    apf_status st = APF_OK;
    if (n->train)
        st = gplan_refresh_weights(n->train, j);
    if (!st && n->infer)
        st = gplan_refresh_weights(n->infer, j);
    return st;
}
