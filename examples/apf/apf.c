/* apf: protect whole photos from face recognition.
 *
 *   apf protect [options] PHOTO... | DIR    protect photos (the main command)
 *   apf eval ARGS...                        run apf-eval (LFW evaluation tables)
 *   apf train ARGS...                       run apf-train (cloud-side training)
 *   apf version
 *
 * `apf protect --help` lists the options. Each photo is written as soon as
 * it is done, beside it as NAME.protected.EXT (or into --out DIR), through a
 * temporary file and a link that never replaces an existing file; a photo
 * whose output already exists is skipped, so an interrupted batch resumes.
 * One photo's failure does not stop the batch. With --server the photo
 * stays here and only the gradient blob is sent; without it the cloud half
 * runs in-process through the same request handler. */
#include <dirent.h>
#include <glob.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloud_client.h"
#include "data_dir.h"
#include "decoy_file.h"
#include "progress.h"
#include "protect.h"
#include "probe_list.h"
#include "wait_policy.h"

typedef struct args {
    protect_options popt;
    const char *weights, *decoys, *server, *out_dir, *suffix, *format, *landmarks, *boxes;
    long timeout;
    double max_megapixels;
    int quality, quiet, recurse, strict, json;
    int g_pad; /* CLOUD_PAD_* */
} args;

static int usage_protect(FILE *f)
{
    fprintf(f,
        "usage: apf protect [options] PHOTO... | DIR\n"
        "  --models DIR        face models (default: $APF_DATA_DIR/models, the installed data\n"
        "                      directory, the source tree, ./models)\n"
        "  --weights DIR       in-process cloud: T (DIR/transfer.apfm) and E(u) (DIR/enhancer.apfm,\n"
        "                      when present); 'shipped' for the installed weights. Default: none, the\n"
        "                      cloud passes eps * g through (docs/protection.md says why)\n"
        "  --server URL        send gradient blobs to an apf-server (e.g. http://127.0.0.1:8750)\n"
        "  --timeout SECONDS   server timeout (default 60)\n"
        "  --g-pad MODE        auto (default): when the server computes s = eps * g (its /health says\n"
        "                      transfer=identity), send g under a one-time random sign pad so the\n"
        "                      server learns nothing of the face; on: require that; off: send g\n"
        "  --attack NAME       fgsm, i-fgsm, mi-fgsm, di2-fgsm (default), m-di2-fgsm\n"
        "  --eps N             strength: L-inf budget in 0..255 units (default 8)\n"
        "  --iterations N      attack iterations (default " PROBE_LIST_ITERATIONS_S ")\n"
        "  --step N            step per iteration, 0..255 units (default " PROBE_LIST_STEP_S ")\n"
        "  --probe LIST        recognizers the device attacks, NAME-or-FILE[:WEIGHT[:SAMPLES[:PERIOD]]],...\n"
        "                      (default " PROBE_LIST_DEFAULT ")\n"
        "  --random-target W   pull each face toward another person's face (a decoy, drawn per\n"
        "                      photo), so two protected photos of one person do not match each\n"
        "                      other (default " PROBE_LIST_RANDOM_TARGET_S "; 0 = off)\n"
        "  --decoys FILE|none  the decoy faces: a mosaic of 112-pixel aligned faces (default the\n"
        "                      shipped " DECOY_FILE_DEFAULT "); none: random directions instead\n"
        "  --texture-ssim S    weaker noise on smooth areas, aiming at local SSIM S (0.5-0.99;\n"
        "                      default 0 = uniform strength)\n"
        "  --smooth SIGMA      blur each step's gradient by a Gaussian of SIGMA pixels, so the noise\n"
        "                      transfers to other recognizers (0-8; default " PROBE_LIST_SMOOTH_S "; 0 = off)\n"
        "  --reach 0|1         1: move each pixel only as far as the attack moved it (higher SSIM,\n"
        "                      same protection); 0: the whole eps everywhere (default " PROBE_LIST_REACH_S ")\n"
        "  --jpeg-diversity Q  half of a model's further samples see the face re-encoded at JPEG\n"
        "                      quality Q, so the noise survives recompression (1-100; default\n"
        "                      " PROBE_LIST_JPEG_S "; 0 = off)\n"
        "  --ssim-floor S      with --reach 1, weaken the noise of a face whose SSIM to its original\n"
        "                      would fall below S (0.5-0.99; default " PROBE_LIST_SSIM_FLOOR_S "; 0 = off)\n"
        "  --blur-diversity P  blur a share P of the input-diversity draws, so the noise transfers\n"
        "                      to recognizers the device does not hold (0-1; default " PROBE_LIST_BLUR_S ")\n"
        "  --blur-sigma S      the largest of those blurs in pixels (0.1-8; default " PROBE_LIST_BLUR_SIGMA_S ")\n"
        "  --g-flip P          flip the sign of a share P of the gradient sent to --server, so it\n"
        "                      reveals less of the face (0-0.49; default 0; costs protection;\n"
        "                      docs/threat-model.md)\n"
        "  --g-drop P          zero a share P of it instead (0-0.99; default 0)\n"
        "  --seed N            random seed (default 0)\n"
        "  --threads N         CPU threads (default: all)\n"
        "  --out DIR           write into DIR instead of beside each photo\n"
        "  --suffix S          output name suffix (default .protected)\n"
        "  --format F          keep (default), png or jpg\n"
        "  --quality N         JPEG quality for JPEG output, 1-100 (default: as the photo was saved,\n"
        "                      estimated from its JPEG tables, with its chroma resolution; 95 for PNGs)\n"
        "  --landmarks FILE    faces given as lines 'PATH x1 y1 ... x5 y5' (ArcFace order) instead of detection\n"
        "  --boxes FILE        faces given as lines 'PATH x0 y0 x1 y1': landmarks are found inside each box\n"
        "  --min-score F       detector threshold (default 0.5)\n"
        "  --face-check S      leave out detections that do not look like a person's face (an\n"
        "                      animal's): a second network scores each, 0..1; below S it is\n"
        "                      not protected (default 0.2; 0 = protect every detection)\n"
        "  --max-megapixels N  refuse larger photos, from their header (default 50; memory grows\n"
        "                      with the photo: about 150 MB more at 50 MP)\n"
        "  --check C           self-check: none, probe, all (default all)\n"
        "  --retry F           a photo with a face the self-check finds still matched is protected\n"
        "                      again from the original with F times the iterations (2-10, or off,\n"
        "                      the default; needs --check all); the attempt with fewer matches is kept.\n"
        "                      Stronger protection for more device time (docs/app.md)\n"
        "  --keep-metadata K   EXIF to keep beyond camera, date and display data: none (default),\n"
        "                      gps, personal (names, serial numbers, comments, maker notes) or all;\n"
        "                      the EXIF thumbnail is always remade from the protected pixels\n"
        "  -r, --recursive     go into subfolders of the folders named (outputs mirror them)\n"
        "  --strict            a face a bundled recognizer still matches fails its photo (nothing written)\n"
        "  --quiet             only the summary\n"
        "  --json              print one JSON object (per-photo results and totals) instead of text\n"
        "  --files-from FILE   also protect the photos and folders listed in FILE, one per line\n"
        "                      ('-' for standard input; '-' among the photos reads it too)\n"
        "  -h, --help          this text\n"
        "Options may come before or after the photos. With --out, each photo's output mirrors\n"
        "its path under the folder named (a photo named directly goes to DIR/NAME); DIR/.apf-manifest\n"
        "records which input made each output, so a rerun skips only outputs of the same photo.\n"
        "exit status: 0 every photo done, 1 some photo failed (or, with --strict, stayed matched), 2 usage\n");
    return f == stderr ? 2 : 0;
}

