/* LFW-layout face folders and pairs files, shared by the benchmark and
 * evaluation programs. Layout: ROOT/<Identity>/<Identity>_NNNN.jpg; pairs
 * file: header "FOLDS N", then per fold N same-person lines "name i j" and N
 * different-person lines "name1 i name2 j". */
#ifndef APF_LFW_H
#define APF_LFW_H

#include "apf/apf_photo.h"

typedef struct lfw_pair {
    int a, b;   /* indices into lfw_set.paths */
    int same;   /* 1 for a positive (same identity) pair */
} lfw_pair;

typedef struct lfw_set {
    int n_pairs;
    lfw_pair *pairs;
    int n_images;
    char **paths;   /* unique image paths */
} lfw_set;

/* The LFW-layout root the programs read (aligned112/, pairs.txt, ...):
 * `given` (a --lfw option), else $APF_LFW, else ../shared/data/lfw when it
 * exists; NULL when there is none, after saying so on stderr with what to
 * give. */
const char *lfw_root(const char *given, const char *program);

/* Fill whichever of *faces (ROOT/aligned112) and *pairs (ROOT/pairs.txt)
 * is NULL from lfw_root(given); the strings live until the next call.
 * Returns -1 (after lfw_root's message) when there is no root. */
int lfw_fill_paths(const char *given, const char **faces, const char **pairs, const char *program);

/* Read fold `fold` (1-based; 0 = every fold) of a pairs file. */
apf_status lfw_load(const char *pairs_path, const char *root, int fold, lfw_set *out);
void lfw_free(lfw_set *s);

/* The training photos: every photo of every identity that appears in none
 * of the `n_excluded` loaded folds, in a fixed order shuffled by `seed` (so
 * any prefix samples identities), the first `n` of them (0: all), rounded
 * down to a multiple of `multiple`. *total and *ids receive how many photos
 * and identities were eligible. The set has paths and no pairs. */
apf_status lfw_training_set(const char *root, const lfw_set *const *excluded, int n_excluded,
                            unsigned long long seed, int n, int multiple, lfw_set *out, int *total, int *ids);

/* Load images [first, first+count) as size x size float RGB (0..255),
 * resizing when the files are of another size. */
apf_status lfw_read_faces(const lfw_set *s, int first, int count, int size, float *out);

/* Best accuracy over thresholds on similarity (match when sim >= t). */
double lfw_best_accuracy(const float *sim, const lfw_pair *pairs, int n, float *threshold);

/* Cosine similarity of two unit vectors. */
float lfw_dot(const float *x, const float *y, int dim);

#endif
