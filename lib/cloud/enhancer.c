/* apf_enhancer: the universal perturbation u and E(u) = conv1x1(beta*u + gamma)
 * (paper section 3.5, Eq. 8). Small enough to compute in plain C; stored as
 * an .apfm graph INPUT(u stored) -> SCALE_SHIFT(beta, gamma) -> CONV 1x1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_cloud.h"
#include "../core/model_file.h"
#include "adam.h"

#define S APF_CLOUD_SIZE
#define NPIX ((size_t)S * S)

enum { P_BETA = 0, P_GAMMA = 3, P_W = 6, P_B = 15, P_COUNT = 18 };

struct apf_enhancer {
    float u[NPIX * 3];
    float p[P_COUNT];  /* beta[3], gamma[3], W[3][3] (out x in), b[3] */
    float dp[P_COUNT];
    float m[P_COUNT], v[P_COUNT];
    long steps;
};

static void identity(apf_enhancer *e)
{
    memset(e->p, 0, sizeof e->p);
    for (int c = 0; c < 3; c++) {
        e->p[P_BETA + c] = 1.0f;
        e->p[P_W + 3 * c + c] = 1.0f;
    }
}

apf_status apf_enhancer_create(const float *u, apf_enhancer **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "enhancer: out is NULL");
    *out = NULL;
    if (u && apf_has_nonfinite(u, NPIX * 3))
        return apf_fail(APF_E_NUMERIC, "enhancer: u is not finite");
    apf_enhancer *e = calloc(1, sizeof *e);
    if (!e)
        return apf_fail(APF_E_NOMEM, "enhancer: out of memory");
    if (u)
        memcpy(e->u, u, sizeof e->u);
    identity(e);
    *out = e;
    return APF_OK;
}

void apf_enhancer_free(apf_enhancer *e)
{
    free(e);
}

apf_status apf_enhancer_set_universal(apf_enhancer *e, const float *u)
{
    if (!e || !u)
        return apf_fail(APF_E_INVALID, "enhancer: NULL argument");
    if (apf_has_nonfinite(u, NPIX * 3))
        return apf_fail(APF_E_NUMERIC, "enhancer: u is not finite");
    memcpy(e->u, u, sizeof e->u);
    return APF_OK;
}

apf_status apf_enhancer_set_gain(apf_enhancer *e, float gain)
{
    if (!e)
        return apf_fail(APF_E_INVALID, "enhancer: NULL argument");
    if (!isfinite(gain))
        return apf_fail(APF_E_NUMERIC, "enhancer: gain is not finite");
    if (fabsf(gain) > 16.0f)
        return apf_fail(APF_E_INVALID, "enhancer: |gain| must be at most 16");
    for (int c = 0; c < 3; c++)
        e->p[P_BETA + c] = gain;
    return APF_OK;
}

apf_status apf_enhancer_output(const apf_enhancer *e, float *eu)
{
    if (!e || !eu)
        return apf_fail(APF_E_INVALID, "enhancer: NULL argument");
    const float *p = e->p;
    for (size_t q = 0; q < NPIX; q++) {
        float v[3];
        for (int i = 0; i < 3; i++)
            v[i] = p[P_BETA + i] * e->u[3 * q + i] + p[P_GAMMA + i];
        for (int o = 0; o < 3; o++)
            eu[3 * q + o] = p[P_B + o] + p[P_W + 3 * o] * v[0] + p[P_W + 3 * o + 1] * v[1] +
                            p[P_W + 3 * o + 2] * v[2];
    }
    return APF_OK;
}

apf_status apf_enhancer_backward(apf_enhancer *e, const float *d)
{
    if (!e || !d)
        return apf_fail(APF_E_INVALID, "enhancer: NULL argument");
    double acc[P_COUNT] = {0};
    const float *p = e->p;
    for (size_t q = 0; q < NPIX; q++) {
        float v[3], dv[3] = {0, 0, 0};
        for (int i = 0; i < 3; i++)
            v[i] = p[P_BETA + i] * e->u[3 * q + i] + p[P_GAMMA + i];
        for (int o = 0; o < 3; o++) {
            float g = d[3 * q + o];
            acc[P_B + o] += g;
            for (int i = 0; i < 3; i++) {
                acc[P_W + 3 * o + i] += (double)g * v[i];
                dv[i] += p[P_W + 3 * o + i] * g;
            }
        }
        for (int i = 0; i < 3; i++) {
            acc[P_BETA + i] += (double)dv[i] * e->u[3 * q + i];
            acc[P_GAMMA + i] += dv[i];
        }
    }
    for (int k = 0; k < P_COUNT; k++)
        e->dp[k] += (float)acc[k];
    return APF_OK;
}

