/* Faces in whole photos (apf_face.h): BlazeFace decoding, alignment to the
 * ArcFace template, crops, and noise mapped back onto the photo. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_face.h"
#include "bilinear.h"
#include "face_check.h"
#include "../core/internal.h"
#include "../core/model_internal.h"

/* The ArcFace 112x112 template (InsightFace), ArcFace landmark order. */
static const double TEMPLATE[5][2] = {
    {38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
};

/* BlazeFace (the 256x256 "back" model): two score maps with 2 and 6
 * anchors per cell; each anchor's regressor has 16 values in input pixels,
 * relative to the anchor centre: box centre, box size, then six keypoints
 * (eye, eye, nose, mouth centre, ear, ear). */
enum { KEYPOINTS = 6, REG = 4 + 2 * KEYPOINTS, MAX_CANDIDATES = 896 };

struct apf_detector {
    apf_model *model;
    int size;              /* network input side */
    int score_head[2], reg_head[2], grid[2], anchors[2];
    float min_score;
    float mean[3], scale[3];
    int bgr;
    face_check *check; /* NULL: every detection is kept */
    float check_min;
    int check_threads;
    int rejected;         /* by the check, in the last apf_detect_faces() (atomic) */
    pthread_mutex_t lock; /* detection and the check's scores take turns: the
                             check has one input buffer */
};

apf_status apf_detector_create(const char *model_path, apf_detector **out)
{
    if (!model_path || !out)
        return apf_fail(APF_E_INVALID, "detector: NULL argument");
    *out = NULL;
    apf_detector *d = calloc(1, sizeof *d);
    if (!d)
        return apf_fail(APF_E_NOMEM, "detector: out of memory");
    apf_status st = apf_model_load(model_path, &d->model);
    if (st) {
        free(d);
        return st;
    }
    int detector = 0;
    model_preprocessing(d->model, d->mean, d->scale, &d->bgr, &detector);
    d->size = apf_model_input_size(d->model);
    d->min_score = 0.5f;
    /* Find the heads by shape: scores have A channels, regressors 16*A. */
    int found = 0;
    for (int level = 0; level < 2 && detector; level++) {
        int want_anchors = level ? 6 : 2;
        d->score_head[level] = d->reg_head[level] = -1;
        for (int k = 0; k < apf_model_output_count(d->model); k++) {
            int h, w, c;
            apf_model_output_shape(d->model, k, &h, &w, &c);
            if (h != w || h * (level ? 32 : 16) != d->size)
                continue;
            if (c == want_anchors)
                d->score_head[level] = k;
            else if (c == want_anchors * REG)
                d->reg_head[level] = k;
        }
        d->grid[level] = d->size / (level ? 32 : 16);
        d->anchors[level] = want_anchors;
        found += d->score_head[level] >= 0 && d->reg_head[level] >= 0;
    }
    if (found != 2) {
        apf_model_free(d->model);
        free(d);
        return apf_fail(APF_E_UNSUPPORTED, "detector: %s is not a BlazeFace detector with four heads",
                        model_path);
    }
    pthread_mutex_init(&d->lock, NULL);
    *out = d;
    return APF_OK;
}

void apf_detector_free(apf_detector *d)
{
    if (d) {
        apf_model_free(d->model);
        face_check_free(d->check);
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
}

apf_status apf_detector_set_threads(apf_detector *d, int threads)
{
    if (!d)
        return apf_fail(APF_E_INVALID, "detector: NULL argument");
    apf_status st = apf_model_set_threads(d->model, threads);
    if (!st && d->check)
        st = face_check_set_threads(d->check, threads);
    if (!st)
        d->check_threads = threads;
    return st;
}

apf_status apf_detector_set_face_check(apf_detector *d, const char *model_path, float min_score)
{
    if (!d || !(min_score >= 0.0f && min_score < 1.0f))
        return apf_fail(APF_E_INVALID, "detector: face check threshold must be in [0, 1)");
    face_check *c = NULL;
    if (model_path) {
        apf_status st = face_check_load(model_path, &c);
        if (!st && d->check_threads)
            st = face_check_set_threads(c, d->check_threads);
        if (st) {
            face_check_free(c);
            return st;
        }
    }
    face_check_free(d->check);
    d->check = c;
    d->check_min = min_score;
    return APF_OK;
}

apf_status apf_detector_face_score(apf_detector *d, const apf_image *img, const apf_face *face, float *score)
{
    if (!d || !img || !face || !score)
        return apf_fail(APF_E_INVALID, "face check: NULL argument");
    if (!d->check)
        return apf_fail(APF_E_INVALID, "face check: the detector has none (apf_detector_set_face_check)");
    pthread_mutex_lock(&d->lock);
    apf_status st = face_check_score(d->check, img, face, score);
    pthread_mutex_unlock(&d->lock);
    return st;
}

int apf_detector_rejected_count(const apf_detector *d)
{
    return d ? __atomic_load_n(&d->rejected, __ATOMIC_RELAXED) : -1;
}

apf_status apf_detector_set_threshold(apf_detector *d, float min_score)
{
    if (!d || !(min_score > 0.0f && min_score < 1.0f))
        return apf_fail(APF_E_INVALID, "detector: threshold must be in (0, 1)");
    d->min_score = min_score;
    return APF_OK;
}

/* The photo padded (bottom/right, black) to a side x side square, scaled to
 * S x S: area average when shrinking, bilinear when enlarging. */
static void square_input(const apf_image *img, int side, int S, float *dst)
{
    int W = apf_image_width(img), H = apf_image_height(img);
    const uint8_t *px = apf_image_pixels_const(img);
    double f = (double)side / S;
    for (int v = 0; v < S; v++)
        for (int u = 0; u < S; u++) {
            float acc[3] = {0, 0, 0};
            if (f > 1.0) {
                int x0 = (int)(u * f), x1 = (int)((u + 1) * f), y0 = (int)(v * f), y1 = (int)((v + 1) * f);
                if (x1 <= x0)
                    x1 = x0 + 1;
                if (y1 <= y0)
                    y1 = y0 + 1;
                int n = (x1 - x0) * (y1 - y0);
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        if (x < W && y < H)
                            for (int c = 0; c < 3; c++)
                                acc[c] += px[((size_t)y * W + x) * 3 + c];
                for (int c = 0; c < 3; c++)
                    acc[c] /= (float)n;
            } else {
                double sx = (u + 0.5) * f - 0.5, sy = (v + 0.5) * f - 0.5;
                int x0 = (int)floor(sx), y0 = (int)floor(sy);
                double ax = sx - x0, ay = sy - y0;
                for (int j = 0; j < 4; j++) {
                    int x = x0 + (j & 1), y = y0 + (j >> 1);
                    double wgt = ((j & 1) ? ax : 1 - ax) * ((j >> 1) ? ay : 1 - ay);
                    if (x < 0)
                        x = 0;
                    if (y < 0)
                        y = 0;
                    if (x >= side)
                        x = side - 1;
                    if (y >= side)
                        y = side - 1;
                    if (x < W && y < H)
                        for (int c = 0; c < 3; c++)
                            acc[c] += (float)(wgt * px[((size_t)y * W + x) * 3 + c]);
                }
            }
            memcpy(dst + ((size_t)v * S + u) * 3, acc, sizeof acc);
        }
}

typedef struct candidate {
    float score, box[4], kp[KEYPOINTS][2];
} candidate;

static float iou(const float *a, const float *b)
{
    float ix = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), iy = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0;
}

static int by_score(const void *a, const void *b)
{
    float x = ((const candidate *)a)->score, y = ((const candidate *)b)->score;
    return (x < y) - (x > y);
}

/* Turn a merged candidate (photo pixels) into an apf_face. */
static void to_face(const candidate *c, apf_face *f)
{
    memset(f, 0, sizeof *f);
    f->score = c->score;
    memcpy(f->box, c->box, sizeof f->box);
    /* keypoints 0 and 1 are the eyes; put the image-left one first */
    int left = c->kp[0][0] <= c->kp[1][0] ? 0 : 1;
    memcpy(f->landmarks[0], c->kp[left], sizeof f->landmarks[0]);
    memcpy(f->landmarks[1], c->kp[1 - left], sizeof f->landmarks[1]);
    memcpy(f->landmarks[2], c->kp[2], sizeof f->landmarks[2]);
    memcpy(f->landmarks[3], c->kp[3], sizeof f->landmarks[3]);
    memcpy(f->landmarks[4], c->kp[3], sizeof f->landmarks[4]);
    f->mouth_centre_only = 1;
}

apf_status apf_detect_faces(apf_detector *d, const apf_image *img, apf_face *faces, int max_faces,
                            int *count)
{
    if (!d || !img || !faces || !count || max_faces < 1)
        return apf_fail(APF_E_INVALID, "detector: bad arguments");
    *count = 0;
    int rejected = 0;
    pthread_mutex_lock(&d->lock);
    int W = apf_image_width(img), H = apf_image_height(img), S = d->size;
    int side = W > H ? W : H;
    float *in = malloc((size_t)S * S * 3 * sizeof *in);
    float *outs[4] = {NULL, NULL, NULL, NULL};
    candidate *cand = malloc(MAX_CANDIDATES * sizeof *cand);
    apf_status st = APF_OK;
    int n_out = apf_model_output_count(d->model);
    for (int k = 0; k < n_out && k < 4; k++) {
        int h, w, c;
        apf_model_output_shape(d->model, k, &h, &w, &c);
        outs[k] = malloc((size_t)h * w * c * sizeof(float));
    }
    if (!in || !cand || !outs[0] || !outs[1] || !outs[2] || !outs[3]) {
        st = apf_fail(APF_E_NOMEM, "detector: out of memory");
        goto done;
    }
    square_input(img, side, S, in);
    for (size_t i = 0; i < (size_t)S * S; i++) {
        float px[3] = {in[3 * i], in[3 * i + 1], in[3 * i + 2]};
        for (int c = 0; c < 3; c++)
            in[3 * i + c] = (px[d->bgr ? 2 - c : c] - d->mean[c]) * d->scale[c];
    }
    if ((st = apf_model_forward_outputs(d->model, in, 1, outs)))
        goto done;
    /* Decode every anchor over the threshold into photo pixels. */
    float to_photo = (float)side / S, logit_min = logf(d->min_score / (1 - d->min_score));
    int n = 0;
    for (int level = 0; level < 2; level++) {
        const float *sc = outs[d->score_head[level]], *rg = outs[d->reg_head[level]];
        int G = d->grid[level], A = d->anchors[level];
        float stride = (float)S / G;
        for (int cell = 0; cell < G * G; cell++)
            for (int a = 0; a < A; a++) {
                float logit = sc[cell * A + a];
                if (!(logit >= logit_min) || n == MAX_CANDIDATES)
                    continue;
                const float *r = rg + ((size_t)cell * A + a) * REG;
                float ax = stride * (cell % G + 0.5f), ay = stride * (cell / G + 0.5f);
                candidate *c = &cand[n++];
                c->score = 1.0f / (1.0f + expf(-logit));
                float cx = ax + r[0], cy = ay + r[1], bw = r[2], bh = r[3];
                c->box[0] = (cx - bw / 2) * to_photo;
                c->box[1] = (cy - bh / 2) * to_photo;
                c->box[2] = (cx + bw / 2) * to_photo;
                c->box[3] = (cy + bh / 2) * to_photo;
                for (int k = 0; k < KEYPOINTS; k++) {
                    /* input pixel centres are at +0.5 in these units */
                    c->kp[k][0] = (ax + r[4 + 2 * k]) * to_photo - 0.5f;
                    c->kp[k][1] = (ay + r[5 + 2 * k]) * to_photo - 0.5f;
                }
            }
    }
    /* Weighted non-maximum suppression: each kept face is the score-weighted
     * mean of the candidates overlapping it (steadier landmarks). */
    qsort(cand, (size_t)n, sizeof *cand, by_score);
    char *used = calloc((size_t)n + 1, 1);
    if (!used) {
        st = apf_fail(APF_E_NOMEM, "detector: out of memory");
        goto done;
    }
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (used[i])
            continue;
        candidate m = {0};
        float wsum = 0;
        for (int j = i; j < n; j++) {
            if (used[j] || iou(cand[i].box, cand[j].box) < 0.3f)
                continue;
            used[j] = 1;
            float w = cand[j].score;
            wsum += w;
            for (int k = 0; k < 4; k++)
                m.box[k] += w * cand[j].box[k];
            for (int k = 0; k < KEYPOINTS; k++)
                for (int e = 0; e < 2; e++)
                    m.kp[k][e] += w * cand[j].kp[k][e];
        }
        for (int k = 0; k < 4; k++)
            m.box[k] /= wsum;
        for (int k = 0; k < KEYPOINTS; k++)
            for (int e = 0; e < 2; e++)
                m.kp[k][e] /= wsum;
        m.score = cand[i].score;
        apf_face f;
        to_face(&m, &f);
        if (d->check) {
            float person;
            st = face_check_score(d->check, img, &f, &person);
            if (st && st != APF_E_INVALID)
                break;
            if (st || person < d->check_min) { /* INVALID: landmarks no face can have */
                st = APF_OK;
                rejected++;
                continue;
            }
        }
        if (found < max_faces)
            faces[found] = f;
        found++;
    }
    free(used);
    if (d->check)
        face_check_idle(d->check);
    if (!st)
        *count = found;
done:
    for (int k = 0; k < 4; k++)
        free(outs[k]);
    free(cand);
    free(in);
    /* the networks idle while the probe attacks: their activations go back */
    model_drop_plans(d->model);
    __atomic_store_n(&d->rejected, rejected, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&d->lock);
    return st;
}

