/* apf_probe: invariants for every attack, agreement with the golden
 * gradient, determinism, effectiveness against the probe itself. */
#include <check.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_end.h"
#include "apf/apf_eval.h"
#include "apf/apf_photo.h"
#include "testutil.h"
#include "tu_jpeg.h"

#define S 112
#define PER (S * S * 3)

static const char *FACES[4] = {"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg",
                               "Abel_Pacheco/Abel_Pacheco_0001.jpg", "Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg"};
static uint8_t faces[4 * PER];

static void load_faces(void)
{
    for (int k = 0; k < 4; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/lfw/aligned112/%s", FACES[k]);
        apf_image *im;
        ck_assert_int_eq(apf_image_load(tu_path(tu_shared_dir(), rel), &im), APF_OK);
        memcpy(faces + k * PER, apf_image_pixels(im), PER);
        apf_image_free(im);
    }
}

static apf_probe *make(apf_attack a, int iters, uint64_t seed, int offset)
{
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.attack = a;
    o.iterations = iters;
    o.seed = seed;
    o.enrol_offset = offset;
    o.threads = 2;
    apf_probe *p;
    apf_status st = apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p);
    ck_assert_msg(st == APF_OK, "%s", apf_last_error());
    return p;
}

START_TEST(invariants_every_attack)
{
    load_faces();
    apf_probe *p = make((apf_attack)_i, 5, 1, 1);
    int8_t *g = malloc(2 * PER);
    uint8_t *adv = malloc(2 * PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g), APF_OK);
    ck_assert_int_eq(apf_apply_perturbation(faces, g, 2 * PER, 8.0f, adv), APF_OK);
    size_t nonzero = 0;
    for (size_t i = 0; i < 2 * PER; i++) {
        ck_assert(g[i] >= -1 && g[i] <= 1);
        nonzero += g[i] != 0;
        ck_assert_int_le(abs((int)adv[i] - (int)faces[i]), 8);
    }
    ck_assert_msg(nonzero > PER, "%s: only %zu nonzero", apf_attack_name((apf_attack)_i), nonzero);
    free(g), free(adv);
    apf_probe_free(p);
}
END_TEST

static float *read_f32(const char *name, size_t n)
{
    size_t size;
    float *v = tu_read_file(tu_path(tu_shared_dir(), name), &size);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(size, n * 4);
    return v;
}

START_TEST(fgsm_sign_matches_golden)
{
    /* Golden: d/d realA of sum((e(realA) - e(realB))^2) on normalised
     * embeddings, which is exactly our D with x = realA, x_e = realB,
     * no offset. The input tensor is (pixel - 127.5) / 128. */
    float *a = read_f32("reference/models/mobilefacenet-tflite.input.realA.f32", PER);
    float *b = read_f32("reference/models/mobilefacenet-tflite.input.realB.f32", PER);
    float *ref = read_f32("reference/models/mobilefacenet-tflite.grad.real.f32", PER);
    uint8_t *xa = malloc(PER), *xb = malloc(PER);
    for (int i = 0; i < PER; i++) {
        xa[i] = (uint8_t)lroundf(a[i] * 128.0f + 127.5f);
        xb[i] = (uint8_t)lroundf(b[i] * 128.0f + 127.5f);
    }
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.attack = APF_ATTACK_FGSM;
    o.enrol_offset = 0;
    o.random_target = 0; /* the golden loss is the distance alone */
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    int8_t *g = malloc(PER);
    ck_assert_int_eq(apf_probe_gradient(p, xa, xb, 1, S, g), APF_OK);
    float mx = 0;
    for (int i = 0; i < PER; i++)
        mx = fmaxf(mx, fabsf(ref[i]));
    int counted = 0, agree = 0;
    for (int i = 0; i < PER; i++)
        if (fabsf(ref[i]) > 1e-3f * mx) {
            counted++;
            agree += g[i] == (ref[i] > 0 ? 1 : -1);
        }
    ck_assert_int_gt(counted, PER / 2);
    ck_assert_msg(agree >= counted - counted / 1000, "sign agreement %d of %d", agree, counted);
    free(a), free(b), free(ref), free(xa), free(xb), free(g);
    apf_probe_free(p);
}
END_TEST

START_TEST(deterministic_for_seed)
{
    load_faces();
    apf_probe *p = make(APF_ATTACK_MDI2FGSM, 4, 42, 1), *q = make(APF_ATTACK_MDI2FGSM, 4, 43, 1);
    int8_t *g1 = malloc(2 * PER), *g2 = malloc(2 * PER), *g3 = malloc(2 * PER), *g4 = malloc(PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g1), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g2), APF_OK);
    ck_assert_mem_eq(g1, g2, 2 * PER);
    ck_assert_int_eq(apf_probe_gradient(q, faces, NULL, 2, S, g3), APF_OK);
    ck_assert_int_ne(memcmp(g1, g3, 2 * PER), 0);
    /* the second face alone draws the same randomness as in the batch */
    ck_assert_int_eq(apf_probe_gradient(p, faces + PER, NULL, 1, S, g4), APF_OK);
    int same = 0;
    for (int i = 0; i < PER; i++)
        same += g4[i] == g1[PER + i];
    ck_assert_msg(same > PER * 99 / 100, "batch vs single agree on %d of %d", same, PER);
    free(g1), free(g2), free(g3), free(g4);
    apf_probe_free(p);
    apf_probe_free(q);
}
END_TEST

static float cosine(const float *a, const float *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++)
        s += (double)a[k] * b[k];
    return (float)s;
}

START_TEST(protection_works_white_box)
{
    /* DI2-FGSM, 30 iterations, self mode: the probe no longer matches the
     * protected face to the original (LFW threshold 0.351, docs/README). */
    load_faces();
    apf_probe *p = make(APF_ATTACK_DI2FGSM, 30, 7, 1);
    apf_model *m = apf_probe_model(p);
    int dim = apf_model_embedding_dim(m);
    int8_t *g = malloc(4 * PER);
    uint8_t *adv = malloc(4 * PER);
    float *fx = malloc(4 * PER * 4), *fa = malloc(4 * PER * 4), *e0 = malloc(4 * dim * 4),
          *e1 = malloc(4 * dim * 4);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 4, S, g), APF_OK);
    apf_apply_perturbation(faces, g, 4 * PER, 8.0f, adv);
    for (int i = 0; i < 4 * PER; i++)
        fx[i] = faces[i], fa[i] = adv[i];
    ck_assert_int_eq(apf_model_embed(m, fx, 4, S, e0), APF_OK);
    ck_assert_int_eq(apf_model_embed(m, fa, 4, S, e1), APF_OK);
    for (int k = 0; k < 4; k++) {
        float c = cosine(e0 + k * dim, e1 + k * dim, dim);
        ck_assert_msg(c < 0.351f, "face %d: cosine to original %.3f", k, c);
    }
    free(g), free(adv), free(fx), free(fa), free(e0), free(e1);
    apf_probe_free(p);
}
END_TEST

