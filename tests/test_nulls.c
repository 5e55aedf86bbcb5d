/* Every public function with NULLs, zero sizes and huge sizes: each
 * fallible one returns an error (never crashes, never APF_OK), free
 * functions accept NULL, getters return 0/NULL. tests/api_coverage.sh
 * checks every APF_API function in include/apf is named here. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apf/apf.h"
#include "testutil.h"

#define ERR(call) ck_assert_msg((call) != APF_OK, "%s returned APF_OK", #call)

static apf_model *probe_model(void)
{
    apf_model *m = NULL;
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &m), APF_OK);
    return m;
}

START_TEST(core_nulls)
{
    uint8_t buf[256] = {0};
    float f[64] = {0};
    apf_image *img = (apf_image *)buf; /* never dereferenced: the calls must fail first */
    (void)img;
    ck_assert_ptr_nonnull(apf_status_string((apf_status)12345));
    ck_assert_ptr_nonnull(apf_last_error());
    ck_assert_ptr_nonnull(apf_version_string());
    apf_image *im = NULL;
    ERR(apf_image_create(0, 0, &im));
    ERR(apf_image_create(INT_MAX, INT_MAX, &im));
    ERR(apf_image_create(-5, 10, &im));
    ERR(apf_image_create(10, 10, NULL));
    ERR(apf_image_load(NULL, &im));
    ERR(apf_image_load("x.png", NULL));
    ERR(apf_image_load("", &im));
    ERR(apf_image_decode(NULL, 10, &im));
    ERR(apf_image_decode(buf, 0, &im));
    ERR(apf_image_decode(buf, 10, NULL));
    ERR(apf_image_load_max(NULL, 100, &im));
    ERR(apf_image_load_max("x.png", 100, NULL));
    ERR(apf_image_decode_max(NULL, 10, 100, &im));
    ERR(apf_image_decode_max(buf, 10, 100, NULL));
    ERR(apf_image_save(NULL, "x.png", 90));
    ck_assert_int_eq(apf_image_create(4, 4, &im), APF_OK);
    ERR(apf_image_save(im, NULL, 90));
    ERR(apf_image_save(im, tu_path(tu_tmpdir(), "q.jpg"), -1)); /* 0 is "as the source" */
    ERR(apf_image_save(im, tu_path(tu_tmpdir(), "q.jpg"), 101));
    ERR(apf_image_save(im, tu_path(tu_tmpdir(), "q.bmp"), 90));
    void *data = NULL;
    size_t size = 0;
    ERR(apf_image_encode_jpeg(NULL, 90, &data, &size));
    ERR(apf_image_encode_jpeg(im, 90, NULL, &size));
    ERR(apf_image_encode_jpeg(im, 90, &data, NULL));
    ERR(apf_image_encode_jpeg(im, INT_MAX, &data, &size));
    ERR(apf_image_copy_metadata(NULL, im));
    ERR(apf_image_copy_metadata(im, NULL));
    ERR(apf_image_copy_metadata_keep(NULL, im, 0));
    ERR(apf_image_copy_metadata_keep(im, NULL, 0));
    apf_image_free(NULL);
    ck_assert_int_eq(apf_image_width(NULL), 0);
    ck_assert_int_eq(apf_image_height(NULL), 0);
    ck_assert_ptr_null(apf_image_pixels(NULL));
    ck_assert_ptr_null(apf_image_pixels_const(NULL));
    ck_assert_int_eq(apf_image_source_format(NULL), APF_IMAGE_UNKNOWN);
    const uint8_t *p = buf;
    ck_assert_uint_eq(apf_image_exif(NULL, &p), 0);
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(apf_image_icc(NULL, NULL), 0);
    apf_image_free(im);
    /* resampling */
    double m6[6] = {1, 0, 0, 0, 1, 0};
    ERR(apf_warp_affine(NULL, 4, 4, 3, f, 4, 4, m6, 0));
    ERR(apf_warp_affine(f, 4, 4, 3, NULL, 4, 4, m6, 0));
    ERR(apf_warp_affine(f, 4, 4, 3, f, 4, 4, NULL, 0));
    ERR(apf_warp_affine(f, 0, 4, 3, f, 4, 4, m6, 0));
    ERR(apf_warp_affine(f, INT_MAX, INT_MAX, 3, f, 4, 4, m6, 0));
    ERR(apf_resize(NULL, 4, 4, 3, f, 2, 2, 0));
    ERR(apf_resize(f, 4, 4, 3, NULL, 2, 2, 0));
    ERR(apf_resize(f, 4, 4, 0, f, 2, 2, 0));
    ERR(apf_resize(f, 4, 4, 3, f, INT_MAX, INT_MAX, 0));
    /* wire */
    apf_wire_info info = {APF_WIRE_GRADIENT, 0, 1, 4, 4, 3, 8.0f, 0};
    int8_t *vals = NULL;
    int8_t v48[48] = {0};
    ERR(apf_wire_encode(NULL, v48, &data, &size));
    ERR(apf_wire_encode(&info, NULL, &data, &size));
    ERR(apf_wire_encode(&info, v48, NULL, &size));
    ERR(apf_wire_encode(&info, v48, &data, NULL));
    info.n = 0;
    ERR(apf_wire_encode(&info, v48, &data, &size));
    info.n = INT_MAX;
    ERR(apf_wire_encode(&info, v48, &data, &size));
    info.n = 1, info.height = INT_MAX;
    ERR(apf_wire_encode(&info, v48, &data, &size));
    ERR(apf_wire_decode(NULL, 100, &info, &vals));
    ERR(apf_wire_decode(buf, 0, &info, &vals));
    ERR(apf_wire_decode(buf, sizeof buf, NULL, &vals));
    ERR(apf_wire_decode(buf, sizeof buf, &info, NULL));
    memcpy(buf, "APFW", 4);
    ERR(apf_wire_decode(buf, SIZE_MAX, &info, &vals)); /* size is checked against the header first */
    ck_assert_ptr_null(vals);
}
END_TEST

