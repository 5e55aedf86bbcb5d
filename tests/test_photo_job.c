/* apf_photo_job: the whole-photo pipeline in two calls around the network
 * hop, on a real sample photo, with the cloud filter in between, and with
 * every kind of wrong reply refused before a pixel changes. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf.h"
#include "testutil.h"

#define FACE_BYTES (APF_FACE_SIZE * APF_FACE_SIZE * 3)

static apf_probe *probe;
static apf_detector *det;
static apf_image *photo;

static void setup(void)
{
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.attack = APF_ATTACK_FGSM; /* one step: the pipeline is under test, not the attack */
    o.threads = 2;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &probe), APF_OK);
    ck_assert_int_eq(apf_detector_create(tu_path(tu_models_dir(), "blazeface.apfm"), &det), APF_OK);
    ck_assert_int_eq(apf_image_load(APF_SOURCE_DIR "/examples/photos/Aaron_Eckhart_0001.jpg", &photo), APF_OK);
}

static void teardown(void)
{
    apf_image_free(photo);
    apf_detector_free(det);
    apf_probe_free(probe);
}

/* the cloud's answer for a gradient blob: s = eps * g (T = identity) */
static void cloud(const void *g, size_t gs, void **s, size_t *ss)
{
    ck_assert_int_eq(apf_cloud_filter(NULL, NULL, g, gs, s, ss), APF_OK);
}

START_TEST(two_steps_protect_the_photo)
{
    apf_photo_job *job;
    ck_assert_int_eq(apf_photo_job_create(probe, det, photo, NULL, 0, &job), APF_OK);
    int n = apf_photo_job_face_count(job);
    ck_assert_int_ge(n, 1);
    ck_assert_int_eq(apf_photo_job_faces_found(job), n);
    apf_face f;
    ck_assert_int_eq(apf_photo_job_face(job, 0, &f), APF_OK);
    ck_assert(f.score > 0.5f && f.box[2] > f.box[0]);
    /* the blob is g for exactly these faces */
    const void *g;
    size_t gs;
    ck_assert_int_eq(apf_photo_job_gradient_blob(job, &g, &gs), APF_OK);
    ck_assert_ptr_nonnull(g);
    apf_wire_info info;
    int8_t *v;
    ck_assert_int_eq(apf_wire_decode(g, gs, &info, &v), APF_OK);
    ck_assert_int_eq(info.kind, APF_WIRE_GRADIENT);
    ck_assert_int_eq(info.n, n);
    free(v);
    void *s;
    size_t ss;
    cloud(g, gs, &s, &ss);
    apf_image *out, *again;
    ck_assert_int_eq(apf_photo_job_apply(job, s, ss, 0, &out), APF_OK);
    int w = apf_image_width(photo), h = apf_image_height(photo);
    ck_assert_int_eq(apf_image_width(out), w);
    ck_assert_int_eq(apf_image_height(out), h);
    const uint8_t *a = apf_image_pixels_const(photo), *b = apf_image_pixels_const(out);
    size_t changed = 0;
    int worst = 0;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        changed += d != 0;
        worst = d > worst ? d : worst;
    }
    ck_assert_int_le(worst, 8);            /* within eps in the photo's own pixels */
    ck_assert_uint_gt(changed, FACE_BYTES / 4); /* and the face really changed */
    /* the same blob gives the same photo */
    ck_assert_int_eq(apf_photo_job_apply(job, s, ss, 0, &again), APF_OK);
    ck_assert_mem_eq(apf_image_pixels_const(again), b, (size_t)w * h * 3);
    /* crops for a self-check: same alignment, original vs protected differ */
    uint8_t *co = malloc(FACE_BYTES), *cp = malloc(FACE_BYTES);
    ck_assert_int_eq(apf_photo_job_crops(job, 0, out, co, cp), APF_OK);
    ck_assert(memcmp(co, cp, FACE_BYTES) != 0);
    ck_assert_int_eq(apf_photo_job_crops(job, n, out, co, cp), APF_E_INVALID);
    ck_assert_int_eq(apf_photo_job_crops(job, 0, NULL, co, cp), APF_E_INVALID);
    free(co), free(cp);
    apf_image_free(again);
    apf_image_free(out);
    free(s);
    apf_photo_job_free(job);
}
END_TEST

