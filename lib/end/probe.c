/* apf_probe: FGSM-family attacks on the probe model (paper Eq. 1, 2, 13). */
#include <math.h>
#ifdef _OPENMP /* the fuzz build (clang, no OpenMP) leaves it out */
#include <omp.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#ifdef __GLIBC__ /* known only once a libc header is in */
#include <malloc.h> /* malloc_trim */
#endif

#include "apf/apf_end.h"
#include "../core/internal.h"
#include "blur.h"
#include "budget.h"
#include "decoys.h"
#include "diversity.h"
#include "jpeg_sim.h"
#include "placement.h"

struct apf_probe {
    apf_model *model[APF_PROBE_MAX_MODELS]; /* [0] is the probe model proper */
    float weight[APF_PROBE_MAX_MODELS];
    int samples[APF_PROBE_MAX_MODELS]; /* input-diversity draws per iteration */
    int period[APF_PROBE_MAX_MODELS];  /* iterations between two runs of a model */
    int count;
    apf_probe_options opt;
    decoy_set decoys; /* empty unless apf_probe_set_decoys */
    char *path[APF_PROBE_MAX_MODELS]; /* each model's file, for the copies below */
    /* ensemble_step's timing, per model: ms of its whole pass on one
     * thread in a lane (0: not yet seen) */
    float lane_ms[APF_PROBE_MAX_MODELS];
    unsigned char timed[APF_PROBE_MAX_MODELS]; /* passes timed (up to 255) */
    /* A model's draws split in two batches (plan_split): the first draws
     * on the model itself, its last tail_draws[m] on tail_copy[m], a copy
     * loaded from the same file, so that the two can run in the two lanes
     * side by side while each keeps one batch size (and one plan) for good.
     * tail_draws 0: not split (yet), -1: never (the split was checked not
     * to give the same bits as the whole batch). */
    apf_model *tail_copy[APF_PROBE_MAX_MODELS];
    signed char tail_draws[APF_PROBE_MAX_MODELS];
    int split_threads[APF_PROBE_MAX_MODELS]; /* the thread count the split was checked on */
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
#define PROBE_OPTIONS_SIZE_0_2 offsetof(apf_probe_options, random_target)

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
    o->random_target = 1.0f;
    o->schedule = APF_SCHEDULE_ALL;
    o->texture_ssim = 0.0f;
    o->g_flip = 0.0f;
    o->g_drop = 0.0f;
    o->smooth_sigma = 0.0f;
    o->reach_budget = 0;
    o->diversity_jpeg = 0;
    o->ssim_floor = 0.0f;
    o->diversity_blur = 0.0f;
    o->diversity_blur_sigma = 1.5f;
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
    if (!(o->random_target >= 0 && o->random_target <= 10))
        return apf_fail(APF_E_INVALID, "probe: random_target must be in [0, 10]");
    if (o->schedule != APF_SCHEDULE_ALL && o->schedule != APF_SCHEDULE_ROTATE)
        return apf_fail(APF_E_INVALID, "probe: unknown schedule %d", (int)o->schedule);
    if (!(o->texture_ssim == 0 || (o->texture_ssim >= 0.5f && o->texture_ssim < 1)))
        return apf_fail(APF_E_INVALID, "probe: texture_ssim must be 0 (off) or in [0.5, 1)");
    if (!(o->g_flip >= 0 && o->g_flip < 0.5f) || !(o->g_drop >= 0 && o->g_drop < 1))
        return apf_fail(APF_E_INVALID, "probe: g_flip must be in [0, 0.5) and g_drop in [0, 1)");
    if (!(o->smooth_sigma >= 0 && o->smooth_sigma <= 8))
        return apf_fail(APF_E_INVALID, "probe: smooth_sigma must be in [0, 8] pixels");
    if (o->reach_budget != 0 && o->reach_budget != 1)
        return apf_fail(APF_E_INVALID, "probe: reach_budget must be 0 or 1");
    if (o->diversity_jpeg < 0 || o->diversity_jpeg > 100)
        return apf_fail(APF_E_INVALID, "probe: diversity_jpeg must be 0 (off) or a JPEG quality 1..100");
    if (!(o->ssim_floor == 0 || (o->ssim_floor >= 0.5f && o->ssim_floor < 1)))
        return apf_fail(APF_E_INVALID, "probe: ssim_floor must be 0 (off) or in [0.5, 1)");
    if (!(o->diversity_blur >= 0 && o->diversity_blur <= 1))
        return apf_fail(APF_E_INVALID, "probe: diversity_blur must be a probability in [0, 1]");
    if (!(o->diversity_blur_sigma >= 0.1f && o->diversity_blur_sigma <= 8))
        return apf_fail(APF_E_INVALID, "probe: diversity_blur_sigma must be in [0.1, 8] pixels");
    return APF_OK;
}

/* The options a probe would run with for a caller's struct, checked:
 * what apf_probe_create and apf_probe_set_options accept alike. */
static apf_status valid_caller_options(const apf_probe_options *opt, apf_probe_options *o)
{
    apf_status st = options_from_caller(opt, o);
    return st ? st : check_options(o);
}

apf_status apf_probe_create(const char *model_path, const apf_probe_options *opt, apf_probe **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "probe: out is NULL");
    *out = NULL;
    if (!model_path)
        return apf_fail(APF_E_INVALID, "probe: model path is NULL");
    apf_probe_options o;
    apf_status st = valid_caller_options(opt, &o);
    if (st)
        return st;
    apf_probe *p = calloc(1, sizeof *p);
    if (!p)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    if ((st = apf_model_load(model_path, &p->model[0]))) {
        free(p);
        return st;
    }
    if (!(p->path[0] = strdup(model_path))) {
        apf_model_free(p->model[0]);
        free(p);
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    }
    if (o.threads)
        apf_model_set_threads(p->model[0], o.threads);
    p->weight[0] = 1.0f;
    p->samples[0] = 1;
    p->period[0] = 1;
    p->count = 1;
    p->opt = o;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return APF_OK;
}

