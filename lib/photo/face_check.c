/* The face check: does a detection look like a person's face? BlazeFace
 * fires on animal faces too (issue "apf protect as a photo application
 * meets it": a dog's face protected as a person's). MediaPipe FaceMesh,
 * which tracks a face from a crop around it, has a face-presence output for
 * exactly this question (is the crop still a face?); tools/setup-models.sh
 * imports that branch alone as models/facemesh.apfm (192x192 RGB in 0..1,
 * one logit out).
 *
 * FaceMesh expects the crop @vladmandic/human feeds it: BlazeFace's box
 * enlarged 1.4 times about its centre, squared, turned upright. Upright
 * here is the eye line level. (A crop placed from the landmarks alone, the
 * same box on average, scored LFW's faces as high but kept a squirrel the
 * box's crop drops: docs/app.md, "Animal faces".) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bilinear.h"
#include "face_check.h"
#include "../core/model_internal.h"

#define CHECK_SIZE 192
#define BOX_ENLARGE 1.4
#define MAX_SUPERSAMPLE 8 /* per axis: a crop pixel covers at most 8x8 taps */

struct face_check {
    apf_model *model;
    float mean[3], scale[3];
    int bgr;
    float *input; /* CHECK_SIZE^2 x 3 */
};

void face_check_free(face_check *c)
{
    if (c) {
        apf_model_free(c->model);
        free(c->input);
        free(c);
    }
}

apf_status face_check_load(const char *path, face_check **out)
{
    *out = NULL;
    face_check *c = calloc(1, sizeof *c);
    if (!c)
        return apf_fail(APF_E_NOMEM, "face check: out of memory");
    apf_status st = apf_model_load(path, &c->model);
    if (st) {
        free(c);
        return st;
    }
    int detector = 0;
    model_preprocessing(c->model, c->mean, c->scale, &c->bgr, &detector);
    if (detector || apf_model_input_size(c->model) != CHECK_SIZE || apf_model_embedding_dim(c->model) != 1) {
        face_check_free(c);
        return apf_fail(APF_E_UNSUPPORTED, "face check: %s is not a %dx%d model with one output (models/facemesh.apfm)",
                        path, CHECK_SIZE, CHECK_SIZE);
    }
    c->input = malloc((size_t)CHECK_SIZE * CHECK_SIZE * 3 * sizeof *c->input);
    if (!c->input) {
        face_check_free(c);
        return apf_fail(APF_E_NOMEM, "face check: out of memory");
    }
    *out = c;
    return APF_OK;
}

void face_check_idle(face_check *c)
{
    model_drop_plans(c->model);
}

apf_status face_check_set_threads(face_check *c, int threads)
{
    return apf_model_set_threads(c->model, threads);
}

apf_status face_check_score(face_check *c, const apf_image *img, const apf_face *face, float *score)
{
    const float *b = face->box, (*lm)[2] = face->landmarks;
    double side = BOX_ENLARGE * fmax(b[2] - b[0], b[3] - b[1]);
    double angle = atan2(lm[1][1] - lm[0][1], lm[1][0] - lm[0][0]);
    if (!isfinite(side) || !(side >= 1) || !isfinite(angle) || !isfinite(b[0] + b[1] + b[2] + b[3]))
        return apf_fail(APF_E_INVALID, "face check: the face's box or eyes are not usable");
    /* crop pixel (x, y) -> photo: the box centre plus the rotated offset */
    double k = side / CHECK_SIZE, h = (CHECK_SIZE - 1) / 2.0;
    double cs = cos(angle) * k, sn = sin(angle) * k;
    double cx = (b[0] + b[2]) / 2.0, cy = (b[1] + b[3]) / 2.0;
    double cm[6] = {cs, -sn, cx - cs * h + sn * h, sn, cs, cy - sn * h - cs * h};
    /* A large face shrinks into the crop: average n x n taps per pixel so
     * fine texture does not alias. */
    int n = (int)ceil(k);
    n = n < 1 ? 1 : n > MAX_SUPERSAMPLE ? MAX_SUPERSAMPLE : n;
    int W = apf_image_width(img), H = apf_image_height(img);
    const uint8_t *px = apf_image_pixels_const(img);
    for (int y = 0; y < CHECK_SIZE; y++)
        for (int x = 0; x < CHECK_SIZE; x++) {
            double acc[3] = {0, 0, 0};
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++) {
                    double sx = x + (i + 0.5) / n - 0.5, sy = y + (j + 0.5) / n - 0.5;
                    float rgb[3];
                    bilinear_rgb(px, W, H, cm[0] * sx + cm[1] * sy + cm[2], cm[3] * sx + cm[4] * sy + cm[5], rgb);
                    acc[0] += rgb[0], acc[1] += rgb[1], acc[2] += rgb[2];
                }
            float *dst = c->input + ((size_t)y * CHECK_SIZE + x) * 3;
            for (int ch = 0; ch < 3; ch++) {
                double v = acc[c->bgr ? 2 - ch : ch] / (n * n);
                dst[ch] = (float)((v - c->mean[ch]) * c->scale[ch]);
            }
        }
    float logit;
    apf_status st;
    if ((st = apf_model_forward_raw(c->model, c->input, 1, 0, &logit)))
        return st;
    if (!isfinite(logit))
        return apf_fail(APF_E_BACKEND, "face check: the network gave a non-finite score");
    *score = 1.0f / (1.0f + expf(-logit));
    return APF_OK;
}