/* --out: create it and its parents (mkdir -p), and find out now, before any
 * photo is worked on, whether it is a directory we can write to. */
static int make_out_dir(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        fprintf(stderr, "apf: --out: path too long\n");
        return 1;
    }
    for (char *p = path + 1;; p++) {
        int last = *p == 0;
        if (*p == '/' || last) {
            *p = 0;
            if (mkdir(path, 0755) && errno != EEXIST) {
                fprintf(stderr, "apf: --out %s: cannot create %s: %s\n", dir, path, strerror(errno));
                return 1;
            }
            if (last)
                break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "apf: --out %s: not a directory\n", dir);
        return 1;
    }
    if (access(dir, W_OK | X_OK)) {
        fprintf(stderr, "apf: --out %s: not writable: %s\n", dir, strerror(errno));
        return 1;
    }
    return 0;
}

/* --keep-metadata: a comma-separated list of none, gps, personal, all. */
static int parse_keep(const char *v, unsigned *keep)
{
    *keep = 0;
    char buf[64];
    if (strlen(v) >= sizeof buf)
        return 0;
    strcpy(buf, v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "gps"))
            *keep |= APF_METADATA_KEEP_GPS;
        else if (!strcmp(t, "personal"))
            *keep |= APF_METADATA_KEEP_PERSONAL;
        else if (!strcmp(t, "all"))
            *keep |= APF_METADATA_KEEP_ALL;
        else if (strcmp(t, "none"))
            return 0;
    }
    return 1;
}

/* ---- files ---- */

static int is_photo(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct list {
    char **v;   /* input paths */
    char **rel; /* output name relative to --out (mirrors the folder named) */
    int n, cap;
} list;

static int list_add(list *l, const char *path, const char *rel)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (v)
            l->v = v;
        char **r = v ? realloc(l->rel, (size_t)cap * sizeof *r) : NULL;
        if (!v || !r)
            return -1;
        l->rel = r;
        l->cap = cap;
    }
    l->v[l->n] = strdup(path);
    l->rel[l->n] = strdup(rel);
    if (!l->v[l->n] || !l->rel[l->n]) {
        free(l->v[l->n]);
        free(l->rel[l->n]);
        return -1;
    }
    l->n++;
    return 0;
}

static void list_free(list *l)
{
    for (int k = 0; k < l->n; k++)
        free(l->v[k]), free(l->rel[k]);
    free(l->v);
    free(l->rel);
}

/* The photos inside folder `dir` (rel: its path under the folder named on
 * the command line), sorted; subfolders too when recursing. Symbolic links
 * to folders are not followed (no loops); depth is bounded. Returns the
 * number of entries that could not be read (reported). */
static int walk(const char *dir, const char *rel, const char *suffix, int recurse, int depth, list *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "apf: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    list here = {0};
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && list_add(&here, e->d_name, e->d_name)) {
            closedir(d);
            list_free(&here);
            fprintf(stderr, "apf: out of memory\n");
            return 1;
        }
    closedir(d);
    qsort(here.v, (size_t)here.n, sizeof *here.v, cmp_str);
    int bad = 0;
    for (int k = 0; k < here.n; k++) {
        char p[PATH_MAX], r[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, here.v[k]);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", here.v[k]);
        struct stat st;
        if (lstat(p, &st)) {
            fprintf(stderr, "apf: %s: %s\n", p, strerror(errno));
            bad++;
        } else if (S_ISDIR(st.st_mode)) {
            if (recurse && depth < 64)
                bad += walk(p, r, suffix, recurse, depth + 1, out);
        } else if (is_photo(here.v[k]) && !strstr(here.v[k], suffix)) {
            if (stat(p, &st) || !S_ISREG(st.st_mode)) { /* a dangling or looping link */
                fprintf(stderr, "apf: %s: not a readable photo file\n", p);
                bad++;
            } else if (list_add(out, p, r)) {
                bad++;
            }
        }
    }
    list_free(&here);
    return bad;
}

