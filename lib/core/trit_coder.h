/* Context-modelling entropy coder for ternary maps (wire encoding 2).
 *
 * Why not zlib: a gradient sign map has almost no repeated byte strings,
 * but a value is well predicted by its neighbours (left, up, up-right in
 * the same channel, and the earlier channels of the same pixel). zlib
 * cannot use that; an adaptive binary range coder with those neighbours as
 * context can (docs/wire-format.md has the measured sizes).
 *
 * Values are NHWC with 3 channels, face after face; the model restarts at
 * every face, so a face costs the same bytes alone or in a batch.
 */
#ifndef APF_TRIT_CODER_H
#define APF_TRIT_CODER_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define trit_encode apf__trit_encode
#define trit_decode apf__trit_decode

/* Encode n faces of h x w x 3 values in {-1, 0, 1} into a new malloc'd
 * buffer. Returns APF_OK or APF_E_NOMEM (values are assumed checked). */
APF_PRIVATE apf_status trit_encode(const int8_t *values, int n, int h, int w, uint8_t **out,
                                   size_t *out_size);

/* Decode exactly n*h*w*3 values from in[0..size). Fails with APF_E_FORMAT
 * when the stream ends early or leaves bytes unread. */
APF_PRIVATE apf_status trit_decode(const uint8_t *in, size_t size, int n, int h, int w,
                                   int8_t *values);

#endif
