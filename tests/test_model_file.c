/* .apfm loading: real files load; corrupt, truncated and hostile ones are
 * rejected with the right status and never crash. */
#include <check.h>
#include <omp.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "apf/apf_photo.h"
#include "testutil.h"

static uint8_t *good;
static size_t good_size;

static void setup(void)
{
    good = tu_read_file(tu_path(tu_models_dir(), "mobileface.apfm"), &good_size);
    ck_assert_msg(good != NULL, "models/mobileface.apfm missing: run tools/setup-models.sh");
}
static void teardown(void) { free(good); }

static apf_status try_load(const void *d, size_t n)
{
    apf_model *m = (apf_model *)0x1;
    apf_status st = apf_model_load_memory(d, n, &m);
    if (st == APF_OK)
        apf_model_free(m);
    else
        ck_assert_ptr_null(m);
    return st;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}
static void fix_header_crc(uint8_t *d) { put32(d + 84, (uint32_t)crc32(0, d, 84)); }

START_TEST(real_model_loads)
{
    apf_model *m;
    ck_assert_int_eq(apf_model_load_memory(good, good_size, &m), APF_OK);
    ck_assert_str_eq(apf_model_name(m), "mobileface");
    ck_assert_int_eq(apf_model_input_size(m), 112);
    ck_assert_int_eq(apf_model_embedding_dim(m), 256);
    apf_model_free(m);
}
END_TEST

/* A handle's thread count holds for its own calls only: the caller's
 * OpenMP setting on its thread is what it was after every call. */
START_TEST(calls_keep_the_callers_thread_count)
{
    apf_model *m;
    ck_assert_int_eq(apf_model_load_memory(good, good_size, &m), APF_OK);
    ck_assert_int_eq(apf_model_set_threads(m, 1), APF_OK);
    omp_set_num_threads(3);
    float *x = calloc(112 * 112 * 3, sizeof(float)), e[256], d[112 * 112 * 3];
    for (int i = 0; i < 112 * 112 * 3; i++)
        x[i] = (float)(i % 251);
    ck_assert_int_eq(apf_model_embed(m, x, 1, 112, e), APF_OK);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    for (int i = 0; i < 256; i++)
        e[i] = 1.0f;
    ck_assert_int_eq(apf_model_embed_backward(m, x, 1, 112, NULL, NULL, e, NULL, d), APF_OK);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    apf_model_free(m);
    free(x);
}
END_TEST

#if defined(__SSE2__)
enum { FTZ_DAZ = 0x8040 };

/* The OpenMP threads of a 2-thread team, each: 1 when its MXCSR flushes
 * denormals (FTZ and DAZ both set), 0 when neither is, -1 when mixed. */
static int team_flushes(void)
{
    int all = 1, none = 1;
#pragma omp parallel num_threads(2) reduction(&& : all, none)
    {
        unsigned bits = _mm_getcsr() & FTZ_DAZ;
        all = bits == FTZ_DAZ;
        none = bits == 0;
    }
    return all ? 1 : none ? 0 : -1;
}

static int flush_seen_in_call = -2;

/* Runs inside apf_model_embed_backward: records how the team computes
 * there, then asks for the gradient of the embedding's first value. */
static int record_mode(const float *e, int n, int dim, float *de, void *user)
{
    (void)e, (void)user;
    flush_seen_in_call = team_flushes();
    memset(de, 0, (size_t)n * dim * sizeof(float));
    de[0] = 1.0f;
    return 0;
}

/* Denormals are flushed inside a call (fp_mode.c: mobileface makes them,
 * and they cost Intel cores 2x), on the calling thread and its team, and
 * the caller's own mode, whichever it was, is back on every thread after. */