apf_status apf_face_from_landmarks(const float lm[5][2], apf_face *face)
{
    if (!lm || !face)
        return apf_fail(APF_E_INVALID, "face: NULL argument");
    float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 5; i++) {
        if (!isfinite(lm[i][0]) || !isfinite(lm[i][1]))
            return apf_fail(APF_E_INVALID, "face: landmark %d is not finite", i);
        x0 = fminf(x0, lm[i][0]), x1 = fmaxf(x1, lm[i][0]);
        y0 = fminf(y0, lm[i][1]), y1 = fmaxf(y1, lm[i][1]);
    }
    if (hypotf(lm[1][0] - lm[0][0], lm[1][1] - lm[0][1]) < 1.0f)
        return apf_fail(APF_E_INVALID, "face: the eyes coincide");
    memset(face, 0, sizeof *face);
    face->score = 1.0f;
    memcpy(face->landmarks, lm, sizeof face->landmarks);
    /* the template's landmarks span about 35x41 of the 112 square */
    float pad = 0.9f * (x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0);
    face->box[0] = x0 - pad, face->box[1] = y0 - pad, face->box[2] = x1 + pad, face->box[3] = y1 + pad;
    return APF_OK;
}

apf_status apf_face_align_matrix(const apf_face *face, double to_image[6])
{
    if (!face || !to_image)
        return apf_fail(APF_E_INVALID, "face: NULL argument");
    double src[5][2], dst[5][2];
    int n = face->mouth_centre_only ? 4 : 5;
    for (int i = 0; i < 5; i++) {
        src[i][0] = face->landmarks[i][0], src[i][1] = face->landmarks[i][1];
        dst[i][0] = TEMPLATE[i][0], dst[i][1] = TEMPLATE[i][1];
        if (!isfinite(src[i][0]) || !isfinite(src[i][1]))
            return apf_fail(APF_E_INVALID, "face: landmark %d is not finite", i);
    }
    if (n == 4) {
        dst[3][0] = (TEMPLATE[3][0] + TEMPLATE[4][0]) / 2;
        dst[3][1] = (TEMPLATE[3][1] + TEMPLATE[4][1]) / 2;
    }
    /* Least-squares similarity image -> template: q = [a -b; b a] p + t. */
    double ps[2] = {0, 0}, qs[2] = {0, 0};
    for (int i = 0; i < n; i++)
        for (int e = 0; e < 2; e++)
            ps[e] += src[i][e] / n, qs[e] += dst[i][e] / n;
    double num_a = 0, num_b = 0, den = 0;
    for (int i = 0; i < n; i++) {
        double px = src[i][0] - ps[0], py = src[i][1] - ps[1];
        double qx = dst[i][0] - qs[0], qy = dst[i][1] - qs[1];
        num_a += px * qx + py * qy;
        num_b += px * qy - py * qx;
        den += px * px + py * py;
    }
    if (den < 1e-6)
        return apf_fail(APF_E_INVALID, "face: landmarks are degenerate");
    double a = num_a / den, b = num_b / den, k = a * a + b * b;
    if (k < 1e-12)
        return apf_fail(APF_E_INVALID, "face: landmarks are degenerate");
    double tx = qs[0] - (a * ps[0] - b * ps[1]), ty = qs[1] - (b * ps[0] + a * ps[1]);
    /* invert: p = A^-1 (q - t), A^-1 = [a b; -b a] / k */
    to_image[0] = a / k, to_image[1] = b / k, to_image[2] = -(a * tx + b * ty) / k;
    to_image[3] = -b / k, to_image[4] = a / k, to_image[5] = -(-b * tx + a * ty) / k;
    return APF_OK;
}

