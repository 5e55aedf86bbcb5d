#include "lfw.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Small open-addressing table from path to index, to dedupe images. */
typedef struct strtab {
    char **keys;
    int *vals;
    size_t cap;
} strtab;

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int intern(strtab *t, lfw_set *s, const char *key)
{
    if ((size_t)(s->n_images + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        char **k = calloc(cap, sizeof *k);
        int *v = calloc(cap, sizeof *v);
        for (size_t i = 0; i < t->cap; i++)
            if (t->keys[i]) {
                size_t j = hash(t->keys[i]) & (cap - 1);
                while (k[j])
                    j = (j + 1) & (cap - 1);
                k[j] = t->keys[i];
                v[j] = t->vals[i];
            }
        free(t->keys);
        free(t->vals);
        t->keys = k;
        t->vals = v;
        t->cap = cap;
    }
    size_t j = hash(key) & (t->cap - 1);
    while (t->keys[j]) {
        if (!strcmp(t->keys[j], key))
            return t->vals[j];
        j = (j + 1) & (t->cap - 1);
    }
    char *dup = strdup(key);
    s->paths = realloc(s->paths, (size_t)(s->n_images + 1) * sizeof *s->paths);
    s->paths[s->n_images] = dup;
    t->keys[j] = dup;
    t->vals[j] = s->n_images;
    return s->n_images++;
}

static int image_index(strtab *t, lfw_set *s, const char *root, const char *name, int num)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s_%04d.jpg", root, name, name, num);
    return intern(t, s, path);
}

const char *lfw_root(const char *given, const char *program)
{
    if (given)
        return given;
    const char *e = getenv("APF_LFW");
    if (e && *e)
        return e;
    if (access("../shared/data/lfw/pairs.txt", R_OK) == 0)
        return "../shared/data/lfw";
    fprintf(stderr, "%s: no LFW data: give --lfw DIR (a folder in the LFW layout: aligned112/, "
                    "pairs.txt; see docs/evaluation.md) or set APF_LFW\n", program);
    return NULL;
}

int lfw_fill_paths(const char *given, const char **faces, const char **pairs, const char *program)
{
    static char faces_buf[4096], pairs_buf[4096];
    if (*faces && *pairs)
        return 0;
    const char *root = lfw_root(given, program);
    if (!root)
        return -1;
    snprintf(faces_buf, sizeof faces_buf, "%s/aligned112", root);
    snprintf(pairs_buf, sizeof pairs_buf, "%s/pairs.txt", root);
    *faces = *faces ? *faces : faces_buf;
    *pairs = *pairs ? *pairs : pairs_buf;
    return 0;
}

apf_status lfw_load(const char *pairs_path, const char *root, int fold, lfw_set *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(pairs_path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", pairs_path);
        return APF_E_IO;
    }
    int folds = 0, per = 0;
    char line[1024];
    if (!fgets(line, sizeof line, f) || sscanf(line, "%d %d", &folds, &per) != 2 || folds < 1 ||
        per < 1 || (fold && fold > folds)) {
        fclose(f);
        fprintf(stderr, "%s: bad header or fold %d\n", pairs_path, fold);
        return APF_E_FORMAT;
    }
    strtab t = {0};
    int line_no = 0;
    while (fgets(line, sizeof line, f)) {
        int k = line_no++ / (2 * per) + 1;
        if (fold && k != fold)
            continue;
        char n1[512], n2[512];
        int i, j;
        lfw_pair p;
        if (sscanf(line, "%511s %d %511s %d", n1, &i, n2, &j) == 4) {
            p.a = image_index(&t, out, root, n1, i);
            p.b = image_index(&t, out, root, n2, j);
            p.same = 0;
        } else if (sscanf(line, "%511s %d %d", n1, &i, &j) == 3) {
            p.a = image_index(&t, out, root, n1, i);
            p.b = image_index(&t, out, root, n1, j);
            p.same = 1;
        } else {
            continue;
        }
        out->pairs = realloc(out->pairs, (size_t)(out->n_pairs + 1) * sizeof *out->pairs);
        out->pairs[out->n_pairs++] = p;
    }
    fclose(f);
    free(t.keys);
    free(t.vals);
    return out->n_pairs ? APF_OK : APF_E_FORMAT;
}

void lfw_free(lfw_set *s)
{
    for (int i = 0; i < s->n_images; i++)
        free(s->paths[i]);
    free(s->paths);
    free(s->pairs);
    memset(s, 0, sizeof *s);
}