START_TEST(calls_flush_denormals_and_restore_the_callers_mode)
{
    apf_model *m;
    ck_assert_int_eq(apf_model_load_memory(good, good_size, &m), APF_OK);
    ck_assert_int_eq(apf_model_set_threads(m, 2), APF_OK);
    float *x = calloc(112 * 112 * 3, sizeof(float)), *d = malloc(112 * 112 * 3 * sizeof(float)), e[256];
    for (int i = 0; i < 112 * 112 * 3; i++)
        x[i] = (float)(i % 251);
    unsigned start = _mm_getcsr();
    /* valgrind keeps no FTZ / DAZ: there every thread reads 0 throughout */
    _mm_setcsr(start | FTZ_DAZ);
    int can_flush = (_mm_getcsr() & FTZ_DAZ) == FTZ_DAZ;
    _mm_setcsr(start);
    for (int caller_flushes = 0; caller_flushes < 2; caller_flushes++) {
        int want = caller_flushes && can_flush;
#pragma omp parallel num_threads(2)
        _mm_setcsr(caller_flushes ? (_mm_getcsr() | FTZ_DAZ) : (_mm_getcsr() & ~(unsigned)FTZ_DAZ));
        ck_assert_int_eq(team_flushes(), want);
        flush_seen_in_call = -2;
        ck_assert_int_eq(apf_model_embed_backward(m, x, 1, 112, e, record_mode, NULL, NULL, d), APF_OK);
        ck_assert_int_eq(flush_seen_in_call, can_flush);
        ck_assert_int_eq(team_flushes(), want);
        ck_assert_int_eq(apf_model_embed(m, x, 1, 112, e), APF_OK);
        ck_assert_int_eq(team_flushes(), want);
    }
#pragma omp parallel num_threads(2)
    _mm_setcsr((_mm_getcsr() & ~(unsigned)FTZ_DAZ) | (start & FTZ_DAZ));
    apf_model_free(m);
    free(x);
    free(d);
}
END_TEST
#endif

START_TEST(truncations_rejected)
{
    size_t cuts[] = {0, 1, 4, 50, 95, 96, 97, 1000, good_size / 2, good_size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        apf_status st = try_load(good, cuts[k]);
        ck_assert_msg(st == APF_E_FORMAT, "cut at %zu gave %d", cuts[k], st);
        ck_assert_str_ne(apf_last_error(), "");
    }
}
END_TEST

START_TEST(bit_flips_rejected)
{
    uint8_t *d = malloc(good_size);
    size_t spots[] = {0, 5, 12, 20, 40, 60, 70, 90, 200, good_size / 3, good_size - 2};
    for (size_t k = 0; k < sizeof spots / sizeof spots[0]; k++) {
        memcpy(d, good, good_size);
        d[spots[k]] ^= 0x10;
        apf_status st = try_load(d, good_size);
        ck_assert_msg(st != APF_OK, "flip at %zu accepted", spots[k]);
    }
    /* a flipped header byte is caught by the header checksum */
    memcpy(d, good, good_size);
    d[20] ^= 1;
    ck_assert_int_eq(try_load(d, good_size), APF_E_CHECKSUM);
    free(d);
}
END_TEST

START_TEST(wrong_magic_and_version)
{
    uint8_t *d = malloc(good_size);
    memcpy(d, good, good_size);
    memcpy(d, "GIF8", 4);
    ck_assert_int_eq(try_load(d, good_size), APF_E_FORMAT);
    memcpy(d, good, good_size);
    d[4] = 2; /* major version 2 */
    fix_header_crc(d);
    ck_assert_int_eq(try_load(d, good_size), APF_E_UNSUPPORTED);
    free(d);
}
END_TEST

START_TEST(trailing_bytes_rejected)
{
    uint8_t *d = malloc(good_size + 8);
    memcpy(d, good, good_size);
    memset(d + good_size, 0, 8);
    ck_assert_int_eq(try_load(d, good_size + 8), APF_E_FORMAT);
    free(d);
}
END_TEST

/* Build a file from a raw payload with valid checksums: what a hostile
 * author would do. */
