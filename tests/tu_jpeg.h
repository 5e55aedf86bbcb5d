/* A face through a real JPEG file and back (libapf-photo's encoder and
 * decoder), for the suites that check what survives re-encoding. */
#ifndef APF_TU_JPEG_H
#define APF_TU_JPEG_H

#include <stdint.h>

/* side x side RGB bytes -> JPEG at quality -> decoded, as floats in out
 * (side * side * 3). Fails the running test if either step fails. */
void tu_jpeg_round_trip(const uint8_t *rgb, int side, int quality, float *out);

#endif
