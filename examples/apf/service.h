/* The privacy server's request logic, independent of any socket: the HTTP
 * server (apf-server), the apf command's in-process cloud and the fuzzer
 * all call service_handle(), so the in-process default and a real server
 * run the same code. Links libapf-cloud only: it never sees a photo. */
#ifndef APF_SERVICE_H
#define APF_SERVICE_H

#include <stddef.h>

#include "apf/apf_cloud.h"

typedef struct service service;

typedef struct service_config {
    const char *transfer_path;  /* T weights (NULL: identity) */
    const char *enhancer_path;  /* E and u (NULL: none) */
    int workers;                /* concurrent filter calls (one T handle each), >= 1 */
    int threads;                /* CPU threads per filter call (0: OpenMP default) */
    size_t max_body;            /* largest accepted request body in bytes */
} service_config;

/* Defaults: 1 worker, 0 threads, 2 MB bodies (64 faces of g fit in ~400 KB). */
void service_config_init(service_config *c);

/* Load the networks; errors leave a message in apf_last_error(). */
apf_status service_create(const service_config *c, service **out);
void service_free(service *s);

typedef struct service_response {
    int status;                 /* HTTP status */
    const char *content_type;   /* static string */
    void *body;                 /* malloc'd; free with free() */
    size_t body_size;
} service_response;

/* Handle one request:
 *   GET  /health     -> 200 text "ok" and the weights' names
 *   POST /v1/filter  -> 200 noise blob for a gradient blob body
 * Bad blobs give 400 with the library's message (never the payload), an
 * oversize body 413, unknown paths 404, wrong methods 405. Thread-safe: up
 * to `workers` filter calls run at once, more wait for a free network. */
void service_handle(service *s, const char *method, const char *path, const void *body,
                    size_t body_size, service_response *r);

size_t service_max_body(const service *s);

#endif
