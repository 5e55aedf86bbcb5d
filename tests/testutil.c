#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *tu_models_dir(void)
{
    const char *e = getenv("APF_MODELS_DIR");
    return e ? e : APF_SOURCE_DIR "/models";
}

const char *tu_shared_dir(void)
{
    const char *e = getenv("APF_SHARED_DIR");
    return e ? e : APF_SOURCE_DIR "/../shared";
}

const char *tu_path(const char *dir, const char *name)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

void *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
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