static uint8_t *craft(const uint8_t *raw, size_t raw_n, uint64_t declared_raw, uint32_t n_nodes,
                      size_t *out_n)
{
    uLongf cn = compressBound(raw_n);
    uint8_t *d = calloc(1, 96 + cn);
    compress2(d + 96, &cn, raw, raw_n, 9);
    memcpy(d, good, 96);
    put32(d + 12, n_nodes);
    put64(d + 64, declared_raw);
    put64(d + 72, cn);
    put32(d + 80, (uint32_t)crc32(0, raw, raw_n));
    fix_header_crc(d);
    *out_n = 96 + cn;
    return d;
}

/* Inflate the real payload so tests can edit it. */
static uint8_t *payload(size_t *n)
{
    uint64_t raw = 0, comp = 0;
    for (int k = 7; k >= 0; k--) {
        raw = raw << 8 | good[64 + k];
        comp = comp << 8 | good[72 + k];
    }
    uLongf rn = raw;
    uint8_t *p = malloc(rn);
    ck_assert_int_eq(uncompress(p, &rn, good + 96, comp), Z_OK);
    *n = rn;
    return p;
}

START_TEST(crafted_payloads_rejected)
{
    size_t n, fn;
    uint8_t *p = payload(&n), *f;
    uint32_t nodes = good[12] | good[13] << 8;
    /* sanity: re-crafting the untouched payload loads */
    f = craft(p, n, n, nodes, &fn);
    ck_assert_int_eq(try_load(f, fn), APF_OK);
    free(f);
    size_t node1 = 4 + strlen("mobileface") + 108; /* name, then the input node's record */
    struct { size_t off; uint32_t val; apf_status want; } edits[] = {
        {node1 + 0, 99, APF_E_UNSUPPORTED},      /* unknown op */
        {node1 + 4, 7, APF_E_FORMAT},            /* input from the future */
        {node1 + 4, (uint32_t)-5, APF_E_FORMAT}, /* negative input */
        {node1 + 92, 100000, APF_E_FORMAT},      /* absurd height */
        {node1 + 104, 3, APF_E_FORMAT},          /* three tensors */
        {node1 + 108, 0x7fffffff, APF_E_FORMAT}, /* tensor longer than the payload */
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        uint8_t *q = malloc(n);
        memcpy(q, p, n);
        put32(q + edits[k].off, edits[k].val);
        f = craft(q, n, n, nodes, &fn);
        apf_status st = try_load(f, fn);
        ck_assert_msg(st == edits[k].want, "edit %zu: got %d (%s)", k, st, apf_last_error());
        free(f);
        free(q);
    }
    /* a second input node, whose "input" is -1: found by fuzz_model, it
     * read the node before the array */
    {
        uint8_t *q = malloc(n);
        memcpy(q, p, n);
        put32(q + node1 + 0, 0);
        put32(q + node1 + 4, (uint32_t)-1);
        f = craft(q, n, n, nodes, &fn);
        apf_status st = try_load(f, fn);
        ck_assert_msg(st == APF_E_FORMAT && strstr(apf_last_error(), "second input"), "second input: got %d (%s)",
                      st, apf_last_error());
        free(f);
        free(q);
    }
    /* decompression bomb: the stream inflates past the declared size */
    f = craft(p, n, n / 2, nodes, &fn);
    ck_assert_int_eq(try_load(f, fn), APF_E_FORMAT);
    free(f);
    /* declared size over the limit */
    f = craft(p, n, (uint64_t)1 << 40, nodes, &fn);
    ck_assert_int_eq(try_load(f, fn), APF_E_LIMIT);
    free(f);
    /* node count lies */
    f = craft(p, n, n, nodes + 1, &fn);
    ck_assert_int_eq(try_load(f, fn), APF_E_FORMAT);
    free(f);
    f = craft(p, n, n, 1u << 30, &fn);
    ck_assert_int_eq(try_load(f, fn), APF_E_LIMIT);
    free(f);
    /* NaN in the weights */
    {
        uint8_t *q = malloc(n);
        memcpy(q, p, n);
        float nan = NAN;
        memcpy(q + n - 16, &nan, 4); /* inside the last tensor (before the 8-byte output list) */
        f = craft(q, n, n, nodes, &fn);
        ck_assert_int_eq(try_load(f, fn), APF_E_NUMERIC);
        free(f);
        free(q);
    }
    free(p);
}
END_TEST

