/* Public face-recognition model API: load, embed, back-propagate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_file.h"
#include "model_internal.h"
#include "net.h"

#define MAX_BATCH 1024

struct apf_model {
    net net; /* graph, engine, cached plans, lock, threads (net.h) */
    uint64_t hash;
    float *in_buf, *dout_buf, *din_buf, *raw_buf;
    size_t in_cap, out_cap;
};

apf_status apf_model_load_memory(const void *data, size_t size, apf_model **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "model: out is NULL");
    *out = NULL;
    if (!data)
        return apf_fail(APF_E_INVALID, "model: data is NULL");
    apf_model *m = calloc(1, sizeof *m);
    if (!m)
        return apf_fail(APF_E_NOMEM, "model: out of memory");
    apf_status st = apfm_parse(data, size, &m->net.meta, &m->net.g);
    /* recognizers are frozen: backward to the input only; a training plan
     * replaces the inference plan of its batch size */
    if (!st)
        st = net_open(&m->net, ENG_TRAIN_DATA, 1);
    if (st) {
        net_close(&m->net);
        free(m);
        return st;
    }
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        h = (h ^ ((const uint8_t *)data)[i]) * 1099511628211ull;
    m->hash = h;
    *out = m;
    return APF_OK;
}

apf_status apf_model_load(const char *path, apf_model **out)
{
    if (!path || !out)
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    apf_status rs = apf_read_file(path, APFM_MAX_PAYLOAD + APFM_HEADER_SIZE, "model", &buf, &size);
    if (rs)
        return rs;
    apf_status st = apf_model_load_memory(buf, size, out);
    free(buf);
    if (st) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", apf_last_error());
        apf_fail(st, "%s: %s", path, msg);
    }
    return st;
}

void apf_model_free(apf_model *m)
{
    if (!m)
        return;
    net_close(&m->net);
    free(m->in_buf);
    free(m->dout_buf);
    free(m->din_buf);
    free(m->raw_buf);
    free(m);
}

const char *apf_model_name(const apf_model *m)
{
    return m ? m->net.meta.name : "";
}

int apf_model_input_size(const apf_model *m)
{
    return m ? m->net.meta.in_h : 0;
}

uint64_t apf_model_hash(const apf_model *m)
{
    return m ? m->hash : 0;
}

int apf_model_embedding_dim(const apf_model *m)
{
    return m ? m->net.meta.embed_dim : 0;
}

apf_status apf_model_set_threads(apf_model *m, int threads)
{
    if (!m)
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    return net_set_threads(&m->net, threads, "model");
}

/* Grow the per-handle scratch buffers for a batch of n. */
static apf_status reserve(apf_model *m, int n)
{
    size_t in = (size_t)n * m->net.meta.in_h * m->net.meta.in_w * 3;
    const gnode *last = &m->net.g.nodes[m->net.g.n - 1];
    size_t out = (size_t)n * last->h * last->w * last->c;
    if (in > m->in_cap) {
        free(m->in_buf);
        free(m->din_buf);
        m->in_buf = apf_calloc(in, sizeof(float));
        m->din_buf = apf_calloc(in, sizeof(float));
        m->in_cap = (m->in_buf && m->din_buf) ? in : 0;
        if (!m->in_cap)
            return apf_fail(APF_E_NOMEM, "model: out of memory for batch %d", n);
    }
    if (out > m->out_cap) {
        free(m->dout_buf);
        free(m->raw_buf);
        m->dout_buf = apf_calloc(out, sizeof(float));
        m->raw_buf = apf_calloc(out, sizeof(float));
        m->out_cap = (m->dout_buf && m->raw_buf) ? out : 0;
        if (!m->out_cap)
            return apf_fail(APF_E_NOMEM, "model: out of memory for batch %d", n);
    }
    return APF_OK;
}

static apf_status check_faces(const apf_model *m, const float *faces, int n, int size)
{
    if (!m || !faces)
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    if (m->net.meta.flags & APFM_FLAG_MAP_OUTPUT)
        return apf_fail(APF_E_INVALID, "model: %s is a detector, not a recognizer", m->net.meta.name);
    if (n < 1 || n > MAX_BATCH)
        return apf_fail(APF_E_INVALID, "model: batch %d not in 1..%d", n, MAX_BATCH);
    if (size < 16 || size > 1024)
        return apf_fail(APF_E_INVALID, "model: face size %d not in 16..1024", size);
    if (apf_has_nonfinite(faces, (size_t)n * size * size * 3))
        return apf_fail(APF_E_NUMERIC, "model: faces contain NaN or infinity");
    return APF_OK;
}

