/* The flat binding layer (apf_shim.h): length checks, handle returns,
 * owned result buffers. Compiled into each language binding. */
#include "apf_shim.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct apfs_buffer {
    unsigned char *data;
    int size;
};

struct apfs_wire {
    apf_wire_info info;
    int8_t *values;
    int count;
};

/* The shim's own failures (a buffer of the wrong length) need a message
 * too; it is per thread like the library's, and apfs_last_error() returns
 * whichever failed last on this thread. */
static __thread int shim_failed_last;
static __thread char shim_msg[256];

static int shim_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(shim_msg, sizeof shim_msg, fmt, ap);
    va_end(ap);
    shim_failed_last = 1;
    return status;
}

/* Every library call goes through this so the right message is reported. */
static int lib(apf_status st)
{
    if (st != APF_OK)
        shim_failed_last = 0;
    return (int)st;
}

static int check_len(const char *what, int len, long long want)
{
    if (want <= 0 || want > 0x7fffffffLL)
        return shim_fail(APF_E_INVALID, "%s: shape gives %lld elements", what, want);
    if (len != want)
        return shim_fail(APF_E_INVALID, "%s has %d elements, the shape needs %lld", what, len, want);
    return 0;
}

static long long face_elems(int n, int size) { return (long long)n * size * size * 3; }

const char *apfs_last_error(void) { return shim_failed_last ? shim_msg : apf_last_error(); }
const char *apfs_status_string(int status) { return apf_status_string((apf_status)status); }
const char *apfs_version(void) { return apf_version_string(); }

/* ---- buffers ---- */

static apfs_buffer *buffer_take(void *data, size_t size, int *status)
{
    if (size > 0x7fffffff) {
        free(data);
        *status = shim_fail(APF_E_LIMIT, "result of %zu bytes is too large for the binding", size);
        return NULL;
    }
    apfs_buffer *b = malloc(sizeof *b);
    if (!b) {
        free(data);
        *status = shim_fail(APF_E_NOMEM, "out of memory");
        return NULL;
    }
    b->data = data;
    b->size = (int)size;
    *status = 0;
    return b;
}

int apfs_buffer_size(const apfs_buffer *b) { return b ? b->size : 0; }

int apfs_buffer_copy(const apfs_buffer *b, unsigned char *dst, int dst_len)
{
    if (!b || !dst)
        return shim_fail(APF_E_INVALID, "NULL buffer");
    int st = check_len("destination", dst_len, b->size);
    if (st)
        return st;
    memcpy(dst, b->data, (size_t)b->size);
    return 0;
}

void apfs_buffer_free(apfs_buffer *b)
{
    if (b) {
        free(b->data);
        free(b);
    }
}

/* ---- images ---- */

apf_image *apfs_image_load(const char *path, int *status)
{
    apf_image *img = NULL;
    *status = lib(apf_image_load(path, &img));
    return img;
}

int apfs_image_width(const apf_image *img) { return apf_image_width(img); }
int apfs_image_height(const apf_image *img) { return apf_image_height(img); }

int apfs_image_copy(const apf_image *img, unsigned char *dst, int dst_len)
{
    if (!img || !dst)
        return shim_fail(APF_E_INVALID, "NULL image or destination");
    int st = check_len("destination", dst_len,
                       (long long)apf_image_width(img) * apf_image_height(img) * 3);
    if (st)
        return st;
    memcpy(dst, apf_image_pixels_const(img), (size_t)dst_len);
    return 0;
}

void apfs_image_free(apf_image *img) { apf_image_free(img); }

/* Pixels handed over as bytes become an apf_image for the library. */
static int image_from(const unsigned char *pixels, int len, int width, int height, apf_image **out)
{
    *out = NULL;
    if (width < 1 || height < 1 || width > APF_IMAGE_MAX_SIDE || height > APF_IMAGE_MAX_SIDE)
        return shim_fail(APF_E_INVALID, "image size %dx%d out of range", width, height);
    int st = check_len("pixels", len, (long long)width * height * 3);
    if (st || (st = lib(apf_image_create(width, height, out))))
        return st;
    memcpy(apf_image_pixels(*out), pixels, (size_t)len);
    return 0;
}

int apfs_image_save(const unsigned char *pixels, int pixels_len, int width, int height,
                    const char *path, int jpeg_quality)
{
    apf_image *img = NULL;
    int st = image_from(pixels, pixels_len, width, height, &img);
    if (!st)
        st = lib(apf_image_save(img, path, jpeg_quality));
    apf_image_free(img);
    return st;
}

/* ---- models ---- */