apf_status lfw_read_faces(const lfw_set *s, int first, int count, int size, float *out)
{
    for (int k = 0; k < count; k++) {
        apf_image *im = NULL;
        apf_status st = apf_image_load(s->paths[first + k], &im);
        if (st) {
            fprintf(stderr, "%s\n", apf_last_error());
            return st;
        }
        int w = apf_image_width(im), h = apf_image_height(im);
        const uint8_t *px = apf_image_pixels_const(im);
        float *dst = out + (size_t)k * size * size * 3;
        if (w == size && h == size) {
            for (size_t q = 0; q < (size_t)size * size * 3; q++)
                dst[q] = px[q];
        } else {
            float *tmp = malloc((size_t)w * h * 3 * sizeof(float));
            for (size_t q = 0; q < (size_t)w * h * 3; q++)
                tmp[q] = px[q];
            apf_resize(tmp, h, w, 3, dst, size, size, 0);
            free(tmp);
        }
        apf_image_free(im);
    }
    return APF_OK;
}

static int cmp_desc(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a < b) - (a > b);
}

double lfw_best_accuracy(const float *sim, const lfw_pair *pairs, int n, float *threshold)
{
    /* Try every midpoint between consecutive sorted similarities. */
    float *s = malloc((size_t)n * sizeof *s);
    memcpy(s, sim, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_desc);
    int best = -1;
    float best_t = 0;
    for (int k = 0; k <= n; k++) {
        float t = k == 0 ? s[0] + 1e-3f : (k == n ? s[n - 1] - 1e-3f : 0.5f * (s[k - 1] + s[k]));
        int correct = 0;
        for (int i = 0; i < n; i++)
            correct += (sim[i] >= t) == pairs[i].same;
        if (correct > best) {
            best = correct;
            best_t = t;
        }
    }
    free(s);
    if (threshold)
        *threshold = best_t;
    return (double)best / n;
}

float lfw_dot(const float *x, const float *y, int dim)
{
    double s = 0;
    for (int k = 0; k < dim; k++)
        s += (double)x[k] * y[k];
    return (float)s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is identity `id` among the photos of a loaded fold? */
static int in_set(const lfw_set *s, const char *root, const char *id)
{
    size_t rl = strlen(root), il = strlen(id);
    for (int i = 0; i < s->n_images; i++) {
        const char *p = s->paths[i] + rl + 1;
        if (!strncmp(p, id, il) && p[il] == '/')
            return 1;
    }
    return 0;
}

apf_status lfw_training_set(const char *root, const lfw_set *const *excluded, int n_excluded,
                            unsigned long long seed, int n, int multiple, lfw_set *out, int *total, int *ids)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(root);
    if (!d)
        return APF_E_IO;
    int nids = 0, nphotos = 0, cap = 4096;
    char **photos = malloc(cap * sizeof *photos);
    char path[4096];
    for (struct dirent *de; photos && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        int skip = 0;
        for (int k = 0; k < n_excluded && !skip; k++)
            skip = excluded[k] && in_set(excluded[k], root, de->d_name);
        if (skip || snprintf(path, sizeof path, "%s/%s", root, de->d_name) >= (int)sizeof path)
            continue;
        DIR *pd = opendir(path);
        if (!pd)
            continue;
        nids++;
        for (struct dirent *fe; (fe = readdir(pd));) {
            size_t len = strlen(fe->d_name);
            if (fe->d_name[0] == '.' || len < 5 || strcmp(fe->d_name + len - 4, ".jpg"))
                continue;
            if (nphotos == cap) {
                char **p2 = realloc(photos, (size_t)(cap *= 2) * sizeof *photos);
                if (!p2)
                    break;
                photos = p2;
            }
            char full[4096];
            if (snprintf(full, sizeof full, "%s/%s/%s", root, de->d_name, fe->d_name) >= (int)sizeof full)
                continue;
            photos[nphotos++] = strdup(full);
        }
        closedir(pd);
    }
    closedir(d);
    if (!photos)
        return APF_E_NOMEM;
    qsort(photos, nphotos, sizeof *photos, cmp_str);
    unsigned long long r = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = nphotos - 1; i > 0; i--) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int j = (int)((r >> 33) % (unsigned long long)(i + 1));
        char *t = photos[i];
        photos[i] = photos[j], photos[j] = t;
    }
    if (n <= 0 || n > nphotos)
        n = nphotos;
    if (multiple > 1)
        n -= n % multiple;
    out->n_images = n;
    out->paths = malloc((n > 0 ? n : 1) * sizeof *out->paths);
    for (int i = 0; out->paths && i < n; i++)
        out->paths[i] = strdup(photos[i]);
    for (int i = 0; i < nphotos; i++)
        free(photos[i]);
    free(photos);
    if (total)
        *total = nphotos;
    if (ids)
        *ids = nids;
    return out->paths ? APF_OK : APF_E_NOMEM;
}
