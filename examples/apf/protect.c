/* Whole-photo protection (protect.h). */
#include "protect.h"
#include "decoy_file.h"
#include "probe_list.h"

_Static_assert(PROTECT_MAX_CHECK == BUNDLED_RECOGNIZERS, "the self-check covers each bundled recognizer");

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FACE_BYTES (APF_FACE_SIZE * APF_FACE_SIZE * 3)

struct protector {
    protect_options opt;
    apf_probe *probe;
    apf_detector *det;
    /* the self-check's recognizers, probe model first: borrowed from the
     * probe when it holds one of that name (no second copy in memory),
     * else loaded here */
    apf_model *check[PROTECT_MAX_CHECK];
    int check_owned[PROTECT_MAX_CHECK];
    int n_check;
    cloud_client *cloud;
};

void protect_options_init(protect_options *o)
{
    memset(o, 0, sizeof *o);
    o->models_dir = "models";
    probe_list_options_init(&o->probe);
    o->probe_models = PROBE_LIST_DEFAULT;
    o->min_score = 0.5f;
    o->face_check = APF_FACE_CHECK_MIN_SCORE;
    o->check = 2;
    o->retry_factor = PROTECT_RETRY_FACTOR;
}

#define APF_CHECK_MAX_DIM 1024 /* the bundled recognizers have 128..512 */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

void protector_free(protector *p)
{
    if (!p)
        return;
    for (int k = 0; k < p->n_check; k++)
        if (p->check_owned[k])
            apf_model_free(p->check[k]);
    apf_probe_free(p->probe);
    apf_detector_free(p->det);
    free(p);
}

apf_status protector_create(const protect_options *o, cloud_client *cloud, protector **out, char *msg,
                            size_t msg_size)
{
    *out = NULL;
    protector *p = calloc(1, sizeof *p);
    if (!p)
        return APF_E_NOMEM;
    p->opt = *o;
    p->cloud = cloud;
    char path[4096];
    apf_status st = probe_list_create(o->probe_models, o->models_dir, &o->probe, &p->probe, msg, msg_size);
    if (!st && o->decoys && o->probe.random_target > 0)
        st = decoy_file_load(p->probe, o->decoys, msg, msg_size);
    int listed = st != APF_OK; /* msg says which entry or file */
    if (!st) {
        snprintf(path, sizeof path, "%s/blazeface.apfm", o->models_dir);
        st = apf_detector_create(path, &p->det);
    }
    if (!st)
        st = apf_detector_set_threshold(p->det, o->min_score);
    if (!st && o->probe.threads)
        st = apf_detector_set_threads(p->det, o->probe.threads);
    if (!st && o->face_check > 0) {
        snprintf(path, sizeof path, "%s/facemesh.apfm", o->models_dir);
        if ((st = apf_detector_set_face_check(p->det, path, o->face_check))) {
            snprintf(msg, msg_size, "%s (the face check: run tools/setup-models.sh, or --face-check 0 to "
                                    "protect every detection)", apf_last_error());
            listed = 1;
        }
    }
    if (!st && o->check) {
        const char *const *names = bundled_recognizer; /* PROTECT_MAX_CHECK of them */
        int n = o->check == 1 ? 1 : PROTECT_MAX_CHECK;
        for (int k = 0; k < n && !st; k++) {
            for (int i = 0; i < apf_probe_model_count(p->probe) && !p->check[k]; i++)
                if (!strcmp(apf_model_name(apf_probe_model_at(p->probe, i)), names[k]))
                    p->check[k] = apf_probe_model_at(p->probe, i);
            if (!p->check[k]) {
                snprintf(path, sizeof path, "%s/%s.apfm", o->models_dir, names[k]);
                st = apf_model_load(path, &p->check[k]);
                p->check_owned[k] = !st;
                if (!st && o->probe.threads)
                    st = apf_model_set_threads(p->check[k], o->probe.threads);
            }
            p->n_check = k + 1;
        }
    }
    if (st) {
        if (!listed)
            snprintf(msg, msg_size, "%s", apf_last_error());
        protector_free(p);
        return st;
    }
    *out = p;
    return APF_OK;
}

int protector_check_count(const protector *p) { return p->n_check; }

const char *protector_check_name(const protector *p, int k) { return apf_model_name(p->check[k]); }

/* Best-accuracy thresholds of the bundled recognizers on LFW's clean pairs
 * of folds 1-7 (`apf-eval --lfw ../shared/data/lfw --fold 8`, its threshold
 * table, 4,200 pairs; docs/results.md). A protected face whose similarity to its
 * original is at or above its model's threshold is still matched. */
