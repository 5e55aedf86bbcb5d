/* Status strings and the thread-local last-error message. */
#include <math.h>
#ifdef _OPENMP /* the fuzz build (clang, no OpenMP) leaves it out */
#include <omp.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static _Thread_local char last_error[512];

const char *apf_status_string(apf_status status)
{
    switch (status) {
    case APF_OK: return "ok";
    case APF_E_INVALID: return "invalid argument";
    case APF_E_NOMEM: return "out of memory";
    case APF_E_IO: return "i/o error";
    case APF_E_FORMAT: return "corrupt or unrecognised data";
    case APF_E_UNSUPPORTED: return "unsupported feature";
    case APF_E_CHECKSUM: return "checksum mismatch";
    case APF_E_LIMIT: return "size limit exceeded";
    case APF_E_BACKEND: return "compute backend failure";
    case APF_E_STATE: return "call out of order";
    case APF_E_EXISTS: return "output exists";
    case APF_E_NUMERIC: return "non-finite number";
    }
    return "unknown status";
}

const char *apf_last_error(void)
{
    return last_error;
}

int apf_version_number(void) { return APF_VERSION_NUMBER; }

const char *apf_version_string(void)
{
#define APF_STR2(x) #x
#define APF_STR(x) APF_STR2(x)
    return APF_STR(APF_VERSION_MAJOR) "." APF_STR(APF_VERSION_MINOR) "." APF_STR(APF_VERSION_PATCH);
}

apf_status apf_fail(apf_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

void *apf_calloc(size_t n, size_t size)
{
    size_t total;
    if (apf_mul_size(n, size, &total) || total == 0)
        return NULL;
    return calloc(n, size);
}

int apf_has_nonfinite(const float *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !isfinite(x[i]);
    return bad;
}

int apf_use_threads(int threads)
{
#ifdef _OPENMP
    if (threads > 0) {
        int previous = omp_get_max_threads();
        if (previous != threads)
            omp_set_num_threads(threads);
        return previous;
    }
#else
    (void)threads;
#endif
    return 0;
}

void apf_restore_threads(int previous)
{
#ifdef _OPENMP
    if (previous > 0 && omp_get_max_threads() != previous)
        omp_set_num_threads(previous);
#else
    (void)previous;
#endif
}
