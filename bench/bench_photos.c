/* apf-bench-photos: whole-photo protection, measured.
 *
 *   apf-bench-photos [--shared DIR] [--models DIR] [--transfer T.apfm|none] [--pairs N]
 *                    [--probe LIST] [--decoys FILE|none] [--iterations N] [--retry F|off]
 *                    [--threads N] [--server-bin PATH]
 *
 * The device and cloud are `apf protect`'s defaults (the shipped device
 * ensemble and iterations, the retry of a photo its self-check finds still
 * matched; no T, s = eps * g; the shipped decoy faces) unless --probe,
 * --decoys, --iterations, --retry or --transfer say otherwise.
 *
 * 1. Detection on every photo of photos150/ that landmarks150.txt lists:
 *    detection rate, mean landmark error in pixels (eyes, nose, mouth
 *    centre) and normalised by the inter-ocular distance.
 * 2. Protection of the first N positive pairs of fold 8 (default 100): the
 *    aligned-crop pipeline (protect aligned112 face i) against the
 *    whole-photo pipeline (protect photos150 photo i, write it as PNG and
 *    as JPEG q95, re-detect and re-align the protected photo); each
 *    recognizer matches the result against aligned112 face j at its
 *    best-accuracy threshold (calibrated on fold 8's clean aligned pairs).
 * 3. One photo end to end: in-process cloud vs an apf-server on loopback;
 *    bytes sent per face. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apf/apf.h"
#include "cloud_client.h"
#include "decoy_file.h"
#include "probe_list.h"
#include "landmarks.h"
#include "lfw.h"
#include "protect.h"
#include "wait_policy.h"

#define FB (APF_FACE_SIZE * APF_FACE_SIZE * 3)
#define NREC BUNDLED_RECOGNIZERS
static const char *const *const REC = bundled_recognizer;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "apf-bench-photos: %s: %s\n", what, apf_last_error());
    exit(1);
}

/* Detect, pick the labelled person, crop aligned (its matrix to m when
 * not NULL). 0 on success. */
static int photo_crop(apf_detector *det, const apf_image *img, const float ref[5][2], uint8_t *crop,
                      double *m_out)
{
    apf_face f[16];
    int n = 0;
    if (apf_detect_faces(det, img, f, 16, &n))
        die("detect");
    int k = nearest(f, n < 16 ? n : 16, ref);
    double m[6];
    if (k < 0 || apf_face_align_matrix(&f[k], m) || apf_face_crop(img, m, crop))
        return -1;
    if (m_out)
        memcpy(m_out, m, sizeof m);
    return 0;
}

/* The photo resampled by s (bilinear), as a camera of s times the
 * resolution would have taken it: LFW's 150-pixel photos hold the face at
 * 0.74 photo pixels per aligned pixel, smaller than most faces in the
 * photos users protect. */
static apf_image *rescale(apf_image *img, double s)
{
    int w = apf_image_width(img), h = apf_image_height(img);
    int dw = (int)lround(w * s), dh = (int)lround(h * s);
    apf_image *out;
    float *src = malloc((size_t)w * h * 3 * sizeof *src), *dst = malloc((size_t)dw * dh * 3 * sizeof *dst);
    if (!src || !dst || apf_image_create(dw, dh, &out))
        die("rescale");
    const uint8_t *px = apf_image_pixels(img);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        src[i] = px[i];
    if (apf_resize(src, h, w, 3, dst, dh, dw, 0))
        die("rescale");
    uint8_t *o = apf_image_pixels(out);
    for (size_t i = 0; i < (size_t)dw * dh * 3; i++)
        o[i] = (uint8_t)fminf(fmaxf(roundf(dst[i]), 0.0f), 255.0f);
    free(src), free(dst);
    apf_image_free(img);
    return out;
}

static apf_image *reload(const apf_image *img, const char *path)
{
    unlink(path);
    apf_image *r;
    if (apf_image_save(img, path, 95) || apf_image_load(path, &r))
        die(path);
    unlink(path);
    return r;
}

