/* libFuzzer: the gradient/noise wire decoder, and the cloud filter behind it. */
#include <stdint.h>
#include <stdlib.h>

#include "apf/apf_cloud.h"
#include "apf/apf_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apf_wire_info info;
    int8_t *v = NULL;
    if (apf_wire_decode(data, size, &info, &v) == APF_OK) {
        /* a decoded blob re-encodes */
        void *blob = NULL;
        size_t n = 0;
        if (apf_wire_encode(&info, v, &blob, &n) != APF_OK)
            abort();
        free(blob);
        free(v);
        /* the server's whole job, with T = identity (fast; same checks) */
        void *s = NULL;
        size_t sn = 0;
        if (apf_cloud_filter(NULL, NULL, data, size, &s, &sn) == APF_OK)
            free(s);
    } else if (v) {
        abort();
    }
    return 0;
}