float protector_check_threshold(const protector *p, int k)
{
    static const struct {
        const char *name;
        float thr;
    } T[] = {{"mobilefacenet", 0.369f}, {"faceres", 0.504f}, {"mobileface", 0.214f},
             {"faceapi-recognition", 0.942f}};
    const char *name = protector_check_name(p, k);
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(T[i].name, name))
            return T[i].thr;
    return 2.0f; /* unknown model: never reported as matched */
}

apf_detector *protector_detector(protector *p) { return p->det; }
apf_probe *protector_probe(protector *p) { return p->probe; }

apf_status protect_faces_in_boxes(protector *p, const apf_image *photo, const float (*boxes)[4],
                                  int n_boxes, apf_face *faces, int *found, int *count)
{
    int W = apf_image_width(photo), H = apf_image_height(photo), n = 0;
    const uint8_t *px = apf_image_pixels_const(photo);
    for (int b = 0; b < n_boxes; b++) {
        found[b] = 0;
        float bw = boxes[b][2] - boxes[b][0], bh = boxes[b][3] - boxes[b][1];
        if (!(bw >= 8 && bh >= 8))
            continue;
        int x0 = (int)fmaxf(0, boxes[b][0] - 0.4f * bw), y0 = (int)fmaxf(0, boxes[b][1] - 0.4f * bh);
        int x1 = (int)fminf(W, boxes[b][2] + 0.4f * bw), y1 = (int)fminf(H, boxes[b][3] + 0.4f * bh);
        if (x1 - x0 < 8 || y1 - y0 < 8)
            continue;
        apf_image *sub;
        apf_status st = apf_image_create(x1 - x0, y1 - y0, &sub);
        if (st)
            return st;
        for (int y = y0; y < y1; y++)
            memcpy(apf_image_pixels(sub) + (size_t)(y - y0) * (x1 - x0) * 3, px + ((size_t)y * W + x0) * 3,
                   (size_t)(x1 - x0) * 3);
        apf_face f[4];
        int k = 0;
        st = apf_detect_faces(p->det, sub, f, 4, &k);
        apf_image_free(sub);
        if (st)
            return st;
        if (k > 0 && n < PROTECT_MAX_FACES) {
            /* back to photo coordinates */
            for (int e = 0; e < 4; e++)
                f[0].box[e] += (e % 2) ? (float)y0 : (float)x0;
            for (int l = 0; l < 5; l++)
                f[0].landmarks[l][0] += (float)x0, f[0].landmarks[l][1] += (float)y0;
            faces[n++] = f[0];
            found[b] = 1;
        }
    }
    *count = n;
    return APF_OK;
}

