/* apf_ssim: the core's SSIM (lib/core/ssim.c), which the probe's SSIM
 * floor uses too, so both report the same number. */
#include "apf/apf_eval.h"
#include "../core/internal.h"

apf_status apf_ssim(const uint8_t *a, const uint8_t *b, int w, int h, double *ssim, double per[3])
{
    return apf_image_ssim(a, b, w, h, ssim, per);
}