START_TEST(blob_round_trip)
{
    load_faces();
    apf_probe *p = make(APF_ATTACK_FGSM, 1, 1, 1);
    void *blob;
    size_t size;
    ck_assert_int_eq(apf_probe_gradient_blob(p, faces, NULL, 1, S, &blob, &size), APF_OK);
    apf_wire_info info;
    int8_t *v, *g = malloc(PER);
    ck_assert_int_eq(apf_wire_decode(blob, size, &info, &v), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g), APF_OK);
    ck_assert_mem_eq(v, g, PER);
    ck_assert_uint_eq(info.model_hash, apf_model_hash(apf_probe_model(p)));
    ck_assert_int_eq(info.algorithm, APF_ATTACK_FGSM);
    free(blob), free(v), free(g);
    apf_probe_free(p);
}
END_TEST

/* Real DI2-FGSM maps: values whose steps cancelled take the last step's
 * sign (so almost no zeros remain), and the context-coded blob stays
 * within the 4 KB-per-face wire budget (bench/bench_probe.c measures it on
 * 32 faces; this guards the coder and the tie-break against regressions). */
START_TEST(di2_maps_fit_the_wire_budget)
{
    load_faces();
    apf_probe *p = make(APF_ATTACK_DI2FGSM, 30, 7, 1);
    int8_t *g = malloc(4 * PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 4, S, g), APF_OK);
    size_t zeros = 0;
    for (size_t i = 0; i < 4 * (size_t)PER; i++)
        zeros += g[i] == 0;
    ck_assert_msg(zeros < 4 * PER / 100, "%zu zeros of %d", zeros, 4 * PER);
    void *blob;
    size_t size;
    ck_assert_int_eq(apf_probe_gradient_blob(p, faces, NULL, 4, S, &blob, &size), APF_OK);
    ck_assert_msg(size <= 4 * 4096, "%zu bytes for 4 faces", size);
    free(blob), free(g);
    apf_probe_free(p);
}
END_TEST


/* cosine of model m's embeddings of two face sets, per face */
static void cosines(apf_model *m, const uint8_t *a, const uint8_t *b, int n, float *out)
{
    int dim = apf_model_embedding_dim(m);
    float *fa = malloc((size_t)n * PER * 4), *fb = malloc((size_t)n * PER * 4);
    float *ea = malloc((size_t)n * dim * 4), *eb = malloc((size_t)n * dim * 4);
    for (int i = 0; i < n * PER; i++)
        fa[i] = a[i], fb[i] = b[i];
    ck_assert_int_eq(apf_model_embed(m, fa, n, S, ea), APF_OK);
    ck_assert_int_eq(apf_model_embed(m, fb, n, S, eb), APF_OK);
    for (int k = 0; k < n; k++)
        out[k] = cosine(ea + k * dim, eb + k * dim, dim);
    free(fa), free(fb), free(ea), free(eb);
}

START_TEST(ensemble_members)
{
    apf_probe *p = make(APF_ATTACK_DI2FGSM, 2, 1, 1);
    const char *mf = tu_path(tu_models_dir(), "mobileface.apfm");
    ck_assert_int_eq(apf_probe_model_count(p), 1);
    ck_assert_int_eq(apf_probe_add_model(p, mf, 0.0f), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_add_model(p, mf, NAN), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_add_model(p, "/nonexistent.apfm", 1.0f), APF_E_IO);
    ck_assert_int_eq(apf_probe_add_model(p, tu_path(tu_models_dir(), "blazeface.apfm"), 1.0f),
                     APF_E_INVALID);
    ck_assert_int_eq(apf_probe_model_count(p), 1);
    for (int k = 1; k < APF_PROBE_MAX_MODELS; k++)
        ck_assert_int_eq(apf_probe_add_model(p, mf, 1.0f), APF_OK);
    ck_assert_int_eq(apf_probe_add_model(p, mf, 1.0f), APF_E_LIMIT);
    ck_assert_int_eq(apf_probe_model_count(p), APF_PROBE_MAX_MODELS);
    /* the models, borrowed: the probe model proper first, then those added */
    ck_assert_ptr_eq(apf_probe_model_at(p, 0), apf_probe_model(p));
    ck_assert_str_eq(apf_model_name(apf_probe_model_at(p, 1)), "mobileface");
    ck_assert_ptr_null(apf_probe_model_at(p, APF_PROBE_MAX_MODELS));
    ck_assert_ptr_null(apf_probe_model_at(p, -1));
    ck_assert_int_eq(apf_probe_add_model(NULL, mf, 1.0f), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_model_count(NULL), 0);
    apf_probe_free(p);
}
END_TEST

/* Probe p (MobileFaceNet + mobileface) protects the first four faces from
 * both at their LFW thresholds (folds 1-7: 0.369 and 0.214). */
static void assert_both_stop_matching(apf_probe *p)
{
    apf_model *mf;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "mobileface.apfm"), &mf), APF_OK);
    int8_t *g = malloc(4 * PER);
    uint8_t *adv = malloc(4 * PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 4, S, g), APF_OK);
    ck_assert_int_eq(apf_apply_perturbation(faces, g, 4 * PER, 8.0f, adv), APF_OK);
    float c0[4], c1[4];
    cosines(apf_probe_model(p), faces, adv, 4, c0);
    cosines(mf, faces, adv, 4, c1);
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(c0[k] < 0.369f, "face %d: MobileFaceNet cosine %.3f", k, c0[k]);
        ck_assert_msg(c1[k] < 0.214f, "face %d: mobileface cosine %.3f", k, c1[k]);
    }
    free(g), free(adv);
    apf_model_free(mf);
}

/* MobileFaceNet + mobileface on the device: both stop matching, where the
 * probe alone leaves mobileface matching (docs/results.md). */
