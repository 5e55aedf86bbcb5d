#include "probe_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void probe_list_options_init(apf_probe_options *o)
{
    apf_probe_options_init(o);
    o->iterations = PROBE_LIST_ITERATIONS;
    o->step = PROBE_LIST_STEP;
    o->random_target = PROBE_LIST_RANDOM_TARGET;
    o->smooth_sigma = PROBE_LIST_SMOOTH;
    o->reach_budget = PROBE_LIST_REACH;
    o->diversity_jpeg = PROBE_LIST_JPEG;
    o->ssim_floor = PROBE_LIST_SSIM_FLOOR;
    o->diversity_blur = PROBE_LIST_BLUR;
    o->diversity_blur_sigma = PROBE_LIST_BLUR_SIGMA;
}

/* entry -> path: a bare name (no '/' and no ".apfm") is models_dir/NAME.apfm */
static void entry_path(const char *name, const char *models_dir, char *path, size_t size)
{
    size_t len = strlen(name);
    int bare = !strchr(name, '/') && !(len > 5 && !strcmp(name + len - 5, ".apfm"));
    if (bare)
        snprintf(path, size, "%s/%s.apfm", models_dir ? models_dir : "models", name);
    else
        snprintf(path, size, "%s", name);
}

/* The ':' that starts an entry's weight (and samples): the first one
 * after the path's last '/', or NULL. */
static char *suffix_colon(char *entry)
{
    char *slash = strrchr(entry, '/');
    return strchr(slash ? slash : entry, ':');
}

/* The count after the ':' at *at (samples, period): 1..max, followed by
 * the entry's end or, when another field may follow, a ':'. On success
 * *at is past it. */
static int count_field(char **at, long max, int more, long *value)
{
    char *end;
    *value = strtol(*at + 1, &end, 10);
    if (end == *at + 1 || (*end && !(more && *end == ':')) || *value < 1 || *value > max)
        return 0;
    *at = end;
    return 1;
}

apf_status probe_list_create(const char *list, const char *models_dir, const apf_probe_options *opt,
                             apf_probe **out, char *msg, size_t msg_size)
{
    *out = NULL;
    msg[0] = 0;
    char buf[4096];
    if (!list || !*list || strlen(list) >= sizeof buf) {
        snprintf(msg, msg_size, "probe models: empty or too long list");
        return APF_E_INVALID;
    }
    snprintf(buf, sizeof buf, "%s", list);
    apf_probe *p = NULL;
    apf_status st = APF_OK;
    char *save = NULL;
    for (char *e = strtok_r(buf, ",", &save); e && !st; e = strtok_r(NULL, ",", &save)) {
        float w = 1.0f;
        long samples = 1, period = 1;
        char *colon = suffix_colon(e);
        if (colon) {
            char *end;
            w = strtof(colon + 1, &end);
            if (*end == ':' && !count_field(&end, APF_PROBE_MAX_SAMPLES, 1, &samples)) {
                snprintf(msg, msg_size, "probe models: bad samples in '%s' (1..%d)", e, APF_PROBE_MAX_SAMPLES);
                st = APF_E_INVALID;
                break;
            }
            if (*end == ':' && !count_field(&end, APF_PROBE_MAX_PERIOD, 0, &period)) {
                snprintf(msg, msg_size, "probe models: bad period in '%s' (1..%d)", e, APF_PROBE_MAX_PERIOD);
                st = APF_E_INVALID;
                break;
            }
            if (end == colon + 1 || *end) {
                snprintf(msg, msg_size, "probe models: bad weight in '%s'", e);
                st = APF_E_INVALID;
                break;
            }
            *colon = 0;
        }
        char path[4096];
        entry_path(e, models_dir, path, sizeof path);
        if (!p) {
            if (w != 1.0f) {
                snprintf(msg, msg_size, "probe models: the first model's weight is 1");
                st = APF_E_INVALID;
            } else {
                st = apf_probe_create(path, opt, &p);
            }
        } else {
            st = apf_probe_add_model(p, path, w);
        }
        if (!st && samples > 1)
            st = apf_probe_set_model_samples(p, apf_probe_model_count(p) - 1, (int)samples);
        if (!st && period > 1)
            st = apf_probe_set_model_period(p, apf_probe_model_count(p) - 1, (int)period);
        if (st && !*msg)
            snprintf(msg, msg_size, "%s: %s", path, apf_last_error());
    }
    if (st) {
        apf_probe_free(p);
        return st;
    }
    *out = p;
    return APF_OK;
}

void probe_list_first_path(const char *list, const char *models_dir, char *path, size_t size)
{
    char first[4096];
    snprintf(first, sizeof first, "%s", list ? list : "");
    first[strcspn(first, ",")] = 0;
    char *colon = suffix_colon(first);
    if (colon && colon != first)
        *colon = 0; /* a weight (and samples) */
    entry_path(first, models_dir, path, size);
}

const char *const bundled_recognizer[BUNDLED_RECOGNIZERS] = {"mobilefacenet", "faceres", "mobileface",
                                                               "faceapi-recognition"};

void bundled_recognizer_paths(const char *models_dir, char buf[][4096], const char *paths[BUNDLED_RECOGNIZERS])
{
    for (int k = 0; k < BUNDLED_RECOGNIZERS; k++) {
        snprintf(buf[k], 4096, "%s/%s.apfm", models_dir, bundled_recognizer[k]);
        paths[k] = buf[k];
    }
}

unsigned long long probe_list_hash(const char *list)
{
    unsigned long long h = 1469598103934665603ull;
    for (const char *c = list; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    return h;
}