apf_model *apfs_model_load(const char *path, int *status)
{
    apf_model *m = NULL;
    *status = lib(apf_model_load(path, &m));
    return m;
}

void apfs_model_free(apf_model *m) { apf_model_free(m); }
const char *apfs_model_name(const apf_model *m) { return m ? apf_model_name(m) : ""; }
int apfs_model_dim(const apf_model *m) { return apf_model_embedding_dim(m); }
int apfs_model_input_size(const apf_model *m) { return apf_model_input_size(m); }
unsigned long long apfs_model_hash(const apf_model *m) { return apf_model_hash(m); }
int apfs_model_set_threads(apf_model *m, int threads) { return lib(apf_model_set_threads(m, threads)); }

int apfs_model_embed(apf_model *m, const float *faces, int faces_len, int n, int size,
                     float *embedding, int embedding_len)
{
    if (!m)
        return shim_fail(APF_E_INVALID, "closed model");
    int st = check_len("faces", faces_len, face_elems(n, size));
    if (!st)
        st = check_len("embedding", embedding_len, (long long)n * apf_model_embedding_dim(m));
    return st ? st : lib(apf_model_embed(m, faces, n, size, embedding));
}

int apfs_model_gradient(apf_model *m, const float *faces, int faces_len, int n, int size,
                        const float *d_embedding, int d_embedding_len, float *d_faces,
                        int d_faces_len)
{
    if (!m)
        return shim_fail(APF_E_INVALID, "closed model");
    int st = check_len("faces", faces_len, face_elems(n, size));
    if (!st)
        st = check_len("d_embedding", d_embedding_len, (long long)n * apf_model_embedding_dim(m));
    if (!st)
        st = check_len("d_faces", d_faces_len, face_elems(n, size));
    return st ? st
              : lib(apf_model_embed_backward(m, faces, n, size, NULL, NULL, d_embedding, NULL,
                                             d_faces));
}

/* ---- end side ---- */

/* The options a binding may name, with where each lives in the struct. */
typedef struct option_field {
    const char *name;
    char kind; /* f float, i int, u uint64, a attack, s schedule */
    size_t off;
} option_field;

static const option_field option_fields[] = {
    {"attack", 'a', offsetof(apf_probe_options, attack)},
    {"eps", 'f', offsetof(apf_probe_options, eps)},
    {"step", 'f', offsetof(apf_probe_options, step)},
    {"iterations", 'i', offsetof(apf_probe_options, iterations)},
    {"momentum", 'f', offsetof(apf_probe_options, momentum)},
    {"diversity_prob", 'f', offsetof(apf_probe_options, diversity_prob)},
    {"enrol_offset", 'i', offsetof(apf_probe_options, enrol_offset)},
    {"offset_fraction", 'f', offsetof(apf_probe_options, offset_fraction)},
    {"offset_range", 'f', offsetof(apf_probe_options, offset_range)},
    {"seed", 'u', offsetof(apf_probe_options, seed)},
    {"threads", 'i', offsetof(apf_probe_options, threads)},
    {"random_target", 'f', offsetof(apf_probe_options, random_target)},
    {"schedule", 's', offsetof(apf_probe_options, schedule)},
    {"texture_ssim", 'f', offsetof(apf_probe_options, texture_ssim)},
    {"g_flip", 'f', offsetof(apf_probe_options, g_flip)},
    {"g_drop", 'f', offsetof(apf_probe_options, g_drop)},
    {"smooth_sigma", 'f', offsetof(apf_probe_options, smooth_sigma)},
    {"reach_budget", 'i', offsetof(apf_probe_options, reach_budget)},
    {"diversity_jpeg", 'i', offsetof(apf_probe_options, diversity_jpeg)},
    {"ssim_floor", 'f', offsetof(apf_probe_options, ssim_floor)},
    {"diversity_blur", 'f', offsetof(apf_probe_options, diversity_blur)},
    {"diversity_blur_sigma", 'f', offsetof(apf_probe_options, diversity_blur_sigma)},
};

static const option_field *option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof option_fields / sizeof option_fields[0]; i++)
        if (strlen(option_fields[i].name) == len && !strncmp(option_fields[i].name, name, len))
            return &option_fields[i];
    return NULL;
}

