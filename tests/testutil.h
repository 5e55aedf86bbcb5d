/* Helpers shared by the Check suites: locating data, reading files. */
#ifndef APF_TESTUTIL_H
#define APF_TESTUTIL_H

#include <stddef.h>

/* Directory of imported models (APF_MODELS_DIR, default <source>/models). */
const char *tu_models_dir(void);
/* The project's shared/ directory (APF_SHARED_DIR, default <source>/../shared). */
const char *tu_shared_dir(void);
/* Path join into a static rotating buffer. */
const char *tu_path(const char *dir, const char *name);
/* Whole file into a malloc'd buffer (NULL on failure). */
void *tu_read_file(const char *path, size_t *size);
/* A scratch directory made for this test process. */
const char *tu_tmpdir(void);
/* Uniform in [-1, 1) from the caller's own linear congruential state, so
 * each suite's values depend only on its own seed. */
float tu_frand(unsigned *state);
/* Sum of a[i] * b[i] over n values, in double. */
double tu_dot(const float *a, const float *b, size_t n);

#endif