START_TEST(ensemble_protects_every_member)
{
    load_faces();
    apf_probe *p = make(APF_ATTACK_DI2FGSM, 10, 7, 1);
    ck_assert_int_eq(apf_probe_add_model(p, tu_path(tu_models_dir(), "mobileface.apfm"), 1.0f), APF_OK);
    assert_both_stop_matching(p);
    void *blob;
    size_t size;
    apf_wire_info info;
    int8_t *v;
    ck_assert_int_eq(apf_probe_gradient_blob(p, faces, NULL, 1, S, &blob, &size), APF_OK);
    ck_assert_int_eq(apf_wire_decode(blob, size, &info, &v), APF_OK);
    ck_assert_uint_ne(info.model_hash, apf_model_hash(apf_probe_model(p))); /* names the ensemble */
    free(blob), free(v);
    apf_probe_free(p);
}
END_TEST

/* Two photos of one person, each protected: with the random target they
 * land apart (cosine under the probe's threshold); pushed only away from
 * their own clean embeddings they stay closer. */
START_TEST(random_target_separates_two_photos)
{
    load_faces(); /* faces 0 and 1 are Aaron Peirsol */
    float with_rt, without;
    for (int pass = 0; pass < 2; pass++) {
        apf_probe_options o;
        apf_probe_options_init(&o);
        o.iterations = 30;
        o.seed = 7;
        o.threads = 2;
        o.random_target = pass ? 0.0f : 1.0f;
        apf_probe *p;
        ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
        int8_t *g = malloc(2 * PER);
        uint8_t *adv = malloc(2 * PER);
        ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g), APF_OK);
        apf_apply_perturbation(faces, g, 2 * PER, 8.0f, adv);
        cosines(apf_probe_model(p), adv, adv + PER, 1, pass ? &without : &with_rt);
        free(g), free(adv);
        apf_probe_free(p);
    }
    ck_assert_msg(with_rt < 0.369f, "protected photos of one person: cosine %.3f", with_rt);
    ck_assert_msg(with_rt < without, "random target %.3f, without %.3f", with_rt, without);
}
END_TEST

/* Decoys: the random target pulls the face toward the decoy's embedding
 * (one decoy, so every face gets it), the embedding is computed once and
 * reused (the same g again), a model added after the decoys gets them
 * too, and removing them gives back the random directions exactly. */
START_TEST(decoys_pull_toward_the_decoy)
{
    load_faces(); /* face 0: Aaron Peirsol; face 3 (Akhmed Zakayev) is the decoy */
    apf_probe *p = make(APF_ATTACK_IFGSM, 10, 3, 1); /* the library's random target, 1 */
    int8_t *g = malloc(4 * PER);
    uint8_t *adv = malloc(PER);
    const uint8_t *decoy = faces + 3 * PER;
    float toward[2];
    for (int pass = 0; pass < 2; pass++) { /* 0: random directions, 1: the decoy */
        if (pass)
            ck_assert_int_eq(apf_probe_set_decoys(p, decoy, 1, S), APF_OK);
        ck_assert_int_eq(apf_probe_decoy_count(p), pass);
        ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g + pass * PER), APF_OK);
        apf_apply_perturbation(faces, g + pass * PER, PER, 8.0f, adv);
        cosines(apf_probe_model(p), adv, decoy, 1, &toward[pass]);
    }
    ck_assert_msg(toward[1] > toward[0] + 0.1f, "cosine to the decoy: %.3f with it, %.3f without", toward[1],
                  toward[0]);
    /* its embedding kept: the same g again */
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g + 2 * PER), APF_OK);
    ck_assert_int_eq(memcmp(g + PER, g + 2 * PER, PER), 0);
    /* gone: random directions, as before the decoys */
    ck_assert_int_eq(apf_probe_set_decoys(p, NULL, 0, 0), APF_OK);
    ck_assert_int_eq(apf_probe_decoy_count(p), 0);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g + 2 * PER), APF_OK);
    ck_assert_int_eq(memcmp(g, g + 2 * PER, PER), 0);
    /* a model added after the decoys embeds them too */
    ck_assert_int_eq(apf_probe_set_decoys(p, decoy, 1, S), APF_OK);
    ck_assert_int_eq(apf_probe_add_model(p, tu_path(tu_models_dir(), "mobileface.apfm"), 1.0f), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g + 3 * PER), APF_OK);
    ck_assert_int_ne(memcmp(g + PER, g + 3 * PER, PER), 0);
    free(g), free(adv);
    apf_probe_free(p);
}
END_TEST

/* g_flip and g_drop: the share of g's values changed is the one asked
 * for, the rest is the unmitigated g, and a photo always sends the same g. */
START_TEST(g_flip_and_drop_change_the_share_asked)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.attack = APF_ATTACK_FGSM;
    o.threads = 2;
    int8_t *g0 = malloc(2 * PER), *g1 = malloc(2 * PER), *g2 = malloc(2 * PER);
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g0), APF_OK);
    apf_probe_free(p);
    o.g_flip = 0.3f;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g1), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g2), APF_OK);
    ck_assert_int_eq(memcmp(g1, g2, 2 * PER), 0);
    apf_probe_free(p);
    int flipped = 0;
    for (int i = 0; i < 2 * PER; i++) {
        ck_assert(g1[i] == g0[i] || g1[i] == -g0[i]);
        flipped += g1[i] != g0[i];
    }
    ck_assert_msg(fabs(flipped / (2.0 * PER) - 0.3) < 0.01, "flipped %d of %d", flipped, 2 * PER);
    o.g_flip = 0.0f, o.g_drop = 0.5f;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 2, S, g1), APF_OK);
    apf_probe_free(p);
    int zero = 0;
    for (int i = 0; i < 2 * PER; i++) {
        ck_assert(g1[i] == 0 || g1[i] == g0[i]);
        zero += g1[i] == 0;
    }
    ck_assert_msg(fabs(zero / (2.0 * PER) - 0.5) < 0.01, "dropped %d of %d", zero, 2 * PER);
    o.g_drop = 1.0f; /* nothing left to send */
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_E_INVALID);
    o.g_drop = 0, o.g_flip = 0.5f; /* a coin toss: g would carry nothing */
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_E_INVALID);
    o.g_flip = NAN;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_E_INVALID);
    free(g0), free(g1), free(g2);
}
END_TEST

/* The texture budget: a flat face gets small bounds, a textured one the
 * full eps; the limit is what the attack used, so the protected face is
 * within it and its SSIM rises over the uniform budget. */
