/* Embeddings and input gradients of the imported models against golden
 * vectors from an independent implementation (../shared/reference). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_core.h"
#include "testutil.h"

static const char *MODELS[] = {"mobilefacenet-tflite", "mobileface", "faceres", "faceapi-recognition"};
/* Our .apfm names; the reference for mobilefacenet-tflite appends an L2 norm. */
static const char *FILES[] = {"mobilefacenet.apfm", "mobileface.apfm", "faceres.apfm",
                              "faceapi-recognition.apfm"};

static cJSON *load_json(const char *model)
{
    char name[128];
    snprintf(name, sizeof name, "reference/models/%s.json", model);
    char *txt = tu_read_file(tu_path(tu_shared_dir(), name), NULL);
    ck_assert_msg(txt != NULL, "missing golden json for %s", model);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    ck_assert_ptr_nonnull(j);
    return j;
}

static float *load_f32(const char *model, const char *kind, const char *cse, size_t expect)
{
    char name[160];
    snprintf(name, sizeof name, "reference/models/%s.%s.%s.f32", model, kind, cse);
    size_t size = 0;
    float *v = tu_read_file(tu_path(tu_shared_dir(), name), &size);
    ck_assert_msg(v != NULL, "missing %s", name);
    ck_assert_uint_eq(size, expect * 4);
    return v;
}

static apf_model *open_model(int i)
{
    apf_model *m = NULL;
    apf_status st = apf_model_load(tu_path(tu_models_dir(), FILES[i]), &m);
    ck_assert_msg(st == APF_OK, "load %s: %s (run tools/setup.sh first)", FILES[i], apf_last_error());
    apf_model_set_threads(m, 2);
    return m;
}

static void normalise(float *v, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += (double)v[k] * v[k];
    for (int k = 0; k < n; k++)
        v[k] = (float)(v[k] / sqrt(s));
}

/* d/d raw of sum((norm(raw) - t)^2) */
static void loss_grad(const float *raw, const float *target, int dim, int normalised, float *d)
{
    float *e = malloc(dim * sizeof(float));
    memcpy(e, raw, dim * sizeof(float));
    if (normalised)
        normalise(e, dim);
    for (int k = 0; k < dim; k++)
        d[k] = 2.0f * (e[k] - target[k]);
    if (normalised) {
        double nr = 0, dot = 0;
        for (int k = 0; k < dim; k++) {
            nr += (double)raw[k] * raw[k];
            dot += (double)e[k] * d[k];
        }
        for (int k = 0; k < dim; k++)
            d[k] = (float)((d[k] - e[k] * dot) / sqrt(nr));
    }
    free(e);
}

static void check_outputs(int i)
{
    apf_model *m = open_model(i);
    cJSON *j = load_json(MODELS[i]);
    int s = apf_model_input_size(m), dim = apf_model_embedding_dim(m);
    size_t nin = (size_t)s * s * 3;
    cJSON *outs = cJSON_GetObjectItem(j, "outputs"), *cse;
    int cases = 0;
    cJSON_ArrayForEach(cse, outs)
    {
        float *in = load_f32(MODELS[i], "input", cse->string, nin);
        float *out = malloc(dim * sizeof(float));
        ck_assert_int_eq(apf_model_forward_raw(m, in, 1, 0, out), APF_OK);
        if (i == 0)
            normalise(out, dim);
        cJSON *vec = NULL, *it;
        cJSON_ArrayForEach(it, cse)
            if (cJSON_IsObject(it) &&
                cJSON_GetArraySize(cJSON_GetObjectItem(it, "data")) == dim)
                vec = cJSON_GetObjectItem(it, "data");
        ck_assert_int_eq(cJSON_GetArraySize(vec), dim);
        double maxref = 0, maxdiff = 0;
        for (int k = 0; k < dim; k++) {
            double r = cJSON_GetArrayItem(vec, k)->valuedouble;
            maxref = fmax(maxref, fabs(r));
            maxdiff = fmax(maxdiff, fabs(r - out[k]));
        }
        ck_assert_msg(maxdiff <= 1e-4 * maxref, "%s %s: max diff %g vs max %g", MODELS[i],
                      cse->string, maxdiff, maxref);
        cases++;
        free(in);
        free(out);
    }
    ck_assert_int_ge(cases, 5);
    cJSON_Delete(j);
    apf_model_free(m);
}

/* Error energy of the worst side x side window of an s x s map, and where
 * it is (summed-area table over the map). */
static double worst_window(const double *e, int s, int side, int *at_y, int *at_x)
{
    double *sat = calloc((size_t)(s + 1) * (s + 1), sizeof(double));
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++)
            sat[(y + 1) * (s + 1) + x + 1] = e[y * s + x] + sat[y * (s + 1) + x + 1] +
                                             sat[(y + 1) * (s + 1) + x] - sat[y * (s + 1) + x];
    double best = -1;
    for (int y = 0; y + side <= s; y++)
        for (int x = 0; x + side <= s; x++) {
            double v = sat[(y + side) * (s + 1) + x + side] - sat[y * (s + 1) + x + side] -
                       sat[(y + side) * (s + 1) + x] + sat[y * (s + 1) + x];
            if (v > best)
                best = v, *at_y = y, *at_x = x;
        }
    free(sat);
    return best;
}

