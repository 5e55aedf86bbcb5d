/* One bilinear sample of an 8-bit RGB photo: what the aligned crop
 * (apf_face_crop, face.c) and the face check's crop (face_check.c) read. */
#ifndef APF_PHOTO_BILINEAR_H
#define APF_PHOTO_BILINEAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* The W x H image px sampled at (x, y), pixel centres at integers; black
 * outside. */
static inline void bilinear_rgb(const uint8_t *px, int W, int H, double x, double y, float out[3])
{
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double ax = x - x0, ay = y - y0;
    out[0] = out[1] = out[2] = 0;
    for (int j = 0; j < 4; j++) {
        int xx = x0 + (j & 1), yy = y0 + (j >> 1);
        if (xx < 0 || yy < 0 || xx >= W || yy >= H)
            continue;
        double w = ((j & 1) ? ax : 1 - ax) * ((j >> 1) ? ay : 1 - ay);
        for (int c = 0; c < 3; c++)
            out[c] += (float)(w * px[((size_t)yy * W + xx) * 3 + c]);
    }
}

#endif