START_TEST(texture_budget_limits_noise)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.texture_ssim = 0.9f;
    o.iterations = 10;
    o.threads = 2;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    uint8_t *flat = malloc(2 * PER), *adv = malloc(PER);
    int8_t *noise = malloc(2 * PER), *g = malloc(PER);
    memset(flat, 128, PER);
    for (int i = 0; i < PER; i++) /* +-60 checkerboard: variance 3600 */
        flat[PER + i] = (uint8_t)(((i / 3 + i / (3 * S)) & 1) ? 188 : 68);
    for (int i = 0; i < 2 * PER; i++)
        noise[i] = (i & 1) ? 8 : -8;
    ck_assert_int_eq(apf_probe_limit_noise(p, flat, 2, S, noise), APF_OK);
    for (int i = 0; i < PER; i++) {
        ck_assert_int_eq(abs(noise[i]), 2);       /* sqrt(1/9 * C2) = 2.55 */
        ck_assert_int_eq(abs(noise[PER + i]), 8); /* capped at eps */
    }
    ck_assert_int_eq(apf_probe_limit_noise(p, NULL, 1, S, noise), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_limit_noise(p, flat, 0, S, noise), APF_E_INVALID);
    /* on a real face: the limited protection has higher SSIM than eps * g */
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g), APF_OK);
    for (int i = 0; i < PER; i++)
        noise[i] = (int8_t)(8 * g[i]);
    ck_assert_int_eq(apf_probe_limit_noise(p, faces, 1, S, noise), APF_OK);
    int below = 0;
    for (int i = 0; i < PER; i++)
        below += abs(noise[i]) < 8;
    ck_assert_msg(below > PER / 10, "only %d of %d values limited", below, PER);
    apf_probe_free(p);
    o.texture_ssim = 0.3f;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_E_INVALID);
    free(flat), free(adv), free(noise), free(g);
}
END_TEST

/* Neighbouring values of g that point opposite ways, along rows, per channel. */
static int sign_changes(const int8_t *g)
{
    int changes = 0;
    for (int y = 0; y < S; y++)
        for (int x = 1; x < S; x++)
            for (int c = 0; c < 3; c++)
                changes += g[(y * S + x) * 3 + c] != g[(y * S + x - 1) * 3 + c];
    return changes;
}

/* Gradient smoothing (TI): g changes sign between neighbours far less
 * often, the face is still pushed from its own embedding, and values out
 * of range are refused. */
START_TEST(smoothing_makes_noise_vary_slowly)
{
    load_faces();
    apf_model *m;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &m), APF_OK);
    int changes[2];
    float cos[2];
    for (int s = 0; s < 2; s++) {
        apf_probe_options o;
        apf_probe_options_init(&o);
        o.iterations = 10, o.threads = 2, o.seed = 3, o.random_target = 0;
        o.smooth_sigma = s ? 1.5f : 0.0f;
        apf_probe *p;
        ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
        int8_t *g = malloc(PER);
        uint8_t *adv = malloc(PER);
        ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g), APF_OK);
        ck_assert_int_eq(apf_apply_perturbation(faces, g, PER, 8.0f, adv), APF_OK);
        changes[s] = sign_changes(g);
        cosines(m, faces, adv, 1, &cos[s]);
        apf_probe_free(p);
        free(g), free(adv);
    }
    ck_assert_msg(3 * changes[1] < 2 * changes[0], "sign changes %d smoothed vs %d", changes[1], changes[0]);
    ck_assert_msg(cos[1] < 0.3f, "smoothed attack leaves cosine %.3f (plain %.3f)", cos[1], cos[0]);
    apf_probe_options o;
    apf_probe_options_init(&o);
    apf_probe *p = NULL;
    const float bad[] = {-0.5f, 8.5f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        o.smooth_sigma = bad[i];
        ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p),
                         APF_E_INVALID);
        ck_assert_ptr_null(p);
    }
    apf_model_free(m);
}
END_TEST

/* apf_probe_gradient_reach: the same g as apf_probe_gradient, plus how far
 * the attack moved each value; eps * g bounded by it is the attack's own
 * result: it moves most values less than eps and still protects. */
START_TEST(reach_is_the_attacks_own_move)
{
    load_faces();
    apf_model *m;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &m), APF_OK);
    apf_probe_options o;
    apf_probe_options_init(&o);
    ck_assert_int_eq(o.reach_budget, 0);
    o.iterations = 10, o.threads = 2, o.seed = 3, o.random_target = 0;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    int8_t *g = malloc(PER), *g2 = malloc(PER), *noise = malloc(PER);
    uint8_t *reach = malloc(PER), *adv = malloc(PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g), APF_OK);
    ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, 1, S, NULL, g2, reach), APF_OK);
    ck_assert_mem_eq(g, g2, PER);
    size_t below = 0;
    double l1_full = 0, l1_reach = 0;
    for (size_t i = 0; i < PER; i++) {
        ck_assert_uint_le(reach[i], 8);
        below += reach[i] < 8;
        noise[i] = (int8_t)(8 * g[i]);
    }
    ck_assert_int_eq(apf_limit_noise_to_reach(noise, reach, PER), APF_OK);
    for (size_t i = 0; i < PER; i++) {
        int want = g[i] * (reach[i] < 8 ? reach[i] : 8);
        ck_assert_int_eq(noise[i], want);
        l1_full += 8 * abs(g[i]), l1_reach += abs(noise[i]);
    }
    /* 10 steps of 2 from a random start: a real share of values ends short of eps */
    ck_assert_msg(below > PER / 10, "only %zu of %d values moved less than eps", below, PER);
    ck_assert_msg(l1_reach < 0.95 * l1_full, "reach-bounded L1 %.0f vs eps * g %.0f", l1_reach, l1_full);
    float cos;
    ck_assert_int_eq(apf_apply_perturbation(faces, noise, PER, 1.0f, adv), APF_OK);
    cosines(m, faces, adv, 1, &cos);
    ck_assert_msg(cos < 0.3f, "the attack's own result leaves cosine %.3f", cos);
    /* bad arguments, and a reach_budget that is not 0 or 1 */
    ck_assert_int_eq(apf_limit_noise_to_reach(NULL, reach, PER), APF_E_INVALID);
    ck_assert_int_eq(apf_limit_noise_to_reach(noise, NULL, PER), APF_E_INVALID);
    ck_assert_int_eq(apf_limit_noise_to_reach(noise, reach, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, 0, S, NULL, g2, reach), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, 1, S, NULL, NULL, reach), APF_E_INVALID);
    apf_probe *q = NULL;
    o.reach_budget = 2;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &q), APF_E_INVALID);
    ck_assert_ptr_null(q);
    apf_probe_free(p);
    apf_model_free(m);
    free(g), free(g2), free(noise), free(reach), free(adv);
}
END_TEST

