/* Whole-photo protection: detect faces (or take the caller's landmarks),
 * align each to 112x112, get g from the probe, send only the gradient blob
 * to the cloud, map the returned noise back onto the photo in its own
 * pixels, and self-check the result. */
#ifndef APF_PROTECT_H
#define APF_PROTECT_H

#include "apf/apf.h"
#include "cloud_client.h"

#define PROTECT_MAX_FACES APF_PHOTO_JOB_MAX_FACES /* one wire blob */
#define PROTECT_MAX_CHECK 4 /* the bundled recognizers (probe_list.h) */
/* The retry is off by default: on LFW's photos it runs on nearly every
 * photo and costs 4x the device time, beyond the 1.5x the protection
 * issue allows the shipped default (docs/app.md has both). */
#define PROTECT_RETRY_FACTOR 0

typedef struct protect_options {
    const char *models_dir;     /* mobilefacenet, blazeface and the check recognizers */
    apf_probe_options probe;    /* attack, eps, iterations, seed, threads... */
    const char *probe_models;   /* device ensemble, probe_list.h syntax (default PROBE_LIST_DEFAULT) */
    const char *decoys;         /* decoy mosaic (decoy_file.h) for the random target; NULL: random
                                   directions */
    float min_score;            /* detector threshold */
    float face_check;           /* drop detections the face check (facemesh.apfm) scores below
                                   this; 0: no check (APF_FACE_CHECK_MIN_SCORE by default) */
    int check;                  /* 0 none, 1 probe only, 2 probe + bundled recognizers */
    unsigned keep_metadata;     /* APF_METADATA_KEEP_* bits; 0 = the privacy policy */
    int retry_factor;           /* a photo whose self-check finds a face still matched is
                                   protected again with this many times the iterations
                                   (needs check 2); 0 or 1: never */
} protect_options;

void protect_options_init(protect_options *o);

typedef struct face_report {
    apf_face face;
    double ssim;                        /* aligned original vs aligned protected */
    float similarity[PROTECT_MAX_CHECK]; /* cosine, original vs protected, per check model */
} face_report;

typedef struct photo_report {
    int faces_found;      /* detected (or given) */
    int faces_not_person; /* detections the face check dropped (not protected) */
    int faces_protected;
    size_t bytes_sent, bytes_received;
    double ms;
    int retried;          /* protected a second time with more iterations */
    int retry_kept;       /* ... and that second result is the one kept */
    int matched_first;    /* (face, recognizer) matches the first attempt left */
    int matched;          /* ... and the result kept */
    face_report faces[PROTECT_MAX_FACES];
} photo_report;

typedef struct protector protector;

/* On failure msg says what failed (a bad probe list entry, or the
 * library's message). */
apf_status protector_create(const protect_options *o, cloud_client *cloud, protector **out, char *msg,
                            size_t msg_size);
void protector_free(protector *p);
int protector_check_count(const protector *p);
const char *protector_check_name(const protector *p, int k);
/* Match threshold of check model k (cosine; >= means "same person"), from
 * LFW calibration (protect.c says which). */
float protector_check_threshold(const protector *p, int k);
apf_detector *protector_detector(protector *p);
apf_probe *protector_probe(protector *p);

/* Faces inside caller-given boxes (x0 y0 x1 y1 per box): the detector runs
 * on each box enlarged by 40% and keeps its best face there. found[i] is 1
 * when box i yielded a face; the faces are packed into `faces` in box order
 * and their number returned in *count. */
apf_status protect_faces_in_boxes(protector *p, const apf_image *photo, const float (*boxes)[4],
                                  int n_boxes, apf_face *faces, int *found, int *count);

/* (face, recognizer) pairs of a report still matched: the protected face's
 * cosine to the original at or above that recognizer's threshold. */
int protector_matched(const protector *p, const photo_report *rep);

/* Protect one photo. faces/n_faces: the caller's faces, or NULL to detect.
 * With retry_factor > 1 and a face still matched, the photo is protected
 * again from the original with more iterations (a second gradient blob
 * goes to the cloud) and the attempt with fewer matches is kept.
 * On success *out is the protected copy (with the photo's metadata); a
 * photo with no face gives APF_OK, faces_found 0 and *out NULL. Errors
 * leave a message in err. */
apf_status protect_photo(protector *p, const apf_image *photo, const apf_face *faces, int n_faces,
                         apf_image **out, photo_report *rep, char *err, size_t err_size);

#endif