/* faces (0..255 RGB, size x size) -> network input tensor in m->in_buf. */
static void preprocess(apf_model *m, const float *faces, int n, int size)
{
    int s = m->net.meta.in_h;
    size_t per = (size_t)s * s * 3;
    for (int b = 0; b < n; b++) {
        float *t = m->in_buf + b * per;
        const float *f = faces + (size_t)b * size * size * 3;
        if (size == s)
            memcpy(t, f, per * sizeof(float));
        else
            apf_resize((float *)f, size, size, 3, t, s, s, 0);
        for (size_t p = 0; p < (size_t)s * s; p++) {
            float r = t[3 * p], g = t[3 * p + 1], bl = t[3 * p + 2];
            if (m->net.meta.bgr) {
                t[3 * p] = bl;
                t[3 * p + 2] = r;
            }
            (void)g;
            for (int k = 0; k < 3; k++)
                t[3 * p + k] = (t[3 * p + k] - m->net.meta.mean[k]) * m->net.meta.scale[k];
        }
    }
}

/* Adjoint of preprocess: d(tensor) in m->din_buf -> d(faces). */
static void preprocess_adjoint(apf_model *m, int n, int size, float *d_faces)
{
    int s = m->net.meta.in_h;
    size_t per = (size_t)s * s * 3;
    memset(d_faces, 0, (size_t)n * size * size * 3 * sizeof(float));
    for (int b = 0; b < n; b++) {
        float *t = m->din_buf + b * per;
        for (size_t p = 0; p < (size_t)s * s; p++) {
            for (int k = 0; k < 3; k++)
                t[3 * p + k] *= m->net.meta.scale[k];
            if (m->net.meta.bgr) {
                float tmp = t[3 * p];
                t[3 * p] = t[3 * p + 2];
                t[3 * p + 2] = tmp;
            }
        }
        float *d = d_faces + (size_t)b * size * size * 3;
        if (size == s)
            memcpy(d, t, per * sizeof(float));
        else
            apf_resize(d, size, size, 3, t, s, s, 1);
    }
}

static void l2_normalise(const float *raw, float *e, int n, int dim)
{
    for (int b = 0; b < n; b++) {
        double s = 0;
        for (int k = 0; k < dim; k++)
            s += (double)raw[b * dim + k] * raw[b * dim + k];
        float inv = (float)(1.0 / sqrt(s + 1e-20));
        for (int k = 0; k < dim; k++)
            e[b * dim + k] = raw[b * dim + k] * inv;
    }
}

apf_status apf_model_embed(apf_model *m, const float *faces, int n, int size, float *embedding)
{
    if (!embedding) /* every pointer is checked before any is read */
        return apf_fail(APF_E_INVALID, "model: embedding is NULL");
    apf_status st = check_faces(m, faces, n, size);
    if (st)
        return st;
    int omp_previous = net_enter(&m->net);
    gplan *p = NULL;
    st = reserve(m, n);
    /* A training plan of this batch size computes the same forward pass:
     * reuse it rather than holding a second plan (and its weight copies). */
    if (!st && m->net.train && gplan_batch(m->net.train) == n)
        p = m->net.train;
    else if (!st)
        st = net_plan(&m->net, n, 0, &p);
    if (!st) {
        preprocess(m, faces, n, size);
        st = gplan_forward(p, m->in_buf, m->raw_buf);
    }
    if (!st)
        l2_normalise(m->raw_buf, embedding, n, m->net.meta.embed_dim);
    net_leave(&m->net, omp_previous);
    return st;
}

apf_status apf_model_embed_backward(apf_model *m, const float *faces, int n, int size,
                                    float *embedding,
                                    int (*loss_fn)(const float *, int, int, float *, void *),
                                    const float *d_embedding_in, void *user, float *d_faces)
{
    if (!d_faces || (!loss_fn && !d_embedding_in))
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    apf_status st = check_faces(m, faces, n, size);
    if (st)
        return st;
    int dim = m->net.meta.embed_dim;
    int omp_previous = net_enter(&m->net);
    gplan *p = NULL;
    float *e = NULL, *de = NULL;
    st = reserve(m, n);
    if (!st)
        st = net_plan(&m->net, n, 1, &p);
    if (!st) {
        e = apf_calloc((size_t)n * dim, sizeof(float));
        de = apf_calloc((size_t)n * dim, sizeof(float));
        if (!e || !de)
            st = apf_fail(APF_E_NOMEM, "model: out of memory");
    }
    if (!st) {
        preprocess(m, faces, n, size);
        st = gplan_forward(p, m->in_buf, m->raw_buf);
    }
    if (!st) {
        l2_normalise(m->raw_buf, e, n, dim);
        if (embedding)
            memcpy(embedding, e, (size_t)n * dim * sizeof(float));
        if (loss_fn) {
            if (loss_fn(e, n, dim, de, user) != 0)
                st = apf_fail(APF_E_INVALID, "model: loss callback failed");
        } else {
            memcpy(de, d_embedding_in, (size_t)n * dim * sizeof(float));
        }
    }
    if (!st && apf_has_nonfinite(de, (size_t)n * dim))
        st = apf_fail(APF_E_NUMERIC, "model: embedding gradient is not finite");
    if (!st) {
        /* d raw = (de - e (e . de)) / |raw| */
        for (int b = 0; b < n; b++) {
            double norm = 0, dot = 0;
            for (int k = 0; k < dim; k++) {
                norm += (double)m->raw_buf[b * dim + k] * m->raw_buf[b * dim + k];
                dot += (double)e[b * dim + k] * de[b * dim + k];
            }
            float inv = (float)(1.0 / sqrt(norm + 1e-20));
            for (int k = 0; k < dim; k++)
                m->dout_buf[b * dim + k] = (de[b * dim + k] - e[b * dim + k] * (float)dot) * inv;
        }
        st = gplan_backward(p, m->dout_buf, m->din_buf);
    }
    if (!st)
        preprocess_adjoint(m, n, size, d_faces);
    free(e);
    free(de);
    net_leave(&m->net, omp_previous);
    return st;
}