/* The photo at half size: its face smaller than the 112-pixel crop. */
static apf_image *half_photo(void)
{
    int w = apf_image_width(photo), h = apf_image_height(photo);
    size_t n = (size_t)w * h * 3;
    float *src = malloc(n * 4), *dst = malloc(n / 4 * 4 + 64);
    const uint8_t *px = apf_image_pixels_const(photo);
    for (size_t i = 0; i < n; i++)
        src[i] = px[i];
    ck_assert_int_eq(apf_resize(src, h, w, 3, dst, h / 2, w / 2, 0), APF_OK);
    apf_image *half;
    ck_assert_int_eq(apf_image_create(w / 2, h / 2, &half), APF_OK);
    uint8_t *out = apf_image_pixels(half);
    for (size_t i = 0; i < (size_t)(w / 2) * (h / 2) * 3; i++)
        out[i] = (uint8_t)lrintf(fminf(fmaxf(dst[i], 0), 255));
    free(src), free(dst);
    return half;
}

/* Cosine, for the probe's model, between the clean crop and the crop a
 * recognizer takes, by its own matrix m_rec, of the photo protected with
 * eps * g by the device's matrix m. */
static float after_realignment(apf_probe *p, const apf_image *small, const double m[6], const double m_rec[6],
                               const uint8_t *clean, const int8_t *g)
{
    apf_image *prot;
    ck_assert_int_eq(apf_image_create(apf_image_width(small), apf_image_height(small), &prot), APF_OK);
    memcpy(apf_image_pixels(prot), apf_image_pixels_const(small),
           (size_t)apf_image_width(small) * apf_image_height(small) * 3);
    int8_t *noise = malloc(FACE_BYTES);
    for (int i = 0; i < FACE_BYTES; i++)
        noise[i] = (int8_t)(8 * g[i]);
    ck_assert_int_eq(apf_face_add_noise(prot, small, m, noise, 8.0f), APF_OK);
    uint8_t *crop = malloc(FACE_BYTES);
    ck_assert_int_eq(apf_face_crop(prot, m_rec, crop), APF_OK);
    apf_model *model = apf_probe_model(p);
    int dim = apf_model_embedding_dim(model);
    float *e = malloc(2 * (size_t)dim * sizeof *e), *x = malloc(2 * FACE_BYTES * sizeof *x), cos;
    for (int i = 0; i < FACE_BYTES; i++)
        x[i] = clean[i], x[FACE_BYTES + i] = crop[i];
    ck_assert_int_eq(apf_model_embed(model, x, 2, APF_FACE_SIZE, e), APF_OK);
    double d = 0, na = 0, nb = 0;
    for (int k = 0; k < dim; k++)
        d += (double)e[k] * e[dim + k], na += (double)e[k] * e[k], nb += (double)e[dim + k] * e[dim + k];
    cos = (float)(d / sqrt(na * nb));
    free(e), free(x), free(crop), free(noise);
    apf_image_free(prot);
    return cos;
}

/* A MobileFaceNet probe running I-FGSM: a real attack, and cheap. */
static apf_probe *ifgsm_probe(int iterations, int reach_budget)
{
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.attack = APF_ATTACK_IFGSM;
    o.iterations = iterations;
    o.threads = 2;
    o.reach_budget = reach_budget;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    return p;
}

