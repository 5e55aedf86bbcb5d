/* The options ABI: a caller built against an older, smaller
 * apf_probe_options (here: a struct that ends after `iterations`, guarded
 * by canary bytes) and a newer, larger one both work with this library,
 * and the library never writes past the caller's struct_size. */
#include <check.h>
#include <string.h>

#include "apf/apf_end.h"
#include "testutil.h"

/* What an older header declared: a prefix of today's struct. */
typedef struct older_options {
    size_t struct_size;
    apf_attack attack;
    float eps;
    float step;
    int iterations;
} older_options;

typedef struct guarded {
    older_options o;
    unsigned char canary[64];
} guarded;

static int canary_intact(const guarded *g)
{
    for (size_t i = 0; i < sizeof g->canary; i++)
        if (g->canary[i] != 0xA5)
            return 0;
    return 1;
}

static const char *probe_model(void) { return tu_path(tu_models_dir(), "mobilefacenet.apfm"); }

START_TEST(older_caller)
{
    guarded g;
    memset(&g, 0xA5, sizeof g);
    apf_probe_options_init_size((apf_probe_options *)&g.o, sizeof g.o);
    ck_assert(canary_intact(&g));
    ck_assert_uint_eq(g.o.struct_size, sizeof g.o);
    ck_assert_int_eq(g.o.attack, APF_ATTACK_DI2FGSM);
    ck_assert_float_eq(g.o.eps, 8.0f);
    g.o.eps = 4.0f;
    g.o.iterations = 3;
    apf_probe *p = NULL;
    ck_assert_int_eq(apf_probe_create(probe_model(), (const apf_probe_options *)&g.o, &p), APF_OK);
    /* the fields it set, and defaults for the fields it does not know */
    apf_probe_options full;
    apf_probe_options_init(&full);
    ck_assert_int_eq(apf_probe_get_options(p, &full), APF_OK);
    ck_assert_float_eq(full.eps, 4.0f);
    ck_assert_int_eq(full.iterations, 3);
    ck_assert_float_eq(full.momentum, 1.0f);
    ck_assert_float_eq(full.diversity_prob, 0.5f);
    ck_assert_int_eq(full.enrol_offset, 1);
    ck_assert_uint_eq(full.struct_size, sizeof full);
    /* reading back into the old struct writes only what it holds */
    ck_assert_int_eq(apf_probe_get_options(p, (apf_probe_options *)&g.o), APF_OK);
    ck_assert(canary_intact(&g));
    ck_assert_int_eq(g.o.iterations, 3);
    ck_assert_uint_eq(g.o.struct_size, sizeof g.o);
    apf_probe_free(p);
}
END_TEST

START_TEST(newer_caller)
{
    struct {
        apf_probe_options o;
        int field_from_the_future;
        unsigned char canary[16];
    } n;
    memset(&n, 0xA5, sizeof n);
    size_t size = offsetof(__typeof__(n), canary);
    apf_probe_options_init_size(&n.o, size);
    ck_assert_uint_eq(n.o.struct_size, size);
    ck_assert_int_eq(n.field_from_the_future, 0); /* unknown fields are zeroed */
    for (size_t i = 0; i < sizeof n.canary; i++)
        ck_assert_uint_eq(n.canary[i], 0xA5);
    apf_probe *p = NULL;
    ck_assert_int_eq(apf_probe_create(probe_model(), &n.o, &p), APF_OK);
    apf_probe_free(p);
}
END_TEST

/* The options a probe runs with for an older caller whose struct ends at
 * `end`: what follows is not its memory (NaN-ish garbage here), so the
 * probe must take the defaults there. */
static apf_probe_options options_of_caller_ending_at(size_t end)
{
    apf_probe_options o, full;
    apf_probe_options_init(&o);
    o.struct_size = end;
    memset((char *)&o + end, 0x5A, sizeof o - end);
    apf_probe *p = NULL;
    ck_assert_int_eq(apf_probe_create(probe_model(), &o, &p), APF_OK);
    apf_probe_options_init(&full);
    ck_assert_int_eq(apf_probe_get_options(p, &full), APF_OK);
    apf_probe_free(p);
    return full;
}

