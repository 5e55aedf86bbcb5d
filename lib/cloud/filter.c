/* The cloud filter: gradient blob in, noise blob out (paper Eq. 10). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_cloud.h"
#include "../core/internal.h"
#include "../core/wire_internal.h"

#define PER ((size_t)APF_CLOUD_SIZE * APF_CLOUD_SIZE * 3)

apf_status apf_cloud_noise(apf_transfer *t, const apf_enhancer *e, const int8_t *g, int n, float eps,
                           float *s)
{
    if (!g || !s || n < 1 || n > APF_WIRE_MAX_FACES || !(eps > 0 && eps <= APF_EPS_MAX))
        return apf_fail(APF_E_INVALID, "cloud: bad arguments");
    size_t all = PER * n;
    float *gf = malloc(all * sizeof(float)), *eu = e ? malloc(PER * sizeof(float)) : NULL;
    if (!gf || (e && !eu)) {
        free(gf), free(eu);
        return apf_fail(APF_E_NOMEM, "cloud: out of memory");
    }
    for (size_t i = 0; i < all; i++)
        gf[i] = eps * (float)g[i];
    apf_status st = APF_OK;
    if (t)
        st = apf_transfer_forward(t, gf, n, 0, s);
    else
        memcpy(s, gf, all * sizeof(float));
    if (!st && e)
        st = apf_enhancer_output(e, eu);
    for (size_t i = 0; !st && i < all; i++) {
        float v = s[i] + (e ? eu[i % PER] : 0.0f);
        s[i] = v < -eps ? -eps : v > eps ? eps : v;
    }
    free(gf), free(eu);
    return st;
}

apf_status apf_cloud_filter(apf_transfer *t, const apf_enhancer *e, const void *g_blob, size_t g_size,
                            void **s_blob, size_t *s_size)
{
    if (!g_blob || !s_blob || !s_size)
        return apf_fail(APF_E_INVALID, "cloud: NULL argument");
    *s_blob = NULL;
    apf_wire_info info;
    int8_t *g = NULL;
    /* the header first: a shape T cannot take is refused before decoding */
    apf_status st = wire_read_header(g_blob, g_size, &info);
    if (st)
        return st;
    if (info.kind != APF_WIRE_GRADIENT)
        return apf_fail(APF_E_FORMAT, "cloud: expected a gradient blob, got kind %d", (int)info.kind);
    if (info.height != APF_CLOUD_SIZE || info.width != APF_CLOUD_SIZE)
        return apf_fail(APF_E_UNSUPPORTED, "cloud: faces must be %dx%d, got %dx%d", APF_CLOUD_SIZE,
                        APF_CLOUD_SIZE, info.height, info.width);
    if ((st = wire_read_values(g_blob, g_size, &info, &g)))
        return st;
    size_t all = PER * info.n;
    float *s = malloc(all * sizeof(float));
    int8_t *q = malloc(all);
    if (!s || !q)
        st = apf_fail(APF_E_NOMEM, "cloud: out of memory");
    if (!st)
        st = apf_cloud_noise(t, e, g, info.n, info.eps, s);
    if (!st) {
        int lim = (int)lroundf(info.eps);
        for (size_t i = 0; i < all; i++) {
            long v = lroundf(s[i]);
            q[i] = (int8_t)(v < -lim ? -lim : v > lim ? lim : v);
        }
        info.kind = APF_WIRE_NOISE;
        st = apf_wire_encode(&info, q, s_blob, s_size);
    }
    free(g), free(s), free(q);
    return st;
}