void apf_probe_free(apf_probe *p)
{
    if (!p)
        return;
    for (int m = 0; m < p->count; m++) {
        apf_model_free(p->model[m]);
        free(p->path[m]);
        apf_model_free(p->tail_copy[m]);
    }
    decoys_free(&p->decoys);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

apf_status apf_probe_add_model(apf_probe *p, const char *model_path, float weight)
{
    if (!p || !model_path)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (!(weight > 0 && weight <= 100))
        return apf_fail(APF_E_INVALID, "probe: model weight must be in (0, 100]");
    pthread_mutex_lock(&p->lock);
    apf_status st = APF_OK;
    apf_model *m = NULL;
    if (p->count >= APF_PROBE_MAX_MODELS)
        st = apf_fail(APF_E_LIMIT, "probe: already %d models", APF_PROBE_MAX_MODELS);
    else if (!(st = apf_model_load(model_path, &m)) && apf_model_embedding_dim(m) < 1) {
        st = apf_fail(APF_E_INVALID, "probe: %s is not a recognizer", model_path);
        apf_model_free(m);
    }
    char *path = NULL;
    if (!st && !(path = strdup(model_path))) {
        st = apf_fail(APF_E_NOMEM, "probe: out of memory");
        apf_model_free(m);
    }
    if (!st) {
        if (p->opt.threads)
            apf_model_set_threads(m, p->opt.threads);
        p->path[p->count] = path;
        p->model[p->count] = m;
        p->samples[p->count] = 1;
        p->period[p->count] = 1;
        p->weight[p->count++] = weight;
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

int apf_probe_model_count(const apf_probe *p)
{
    return p ? p->count : 0;
}

/* field[index] = value for a model of the probe, under its lock (a run
 * on another thread finishes first); value already checked. */
static apf_status set_per_model(apf_probe *p, int *field, int index, int value)
{
    pthread_mutex_lock(&p->lock);
    apf_status st = APF_OK;
    if (index < 0 || index >= p->count) {
        st = apf_fail(APF_E_INVALID, "probe: no model %d", index);
    } else {
        field[index] = value;
        /* its cost and batch change: time and check it afresh */
        p->lane_ms[index] = 0;
        p->timed[index] = 0;
        apf_model_free(p->tail_copy[index]);
        p->tail_copy[index] = NULL;
        p->tail_draws[index] = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

apf_status apf_probe_set_model_samples(apf_probe *p, int index, int samples)
{
    if (!p)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (samples < 1 || samples > APF_PROBE_MAX_SAMPLES)
        return apf_fail(APF_E_INVALID, "probe: samples must be in 1..%d", APF_PROBE_MAX_SAMPLES);
    return set_per_model(p, p->samples, index, samples);
}

int apf_probe_model_samples(const apf_probe *p, int index)
{
    return p && index >= 0 && index < p->count ? p->samples[index] : 0;
}

apf_status apf_probe_set_model_period(apf_probe *p, int index, int period)
{
    if (!p)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (period < 1 || period > APF_PROBE_MAX_PERIOD)
        return apf_fail(APF_E_INVALID, "probe: period must be in 1..%d", APF_PROBE_MAX_PERIOD);
    return set_per_model(p, p->period, index, period);
}

int apf_probe_model_period(const apf_probe *p, int index)
{
    return p && index >= 0 && index < p->count ? p->period[index] : 0;
}

apf_status apf_probe_set_decoys(apf_probe *p, const uint8_t *faces, int n, int size)
{
    if (!p)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    pthread_mutex_lock(&p->lock);
    apf_status st = decoys_replace(&p->decoys, faces, n, size);
    pthread_mutex_unlock(&p->lock);
    return st;
}

int apf_probe_decoy_count(const apf_probe *p)
{
    if (!p)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&p->lock);
    int n = p->decoys.n;
    pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
    return n;
}

apf_model *apf_probe_model_at(apf_probe *p, int i)
{
    if (!p || i < 0 || i >= p->count) {
        apf_fail(APF_E_INVALID, "probe: no model %d", i);
        return NULL;
    }
    return p->model[i];
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

apf_status apf_probe_set_options(apf_probe *p, const apf_probe_options *opt)
{
    if (!p || !opt)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    apf_probe_options o;
    apf_status st = valid_caller_options(opt, &o);
    if (st)
        return st;
    pthread_mutex_lock(&p->lock);
    /* a thread count of 0 leaves the models as they are */
    if (o.threads && o.threads != p->opt.threads)
        for (int m = 0; m < p->count; m++) {
            apf_model_set_threads(p->model[m], o.threads);
            if (p->tail_copy[m])
                apf_model_set_threads(p->tail_copy[m], o.threads);
        }
    p->opt = o;
    pthread_mutex_unlock(&p->lock);
    return APF_OK;
}

apf_model *apf_probe_model(apf_probe *p)
{
    return p ? p->model[0] : NULL;
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

/* What one model's loss needs in one attack call. */
typedef struct attack_ctx {
    int n, dim;          /* faces (a batch may hold several draws of each: row k is face k % n) */
    const float *target; /* n x dim: f(x_e) + delta */
    const float *away;   /* n x dim: a random unit direction per face, or NULL */
    float away_weight;
    int models;          /* in the probe */
    unsigned char *pushed; /* n: 1 where the face is still pushed away */
} attack_ctx;

/* Below this cosine to the target a face is not pushed further away by
 * that model: with several models the budget goes to those still near
 * the face, and with a random direction the face follows it instead
 * (pushed away without end, two photos of one person would both land near
 * the opposite of their shared embedding, and so near each other). */
#define AWAY_MARGIN 0.0f

/* D = sum ||e - t||^2 + w * 2 <e, r>, to be maximised:
 * dD/de = 2 (e - t) + 2 w r, the first term dropped for a face whose
 * cosine to t is below AWAY_MARGIN (with one model and no direction it
 * stays: the paper's attack). */
static int distance_grad(const float *e, int n, int dim, float *de, void *user)
{
    attack_ctx *c = user;
    for (int k = 0; k < n; k++) {
        int face = k % c->n; /* the last draw of a face sets its pushed flag */
        const float *ek = e + (size_t)k * dim, *tk = c->target + (size_t)face * dim;
        float *dk = de + (size_t)k * dim;
        double dot = 0, tt = 0;
        for (int d = 0; d < dim; d++)
            dot += (double)ek[d] * tk[d], tt += (double)tk[d] * tk[d];
        int away = (!c->away && c->models == 1) || dot > AWAY_MARGIN * sqrt(tt);
        c->pushed[face] = (unsigned char)away;
        for (int d = 0; d < dim; d++)
            dk[d] = away ? 2.0f * (ek[d] - tk[d]) : 0.0f;
        if (c->away)
            for (int d = 0; d < dim; d++)
                dk[d] += 2.0f * c->away_weight * c->away[(size_t)face * dim + d];
    }
    return 0;
}

static float signf(float v) { return (float)((v > 0) - (v < 0)); }

/* The embeddings model m's targets start from: f(x_e) into target, and
 * with random_target the clean embedding into away and each face's
 * decoy's (decoy[k], kept in the decoy set). No random draws, so that the
 * models can run side by side (all_embeddings). */
static apf_status model_embeddings(apf_probe *p, int m, const float *x0, const float *xe, int n, int size,
                                   const int *decoy, float *target, float *away)
{
    int dim = apf_model_embedding_dim(p->model[m]);
    apf_status st = apf_model_embed(p->model[m], xe ? xe : x0, n, size, target);
    /* the clean embedding: the target's own when x_e = x (before its offset) */
    if (!st && away && !xe)
        memcpy(away, target, (size_t)n * dim * sizeof *away);
    else if (!st && away)
        st = apf_model_embed(p->model[m], x0, n, size, away);
    for (int k = 0; k < n && !st && away && decoy; k++) {
        const float *e;
        st = decoys_embedding(&p->decoys, m, p->model[m], decoy[k], &e);
    }
    return st;
}

/* model_embeddings of every model. With exactly two threads the models
 * run side by side, one thread each, each taking the next model as it
 * finishes: a forward pass at batch 1 keeps two cores busy only 1.2-1.8
 * times as well as one (docs/performance.md), and each model's embedding
 * is computed on one thread whichever thread takes it. */
static apf_status all_embeddings(apf_probe *p, const float *x0, const float *xe, int n, int size,
                                 const int *decoy, float *const *target, float *const *away)
{
#ifdef _OPENMP
    if (p->count > 1 && omp_get_max_threads() == 2 && !omp_in_parallel()) {
        apf_status st[APF_PROBE_MAX_MODELS];
        /* the error message is thread-local: carried back per model */
        char why[APF_PROBE_MAX_MODELS][256];
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
        for (int m = 0; m < p->count; m++) {
            st[m] = model_embeddings(p, m, x0, xe, n, size, decoy, target[m], away[m]);
            if (st[m])
                snprintf(why[m], sizeof why[m], "%s", apf_last_error());
        }
        for (int m = 0; m < p->count; m++)
            if (st[m])
                return apf_fail(st[m], "%s", why[m]);
        return APF_OK;
    }
#endif
    apf_status st = APF_OK;
    for (int m = 0; m < p->count && !st; m++)
        st = model_embeddings(p, m, x0, xe, n, size, decoy, target[m], away[m]);
    return st;
}

/* One model's targets for a batch, from its embeddings (all_embeddings):
 * t = f(x_e) + delta (Eq. 13), and with random_target a unit direction
 * per face orthogonal to the clean embedding: toward the face's decoy
 * (decoy[k], with decoys) or random. Each face's directions come from its
 * own stream r, drawn in model order. */
static apf_status model_targets(apf_probe *p, int m, int n, rng *r, const int *decoy, float *target,
                                float *away, int *any_offset)
{
    const apf_probe_options *o = &p->opt;
    int dim = apf_model_embedding_dim(p->model[m]);
    apf_status st = APF_OK;
    float *tmp = away ? malloc((size_t)dim * sizeof *tmp) : NULL;
    if (away && !tmp)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    for (int k = 0; k < n; k++) {
        float *t = target + (size_t)k * dim;
        for (int d = 0; d < dim && o->enrol_offset; d++) {
            float u = rng_uniform(&r[k], 0.0f, 1.0f), v = rng_uniform(&r[k], -o->offset_range, o->offset_range);
            if (u < o->offset_fraction && o->offset_range > 0) {
                t[d] += v;
                *any_offset = 1;
            }
        }
        if (!away)
            continue;
        /* The decoy's embedding, or a Gaussian by Box-Muller; minus its
         * component along the clean embedding (which is in `away` now),
         * normalised. */
        float *a = away + (size_t)k * dim;
        double dot = 0, norm = 0;
        if (decoy) {
            const float *e;
            if ((st = decoys_embedding(&p->decoys, m, p->model[m], decoy[k], &e))) {
                free(tmp);
                return st;
            }
            memcpy(tmp, e, (size_t)dim * sizeof *tmp);
        } else {
            for (int d = 0; d < dim; d++) {
                float u1 = rng_uniform(&r[k], 1e-7f, 1.0f), u2 = rng_uniform(&r[k], 0.0f, 1.0f);
                tmp[d] = sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
            }
        }
        for (int d = 0; d < dim; d++)
            dot += (double)tmp[d] * a[d];
        for (int d = 0; d < dim; d++) {
            tmp[d] -= (float)dot * a[d];
            norm += (double)tmp[d] * tmp[d];
        }
        float inv = norm > 0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
        for (int d = 0; d < dim; d++)
            a[d] = tmp[d] * inv;
    }
    free(tmp);
    return APF_OK;
}

/* Each face's bound per value: the texture budget, or eps everywhere. */
static apf_status face_bounds(const apf_probe_options *o, const uint8_t *faces, int n, int size,
                              float *bound)
{
    size_t per = (size_t)size * size * 3;
    if (o->texture_ssim <= 0) {
        for (size_t i = 0; i < per * n; i++)
            bound[i] = o->eps;
        return APF_OK;
    }
    float *scratch = malloc(3 * per * sizeof *scratch);
    if (!scratch)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    for (int k = 0; k < n; k++)
        texture_budget(faces + k * per, size, o->texture_ssim, o->eps, bound + k * per, scratch);
    free(scratch);
    return APF_OK;
}

_Static_assert(APF_WIRE_MAX_SIDE <= BLUR_MAX_SIDE, "blur_hwc must take every face the wire carries");

static int valid_batch(int n, int size)
{
    return n >= 1 && n <= APF_WIRE_MAX_FACES && size >= 16 && size <= APF_WIRE_MAX_SIDE;
}

apf_status apf_probe_limit_noise(apf_probe *p, const uint8_t *faces, int n, int size, int8_t *noise)
{
    if (!p || !faces || !noise)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (!valid_batch(n, size))
        return apf_fail(APF_E_INVALID, "probe: need 1..%d faces of 16..%d pixels", APF_WIRE_MAX_FACES,
                        APF_WIRE_MAX_SIDE);
    size_t all = (size_t)size * size * 3 * n;
    float *bound = malloc(all * sizeof *bound);
    if (!bound)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    apf_status st = face_bounds(&p->opt, faces, n, size, bound);
    for (size_t i = 0; i < all && !st; i++) {
        int b = (int)floorf(bound[i] + 1e-4f);
        noise[i] = (int8_t)(noise[i] > b ? b : noise[i] < -b ? -b : noise[i]);
    }
    free(bound);
    return st;
}

apf_status apf_limit_noise_to_reach(int8_t *noise, const uint8_t *reach, size_t count)
{
    if (!noise || !reach || count == 0)
        return apf_fail(APF_E_INVALID, "reach: NULL argument or zero count");
    for (size_t i = 0; i < count; i++) {
        int r = reach[i], v = noise[i];
        noise[i] = (int8_t)(v > r ? r : v < -r ? -r : v);
    }
    return APF_OK;
}

/* Scale each face's gradient to mean magnitude 1 and add weight times it
 * to the sum: models' raw gradients differ by orders of magnitude. A face
 * that model no longer pushes away (only its random direction pulls) counts
 * at most the random target's weight. */
static void accumulate(float *sum, const float *g, size_t per, int n, float weight,
                       const unsigned char *pushed, float rt_weight)
{
    for (int k = 0; k < n; k++) {
        const float *gk = g + k * per;
        double l1 = 0;
        for (size_t i = 0; i < per; i++)
            l1 += fabsf(gk[i]);
        float w = pushed[k] ? weight : weight * fminf(rt_weight, 1.0f);
        float scale = l1 > 0 ? (float)(w * per / l1) : 0.0f;
        for (size_t i = 0; i < per; i++)
            sum[k * per + i] += scale * gk[i];
    }
}

/* sum += v, element by element */
static void add_to(float *sum, const float *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        sum[i] += v[i];
}

/* Whether model m skips iterations (apf_probe_set_model_period): only in
 * an ensemble that runs every model each iteration. */
static int reuses_gradient(const apf_probe *p, int m)
{
    return p->count > 1 && p->opt.schedule == APF_SCHEDULE_ALL && p->period[m] > 1;
}

/* Whether model m runs at iteration it: always on the first, then every
 * period-th, staggered by its index so that slow models take turns. */
static int runs_at(const apf_probe *p, int m, int it)
{
    return !reuses_gradient(p, m) || it == 0 || (it + m) % p->period[m] == 0;
}

/* One model pass's scratch: its input gradient and the adjoints' scratch. */
typedef struct lane_bufs {
    float *gin, *scratch, *dtmp;
} lane_bufs;

/* Buffers of one apf_probe_gradient call. */
typedef struct attack_bufs {
    float *x0, *x, *xin, *gin, *grad, *mom, *scratch, *bound, *back;
    float *xp, *dtmp; /* the face as placed in its photo; one face's scratch */
    float *xin2, *gin2; /* all draws of a model with several samples, one batch (NULL: none wanted) */
    float *tmp2;        /* their blurs' scratch, one face per draw (NULL: no blur in the diversity) */
    di_transform *tf2;  /* the transforms of its further draws */
    float *target[APF_PROBE_MAX_MODELS], *away[APF_PROBE_MAX_MODELS];
    float *last[APF_PROBE_MAX_MODELS]; /* a model's last weighted contribution (NULL: refreshed every iteration) */
    rng *r;
    di_transform *tf;
    unsigned char *pushed;
    /* an ensemble's iteration (ensemble_step): each model's fresh gradient
     * and pushed flags, and each lane's scratch */
    float *mback[APF_PROBE_MAX_MODELS];
    unsigned char *mpushed[APF_PROBE_MAX_MODELS];
    lane_bufs lane[2];
} attack_bufs;

static void bufs_free(attack_bufs *b, int models)
{
    free(b->x0), free(b->x), free(b->xin), free(b->gin), free(b->grad), free(b->mom);
    free(b->scratch), free(b->bound), free(b->back), free(b->r), free(b->tf), free(b->pushed);
    free(b->xp), free(b->dtmp), free(b->xin2), free(b->gin2), free(b->tf2), free(b->tmp2);
    for (int m = 0; m < models; m++)
        free(b->target[m]), free(b->away[m]), free(b->last[m]), free(b->mback[m]), free(b->mpushed[m]);
    for (int l = 0; l < 2; l++)
        free(b->lane[l].gin), free(b->lane[l].scratch), free(b->lane[l].dtmp);
}

static int bufs_alloc(attack_bufs *b, const apf_probe *p, int n, size_t per)
{
    size_t all = per * n;
    memset(b, 0, sizeof *b);
    b->x0 = malloc(all * 4), b->x = malloc(all * 4), b->xin = malloc(all * 4);
    b->gin = malloc(all * 4), b->grad = malloc(all * 4), b->mom = calloc(all, 4);
    b->scratch = malloc(per * 4), b->bound = malloc(all * 4), b->back = malloc(all * 4);
    b->xp = malloc(all * 4), b->dtmp = malloc(per * 4);
    b->r = malloc((size_t)n * sizeof *b->r), b->tf = malloc((size_t)n * sizeof *b->tf);
    b->pushed = malloc((size_t)n);
    int ok = b->x0 && b->x && b->xin && b->gin && b->grad && b->mom && b->scratch && b->bound &&
             b->back && b->xp && b->dtmp && b->r && b->tf && b->pushed;
    int most = 1;
    for (int m = 0; m < p->count; m++)
        most = p->samples[m] > most ? p->samples[m] : most;
    if (most > 1) {
        b->xin2 = malloc(all * most * 4), b->gin2 = malloc(all * most * 4);
        b->tf2 = malloc((size_t)n * (most - 1) * sizeof *b->tf2);
        ok = ok && b->xin2 && b->gin2 && b->tf2;
        if (p->opt.diversity_blur > 0)
            ok = ok && (b->tmp2 = malloc(all * most * 4));
    }
    for (int m = 0; m < p->count; m++) {
        size_t dim = (size_t)apf_model_embedding_dim(p->model[m]);
        b->target[m] = malloc(n * dim * 4);
        b->away[m] = p->opt.random_target > 0 ? malloc(n * dim * 4) : NULL;
        ok = ok && b->target[m] && (b->away[m] || p->opt.random_target <= 0);
        if (reuses_gradient(p, m)) {
            b->last[m] = malloc(all * 4);
            ok = ok && b->last[m];
        }
        if (p->count > 1 && p->opt.schedule == APF_SCHEDULE_ALL) {
            b->mback[m] = malloc(all * 4), b->mpushed[m] = malloc((size_t)n);
            ok = ok && b->mback[m] && b->mpushed[m];
        }
    }
    for (int l = 0; l < 2 && p->count > 1 && p->opt.schedule == APF_SCHEDULE_ALL; l++) {
        lane_bufs *lb = &b->lane[l];
        lb->gin = malloc(all * 4), lb->scratch = malloc(per * 4), lb->dtmp = malloc(per * 4);
        ok = ok && lb->gin && lb->scratch && lb->dtmp;
    }
    return ok;
}

/* Faces attacked together at most: the models' training passes keep every
 * activation for the backward pass, so memory grows with the batch (four
 * models on 29 faces of one photo peaked at 2 GB), while on a few cores a
 * bigger batch is hardly faster per face. Each face's randomness is its
 * own, so the chunking does not change any result. */
#define PROBE_CHUNK 1

static apf_status gradient_chunk(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                                 int size, const double *to_image, int8_t *g, uint8_t *reach);

apf_status apf_probe_gradient(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                              int size, int8_t *g)
{
    return apf_probe_gradient_placed(p, faces, enrolled, n, size, NULL, g);
}

apf_status apf_probe_gradient_placed(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled,
                                     int n, int size, const double *to_image, int8_t *g)
{
    return apf_probe_gradient_reach(p, faces, enrolled, n, size, to_image, g, NULL);
}

apf_status apf_probe_gradient_reach(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                                    int size, const double *to_image, int8_t *g, uint8_t *reach)
{
    if (!p || !faces || !g)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (!valid_batch(n, size))
        return apf_fail(APF_E_INVALID, "probe: need 1..%d faces of 16..%d pixels", APF_WIRE_MAX_FACES,
                        APF_WIRE_MAX_SIDE);
    size_t per = (size_t)size * size * 3;
    apf_status st = APF_OK;
    /* every placement checked before any face is attacked */
    for (int k = 0; to_image && k < n && !st; k++)
        st = placement_check(to_image + 6 * k);
    if (st)
        return st;
    pthread_mutex_lock(&p->lock);
    /* the probe's own parallel work (draws side by side, warps) on the
     * handle's thread count, as its models' passes */
    int caller_threads = apf_use_threads(p->opt.threads);
    apf_flush_denormals_enter();
    for (int k = 0; k < n && !st; k += PROBE_CHUNK) {
        int c = n - k < PROBE_CHUNK ? n - k : PROBE_CHUNK;
        st = gradient_chunk(p, faces + k * per, enrolled ? enrolled + k * per : NULL, c, size,
                            to_image ? to_image + 6 * k : NULL, g + k * per, reach ? reach + k * per : NULL);
    }
    apf_flush_denormals_leave();
    apf_restore_threads(caller_threads);
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* g_flip and g_drop (docs/threat-model.md): random sign flips and zeros in
 * one face's g, from a stream of its own (the seed and the pixels, apart
 * from the attack's), so the same photo always sends the same g: a server
 * that receives it twice cannot average the randomness away. */
static void blur_what_g_reveals(const apf_probe_options *o, const uint8_t *face, size_t per, int8_t *g)
{
    rng r;
    seed_face(&r, o->seed ^ 0x6d697469676174ull, face, per);
    for (size_t i = 0; i < per; i++) {
        float u = rng_uniform(&r, 0.0f, 1.0f);
        if (u < o->g_drop)
            g[i] = 0;
        else if (u < o->g_drop + o->g_flip * (1 - o->g_drop))
            g[i] = (int8_t)-g[i];
    }
}

/* ssim_floor: while the face with its noise as the reach allows, the very
 * noise apf_photo_job applies (rint(eps) * g limited by
 * apf_limit_noise_to_reach, added by apf_apply_perturbation), is below
 * the floor, scale the reach down by 15%. Integer truncation shrinks every
 * nonzero reach, so it ends by 0 at the latest (SSIM 1). noise, tmp: one
 * face each. */
static apf_status hold_ssim_floor(const apf_probe_options *o, const uint8_t *face, const int8_t *g,
                                  uint8_t *reach, int size, int8_t *noise, uint8_t *tmp)
{
    size_t per = (size_t)size * size * 3;
    int full = (int)lrintf(o->eps);
    for (;;) {
        int any = 0;
        for (size_t i = 0; i < per; i++) {
            noise[i] = (int8_t)(g[i] * full);
            any |= reach[i] && full;
        }
        double s = 0;
        apf_status st = apf_limit_noise_to_reach(noise, reach, per);
        if (!st)
            st = apf_apply_perturbation(face, noise, per, 1.0f, tmp);
        if (!st)
            st = apf_image_ssim(face, tmp, size, size, &s, NULL);
        if (st || !any || s >= o->ssim_floor)
            return st;
        for (size_t i = 0; i < per; i++)
            reach[i] = (uint8_t)(reach[i] * 0.85f);
    }
}

/* Model m with several input-diversity samples (apf_probe_set_model_samples):
 * the first draw is the one every model sees (b->xin, b->tf); each further
 * draw takes a new transform per face of what the recognizer sees (the
 * face, or the face as placed in its photo: b->xp), and with diversity_jpeg
 * every second one also goes through the JPEG stand-in (its gradient taken
 * as the identity, as BPDA does: the rounding's own is zero almost
 * everywhere). Showing it to the other models' single draws cost their
 * protection before re-encoding (docs/protection.md). Draws go through the
 * model as one batch, which costs far less than one pass per draw, and
 * their gradients are summed in draw order. In three steps, so that the
 * draws can also be split between the two lanes (plan_split):
 * samples_draw takes the transforms from the faces' streams, samples_part
 * runs a range of draws, samples_sum adds them up. */
static void samples_draw(apf_probe *p, int m, attack_bufs *b, const placement *pl, int n, int size,
                         int use_di)
{
    const apf_probe_options *o = &p->opt;
    memcpy(b->xin2, b->xin, (size_t)size * size * 3 * n * 4);
    for (int s = 1; s < p->samples[m]; s++)
        for (int k = 0; k < n; k++)
            di_draw_for(&b->r[k], use_di, o->diversity_prob, o->diversity_blur, o->diversity_blur_sigma,
                        pl[k].placed, size, &b->tf2[(size_t)(s - 1) * n + k]);
}

/* Draws s0..s1-1 of samples_draw's, through `model` (the probe's model m
 * or a copy of it), each draw's adjoint into its own slot of xin2. */
static apf_status samples_part(apf_probe *p, attack_bufs *b, const placement *pl, attack_ctx *ctx, int n,
                               int size, int s0, int s1, apf_model *model)
{
    const apf_probe_options *o = &p->opt;
    size_t per = (size_t)size * size * 3, all = per * n;
    /* the warps and stand-ins side by side: each draw writes only its own
     * slot (its scratch is its slot of gin2, unused until the pass) */
    int first = (s0 > 1 ? s0 : 1) * n, end = s1 * n;
#pragma omp parallel for schedule(dynamic) if (end - first > 1)
    for (int j = first; j < end; j++) {
        int s = j / n, k = j % n;
        const float *src = (pl[k].active ? b->xp : b->x) + k * per;
        float *slot = b->xin2 + s * all + k * per;
        di_forward(&b->tf2[j - n], src, slot, b->gin2 + s * all + k * per, size);
        /* every second further draw as a re-encoded photo would show it */
        if (o->diversity_jpeg > 0 && s % 2 == 1)
            jpeg_sim(slot, size, o->diversity_jpeg, b->gin2 + s * all + k * per);
    }
    apf_status st = apf_model_embed_backward(model, b->xin2 + s0 * all, n * (s1 - s0), size, NULL, distance_grad,
                                             NULL, ctx, b->gin2 + s0 * all);
    if (st)
        return st;
    /* each draw's adjoint into its own slot of xin2 (free now), side by side */
#pragma omp parallel for schedule(dynamic) if (end - s0 * n > 1)
    for (int j = s0 * n; j < end; j++) {
        int s = j / n, k = j % n;
        const di_transform *t = s ? &b->tf2[j - n] : &b->tf[k];
        float *slot = b->xin2 + s * all + k * per, *d = b->gin2 + s * all + k * per;
        memset(slot, 0, per * 4);
        di_backward(t, d, slot, d, b->tmp2 ? b->tmp2 + (size_t)j * per : NULL, size);
    }
    return APF_OK;
}

/* The draws' adjoints added into dst in draw order, so the sum is the same
 * on any number of cores and however the draws were split. */
static void samples_sum(attack_bufs *b, int draws, int n, size_t per, float *dst)
{
    size_t all = per * n;
    for (int k = 0; k < n; k++) {
        float *dk = dst + k * per;
#pragma omp parallel for schedule(static) if (per * draws >= 65536)
        for (size_t i = 0; i < per; i++) {
            float v = dk[i];
            for (int s = 0; s < draws; s++)
                v += b->xin2[s * all + k * per + i];
            dk[i] = v;
        }
    }
}

/* Whether model m runs its draws in two batches here (plan_split): once
 * split, on one thread (in a lane, or alone) and on the thread count the
 * split was checked on; on any other (the caller's OpenMP count changed
 * since) whole again, since only those were checked to give the same
 * bits. */
static int split_applies(const apf_probe *p, int m)
{
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    return p->tail_draws[m] > 0 && (omp_in_parallel() || threads == 1 || threads == p->split_threads[m]);
#else
    (void)p, (void)m;
    return 0; /* never split without OpenMP */
#endif
}

/* One model's gradient this iteration, through its input diversity's
 * adjoints, into dst (zeroed here), its pushed flags into pushed, with
 * the scratch lb: every attack's model pass, in a lane or not. */
static apf_status model_gradient(apf_probe *p, int m, attack_bufs *b, const placement *pl, int n, int size,
                                 int use_di, int any_placed, const lane_bufs *lb, float *dst,
                                 unsigned char *pushed)
{
    const apf_probe_options *o = &p->opt;
    size_t per = (size_t)size * size * 3, all = per * n;
    attack_ctx ctx = {n, apf_model_embedding_dim(p->model[m]), b->target[m], b->away[m],
                      o->random_target, p->count, pushed};
    memset(dst, 0, all * 4);
    if (p->samples[m] > 1 && (use_di || any_placed)) {
        /* in its two batches once split (plan_split): the second's pushed
         * flags, the last draw's, overwrite the first's */
        int draws = p->samples[m], k = split_applies(p, m) ? p->tail_draws[m] : 0;
        samples_draw(p, m, b, pl, n, size, use_di);
        apf_status st = samples_part(p, b, pl, &ctx, n, size, 0, draws - k, p->model[m]);
        if (!st && k)
            st = samples_part(p, b, pl, &ctx, n, size, draws - k, draws, p->tail_copy[m]);
        if (!st)
            samples_sum(b, draws, n, per, dst);
        return st;
    }
    apf_status st = apf_model_embed_backward(p->model[m], b->xin, n, size, NULL, distance_grad, NULL, &ctx,
                                             lb->gin);
    for (int k = 0; k < n && !st; k++)
        di_backward(&b->tf[k], lb->gin + k * per, dst + k * per, lb->scratch, lb->dtmp, size);
    return st;
}

/* model_gradient of an ensemble's model m into its own buffers, with lane
 * `lane`'s scratch */
static apf_status model_fresh(apf_probe *p, int m, attack_bufs *b, const placement *pl, int n, int size,
                              int use_di, int any_placed, int lane)
{
    return model_gradient(p, m, b, pl, n, size, use_di, any_placed, &b->lane[lane], b->mback[m], b->mpushed[m]);
}

/* Which lane each model runs in this iteration (-1: it reuses its last
 * gradient), and whether two lanes side by side are worth it.
 *
 * Why: at batch 1 a recognizer's pass keeps two cores busy only 1.6-1.8
 * times as well as one, and an ensemble's models are independent within
 * an iteration. With exactly two threads, the slow models (period > 1,
 * which take turns) run on one thread and the rest on the other
 * (docs/performance.md). Every model's passes and gradient are the same
 * bits on one thread as on two except the dlib ResNet's backward pass
 * (docs/end-side.md), and the gradients are added in model order after
 * both lanes, so the lanes change nothing else. Models with several
 * draws share one set of draw buffers and draw from the faces' streams,
 * so they must all be in one lane; otherwise, or with other thread
 * counts, the models run one after another, each on every thread. */
static int plan_lanes(const apf_probe *p, int it, int use_di, int any_placed, int *lane_of)
{
    int used[2] = {0, 0}, draws_lane = -1, split = 0;
    for (int m = 0; m < p->count; m++) {
        lane_of[m] = runs_at(p, m, it) ? (p->period[m] > 1 ? 0 : 1) : -1;
        if (lane_of[m] < 0)
            continue;
        used[lane_of[m]] = 1;
        if (p->samples[m] > 1 && (use_di || any_placed)) {
            split |= draws_lane >= 0 && draws_lane != lane_of[m];
            draws_lane = lane_of[m];
        }
    }
#ifdef _OPENMP
    return used[0] && used[1] && !split && omp_get_max_threads() == 2 && !omp_in_parallel();
#else
    (void)used, (void)split;
    return 0;
#endif
}

#ifdef _OPENMP /* the lanes' helpers */
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* A pass of model m taking t ms (on one thread, all its draws) folded
 * into its lane time, and counted: a faster time is taken as it is, a
 * slower one only a tenth of the way, so the first pass (which builds the
 * model's plan) and a busy neighbour's moments weigh little. */
static void note_lane_time(apf_probe *p, int m, float t)
{
    float *ms = &p->lane_ms[m];
    *ms = !(*ms > 0) || t < *ms ? t : 0.9f * *ms + 0.1f * t;
    p->timed[m] += p->timed[m] < 255;
}

/* model_fresh, its time folded into the model's lane time */
static apf_status model_fresh_timed(apf_probe *p, int m, attack_bufs *b, const placement *pl, int n, int size,
                                    int use_di, int any_placed, int lane)
{
    double t0 = now_ms();
    apf_status st = model_fresh(p, m, b, pl, n, size, use_di, any_placed, lane);
    note_lane_time(p, m, (float)(now_ms() - t0));
    return st;
}

/* A batch of `rows` rows (of size x size faces) and an embedding gradient
 * for it, the same every time. */
static void fixed_batch(float *x, size_t count, float *de, int rows, int dim)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < count; i++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((h >> 33) % 256);
    }
    for (int i = 0; i < rows * dim; i++)
        de[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
}

/* Whether model m's input gradient for its draws at batch n is the same
 * bits split (its first draws - k draws on the model, the last k on
 * `copy`) as whole, every way the probe may run it: whole and split side
 * by side on one thread each (the lanes), whole and split one after the
 * other on the probe's threads. Only then may plan_split split it by
 * timing, since that must not change g. Leaves the model's plan at its
 * share's batch. */
static int same_bits_split(apf_probe *p, int m, apf_model *copy, int n, int size, int k)
{
    apf_model *model = p->model[m];
    int dim = apf_model_embedding_dim(model), rows = n * p->samples[m], cut = rows - n * k;
    size_t per = (size_t)size * size * 3, count = per * rows;
    float *x = malloc(count * 4), *de = malloc((size_t)rows * dim * 4), *d[4] = {NULL, NULL, NULL, NULL};
    int ok = x && de;
    for (int j = 0; j < 4; j++)
        ok = ok && (d[j] = malloc(count * 4));
    if (ok) {
        fixed_batch(x, count, de, rows, dim);
        apf_status st[5] = {APF_OK, APF_OK, APF_OK, APF_OK, APF_OK};
#pragma omp parallel num_threads(2)
        if (omp_get_thread_num() == 0)
            st[0] = apf_model_embed_backward(model, x, rows, size, NULL, NULL, de, NULL, d[0]);
        st[1] = apf_model_embed_backward(model, x, rows, size, NULL, NULL, de, NULL, d[1]);
#pragma omp parallel num_threads(2)
        {
            int l = omp_get_thread_num(), r0 = l ? 0 : cut, r1 = l ? cut : rows;
            st[2 + l] = apf_model_embed_backward(l ? model : copy, x + per * r0, r1 - r0, size, NULL, NULL,
                                                 de + (size_t)dim * r0, NULL, d[2] + per * r0);
        }
        if (!st[2] && !st[3])
            st[4] = apf_model_embed_backward(copy, x + per * cut, rows - cut, size, NULL, NULL,
                                             de + (size_t)dim * cut, NULL, d[3] + per * cut);
        if (!st[4]) /* the model's first share last: the plan it keeps */
            st[4] = apf_model_embed_backward(model, x, cut, size, NULL, NULL, de, NULL, d[3]);
        for (int j = 0; j < 5; j++)
            ok = ok && !st[j];
        for (int j = 1; j < 4; j++)
            ok = ok && !memcmp(d[0], d[j], count * 4);
    }
    free(x), free(de);
    for (int j = 0; j < 4; j++)
        free(d[j]);
    return ok;
}

/* Model s's last k draws become a batch of their own, on a copy of the
 * model, for good, if that gives the same bits; otherwise never. */
static void split_draws(apf_probe *p, int s, int n, int size, int k)
{
    apf_model *copy = NULL;
    if (!apf_model_load(p->path[s], &copy) && apf_model_hash(copy) == apf_model_hash(p->model[s])) {
        if (p->opt.threads)
            apf_model_set_threads(copy, p->opt.threads);
        if (same_bits_split(p, s, copy, n, size, k)) {
            p->tail_copy[s] = copy;
            p->tail_draws[s] = (signed char)k;
            p->split_threads[s] = omp_get_max_threads();
#ifdef __GLIBC__
            /* the model's plan was rebuilt for its share's smaller batch:
             * give the freed pages of the old one back */
            malloc_trim(0);
#endif
            return;
        }
    }
    apf_model_free(copy);
    p->tail_draws[s] = -1;
}

/* With the lanes planned, whether the fast lane's model with several draws
 * (when it is the only one this iteration) runs its last draws in the slow
 * lane this time: where the lanes' times say that evens them out (on the
 * dlib ResNet's iterations of the shipped list, 20 ms beside 14.6 + 22).
 * The first time it would pay, the number of draws to move is chosen from
 * those times and the model split for good (split_draws; one copy of the
 * model, at one batch size). Returns the model, or -1: none. */
static int plan_split(apf_probe *p, const int *lane_of, int n, int size, int use_di, int any_placed)
{
    int s = -1, with_draws = 0;
    float lane[2] = {0, 0};
    for (int m = 0; m < p->count; m++) {
        if (lane_of[m] < 0)
            continue;
        if (p->timed[m] < 2)
            return -1; /* not timed beyond its first pass (which builds its plan) */
        if (p->samples[m] > 1 && (use_di || any_placed)) {
            with_draws++;
            if (lane_of[m] == 1) {
                s = m;
                continue;
            }
        }
        lane[lane_of[m]] += p->lane_ms[m];
    }
    if (s < 0 || with_draws != 1 || p->tail_draws[s] < 0)
        return -1;
    int draws = p->samples[s], k = p->tail_draws[s];
    float d = p->lane_ms[s] / draws;
    if (!k) {
        long even = lrintf((lane[1] + draws * d - lane[0]) / (2 * d));
        k = even < 1 ? 0 : even > draws - 1 ? draws - 1 : (int)even;
    }
    float split = fmaxf(lane[0] + k * d, lane[1] + (draws - k) * d);
    float whole = fmaxf(lane[0], lane[1] + draws * d);
    if (k < 1 || !(split < 0.97f * whole))
        return -1;
    if (!p->tail_draws[s])
        split_draws(p, s, n, size, k);
    return p->tail_draws[s] > 0 ? s : -1;
}

/* Lane `lane`'s share of a split model s: lane 1 the first draws on the
 * model, lane 0 the last on its copy. The pushed flags are the last
 * draw's (distance_grad), so lane 0 writes the model's own and lane 1
 * scratch. Lane 1 times its share and folds it, scaled to all the draws,
 * into the model's lane time. */
static apf_status split_part(apf_probe *p, int s, int lane, attack_bufs *b, const placement *pl, int n,
                             int size)
{
    const apf_probe_options *o = &p->opt;
    int draws = p->samples[s], k = p->tail_draws[s];
    attack_ctx ctx = {n, apf_model_embedding_dim(p->model[s]), b->target[s], b->away[s],
                      o->random_target, p->count, lane ? b->pushed : b->mpushed[s]};
    int s0 = lane ? 0 : draws - k, s1 = lane ? draws - k : draws;
    double t0 = now_ms();
    apf_status st = samples_part(p, b, pl, &ctx, n, size, s0, s1, lane ? p->model[s] : p->tail_copy[s]);
    if (lane)
        note_lane_time(p, s, (float)((now_ms() - t0) * draws / (s1 - s0)));
    return st;
}
#endif

/* An ensemble's iteration (APF_SCHEDULE_ALL): each model that runs now
 * into its own buffer, in two lanes or one after another (plan_lanes;
 * with the lanes, perhaps one model's draws split between them:
 * plan_split), then every model's contribution added into b->grad in
 * model order: its fresh gradient weighted (and kept for the iterations
 * that skip it), or the last one again. */
static apf_status ensemble_step(apf_probe *p, attack_bufs *b, const placement *pl, int it, int n, int size,
                                int use_di, int any_placed)
{
    const apf_probe_options *o = &p->opt;
    size_t per = (size_t)size * size * 3, all = per * n;
    int lane_of[APF_PROBE_MAX_MODELS];
    apf_status st[2] = {APF_OK, APF_OK};
    if (plan_lanes(p, it, use_di, any_placed, lane_of)) {
#ifdef _OPENMP
        int split = plan_split(p, lane_of, n, size, use_di, any_placed);
        if (split >= 0) /* its transforms drawn here, in model order, as whole */
            samples_draw(p, split, b, pl, n, size, use_di);
        /* the error message is thread-local: the second lane's is carried
         * back to the calling thread */
        char why[256] = "";
#pragma omp parallel num_threads(2)
        {
            int l = omp_get_thread_num();
            for (int m = 0; m < p->count && !st[l]; m++)
                if (lane_of[m] == l && m != split)
                    st[l] = model_fresh_timed(p, m, b, pl, n, size, use_di, any_placed, l);
            if (!st[l] && split >= 0)
                st[l] = split_part(p, split, l, b, pl, n, size);
            if (st[l] && l == 1)
                snprintf(why, sizeof why, "%s", apf_last_error());
        }
        if (!st[0] && st[1])
            return apf_fail(st[1], "%s", why);
        if (!st[0] && split >= 0) {
            memset(b->mback[split], 0, all * 4);
            samples_sum(b, p->samples[split], n, per, b->mback[split]);
        }
#endif
    } else {
        for (int m = 0; m < p->count && !st[0]; m++)
            if (lane_of[m] >= 0)
                st[0] = model_fresh(p, m, b, pl, n, size, use_di, any_placed, 0);
    }
    if (st[0])
        return st[0];
    for (int m = 0; m < p->count; m++) {
        if (lane_of[m] < 0) {
            add_to(b->grad, b->last[m], all);
        } else if (b->last[m]) {
            memset(b->last[m], 0, all * 4);
            accumulate(b->last[m], b->mback[m], per, n, p->weight[m], b->mpushed[m], o->random_target);
            add_to(b->grad, b->last[m], all);
        } else {
            accumulate(b->grad, b->mback[m], per, n, p->weight[m], b->mpushed[m], o->random_target);
        }
    }
    return APF_OK;
}

/* apf_probe_gradient on at most PROBE_CHUNK faces, the lock held. */
static apf_status gradient_chunk(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                                 int size, const double *to_image, int8_t *g, uint8_t *reach)
{
    const apf_probe_options *o = &p->opt;
    size_t per = (size_t)size * size * 3, all = per * n;
    attack_bufs b;
    placement pl[PROBE_CHUNK];
    memset(pl, 0, sizeof pl);
    apf_status st = APF_OK;
    if (!bufs_alloc(&b, p, n, per)) {
        st = apf_fail(APF_E_NOMEM, "probe: out of memory for %d faces", n);
        goto out;
    }
    int any_placed = 0;
    for (int k = 0; k < n && !st; k++) {
        st = placement_init(&pl[k], to_image ? to_image + 6 * k : NULL, size);
        any_placed |= pl[k].placed;
    }
    if (st)
        goto out;
    for (size_t i = 0; i < all; i++)
        b.x0[i] = faces[i];
    for (int k = 0; k < n; k++)
        seed_face(&b.r[k], o->seed, faces + k * per, per);
    /* each face's decoy, the same person for every model */
    int decoy[PROBE_CHUNK], with_decoys = p->decoys.n > 0 && o->random_target > 0;
    for (int k = 0; k < n && with_decoys; k++)
        decoy[k] = decoys_pick(&p->decoys, rng_next(&b.r[k]));
    if ((st = face_bounds(o, faces, n, size, b.bound)))
        goto out;
    /* every model's targets; x_e goes through xin, free until the attack */
    if (enrolled)
        for (size_t i = 0; i < all; i++)
            b.xin[i] = enrolled[i];
    int any_offset = 0;
    st = all_embeddings(p, b.x0, enrolled ? b.xin : NULL, n, size, with_decoys ? decoy : NULL, b.target, b.away);
    for (int m = 0; m < p->count && !st; m++)
        st = model_targets(p, m, n, b.r, with_decoys ? decoy : NULL, b.target[m], b.away[m], &any_offset);
    if (st)
        goto out;
    memcpy(b.x, b.x0, all * 4);
    /* Pushing a face away from its own clean embedding has zero gradient at
     * the start: begin from a small random point (as PGD does). */
    if (!enrolled && !any_offset && o->random_target <= 0)
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < per; i++) {
                float v = b.x0[k * per + i] + rng_uniform(&b.r[k], -o->step, o->step);
                b.x[k * per + i] = fminf(fmaxf(v, 0.0f), 255.0f);
            }
    int fgsm = o->attack == APF_ATTACK_FGSM;
    int iters = fgsm ? 1 : o->iterations;
    int use_mom = o->attack == APF_ATTACK_MIFGSM || o->attack == APF_ATTACK_MDI2FGSM;
    int use_di = o->attack == APF_ATTACK_DI2FGSM || o->attack == APF_ATTACK_MDI2FGSM;
    float step = fgsm ? o->eps : o->step;
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < n; k++) {
            di_draw_for(&b.r[k], use_di, o->diversity_prob, o->diversity_blur, o->diversity_blur_sigma,
                        pl[k].placed, size, &b.tf[k]);
            /* what a recognizer will see: the noise after its round trip
             * through the photo (the identity without a placement) */
            float *xk = b.x + k * per, *x0k = b.x0 + k * per, *src = xk;
            if (pl[k].active) {
                float *dk = b.xp + k * per;
                for (size_t i = 0; i < per; i++)
                    dk[i] = xk[i] - x0k[i];
                placement_forward(&pl[k], dk, b.dtmp);
                for (size_t i = 0; i < per; i++)
                    dk[i] = fminf(fmaxf(x0k[i] + b.dtmp[i], 0.0f), 255.0f);
                src = dk;
            }
            di_forward(&b.tf[k], src, b.xin + k * per, b.scratch, size);
        }
        memset(b.grad, 0, all * 4);
        if (p->count > 1 && o->schedule == APF_SCHEDULE_ALL) {
            if ((st = ensemble_step(p, &b, pl, it, n, size, use_di, any_placed)))
                goto out;
        } else { /* one model, or one model per iteration (APF_SCHEDULE_ROTATE) */
            int m = p->count > 1 ? it % p->count : 0;
            const lane_bufs own = {b.gin, b.scratch, b.dtmp};
            if ((st = model_gradient(p, m, &b, pl, n, size, use_di, any_placed, &own,
                                     p->count > 1 ? b.back : b.grad, b.pushed)))
                goto out;
            if (p->count > 1)
                accumulate(b.grad, b.back, per, n, p->weight[m], b.pushed, o->random_target);
        }
        for (int k = 0; k < n; k++)
            if (pl[k].active) {
                placement_backward(&pl[k], b.grad + k * per, b.dtmp);
                memcpy(b.grad + k * per, b.dtmp, per * 4);
            }
        /* TI: the step follows the gradient's local average, which moves
         * every recognizer's features alike; one pixel's sign does not. */
        for (int k = 0; k < n && o->smooth_sigma > 0; k++)
            blur_hwc(b.grad + k * per, b.scratch, b.grad + k * per, size, o->smooth_sigma);
        for (int k = 0; k < n; k++) {
            float *gk = b.grad + k * per, *mk = b.mom + k * per;
            if (use_mom) {
                double l1 = 0;
                for (size_t i = 0; i < per; i++)
                    l1 += fabsf(gk[i]);
                float inv = l1 > 0 ? (float)(1.0 / l1) : 0.0f;
                for (size_t i = 0; i < per; i++)
                    gk[i] = mk[i] = o->momentum * mk[i] + gk[i] * inv;
            }
            float *xk = b.x + k * per, *x0k = b.x0 + k * per, *bk = b.bound + k * per;
            for (size_t i = 0; i < per; i++) {
                float v = xk[i] + step * signf(gk[i]);
                v = fminf(fmaxf(v, x0k[i] - bk[i]), x0k[i] + bk[i]);
                xk[i] = fminf(fmaxf(v, 0.0f), 255.0f);
            }
        }
    }
    /* g is the direction the attack moved each value. Where the steps
     * cancelled out (about 8% of values for I-FGSM and DI2-FGSM), take the
     * direction of the last step: a zero there is nearly unpredictable and
     * costs about a third of the wire bytes, while ASR does not change
     * (docs/wire-format.md). The reach is how far it moved each value: its
     * own result, x0 + reach * g, moves many values less than eps * g does,
     * for far better SSIM at about the same protection (docs/protection.md).
     * It stays on the device, out of g. */
    for (size_t i = 0; i < all; i++) {
        float moved = b.x[i] - b.x0[i], d = signf(moved);
        g[i] = (int8_t)(d != 0.0f ? d : signf(b.grad[i]));
        if (reach)
            reach[i] = (uint8_t)lrintf(fabsf(moved));
    }
    if (reach && o->ssim_floor > 0) {
        uint8_t *tmp = malloc(2 * per);
        if (!tmp)
            st = apf_fail(APF_E_NOMEM, "probe: out of memory");
        for (int k = 0; k < n && !st; k++)
            st = hold_ssim_floor(o, faces + k * per, g + k * per, reach + k * per, size, (int8_t *)(tmp + per),
                                 tmp);
        free(tmp);
        if (st)
            goto out;
    }
    if (o->g_flip > 0 || o->g_drop > 0)
        for (int k = 0; k < n; k++)
            blur_what_g_reveals(o, faces + k * per, per, g + k * per);
out:
    for (int k = 0; k < PROBE_CHUNK; k++)
        placement_free(&pl[k]);
    bufs_free(&b, p->count);
    return st;
}

/* The models' hashes folded together: the first model's own hash when it
 * is alone, so a single-model probe's blobs are as before. */
static uint64_t probe_hash(const apf_probe *p)
{
    uint64_t h = apf_model_hash(p->model[0]);
    for (int m = 1; m < p->count; m++)
        h = (h ^ apf_model_hash(p->model[m])) * 1099511628211ull;
    return h;
}

apf_status apf_probe_gradient_blob(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled, int n,
                                   int size, void **blob, size_t *blob_size)
{
    return apf_probe_gradient_blob_placed(p, faces, enrolled, n, size, NULL, blob, blob_size);
}

apf_status apf_probe_gradient_blob_placed(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled,
                                          int n, int size, const double *to_image, void **blob,
                                          size_t *blob_size)
{
    return apf_probe_gradient_blob_reach(p, faces, enrolled, n, size, to_image, NULL, blob, blob_size);
}

apf_status apf_probe_gradient_blob_reach(apf_probe *p, const uint8_t *faces, const uint8_t *enrolled,
                                         int n, int size, const double *to_image, uint8_t *reach,
                                         void **blob, size_t *blob_size)
{
    if (!blob || !blob_size)
        return apf_fail(APF_E_INVALID, "probe: NULL argument");
    if (!p || n < 1 || n > APF_WIRE_MAX_FACES || size < 16 || size > APF_WIRE_MAX_SIDE)
        return apf_fail(APF_E_INVALID, "probe: bad arguments");
    int8_t *g = malloc((size_t)n * size * size * 3);
    if (!g)
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    apf_status st = apf_probe_gradient_reach(p, faces, enrolled, n, size, to_image, g, reach);
    if (!st) {
        apf_wire_info info = {APF_WIRE_GRADIENT, (int)p->opt.attack, n, size, size, 3, p->opt.eps,
                              probe_hash(p)};
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