static int matrix_ok(const double m[6])
{
    for (int i = 0; i < 6; i++)
        if (!isfinite(m[i]))
            return 0;
    return fabs(m[0] * m[4] - m[1] * m[3]) > 1e-9;
}

apf_status apf_face_crop(const apf_image *img, const double m[6], uint8_t *face)
{
    if (!img || !m || !face || !matrix_ok(m))
        return apf_fail(APF_E_INVALID, "face crop: bad arguments");
    int W = apf_image_width(img), H = apf_image_height(img);
    const uint8_t *px = apf_image_pixels_const(img);
    for (int v = 0; v < APF_FACE_SIZE; v++)
        for (int u = 0; u < APF_FACE_SIZE; u++) {
            float rgb[3];
            bilinear_rgb(px, W, H, m[0] * u + m[1] * v + m[2], m[3] * u + m[4] * v + m[5], rgb);
            for (int c = 0; c < 3; c++)
                face[(v * APF_FACE_SIZE + u) * 3 + c] = (uint8_t)lrintf(fminf(fmaxf(rgb[c], 0), 255));
        }
    return APF_OK;
}

/* The noise fades out over the square's outer APF_FACE_FADE pixels
 * (apf_edge_fade), so on a smooth background or a shoulder it does not stop
 * at a hard rotated edge, a visible seam. The band is the crop's margin
 * (background, hair, ears); what it costs protection is measured in
 * docs/app.md. */