/* Share of values where two g's agree on a nonzero sign. */
static double sign_agreement(const int8_t *a, const int8_t *b, size_t n)
{
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += a[i] && a[i] == b[i];
    return (double)same / n;
}

static void gradient_with_seed(apf_probe *p, uint64_t seed, int n, int8_t *g)
{
    apf_probe_options o;
    o.struct_size = sizeof o;
    ck_assert_int_eq(apf_probe_get_options(p, &o), APF_OK);
    o.seed = seed;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, n, S, g), APF_OK);
}

/* A model's further draws are warped, blurred, re-encoded and carried
 * back side by side on the handle's cores and added in draw order: the
 * same g on 1 and 3 cores, and the caller's own OpenMP thread count is
 * kept. */
START_TEST(samples_give_the_same_g_on_any_number_of_cores)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.iterations = 3, o.random_target = 0, o.diversity_jpeg = 75, o.threads = 1;
    o.diversity_blur = 0.5f;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobileface.apfm"), &o, &p), APF_OK);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 6), APF_OK);
    enum { N = 2 };
    int8_t *one = malloc(N * PER), *three = malloc(N * PER);
    int before = omp_get_max_threads();
    omp_set_num_threads(2);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, one), APF_OK);
    ck_assert_int_eq(omp_get_max_threads(), 2);
    o.threads = 3;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, three), APF_OK);
    ck_assert_int_eq(omp_get_max_threads(), 2);
    ck_assert_mem_eq(one, three, N * PER);
    omp_set_num_threads(before);
    apf_probe_free(p);
    free(one), free(three);
}
END_TEST

/* On two threads an ensemble's iteration runs its slow models (period > 1)
 * on one thread beside the others on the other, each into a buffer of its
 * own, and adds them up in model order afterwards; where the lanes' times
 * say so, some of a model's draws move to the slow lane, on copies of the
 * model, when that gives the same bits as the whole batch. The same g and
 * reach as the same probe on one thread, where every model runs one after
 * another, for three lists: faceres as the slow model, the dlib ResNet
 * (whose backward pass is not the same bits on one and two threads, but
 * which runs on one thread in its lane), and mobileface as a slow model so
 * cheap that its lane is far the shorter, so that mobileface's eight draws
 * are split on every iteration it runs; with the shipped kinds of work: a
 * model with several draws through the JPEG stand-in and the blur, the
 * decoy pull, smoothing; alone and placed in a photo. */
START_TEST(lanes_give_the_same_g_as_one_thread)
{
    load_faces();
    static const char *slow[3] = {"faceres.apfm", "faceapi-recognition.apfm", "mobileface.apfm"};
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.iterations = 6, o.step = 3, o.diversity_jpeg = 75, o.diversity_blur = 0.25f, o.smooth_sigma = 0.5f;
    o.random_target = 0.4f, o.reach_budget = 1, o.threads = 1;
    enum { N = 2 };
    int8_t *one = malloc(N * PER), *two = malloc(N * PER);
    uint8_t *reach1 = malloc(N * PER), *reach2 = malloc(N * PER);
    /* 0.74 photo pixels per aligned pixel: the noise's round trip through
     * the photo, the jitter on every draw */
    const double in_photo[2 * 6] = {0.74, 0, 20, 0, 0.74, 30, 0.74, 0, 5, 0, 0.74, 9};
    for (int list = 0; list < 3; list++) {
        apf_probe *p;
        o.threads = 1;
        ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
        ck_assert_int_eq(apf_probe_add_model(p, tu_path(tu_models_dir(), "mobileface.apfm"), 1.5f), APF_OK);
        ck_assert_int_eq(apf_probe_add_model(p, tu_path(tu_models_dir(), slow[list]), 1.0f), APF_OK);
        ck_assert_int_eq(apf_probe_set_model_samples(p, 1, list ? 8 : 4), APF_OK);
        ck_assert_int_eq(apf_probe_set_model_period(p, 2, 2), APF_OK);
        ck_assert_int_eq(apf_probe_set_decoys(p, faces + 2 * PER, 2, S), APF_OK);
        /* timed on a first call, so that the lanes are planned from the first iteration of the next */
        o.threads = 2;
        ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
        ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, one), APF_OK);
        for (int placed = 0; placed < 2; placed++) {
            const double *m = placed ? in_photo : NULL;
            o.threads = 1;
            ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
            ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, N, S, m, one, reach1), APF_OK);
            o.threads = 2;
            ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
            ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, N, S, m, two, reach2), APF_OK);
            ck_assert_msg(!memcmp(one, two, N * PER), "%s, placed %d: g differs", slow[list], placed);
            ck_assert_msg(!memcmp(reach1, reach2, N * PER), "%s, placed %d: reach differs", slow[list], placed);
        }
        apf_probe_free(p);
    }
    free(one), free(two), free(reach1), free(reach2);
}
END_TEST

/* diversity_blur: off by default and then the draws are what they always
 * were, whatever its sigma; on, it changes g (deterministically); values
 * out of range are refused and leave the probe as it was. */
START_TEST(diversity_blur_as_asked)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    ck_assert_float_eq(o.diversity_blur, 0.0f);
    ck_assert_float_eq(o.diversity_blur_sigma, 1.5f);
    o.iterations = 4, o.random_target = 0, o.threads = 2;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobileface.apfm"), &o, &p), APF_OK);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 3), APF_OK);
    enum { N = 2 };
    int8_t *off = malloc(N * PER), *off4 = malloc(N * PER), *on = malloc(N * PER), *again = malloc(N * PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, off), APF_OK);
    o.diversity_blur_sigma = 4.0f;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, off4), APF_OK);
    ck_assert_mem_eq(off, off4, N * PER);
    o.diversity_blur = 0.5f, o.diversity_blur_sigma = 1.5f;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, on), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, again), APF_OK);
    ck_assert_mem_eq(on, again, N * PER);
    ck_assert(memcmp(on, off, N * PER) != 0);
    const float bad[][2] = {{-0.1f, 1.5f}, {1.01f, 1.5f}, {NAN, 1.5f}, {0.5f, 0.05f}, {0.5f, 9.0f}, {0.5f, NAN}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        apf_probe_options b = o;
        b.diversity_blur = bad[k][0], b.diversity_blur_sigma = bad[k][1];
        ck_assert_int_eq(apf_probe_set_options(p, &b), APF_E_INVALID);
    }
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, again), APF_OK);
    ck_assert_mem_eq(on, again, N * PER);
    apf_probe_free(p);
    free(off), free(off4), free(on), free(again);
}
END_TEST