/* Photos named on the command line and the photos inside any folder named.
 * A name that cannot be read is reported and counted, and the rest go on. */
static int collect(int argc, char **argv, const char *suffix, int recurse, list *out)
{
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            fprintf(stderr, "apf: %s: %s\n", argv[i], strerror(errno));
            bad++;
        } else if (S_ISDIR(st.st_mode)) {
            bad += walk(argv[i], "", suffix, recurse, 0, out);
        } else {
            const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
            if (list_add(out, argv[i], base))
                bad++;
        }
    }
    return bad;
}

/* Photos and folders listed in a file (or "-": standard input), one per
 * line; blank lines and lines starting with '#' are skipped. */
static int collect_listed(const char *file, const char *suffix, int recurse, list *out)
{
    FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!f) {
        fprintf(stderr, "apf: --files-from %s: %s\n", file, strerror(errno));
        return 1;
    }
    int bad = 0;
    char line[PATH_MAX + 2];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *name = line;
        bad += collect(1, &name, suffix, recurse, out);
    }
    if (f != stdin)
        fclose(f);
    return bad;
}

/* A JSON string. */
static void json_str(FILE *j, const char *s)
{
    fputc('"', j);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(j, "\\%c", c);
        else if (c < 0x20)
            fprintf(j, "\\u%04x", c);
        else
            fputc(c, j);
    }
    fputc('"', j);
}

/* One photo's result in the --json output. */
static void json_photo(FILE *j, int *first, const char *in, const char *out, const char *status, int faces,
                       int matched, const char *msg, const photo_report *rep)
{
    if (!j)
        return;
    fprintf(j, "%s\n    {\"input\": ", *first ? "" : ",");
    json_str(j, in);
    fprintf(j, ", \"output\": ");
    if (out && *out)
        json_str(j, out);
    else
        fprintf(j, "null");
    fprintf(j, ", \"status\": \"%s\", \"faces_protected\": %d, \"faces_still_matched\": %d, \"message\": ",
            status, faces, matched);
    if (msg)
        json_str(j, msg);
    else
        fprintf(j, "null");
    fprintf(j, ", \"detections_not_person\": %d", rep ? rep->faces_not_person : 0);
    /* --retry: whether the photo was protected a second time, and which attempt was kept */
    fprintf(j, ", \"retried\": %s, \"retry_kept\": %s", rep && rep->retried ? "true" : "false",
            rep && rep->retry_kept ? "true" : "false");
    fprintf(j, "}");
    *first = 0;
}

/* OUT/rel-dir/stem+suffix+ext, or beside the input. */
static void output_path(const args *a, const char *in, const char *rel, apf_image_format fmt, char *out,
                        size_t n)
{
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    char stem[NAME_MAX + 1];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    const char *ext = dot ? strrchr(base, '.') : ".png";
    if (dot)
        *dot = 0;
    if (!strcmp(a->format, "png") || (!strcmp(a->format, "keep") && fmt == APF_IMAGE_PNG))
        ext = ".png";
    else if (!strcmp(a->format, "jpg") || (!strcmp(a->format, "keep") && fmt == APF_IMAGE_JPEG &&
                                          strcasecmp(ext, ".jpg") && strcasecmp(ext, ".jpeg")))
        ext = ".jpg";
    char dir[PATH_MAX];
    if (a->out_dir) {
        const char *slash = strrchr(rel, '/');
        if (slash)
            snprintf(dir, sizeof dir, "%s/%.*s", a->out_dir, (int)(slash - rel), rel);
        else
            snprintf(dir, sizeof dir, "%s", a->out_dir);
    } else {
        char copy[PATH_MAX];
        snprintf(copy, sizeof copy, "%s", in);
        snprintf(dir, sizeof dir, "%s", dirname(copy));
    }
    if (snprintf(out, n, "%s/%s%s%s", dir, stem, a->suffix, ext) >= (int)n)
        out[0] = 0; /* too long: the caller reports it */
}

/* mkdir -p of the folder an output goes into. */
static int make_parent(const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", file);
    char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    *slash = 0;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/* ---- the manifest: which input made each output under --out ---- */

typedef struct manifest {
    char path[PATH_MAX];
    list entries; /* v: output path, rel: the input's real path */
} manifest;

static void manifest_load(manifest *m, const char *out_dir)
{
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s/.apf-manifest", out_dir);
    FILE *f = fopen(m->path, "r");
    char line[2 * PATH_MAX + 4];
    while (f && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (!tab || !nl)
            continue;
        *tab = 0, *nl = 0;
        list_add(&m->entries, line, tab + 1);
    }
    if (f)
        fclose(f);
}

/* The input recorded for an output, or NULL. */
static const char *manifest_source(const manifest *m, const char *out)
{
    for (int k = m->entries.n - 1; k >= 0; k--)
        if (!strcmp(m->entries.v[k], out))
            return m->entries.rel[k];
    return NULL;
}

static void manifest_add(manifest *m, const char *out, const char *in_real)
{
    FILE *f = fopen(m->path, "a");
    if (f) {
        fprintf(f, "%s\t%s\n", out, in_real);
        fclose(f);
    }
    list_add(&m->entries, out, in_real);
}

/* ---- landmarks given by the user ---- */

typedef struct given {
    char *path;
    apf_face face; /* the given landmarks, or (boxes) only face.box */
} given;

static void free_given(given *g, int n)
{
    for (int i = 0; i < n; i++)
        free(g[i].path);
    free(g);
}

/* Lines 'PATH x1 y1 ... x5 y5' (landmarks) or 'PATH x0 y0 x1 y1' (boxes). */
static int load_faces(const char *file, int boxes, given **out, int *count)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "apf: %s: %s\n", file, strerror(errno));
        return -1;
    }
    given *g = NULL;
    int n = 0, cap = 0, lineno = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == 0)
            continue;
        char path[PATH_MAX];
        float l[5][2];
        int want = boxes ? 5 : 11;
        if (sscanf(line, "%4095s %f %f %f %f %f %f %f %f %f %f", path, &l[0][0], &l[0][1], &l[1][0],
                   &l[1][1], &l[2][0], &l[2][1], &l[3][0], &l[3][1], &l[4][0], &l[4][1]) < want) {
            fprintf(stderr, "apf: %s:%d: want PATH and %d numbers\n", file, lineno, want - 1);
            goto fail;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            given *ng = realloc(g, (size_t)cap * sizeof *g);
            if (!ng)
                goto nomem;
            g = ng;
        }
        memset(&g[n], 0, sizeof g[n]);
        if (boxes) {
            memcpy(g[n].face.box, l, 4 * sizeof(float));
            if (!(l[1][0] > l[0][0] && l[1][1] > l[0][1])) {
                fprintf(stderr, "apf: %s:%d: a box needs x1 > x0 and y1 > y0\n", file, lineno);
                goto fail;
            }
        } else if (apf_face_from_landmarks((const float(*)[2])l, &g[n].face)) {
            fprintf(stderr, "apf: %s:%d: %s\n", file, lineno, apf_last_error());
            goto fail;
        }
        if (!(g[n].path = strdup(path)))
            goto nomem;
        n++;
    }
    fclose(f);
    *out = g;
    *count = n;
    return 0;
