/* apf_probe: FGSM-family attacks on the probe model (paper Eq. 1, 2, 13). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apf/apf_end.h"
#include "../common/internal.h"
#include "diversity.h"

struct apf_probe {
    apf_model *model;
    apf_probe_options opt;
    pthread_mutex_t lock;
};

static const char *NAMES[APF_ATTACK_COUNT] = {"fgsm", "i-fgsm", "mi-fgsm", "di2-fgsm", "m-di2-fgsm"};

const char *apf_attack_name(apf_attack a)
{
    return (unsigned)a < APF_ATTACK_COUNT ? NAMES[a] : "?";
}

apf_status apf_attack_from_name(const char *name, apf_attack *a)
{
    if (!name || !a)
        return apf_fail(APF_E_INVALID, "attack: NULL argument");
    for (int k = 0; k < APF_ATTACK_COUNT; k++)
        if (!strcasecmp(name, NAMES[k])) {
            *a = (apf_attack)k;
            return APF_OK;
        }
    return apf_fail(APF_E_INVALID, "attack: unknown name '%s' (fgsm, i-fgsm, mi-fgsm, di2-fgsm, m-di2-fgsm)", name);
}

/* What binaries built against the 0.2 headers passed: the whole struct as
 * it was then. When a field is appended, this becomes the offset of the
 * first new field, so the exported 0.2 entry point below keeps writing no
 * more than those binaries own. */
#define PROBE_OPTIONS_SIZE_0_2 sizeof(apf_probe_options)

/* The defaults, in a full struct; callers get the first `size` bytes. */
static void probe_defaults(apf_probe_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->attack = APF_ATTACK_DI2FGSM;
    o->eps = 8.0f;
    o->step = 2.0f;
    o->iterations = 30;
    o->momentum = 1.0f;
    o->diversity_prob = 0.5f;
    o->enrol_offset = 1;
    o->offset_fraction = 0.1f;
    o->offset_range = 0.07f;
    o->seed = 0x41504621u;
}

void apf_probe_options_init_size(apf_probe_options *o, size_t size)
{
    if (!o || size < APF_PROBE_OPTIONS_MIN_SIZE)
        return;
    apf_probe_options d;
    probe_defaults(&d);
    d.struct_size = size;
    memcpy(o, &d, size < sizeof d ? size : sizeof d);
    if (size > sizeof d) /* a newer caller's fields this library does not know */
        memset((char *)o + sizeof d, 0, size - sizeof d);
}

/* The 0.2 entry point, for binaries that call it directly (the header
 * turns the name into apf_probe_options_init_size with the caller's size). */
void(apf_probe_options_init)(apf_probe_options *o)
{
    apf_probe_options_init_size(o, PROBE_OPTIONS_SIZE_0_2);
}

/* A caller's options over the defaults: as much as its struct_size holds.
 * A struct_size that is not a plausible size (uninitialised memory) is
 * refused. */
static apf_status options_from_caller(const apf_probe_options *opt, apf_probe_options *o)
{
    probe_defaults(o);
    if (!opt)
        return APF_OK;
    if (opt->struct_size < APF_PROBE_OPTIONS_MIN_SIZE || opt->struct_size > 65536)
        return apf_fail(APF_E_INVALID, "probe: options not initialised with apf_probe_options_init "
                                       "(struct_size %zu)", opt->struct_size);
    memcpy(o, opt, opt->struct_size < sizeof *o ? opt->struct_size : sizeof *o);
    o->struct_size = sizeof *o;
    return APF_OK;
}

static apf_status check_options(const apf_probe_options *o)
{
    if ((unsigned)o->attack >= APF_ATTACK_COUNT)
        return apf_fail(APF_E_INVALID, "probe: unknown attack %d", (int)o->attack);
    if (!(o->eps > 0 && o->eps <= APF_EPS_MAX) || !(o->step > 0 && o->step <= APF_EPS_MAX))
        return apf_fail(APF_E_INVALID, "probe: eps and step must be in (0, %g]", APF_EPS_MAX);
    if (o->iterations < 1 || o->iterations > 1000)
        return apf_fail(APF_E_INVALID, "probe: iterations must be 1..1000");
    if (!(o->momentum >= 0 && o->momentum <= 10) || !(o->diversity_prob >= 0 && o->diversity_prob <= 1))
        return apf_fail(APF_E_INVALID, "probe: momentum in [0, 10], diversity probability in [0, 1]");
    if (!(o->offset_fraction >= 0 && o->offset_fraction <= 1) || !(o->offset_range >= 0 && o->offset_range <= 1))
        return apf_fail(APF_E_INVALID, "probe: offset fraction and range in [0, 1]");
    if (o->threads < 0 || o->threads > 256)
        return apf_fail(APF_E_INVALID, "probe: threads must be 0..256");
    return APF_OK;
}