static int option_set(apf_probe_options *o, const option_field *f, const char *v)
{
    char *end;
    char *base = (char *)o + f->off;
    switch (f->kind) {
    case 'a':
        return lib(apf_attack_from_name(v, (apf_attack *)(void *)base));
    case 's':
        if (!strcmp(v, "all"))
            *(apf_probe_schedule *)(void *)base = APF_SCHEDULE_ALL;
        else if (!strcmp(v, "rotate"))
            *(apf_probe_schedule *)(void *)base = APF_SCHEDULE_ROTATE;
        else
            return shim_fail(APF_E_INVALID, "schedule is all or rotate, not %s", v);
        return 0;
    case 'f': {
        double d = strtod(v, &end);
        if (end == v || *end)
            return shim_fail(APF_E_INVALID, "%s: %s is not a number", f->name, v);
        *(float *)(void *)base = (float)d;
        return 0;
    }
    case 'i': {
        long l = strtol(v, &end, 10);
        if (end == v || *end || l < -2147483647L || l > 2147483647L)
            return shim_fail(APF_E_INVALID, "%s: %s is not an integer", f->name, v);
        *(int *)(void *)base = (int)l;
        return 0;
    }
    default: {
        unsigned long long u = strtoull(v, &end, 0);
        if (end == v || *end || *v == '-')
            return shim_fail(APF_E_INVALID, "%s: %s is not an unsigned integer", f->name, v);
        *(uint64_t *)(void *)base = u;
        return 0;
    }
    }
}

/* Apply a "name=value" list over opt. */
static int options_parse(const char *options, apf_probe_options *opt)
{
    const char *s = options ? options : "";
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, " ,");
        const char *eq = memchr(s, '=', len);
        char value[128];
        const option_field *f = eq ? option_find(s, (size_t)(eq - s)) : NULL;
        size_t vlen = eq ? len - (size_t)(eq - s) - 1 : 0;
        if (!f || vlen == 0 || vlen >= sizeof value)
            return shim_fail(APF_E_INVALID, "probe option \"%.*s\" is not name=value with a known name",
                             (int)len, s);
        memcpy(value, eq + 1, vlen);
        value[vlen] = 0;
        int st = option_set(opt, f, value);
        if (st)
            return st;
        s += len;
    }
    return APF_OK;
}

apf_probe *apfs_probe_create_with(const char *model_path, const char *options, int *status)
{
    apf_probe_options opt;
    apf_probe_options_init(&opt);
    if ((*status = options_parse(options, &opt)))
        return NULL;
    apf_probe *p = NULL;
    *status = lib(apf_probe_create(model_path, &opt, &p));
    return p;
}

int apfs_probe_set_options(apf_probe *p, const char *options)
{
    if (!p)
        return shim_fail(APF_E_INVALID, "no probe");
    apf_probe_options opt;
    apf_probe_options_init(&opt);
    int st = lib(apf_probe_get_options(p, &opt));
    if (!st)
        st = options_parse(options, &opt);
    return st ? st : lib(apf_probe_set_options(p, &opt));
}

double apfs_probe_option(apf_probe *p, const char *name, int *status)
{
    const option_field *f = name ? option_find(name, strlen(name)) : NULL;
    if (!p || !f) {
        *status = shim_fail(APF_E_INVALID, "no probe, or no option named %s", name ? name : "(null)");
        return 0;
    }
    apf_probe_options o;
    apf_probe_options_init(&o);
    if ((*status = lib(apf_probe_get_options(p, &o))))
        return 0;
    const char *base = (const char *)&o + f->off;
    switch (f->kind) {
    case 'a':
        return (double)*(const apf_attack *)(const void *)base;
    case 's':
        return (double)*(const apf_probe_schedule *)(const void *)base;
    case 'f':
        return *(const float *)(const void *)base;
    case 'i':
        return *(const int *)(const void *)base;
    default:
        return (double)*(const uint64_t *)(const void *)base;
    }
}

void apfs_probe_free(apf_probe *p) { apf_probe_free(p); }

int apfs_probe_add_model(apf_probe *p, const char *model_path, float weight)
{
    return lib(apf_probe_add_model(p, model_path, weight));
}

int apfs_probe_model_count(apf_probe *p) { return apf_probe_model_count(p); }

int apfs_probe_set_model_samples(apf_probe *p, int index, int samples)
{
    return lib(apf_probe_set_model_samples(p, index, samples));
}

int apfs_probe_model_samples(apf_probe *p, int index) { return apf_probe_model_samples(p, index); }

int apfs_probe_set_model_period(apf_probe *p, int index, int period)
{
    return lib(apf_probe_set_model_period(p, index, period));
}

int apfs_probe_model_period(apf_probe *p, int index) { return apf_probe_model_period(p, index); }

