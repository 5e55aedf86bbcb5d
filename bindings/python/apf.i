/* SWIG interface for the Python module `apf`: the flat shim (apf_shim.h)
 * with numpy typemaps, and the Pythonic layer (classes, exceptions,
 * context managers) in apf_python.py, appended to the generated module. */
%module(docstring="libapf: protect face photos from face recognition (APF, ACM MM 2020).") apf

%{
#define SWIG_FILE_WITH_INIT
#include "apf_shim.h"
%}

/* libgomp reads its wait settings once, when it loads, which for Python is
 * when this extension (or another library using libgomp) is imported. Idle
 * threads that spin for libgomp's default 300,000 rounds take the CPU the
 * working thread needs beside busy neighbours; 100,000 keeps the quiet speed
 * and halves the loaded slowdown (docs/performance.md). A user's own setting
 * is kept; with libgomp already loaded by something else, this changes
 * nothing (set GOMP_SPINCOUNT before starting Python then). */
%pythonbegin %{
import os as _os
if "GOMP_SPINCOUNT" not in _os.environ and "OMP_WAIT_POLICY" not in _os.environ \
        and "APF_KEEP_WAIT_POLICY" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "100000"
%}

%include "numpy.i"
%include "typemaps.i"

%init %{
import_array();
%}

/* Flat names stay private (leading underscore); the classes below are the API. */
%rename("%(regex:/^apfs_(.*)$/_c_\\1/)s", regextarget=1) "^apfs_";

%apply (unsigned char *IN_ARRAY1, int DIM1) {
    (const unsigned char *faces, int faces_len), (const unsigned char *enrolled, int enrolled_len),
    (const unsigned char *pixels, int pixels_len), (const unsigned char *blob, int blob_len),
    (const unsigned char *a, int a_len), (const unsigned char *b, int b_len),
    (const unsigned char *same, int same_len), (const unsigned char *original, int original_len),
    (const unsigned char *protected_, int protected_len), (const unsigned char *other, int other_len),
    (const unsigned char *reach, int reach_len)
};
%apply (double *IN_ARRAY1, int DIM1) { (const double *m, int m_len) };
%apply (double *INPLACE_ARRAY1, int DIM1) { (double *matrix, int matrix_len) };
%apply (float *IN_ARRAY1, int DIM1) { (const float *face, int face_len) };
%apply (float *INPLACE_ARRAY1, int DIM1) { (float *faces, int faces_len) };
%apply int *OUTPUT { int *count };
%apply (signed char *IN_ARRAY1, int DIM1) {
    (const signed char *values, int values_len), (const signed char *g, int g_len)
};
%apply (float *IN_ARRAY1, int DIM1) {
    (const float *faces, int faces_len), (const float *d_embedding, int d_embedding_len)
};
%apply (unsigned char *INPLACE_ARRAY1, int DIM1) {
    (unsigned char *dst, int dst_len), (unsigned char *out, int out_len),
    (unsigned char *reach, int reach_len)
};
%apply (signed char *INPLACE_ARRAY1, int DIM1) {
    (signed char *g, int g_len), (signed char *dst, int dst_len)
};
%apply (float *INPLACE_ARRAY1, int DIM1) {
    (float *embedding, int embedding_len), (float *d_faces, int d_faces_len),
    (float *s, int s_len), (float *sim, int sim_len)
};
%apply int *OUTPUT { int *status, int *matched_before, int *matched_after };
%apply double *OUTPUT { double *ssim, double *accuracy, double *asr };
%apply float *OUTPUT { float *threshold, float *score };

%include "apf_shim.h"

%pythoncode "apf_python.py"