START_TEST(uninitialised_and_entry_points)
{
    apf_probe_options o;
    apf_probe_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    apf_probe *p = NULL;
    o.struct_size = 3; /* garbage: too small */
    ck_assert_int_eq(apf_probe_create(probe_model(), &o, &p), APF_E_INVALID);
    o.struct_size = (size_t)1 << 40; /* garbage: absurd */
    ck_assert_int_eq(apf_probe_create(probe_model(), &o, &p), APF_E_INVALID);
    ck_assert_ptr_null(p);
    /* the exported 0.2 function (what old binaries call) writes the 0.2 struct */
    apf_probe_options q;
    memset(&q, 0x5A, sizeof q);
    (apf_probe_options_init)(&q);
    size_t v02 = offsetof(apf_probe_options, random_target); /* 0.2's struct ended at threads */
    ck_assert_uint_eq(q.struct_size, v02);
    ck_assert_float_eq(q.eps, 8.0f);
    ck_assert_uint_eq(((unsigned char *)&q)[v02], 0x5A); /* 0.3's fields not written */
    /* such a caller gets 0.3's defaults for the fields it does not have */
    ck_assert_int_eq(apf_probe_create(probe_model(), &q, &p), APF_OK);
    apf_probe_options full;
    apf_probe_options_init(&full);
    ck_assert_int_eq(apf_probe_get_options(p, &full), APF_OK);
    ck_assert_float_eq(full.random_target, 1.0f);
    ck_assert_int_eq(full.schedule, APF_SCHEDULE_ALL);
    ck_assert_float_eq(full.texture_ssim, 0.0f);
    ck_assert_float_eq(full.g_flip, 0.0f);
    ck_assert_float_eq(full.g_drop, 0.0f);
    apf_probe_free(p);
    p = NULL;
    /* a 1.0 caller: its struct ends at texture_ssim */
    full = options_of_caller_ending_at(offsetof(apf_probe_options, g_flip));
    ck_assert_float_eq(full.g_flip, 0.0f);
    ck_assert_float_eq(full.g_drop, 0.0f);
    /* a 1.2 caller: its struct ends at g_drop */
    full = options_of_caller_ending_at(offsetof(apf_probe_options, smooth_sigma));
    ck_assert_float_eq(full.smooth_sigma, 0.0f);
    /* a 1.3 caller: its struct ends at smooth_sigma */
    full = options_of_caller_ending_at(offsetof(apf_probe_options, reach_budget));
    ck_assert_int_eq(full.reach_budget, 0);
    /* a 1.5 caller: its struct ends at reach_budget */
    full = options_of_caller_ending_at(offsetof(apf_probe_options, diversity_jpeg));
    ck_assert_int_eq(full.diversity_jpeg, 0);
    /* a caller of 1.6 before its SSIM floor: its struct ends at diversity_jpeg */
    full = options_of_caller_ending_at(offsetof(apf_probe_options, ssim_floor));
    ck_assert_float_eq(full.ssim_floor, 0.0f);
    /* a 1.8 caller: its struct ends at ssim_floor (no blur in the diversity) */
    full = options_of_caller_ending_at(offsetof(apf_probe_options, diversity_blur));
    ck_assert_float_eq(full.diversity_blur, 0.0f);
    ck_assert_float_eq(full.diversity_blur_sigma, 1.5f);
    /* too small for init_size: nothing written */
    memset(&q, 0x5A, sizeof q);
    apf_probe_options_init_size(&q, 4);
    ck_assert_uint_eq(((unsigned char *)&q)[0], 0x5A);
    ck_assert_int_eq(apf_version_number(), APF_VERSION_NUMBER);
}
END_TEST

Suite *options_abi_suite(void)
{
    Suite *s = suite_create("options_abi");
    TCase *t = tcase_create("probe_options");
    tcase_add_test(t, older_caller);
    tcase_add_test(t, newer_caller);
    tcase_add_test(t, uninitialised_and_entry_points);
    suite_add_tcase(s, t);
    return s;
}