static apf_status protect_once(protector *p, const apf_image *photo, const apf_face *given, int n_given,
                               apf_image **out, photo_report *rep, char *err, size_t err_size)
{
    double t0 = now_ms();
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    /* Device, step 1 (library): detect or take the faces, align, g. */
    apf_photo_job *job = NULL;
    apf_status st = apf_photo_job_create(p->probe, given ? NULL : p->det, photo, given, given ? n_given : 0, &job);
    if (st) {
        snprintf(err, err_size, "%s", apf_last_error());
        return st;
    }
    rep->faces_found = apf_photo_job_faces_found(job);
    rep->faces_not_person = given ? 0 : apf_detector_rejected_count(p->det);
    int n = apf_photo_job_face_count(job);
    uint8_t *crops = NULL, *pcrops = NULL;
    float *pair = NULL;
    void *s = NULL;
    size_t s_size = 0;
    apf_image *prot = NULL;
    if (n == 0)
        goto done;
    /* Only this blob leaves the device. */
    const void *g;
    size_t g_size;
    apf_photo_job_gradient_blob(job, &g, &g_size);
    if (cloud_client_filter(p->cloud, g, g_size, &s, &s_size, err, err_size)) {
        st = APF_E_IO;
        goto done;
    }
    rep->bytes_sent = g_size;
    rep->bytes_received = s_size;
    /* Device, step 2 (library): check the reply, apply it in the photo's pixels. */
    if ((st = apf_photo_job_apply(job, s, s_size, p->opt.keep_metadata, &prot))) {
        snprintf(err, err_size, "cloud reply: %s", apf_last_error());
        goto done;
    }
    rep->faces_protected = n;
    /* Self-check on the same alignment: SSIM and similarity per recognizer. */
    crops = malloc((size_t)n * FACE_BYTES), pcrops = malloc((size_t)n * FACE_BYTES);
    if (!crops || !pcrops) {
        st = APF_E_NOMEM;
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        apf_photo_job_face(job, i, &rep->faces[i].face);
        apf_photo_job_crops(job, i, prot, crops + (size_t)i * FACE_BYTES, pcrops + (size_t)i * FACE_BYTES);
        apf_ssim(crops + (size_t)i * FACE_BYTES, pcrops + (size_t)i * FACE_BYTES, APF_FACE_SIZE,
                 APF_FACE_SIZE, &rep->faces[i].ssim, NULL);
    }
    /* one face at a time, and the original and the protected face one
     * after the other: a batch of 1 reuses the plan the probe already
     * built on its own models (a recognizer's memory grows with its batch,
     * and a second batch size would be a second plan); cosine of the two
     * embeddings */
    pair = malloc(2 * FACE_BYTES * sizeof(float));
    if (!pair) {
        st = APF_E_NOMEM;
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    for (int k = 0; k < p->n_check; k++)
        for (int i = 0; i < n; i++) {
            float e[2 * APF_CHECK_MAX_DIM];
            int dim = apf_model_embedding_dim(p->check[k]);
            for (size_t q = 0; q < FACE_BYTES; q++) {
                pair[q] = crops[(size_t)i * FACE_BYTES + q];
                pair[FACE_BYTES + q] = pcrops[(size_t)i * FACE_BYTES + q];
            }
            if (dim > APF_CHECK_MAX_DIM || (st = apf_model_embed(p->check[k], pair, 1, APF_FACE_SIZE, e)) ||
                (st = apf_model_embed(p->check[k], pair + FACE_BYTES, 1, APF_FACE_SIZE, e + dim))) {
                if (!st)
                    st = APF_E_LIMIT;
                snprintf(err, err_size, "self-check: %s", dim > APF_CHECK_MAX_DIM ? "embedding too large"
                                                                                  : apf_last_error());
                goto done;
            }
            double dot = 0;
            for (int d = 0; d < dim; d++)
                dot += (double)e[d] * e[dim + d];
            rep->faces[i].similarity[k] = (float)dot;
        }
    *out = prot;
    prot = NULL;
done:
    rep->ms = now_ms() - t0;
    apf_image_free(prot);
    apf_photo_job_free(job);
    free(pair);
    free(s);
    free(pcrops);
    free(crops);
    return st;
}

int protector_matched(const protector *p, const photo_report *rep)
{
    int matched = 0;
    for (int i = 0; i < rep->faces_protected; i++)
        for (int k = 0; k < p->n_check; k++)
            matched += rep->faces[i].similarity[k] >= protector_check_threshold(p, k);
    return matched;
}

apf_status protect_photo(protector *p, const apf_image *photo, const apf_face *given, int n_given,
                         apf_image **out, photo_report *rep, char *err, size_t err_size)
{
    apf_status st = protect_once(p, photo, given, n_given, out, rep, err, err_size);
    if (st || !*out)
        return st;
    rep->matched = rep->matched_first = protector_matched(p, rep);
    if (p->opt.retry_factor <= 1 || p->n_check < PROTECT_MAX_CHECK || !rep->matched)
        return st;
    /* A face is still matched by a recognizer the device holds: attack the
     * original again, harder. The same probe with more iterations (its
     * models stay loaded); the first attempt stands if the second fails. */
    apf_probe_options o;
    apf_probe_options_init(&o);
    if (apf_probe_get_options(p->probe, &o))
        return st;
    int iterations = o.iterations;
    o.iterations = iterations * p->opt.retry_factor > 1000 ? 1000 : iterations * p->opt.retry_factor;
    if (apf_probe_set_options(p->probe, &o))
        return st;
    photo_report *again = malloc(sizeof *again);
    apf_image *out2 = NULL;
    char err2[256];
    apf_status st2 = again ? protect_once(p, photo, given, n_given, &out2, again, err2, sizeof err2) : APF_E_NOMEM;
    o.iterations = iterations;
    apf_probe_set_options(p->probe, &o);
    if (!st2 && out2) {
        again->retried = again->retry_kept = 1;
        again->matched_first = rep->matched_first;
        again->matched = protector_matched(p, again);
        again->bytes_sent += rep->bytes_sent;
        again->bytes_received += rep->bytes_received;
        again->ms += rep->ms;
        if (again->matched <= rep->matched) {
            apf_image_free(*out);
            *out = out2;
            out2 = NULL;
            *rep = *again;
        } else {
            rep->retried = 1;
            rep->bytes_sent = again->bytes_sent, rep->bytes_received = again->bytes_received;
            rep->ms = again->ms;
        }
    }
    apf_image_free(out2);
    free(again);
    return st;
}