START_TEST(placed_attack_survives_the_photo)
{
    /* On a face at about half the crop's scale, g computed through the
     * photo round trip moves the re-aligned face further from the original
     * than g computed on the crop alone; with a face as large as aligned,
     * the placed attack is the plain one, value for value. */
    apf_probe *p = ifgsm_probe(10, 0);
    apf_image *small = half_photo();
    apf_face f;
    int n = 0;
    ck_assert_int_eq(apf_detect_faces(det, small, &f, 1, &n), APF_OK);
    ck_assert_int_ge(n, 1);
    double m[6];
    ck_assert_int_eq(apf_face_align_matrix(&f, m), APF_OK);
    double scale = sqrt(fabs(m[0] * m[4] - m[1] * m[3]));
    ck_assert_msg(scale > 0.3 && scale < 0.8, "face scale %.2f", scale);
    uint8_t *crop = malloc(FACE_BYTES);
    int8_t *plain = malloc(FACE_BYTES), *placed = malloc(FACE_BYTES);
    ck_assert_int_eq(apf_face_crop(small, m, crop), APF_OK);
    ck_assert_int_eq(apf_probe_gradient(p, crop, NULL, 1, APF_FACE_SIZE, plain), APF_OK);
    ck_assert_int_eq(apf_probe_gradient_placed(p, crop, NULL, 1, APF_FACE_SIZE, m, placed), APF_OK);
    /* the recognizer aligns the photo as the device did */
    float c_plain = after_realignment(p, small, m, m, crop, plain);
    float c_placed = after_realignment(p, small, m, m, crop, placed);
    ck_assert_msg(c_placed < c_plain - 0.05f, "cosine after the photo: plain %.3f, placed %.3f", c_plain,
                  c_placed);
    /* a matrix that is no placement */
    double bad[6] = {0.5, 0, 3, 1.0, 0, 2};
    ck_assert_int_eq(apf_probe_gradient_placed(p, crop, NULL, 1, APF_FACE_SIZE, bad, placed), APF_E_INVALID);
    bad[0] = NAN;
    ck_assert_int_eq(apf_probe_gradient_placed(p, crop, NULL, 1, APF_FACE_SIZE, bad, placed), APF_E_INVALID);
    void *blob;
    size_t bs;
    ck_assert_int_eq(apf_probe_gradient_blob_placed(p, crop, NULL, 1, APF_FACE_SIZE, bad, &blob, &bs),
                     APF_E_INVALID);
    /* a bad matrix anywhere in the batch is refused before any face is attacked */
    uint8_t *two = malloc(2 * FACE_BYTES);
    int8_t *g2 = malloc(2 * FACE_BYTES);
    memcpy(two, crop, FACE_BYTES), memcpy(two + FACE_BYTES, crop, FACE_BYTES);
    memset(g2, 7, 2 * FACE_BYTES);
    double ms[12];
    memcpy(ms, m, sizeof(double) * 6), memcpy(ms + 6, bad, sizeof(double) * 6);
    ck_assert_int_eq(apf_probe_gradient_placed(p, two, NULL, 2, APF_FACE_SIZE, ms, g2), APF_E_INVALID);
    for (int i = 0; i < 2 * FACE_BYTES; i++)
        ck_assert_int_eq(g2[i], 7);
    free(two), free(g2);
    free(crop), free(plain), free(placed);
    apf_image_free(small);
    apf_probe_free(p);
}
END_TEST

/* With the probe's reach_budget the job bounds the cloud's noise by how far
 * the attack moved each value: the same photo changes less than with eps *
 * g whole, never by more at any pixel, and the blob that leaves is the same. */
START_TEST(large_faces_are_attacked_for_realignment)
{
    /* A face as large in its photo as aligned (here the aligned crop as its
     * own photo) keeps every value of its noise, but a recognizer re-detects
     * the protected photo and aligns it a little differently. The placed
     * attack draws such re-alignments, so after shifts and turns of 1.5
     * pixels and 1.5 degrees its face is further from the original than the
     * plain attack's (I-FGSM, whose every step sees the face as placed:
     * cosines -0.25 to -0.43 plain, -0.55 to -0.67 placed over six seeds). */
    apf_probe_options o;
    apf_probe_options_init(&o);
    o.attack = APF_ATTACK_IFGSM;
    o.iterations = 10;
    o.threads = 2;
    o.random_target = 0;
    apf_probe *p;
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    double m[6];
    int n = 0;
    apf_face f;
    ck_assert_int_eq(apf_detect_faces(det, photo, &f, 1, &n), APF_OK);
    ck_assert_int_ge(n, 1);
    ck_assert_int_eq(apf_face_align_matrix(&f, m), APF_OK);
    apf_image *face;
    ck_assert_int_eq(apf_image_create(APF_FACE_SIZE, APF_FACE_SIZE, &face), APF_OK);
    ck_assert_int_eq(apf_face_crop(photo, m, apf_image_pixels(face)), APF_OK);
    const uint8_t *crop = apf_image_pixels_const(face);
    static const double id[6] = {1, 0, 0, 0, 1, 0};
    int8_t *plain = malloc(FACE_BYTES), *placed = malloc(FACE_BYTES);
    ck_assert_int_eq(apf_probe_gradient(p, crop, NULL, 1, APF_FACE_SIZE, plain), APF_OK);
    ck_assert_int_eq(apf_probe_gradient_placed(p, crop, NULL, 1, APF_FACE_SIZE, id, placed), APF_OK);
    double sum_plain = 0, sum_placed = 0;
    for (int k = 0; k < 4; k++) {
        /* the recognizer's matrix: turned by +-1.5 degrees about the
         * centre and shifted by +-1.5 pixels */
        double a = (k & 1 ? 1.5 : -1.5) * M_PI / 180, c = cos(a), s = sin(a), h = (APF_FACE_SIZE - 1) / 2.0;
        double rec[6] = {c, -s, h - c * h + s * h + (k & 2 ? 1.5 : -1.5),
                         s, c, h - s * h - c * h + (k & 1 ? -1.5 : 1.5)};
        sum_plain += after_realignment(p, face, id, rec, crop, plain);
        sum_placed += after_realignment(p, face, id, rec, crop, placed);
    }
    ck_assert_msg(sum_placed / 4 < sum_plain / 4 - 0.1, "cosine after re-alignment: plain %.3f, placed %.3f",
                  sum_plain / 4, sum_placed / 4);
    free(plain), free(placed);
    apf_image_free(face);
    apf_probe_free(p);
}
END_TEST