apf_status apf_probe_create(const char *model_path, const apf_probe_options *opt, apf_probe **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "probe: out is NULL");
    *out = NULL;
    if (!model_path)
        return apf_fail(APF_E_INVALID, "probe: model path is NULL");
    apf_probe_options o;
    apf_status st = options_from_caller(opt, &o);
    if (!st)
        st = check_options(&o);
    if (st)
        return st;
    apf_probe *p = calloc(1, sizeof *p);
    if (!p)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    if ((st = apf_model_load(model_path, &p->model))) {
        free(p);
        return st;
    }
    if (o.threads)
        apf_model_set_threads(p->model, o.threads);
    p->opt = o;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return APF_OK;
}

void apf_probe_free(apf_probe *p)
{
    if (!p)
        return;
    apf_model_free(p->model);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

apf_status apf_probe_get_options(const apf_probe *p, apf_probe_options *opt)
{
    if (!p || !opt)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    size_t size = opt->struct_size;
    if (size < APF_PROBE_OPTIONS_MIN_SIZE || size > 65536)
        return apf_fail(APF_E_INVALID, "probe: options not initialised with apf_probe_options_init "
                                       "(struct_size %zu)", size);
    apf_probe_options o = p->opt;
    o.struct_size = size;
    memcpy(opt, &o, size < sizeof o ? size : sizeof o);
    return APF_OK;
}

apf_model *apf_probe_model(apf_probe *p)
{
    return p ? p->model : NULL;
}

/* Per-face random stream: the seed mixed with a hash of the pixels, so a
 * face's result does not depend on its batch neighbours. */
static void seed_face(rng *r, uint64_t seed, const uint8_t *px, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ px[i]) * 1099511628211ull;
    r->s = h;
}

/* State of one attack call. */
typedef struct attack_ctx {
    int n, dim;
    const float *target; /* n x dim: f(x_e) + delta */
} attack_ctx;

/* D = sum ||e - t||^2, to be maximised: dD/de = 2 (e - t). */
static int distance_grad(const float *e, int n, int dim, float *de, void *user)
{
    const attack_ctx *c = user;
    for (int k = 0; k < n * dim; k++)
        de[k] = 2.0f * (e[k] - c->target[k]);
    return 0;
}

static float signf(float v) { return (float)((v > 0) - (v < 0)); }