START_TEST(model_nulls)
{
    apf_model *m = NULL;
    float f[16] = {0};
    uint8_t buf[128] = {0};
    ERR(apf_model_load(NULL, &m));
    ERR(apf_model_load("x.apfm", NULL));
    ERR(apf_model_load_memory(NULL, 10, &m));
    ERR(apf_model_load_memory(buf, 0, &m));
    ERR(apf_model_load_memory(buf, sizeof buf, NULL));
    memcpy(buf, "APFM", 4);
    ERR(apf_model_load_memory(buf, SIZE_MAX / 2, &m));
    ck_assert_ptr_null(m);
    apf_model_free(NULL);
    ck_assert_ptr_nonnull(apf_model_name(NULL));
    ck_assert_int_eq(apf_model_input_size(NULL), 0);
    ck_assert_int_eq(apf_model_embedding_dim(NULL), 0);
    ck_assert_uint_eq(apf_model_hash(NULL), 0);
    ck_assert_int_eq(apf_model_output_count(NULL), 0);
    ERR(apf_model_set_threads(NULL, 2));
    ERR(apf_model_embed(NULL, f, 1, 112, f));
    ERR(apf_model_embed_backward(NULL, f, 1, 112, f, NULL, f, NULL, f));
    ERR(apf_model_forward_raw(NULL, f, 1, 0, f));
    ERR(apf_model_backward_raw(NULL, f, 1, f));
    int h, w, c;
    ERR(apf_model_output_shape(NULL, 0, &h, &w, &c));
    float *outs[1] = {f};
    ERR(apf_model_forward_outputs(NULL, f, 1, outs));
    m = probe_model();
    ERR(apf_model_set_threads(m, -1));
    ERR(apf_model_set_threads(m, INT_MAX));
    ERR(apf_model_embed(m, NULL, 1, 112, f));
    ERR(apf_model_embed(m, f, 1, 112, NULL));
    ERR(apf_model_embed(m, f, 0, 112, f));
    ERR(apf_model_embed(m, f, INT_MAX, 112, f));
    ERR(apf_model_embed(m, f, 1, INT_MAX, f));
    ERR(apf_model_embed(m, f, 1, 0, f));
    ERR(apf_model_embed_backward(m, NULL, 1, 112, NULL, NULL, f, NULL, f));
    ERR(apf_model_embed_backward(m, f, 1, 112, NULL, NULL, NULL, NULL, f)); /* no loss given */
    ERR(apf_model_embed_backward(m, f, 1, 112, NULL, NULL, f, NULL, NULL));
    ERR(apf_model_embed_backward(m, f, INT_MAX, 112, NULL, NULL, f, NULL, f));
    ERR(apf_model_forward_raw(m, NULL, 1, 0, f));
    ERR(apf_model_forward_raw(m, f, 0, 0, f));
    ERR(apf_model_forward_raw(m, f, INT_MAX, 0, f));
    ERR(apf_model_backward_raw(m, f, 1, f)); /* no training forward before */
    ERR(apf_model_backward_raw(m, NULL, 1, f));
    ERR(apf_model_output_shape(m, -1, &h, &w, &c));
    ERR(apf_model_output_shape(m, INT_MAX, &h, &w, &c));
    ERR(apf_model_output_shape(m, 0, NULL, &w, &c));
    ERR(apf_model_forward_outputs(m, NULL, 1, outs));
    ERR(apf_model_forward_outputs(m, f, 1, NULL));
    ERR(apf_model_forward_outputs(m, f, 0, outs));
    apf_model_free(m);
    /* a detector has no embedding: forward_raw (sized by the embedding) is refused,
     * and a detector file declaring an embedding length is rejected */
    ck_assert_int_eq(apf_model_load(tu_path(tu_models_dir(), "blazeface.apfm"), &m), APF_OK);
    ck_assert_int_eq(apf_model_embedding_dim(m), 0);
    ERR(apf_model_forward_raw(m, f, 1, 0, f));
    apf_model_free(m);
    size_t n = 0;
    uint8_t *bytes = tu_read_file(tu_path(tu_models_dir(), "blazeface.apfm"), &n);
    ck_assert_ptr_nonnull(bytes);
    bytes[56] = 5; /* embedding length 5, header CRC made valid again */
    uint32_t crc = (uint32_t)crc32(0, bytes, 84);
    for (int k = 0; k < 4; k++)
        bytes[84 + k] = (uint8_t)(crc >> (8 * k));
    m = (apf_model *)0x1;
    ck_assert_int_eq(apf_model_load_memory(bytes, n, &m), APF_E_FORMAT);
    ck_assert_ptr_null(m);
    free(bytes);
}
END_TEST