nomem:
    fprintf(stderr, "apf: %s: out of memory\n", file);
fail:
    fclose(f);
    free_given(g, n);
    return -1;
}

/* Faces listed for this photo: an entry matches when it equals the path or
 * is a suffix of it at a '/' boundary. */
static int faces_for(const given *g, int n, const char *photo, apf_face *faces, int max)
{
    int k = 0;
    size_t pl = strlen(photo);
    for (int i = 0; i < n && k < max; i++) {
        size_t l = strlen(g[i].path);
        if (l <= pl && !strcmp(photo + pl - l, g[i].path) && (l == pl || photo[pl - l - 1] == '/'))
            faces[k++] = g[i].face;
    }
    return k;
}

/* ---- protect ---- */

typedef struct totals {
    int photos, written, skipped, failed, no_face, faces_found, faces_protected, still_matched;
    int not_person; /* detections the face check left out */
    double ssim_sum, ssim_min, sim_sum[PROTECT_MAX_CHECK];
    size_t sent;
} totals;

/* Faces of a protected photo that a bundled recognizer still matches to
 * their original (similarity at or above its LFW threshold): each reported. */
static int still_matched(const protector *pr, const photo_report *rep, const char *in, FILE *info)
{
    int n = 0;
    for (int k = 0; k < rep->faces_protected; k++) {
        int hit = 0;
        for (int m = 0; m < protector_check_count(pr); m++) {
            float thr = protector_check_threshold(pr, m);
            if (rep->faces[k].similarity[m] >= thr) {
                fprintf(info, "%s: face %d is still matched by %s (cosine %.2f >= %.2f): NOT protected against it\n",
                       in, k + 1, protector_check_name(pr, m), rep->faces[k].similarity[m], thr);
                hit = 1;
            }
        }
        n += hit;
    }
    return n;
}