int apfs_probe_set_decoys(apf_probe *p, const unsigned char *faces, int faces_len, int n, int size)
{
    if (!p)
        return shim_fail(APF_E_INVALID, "closed probe");
    if (n == 0)
        return lib(apf_probe_set_decoys(p, NULL, 0, 0));
    int st = check_len("decoys", faces_len, face_elems(n, size));
    return st ? st : lib(apf_probe_set_decoys(p, faces, n, size));
}

int apfs_probe_decoy_count(apf_probe *p) { return apf_probe_decoy_count(p); }

static int probe_inputs(apf_probe *p, int faces_len, int enrolled_len, int n, int size)
{
    if (!p)
        return shim_fail(APF_E_INVALID, "closed probe");
    int st = check_len("faces", faces_len, face_elems(n, size));
    if (!st && enrolled_len)
        st = check_len("enrolled", enrolled_len, face_elems(n, size));
    return st;
}

int apfs_probe_gradient(apf_probe *p, const unsigned char *faces, int faces_len,
                        const unsigned char *enrolled, int enrolled_len, int n, int size,
                        signed char *g, int g_len)
{
    int st = probe_inputs(p, faces_len, enrolled_len, n, size);
    if (!st)
        st = check_len("g", g_len, face_elems(n, size));
    return st ? st
              : lib(apf_probe_gradient(p, faces, enrolled_len ? enrolled : NULL, n, size,
                                       (int8_t *)g));
}

int apfs_probe_gradient_placed(apf_probe *p, const unsigned char *faces, int faces_len,
                               const unsigned char *enrolled, int enrolled_len, const double *m, int m_len,
                               int n, int size, signed char *g, int g_len)
{
    int st = probe_inputs(p, faces_len, enrolled_len, n, size);
    if (!st)
        st = check_len("g", g_len, face_elems(n, size));
    if (!st)
        st = check_len("placement matrices", m_len, 6LL * n);
    return st ? st
              : lib(apf_probe_gradient_placed(p, faces, enrolled_len ? enrolled : NULL, n, size, m,
                                              (int8_t *)g));
}

int apfs_probe_limit_noise(apf_probe *p, const unsigned char *faces, int faces_len, int n, int size,
                           signed char *dst, int dst_len)
{
    int st = probe_inputs(p, faces_len, 0, n, size);
    if (!st)
        st = check_len("noise", dst_len, face_elems(n, size));
    return st ? st : lib(apf_probe_limit_noise(p, faces, n, size, (int8_t *)dst));
}

apfs_buffer *apfs_probe_gradient_blob(apf_probe *p, const unsigned char *faces, int faces_len,
                                      const unsigned char *enrolled, int enrolled_len, int n,
                                      int size, int *status)
{
    if ((*status = probe_inputs(p, faces_len, enrolled_len, n, size)))
        return NULL;
    void *blob = NULL;
    size_t blob_size = 0;
    if ((*status = lib(apf_probe_gradient_blob(p, faces, enrolled_len ? enrolled : NULL, n, size,
                                               &blob, &blob_size))))
        return NULL;
    return buffer_take(blob, blob_size, status);
}

/* The shape checks of the reach calls: m is empty or 6 values per face. */
static int reach_inputs(apf_probe *p, int faces_len, int enrolled_len, int m_len, int reach_len,
                        int n, int size)
{
    int st = probe_inputs(p, faces_len, enrolled_len, n, size);
    if (!st)
        st = check_len("reach", reach_len, face_elems(n, size));
    if (!st && m_len)
        st = check_len("placement matrices", m_len, 6LL * n);
    return st;
}

int apfs_probe_gradient_reach(apf_probe *p, const unsigned char *faces, int faces_len,
                              const unsigned char *enrolled, int enrolled_len, const double *m, int m_len,
                              int n, int size, signed char *g, int g_len, unsigned char *reach,
                              int reach_len)
{
    int st = reach_inputs(p, faces_len, enrolled_len, m_len, reach_len, n, size);
    if (!st)
        st = check_len("g", g_len, face_elems(n, size));
    return st ? st
              : lib(apf_probe_gradient_reach(p, faces, enrolled_len ? enrolled : NULL, n, size,
                                             m_len ? m : NULL, (int8_t *)g, reach));
}

apfs_buffer *apfs_probe_gradient_blob_reach(apf_probe *p, const unsigned char *faces, int faces_len,
                                           const unsigned char *enrolled, int enrolled_len,
                                           const double *m, int m_len, int n, int size,
                                           unsigned char *reach, int reach_len, int *status)
{
    if ((*status = reach_inputs(p, faces_len, enrolled_len, m_len, reach_len, n, size)))
        return NULL;
    void *blob = NULL;
    size_t blob_size = 0;
    if ((*status = lib(apf_probe_gradient_blob_reach(p, faces, enrolled_len ? enrolled : NULL, n, size,
                                                     m_len ? m : NULL, reach, &blob, &blob_size))))
        return NULL;
    return buffer_take(blob, blob_size, status);
}

