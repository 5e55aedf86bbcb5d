/* Which kernel taps of a convolution reach each input coordinate, along one
 * axis: the tables behind the gathers that compute backward-to-input in C
 * (col2im.c, dw_adjoint.c). Made once per layer, so their inner loops have
 * no division or bounds test. */
#ifndef APF_CONV_TAPS_H
#define APF_CONV_TAPS_H

#define conv_taps_make apf__conv_taps_make
#define conv_taps_free apf__conv_taps_free

typedef struct conv_taps {
    int kmax;   /* slots per input coordinate: the kernel size */
    int *n;     /* per input coordinate: how many taps reach it */
    int *k, *o; /* per input coordinate, kmax slots each: tap and output coordinate */
} conv_taps;

/* For an axis of `len` inputs, kernel size k, and stride, leading pad,
 * dilation and output length: the taps k whose output coordinate
 * o = (i + pad - k * dil) / stride is whole and in range. 0, or -1 when out
 * of memory (free with conv_taps_free either way). */
int conv_taps_make(conv_taps *t, int len, int k, int stride, int pad, int dil, int out);
void conv_taps_free(conv_taps *t);

#endif