START_TEST(end_nulls)
{
    uint8_t px[16] = {0};
    int8_t g[16] = {0};
    apf_probe *p = NULL;
    apf_probe_options o;
    apf_probe_options_init(NULL);
    apf_probe_options_init(&o);
    ck_assert_ptr_nonnull(apf_attack_name((apf_attack)999));
    apf_attack a;
    ERR(apf_attack_from_name(NULL, &a));
    ERR(apf_attack_from_name("fgsm", NULL));
    ERR(apf_attack_from_name("", &a));
    ERR(apf_probe_create(NULL, &o, &p));
    ERR(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, NULL));
    o.iterations = INT_MAX;
    ERR(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p));
    apf_probe_options_init(&o);
    o.eps = 0;
    ERR(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p));
    o.struct_size = 0;
    ERR(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p));
    apf_probe_free(NULL);
    ck_assert_ptr_null(apf_probe_model(NULL));
    ERR(apf_probe_get_options(NULL, &o));
    apf_probe_options_init_size(NULL, sizeof o); /* ignored */
    ck_assert_int_gt(apf_version_number(), 0);
    ERR(apf_probe_gradient(NULL, px, NULL, 1, 112, g));
    void *blob = NULL;
    size_t n = 0;
    ERR(apf_probe_gradient_blob(NULL, px, NULL, 1, 112, &blob, &n));
    apf_probe_options_init(&o);
    ck_assert_int_eq(apf_probe_create(tu_path(tu_models_dir(), "mobilefacenet.apfm"), &o, &p), APF_OK);
    ERR(apf_probe_get_options(p, NULL));
    ERR(apf_probe_gradient(p, NULL, NULL, 1, 112, g));
    ERR(apf_probe_gradient(p, px, NULL, 1, 112, NULL));
    ERR(apf_probe_gradient(p, px, NULL, 0, 112, g));
    ERR(apf_probe_gradient(p, px, NULL, INT_MAX, 112, g));
    ERR(apf_probe_gradient(p, px, NULL, 1, INT_MAX, g));
    ERR(apf_probe_gradient(p, px, NULL, 1, 0, g));
    ERR(apf_probe_gradient_blob(p, px, NULL, 1, 112, NULL, &n));
    ERR(apf_probe_gradient_blob(p, px, NULL, 1, 112, &blob, NULL));
    ERR(apf_probe_gradient_blob(p, px, NULL, INT_MAX, 112, &blob, &n));
    static const double place[6] = {0.5, 0, 10, 0, 0.5, 10};
    ERR(apf_probe_set_options(NULL, NULL));
    ERR(apf_probe_set_options(p, NULL));
    ERR(apf_probe_gradient_placed(NULL, px, NULL, 1, 112, place, g));
    ERR(apf_probe_gradient_placed(p, NULL, NULL, 1, 112, place, g));
    ERR(apf_probe_gradient_placed(p, px, NULL, 1, 112, place, NULL));
    ERR(apf_probe_gradient_placed(p, px, NULL, 0, 112, place, g));
    ERR(apf_probe_gradient_blob_placed(NULL, px, NULL, 1, 112, place, &blob, &n));
    ERR(apf_probe_gradient_blob_placed(p, px, NULL, 1, 112, place, NULL, &n));
    ERR(apf_probe_gradient_blob_placed(p, px, NULL, INT_MAX, 112, place, &blob, &n));
    uint8_t reach[16] = {0};
    ERR(apf_probe_gradient_reach(NULL, px, NULL, 1, 112, place, g, NULL));
    ERR(apf_probe_gradient_reach(p, NULL, NULL, 1, 112, NULL, g, NULL));
    ERR(apf_probe_gradient_reach(p, px, NULL, 1, 112, NULL, NULL, NULL));
    ERR(apf_probe_gradient_blob_reach(NULL, px, NULL, 1, 112, NULL, NULL, &blob, &n));
    ERR(apf_probe_gradient_blob_reach(p, px, NULL, 1, 112, NULL, NULL, NULL, &n));
    ERR(apf_limit_noise_to_reach(NULL, reach, 16));
    ERR(apf_limit_noise_to_reach(g, NULL, 16));
    ERR(apf_probe_add_model(NULL, tu_path(tu_models_dir(), "mobileface.apfm"), 1.0f));
    ERR(apf_probe_add_model(p, NULL, 1.0f));
    ck_assert_int_eq(apf_probe_model_count(NULL), 0);
    ERR(apf_probe_set_model_samples(NULL, 0, 2));
    ERR(apf_probe_set_model_samples(p, 1, 2)); /* one model: no index 1 */
    ERR(apf_probe_set_model_samples(p, -1, 2));
    ERR(apf_probe_set_model_samples(p, 0, 0));
    ERR(apf_probe_set_model_samples(p, 0, APF_PROBE_MAX_SAMPLES + 1));
    ck_assert_int_eq(apf_probe_model_samples(NULL, 0), 0);
    ck_assert_int_eq(apf_probe_model_samples(p, 1), 0);
    ck_assert_int_eq(apf_probe_model_samples(p, 0), 1);
    ERR(apf_probe_set_model_period(NULL, 0, 2));
    ERR(apf_probe_set_model_period(p, 1, 2)); /* one model: no index 1 */
    ERR(apf_probe_set_model_period(p, -1, 2));
    ERR(apf_probe_set_model_period(p, 0, 0));
    ERR(apf_probe_set_model_period(p, 0, APF_PROBE_MAX_PERIOD + 1));
    ck_assert_int_eq(apf_probe_model_period(NULL, 0), 0);
    ck_assert_int_eq(apf_probe_model_period(p, 1), 0);
    ck_assert_int_eq(apf_probe_model_period(p, 0), 1);
    ERR(apf_probe_set_decoys(NULL, px, 1, 112));
    ERR(apf_probe_set_decoys(p, NULL, 1, 112));
    ERR(apf_probe_set_decoys(p, px, -1, 112));
    ERR(apf_probe_set_decoys(p, px, APF_PROBE_MAX_DECOYS + 1, 112));
    ERR(apf_probe_set_decoys(p, px, 1, 15));
    ERR(apf_probe_set_decoys(p, px, 1, APF_WIRE_MAX_SIDE + 1));
    ck_assert_int_eq(apf_probe_decoy_count(NULL), 0);
    ck_assert_int_eq(apf_probe_decoy_count(p), 0); /* refused calls left none */
    ERR(apf_probe_limit_noise(NULL, px, 1, 112, g));
    ERR(apf_probe_limit_noise(p, NULL, 1, 112, g));
    ERR(apf_probe_limit_noise(p, px, 1, 112, NULL));
    ERR(apf_probe_limit_noise(p, px, INT_MAX, 112, g));
    apf_probe_free(p);
    ERR(apf_apply_perturbation(NULL, g, 16, 1.0f, px));
    ERR(apf_apply_perturbation(px, NULL, 16, 1.0f, px));
    ERR(apf_apply_perturbation(px, g, 16, 1.0f, NULL));
    ERR(apf_apply_perturbation(px, g, 0, 1.0f, px));
    ERR(apf_apply_perturbation(px, g, 16, 1e30f, px));
    ERR(apf_apply_perturbation(px, g, 16, NAN, px));
}
END_TEST

