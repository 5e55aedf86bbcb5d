/* The detector's face check (face_check.c): a person's face or not. */
#ifndef APF_FACE_CHECK_INTERNAL_H
#define APF_FACE_CHECK_INTERNAL_H

#include "apf/apf_face.h"
#include "../core/internal.h"

typedef struct face_check face_check;

/* Load the check's model (FaceMesh's face-presence branch). */
apf_status face_check_load(const char *path, face_check **out);
void face_check_free(face_check *c);
apf_status face_check_set_threads(face_check *c, int threads);
/* Score in [0, 1] of the face in img (one network call on a 192x192 crop). */
apf_status face_check_score(face_check *c, const apf_image *img, const apf_face *face, float *score);
/* Give back the network's activation memory until the next score (after a
 * photo's detections: the check then idles while the probe attacks). */
void face_check_idle(face_check *c);

#endif
