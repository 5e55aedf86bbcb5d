#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

const char *tu_models_dir(void)
{
    const char *e = getenv("APF_MODELS_DIR");
    return e ? e : APF_SOURCE_DIR "/models";
}

/* The shared data folder: $APF_SHARED_DIR, else ../shared beside the source
 * tree, else the repository's own copy of what the suites need (tests/data,
 * made by tools/make-test-data.sh), so a clone with nothing beside it
 * passes too. */
const char *tu_shared_dir(void)
{
    const char *e = getenv("APF_SHARED_DIR");
    if (e && access(e, R_OK) == 0)
        return e;
    if (access(APF_SOURCE_DIR "/../shared/reference", R_OK) == 0)
        return APF_SOURCE_DIR "/../shared";
    return APF_SOURCE_DIR "/tests/data";
}

const char *tu_path(const char *dir, const char *name)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* PATH.gz, decompressed (tests/data keeps the golden tensors compressed). */
static void *read_gz(const char *path, size_t *size)
{
    char gzpath[1100];
    snprintf(gzpath, sizeof gzpath, "%s.gz", path);
    gzFile z = gzopen(gzpath, "rb");
    if (!z)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    int got;
    while (buf && (got = gzread(z, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            char *b = realloc(buf, 2 * cap + 1);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    gzclose(z);
    if (!buf)
        return NULL;
    buf[n] = 0;
    if (size)
        *size = n;
    return buf;
}

void *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return read_gz(path, size);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((n > 0 ? (size_t)n : 0) + 1); /* NUL-terminated for text parsers */
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n > 0 ? n : 0] = 0;
    if (buf && size)
        *size = (size_t)n;
    return buf;
}

const char *tu_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/apf-test-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

float tu_frand(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) / 8388608.0 - 1.0);
}

double tu_dot(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d += (double)a[i] * b[i];
    return d;
}
