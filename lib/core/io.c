/* Reading a whole (untrusted) file: one place for the checks every loader needs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

apf_status apf_read_file(const char *path, size_t max, const char *what, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return apf_fail(APF_E_IO, "%s: cannot open %s: %s", what, path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return apf_fail(APF_E_IO, "%s: %s is not a regular file", what, path);
    }
    if ((uint64_t)sb.st_size > max) {
        fclose(f);
        return apf_fail(APF_E_LIMIT, "%s: %s is %lld bytes, over the %zu-byte limit", what, path,
                        (long long)sb.st_size, max);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return apf_fail(APF_E_NOMEM, "%s: out of memory for %s", what, path);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return apf_fail(APF_E_IO, "%s: short read on %s", what, path);
    }
    *data = buf;
    *size = n;
    return APF_OK;
}