/* Forward on the network's own input tensor (no resize, no preprocessing).
 * Copies the last node into `output` (may be NULL) and every listed output
 * into `outputs` (may be NULL). */
static apf_status forward_tensor(apf_model *m, const float *input, int n, int train, float *output,
                                 float *const *outputs)
{
    if (!m || !input || (!output && !outputs))
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    if (n < 1 || n > MAX_BATCH)
        return apf_fail(APF_E_INVALID, "model: batch %d not in 1..%d", n, MAX_BATCH);
    for (int k = 0; outputs && k < m->net.g.n_out; k++)
        if (!outputs[k])
            return apf_fail(APF_E_INVALID, "model: output buffer %d is NULL", k);
    size_t count = (size_t)n * m->net.meta.in_h * m->net.meta.in_w * 3;
    if (apf_has_nonfinite(input, count))
        return apf_fail(APF_E_NUMERIC, "model: input contains NaN or infinity");
    int omp_previous = net_enter(&m->net);
    gplan *p = NULL;
    apf_status st = reserve(m, n);
    if (!st)
        st = net_plan(&m->net, n, train, &p);
    if (!st) {
        memcpy(m->in_buf, input, count * sizeof(float));
        st = gplan_forward(p, m->in_buf, output ? output : m->raw_buf);
    }
    for (int k = 0; !st && outputs && k < m->net.g.n_out; k++) {
        const gnode *o = &m->net.g.nodes[m->net.g.out[k]];
        memcpy(outputs[k], gplan_output(p, k), (size_t)n * o->h * o->w * o->c * sizeof(float));
    }
    net_leave(&m->net, omp_previous);
    return st;
}

apf_status apf_model_forward_raw(apf_model *m, const float *input, int n, int train, float *output)
{
    if (!output)
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    if (m && (m->net.meta.flags & APFM_FLAG_MAP_OUTPUT)) /* outputs sized by apf_model_output_shape() */
        return apf_fail(APF_E_INVALID, "model: %s is a detector: use apf_model_forward_outputs()", m->net.meta.name);
    return forward_tensor(m, input, n, train, output, NULL);
}

int apf_model_output_count(const apf_model *m)
{
    return m ? m->net.g.n_out : 0;
}

apf_status apf_model_output_shape(const apf_model *m, int k, int *h, int *w, int *c)
{
    if (!m || k < 0 || k >= m->net.g.n_out || !h || !w || !c)
        return apf_fail(APF_E_INVALID, "model: bad output index");
    const gnode *o = &m->net.g.nodes[m->net.g.out[k]];
    *h = o->h, *w = o->w, *c = o->c;
    return APF_OK;
}

apf_status apf_model_forward_outputs(apf_model *m, const float *input, int n, float *const *outputs)
{
    if (!outputs)
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    return forward_tensor(m, input, n, 0, NULL, outputs);
}

apf_status apf_model_backward_raw(apf_model *m, const float *d_output, int n, float *d_input)
{
    if (!m || !d_output || !d_input)
        return apf_fail(APF_E_INVALID, "model: NULL argument");
    int omp_previous = net_enter(&m->net);
    apf_status st = net_backward(&m->net, n, d_output, d_input);
    net_leave(&m->net, omp_previous);
    return st;
}

void model_drop_plans(apf_model *m)
{
    net_drop_plans(&m->net);
}

void model_preprocessing(const apf_model *m, float mean[3], float scale[3], int *bgr, int *detector)
{
    for (int c = 0; c < 3; c++) {
        mean[c] = m->net.meta.mean[c];
        scale[c] = m->net.meta.scale[c];
    }
    *bgr = m->net.meta.bgr;
    *detector = (m->net.meta.flags & APFM_FLAG_MAP_OUTPUT) != 0;
}