START_TEST(reach_budget_bounds_the_noise)
{
    apf_image *out[2];
    void *blob[2];
    size_t bs[2];
    for (int r = 0; r < 2; r++) {
        apf_probe *p = ifgsm_probe(6, r);
        apf_photo_job *job;
        ck_assert_int_eq(apf_photo_job_create(p, det, photo, NULL, 0, &job), APF_OK);
        const void *g;
        ck_assert_int_eq(apf_photo_job_gradient_blob(job, &g, &bs[r]), APF_OK);
        blob[r] = malloc(bs[r]);
        memcpy(blob[r], g, bs[r]);
        void *s;
        size_t ss;
        cloud(g, bs[r], &s, &ss);
        ck_assert_int_eq(apf_photo_job_apply(job, s, ss, 0, &out[r]), APF_OK);
        free(s);
        apf_photo_job_free(job);
        apf_probe_free(p);
    }
    ck_assert_uint_eq(bs[0], bs[1]);
    ck_assert_mem_eq(blob[0], blob[1], bs[0]);
    int w = apf_image_width(photo), h = apf_image_height(photo);
    const uint8_t *a = apf_image_pixels_const(photo);
    const uint8_t *full = apf_image_pixels_const(out[0]), *bounded = apf_image_pixels_const(out[1]);
    double l1_full = 0, l1_bounded = 0;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        l1_full += abs((int)full[i] - (int)a[i]);
        l1_bounded += abs((int)bounded[i] - (int)a[i]);
    }
    ck_assert_msg(l1_bounded > 0.2 * l1_full && l1_bounded < 0.95 * l1_full,
                  "photo change with the reach %.0f vs eps * g %.0f", l1_bounded, l1_full);
    for (int r = 0; r < 2; r++)
        apf_image_free(out[r]), free(blob[r]);
}
END_TEST

START_TEST(given_faces_need_no_detector)
{
    apf_face faces[2];
    int n = 0;
    ck_assert_int_eq(apf_detect_faces(det, photo, faces, 2, &n), APF_OK);
    ck_assert_int_ge(n, 1);
    apf_photo_job *job;
    ck_assert_int_eq(apf_photo_job_create(probe, NULL, photo, faces, 1, &job), APF_OK);
    ck_assert_int_eq(apf_photo_job_face_count(job), 1);
    apf_photo_job_free(job);
    /* neither faces nor a detector */
    ck_assert_int_eq(apf_photo_job_create(probe, NULL, photo, NULL, 0, &job), APF_E_INVALID);
    ck_assert_ptr_null(job);
}
END_TEST