START_TEST(file_errors)
{
    apf_model *m = NULL;
    ck_assert_int_eq(apf_model_load("/nonexistent/x.apfm", &m), APF_E_IO);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(apf_model_load(NULL, &m), APF_E_INVALID);
    ck_assert_int_eq(apf_model_load("x", NULL), APF_E_INVALID);
    ck_assert_int_eq(apf_model_load_memory(NULL, 10, &m), APF_E_INVALID);
    ck_assert_int_eq(apf_model_load("/", &m), APF_E_IO);
}
END_TEST

START_TEST(model_calls_validate_arguments)
{
    apf_model *m;
    ck_assert_int_eq(apf_model_load_memory(good, good_size, &m), APF_OK);
    float face[112 * 112 * 3] = {0}, e[256], d[112 * 112 * 3];
    ck_assert_int_eq(apf_model_embed(NULL, face, 1, 112, e), APF_E_INVALID);
    ck_assert_int_eq(apf_model_embed(m, NULL, 1, 112, e), APF_E_INVALID);
    ck_assert_int_eq(apf_model_embed(m, face, 0, 112, e), APF_E_INVALID);
    ck_assert_int_eq(apf_model_embed(m, face, 1, 8, e), APF_E_INVALID);
    ck_assert_int_eq(apf_model_embed(m, face, 1 << 20, 112, e), APF_E_INVALID);
    ck_assert_int_eq(apf_model_embed(m, face, 1, 112, NULL), APF_E_INVALID);
    face[77] = NAN;
    ck_assert_int_eq(apf_model_embed(m, face, 1, 112, e), APF_E_NUMERIC);
    face[77] = INFINITY;
    ck_assert_int_eq(apf_model_embed_backward(m, face, 1, 112, e, NULL, e, NULL, d), APF_E_NUMERIC);
    face[77] = 0;
    ck_assert_int_eq(apf_model_backward_raw(m, e, 1, d), APF_E_STATE);
    ck_assert_int_eq(apf_model_set_threads(m, 0), APF_E_INVALID);
    ck_assert_int_eq(apf_model_set_threads(NULL, 2), APF_E_INVALID);
    ck_assert_int_eq(apf_model_input_size(NULL), 0);
    ck_assert_str_eq(apf_model_name(NULL), "");
    apf_model_free(NULL);
    apf_model_free(m);
}
END_TEST

