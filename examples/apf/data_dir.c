#include "data_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int holds(const char *dir, const char *kind, const char *file, char *out, size_t size)
{
    char path[4096];
    if (!dir || !*dir)
        return 0;
    snprintf(path, sizeof path, "%s/%s/%s", dir, kind, file);
    if (access(path, R_OK))
        return 0;
    snprintf(out, size, "%s/%s", dir, kind);
    return 1;
}

int data_dir_find(const char *kind, const char *file, char *out, size_t size)
{
    if (holds(getenv("APF_DATA_DIR"), kind, file, out, size) ||
        holds(APF_INSTALLED_DATA_DIR, kind, file, out, size) ||
        holds(APF_SOURCE_DATA_DIR, kind, file, out, size) || holds(".", kind, file, out, size))
        return 0;
    snprintf(out, size, "%s", kind);
    return -1;
}