apf_status apf_probe_gradient(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                              int size, int8_t *g)
{
    if (!p || !faces || !g)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (n < 1 || n > APF_WIRE_MAX_FACES || size < 16 || size > APF_WIRE_MAX_SIDE)
        return apf_fail(APF_E_INVALID, "probe: need 1..%d faces of 16..%d pixels", APF_WIRE_MAX_FACES,
                        APF_WIRE_MAX_SIDE);
    const apf_probe_options *o = &p->opt;
    int dim = apf_model_embedding_dim(p->model);
    size_t per = (size_t)size * size * 3, all = per * n;
    float *x0 = malloc(all * 4), *x = malloc(all * 4), *xin = malloc(all * 4), *gin = malloc(all * 4);
    float *grad = malloc(all * 4), *mom = calloc(all, 4), *scratch = malloc(per * 4);
    float *target = malloc((size_t)n * dim * 4);
    rng *r = malloc((size_t)n * sizeof *r);
    di_transform *tf = malloc((size_t)n * sizeof *tf);
    apf_status st = APF_OK;
    if (!x0 || !x || !xin || !gin || !grad || !mom || !scratch || !target || !r || !tf) {
        st = apf_fail(APF_E_NOMEM, "probe: out of memory for %d faces", n);
        goto out;
    }
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < all; i++)
        x0[i] = faces[i];
    for (int k = 0; k < n; k++)
        seed_face(&r[k], o->seed, faces + k * per, per);
    /* target embeddings t = f(x_e) + delta (computed on the training plan,
     * which the attack needs anyway, so only one plan is resident) */
    if (enrolled) {
        for (size_t i = 0; i < all; i++)
            xin[i] = enrolled[i];
        st = apf_model_embed(p->model, xin, n, size, target);
    } else {
        st = apf_model_embed(p->model, x0, n, size, target);
    }
    if (st)
        goto unlock;
    int any_offset = 0;
    for (int k = 0; k < n && o->enrol_offset; k++)
        for (int d = 0; d < dim; d++) {
            float u = rng_uniform(&r[k], 0.0f, 1.0f), v = rng_uniform(&r[k], -o->offset_range, o->offset_range);
            if (u < o->offset_fraction && o->offset_range > 0) {
                target[k * dim + d] += v;
                any_offset = 1;
            }
        }
    memcpy(x, x0, all * 4);
    /* Pushing a face away from its own clean embedding has zero gradient at
     * the start: begin from a small random point (as PGD does). */
    if (!enrolled && !any_offset)
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < per; i++) {
                float v = x0[k * per + i] + rng_uniform(&r[k], -o->step, o->step);
                x[k * per + i] = fminf(fmaxf(v, 0.0f), 255.0f);
            }
    attack_ctx ctx = {n, dim, target};
    int fgsm = o->attack == APF_ATTACK_FGSM;
    int iters = fgsm ? 1 : o->iterations;
    int use_mom = o->attack == APF_ATTACK_MIFGSM || o->attack == APF_ATTACK_MDI2FGSM;
    int use_di = o->attack == APF_ATTACK_DI2FGSM || o->attack == APF_ATTACK_MDI2FGSM;
    float step = fgsm ? o->eps : o->step;
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < n; k++) {
            di_transform t0 = {0};
            if (use_di)
                di_draw(&r[k], o->diversity_prob, size, &tf[k]);
            else
                tf[k] = t0;
            di_forward(&tf[k], x + k * per, xin + k * per, size);
        }
        if ((st = apf_model_embed_backward(p->model, xin, n, size, NULL, distance_grad, NULL, &ctx, gin)))
            goto unlock;
        memset(grad, 0, all * 4);
        for (int k = 0; k < n; k++)
            di_backward(&tf[k], gin + k * per, grad + k * per, scratch, size);
        for (int k = 0; k < n; k++) {
            float *gk = grad + k * per, *mk = mom + k * per;
            if (use_mom) {
                double l1 = 0;
                for (size_t i = 0; i < per; i++)
                    l1 += fabsf(gk[i]);
                float inv = l1 > 0 ? (float)(1.0 / l1) : 0.0f;
                for (size_t i = 0; i < per; i++)
                    gk[i] = mk[i] = o->momentum * mk[i] + gk[i] * inv;
            }
            float *xk = x + k * per, *x0k = x0 + k * per;
            for (size_t i = 0; i < per; i++) {
                float v = xk[i] + step * signf(gk[i]);
                v = fminf(fmaxf(v, x0k[i] - o->eps), x0k[i] + o->eps);
                xk[i] = fminf(fmaxf(v, 0.0f), 255.0f);
            }
        }
    }
    /* g is the direction the attack moved each value. Where the steps
     * cancelled out (about 8% of values for I-FGSM and DI2-FGSM), take the
     * direction of the last step: a zero there is nearly unpredictable and
     * costs about a third of the wire bytes, while ASR does not change
     * (docs/wire-format.md). */
    for (size_t i = 0; i < all; i++) {
        float d = signf(x[i] - x0[i]);
        g[i] = (int8_t)(d != 0.0f ? d : signf(grad[i]));
    }
unlock:
    pthread_mutex_unlock(&p->lock);
out:
    free(x0), free(x), free(xin), free(gin), free(grad), free(mom), free(scratch), free(target);
    free(r), free(tf);
    return st;
}

apf_status apf_probe_gradient_blob(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                                   int size, void **blob, size_t *blob_size)
{
    if (!blob || !blob_size)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (!p || n < 1 || n > APF_WIRE_MAX_FACES || size < 16 || size > APF_WIRE_MAX_SIDE)
        return apf_fail(APF_E_INVALID, "probe: bad arguments");
    int8_t *g = malloc((size_t)n * size * size * 3);
    if (!g)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    apf_status st = apf_probe_gradient(p, faces, enrolled, n, size, g);
    if (!st) {
        apf_wire_info info = {APF_WIRE_GRADIENT, (int)p->opt.attack, n, size, size, 3, p->opt.eps,
                              apf_model_hash(p->model)};
        st = apf_wire_encode(&info, g, blob, blob_size);
    }
    free(g);
    return st;
}

apf_status apf_apply_perturbation(const uint8_t *faces, const int8_t *values, size_t count,
                                  float scale, uint8_t *out)
{
    if (!faces || !values || !out || count == 0 || !isfinite(scale) || fabsf(scale) > 255)
        return apf_fail(APF_E_INVALID, "apply: bad arguments (NULL, zero count or scale not finite in [-255, 255])");
    for (size_t i = 0; i < count; i++) {
        float v = roundf(faces[i] + scale * values[i]);
        out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    return APF_OK;
}