apf_status apf_enhancer_adam_step(apf_enhancer *e, float lr)
{
    if (!e || !(lr > 0 && lr < 1))
        return apf_fail(APF_E_INVALID, "enhancer: learning rate must be in (0, 1)");
    adam a = {e->m, e->v, 0};
    adam_update(&a, e->p, e->dp, P_COUNT, lr, ++e->steps);
    memset(e->dp, 0, sizeof e->dp);
    return APF_OK;
}

/* ---- file form ---- */

apf_status apf_enhancer_save(const apf_enhancer *e, const char *path)
{
    if (!e || !path)
        return apf_fail(APF_E_INVALID, "enhancer: NULL argument");
    gnode nodes[3];
    memset(nodes, 0, sizeof nodes);
    float beta[3], gamma[3], w[9], b[3], *u = (float *)e->u;
    memcpy(beta, e->p + P_BETA, sizeof beta);
    memcpy(gamma, e->p + P_GAMMA, sizeof gamma);
    memcpy(w, e->p + P_W, sizeof w);
    memcpy(b, e->p + P_B, sizeof b);
    nodes[0] = (gnode){.op = OP_INPUT, .in = {-1, -1}, .h = S, .w = S, .c = 3, .t = {u}, .tn = {NPIX * 3}};
    nodes[1] = (gnode){.op = OP_SCALE_SHIFT, .in = {0, -1}, .h = S, .w = S, .c = 3, .t = {beta, gamma}, .tn = {3, 3}};
    nodes[2] = (gnode){.op = OP_CONV, .in = {1, -1}, .h = S, .w = S, .c = 3, .t = {w, b}, .tn = {9, 3}};
    int a[A_COUNT] = {[A_KH] = 1, [A_KW] = 1, [A_SH] = 1, [A_SW] = 1, [A_GROUPS] = 1, [A_DH] = 1,
                      [A_DW] = 1, [A_COUT] = 3};
    memcpy(nodes[2].a, a, sizeof a);
    graph g = {3, nodes, 1, {2}};
    apfm_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.name, sizeof meta.name, "apf-enhancer");
    meta.in_h = meta.in_w = S, meta.in_c = 3;
    meta.scale[0] = meta.scale[1] = meta.scale[2] = 1.0f;
    meta.flags = APFM_FLAG_MAP_OUTPUT;
    return apfm_write(path, &meta, &g);
}

apf_status apf_enhancer_load(const char *path, apf_enhancer **out)
{
    if (!path || !out)
        return apf_fail(APF_E_INVALID, "enhancer: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    apf_status rs = apf_read_file(path, (size_t)4 << 20, "enhancer", &buf, &size);
    if (rs)
        return rs;
    apfm_meta meta;
    graph g;
    apf_status st = apfm_parse(buf, size, &meta, &g);
    free(buf);
    if (st)
        return st;
    if (g.n != 3 || g.nodes[0].tn[0] != NPIX * 3 || g.nodes[1].op != OP_SCALE_SHIFT ||
        g.nodes[2].op != OP_CONV || g.nodes[2].a[A_KH] != 1 || g.nodes[2].c != 3 || g.nodes[0].h != S) {
        graph_free(&g);
        return apf_fail(APF_E_FORMAT, "enhancer: %s is not an enhancer (u -> scale/shift -> 1x1 conv)", path);
    }
    apf_enhancer *e = calloc(1, sizeof *e);
    if (!e) {
        graph_free(&g);
        return apf_fail(APF_E_NOMEM, "enhancer: out of memory");
    }
    memcpy(e->u, g.nodes[0].t[0], sizeof e->u);
    memcpy(e->p + P_BETA, g.nodes[1].t[0], 3 * sizeof(float));
    memcpy(e->p + P_GAMMA, g.nodes[1].t[1], 3 * sizeof(float));
    memcpy(e->p + P_W, g.nodes[2].t[0], 9 * sizeof(float));
    memcpy(e->p + P_B, g.nodes[2].t[1], 3 * sizeof(float));
    graph_free(&g);
    *out = e;
    return APF_OK;
}