int apfs_limit_noise_to_reach(signed char *dst, int dst_len, const unsigned char *reach, int reach_len)
{
    int st = check_len("reach", reach_len, dst_len);
    return st ? st : lib(apf_limit_noise_to_reach((int8_t *)dst, reach, (size_t)dst_len));
}

int apfs_apply(const unsigned char *faces, int faces_len, const signed char *values,
               int values_len, float scale, unsigned char *out, int out_len)
{
    int st = check_len("values", values_len, faces_len);
    if (!st)
        st = check_len("out", out_len, faces_len);
    return st ? st
              : lib(apf_apply_perturbation(faces, (const int8_t *)values, (size_t)faces_len, scale,
                                           out));
}

/* ---- wire ---- */

apfs_buffer *apfs_wire_encode(int kind, int algorithm, int n, int height, int width, float eps,
                              unsigned long long model_hash, const signed char *values,
                              int values_len, int *status)
{
    apf_wire_info info = {(apf_wire_kind)kind, algorithm, n, height, width, 3, eps, model_hash};
    if (n < 1 || height < 1 || width < 1 || n > APF_WIRE_MAX_FACES || height > APF_WIRE_MAX_SIDE ||
        width > APF_WIRE_MAX_SIDE) {
        *status = shim_fail(APF_E_LIMIT, "blob shape %dx%dx%d out of range", n, height, width);
        return NULL;
    }
    if ((*status = check_len("values", values_len, (long long)n * height * width * 3)))
        return NULL;
    void *blob = NULL;
    size_t size = 0;
    if ((*status = lib(apf_wire_encode(&info, (const int8_t *)values, &blob, &size))))
        return NULL;
    return buffer_take(blob, size, status);
}

apfs_wire *apfs_wire_decode(const unsigned char *blob, int blob_len, int *status)
{
    apfs_wire *w = calloc(1, sizeof *w);
    if (!w) {
        *status = shim_fail(APF_E_NOMEM, "out of memory");
        return NULL;
    }
    if ((*status = lib(apf_wire_decode(blob, blob_len < 0 ? 0 : (size_t)blob_len, &w->info,
                                       &w->values)))) {
        free(w);
        return NULL;
    }
    w->count = w->info.n * w->info.height * w->info.width * w->info.channels;
    return w;
}

int apfs_wire_kind(const apfs_wire *w) { return w ? (int)w->info.kind : -1; }
int apfs_wire_algorithm(const apfs_wire *w) { return w ? w->info.algorithm : -1; }
int apfs_wire_n(const apfs_wire *w) { return w ? w->info.n : 0; }
int apfs_wire_height(const apfs_wire *w) { return w ? w->info.height : 0; }
int apfs_wire_width(const apfs_wire *w) { return w ? w->info.width : 0; }
float apfs_wire_eps(const apfs_wire *w) { return w ? w->info.eps : 0.0f; }
unsigned long long apfs_wire_model_hash(const apfs_wire *w) { return w ? w->info.model_hash : 0; }

int apfs_wire_values(const apfs_wire *w, signed char *dst, int dst_len)
{
    if (!w || !dst)
        return shim_fail(APF_E_INVALID, "NULL blob or destination");
    int st = check_len("destination", dst_len, w->count);
    if (!st)
        memcpy(dst, w->values, (size_t)w->count);
    return st;
}

void apfs_wire_free(apfs_wire *w)
{
    if (w) {
        free(w->values);
        free(w);
    }
}

/* ---- cloud side ---- */

apf_transfer *apfs_transfer_load(const char *path, int *status)
{
    apf_transfer *t = NULL;
    *status = lib(apf_transfer_load(path, &t));
    return t;
}

void apfs_transfer_free(apf_transfer *t) { apf_transfer_free(t); }
int apfs_transfer_set_threads(apf_transfer *t, int threads)
{
    return lib(apf_transfer_set_threads(t, threads));
}

apf_enhancer *apfs_enhancer_load(const char *path, int *status)
{
    apf_enhancer *e = NULL;
    *status = lib(apf_enhancer_load(path, &e));
    return e;
}

void apfs_enhancer_free(apf_enhancer *e) { apf_enhancer_free(e); }