/* Several input-diversity draws per iteration give a steadier direction:
 * two seeds agree on more of g's signs (on two LFW faces, mobileface:
 * 58% with one draw, 66% with eight). One draw is the default and
 * computes exactly what a probe that never set it does; an attack without
 * input diversity skips the draws (they would repeat the face). */
START_TEST(model_samples_steady_the_gradient)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.iterations = 6, o.threads = 2, o.random_target = 0;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobileface.apfm"), &o, &p), APF_OK);
    ck_assert_int_eq(apf_probe_model_samples(p, 0), 1);
    enum { N = 2 };
    int8_t *a1 = malloc(N * PER), *b1 = malloc(N * PER), *a8 = malloc(N * PER), *b8 = malloc(N * PER);
    int8_t *again = malloc(N * PER);
    gradient_with_seed(p, 1, N, a1);
    gradient_with_seed(p, 2, N, b1);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 8), APF_OK);
    ck_assert_int_eq(apf_probe_model_samples(p, 0), 8);
    gradient_with_seed(p, 1, N, a8);
    gradient_with_seed(p, 2, N, b8);
    gradient_with_seed(p, 1, N, again);
    ck_assert_mem_eq(a8, again, N * PER); /* deterministic for a seed */
    double agree1 = sign_agreement(a1, b1, N * PER), agree8 = sign_agreement(a8, b8, N * PER);
    ck_assert_msg(agree8 > agree1 + 0.03, "seeds agree on %.3f of signs with 8 samples, %.3f with 1", agree8,
                  agree1);
    /* back to one draw: what the probe computed before */
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 1), APF_OK);
    gradient_with_seed(p, 1, N, again);
    ck_assert_mem_eq(a1, again, N * PER);
    /* I-FGSM: no input diversity, so 8 samples compute what 1 does */
    apf_probe_get_options(p, &o);
    o.attack = APF_ATTACK_IFGSM;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, a1), APF_OK);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 8), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, b1), APF_OK);
    ck_assert_mem_eq(a1, b1, PER);
    /* bad arguments change nothing */
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, APF_PROBE_MAX_SAMPLES + 1), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 1, 2), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_model_samples(p, 0), 8);
    ck_assert_int_eq(apf_probe_model_samples(p, 1), 0);
    apf_probe_free(p);
    free(a1), free(b1), free(a8), free(b8), free(again);
}
END_TEST

/* g of probe p at `iters` iterations and schedule `sched` on N faces */
static void gradient_at(apf_probe *p, int iters, apf_probe_schedule sched, int n, int8_t *g)
{
    apf_probe_options o;
    o.struct_size = sizeof o;
    ck_assert_int_eq(apf_probe_get_options(p, &o), APF_OK);
    o.iterations = iters, o.schedule = sched;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, n, S, g), APF_OK);
}

/* A model with a refresh period runs on the first iteration and then on
 * iterations i with (i + index) % period == 0, its last contribution
 * reused in between: with 2 iterations, period 2 changes nothing for
 * model 1 (it runs at 0 and 1) and changes g for model 2 (it skips 1).
 * Period 1 is what a probe that never set it computes; a model alone and
 * the rotate schedule ignore it. */
START_TEST(model_period_reuses_a_models_gradient)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.threads = 2, o.random_target = 0;
    const char *mf = tu_path(tu_models_dir(), "mobileface.apfm");
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(mf, &o, &p), APF_OK);
    enum { N = 2 };
    int8_t *ref = malloc(N * PER), *g = malloc(N * PER), *ref1 = malloc(N * PER), *ref2 = malloc(N * PER);
    /* a model alone: the period is ignored */
    gradient_at(p, 3, APF_SCHEDULE_ALL, N, ref);
    ck_assert_int_eq(apf_probe_set_model_period(p, 0, 2), APF_OK);
    ck_assert_int_eq(apf_probe_model_period(p, 0), 2);
    gradient_at(p, 3, APF_SCHEDULE_ALL, N, g);
    ck_assert_mem_eq(ref, g, N * PER);
    ck_assert_int_eq(apf_probe_set_model_period(p, 0, 1), APF_OK);
    ck_assert_int_eq(apf_probe_add_model(p, mf, 1.0f), APF_OK);
    ck_assert_int_eq(apf_probe_add_model(p, mf, 1.0f), APF_OK);
    ck_assert_int_eq(apf_probe_model_period(p, 1), 1);
    ck_assert_int_eq(apf_probe_model_period(p, 2), 1);
    gradient_at(p, 2, APF_SCHEDULE_ALL, N, ref);
    memcpy(ref2, ref, N * PER);
    gradient_at(p, 1, APF_SCHEDULE_ALL, N, ref1);
    /* model 1 every second iteration: still runs at 0 and 1 */
    ck_assert_int_eq(apf_probe_set_model_period(p, 1, 2), APF_OK);
    gradient_at(p, 2, APF_SCHEDULE_ALL, N, g);
    ck_assert_mem_eq(ref, g, N * PER);
    /* model 2 every second iteration: skips iteration 1 */
    ck_assert_int_eq(apf_probe_set_model_period(p, 1, 1), APF_OK);
    ck_assert_int_eq(apf_probe_set_model_period(p, 2, 2), APF_OK);
    gradient_at(p, 2, APF_SCHEDULE_ALL, N, g);
    ck_assert_msg(memcmp(ref, g, N * PER) != 0, "a reused gradient changed nothing");
    /* the first iteration always runs every model */
    ck_assert_int_eq(apf_probe_set_model_period(p, 2, APF_PROBE_MAX_PERIOD), APF_OK);
    gradient_at(p, 1, APF_SCHEDULE_ALL, N, g);
    ck_assert_mem_eq(ref1, g, N * PER);
    /* the rotate schedule runs one model per iteration already */
    gradient_at(p, 3, APF_SCHEDULE_ROTATE, N, g);
    ck_assert_int_eq(apf_probe_set_model_period(p, 2, 1), APF_OK);
    gradient_at(p, 3, APF_SCHEDULE_ROTATE, N, ref);
    ck_assert_mem_eq(ref, g, N * PER);
    /* back to period 1: what the probe computed before */
    gradient_at(p, 2, APF_SCHEDULE_ALL, N, g);
    ck_assert_mem_eq(ref2, g, N * PER);
    /* bad arguments change nothing */
    ck_assert_int_eq(apf_probe_set_model_period(p, 2, 3), APF_OK);
    ck_assert_int_eq(apf_probe_set_model_period(p, 2, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_set_model_period(p, 2, APF_PROBE_MAX_PERIOD + 1), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_set_model_period(p, 3, 2), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_set_model_period(p, -1, 2), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_model_period(p, 2), 3);
    ck_assert_int_eq(apf_probe_model_period(p, 3), 0);
    apf_probe_free(p);
    free(ref), free(g), free(ref1), free(ref2);
}
END_TEST