START_TEST(cloud_nulls)
{
    apf_transfer *t = NULL;
    apf_enhancer *e = NULL;
    float f[16] = {0};
    int8_t g[16] = {0};
    uint8_t junk[64] = {0};
    ERR(apf_transfer_create(16, 8.0f, 1, NULL));
    ERR(apf_transfer_create_unet(16, 4, 2, 0, 8.0f, 1, NULL));
    ERR(apf_transfer_create_unet(INT_MAX, 4, 2, 0, 8.0f, 1, &t));
    ERR(apf_transfer_create_unet(16, INT_MAX, 2, 0, 8.0f, 1, &t));
    ERR(apf_transfer_create(0, 8.0f, 1, &t));
    ERR(apf_transfer_create(INT_MAX, 8.0f, 1, &t));
    ERR(apf_transfer_create(16, NAN, 1, &t));
    ERR(apf_transfer_load(NULL, &t));
    ERR(apf_transfer_load("x.apfm", NULL));
    ERR(apf_transfer_save(NULL, "x.apfm"));
    apf_transfer_free(NULL);
    ERR(apf_transfer_set_threads(NULL, 1));
    ERR(apf_transfer_forward(NULL, f, 1, 0, f));
    ERR(apf_transfer_backward(NULL, f, 1));
    ERR(apf_transfer_adam_step(NULL, 1e-4f));
    {
        size_t gn = 0;
        ERR(apf_transfer_gradient_size(NULL, &gn));
        ERR(apf_transfer_get_gradients(NULL, f, 1));
        ERR(apf_transfer_set_gradients(NULL, f, 1));
    }
    ck_assert_int_eq(apf_transfer_create(4, 8.0f, 1, &t), APF_OK);
    {
        size_t gn = 0;
        ERR(apf_transfer_gradient_size(t, NULL));
        ck_assert_int_eq(apf_transfer_gradient_size(t, &gn), APF_OK);
        ck_assert_uint_gt(gn, 0);
        ERR(apf_transfer_get_gradients(t, NULL, gn));
        ERR(apf_transfer_get_gradients(t, f, gn)); /* no backward yet */
        ERR(apf_transfer_set_gradients(t, f, gn));
    }
    ERR(apf_transfer_save(t, NULL));
    ERR(apf_transfer_forward(t, NULL, 1, 0, f));
    ERR(apf_transfer_forward(t, f, 1, 0, NULL));
    ERR(apf_transfer_forward(t, f, 0, 0, f));
    ERR(apf_transfer_forward(t, f, INT_MAX, 0, f));
    ERR(apf_transfer_backward(t, f, 1)); /* no training forward yet */
    ERR(apf_transfer_backward(t, NULL, 1));
    ERR(apf_transfer_adam_step(t, NAN));
    ERR(apf_transfer_set_threads(t, -3));
    apf_transfer_free(t);
    ck_assert_int_eq(apf_enhancer_create(NULL, &e), APF_OK); /* NULL u is documented: zeros */
    apf_enhancer_free(e);
    e = NULL;
    ERR(apf_enhancer_create(f, NULL));
    ERR(apf_enhancer_load(NULL, &e));
    ERR(apf_enhancer_load("x.apfm", NULL));
    ERR(apf_enhancer_save(NULL, "x.apfm"));
    apf_enhancer_free(NULL);
    ERR(apf_enhancer_set_universal(NULL, f));
    ERR(apf_enhancer_set_gain(NULL, 0.0f));
    ck_assert_ptr_null(apf_probe_model_at(NULL, 0));
    ck_assert_str_ne(apf_last_error(), "");
    {
        apf_photo_job *job = (apf_photo_job *)1;
        const void *jb;
        size_t js;
        apf_image *ji;
        apf_face jf;
        ERR(apf_photo_job_create(NULL, NULL, NULL, NULL, 0, &job));
        ck_assert_ptr_null(job);
        ERR(apf_photo_job_create(NULL, NULL, NULL, NULL, 0, NULL));
        ERR(apf_photo_job_create(NULL, NULL, NULL, &jf, -1, &job));
        ck_assert_int_eq(apf_photo_job_faces_found(NULL), -1);
        ck_assert_int_eq(apf_photo_job_face_count(NULL), -1);
        ERR(apf_photo_job_face(NULL, 0, &jf));
        ERR(apf_photo_job_gradient_blob(NULL, &jb, &js));
        ERR(apf_photo_job_apply(NULL, "x", 1, 0, &ji));
        ERR(apf_photo_job_apply(NULL, "x", 1, 0, NULL));
        ERR(apf_photo_job_crops(NULL, 0, NULL, NULL, NULL));
        apf_photo_job_free(NULL);
    }
    ERR(apf_enhancer_output(NULL, f));
    ERR(apf_enhancer_backward(NULL, f));
    ERR(apf_enhancer_adam_step(NULL, 1e-4f));
    ERR(apf_cloud_noise(NULL, NULL, NULL, 1, 8.0f, f));
    ERR(apf_cloud_noise(NULL, NULL, g, 1, 8.0f, NULL));
    ERR(apf_cloud_noise(NULL, NULL, g, 0, 8.0f, f));
    ERR(apf_cloud_noise(NULL, NULL, g, INT_MAX, 8.0f, f));
    ERR(apf_cloud_noise(NULL, NULL, g, 1, 0.0f, f));
    ERR(apf_cloud_noise(NULL, NULL, g, 1, NAN, f));
    void *s = NULL;
    size_t n = 0;
    ERR(apf_cloud_filter(NULL, NULL, NULL, 64, &s, &n));
    ERR(apf_cloud_filter(NULL, NULL, junk, 0, &s, &n));
    ERR(apf_cloud_filter(NULL, NULL, junk, sizeof junk, NULL, &n));
    ERR(apf_cloud_filter(NULL, NULL, junk, sizeof junk, &s, NULL));
    ERR(apf_cloud_filter(NULL, NULL, junk, SIZE_MAX, &s, &n));
}
END_TEST

