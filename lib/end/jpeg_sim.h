/* What JPEG recompression does to a face, without the file: colour to
 * YCbCr, chroma halved in both directions, 8x8 DCT, the standard tables'
 * quantisation at a quality, and back. The probe shows a recognizer some
 * of its input-diversity draws through it, so that the attack aims at
 * what survives a photo's re-encoding; the gradient passes straight
 * through (the rounding has none worth following). No entropy coding: it
 * is lossless, so it changes nothing a recognizer sees. */
#ifndef APF_END_JPEG_SIM_H
#define APF_END_JPEG_SIM_H

/* img: size x size x 3 RGB, 0..255 floats, replaced by its round trip.
 * quality 1..100 as libjpeg's; scratch: 3 * size * size floats. On CPUs
 * with AVX2 an eight-lane build of the same code runs (about 2.7 times as
 * fast at 112 pixels); it gives the same bits. */
void jpeg_sim(float *img, int size, int quality, float *scratch);
/* The same without the AVX2 build (for the test that both give the same
 * bits). */
void jpeg_sim_baseline(float *img, int size, int quality, float *scratch);

#endif