static int cmd_protect(int argc, char **argv)
{
    args a = {0};
    protect_options_init(&a.popt);
    a.popt.probe.threads = 0;
    a.weights = NULL; /* no T: the cloud passes eps * g through */
    a.popt.models_dir = NULL;
    a.suffix = ".protected";
    a.format = "keep";
    a.quality = 0; /* as the source JPEG */
    a.max_megapixels = APF_IMAGE_DEFAULT_MAX_PIXELS / 1e6;
    a.timeout = 60;
    a.g_pad = CLOUD_PAD_AUTO;
    int keep_ok = 1, n_names = 0, only_names = 0;
    const char *files_from = NULL;
    char **names = calloc((size_t)argc + 1, sizeof *names);
    if (!names)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (only_names || o[0] != '-' || !o[1]) { /* a photo or folder (options may follow) */
            names[n_names++] = argv[i];
            continue;
        }
        if (!strcmp(o, "--")) {
            only_names = 1;
            continue;
        }
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            free(names);
            return usage_protect(stdout);
        }
        if (!strcmp(o, "--version")) {
            free(names);
            printf("apf (libapf %s)\n", apf_version_string());
            return 0;
        }
        if (!strcmp(o, "--quiet") || !strcmp(o, "-r") || !strcmp(o, "--recursive") || !strcmp(o, "--strict") ||
            !strcmp(o, "--json")) {
            *(!strcmp(o, "--quiet")    ? &a.quiet
              : !strcmp(o, "--strict") ? &a.strict
              : !strcmp(o, "--json")   ? &a.json
                                       : &a.recurse) = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "apf: %s needs a value (see apf protect --help)\n", o);
            free(names);
            return 2;
        }
        i++;
        char *end = NULL;
        if (!strcmp(o, "--files-from"))
            files_from = v;
        else if (!strcmp(o, "--models"))
            a.popt.models_dir = v;
        else if (!strcmp(o, "--weights"))
            a.weights = v;
        else if (!strcmp(o, "--server"))
            a.server = v;
        else if (!strcmp(o, "--timeout"))
            a.timeout = strtol(v, &end, 10);
        else if (!strcmp(o, "--g-pad")) {
            a.g_pad = !strcmp(v, "auto") ? CLOUD_PAD_AUTO : !strcmp(v, "on") ? CLOUD_PAD_ON
                    : !strcmp(v, "off")  ? CLOUD_PAD_OFF : -1;
            if (a.g_pad < 0) {
                fprintf(stderr, "apf: --g-pad is auto, on or off, not %s\n", v);
                free(names);
                return 2;
            }
        }
        else if (!strcmp(o, "--attack")) {
            if (apf_attack_from_name(v, &a.popt.probe.attack)) {
                fprintf(stderr, "apf: unknown attack %s\n", v);
                return 2;
            }
        } else if (!strcmp(o, "--eps"))
            a.popt.probe.eps = strtof(v, &end);
        else if (!strcmp(o, "--iterations"))
            a.popt.probe.iterations = (int)strtol(v, &end, 10);
        else if (!strcmp(o, "--step"))
            a.popt.probe.step = strtof(v, &end);
        else if (!strcmp(o, "--probe"))
            a.popt.probe_models = v;
        else if (!strcmp(o, "--random-target"))
            a.popt.probe.random_target = strtof(v, &end);
        else if (!strcmp(o, "--decoys"))
            a.decoys = v;
        else if (!strcmp(o, "--texture-ssim"))
            a.popt.probe.texture_ssim = strtof(v, &end);
        else if (!strcmp(o, "--smooth"))
            a.popt.probe.smooth_sigma = strtof(v, &end);
        else if (!strcmp(o, "--reach"))
            a.popt.probe.reach_budget = (int)strtol(v, &end, 10);
        else if (!strcmp(o, "--jpeg-diversity"))
            a.popt.probe.diversity_jpeg = (int)strtol(v, &end, 10);
        else if (!strcmp(o, "--ssim-floor"))
            a.popt.probe.ssim_floor = strtof(v, &end);
        else if (!strcmp(o, "--blur-diversity"))
            a.popt.probe.diversity_blur = strtof(v, &end);
        else if (!strcmp(o, "--blur-sigma"))
            a.popt.probe.diversity_blur_sigma = strtof(v, &end);
        else if (!strcmp(o, "--g-flip"))
            a.popt.probe.g_flip = strtof(v, &end);
        else if (!strcmp(o, "--g-drop"))
            a.popt.probe.g_drop = strtof(v, &end);
        else if (!strcmp(o, "--seed"))
            a.popt.probe.seed = strtoull(v, &end, 10);
        else if (!strcmp(o, "--threads"))
            a.popt.probe.threads = (int)strtol(v, &end, 10);
        else if (!strcmp(o, "--out"))
            a.out_dir = v;
        else if (!strcmp(o, "--suffix"))
            a.suffix = v;
        else if (!strcmp(o, "--format"))
            a.format = v;
        else if (!strcmp(o, "--max-megapixels"))
            a.max_megapixels = strtod(v, &end);
        else if (!strcmp(o, "--quality"))
            a.quality = (int)strtol(v, &end, 10);
        else if (!strcmp(o, "--landmarks"))
            a.landmarks = v;
        else if (!strcmp(o, "--boxes"))
            a.boxes = v;
        else if (!strcmp(o, "--min-score"))
            a.popt.min_score = strtof(v, &end);
        else if (!strcmp(o, "--face-check"))
            a.popt.face_check = strtof(v, &end);
        else if (!strcmp(o, "--keep-metadata"))
            keep_ok = parse_keep(v, &a.popt.keep_metadata);
        else if (!strcmp(o, "--retry"))
            a.popt.retry_factor = !strcmp(v, "off") ? 0 : (int)strtol(v, &end, 10);
        else if (!strcmp(o, "--check"))
            a.popt.check = !strcmp(v, "none") ? 0 : !strcmp(v, "probe") ? 1 : !strcmp(v, "all") ? 2 : -1;
        else {
            fprintf(stderr, "apf: unknown option %s (see apf protect --help)\n", o);
            free(names);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "apf: %s: not a number: %s\n", o, v);
            free(names);
            return 2;
        }
    }
    if (!keep_ok || a.popt.check < 0 || !(a.popt.face_check >= 0 && a.popt.face_check < 1) ||
        a.popt.retry_factor < 0 || a.popt.retry_factor > 10 || (strcmp(a.format, "keep") && strcmp(a.format, "png") && strcmp(a.format, "jpg")) ||
        a.quality < 0 || a.quality > 100 || !(a.max_megapixels >= 0.01 && a.max_megapixels <= 268.5) || !(a.popt.probe.eps > 0 && a.popt.probe.eps <= APF_EPS_MAX) ||
        a.timeout < 1 || a.suffix[0] == 0 || strchr(a.suffix, '/')) {
        fprintf(stderr, "apf: bad option value (see apf protect --help)\n");
        return 2;
    }
    if (n_names == 0 && !files_from) {
        free(names);
        return usage_protect(stderr);
    }
    /* everything released at `out`, whatever path leads there */
    list files = {0}, made = {0}; /* made: outputs of this run, to catch two inputs with one output */
    given *gv = NULL;
    int n_given = 0, rc = 0;
    manifest man;
    memset(&man, 0, sizeof man);
    cloud_client *cloud = NULL;
    protector *pr = NULL;
    FILE *json = NULL;
    char *json_buf = NULL;
    int unreadable = 0;
    for (int k = 0; k < n_names; k++)
        unreadable += strcmp(names[k], "-") ? collect(1, &names[k], a.suffix, a.recurse, &files)
                                            : collect_listed("-", a.suffix, a.recurse, &files);
    if (files_from)
        unreadable += collect_listed(files_from, a.suffix, a.recurse, &files);
    free(names);
    if (a.json)
        a.quiet = 1;
    FILE *info = a.json ? stderr : stdout; /* per-photo notes; with --json stdout is JSON only */
    size_t json_size = 0;
    int json_first = 1;
    if (a.json && !(json = open_memstream(&json_buf, &json_size))) {
        fprintf(stderr, "apf: out of memory\n");
        rc = 1;
        goto out;
    }
    if (files.n == 0) {
        fprintf(stderr, "apf: no photos (.jpg, .jpeg, .png) found\n");
        rc = 1;
        goto out;
    }
    if (a.landmarks && a.boxes) {
        fprintf(stderr, "apf: give --landmarks or --boxes, not both\n");
        rc = 2;
        goto out;
    }
    if ((a.landmarks || a.boxes) && load_faces(a.landmarks ? a.landmarks : a.boxes, a.boxes != NULL, &gv, &n_given)) {
        rc = 1;
        goto out;
    }
    static char models_found[4096], weights_found[4096];
    if (!a.popt.models_dir && data_dir_find("models", "mobilefacenet.apfm", models_found, sizeof models_found))
        fprintf(stderr, "apf: warning: no face models found in $APF_DATA_DIR/models, the installed data "
                        "directory or the source tree (run tools/setup-models.sh, or give --models)\n");
    if (a.weights && !strcmp(a.weights, "shipped")) {
        data_dir_find("weights", "transfer.apfm", weights_found, sizeof weights_found);
        a.weights = weights_found;
    }
    a.popt.models_dir = a.popt.models_dir ? a.popt.models_dir : models_found;
    static char decoys_found[4096];
    if (!a.decoys) {
        if (data_dir_find("weights", "decoys.jpg", decoys_found, sizeof decoys_found) == 0) {
            snprintf(decoys_found + strlen(decoys_found), sizeof decoys_found - strlen(decoys_found), "/decoys.jpg");
            a.popt.decoys = decoys_found;
        } else if (a.popt.probe.random_target > 0)
            fprintf(stderr, "apf: warning: no decoy faces (weights/decoys.jpg) found; pulling toward random "
                            "directions (give --decoys)\n");
    } else if (strcmp(a.decoys, "none"))
        a.popt.decoys = a.decoys;

    if (a.out_dir && make_out_dir(a.out_dir)) {
        rc = 1;
        goto out;
    }
    if (a.out_dir)
        manifest_load(&man, a.out_dir);
    char err[1024], tpath[PATH_MAX], epath[PATH_MAX];
    /* the in-process cloud: T, and E(u) when the weights have one; with
     * no weights T is the identity */
    snprintf(tpath, sizeof tpath, "%s/transfer.apfm", a.weights ? a.weights : ".");
    snprintf(epath, sizeof epath, "%s/enhancer.apfm", a.weights ? a.weights : ".");
    cloud = a.server ? cloud_client_remote(a.server, a.timeout, err, sizeof err)
                     : cloud_client_local(a.weights ? tpath : NULL,
                                          a.weights && !access(epath, R_OK) ? epath : NULL,
                                          a.popt.probe.threads, err, sizeof err);
    if (!cloud || cloud_client_set_pad(cloud, a.g_pad, err, sizeof err)) {
        fprintf(stderr, "apf: %s\n", err);
        rc = 1;
        goto out;
    }
    char msg[512];
    if (a.landmarks || a.boxes)
        a.popt.face_check = 0; /* the caller marked these faces: each is protected */
    if (protector_create(&a.popt, cloud, &pr, msg, sizeof msg)) {
        fprintf(stderr, "apf: %s\n", msg);
        pr = NULL;
        rc = 1;
        goto out;
    }
    if (!a.quiet)
        printf("protecting %d photo%s (%s on %d recognizer%s, eps %g, cloud: %s%s)\n", files.n,
               files.n == 1 ? "" : "s", apf_attack_name(a.popt.probe.attack), apf_probe_model_count(protector_probe(pr)),
               apf_probe_model_count(protector_probe(pr)) == 1 ? "" : "s", a.popt.probe.eps,
               a.server ? a.server : "in-process",
               a.server ? (cloud_client_padded(cloud) ? ", gradients padded" : "")
                        : a.weights ? ", T from --weights" : ", T = identity");
    totals t = {0};
    t.ssim_min = 1;
    t.failed = unreadable;
    progress pg;
    progress_start(&pg, files.n);
    for (int f = 0; f < files.n; f++) {
        const char *in = files.v[f];
        t.photos++;
        apf_image *photo = NULL, *prot = NULL;
        char out[PATH_MAX];
        photo_report rep;
        const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
        if (apf_image_load_max(in, (uint64_t)(a.max_megapixels * 1e6), &photo)) {
            progress_clear(&pg);
            fprintf(stderr, "apf: %s\n", apf_last_error()); /* the message names the file */
            json_photo(json, &json_first, in, NULL, "failed", 0, 0, apf_last_error(), NULL);
            t.failed++;
            progress_step(&pg, base);
            continue;
        }
        output_path(&a, in, files.rel[f], apf_image_source_format(photo), out, sizeof out);
        if (!out[0]) {
            progress_clear(&pg);
            fprintf(stderr, "apf: %s: output path too long\n", in);
            json_photo(json, &json_first, in, NULL, "failed", 0, 0, "output path too long", NULL);
            t.failed++;
            apf_image_free(photo);
            progress_step(&pg, base);
            continue;
        }
        char in_real[PATH_MAX];
        if (!realpath(in, in_real))
            snprintf(in_real, sizeof in_real, "%s", in);
        const char *clash = NULL;
        for (int k = 0; k < made.n && !clash; k++)
            if (!strcmp(made.v[k], out))
                clash = made.rel[k];
        if (clash) {
            progress_clear(&pg);
            fprintf(stderr, "apf: %s: its output %s is also %s's: NOT protected (rename one)\n", in, out, clash);
            json_photo(json, &json_first, in, out, "failed", 0, 0, "another input of this run has the same output", NULL);
            t.failed++;
            apf_image_free(photo);
            progress_step(&pg, base);
            continue;
        }
        if (access(out, F_OK) == 0) {
            /* beside the input, an output of this name comes from this photo;
             * under --out, the manifest says which photo made it */
            const char *src = a.out_dir ? manifest_source(&man, out) : in_real;
            progress_clear(&pg);
            if (src && !strcmp(src, in_real)) {
                if (!a.quiet)
                    printf("%s: skipped, %s exists (already protected)\n", in, out);
                json_photo(json, &json_first, in, out, "skipped", 0, 0, "already protected", NULL);
                t.skipped++;
            } else {
                fprintf(stderr, "apf: %s: %s exists and was made from %s, not from this photo: NOT protected\n",
                        in, out, src ? src : "a photo apf has no record of");
                json_photo(json, &json_first, in, out, "failed", 0, 0, "the output exists and was made from another photo", NULL);
                t.failed++;
            }
            list_add(&made, out, in);
            apf_image_free(photo);
            progress_step(&pg, base);
            continue;
        }
        list_add(&made, out, in);
        /* a batch killed mid-write leaves OUT.tmp-XXXXXX (never OUT itself): clear it */
        char pattern[PATH_MAX + 16];
        snprintf(pattern, sizeof pattern, "%s.tmp-??????", out);
        glob_t gl;
        if (glob(pattern, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &gl) == 0)
            for (size_t k = 0; k < gl.gl_pathc; k++)
                unlink(gl.gl_pathv[k]);
        globfree(&gl);
        apf_face fl[PROTECT_MAX_FACES];
        int matched = 0;
        int given_mode = a.landmarks || a.boxes;
        int nf = given_mode ? faces_for(gv, n_given, in, fl, PROTECT_MAX_FACES) : 0;
        apf_status st = APF_OK;
        if (a.boxes && nf > 0) { /* find the landmarks inside each given box */
            float bx[PROTECT_MAX_FACES][4];
            int found[PROTECT_MAX_FACES], nb = nf;
            for (int k = 0; k < nb; k++)
                memcpy(bx[k], fl[k].box, sizeof bx[k]);
            st = protect_faces_in_boxes(pr, photo, (const float(*)[4])bx, nb, fl, found, &nf);
            for (int k = 0; !st && k < nb; k++)
                if (!found[k]) {
                    progress_clear(&pg);
                    fprintf(info, "%s: no face found in box %d (%.0f %.0f %.0f %.0f): that face is NOT protected\n", in,
                           k + 1, bx[k][0], bx[k][1], bx[k][2], bx[k][3]);
                }
        }
        if (st)
            snprintf(err, sizeof err, "%s", apf_last_error());
        else if (given_mode && nf == 0)
            memset(&rep, 0, sizeof rep);
        else
            st = protect_photo(pr, photo, given_mode ? fl : NULL, nf, &prot, &rep, err, sizeof err);
        progress_clear(&pg);
        if (!st && rep.faces_not_person) {
            t.not_person += rep.faces_not_person;
            if (!a.quiet || !prot)
                fprintf(info, "%s: %d detection%s not taken for a person's face (face check below %.2f): "
                              "left as %s\n", in, rep.faces_not_person, rep.faces_not_person == 1 ? "" : "s",
                        a.popt.face_check, rep.faces_not_person == 1 ? "it is" : "they are");
        }
        if (st) {
            fprintf(stderr, "apf: %s: %s\n", in, err);
            json_photo(json, &json_first, in, out, "failed", 0, 0, err, NULL);
            t.failed++;
        } else if (!prot) {
            if (given_mode)
                fprintf(info, "%s: no face from %s for it: NOT protected, nothing written\n", in,
                       a.landmarks ? a.landmarks : a.boxes);
            else
                fprintf(info, "%s: no %sface found: NOT protected, nothing written\n", in,
                        rep.faces_not_person ? "person's " : "");
            json_photo(json, &json_first, in, NULL, "no_face", 0, 0, "no face: NOT protected, nothing written", &rep);
            t.no_face++;
        } else if ((matched = still_matched(pr, &rep, in, info)) && a.strict) {
            fprintf(stderr, "apf: %s: %d face%s still matched (--strict): nothing written\n", in, matched,
                    matched == 1 ? "" : "s");
            json_photo(json, &json_first, in, NULL, "failed", rep.faces_protected, matched, "still matched (--strict): nothing written", &rep);
            t.failed++;
            t.still_matched += matched;
        } else if (make_parent(out)) {
            fprintf(stderr, "apf: %s: cannot create the folder of %s: %s\n", in, out, strerror(errno));
            json_photo(json, &json_first, in, out, "failed", 0, 0, strerror(errno), NULL);
            t.failed++;
        } else if (apf_image_save(prot, out, a.quality)) {
            fprintf(stderr, "apf: %s: %s\n", in, apf_last_error());
            json_photo(json, &json_first, in, out, "failed", 0, 0, apf_last_error(), NULL);
            t.failed++;
        } else {
            t.still_matched += matched;
            json_photo(json, &json_first, in, out, "written", rep.faces_protected, matched, NULL, &rep);
            if (a.out_dir)
                manifest_add(&man, out, in_real);
            t.written++;
            t.faces_found += rep.faces_found;
            t.faces_protected += rep.faces_protected;
            t.sent += rep.bytes_sent;
            for (int k = 0; k < rep.faces_protected; k++) {
                t.ssim_sum += rep.faces[k].ssim;
                t.ssim_min = fmin(t.ssim_min, rep.faces[k].ssim);
                for (int m = 0; m < protector_check_count(pr); m++)
                    t.sim_sum[m] += rep.faces[k].similarity[m];
            }
            if (!a.quiet) {
                printf("%s -> %s: %d face%s protected", in, out, rep.faces_protected,
                       rep.faces_protected == 1 ? "" : "s");
                if (rep.faces_found > rep.faces_protected)
                    printf(" (%d found; over %d per photo NOT protected)", rep.faces_found, PROTECT_MAX_FACES);
                double ssim = 0;
                for (int k = 0; k < rep.faces_protected; k++)
                    ssim += rep.faces[k].ssim / rep.faces_protected;
                printf(", SSIM %.3f, sent %zu B, %.0f ms", ssim, rep.bytes_sent, rep.ms);
                if (rep.retried)
                    printf(" (protected again with %dx the iterations: %d -> %d matches%s)", a.popt.retry_factor,
                           rep.matched_first, rep.matched, rep.retry_kept ? "" : ", the first kept");
                printf("\n");
            }
        }
        apf_image_free(prot);
        apf_image_free(photo);
        fflush(stdout);
        progress_step(&pg, base);
    }
    progress_end(&pg);
    double el = progress_elapsed(&pg);
    if (json) {
        fclose(json);
        json = NULL;
        printf("{\n  \"photos\": %d, \"written\": %d, \"skipped\": %d, \"no_face\": %d, \"failed\": %d,\n"
               "  \"faces_found\": %d, \"faces_protected\": %d, \"faces_still_matched\": %d,\n"
               "  \"detections_not_person\": %d,\n"
               "  \"ssim_mean\": %.4f, \"ssim_min\": %.4f, \"bytes_sent_per_face\": %.0f, \"seconds\": %.2f,\n"
               "  \"results\": [%s\n  ]\n}\n",
               t.photos, t.written, t.skipped, t.no_face, t.failed, t.faces_found, t.faces_protected,
               t.still_matched, t.not_person, t.faces_protected ? t.ssim_sum / t.faces_protected : 0,
               t.faces_protected ? t.ssim_min : 0, t.faces_protected ? (double)t.sent / t.faces_protected : 0,
               el, json_buf ? json_buf : "");
    } else {
    printf("summary: %d photo%s, %d written, %d skipped (existing output), %d with no face, %d failed; "
           "%d face%s found, %d protected",
           t.photos, t.photos == 1 ? "" : "s", t.written, t.skipped, t.no_face, t.failed, t.faces_found,
           t.faces_found == 1 ? "" : "s", t.faces_protected);
    if (t.not_person)
        printf(" (%d more detection%s not taken for a person's face)", t.not_person, t.not_person == 1 ? "" : "s");
    if (t.faces_protected) {
        printf("; SSIM mean %.3f min %.3f; sent %.0f B/face; %.2f s/photo\n", t.ssim_sum / t.faces_protected,
               t.ssim_min, (double)t.sent / t.faces_protected, el / (t.photos ? t.photos : 1));
        if (protector_check_count(pr)) {
            printf("self-check (cosine similarity original vs protected, mean; a match is typically > 0.3-0.5):");
            for (int m = 0; m < protector_check_count(pr); m++)
                printf(" %s %.3f", protector_check_name(pr, m), t.sim_sum[m] / t.faces_protected);
            printf("\n");
        }
    } else {
        printf("\n");
    }
    }
    if (cloud_client_retries(cloud) && !a.json && !a.quiet)
        printf("cloud: %u request%s retried (the server was unreachable or busy for a moment)\n",
               cloud_client_retries(cloud), cloud_client_retries(cloud) == 1 ? "" : "s");
    if (t.still_matched && !a.json) {
        printf("WARNING: %d protected face%s still matched by a bundled recognizer (see the lines above)%s\n",
               t.still_matched, t.still_matched == 1 ? " is" : "s are",
               a.strict ? "; with --strict those photos were not written" : "");
        /* Say what the user can do about it: a second attempt from the
         * original with more iterations leaves fewer matches (docs/app.md),
         * at a cost paid only for the photos that need it. */
        if (!a.popt.retry_factor && a.popt.check == 2) /* --retry needs --check all */
            printf("  --retry 2 protects such photos again from the original with twice the iterations "
                   "(more device time for those photos only; docs/app.md)\n");
    }
    rc = t.failed ? 1 : 0;