START_TEST(eval_nulls)
{
    uint8_t a[48] = {0};
    float sim[4] = {0};
    double d;
    float thr;
    ERR(apf_ssim(NULL, a, 4, 4, &d, NULL));
    ERR(apf_ssim(a, NULL, 4, 4, &d, NULL));
    ERR(apf_ssim(a, a, 4, 4, NULL, NULL));
    ERR(apf_ssim(a, a, 0, 4, &d, NULL));
    ERR(apf_ssim(a, a, INT_MAX, INT_MAX, &d, NULL));
    ERR(apf_threshold_best_accuracy(NULL, a, 4, &thr, &d));
    ERR(apf_threshold_best_accuracy(sim, NULL, 4, &thr, &d));
    ERR(apf_threshold_best_accuracy(sim, a, 0, &thr, &d));
    ERR(apf_threshold_best_accuracy(sim, a, -1, &thr, &d));
    ERR(apf_threshold_at_far(NULL, a, 4, 0.001, &thr));
    ERR(apf_threshold_at_far(sim, a, 4, 0.001, NULL));
    ERR(apf_threshold_at_far(sim, a, 0, 0.001, &thr));
    ERR(apf_threshold_at_far(sim, a, 4, NAN, &thr));
    apf_evaluator *ev = NULL;
    const char *paths[1] = {NULL};
    ERR(apf_evaluator_create(NULL, 1, 0, &ev));
    ERR(apf_evaluator_create(paths, 1, 0, &ev));
    ERR(apf_evaluator_create(paths, 0, 0, &ev));
    ERR(apf_evaluator_create(paths, INT_MAX, 0, &ev));
    paths[0] = tu_path(tu_models_dir(), "mobileface.apfm");
    ERR(apf_evaluator_create(paths, 1, 0, NULL));
    apf_evaluator_free(NULL);
    ck_assert_int_eq(apf_evaluator_model_count(NULL), 0);
    ck_assert_ptr_null(apf_evaluator_model(NULL, 0));
    ERR(apf_evaluator_similarity(NULL, 0, a, a, 1, 112, sim));
    ERR(apf_evaluator_calibrate(NULL, a, a, a, 2, 112));
    ERR(apf_evaluator_thresholds(NULL, 0, &thr, &d, &thr));
    ERR(apf_evaluator_asr(NULL, 0, a, a, a, 1, 112, &d, NULL, NULL));
    ck_assert_int_eq(apf_evaluator_create(paths, 1, 0, &ev), APF_OK);
    ck_assert_ptr_null(apf_evaluator_model(ev, -1));
    ck_assert_ptr_null(apf_evaluator_model(ev, INT_MAX));
    ERR(apf_evaluator_similarity(ev, 5, a, a, 1, 112, sim));
    ERR(apf_evaluator_similarity(ev, 0, NULL, a, 1, 112, sim));
    ERR(apf_evaluator_similarity(ev, 0, a, a, 0, 112, sim));
    ERR(apf_evaluator_similarity(ev, 0, a, a, INT_MAX, 112, sim));
    ERR(apf_evaluator_similarity(ev, 0, a, a, 1, INT_MAX, sim));
    ERR(apf_evaluator_similarity(ev, 0, a, a, 1, 112, NULL));
    ERR(apf_evaluator_calibrate(ev, a, a, NULL, 2, 112));
    ERR(apf_evaluator_calibrate(ev, a, a, a, 0, 112));
    ERR(apf_evaluator_thresholds(ev, 0, &thr, &d, &thr)); /* not calibrated */
    ERR(apf_evaluator_asr(ev, 0, a, a, a, 1, 112, &d, NULL, NULL)); /* not calibrated */
    ERR(apf_evaluator_asr(ev, 0, a, a, a, 1, 112, NULL, NULL, NULL));
    apf_evaluator_free(ev);
}
END_TEST