/* The gradient of a ReLU/PReLU network jumps where a pre-activation crosses
 * zero. An activation within float32 rounding of its kink can fall on either
 * side, depending on summation order, which differs between implementations
 * and between oneDNN's kernels for each ISA (AVX2, AVX-512). A flip changes
 * the gradient inside one blob about the size of a deep layer's receptive
 * field and nowhere else; measured on the dlib ResNet: rel L2 7.5e-3 on
 * AVX-512 from three such blobs, 1.3e-5 outside them. So the check is
 * strict where no flip can reach and bounded where one can:
 *   - cosine >= 0.999 over the whole map (the reference's bound);
 *   - windows of side s/8 are removed greedily, worst first, until the
 *     rest is within rel L2 2e-4 of the reference (five times tighter than
 *     the reference's own 1e-3 bound); at most MAX_FLIP_WINDOWS may go
 *     (under a third of the map), so an error spread over it still fails;
 *   - the whole map within rel L2 2e-2, so the flips stay small too.
 * Smooth synthetic inputs put many activations near a kink: faceres synth
 * needs 6 windows on AVX-512, 10 on AVX2 and 14 on SSE4.1 kernels; real
 * faces 0-7. meson test also runs this suite with oneDNN held to each. */
enum { MAX_FLIP_WINDOWS = 20 };

static void check_gradient(int i, const char *a, const char *b, const char *g)
{
    apf_model *m = open_model(i);
    int s = apf_model_input_size(m), dim = apf_model_embedding_dim(m);
    size_t nin = (size_t)s * s * 3;
    float *xa = load_f32(MODELS[i], "input", a, nin), *xb = load_f32(MODELS[i], "input", b, nin);
    float *ref = load_f32(MODELS[i], "grad", g, nin);
    float *eb = malloc(dim * 4), *ea = malloc(dim * 4), *de = malloc(dim * 4), *gx = malloc(nin * 4);
    double *err = calloc((size_t)s * s, sizeof(double));
    ck_assert_int_eq(apf_model_forward_raw(m, xb, 1, 0, eb), APF_OK);
    if (i == 0)
        normalise(eb, dim);
    ck_assert_int_eq(apf_model_forward_raw(m, xa, 1, 1, ea), APF_OK);
    loss_grad(ea, eb, dim, i == 0, de);
    ck_assert_int_eq(apf_model_backward_raw(m, de, 1, gx), APF_OK);
    double dot = 0, nr = 0, ng = 0, nd = 0;
    for (size_t k = 0; k < nin; k++) {
        dot += (double)gx[k] * ref[k];
        nr += (double)ref[k] * ref[k];
        ng += (double)gx[k] * gx[k];
        nd += (double)(gx[k] - ref[k]) * (gx[k] - ref[k]);
        err[k / 3] += (double)(gx[k] - ref[k]) * (gx[k] - ref[k]);
    }
    double cosv = dot / sqrt(nr * ng), rel = sqrt(nd / nr);
    double rest = nd;
    int side = s / 8, windows = 0;
    while (rest > 4e-8 * nr && windows < MAX_FLIP_WINDOWS) {
        int wy = 0, wx = 0;
        rest -= worst_window(err, s, side, &wy, &wx);
        for (int y = wy; y < wy + side; y++)
            for (int x = wx; x < wx + side; x++)
                err[y * s + x] = 0;
        windows++;
    }
    double rel_rest = sqrt(fmax(rest, 0) / nr);
    printf("%s grad %s: cos %.7f rel %.2e; %d windows of %d px removed, rel outside %.2e\n",
           MODELS[i], g, cosv, rel, windows, side, rel_rest);
    ck_assert_msg(cosv >= 0.999 && rel <= 2e-2 && rel_rest <= 2e-4,
                  "%s grad %s: cos %.6f rel %.2e, rel outside %d flip windows %.2e", MODELS[i], g,
                  cosv, rel, windows, rel_rest);
    free(xa), free(xb), free(ref), free(eb), free(ea), free(de), free(gx), free(err);
    apf_model_free(m);
}

START_TEST(outputs_match) { check_outputs(_i); }
END_TEST

START_TEST(gradients_match)
{
    check_gradient(_i, "realA", "realB", "real");
    check_gradient(_i, "synthA", "synthB", "synth");
}
END_TEST

START_TEST(batch_matches_single)
{
    /* A batch of 3 gives the same vectors as three single calls. */
    apf_model *m = open_model(_i);
    int s = apf_model_input_size(m), dim = apf_model_embedding_dim(m);
    size_t nin = (size_t)s * s * 3;
    const char *cases[3] = {"realA", "realB", "synthA"};
    float *batch = malloc(3 * nin * 4), *out3 = malloc(3 * dim * 4), *out1 = malloc(dim * 4);
    for (int k = 0; k < 3; k++) {
        float *x = load_f32(MODELS[_i], "input", cases[k], nin);
        memcpy(batch + k * nin, x, nin * 4);
        free(x);
    }
    ck_assert_int_eq(apf_model_forward_raw(m, batch, 3, 0, out3), APF_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(apf_model_forward_raw(m, batch + k * nin, 1, 0, out1), APF_OK);
        for (int q = 0; q < dim; q++)
            ck_assert_float_eq_tol(out1[q], out3[k * dim + q], 1e-4 * (1 + fabsf(out1[q])));
    }
    free(batch), free(out3), free(out1);
    apf_model_free(m);
}
END_TEST

Suite *golden_suite(void)
{
    Suite *s = suite_create("golden");
    TCase *t = tcase_create("models");
    tcase_set_timeout(t, 600);
    tcase_add_loop_test(t, outputs_match, 0, 4);
    tcase_add_loop_test(t, gradients_match, 0, 4);
    tcase_add_loop_test(t, batch_matches_single, 0, 4);
    suite_add_tcase(s, t);
    return s;
}