out:
    if (json) /* left open by an early exit */
        fclose(json);
    free(json_buf);
    protector_free(pr);
    cloud_client_free(cloud);
    list_free(&files);
    list_free(&made);
    list_free(&man.entries);
    free_given(gv, n_given);
    return rc;
}

/* apf eval / apf train: the programs of the evaluation and cloud issues,
 * installed beside this one. */
static int run_sibling(const char *name, int argc, char **argv)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "apf: cannot locate myself\n");
        return 1;
    }
    self[n] = 0;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dirname(self), name);
    char **av = calloc((size_t)argc + 2, sizeof *av);
    if (!av)
        return 1;
    av[0] = path;
    for (int i = 0; i < argc; i++)
        av[i + 1] = argv[i];
    execv(path, av);
    fprintf(stderr, "apf: cannot run %s: %s\n", path, strerror(errno));
    free(av);
    return 1;
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
        printf("usage: apf protect [options] PHOTO... | DIR\n"
               "       apf eval ARGS...    (apf-eval: LFW evaluation)\n"
               "       apf train ARGS...   (apf-train: cloud training)\n"
               "       apf version | --version\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "protect"))
        return cmd_protect(argc - 2, argv + 2);
    if (!strcmp(argv[1], "eval"))
        return run_sibling("apf-eval", argc - 2, argv + 2);
    if (!strcmp(argv[1], "train"))
        return run_sibling("apf-train", argc - 2, argv + 2);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("apf (libapf %s)\n", apf_version_string());
        return 0;
    }
    fprintf(stderr, "apf: unknown command %s (try apf help)\n", argv[1]);
    return 2;
}
