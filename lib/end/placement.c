/* Placement: the photo round trip R that a face's noise goes through
 * (placement.h). */
#include "placement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"

/* From this scale (photo pixels per aligned pixel) up, the photo's
 * grid is as fine as the crop's: the round trip keeps most of the noise
 * and R is left out. Modelling it there too gained 0-3 points on whole
 * photos at twice the crop's scale for 3.3x the time per photo (the
 * patch is larger than the crop; docs/app.md). */
#define PLACEMENT_MIN_SCALE 0.98

apf_status placement_check(const double *m)
{
    for (int k = 0; k < 6; k++)
        if (!isfinite(m[k]))
            return apf_fail(APF_E_INVALID, "probe: face placement matrix is not finite");
    if (!(fabs(m[0] * m[4] - m[1] * m[3]) > 1e-9))
        return apf_fail(APF_E_INVALID, "probe: face placement matrix is singular");
    return APF_OK;
}

apf_status placement_init(placement *pl, const double *m, int size)
{
    memset(pl, 0, sizeof *pl);
    pl->size = size;
    if (!m)
        return APF_OK;
    apf_status st = placement_check(m);
    if (st)
        return st;
    pl->placed = 1;
    double det = m[0] * m[4] - m[1] * m[3];
    if (sqrt(fabs(det)) >= PLACEMENT_MIN_SCALE)
        return APF_OK;
    /* the aligned square's bounding box in the photo: the patch */
    double lo[2], hi[2];
    apf_square_bounds(m, size, lo, hi);
    double ox = floor(lo[0]), oy = floor(lo[1]);
    pl->pw = (int)(ceil(hi[0]) - ox) + 1;
    pl->ph = (int)(ceil(hi[1]) - oy) + 1;
    memcpy(pl->to_patch, m, sizeof pl->to_patch);
    pl->to_patch[2] -= ox, pl->to_patch[5] -= oy;
    /* patch -> aligned */
    apf_affine_invert(pl->to_patch, pl->to_aligned);
    const double *a = pl->to_aligned;
    size_t px = (size_t)pl->pw * pl->ph;
    pl->fade = malloc(px * sizeof *pl->fade);
    pl->patch = malloc(px * 3 * sizeof *pl->patch);
    if (!pl->fade || !pl->patch) {
        placement_free(pl);
        return apf_fail(APF_E_NOMEM, "probe: out of memory");
    }
    for (int y = 0; y < pl->ph; y++)
        for (int x = 0; x < pl->pw; x++) {
            double u = a[0] * x + a[1] * y + a[2], v = a[3] * x + a[4] * y + a[5];
            pl->fade[(size_t)y * pl->pw + x] = (float)apf_edge_fade(u, v, size, APF_NOISE_FADE);
        }
    pl->active = 1;
    return APF_OK;
}

void placement_free(placement *pl)
{
    free(pl->fade);
    free(pl->patch);
    pl->fade = pl->patch = NULL;
    pl->active = pl->placed = 0;
}

static void apply_fade(placement *pl)
{
    size_t px = (size_t)pl->pw * pl->ph;
    for (size_t i = 0; i < px; i++)
        for (int c = 0; c < 3; c++)
            pl->patch[3 * i + c] *= pl->fade[i];
}

void placement_forward(placement *pl, const float *delta, float *out)
{
    int s = pl->size;
    if (!pl->active) {
        memcpy(out, delta, (size_t)s * s * 3 * sizeof *out);
        return;
    }
    /* into the photo: each patch pixel samples delta at its aligned position */
    apf_warp_affine((float *)delta, s, s, 3, pl->patch, pl->ph, pl->pw, pl->to_aligned, 0);
    apply_fade(pl);
    /* and back, as a recognizer re-aligns the photo */
    apf_warp_affine(pl->patch, pl->ph, pl->pw, 3, out, s, s, pl->to_patch, 0);
}

void placement_backward(placement *pl, const float *d_out, float *d_delta)
{
    int s = pl->size;
    size_t n = (size_t)s * s * 3;
    if (!pl->active) {
        memcpy(d_delta, d_out, n * sizeof *d_delta);
        return;
    }
    memset(pl->patch, 0, (size_t)pl->pw * pl->ph * 3 * sizeof *pl->patch);
    apf_warp_affine(pl->patch, pl->ph, pl->pw, 3, (float *)d_out, s, s, pl->to_patch, 1);
    apply_fade(pl);
    memset(d_delta, 0, n * sizeof *d_delta);
    apf_warp_affine(d_delta, s, s, 3, pl->patch, pl->ph, pl->pw, pl->to_aligned, 1);
}
