/* apf-bench-face-check: what the detector's face check keeps and drops.
 *
 *   apf-bench-face-check [--shared DIR] [--models DIR] [--threads N] [PHOTO...]
 *
 * 1. Every photo of photos150/ that landmarks150.txt lists (when --shared
 *    has them): each BlazeFace detection is scored by the face check and
 *    sorted into the labelled person (eyes within half an eye distance of
 *    the labels) and the rest (people in the background, partly cut faces,
 *    false detections). Printed: how many of each the check drops at
 *    thresholds 0.1 to 0.7 (0.2 is apf protect's default), the lowest
 *    scores of labelled faces, and the check's time against the detector's.
 * 2. Each PHOTO named: every detection with its detector score, face-check
 *    score and verdict at the default threshold (animal photos, say). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf.h"
#include "clock.h"
#include "landmarks.h"

#define MAX_DET 32

static void die(const char *what)
{
    fprintf(stderr, "apf-bench-face-check: %s: %s\n", what, apf_last_error());
    exit(1);
}

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *shared = "../shared", *models = "models";
    int threads = 0, first_photo = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: apf-bench-face-check [--shared DIR] [--models DIR] [--threads N] [PHOTO...]\n"
                   "The detector's face check on LFW's labelled photos (DIR/data/lfw), then on each PHOTO.\n");
            return 0;
        }
        if (argv[i][0] != '-') {
            first_photo = i;
            break;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "apf-bench-face-check: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--shared")) shared = argv[++i];
        else if (!strcmp(argv[i], "--models")) models = argv[++i];
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "apf-bench-face-check: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    char path[4096];
    apf_detector *det, *plain; /* with the check, and without (for its time) */
    snprintf(path, sizeof path, "%s/blazeface.apfm", models);
    if (apf_detector_create(path, &det) || (threads && apf_detector_set_threads(det, threads)))
        die(path);
    if (apf_detector_create(path, &plain) || (threads && apf_detector_set_threads(plain, threads)))
        die(path);
    snprintf(path, sizeof path, "%s/facemesh.apfm", models);
    /* threshold 0: every detection is scored and kept, so both sides are seen */
    if (apf_detector_set_face_check(det, path, 0.0f))
        die(path);

    snprintf(path, sizeof path, "%s/data/lfw/landmarks150.txt", shared);
    FILE *probe = fopen(path, "r");
    if (probe) {
        fclose(probe);
        int n_lm;
        lm_entry *lm = read_landmarks(path, &n_lm);
        float *lab = malloc(n_lm * sizeof *lab), *other = malloc((size_t)n_lm * MAX_DET * sizeof *other);
        int n_lab = 0, n_other = 0;
        double t_det = 0, t_check = 0, t_plain = 0;
        int n_checked = 0;
        for (int i = 0; i < n_lm; i++) {
            snprintf(path, sizeof path, "%s/data/lfw/photos150/%s", shared, lm[i].path);
            apf_image *img;
            if (apf_image_load(path, &img))
                die(path);
            apf_face f[MAX_DET];
            float score[MAX_DET];
            int n;
            double t = now_ms();
            if (apf_detect_faces(det, img, f, MAX_DET, &n))
                die("detect");
            t_det += now_ms() - t;
            apf_face f_plain[MAX_DET];
            int n_plain;
            t = now_ms();
            if (apf_detect_faces(plain, img, f_plain, MAX_DET, &n_plain))
                die("detect");
            t_plain += now_ms() - t;
            n = n < MAX_DET ? n : MAX_DET;
            /* the detector scored them already; again here to time the check alone */
            t = now_ms();
            for (int k = 0; k < n; k++)
                if (apf_detector_face_score(det, img, &f[k], &score[k]))
                    die("face score");
            t_check += now_ms() - t;
            n_checked += n;
            int me = nearest(f, n, (const float(*)[2])lm[i].l);
            for (int k = 0; k < n; k++) {
                if (k == me)
                    lab[n_lab++] = score[k];
                else
                    other[n_other++] = score[k];
            }
            apf_image_free(img);
        }
        qsort(lab, n_lab, sizeof *lab, by_value);
        printf("face check on photos150 (%d photos): %d detections of the labelled person, %d others\n", n_lm,
               n_lab, n_other);
        printf("threshold  labelled dropped  others dropped\n");
        static const float thr[] = {0.1f, 0.2f, 0.3f, 0.5f, 0.7f};
        for (size_t t = 0; t < sizeof thr / sizeof thr[0]; t++) {
            int dl = 0, dot = 0;
            for (int k = 0; k < n_lab; k++)
                dl += lab[k] < thr[t];
            for (int k = 0; k < n_other; k++)
                dot += other[k] < thr[t];
            printf("%9.1f%s  %8d (%4.1f%%)  %6d (%4.1f%%)\n", thr[t], thr[t] == APF_FACE_CHECK_MIN_SCORE ? "*" : " ",
                   dl, 100.0 * dl / n_lab, dot, 100.0 * dot / (n_other ? n_other : 1));
        }
        printf("(* apf protect's default) lowest labelled scores:");
        for (int k = 0; k < n_lab && k < 5; k++)
            printf(" %.3f", lab[k]);
        printf("\ntime: detection %.1f ms/photo with the check, %.1f without; the check alone %.2f ms/detection\n",
               t_det / n_lm, t_plain / n_lm, t_check / (n_checked ? n_checked : 1));
        free(lab);
        free(other);
        free(lm);
    } else {
        printf("no %s: LFW part skipped\n", path);
    }

    for (int a = first_photo; a < argc; a++) {
        apf_image *img;
        if (apf_image_load(argv[a], &img)) {
            printf("%s: %s\n", argv[a], apf_last_error());
            continue;
        }
        apf_face f[MAX_DET];
        int n;
        if (apf_detect_faces(det, img, f, MAX_DET, &n))
            die("detect");
        if (n == 0)
            printf("%s: no detection\n", argv[a]);
        for (int k = 0; k < n && k < MAX_DET; k++) {
            float s;
            if (apf_detector_face_score(det, img, &f[k], &s))
                die("face score");
            printf("%s: detection %d (detector %.2f, box %.0f %.0f %.0f %.0f): face check %.3f -> %s\n", argv[a],
                   k + 1, f[k].score, f[k].box[0], f[k].box[1], f[k].box[2], f[k].box[3], s,
                   s >= APF_FACE_CHECK_MIN_SCORE ? "a person's face" : "dropped");
        }
        apf_image_free(img);
    }
    apf_detector_free(det);
    apf_detector_free(plain);
    return 0;
}