_Static_assert(APF_FACE_FADE == APF_NOISE_FADE, "the probe's placement fades as the photo does");

static double edge_fade(double u, double v)
{
    return apf_edge_fade(u, v, APF_FACE_SIZE, APF_FACE_FADE);
}

apf_status apf_face_add_noise(apf_image *photo, const apf_image *original, const double m[6],
                              const int8_t *noise, float eps)
{
    if (!photo || !original || !m || !noise || !matrix_ok(m) || !(eps > 0 && eps <= APF_EPS_MAX))
        return apf_fail(APF_E_INVALID, "face noise: bad arguments");
    int W = apf_image_width(photo), H = apf_image_height(photo);
    if (W != apf_image_width(original) || H != apf_image_height(original))
        return apf_fail(APF_E_INVALID, "face noise: photo and original differ in size");
    /* photo -> aligned: the inverse of m; the aligned square's box in the photo */
    double inv[6], lo[2], hi[2];
    apf_affine_invert(m, inv);
    apf_square_bounds(m, APF_FACE_SIZE, lo, hi);
    int x0 = (int)fmax(floor(lo[0]), 0), x1 = (int)fmin(ceil(hi[0]), W - 1);
    int y0 = (int)fmax(floor(lo[1]), 0), y1 = (int)fmin(ceil(hi[1]), H - 1);
    uint8_t *out = apf_image_pixels(photo);
    const uint8_t *orig = apf_image_pixels_const(original);
    const int S = APF_FACE_SIZE;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double u = inv[0] * x + inv[1] * y + inv[2], v = inv[3] * x + inv[4] * y + inv[5];
            if (u < 0 || v < 0 || u > S - 1 || v > S - 1)
                continue;
            int u0 = (int)u, v0 = (int)v;
            int u1 = u0 + 1 < S ? u0 + 1 : u0, v1 = v0 + 1 < S ? v0 + 1 : v0;
            double au = u - u0, av = v - v0;
            size_t p = ((size_t)y * W + x) * 3;
            double fade = edge_fade(u, v);
            for (int c = 0; c < 3; c++) {
                double s = fade * ((1 - au) * (1 - av) * noise[(v0 * S + u0) * 3 + c] +
                                   au * (1 - av) * noise[(v0 * S + u1) * 3 + c] +
                                   (1 - au) * av * noise[(v1 * S + u0) * 3 + c] +
                                   au * av * noise[(v1 * S + u1) * 3 + c]);
                double lo_v = fmax(orig[p + c] - floor(eps), 0), hi_v = fmin(orig[p + c] + floor(eps), 255);
                double val = fmin(fmax(out[p + c] + s, lo_v), hi_v);
                out[p + c] = (uint8_t)lrint(val);
            }
        }
    return APF_OK;
}