START_TEST(wrong_replies_are_refused)
{
    apf_photo_job *job;
    ck_assert_int_eq(apf_photo_job_create(probe, det, photo, NULL, 0, &job), APF_OK);
    int n = apf_photo_job_face_count(job);
    const void *g;
    size_t gs;
    apf_photo_job_gradient_blob(job, &g, &gs);
    apf_image *out = (apf_image *)1;
    /* the gradient itself is not noise */
    ck_assert_int_eq(apf_photo_job_apply(job, g, gs, 0, &out), APF_E_FORMAT);
    ck_assert_ptr_null(out);
    /* noise for another number of faces, or over the budget */
    int8_t *v = calloc((size_t)(n + 1) * FACE_BYTES, 1);
    void *b;
    size_t bs;
    apf_wire_info more = {APF_WIRE_NOISE, 0, n + 1, APF_FACE_SIZE, APF_FACE_SIZE, 3, 8.0f, 0};
    ck_assert_int_eq(apf_wire_encode(&more, v, &b, &bs), APF_OK);
    ck_assert_int_eq(apf_photo_job_apply(job, b, bs, 0, &out), APF_E_FORMAT);
    free(b);
    apf_wire_info big = {APF_WIRE_NOISE, 0, n, APF_FACE_SIZE, APF_FACE_SIZE, 3, 16.0f, 0};
    ck_assert_int_eq(apf_wire_encode(&big, v, &b, &bs), APF_OK);
    ck_assert_int_eq(apf_photo_job_apply(job, b, bs, 0, &out), APF_E_FORMAT);
    free(b);
    /* a flipped bit, a cut blob */
    void *s;
    size_t ss;
    cloud(g, gs, &s, &ss);
    ((uint8_t *)s)[ss / 2] ^= 0x10;
    ck_assert_int_ne(apf_photo_job_apply(job, s, ss, 0, &out), APF_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(apf_photo_job_apply(job, s, 12, 0, &out), APF_E_FORMAT);
    free(s), free(v);
    apf_photo_job_free(job);
}
END_TEST

START_TEST(a_photo_without_faces)
{
    apf_image *flat;
    ck_assert_int_eq(apf_image_create(320, 240, &flat), APF_OK);
    memset(apf_image_pixels(flat), 128, 320 * 240 * 3);
    apf_photo_job *job;
    ck_assert_int_eq(apf_photo_job_create(probe, det, flat, NULL, 0, &job), APF_OK);
    ck_assert_int_eq(apf_photo_job_face_count(job), 0);
    const void *g = (const void *)1;
    size_t gs = 1;
    ck_assert_int_eq(apf_photo_job_gradient_blob(job, &g, &gs), APF_OK);
    ck_assert_ptr_null(g);
    ck_assert_uint_eq(gs, 0);
    apf_image *out;
    ck_assert_int_eq(apf_photo_job_apply(job, "x", 1, 0, &out), APF_E_STATE);
    apf_photo_job_free(job);
    apf_image_free(flat);
}
END_TEST

/* BlazeFace takes a cat's face for a face; with the face check the photo
 * has no person's face and nothing is protected, while every person in
 * the sample photos is still found. */
START_TEST(animal_faces_are_not_taken_for_people)
{
    apf_image *cat;
    ck_assert_int_eq(apf_image_load(APF_SOURCE_DIR "/tests/data/animals/chelsea.jpg", &cat), APF_OK);
    apf_face f[4];
    int n = 0;
    ck_assert_int_eq(apf_detect_faces(det, cat, f, 4, &n), APF_OK);
    ck_assert_int_ge(n, 1); /* without the check: the cat is a "face" */
    apf_face the_cat = f[0];
    int before_person = 0;
    ck_assert_int_eq(apf_detect_faces(det, photo, f, 4, &before_person), APF_OK);
    ck_assert_int_eq(apf_detector_set_face_check(det, tu_path(tu_models_dir(), "facemesh.apfm"),
                                                 APF_FACE_CHECK_MIN_SCORE), APF_OK);
    float score;
    ck_assert_int_eq(apf_detector_face_score(det, cat, &the_cat, &score), APF_OK);
    ck_assert_float_lt(score, 0.1f);
    ck_assert_int_eq(apf_detect_faces(det, cat, f, 4, &n), APF_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_ge(apf_detector_rejected_count(det), 1);
    apf_photo_job *job;
    ck_assert_int_eq(apf_photo_job_create(probe, det, cat, NULL, 0, &job), APF_OK);
    ck_assert_int_eq(apf_photo_job_face_count(job), 0);
    apf_photo_job_free(job);
    /* people: every sample photo keeps all its faces, each scoring near 1 */
    static const char *const people[] = {"Aaron_Eckhart_0001.jpg", "Abdel_Aziz_Al-Hakim_0001.jpg",
                                         "Arnold_Schwarzenegger_0006.jpg", "Avril_Lavigne_0001.jpg"};
    for (int i = 0; i < 4; i++) {
        apf_image *im;
        char path[1024];
        snprintf(path, sizeof path, "%s/examples/photos/%s", APF_SOURCE_DIR, people[i]);
        ck_assert_int_eq(apf_image_load(path, &im), APF_OK);
        ck_assert_int_eq(apf_detector_set_face_check(det, NULL, 0.0f), APF_OK);
        int all = 0;
        ck_assert_int_eq(apf_detect_faces(det, im, f, 4, &all), APF_OK);
        ck_assert_int_eq(apf_detector_set_face_check(det, tu_path(tu_models_dir(), "facemesh.apfm"),
                                                     APF_FACE_CHECK_MIN_SCORE), APF_OK);
        ck_assert_int_eq(apf_detect_faces(det, im, f, 4, &n), APF_OK);
        ck_assert_int_ge(n, 1);
        ck_assert_int_eq(n, all);
        ck_assert_int_eq(apf_detector_rejected_count(det), 0);
        ck_assert_int_eq(apf_detector_face_score(det, im, &f[0], &score), APF_OK);
        ck_assert_float_gt(score, 0.9f);
        apf_image_free(im);
    }
    ck_assert_int_ge(before_person, 1);
    apf_image_free(cat);
}
END_TEST

/* One detector with its check shared by two threads (the handle rule,
 * docs/architecture.md): each thread's detections and scores are the
 * serial ones, bit for bit. */
typedef struct {
    apf_image *img[2];
    int n[2];
    float score[2];
    int bad;
} shared_run;

static void *detect_both(void *arg)
{
    shared_run *r = arg;
    for (int rep = 0; rep < 6; rep++)
        for (int i = 0; i < 2; i++) {
            apf_face f[4];
            int n = -1;
            float s = -1;
            if (apf_detect_faces(det, r->img[i], f, 4, &n) || n != r->n[i])
                r->bad++;
            else if (n > 0 && (apf_detector_face_score(det, r->img[i], &f[0], &s) ||
                               memcmp(&s, &r->score[i], sizeof s)))
                r->bad++;
        }
    return NULL;
}

START_TEST(one_detector_shared_by_two_threads)
{
    ck_assert_int_eq(apf_detector_set_face_check(det, tu_path(tu_models_dir(), "facemesh.apfm"),
                                                 APF_FACE_CHECK_MIN_SCORE), APF_OK);
    shared_run r[2];
    memset(r, 0, sizeof r);
    ck_assert_int_eq(apf_image_load(APF_SOURCE_DIR "/tests/data/animals/chelsea.jpg", &r[0].img[0]), APF_OK);
    r[0].img[1] = photo;
    for (int i = 0; i < 2; i++) { /* the serial answers */
        apf_face f[4];
        ck_assert_int_eq(apf_detect_faces(det, r[0].img[i], f, 4, &r[0].n[i]), APF_OK);
        if (r[0].n[i] > 0)
            ck_assert_int_eq(apf_detector_face_score(det, r[0].img[i], &f[0], &r[0].score[i]), APF_OK);
    }
    ck_assert_int_eq(r[0].n[0], 0); /* the cat is dropped */
    ck_assert_int_ge(r[0].n[1], 1);
    r[1] = r[0];
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(pthread_create(&t[k], NULL, detect_both, &r[k]), 0);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    ck_assert_int_eq(r[0].bad + r[1].bad, 0);
    apf_image_free(r[0].img[0]);
}
END_TEST

Suite *photo_job_suite(void)
{
    Suite *s = suite_create("photo_job");
    TCase *t = tcase_create("photo_job");
    tcase_set_timeout(t, 600);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, two_steps_protect_the_photo);
    tcase_add_test(t, given_faces_need_no_detector);
    tcase_add_test(t, placed_attack_survives_the_photo);
    tcase_add_test(t, large_faces_are_attacked_for_realignment);
    tcase_add_test(t, reach_budget_bounds_the_noise);
    tcase_add_test(t, wrong_replies_are_refused);
    tcase_add_test(t, a_photo_without_faces);
    tcase_add_test(t, animal_faces_are_not_taken_for_people);
    tcase_add_test(t, one_detector_shared_by_two_threads);
    suite_add_tcase(s, t);
    return s;
}