apfs_buffer *apfs_cloud_filter(apf_transfer *t, const apf_enhancer *e, const unsigned char *blob,
                               int blob_len, int *status)
{
    void *out = NULL;
    size_t size = 0;
    if ((*status = lib(apf_cloud_filter(t, e, blob, blob_len < 0 ? 0 : (size_t)blob_len, &out,
                                        &size))))
        return NULL;
    return buffer_take(out, size, status);
}

int apfs_cloud_noise(apf_transfer *t, const apf_enhancer *e, const signed char *g, int g_len, int n,
                     float eps, float *s, int s_len)
{
    int st = check_len("g", g_len, face_elems(n, 112));
    if (!st)
        st = check_len("s", s_len, face_elems(n, 112));
    return st ? st : lib(apf_cloud_noise(t, e, (const int8_t *)g, n, eps, s));
}

/* ---- faces in photos ---- */

apf_detector *apfs_detector_create(const char *path, int *status)
{
    apf_detector *d = NULL;
    *status = lib(apf_detector_create(path, &d));
    return d;
}

void apfs_detector_free(apf_detector *d) { apf_detector_free(d); }
int apfs_detector_set_threshold(apf_detector *d, float min_score)
{
    return lib(apf_detector_set_threshold(d, min_score));
}

/* A face as the bindings see it: APFS_FACE_FLOATS floats (apf_shim.h). */
static void face_from_row(const float *r, apf_face *f)
{
    memset(f, 0, sizeof *f);
    f->score = r[0];
    memcpy(f->box, r + 1, 4 * sizeof(float));
    memcpy(f->landmarks, r + 5, 10 * sizeof(float));
    f->mouth_centre_only = r[15] != 0;
}

static void face_to_row(const apf_face *f, float *o)
{
    o[0] = f->score;
    memcpy(o + 1, f->box, 4 * sizeof(float));
    memcpy(o + 5, f->landmarks, 10 * sizeof(float));
    o[15] = (float)(f->mouth_centre_only != 0);
}

int apfs_detect(apf_detector *d, const unsigned char *pixels, int pixels_len, int width, int height,
                float *faces, int faces_len, int *count)
{
    *count = 0;
    if (!d)
        return shim_fail(APF_E_INVALID, "closed detector");
    if (faces_len < APFS_FACE_FLOATS || faces_len % APFS_FACE_FLOATS)
        return shim_fail(APF_E_INVALID, "faces buffer of %d floats is not a whole number of faces", faces_len);
    apf_image *img;
    int st = image_from(pixels, pixels_len, width, height, &img);
    if (st)
        return st;
    int max = faces_len / APFS_FACE_FLOATS, n = 0;
    apf_face *f = calloc((size_t)max, sizeof *f);
    st = f ? lib(apf_detect_faces(d, img, f, max, &n)) : shim_fail(APF_E_NOMEM, "out of memory");
    for (int i = 0; !st && i < n && i < max; i++)
        face_to_row(&f[i], faces + (size_t)i * APFS_FACE_FLOATS);
    if (!st)
        *count = n;
    free(f);
    apf_image_free(img);
    return st;
}

int apfs_detector_set_face_check(apf_detector *d, const char *path, float min_score)
{
    if (!d)
        return shim_fail(APF_E_INVALID, "closed detector");
    return lib(apf_detector_set_face_check(d, path && *path ? path : NULL, min_score));
}

int apfs_detector_face_score(apf_detector *d, const unsigned char *pixels, int pixels_len, int width, int height,
                             const float *face, int face_len, float *score)
{
    *score = 0;
    if (!d)
        return shim_fail(APF_E_INVALID, "closed detector");
    int st = check_len("face", face_len, APFS_FACE_FLOATS);
    apf_image *img = NULL;
    if (!st)
        st = image_from(pixels, pixels_len, width, height, &img);
    if (st)
        return st;
    apf_face f;
    face_from_row(face, &f);
    st = lib(apf_detector_face_score(d, img, &f, score));
    apf_image_free(img);
    return st;
}

int apfs_detector_rejected_count(apf_detector *d) { return apf_detector_rejected_count(d); }

/* ---- the whole-photo pipeline ---- */

struct apfs_job {
    apf_image *photo; /* the job borrows it: kept until the job is freed */
    apf_photo_job *job;
};

void apfs_job_free(apfs_job *j)
{
    if (!j)
        return;
    apf_photo_job_free(j->job);
    apf_image_free(j->photo);
    free(j);
}

