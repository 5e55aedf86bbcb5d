/* Internal helpers shared by every libapf library. Not installed. */
#ifndef APF_INTERNAL_H
#define APF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "apf/apf_core.h"

#define APF_HIDDEN __attribute__((visibility("hidden")))
/* Internal functions the end, cloud and eval libraries call in libapf-core.
 * Exported under the apf__ prefix, declared in no public header and not part
 * of the stable ABI (docs/abi.md): one copy of the core serves every half. */
#define APF_PRIVATE __attribute__((visibility("default")))

/* Record a message for apf_last_error() and return the status, so call
 * sites read `return apf_fail(APF_E_FORMAT, "bad %s", what);`.
 * Exported from libapf-core under the private name apf__fail (in no public
 * header) so the end and cloud libraries share the one thread-local
 * message rather than each keeping its own. */
#define apf_fail apf__fail
__attribute__((visibility("default"))) apf_status apf__fail(apf_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Overflow-checked size arithmetic: return 0 and set *out, or -1. */
static inline int apf_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

#define apf_read_file apf__read_file
/* Read a regular file of at most max bytes into a malloc'd buffer; errors
 * name `what` ("model", "image") and the path. */
APF_PRIVATE apf_status apf_read_file(const char *path, size_t max, const char *what, uint8_t **data,
                                     size_t *size);

#define apf_calloc apf__calloc
#define apf_has_nonfinite apf__has_nonfinite
#define apf_use_threads apf__use_threads
/* calloc of n*size bytes with overflow check; NULL on failure. */
APF_PRIVATE void *apf_calloc(size_t n, size_t size);

/* Nonzero when any of n floats is NaN or infinite. */
APF_PRIVATE int apf_has_nonfinite(const float *x, size_t n);

/* A handle's thread count for the duration of one call: apf_use_threads
 * sets the calling thread's OpenMP thread count when threads > 0 and
 * returns what it was (0 when it did not change it); apf_restore_threads
 * puts that back before the call returns, so a caller's own OpenMP setting
 * survives every libapf call. */
APF_PRIVATE int apf_use_threads(int threads);
#define apf_restore_threads apf__restore_threads
APF_PRIVATE void apf_restore_threads(int previous);

#define apf_flush_denormals_enter apf__flush_denormals_enter
#define apf_flush_denormals_leave apf__flush_denormals_leave
/* For the length of one call, the calling thread and its OpenMP team
 * (whose size the caller set first, apf_use_threads) flush denormal floats
 * to zero; leave, with the same team size, gives each thread its own mode
 * back. Nests. Why: fp_mode.c. */
APF_PRIVATE void apf_flush_denormals_enter(void);
APF_PRIVATE void apf_flush_denormals_leave(void);

#define apf_edge_fade apf__edge_fade
/* The weight of a face's noise at aligned position (u, v) of a size x size
 * square: 1 inside, falling smoothly (smoothstep) to 0 over the outer band
 * pixels, 0 outside. One definition for the photo library, which applies
 * the noise, and the probe, which optimises through that step. */
APF_PRIVATE double apf_edge_fade(double u, double v, int size, int band);
#define apf_image_ssim apf__image_ssim
/* SSIM of two w x h RGB images as apf_ssim() documents it (mean over the
 * channels; per[3] may be NULL). */
APF_PRIVATE apf_status apf_image_ssim(const uint8_t *a, const uint8_t *b, int w, int h, double *ssim,
                                      double per[3]);
#define apf_affine_invert apf__affine_invert
#define apf_square_bounds apf__square_bounds
/* inv = the inverse of the 2x3 affine m (m must not be singular). */
APF_PRIVATE void apf_affine_invert(const double m[6], double inv[6]);
/* The bounding box (lo, hi) of a size x size square's corner pixels under
 * m: where an aligned face lands in its photo. */
APF_PRIVATE void apf_square_bounds(const double m[6], int size, double lo[2], double hi[2]);
/* The band the photo library fades a face's noise over (APF_FACE_FADE in
 * apf_face.h, which the core and the halves do not include). */
#define APF_NOISE_FADE 8

/* Fuzz builds (tests/fuzz/run.sh defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
 * the libFuzzer convention) accept bad checksums so mutated inputs reach the
 * parsers behind them instead of all stopping at the CRC. Never set in a real
 * build; `meson test` checks checksums are enforced. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define APF_CHECKSUM_BAD(ok) ((void)(ok), 0)
#else
#define APF_CHECKSUM_BAD(ok) (!(ok))
#endif

#endif
