/* apf_photo_job: the device's whole-photo pipeline around the network hop
 * (apf_photo_job.h). Step 1 keeps what step 2 needs (the faces, their
 * alignment and aligned crops); only the gradient blob is meant to leave. */
#include <stdlib.h>
#include <string.h>

#include "apf/apf_photo_job.h"
#include "../core/internal.h"

#define FACE_BYTES ((size_t)APF_FACE_SIZE * APF_FACE_SIZE * 3)

struct apf_photo_job {
    apf_probe *probe;
    const apf_image *photo;
    int found, n;
    apf_face faces[APF_PHOTO_JOB_MAX_FACES];
    double to_image[APF_PHOTO_JOB_MAX_FACES][6];
    uint8_t *crops; /* n aligned faces of the original */
    uint8_t *reach; /* how far the attack moved each crop value (reach_budget), or NULL */
    void *blob;
    size_t blob_size;
    float eps;
};

void apf_photo_job_free(apf_photo_job *job)
{
    if (!job)
        return;
    free(job->crops);
    free(job->reach);
    free(job->blob);
    free(job);
}

apf_status apf_photo_job_create(apf_probe *probe, apf_detector *detector, const apf_image *photo,
                                const apf_face *faces, int n_faces, apf_photo_job **out)
{
    if (!out)
        return apf_fail(APF_E_INVALID, "photo job: out is NULL");
    *out = NULL;
    if (!probe || !photo)
        return apf_fail(APF_E_INVALID, "photo job: probe and photo are required");
    if (faces ? n_faces < 0 : (n_faces != 0 || !detector))
        return apf_fail(APF_E_INVALID, "photo job: give faces (n_faces >= 0) or a detector");
    apf_photo_job *job = calloc(1, sizeof *job);
    if (!job)
        return apf_fail(APF_E_NOMEM, "photo job: out of memory");
    job->probe = probe;
    job->photo = photo;
    apf_probe_options po;
    apf_probe_options_init(&po);
    apf_status st = apf_probe_get_options(probe, &po);
    job->eps = po.eps;
    int keep_reach = !st && po.reach_budget;
    if (!st && faces) {
        job->found = n_faces;
        job->n = n_faces < APF_PHOTO_JOB_MAX_FACES ? n_faces : APF_PHOTO_JOB_MAX_FACES;
        memcpy(job->faces, faces, (size_t)job->n * sizeof *faces);
    } else if (!st) {
        int count = 0;
        st = apf_detect_faces(detector, photo, job->faces, APF_PHOTO_JOB_MAX_FACES, &count);
        job->found = count;
        job->n = count < APF_PHOTO_JOB_MAX_FACES ? count : APF_PHOTO_JOB_MAX_FACES;
    }
    if (!st && job->n > 0) {
        job->crops = malloc((size_t)job->n * FACE_BYTES);
        job->reach = keep_reach ? malloc((size_t)job->n * FACE_BYTES) : NULL;
        if (!job->crops || (keep_reach && !job->reach))
            st = apf_fail(APF_E_NOMEM, "photo job: out of memory for %d faces", job->n);
        for (int i = 0; !st && i < job->n; i++) {
            st = apf_face_align_matrix(&job->faces[i], job->to_image[i]);
            if (!st)
                st = apf_face_crop(photo, job->to_image[i], job->crops + (size_t)i * FACE_BYTES);
        }
        if (!st)
            st = apf_probe_gradient_blob_reach(probe, job->crops, NULL, job->n, APF_FACE_SIZE,
                                               &job->to_image[0][0], job->reach, &job->blob,
                                               &job->blob_size);
    }
    if (st) {
        apf_photo_job_free(job);
        return st;
    }
    *out = job;
    return APF_OK;
}

int apf_photo_job_faces_found(const apf_photo_job *job) { return job ? job->found : -1; }

int apf_photo_job_face_count(const apf_photo_job *job) { return job ? job->n : -1; }

apf_status apf_photo_job_face(const apf_photo_job *job, int i, apf_face *face)
{
    if (!job || !face || i < 0 || i >= job->n)
        return apf_fail(APF_E_INVALID, "photo job: no face %d", i);
    *face = job->faces[i];
    return APF_OK;
}

apf_status apf_photo_job_gradient_blob(const apf_photo_job *job, const void **blob, size_t *size)
{
    if (!job || !blob || !size)
        return apf_fail(APF_E_INVALID, "photo job: NULL argument");
    *blob = job->blob;
    *size = job->blob_size;
    return APF_OK;
}

apf_status apf_photo_job_apply(apf_photo_job *job, const void *blob, size_t size, unsigned keep,
                               apf_image **protected_photo)
{
    if (!protected_photo)
        return apf_fail(APF_E_INVALID, "photo job: protected_photo is NULL");
    *protected_photo = NULL;
    if (!job || !blob)
        return apf_fail(APF_E_INVALID, "photo job: NULL argument");
    if (job->n == 0)
        return apf_fail(APF_E_STATE, "photo job: the photo has no face to protect");
    apf_wire_info info;
    int8_t *noise = NULL;
    apf_status st = apf_wire_decode(blob, size, &info, &noise);
    if (st)
        return st;
    if (info.kind != APF_WIRE_NOISE || info.n != job->n || info.height != APF_FACE_SIZE ||
        info.width != APF_FACE_SIZE || info.channels != 3 || !(info.eps <= job->eps + 1e-3f)) {
        free(noise);
        return apf_fail(APF_E_FORMAT,
                        "photo job: the reply is not noise for these %d faces at %dx%d within eps %g "
                        "(kind %d, %d faces, %dx%d, eps %g)",
                        job->n, APF_FACE_SIZE, APF_FACE_SIZE, job->eps, (int)info.kind, info.n, info.height,
                        info.width, info.eps);
    }
    /* each face's own per-pixel budget (it never leaves the device) */
    st = apf_probe_limit_noise(job->probe, job->crops, job->n, APF_FACE_SIZE, noise);
    if (!st && job->reach)
        st = apf_limit_noise_to_reach(noise, job->reach, (size_t)job->n * FACE_BYTES);
    apf_image *out = NULL;
    int w = apf_image_width(job->photo), h = apf_image_height(job->photo);
    if (!st)
        st = apf_image_create(w, h, &out);
    if (!st)
        st = apf_image_copy_metadata_keep(out, job->photo, keep);
    if (!st) {
        memcpy(apf_image_pixels(out), apf_image_pixels_const(job->photo), (size_t)w * h * 3);
        for (int i = 0; !st && i < job->n; i++)
            st = apf_face_add_noise(out, job->photo, job->to_image[i], noise + (size_t)i * FACE_BYTES,
                                    job->eps);
    }
    free(noise);
    if (st) {
        apf_image_free(out);
        return st;
    }
    *protected_photo = out;
    return APF_OK;
}

apf_status apf_photo_job_crops(const apf_photo_job *job, int i, const apf_image *protected_photo,
                               uint8_t *original, uint8_t *protected_)
{
    if (!job || i < 0 || i >= job->n || (protected_ && !protected_photo))
        return apf_fail(APF_E_INVALID, "photo job: no face %d, or no protected photo to cut", i);
    if (original)
        memcpy(original, job->crops + (size_t)i * FACE_BYTES, FACE_BYTES);
    if (protected_)
        return apf_face_crop(protected_photo, job->to_image[i], protected_);
    return APF_OK;
}