apfs_job *apfs_job_create(apf_probe *p, apf_detector *d, const unsigned char *pixels, int pixels_len,
                          int width, int height, const float *face, int face_len, int *status)
{
    if (!p || (face_len == 0 && !d)) {
        *status = shim_fail(APF_E_INVALID, "a photo job needs a probe, and a detector unless faces are given");
        return NULL;
    }
    if (face_len < 0 || face_len % APFS_FACE_FLOATS || face_len / APFS_FACE_FLOATS > APF_PHOTO_JOB_MAX_FACES) {
        *status = shim_fail(APF_E_INVALID, "faces: %d floats are not 0..%d whole faces", face_len,
                            APF_PHOTO_JOB_MAX_FACES);
        return NULL;
    }
    apfs_job *j = calloc(1, sizeof *j);
    if (!j) {
        *status = shim_fail(APF_E_NOMEM, "out of memory");
        return NULL;
    }
    int st = image_from(pixels, pixels_len, width, height, &j->photo);
    int n = face_len / APFS_FACE_FLOATS;
    apf_face given[APF_PHOTO_JOB_MAX_FACES];
    for (int i = 0; i < n; i++)
        face_from_row(face + (size_t)i * APFS_FACE_FLOATS, &given[i]);
    if (!st)
        st = lib(apf_photo_job_create(p, n ? NULL : d, j->photo, n ? given : NULL, n, &j->job));
    *status = st;
    if (st) {
        apfs_job_free(j);
        return NULL;
    }
    return j;
}

int apfs_job_face_count(const apfs_job *j) { return j ? apf_photo_job_face_count(j->job) : -1; }
int apfs_job_faces_found(const apfs_job *j) { return j ? apf_photo_job_faces_found(j->job) : -1; }

int apfs_job_faces(const apfs_job *j, float *faces, int faces_len)
{
    if (!j)
        return shim_fail(APF_E_INVALID, "closed photo job");
    int n = apf_photo_job_face_count(j->job);
    int st = check_len("faces", faces_len, (long long)(n > 0 ? n : 1) * APFS_FACE_FLOATS);
    for (int i = 0; !st && i < n; i++) {
        apf_face f;
        st = lib(apf_photo_job_face(j->job, i, &f));
        if (!st)
            face_to_row(&f, faces + (size_t)i * APFS_FACE_FLOATS);
    }
    return st;
}

apfs_buffer *apfs_job_gradient_blob(const apfs_job *j, int *status)
{
    if (!j) {
        *status = shim_fail(APF_E_INVALID, "closed photo job");
        return NULL;
    }
    const void *b;
    size_t size;
    *status = lib(apf_photo_job_gradient_blob(j->job, &b, &size));
    if (*status)
        return NULL;
    void *copy = malloc(size ? size : 1);
    if (!copy) {
        *status = shim_fail(APF_E_NOMEM, "out of memory");
        return NULL;
    }
    if (size)
        memcpy(copy, b, size);
    return buffer_take(copy, size, status);
}

int apfs_job_apply(apfs_job *j, const unsigned char *blob, int blob_len, int keep_metadata,
                   unsigned char *out, int out_len)
{
    if (!j)
        return shim_fail(APF_E_INVALID, "closed photo job");
    if (blob_len < 0 || keep_metadata < 0)
        return shim_fail(APF_E_INVALID, "negative blob length or metadata bits");
    int w = apf_image_width(j->photo), h = apf_image_height(j->photo);
    int st = check_len("out", out_len, (long long)w * h * 3);
    apf_image *prot = NULL;
    if (!st)
        st = lib(apf_photo_job_apply(j->job, blob, (size_t)blob_len, (unsigned)keep_metadata, &prot));
    if (!st)
        memcpy(out, apf_image_pixels_const(prot), (size_t)w * h * 3);
    apf_image_free(prot);
    return st;
}

int apfs_face_align(const float *face, int face_len, double *matrix, int matrix_len)
{
    int st = check_len("face", face_len, APFS_FACE_FLOATS);
    if (!st)
        st = check_len("matrix", matrix_len, 6);
    if (st)
        return st;
    apf_face f;
    face_from_row(face, &f);
    return lib(apf_face_align_matrix(&f, matrix));
}

int apfs_face_crop(const unsigned char *pixels, int pixels_len, int width, int height,
                   const double *m, int m_len, unsigned char *dst, int dst_len)
{
    int st = check_len("matrix", m_len, 6);
    if (!st)
        st = check_len("face", dst_len, face_elems(1, APF_FACE_SIZE));
    apf_image *img = NULL;
    if (!st)
        st = image_from(pixels, pixels_len, width, height, &img);
    if (!st)
        st = lib(apf_face_crop(img, m, dst));
    apf_image_free(img);
    return st;
}