START_TEST(embed_backward_matches_fd)
{
    /* End to end through resize (112 -> 224) and BGR/mean preprocessing. */
    apf_model *m;
    /* faceres: resize 112->224 and BGR/mean preprocessing; its ReLU6 net is
     * strongly piecewise, so the step is small. face-api: resize to 150. */
    static const char *files[] = {"faceres.apfm", "faceapi-recognition.apfm"};
    static const float steps[] = {0.02f, 0.1f};
    const char *file = files[_i];
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), file), &m), APF_OK);
    apf_model_set_threads(m, 2);
    int dim = apf_model_embedding_dim(m), sz = 112;
    size_t n = (size_t)sz * sz * 3;
    float *x = malloc(n * 4), *dx = malloc(n * 4), *u = malloc(n * 4), *xp = malloc(n * 4);
    float *e = malloc(dim * 4), *w = malloc(dim * 4);
    unsigned r = 7;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = 60.0f + (float)((i / 3) % sz) + 40.0f * (float)((r >> 16) & 0xff) / 255.0f;
    }
    for (int k = 0; k < dim; k++)
        w[k] = (float)((k * 37) % 11) / 11.0f - 0.5f;
    ck_assert_int_eq(apf_model_embed_backward(m, x, 1, sz, e, NULL, w, NULL, dx), APF_OK);
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        u[i] = (float)((r >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    double an = 0;
    for (size_t i = 0; i < n; i++)
        an += (double)dx[i] * u[i];
    double L[2];
    const float h = steps[_i]; /* pixel units */
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < n; i++)
            xp[i] = x[i] + (s ? -h : h) * u[i];
        ck_assert_int_eq(apf_model_embed(m, xp, 1, sz, e), APF_OK);
        L[s] = 0;
        for (int k = 0; k < dim; k++)
            L[s] += (double)w[k] * e[k];
    }
    double fd = (L[0] - L[1]) / (2 * h);
    ck_assert_msg(fabs(fd - an) <= 0.05 * fabs(an) + 1e-6, "fd %g vs analytic %g", fd, an);
    free(x), free(dx), free(u), free(xp), free(e), free(w);
    apf_model_free(m);
}
END_TEST

START_TEST(blazeface_detector_outputs)
{
    /* The imported detector: four heads; a real face photo scores far
     * higher than a blank image on the best anchor. */
    apf_model *m;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "blazeface.apfm"), &m), APF_OK);
    ck_assert_int_eq(apf_model_output_count(m), 4);
    int h, w, c, total_scores = 0;
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(apf_model_output_shape(m, k, &h, &w, &c), APF_OK);
        if (c == 2 || c == 6)
            total_scores += h * w * c;
    }
    ck_assert_int_eq(total_scores, 16 * 16 * 2 + 8 * 8 * 6); /* 896 anchors */
    float emb[4];
    float face[112 * 112 * 3] = {0};
    ck_assert_int_eq(apf_model_embed(m, face, 1, 112, emb), APF_E_INVALID); /* not a recognizer */
    apf_image *im;
    const char *photo = tu_path(tu_shared_dir(), "data/lfw/photos150/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    ck_assert_int_eq(apf_image_load(photo, &im), APF_OK);
    int S = apf_model_input_size(m);
    float *src = malloc(150 * 150 * 3 * 4), *in = malloc((size_t)S * S * 3 * 4);
    for (int i = 0; i < 150 * 150 * 3; i++)
        src[i] = apf_image_pixels(im)[i];
    ck_assert_int_eq(apf_resize(src, 150, 150, 3, in, S, S, 0), APF_OK);
    for (int i = 0; i < S * S * 3; i++)
        in[i] = (in[i] - 127.5f) / 127.5f;
    float *outs[4];
    float best[2] = {-1e30f, -1e30f};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (int i = 0; i < S * S * 3; i++)
                in[i] = 0.0f; /* mid-grey */
        for (int k = 0; k < 4; k++) {
            apf_model_output_shape(m, k, &h, &w, &c);
            outs[k] = malloc((size_t)h * w * c * 4);
        }
        ck_assert_int_eq(apf_model_forward_outputs(m, in, 1, outs), APF_OK);
        for (int k = 0; k < 4; k++) {
            apf_model_output_shape(m, k, &h, &w, &c);
            if (c == 2 || c == 6)
                for (int i = 0; i < h * w * c; i++)
                    best[pass] = fmaxf(best[pass], outs[k][i]);
            free(outs[k]);
        }
    }
    /* sigmoid(logit) > 0.5 is a detection: the face is found, the blank is not */
    ck_assert_msg(best[0] > 1.0f && best[1] < -1.0f, "face logit %.2f, blank %.2f", best[0], best[1]);
    free(src), free(in);
    apf_image_free(im);
    apf_model_free(m);
}
END_TEST

