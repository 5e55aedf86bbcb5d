/* LFW's labelled landmarks (../shared/data/lfw/landmarks150.txt: one line
 * per photo, its path under photos150/ and five points), and which of a
 * photo's detections is the labelled person. For the benchmarks. */
#ifndef APF_LANDMARKS_H
#define APF_LANDMARKS_H

#include "apf/apf.h"

typedef struct lm_entry {
    char path[512];
    float l[5][2];
} lm_entry;

/* Every entry of FILE (exits with a message when it cannot be read);
 * free() the result. */
lm_entry *read_landmarks(const char *file, int *n);

/* The labelled points of the photo at path PHOTO (matched on its path
 * under photos150/), or NULL. */
const float (*find_lm(const lm_entry *v, int n, const char *photo))[2];

/* The detection nearest to reference eye positions, when both eyes are
 * within half an eye distance on average; -1 for none. ref NULL: the
 * first (best) detection. */
int nearest(const apf_face *f, int n, const float ref[5][2]);

#endif
