/* SWIG interface for the Go package's internal layer: the flat shim
 * (bindings/shim/apf_shim.h) with Go slices for arrays. Generate with
 *   go generate ./...   (runs swig -go -cgo -intgosize 64; see gen.go)
 * The public, idiomatic API is package apf (bindings/go/apf.go). */
%module capi

%insert(cgo_comment_typedefs) %{
#cgo pkg-config: apf
#cgo CFLAGS: -I${SRCDIR}/../../../shim
%}

%{
#include "apf_shim.h"
%}

%include "typemaps.i"

/* A (pointer, length) pair is one Go slice; cgo passes slices of plain
 * numbers without copying, and the shim checks the length. */
%define APF_SLICE(CTYPE, GOTYPE)
%typemap(gotype) (CTYPE *SLICE, int SLICE_LEN) "GOTYPE"
%typemap(in) (CTYPE *SLICE, int SLICE_LEN)
%{ $1 = ($1_ltype)$input.array; $2 = (int)$input.len; %}
%enddef
APF_SLICE(const unsigned char, []byte)
APF_SLICE(unsigned char, []byte)
APF_SLICE(const signed char, []int8)
APF_SLICE(signed char, []int8)
APF_SLICE(const float, []float32)
APF_SLICE(float, []float32)
APF_SLICE(const double, []float64)
APF_SLICE(double, []float64)
%apply (const double *SLICE, int SLICE_LEN) { (const double *m, int m_len) };
%apply (double *SLICE, int SLICE_LEN) { (double *matrix, int matrix_len) };
%apply (const float *SLICE, int SLICE_LEN) { (const float *face, int face_len) };
%apply (float *SLICE, int SLICE_LEN) { (float *faces, int faces_len) };
%apply int *OUTPUT { int *count };

%apply (const unsigned char *SLICE, int SLICE_LEN) {
    (const unsigned char *faces, int faces_len), (const unsigned char *enrolled, int enrolled_len),
    (const unsigned char *pixels, int pixels_len), (const unsigned char *blob, int blob_len),
    (const unsigned char *a, int a_len), (const unsigned char *b, int b_len),
    (const unsigned char *same, int same_len), (const unsigned char *original, int original_len),
    (const unsigned char *protected_, int protected_len), (const unsigned char *other, int other_len),
    (const unsigned char *reach, int reach_len)
};
%apply (unsigned char *SLICE, int SLICE_LEN) { (unsigned char *dst, int dst_len), (unsigned char *out, int out_len),
    (unsigned char *reach, int reach_len) };
%apply (const signed char *SLICE, int SLICE_LEN) { (const signed char *values, int values_len), (const signed char *g, int g_len) };
%apply (signed char *SLICE, int SLICE_LEN) { (signed char *g, int g_len), (signed char *dst, int dst_len) };
%apply (const float *SLICE, int SLICE_LEN) { (const float *faces, int faces_len), (const float *d_embedding, int d_embedding_len) };
%apply (float *SLICE, int SLICE_LEN) {
    (float *embedding, int embedding_len), (float *d_faces, int d_faces_len),
    (float *s, int s_len), (float *sim, int sim_len)
};
%apply int *OUTPUT { int *status, int *matched_before, int *matched_after };
%apply double *OUTPUT { double *ssim, double *accuracy, double *asr };
%apply float *OUTPUT { float *threshold, float *score };

%include "apf_shim.h"