START_TEST(face_nulls)
{
    apf_detector *d = NULL;
    apf_face f[2];
    int count = 7;
    double m6[6] = {1, 0, 0, 0, 1, 0}, bad[6] = {0, 0, 0, 0, 0, 0};
    uint8_t crop[112 * 112 * 3];
    int8_t noise[16] = {0};
    float lm[5][2] = {{38, 51}, {73, 51}, {56, 71}, {41, 92}, {70, 92}};
    ERR(apf_detector_create(NULL, &d));
    ERR(apf_detector_create(tu_path(tu_models_dir(), "blazeface.apfm"), NULL));
    ERR(apf_detector_create(tu_path(tu_models_dir(), "mobileface.apfm"), &d)); /* not a detector */
    ck_assert_ptr_null(d);
    apf_detector_free(NULL);
    ERR(apf_detector_set_threads(NULL, 1));
    ERR(apf_detector_set_threshold(NULL, 0.5f));
    ERR(apf_detect_faces(NULL, NULL, f, 2, &count));
    ck_assert_int_eq(apf_detector_create(tu_path(tu_models_dir(), "blazeface.apfm"), &d), APF_OK);
    ERR(apf_detector_set_threshold(d, 0.0f));
    ERR(apf_detector_set_threshold(d, 1.0f));
    ERR(apf_detector_set_threshold(d, NAN));
    ERR(apf_detector_set_threads(d, -1));
    apf_image *im;
    ck_assert_int_eq(apf_image_create(32, 32, &im), APF_OK);
    ERR(apf_detect_faces(d, NULL, f, 2, &count));
    ERR(apf_detect_faces(d, im, NULL, 2, &count));
    ERR(apf_detect_faces(d, im, f, 0, &count));
    ERR(apf_detect_faces(d, im, f, 2, NULL));
    ck_assert_int_eq(apf_detect_faces(d, im, f, 2, &count), APF_OK); /* a black image: no face */
    ck_assert_int_eq(count, 0);
    /* the face check */
    float score = -1;
    const char *mesh = tu_path(tu_models_dir(), "facemesh.apfm");
    ERR(apf_detector_set_face_check(NULL, mesh, 0.5f));
    ERR(apf_detector_set_face_check(d, mesh, -0.1f));
    ERR(apf_detector_set_face_check(d, mesh, 1.0f));
    ERR(apf_detector_set_face_check(d, mesh, NAN));
    ERR(apf_detector_set_face_check(d, "/nonexistent/facemesh.apfm", 0.5f));
    ERR(apf_detector_set_face_check(d, tu_path(tu_models_dir(), "blazeface.apfm"), 0.5f)); /* a detector */
    ERR(apf_detector_set_face_check(d, tu_path(tu_models_dir(), "mobileface.apfm"), 0.5f)); /* 112, 128-d */
    ck_assert_int_eq(apf_detector_rejected_count(NULL), -1);
    ck_assert_int_eq(apf_detector_rejected_count(d), 0);
    ck_assert_int_eq(apf_face_from_landmarks((const float(*)[2])lm, f), APF_OK);
    ERR(apf_detector_face_score(d, im, f, &score)); /* no check set */
    ck_assert_int_eq(apf_detector_set_face_check(d, mesh, 0.5f), APF_OK);
    ERR(apf_detector_face_score(NULL, im, f, &score));
    ERR(apf_detector_face_score(d, NULL, f, &score));
    ERR(apf_detector_face_score(d, im, NULL, &score));
    ERR(apf_detector_face_score(d, im, f, NULL));
    apf_face odd = f[0];
    odd.box[2] = NAN;
    ERR(apf_detector_face_score(d, im, &odd, &score));
    odd = f[0];
    odd.box[2] = odd.box[0], odd.box[3] = odd.box[1]; /* no area */
    ERR(apf_detector_face_score(d, im, &odd, &score));
    ck_assert_int_eq(apf_detector_face_score(d, im, f, &score), APF_OK); /* a black square is no face */
    ck_assert(score >= 0.0f && score < 0.5f);
    ERR(apf_detector_set_face_check(d, "/nonexistent/facemesh.apfm", 0.5f)); /* the old check stays */
    ck_assert_int_eq(apf_detector_face_score(d, im, f, &score), APF_OK);
    ck_assert_int_eq(apf_detector_set_face_check(d, NULL, 0.0f), APF_OK); /* removed */
    ERR(apf_detector_face_score(d, im, f, &score));
    apf_detector_free(d);
    ERR(apf_face_from_landmarks(NULL, f));
    ERR(apf_face_from_landmarks((const float(*)[2])lm, NULL));
    float coincide[5][2] = {{5, 5}, {5, 5}, {5, 9}, {4, 12}, {6, 12}};
    ERR(apf_face_from_landmarks((const float(*)[2])coincide, f));
    lm[2][0] = NAN;
    ERR(apf_face_from_landmarks((const float(*)[2])lm, f));
    ERR(apf_face_align_matrix(NULL, m6));
    ERR(apf_face_align_matrix(f, NULL));
    memset(f, 0, sizeof f);
    ERR(apf_face_align_matrix(f, m6)); /* all landmarks at one point */
    ERR(apf_face_crop(NULL, m6, crop));
    ERR(apf_face_crop(im, NULL, crop));
    ERR(apf_face_crop(im, m6, NULL));
    ERR(apf_face_crop(im, bad, crop));
    ERR(apf_face_add_noise(NULL, im, m6, noise, 8.0f));
    ERR(apf_face_add_noise(im, NULL, m6, noise, 8.0f));
    ERR(apf_face_add_noise(im, im, NULL, noise, 8.0f));
    ERR(apf_face_add_noise(im, im, m6, NULL, 8.0f));
    ERR(apf_face_add_noise(im, im, bad, noise, 8.0f));
    ERR(apf_face_add_noise(im, im, m6, noise, 0.0f));
    ERR(apf_face_add_noise(im, im, m6, noise, 1e9f));
    apf_image_free(im);
}
END_TEST

Suite *nulls_suite(void)
{
    Suite *s = suite_create("nulls");
    TCase *t = tcase_create("nulls");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, core_nulls);
    tcase_add_test(t, model_nulls);
    tcase_add_test(t, end_nulls);
    tcase_add_test(t, cloud_nulls);
    tcase_add_test(t, eval_nulls);
    tcase_add_test(t, face_nulls);
    suite_add_tcase(s, t);
    return s;
}