int apfs_face_add_noise(unsigned char *out, int out_len, const unsigned char *original,
                        int original_len, int width, int height, const double *m, int m_len,
                        const signed char *values, int values_len, float eps)
{
    int st = check_len("matrix", m_len, 6);
    if (!st)
        st = check_len("noise", values_len, face_elems(1, APF_FACE_SIZE));
    if (!st)
        st = check_len("original", original_len, out_len);
    apf_image *photo = NULL, *orig = NULL;
    if (!st)
        st = image_from(out, out_len, width, height, &photo);
    if (!st)
        st = image_from(original, original_len, width, height, &orig);
    if (!st)
        st = lib(apf_face_add_noise(photo, orig, m, (const int8_t *)values, eps));
    if (!st)
        memcpy(out, apf_image_pixels(photo), (size_t)out_len);
    apf_image_free(photo);
    apf_image_free(orig);
    return st;
}

/* ---- evaluation ---- */

int apfs_ssim(const unsigned char *a, int a_len, const unsigned char *b, int b_len, int width,
              int height, double *ssim)
{
    int st = check_len("a", a_len, (long long)width * height * 3);
    if (!st)
        st = check_len("b", b_len, (long long)width * height * 3);
    return st ? st : lib(apf_ssim(a, b, width, height, ssim, NULL));
}

apf_evaluator *apfs_evaluator_create(const char *model_paths, int threads, int *status)
{
    /* Newline-separated paths: one string crosses every binding easily. */
    enum { MAX_MODELS = 32 };
    char *copy = model_paths ? strdup(model_paths) : NULL;
    if (!copy) {
        *status = shim_fail(model_paths ? APF_E_NOMEM : APF_E_INVALID, "no model paths");
        return NULL;
    }
    const char *paths[MAX_MODELS];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, "\n", &save); tok;
         tok = strtok_r(NULL, "\n", &save)) {
        if (n == MAX_MODELS) {
            free(copy);
            *status = shim_fail(APF_E_LIMIT, "more than %d models", MAX_MODELS);
            return NULL;
        }
        paths[n++] = tok;
    }
    apf_evaluator *ev = NULL;
    *status = lib(apf_evaluator_create(paths, n, threads, &ev));
    free(copy);
    return ev;
}

void apfs_evaluator_free(apf_evaluator *ev) { apf_evaluator_free(ev); }
int apfs_evaluator_model_count(const apf_evaluator *ev) { return apf_evaluator_model_count(ev); }

const char *apfs_evaluator_model_name(apf_evaluator *ev, int model)
{
    apf_model *m = apf_evaluator_model(ev, model);
    return m ? apf_model_name(m) : "";
}

static int pair_inputs(apf_evaluator *ev, int a_len, int b_len, int n, int size)
{
    if (!ev)
        return shim_fail(APF_E_INVALID, "closed evaluator");
    int st = check_len("a", a_len, face_elems(n, size));
    return st ? st : check_len("b", b_len, face_elems(n, size));
}

int apfs_evaluator_similarity(apf_evaluator *ev, int model, const unsigned char *a, int a_len,
                              const unsigned char *b, int b_len, int n, int size, float *sim,
                              int sim_len)
{
    int st = pair_inputs(ev, a_len, b_len, n, size);
    if (!st)
        st = check_len("sim", sim_len, n);
    return st ? st : lib(apf_evaluator_similarity(ev, model, a, b, n, size, sim));
}

int apfs_evaluator_calibrate(apf_evaluator *ev, const unsigned char *a, int a_len,
                             const unsigned char *b, int b_len, const unsigned char *same,
                             int same_len, int n, int size)
{
    int st = pair_inputs(ev, a_len, b_len, n, size);
    if (!st)
        st = check_len("same", same_len, n);
    return st ? st : lib(apf_evaluator_calibrate(ev, a, b, same, n, size));
}

int apfs_evaluator_threshold(const apf_evaluator *ev, int model, float *threshold,
                             double *accuracy)
{
    return lib(apf_evaluator_thresholds(ev, model, threshold, accuracy, NULL));
}

int apfs_evaluator_asr(apf_evaluator *ev, int model, const unsigned char *original, int original_len,
                       const unsigned char *protected_, int protected_len,
                       const unsigned char *other, int other_len, int n, int size, double *asr,
                       int *matched_before, int *matched_after)
{
    int st = pair_inputs(ev, original_len, protected_len, n, size);
    if (!st)
        st = check_len("other", other_len, face_elems(n, size));
    return st ? st
              : lib(apf_evaluator_asr(ev, model, original, protected_, other, n, size, asr,
                                      matched_before, matched_after));
}