/* MobileFaceNet + mobileface run every second iteration: both still stop
 * matching at their LFW thresholds (as in ensemble_protects_every_member,
 * whose attack runs mobileface every iteration). */
START_TEST(model_period_still_protects)
{
    load_faces();
    apf_probe *p = make(APF_ATTACK_DI2FGSM, 10, 7, 1);
    ck_assert_int_eq(apf_probe_add_model(p, tu_path(tu_models_dir(), "mobileface.apfm"), 1.0f), APF_OK);
    ck_assert_int_eq(apf_probe_set_model_period(p, 1, 2), APF_OK);
    assert_both_stop_matching(p);
    apf_probe_free(p);
}
END_TEST

/* mobileface's cosine to its clean embedding of each protected face after
 * a JPEG q75 round trip (libjpeg's, as a photo's re-encoding), averaged */
static double cosine_after_jpeg(const int8_t *g, int n)
{
    apf_model *m;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "mobileface.apfm"), &m), APF_OK);
    uint8_t *adv = malloc((size_t)n * PER);
    float *clean = malloc((size_t)n * PER * 4), *back = malloc((size_t)n * PER * 4);
    ck_assert_int_eq(apf_apply_perturbation(faces, g, (size_t)n * PER, 5.0f, adv), APF_OK);
    for (int k = 0; k < n; k++) {
        tu_jpeg_round_trip(adv + (size_t)k * PER, S, 75, back + (size_t)k * PER);
        for (int i = 0; i < PER; i++)
            clean[(size_t)k * PER + i] = faces[k * PER + i];
    }
    int dim = apf_model_embedding_dim(m);
    float *ec = malloc((size_t)n * dim * 4), *ea = malloc((size_t)n * dim * 4);
    ck_assert_int_eq(apf_model_embed(m, clean, n, S, ec), APF_OK);
    ck_assert_int_eq(apf_model_embed(m, back, n, S, ea), APF_OK);
    double sum = 0;
    for (int k = 0; k < n; k++)
        for (int d = 0; d < dim; d++)
            sum += (double)ec[k * dim + d] * ea[k * dim + d];
    apf_model_free(m);
    free(adv), free(clean), free(back), free(ec), free(ea);
    return sum / n;
}

/* diversity_jpeg: half of a model's further samples see the face through
 * the JPEG stand-in, so the noise holds after a real re-encoding (four LFW
 * faces, mobileface attacking itself at eps 5: mean cosine to the clean
 * face after JPEG q75 0.24 without, 0.17 with). Without further samples it
 * changes nothing; out-of-range qualities are refused. */
START_TEST(diversity_jpeg_survives_reencoding)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    ck_assert_int_eq(o.diversity_jpeg, 0);
    /* a smaller budget, nearer what the shipped ensemble leaves each
     * recognizer: at eps 8 mobileface alone breaks even the re-encoded
     * faces outright (cosine -0.26 either way) */
    o.iterations = 8, o.threads = 2, o.random_target = 0, o.eps = 5, o.step = 2;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobileface.apfm"), &o, &p), APF_OK);
    enum { N = 4 };
    int8_t *plain = malloc(N * PER), *jpeg = malloc(N * PER);
    /* one sample: the option has nothing to act on */
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, plain), APF_OK);
    o.diversity_jpeg = 75;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, jpeg), APF_OK);
    ck_assert_mem_eq(plain, jpeg, N * PER);
    ck_assert_int_eq(apf_probe_set_model_samples(p, 0, 8), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, jpeg), APF_OK);
    o.diversity_jpeg = 0;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, plain), APF_OK);
    double c_plain = cosine_after_jpeg(plain, N), c_jpeg = cosine_after_jpeg(jpeg, N);
    if (getenv("APF_TEST_VERBOSE"))
        printf("mobileface cosine after JPEG q75: %.3f without, %.3f with the stand-in\n", c_plain, c_jpeg);
    ck_assert_msg(c_jpeg < c_plain - 0.03, "cosine after JPEG %.3f with the stand-in, %.3f without", c_jpeg,
                  c_plain);
    o.diversity_jpeg = 101;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    o.diversity_jpeg = -1;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    apf_probe_free(p);
    free(plain), free(jpeg);
}
END_TEST

/* SSIM of each face with its noise as the reach allows (the noise
 * apf_photo_job and apf-eval apply) */
static void ssim_with_reach(const int8_t *g, const uint8_t *reach, int n, float eps, double *s)
{
    int8_t *noise = malloc((size_t)n * PER);
    uint8_t *adv = malloc((size_t)n * PER);
    for (size_t i = 0; i < (size_t)n * PER; i++)
        noise[i] = (int8_t)lrintf(g[i] * eps);
    ck_assert_int_eq(apf_limit_noise_to_reach(noise, reach, (size_t)n * PER), APF_OK);
    ck_assert_int_eq(apf_apply_perturbation(faces, noise, (size_t)n * PER, 1.0f, adv), APF_OK);
    for (int k = 0; k < n; k++)
        ck_assert_int_eq(apf_ssim(faces + k * PER, adv + k * PER, S, S, &s[k], NULL), APF_OK);
    free(noise), free(adv);
}

/* ssim_floor: every face ends at or above it, by a smaller reach only (g,
 * which goes to the cloud, is unchanged); faces already above it are left
 * alone; without a reach the option does nothing; bad values refused. */