/* A handle may be called from any thread. Two models planned on this
 * thread (their oneDNN primitives made here), then run side by side from
 * two other threads, many times: every embedding and input gradient is the
 * same bits as on this thread alone. (oneDNN's library-managed scratchpad
 * is one buffer per thread shared by every primitive made on it; with it,
 * primitives made here and run on two threads at once would share it.) */
#define MOVE_ROUNDS 12
typedef struct move_job {
    apf_model *m;
    const float *face;
    const float *want_e, *want_d;
    int dim, same;
} move_job;

static void *move_run(void *arg)
{
    move_job *j = arg;
    size_t n = 112 * 112 * 3;
    float *e = malloc((size_t)j->dim * 4), *d = malloc(n * 4), *w = malloc((size_t)j->dim * 4);
    j->same = e && d && w;
    for (int k = 0; k < j->dim && j->same; k++)
        w[k] = (float)((k * 37) % 11) / 11.0f - 0.5f;
    for (int r = 0; r < MOVE_ROUNDS && j->same; r++) {
        j->same = apf_model_embed_backward(j->m, j->face, 1, 112, e, NULL, w, NULL, d) == APF_OK &&
                  !memcmp(e, j->want_e, (size_t)j->dim * 4) && !memcmp(d, j->want_d, n * 4);
    }
    free(e), free(d), free(w);
    return NULL;
}

START_TEST(handles_run_on_other_threads_side_by_side)
{
    static const char *files[2] = {"mobilefacenet.apfm", "faceapi-recognition.apfm"};
    size_t n = 112 * 112 * 3;
    float *face = malloc(n * 4);
    unsigned r = 11;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        face[i] = 40.0f + (float)((i / 3) % 112) + 60.0f * (float)((r >> 16) & 0xff) / 255.0f;
    }
    apf_model *m[2];
    move_job job[2];
    float *want[2][2];
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), files[k]), &m[k]), APF_OK);
        ck_assert_int_eq(apf_model_set_threads(m[k], 2), APF_OK);
        int dim = apf_model_embedding_dim(m[k]);
        want[k][0] = malloc((size_t)dim * 4), want[k][1] = malloc(n * 4);
        float *w = malloc((size_t)dim * 4);
        for (int i = 0; i < dim; i++)
            w[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
        ck_assert_int_eq(apf_model_embed_backward(m[k], face, 1, 112, want[k][0], NULL, w, NULL, want[k][1]),
                         APF_OK);
        free(w);
        job[k] = (move_job){m[k], face, want[k][0], want[k][1], dim, 0};
    }
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(pthread_create(&t[k], NULL, move_run, &job[k]), 0);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < 2; k++) {
        ck_assert_msg(job[k].same, "%s: another thread's result differs", files[k]);
        apf_model_free(m[k]);
        free(want[k][0]), free(want[k][1]);
    }
    free(face);
}
END_TEST

Suite *model_file_suite(void)
{
    Suite *s = suite_create("model_file");
    TCase *t = tcase_create("apfm");
    tcase_set_timeout(t, 300);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, real_model_loads);
    tcase_add_test(t, calls_keep_the_callers_thread_count);
    tcase_add_test(t, handles_run_on_other_threads_side_by_side);
#if defined(__SSE2__)
    tcase_add_test(t, calls_flush_denormals_and_restore_the_callers_mode);
#endif
    tcase_add_test(t, truncations_rejected);
    tcase_add_test(t, bit_flips_rejected);
    tcase_add_test(t, wrong_magic_and_version);
    tcase_add_test(t, trailing_bytes_rejected);
    tcase_add_test(t, crafted_payloads_rejected);
    tcase_add_test(t, file_errors);
    tcase_add_test(t, model_calls_validate_arguments);
    tcase_add_loop_test(t, embed_backward_matches_fd, 0, 2);
    tcase_add_test(t, blazeface_detector_outputs);
    suite_add_tcase(s, t);
    return s;
}
