/* libFuzzer: the privacy server's request handler (examples/apf/service.c),
 * fed method, path and body split from the input: byte 0 picks the method,
 * the path runs to the first newline, the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

static service *svc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!svc) {
        service_config c;
        service_config_init(&c);
        c.max_body = 65536; /* small limit so the 413 path is reachable */
        if (service_create(&c, &svc) != APF_OK)
            abort();
    }
    static const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", ""};
    if (size < 1)
        return 0;
    const char *method = methods[data[0] % 6];
    data++, size--;
    const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
    size_t path_len = nl ? (size_t)(nl - data) : (size < 256 ? size : 256);
    char path[257];
    memcpy(path, data, path_len);
    path[path_len] = 0;
    const uint8_t *body = data + path_len + (nl ? 1 : 0);
    size_t body_size = size - path_len - (nl ? 1 : 0);
    service_response r;
    service_handle(svc, method, path, body, body_size, &r);
    if (r.status < 200 || r.status > 599 || !r.content_type || (r.body_size && !r.body))
        abort();
    free(r.body);
    return 0;
}