START_TEST(ssim_floor_holds_for_every_face)
{
    load_faces();
    apf_probe_options o;
    apf_probe_options_init(&o);
    ck_assert_float_eq(o.ssim_floor, 0.0f);
    o.iterations = 5, o.threads = 2;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    enum { N = 4 };
    int8_t *g0 = malloc(N * PER), *g1 = malloc(N * PER);
    uint8_t *r0 = malloc(N * PER), *r1 = malloc(N * PER);
    double s0[N], s1[N];
    ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, N, S, NULL, g0, r0), APF_OK);
    ssim_with_reach(g0, r0, N, o.eps, s0);
    /* a floor between the faces' SSIMs: some must move, some not */
    double lo = 1, hi = 0;
    for (int k = 0; k < N; k++)
        lo = fmin(lo, s0[k]), hi = fmax(hi, s0[k]);
    ck_assert_double_lt(lo, hi);
    o.ssim_floor = (float)((lo + hi) / 2);
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient_reach(p, faces, NULL, N, S, NULL, g1, r1), APF_OK);
    ck_assert_mem_eq(g0, g1, N * PER);
    ssim_with_reach(g1, r1, N, o.eps, s1);
    int moved = 0;
    for (int k = 0; k < N; k++) {
        ck_assert_msg(s1[k] >= o.ssim_floor, "face %d: SSIM %.4f below the floor %.4f", k, s1[k], o.ssim_floor);
        if (s0[k] >= o.ssim_floor) {
            ck_assert_mem_eq(r0 + k * PER, r1 + k * PER, PER);
        } else {
            moved++;
            for (int i = 0; i < PER; i++)
                ck_assert_int_le(r1[k * PER + i], r0[k * PER + i]);
        }
    }
    ck_assert_int_gt(moved, 0);
    /* no reach asked: g as before */
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, N, S, g1), APF_OK);
    ck_assert_mem_eq(g0, g1, N * PER);
    o.ssim_floor = 1.0f;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    o.ssim_floor = 0.3f;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    o.ssim_floor = NAN;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    apf_probe_free(p);
    free(g0), free(g1), free(r0), free(r1);
}
END_TEST

START_TEST(bad_arguments)
{
    apf_probe_options o;
    apf_probe_options_init(&o);
    apf_probe *p = (apf_probe *)0x1;
    const char *model = tu_path(tu_models_dir(), "mobilefacenet.apfm");
    o.eps = -1;
    ck_assert_int_eq(apf_probe_create(model, &o, &p), APF_E_INVALID);
    ck_assert_ptr_null(p);
    apf_probe_options_init(&o);
    o.iterations = 0;
    ck_assert_int_eq(apf_probe_create(model, &o, &p), APF_E_INVALID);
    apf_probe_options_init(&o);
    o.attack = (apf_attack)9;
    ck_assert_int_eq(apf_probe_create(model, &o, &p), APF_E_INVALID);
    apf_probe_options_init(&o);
    o.struct_size = 4;
    ck_assert_int_eq(apf_probe_create(model, &o, &p), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_create("/nonexistent.apfm", NULL, &p), APF_E_IO);
    ck_assert_int_eq(apf_probe_create(model, NULL, NULL), APF_E_INVALID);
    p = make(APF_ATTACK_FGSM, 1, 1, 1);
    int8_t g[PER];
    ck_assert_int_eq(apf_probe_gradient(p, NULL, NULL, 1, S, g), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 0, S, g), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, 8, g), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1000, S, g), APF_E_INVALID);
    ck_assert_int_eq(apf_probe_gradient(NULL, faces, NULL, 1, S, g), APF_E_INVALID);
    apf_attack a;
    ck_assert_int_eq(apf_attack_from_name("M-DI2-FGSM", &a), APF_OK);
    ck_assert_int_eq(a, APF_ATTACK_MDI2FGSM);
    ck_assert_int_eq(apf_attack_from_name("pgd", &a), APF_E_INVALID);
    ck_assert_str_eq(apf_attack_name(APF_ATTACK_IFGSM), "i-fgsm");
    ck_assert_int_eq(apf_apply_perturbation(faces, g, 10, NAN, faces), APF_E_INVALID);
    apf_probe_free(p);
    apf_probe_free(NULL);
}
END_TEST

START_TEST(set_options_changes_later_calls)
{
    load_faces();
    apf_probe *p = make(APF_ATTACK_IFGSM, 2, 5, 1);
    int8_t *g1 = malloc(PER), *g2 = malloc(PER), *g3 = malloc(PER);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g1), APF_OK);
    apf_probe_options o;
    apf_probe_options_init(&o);
    ck_assert_int_eq(apf_probe_get_options(p, &o), APF_OK);
    o.iterations = 10;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g2), APF_OK);
    ck_assert(memcmp(g1, g2, PER) != 0);
    /* refused options leave the probe as it was */
    o.iterations = 2;
    o.eps = -1;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    apf_probe_options now;
    apf_probe_options_init(&now);
    ck_assert_int_eq(apf_probe_get_options(p, &now), APF_OK);
    ck_assert_int_eq(now.iterations, 10);
    ck_assert_float_eq(now.eps, 8.0f);
    /* back to the first settings: the first g again */
    o.eps = 8;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, faces, NULL, 1, S, g3), APF_OK);
    ck_assert_mem_eq(g1, g3, PER);
    o.struct_size = 3;
    ck_assert_int_eq(apf_probe_set_options(p, &o), APF_E_INVALID);
    free(g1), free(g2), free(g3);
    apf_probe_free(p);
}
END_TEST

Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *t = tcase_create("probe");
    tcase_set_timeout(t, 600);
    tcase_add_loop_test(t, invariants_every_attack, 0, APF_ATTACK_COUNT);
    tcase_add_test(t, fgsm_sign_matches_golden);
    tcase_add_test(t, deterministic_for_seed);
    tcase_add_test(t, protection_works_white_box);
    tcase_add_test(t, blob_round_trip);
    tcase_add_test(t, di2_maps_fit_the_wire_budget);
    tcase_add_test(t, bad_arguments);
    tcase_add_test(t, ensemble_members);
    tcase_add_test(t, ensemble_protects_every_member);
    tcase_add_test(t, random_target_separates_two_photos);
    tcase_add_test(t, decoys_pull_toward_the_decoy);
    tcase_add_test(t, texture_budget_limits_noise);
    tcase_add_test(t, smoothing_makes_noise_vary_slowly);
    tcase_add_test(t, reach_is_the_attacks_own_move);
    tcase_add_test(t, model_samples_steady_the_gradient);
    tcase_add_test(t, samples_give_the_same_g_on_any_number_of_cores);
    tcase_add_test(t, model_period_reuses_a_models_gradient);
    tcase_add_test(t, lanes_give_the_same_g_as_one_thread);
    tcase_add_test(t, model_period_still_protects);
    tcase_add_test(t, diversity_jpeg_survives_reencoding);
    tcase_add_test(t, ssim_floor_holds_for_every_face);
    tcase_add_test(t, diversity_blur_as_asked);
    tcase_add_test(t, set_options_changes_later_calls);
    tcase_add_test(t, g_flip_and_drop_change_the_share_asked);
    suite_add_tcase(s, t);
    return s;
}
