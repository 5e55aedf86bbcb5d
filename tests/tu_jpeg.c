#include "tu_jpeg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_photo.h"

void tu_jpeg_round_trip(const uint8_t *rgb, int side, int quality, float *out)
{
    size_t n = (size_t)side * side * 3;
    apf_image *im, *back;
    void *buf;
    size_t len;
    ck_assert_int_eq(apf_image_create(side, side, &im), APF_OK);
    memcpy(apf_image_pixels(im), rgb, n);
    ck_assert_int_eq(apf_image_encode_jpeg(im, quality, &buf, &len), APF_OK);
    ck_assert_int_eq(apf_image_decode(buf, len, &back), APF_OK);
    ck_assert_int_eq(apf_image_width(back), side);
    const uint8_t *px = apf_image_pixels(back);
    for (size_t i = 0; i < n; i++)
        out[i] = px[i];
    apf_image_free(im), apf_image_free(back);
    free(buf);
}