static pid_t start_server(const char *bin, const char *tw, int *port)
{
    char pf[] = "/tmp/apf-bench-port-XXXXXX";
    int fd = mkstemp(pf);
    close(fd);
    unlink(pf);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--listen", "127.0.0.1:0", "--port-file", pf, "--transfer", tw, "--quiet", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(pf, "r");
        if (f && fscanf(f, "%d", port) == 1) {
            fclose(f);
            unlink(pf);
            return pid;
        }
        if (f)
            fclose(f);
        usleep(50000);
    }
    kill(pid, SIGTERM);
    fprintf(stderr, "apf-bench-photos: %s did not start\n", bin);
    exit(1);
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    const char *shared = "../shared", *models = "models", *transfer = "none";
    const char *server_bin = "build/examples/apf/apf-server";
    const char *probe_models = NULL, *decoys_arg = NULL; /* NULL: apf protect's */
    int pairs_max = 100, iterations = 0, threads = 2, retry = -1, reach = -1;
    float blur = -1, blur_sigma = -1; /* < 0: apf protect's */
    double photo_scale = 1.0;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: apf-bench-photos [--shared DIR] [--models DIR] [--transfer T.apfm|none] [--pairs N]\n"
                   "                        [--probe LIST] [--decoys FILE|none] [--iterations N] [--retry F|off]\n"
                   "                        [--reach 0|1] [--threads N] [--server-bin PATH] [--photo-scale S]\n"
                   "                        [--blur-diversity P] [--blur-sigma S]\n"
                   "Whole-photo protection against aligned crops, detection accuracy, in-process vs\n"
                   "loopback time (docs/app.md). Default: apf protect's device and cloud.\n"
                   "--photo-scale S resamples each 150x150 photo by S before protection (S > 1: the\n"
                   "face larger in the photo, as in camera photos; default 1).\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "apf-bench-photos: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--shared")) shared = argv[i + 1];
        else if (!strcmp(argv[i], "--models")) models = argv[i + 1];
        else if (!strcmp(argv[i], "--transfer")) transfer = argv[i + 1];
        else if (!strcmp(argv[i], "--pairs")) pairs_max = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--probe")) probe_models = argv[i + 1];
        else if (!strcmp(argv[i], "--decoys")) decoys_arg = argv[i + 1];
        else if (!strcmp(argv[i], "--iterations")) iterations = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reach")) reach = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--retry")) retry = strcmp(argv[i + 1], "off") ? atoi(argv[i + 1]) : 0;
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--server-bin")) server_bin = argv[i + 1];
        else if (!strcmp(argv[i], "--photo-scale")) photo_scale = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--blur-diversity")) blur = (float)atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--blur-sigma")) blur_sigma = (float)atof(argv[i + 1]);
        else {
            fprintf(stderr, "apf-bench-photos: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!(photo_scale >= 0.5 && photo_scale <= 8)) {
        fprintf(stderr, "apf-bench-photos: --photo-scale must be in [0.5, 8]\n");
        return 2;
    }
    char p1[4096], p2[4096];
    /* ---- 1. detection and landmarks ---- */
    snprintf(p1, sizeof p1, "%s/data/lfw/landmarks150.txt", shared);
    int n_lm;
    lm_entry *lm = read_landmarks(p1, &n_lm);
    snprintf(p1, sizeof p1, "%s/blazeface.apfm", models);
    apf_detector *det;
    if (apf_detector_create(p1, &det) || apf_detector_set_threads(det, threads))
        die(p1);
    int found = 0;
    double err_px = 0, err_norm = 0, t_det = 0;
    for (int i = 0; i < n_lm; i++) {
        snprintf(p1, sizeof p1, "%s/data/lfw/photos150/%s", shared, lm[i].path);
        apf_image *img;
        if (apf_image_load(p1, &img))
            die(p1);
        apf_face f[16];
        int n;
        double t = now();
        if (apf_detect_faces(det, img, f, 16, &n))
            die("detect");
        t_det += now() - t;
        int k = nearest(f, n < 16 ? n : 16, (const float(*)[2])lm[i].l);
        if (k >= 0) {
            const float(*l)[2] = lm[i].l;
            float mouth[2] = {(l[3][0] + l[4][0]) / 2, (l[3][1] + l[4][1]) / 2};
            double e = hypot(f[k].landmarks[0][0] - l[0][0], f[k].landmarks[0][1] - l[0][1]) +
                       hypot(f[k].landmarks[1][0] - l[1][0], f[k].landmarks[1][1] - l[1][1]) +
                       hypot(f[k].landmarks[2][0] - l[2][0], f[k].landmarks[2][1] - l[2][1]) +
                       hypot(f[k].landmarks[3][0] - mouth[0], f[k].landmarks[3][1] - mouth[1]);
            err_px += e / 4;
            err_norm += e / 4 / hypot(l[1][0] - l[0][0], l[1][1] - l[0][1]);
            found++;
        }
        apf_image_free(img);
    }
    printf("detection (BlazeFace, photos150, %d photos): found %d (%.1f%%), landmark error %.2f px mean "
           "(%.3f of the inter-ocular distance; eyes, nose, mouth centre), %.1f ms/photo\n",
           n_lm, found, 100.0 * found / n_lm, err_px / found, err_norm / found, 1e3 * t_det / n_lm);
    fflush(stdout);

    /* ---- 2. protection: aligned crops vs whole photos ---- */
    lfw_set aligned, photos;
    snprintf(p1, sizeof p1, "%s/data/lfw/pairs.txt", shared);
    snprintf(p2, sizeof p2, "%s/data/lfw/aligned112", shared);
    if (lfw_load(p1, p2, 8, &aligned))
        die("pairs");
    snprintf(p2, sizeof p2, "%s/data/lfw/photos150", shared);
    if (lfw_load(p1, p2, 8, &photos))
        die("pairs");
    const char *paths[NREC];
    char pbuf[NREC][4096];
    bundled_recognizer_paths(models, pbuf, paths);
    apf_evaluator *ev;
    if (apf_evaluator_create(paths, NREC, threads, &ev))
        die("recognizers");
    int np = aligned.n_pairs;
    uint8_t *ca = malloc((size_t)np * FB), *cb = malloc((size_t)np * FB), *same = malloc(np);
    for (int i = 0; i < np; i++) {
        apf_image *a, *b;
        if (apf_image_load(aligned.paths[aligned.pairs[i].a], &a) ||
            apf_image_load(aligned.paths[aligned.pairs[i].b], &b))
            die("aligned face");
        memcpy(ca + (size_t)i * FB, apf_image_pixels(a), FB);
        memcpy(cb + (size_t)i * FB, apf_image_pixels(b), FB);
        same[i] = (uint8_t)aligned.pairs[i].same;
        apf_image_free(a), apf_image_free(b);
    }
    if (apf_evaluator_calibrate(ev, ca, cb, same, np, APF_FACE_SIZE))
        die("calibrate");
    char err[512];
    cloud_client *local = cloud_client_local(strcmp(transfer, "none") ? transfer : NULL, NULL, threads, err,
                                             sizeof err);
    if (!local) {
        fprintf(stderr, "apf-bench-photos: %s\n", err);
        return 1;
    }
    protect_options po;
    protect_options_init(&po);
    po.models_dir = models;
    if (probe_models)
        po.probe_models = probe_models;
    char decoys[4096]; /* as apf protect: the shipped decoys beside the models */
    decoy_file_beside(models, decoys, sizeof decoys);
    po.decoys = !decoys_arg ? decoys : strcmp(decoys_arg, "none") ? decoys_arg : NULL;
    if (retry >= 0)
        po.retry_factor = retry;
    /* the self-check only where the retry needs it */
    po.check = po.retry_factor > 1 ? 2 : 0;
    if (iterations > 0)
        po.probe.iterations = iterations;
    iterations = po.probe.iterations;
    if (reach >= 0)
        po.probe.reach_budget = reach;
    if (blur >= 0)
        po.probe.diversity_blur = blur;
    if (blur_sigma >= 0)
        po.probe.diversity_blur_sigma = blur_sigma;
    po.probe.threads = threads;
    protector *pr;
    char msg[512];
    if (protector_create(&po, local, &pr, msg, sizeof msg)) {
        fprintf(stderr, "apf-bench-photos: protector: %s\n", msg);
        return 1;
    }
    /* rows: 0 aligned clean, 1 aligned protected, 2 photo clean, 3 photo PNG, 4 photo JPEG q95,
     * 5 photo PNG cropped at the clean photo's alignment (no re-detection: what the
     * resampling alone costs, apart from the recognizer's own landmarks) */
    enum { ROWS = 6 };
    int n = 0, skipped = 0;
    uint8_t *rows[ROWS], *other = malloc((size_t)pairs_max * FB);
    for (int r = 0; r < ROWS; r++)
        rows[r] = malloc((size_t)pairs_max * FB);
    /* aligned pipeline: the aligned face is itself the "photo", its one face
     * given at the ArcFace template, so alignment is the identity */
    static const float TEMPLATE[5][2] = {
        {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f},
    };
    apf_face whole;
    if (apf_face_from_landmarks(TEMPLATE, &whole))
        die("template face");
    double ssim_sum[2] = {0, 0}, ssim_min[2] = {1, 1}, shift_sum = 0, shift_max = 0;
    size_t sent = 0;
    double photo_ms = 0;
    int retried = 0, retry_kept = 0, photos_done = 0;
    double t0 = now();
    for (int i = 0; i < np && n < pairs_max; i++) {
        if (!aligned.pairs[i].same)
            continue;
        const char *ppath = photos.paths[photos.pairs[i].a];
        const float(*lm_ref)[2] = find_lm(lm, n_lm, ppath);
        float scaled[5][2];
        const float(*ref)[2] = lm_ref ? scaled : NULL;
        for (int q = 0; q < 5 && lm_ref; q++)
            for (int c = 0; c < 2; c++) /* half-pixel centres, as apf_resize */
                scaled[q][c] = (float)((lm_ref[q][c] + 0.5) * photo_scale - 0.5);
        apf_image *a, *b, *ph;
        if (apf_image_load(aligned.paths[aligned.pairs[i].a], &a) ||
            apf_image_load(aligned.paths[aligned.pairs[i].b], &b) || apf_image_load(ppath, &ph))
            die("pair images");
        if (photo_scale != 1.0)
            ph = rescale(ph, photo_scale);
        uint8_t *clean_crop = rows[2] + (size_t)n * FB;
        double m_clean[6];
        if (!ref || photo_crop(det, ph, ref, clean_crop, m_clean)) {
            skipped++; /* the photo's person is not detected: not comparable */
            apf_image_free(a), apf_image_free(b), apf_image_free(ph);
            continue;
        }
        memcpy(rows[0] + (size_t)n * FB, apf_image_pixels(a), FB);
        memcpy(other + (size_t)n * FB, apf_image_pixels(b), FB);
        apf_image *pa, *pp;
        photo_report rep;
        if (protect_photo(pr, a, &whole, 1, &pa, &rep, err, sizeof err) || !pa) {
            fprintf(stderr, "apf-bench-photos: %s\n", err);
            return 1;
        }
        memcpy(rows[1] + (size_t)n * FB, apf_image_pixels(pa), FB);
        if (protect_photo(pr, ph, NULL, 0, &pp, &rep, err, sizeof err) || !pp) {
            fprintf(stderr, "apf-bench-photos: %s: %s\n", ppath, err[0] ? err : "no face");
            return 1;
        }
        sent += rep.bytes_sent / (rep.faces_protected ? rep.faces_protected : 1);
        photo_ms += rep.ms, photos_done++;
        retried += rep.retried, retry_kept += rep.retry_kept;
        /* re-detect and re-align the protected photo, as a recognizer would */
        apf_image *png = reload(pp, "/tmp/apf-bench-photo.png"), *jpg = reload(pp, "/tmp/apf-bench-photo.jpg");
        double m_png[6];
        int ok = !photo_crop(det, png, ref, rows[3] + (size_t)n * FB, m_png) &&
                 !photo_crop(det, jpg, ref, rows[4] + (size_t)n * FB, NULL) &&
                 !apf_face_crop(png, m_clean, rows[5] + (size_t)n * FB);
        if (ok) {
            /* how far the recognizer's alignment of the protected photo is
             * from the device's, in aligned pixels, at the template points */
            double scale = sqrt(fabs(m_clean[0] * m_clean[4] - m_clean[1] * m_clean[3])), shift = 0;
            for (int q = 0; q < 5; q++) {
                double u = TEMPLATE[q][0], v = TEMPLATE[q][1];
                double dx = (m_png[0] - m_clean[0]) * u + (m_png[1] - m_clean[1]) * v + m_png[2] - m_clean[2];
                double dy = (m_png[3] - m_clean[3]) * u + (m_png[4] - m_clean[4]) * v + m_png[5] - m_clean[5];
                shift += hypot(dx, dy) / scale / 5;
            }
            shift_sum += shift, shift_max = fmax(shift_max, shift);
            double s;
            apf_ssim(rows[0] + (size_t)n * FB, rows[1] + (size_t)n * FB, 112, 112, &s, NULL);
            ssim_sum[0] += s, ssim_min[0] = fmin(ssim_min[0], s);
            apf_ssim(apf_image_pixels(ph), apf_image_pixels(png), apf_image_width(ph), apf_image_height(ph), &s, NULL);
            ssim_sum[1] += s, ssim_min[1] = fmin(ssim_min[1], s);
            n++;
        } else {
            skipped++;
        }
        apf_image_free(png), apf_image_free(jpg), apf_image_free(pa), apf_image_free(pp);
        apf_image_free(a), apf_image_free(b), apf_image_free(ph);
        if (n % 10 == 0 && ok)
            fprintf(stderr, "\r%d pairs, %.1f s", n, now() - t0);
    }
    fprintf(stderr, "\n");
    char retry_s[16] = "off";
    if (po.retry_factor > 1)
        snprintf(retry_s, sizeof retry_s, "%dx", po.retry_factor);
    printf("\nprotection, fold 8, first %d positive pairs (%d skipped: person not re-detected), device %s, "
           "%d it., decoys %s, retry %s, T: %s; ASR = (matched clean - matched protected) / pairs\n", n, skipped,
           po.probe_models ? po.probe_models : "default", iterations, po.decoys ? po.decoys : "none", retry_s,
           transfer);
    printf("whole photos: %.0f ms per photo in-process (detect, probe, cloud, map back%s)", photo_ms / photos_done,
           po.check ? ", self-check" : "");
    if (po.retry_factor > 1)
        printf("; protected again with %dx the iterations: %d of %d (the second result kept: %d)", po.retry_factor,
               retried, photos_done, retry_kept);
    printf("\n");
    int side = (int)lround(150 * photo_scale);
    printf("SSIM: aligned face mean %.3f min %.3f; whole photo (%dx%d) mean %.3f min %.3f\n",
           ssim_sum[0] / n, ssim_min[0], side, side, ssim_sum[1] / n, ssim_min[1]);
    printf("re-detection of the protected photo: its alignment %.2f aligned pixels from the device's on "
           "average (five template points), %.2f at most\n", shift_sum / n, shift_max);
    printf("| recognizer | aligned: matched clean | aligned ASR | photo: matched clean | photo ASR (PNG) | "
           "photo ASR (JPEG q95) | photo ASR (PNG, clean photo's alignment) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < NREC; k++) {
        int m[ROWS];
        for (int r = 0; r < ROWS; r++) {
            double asr;
            int before, after;
            if (apf_evaluator_asr(ev, k, rows[r == 1 ? 0 : r >= 3 ? 2 : r], rows[r], other, n, 112, &asr, &before, &after))
                die("asr");
            m[r] = after;
        }
        printf("| %s | %d | %.0f%% | %d | %.0f%% | %.0f%% | %.0f%% |\n", REC[k], m[0], 100.0 * (m[0] - m[1]) / n,
               m[2], 100.0 * (m[2] - m[3]) / n, 100.0 * (m[2] - m[4]) / n, 100.0 * (m[2] - m[5]) / n);
    }
    printf("bytes sent per face: %.0f (only the gradient blob)\n", (double)sent / n);
    fflush(stdout);

    /* ---- 3. one photo end to end: in-process vs loopback server ---- */
    int port;
    pid_t srv = start_server(server_bin, transfer, &port);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    cloud_client *remote = cloud_client_remote(url, 60, err, sizeof err);
    protector *prr;
    if (!remote)
        die("remote");
    if (protector_create(&po, remote, &prr, msg, sizeof msg)) {
        fprintf(stderr, "apf-bench-photos: remote protector: %s\n", msg);
        return 1;
    }
    snprintf(p1, sizeof p1, "%s/data/lfw/photos150/Aaron_Eckhart/Aaron_Eckhart_0001.jpg", shared);
    apf_image *ph;
    if (apf_image_load(p1, &ph))
        die(p1);
    double best[2] = {1e9, 1e9};
    for (int rep_i = 0; rep_i < 5; rep_i++)
        for (int w = 0; w < 2; w++) {
            apf_image *out;
            photo_report rep;
            double t = now();
            if (protect_photo(w ? prr : pr, ph, NULL, 0, &out, &rep, err, sizeof err)) {
                fprintf(stderr, "apf-bench-photos: %s\n", err);
                return 1;
            }
            best[w] = fmin(best[w], now() - t);
            apf_image_free(out);
        }
    printf("\none photo end to end (detect, probe, cloud, map back; best of 5): in-process %.0f ms, "
           "loopback apf-server %.0f ms (ratio %.2f)\n", 1e3 * best[0], 1e3 * best[1], best[1] / best[0]);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    apf_image_free(ph);
    protector_free(prr), protector_free(pr);
    cloud_client_free(remote), cloud_client_free(local);
    apf_evaluator_free(ev);
    apf_detector_free(det);
    return 0;
}
