/* Request logic of the privacy server (service.h). */
#include "service.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct service {
    service_config cfg;
    apf_transfer **pool; /* cfg.workers networks; a NULL entry means T = identity */
    int *busy;
    apf_enhancer *enhancer; /* read-only during filtering: shared */
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

void service_config_init(service_config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 1;
    c->max_body = 2u << 20;
}

void service_free(service *s)
{
    if (!s)
        return;
    for (int i = 0; s->pool && i < s->cfg.workers; i++)
        apf_transfer_free(s->pool[i]);
    free(s->pool);
    free(s->busy);
    apf_enhancer_free(s->enhancer);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    free(s);
}

apf_status service_create(const service_config *c, service **out)
{
    *out = NULL;
    if (!c || c->workers < 1 || c->workers > 256 || c->max_body < 64)
        return APF_E_INVALID;
    service *s = calloc(1, sizeof *s);
    if (!s)
        return APF_E_NOMEM;
    s->cfg = *c;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    s->pool = calloc((size_t)c->workers, sizeof *s->pool);
    s->busy = calloc((size_t)c->workers, sizeof *s->busy);
    apf_status st = (s->pool && s->busy) ? APF_OK : APF_E_NOMEM;
    for (int i = 0; !st && c->transfer_path && i < c->workers; i++) {
        st = apf_transfer_load(c->transfer_path, &s->pool[i]);
        if (!st && c->threads > 0)
            st = apf_transfer_set_threads(s->pool[i], c->threads);
    }
    if (!st && c->enhancer_path)
        st = apf_enhancer_load(c->enhancer_path, &s->enhancer);
    if (st) {
        service_free(s);
        return st;
    }
    *out = s;
    return APF_OK;
}

size_t service_max_body(const service *s) { return s->cfg.max_body; }

static void reply(service_response *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->body = malloc((size_t)n + 1);
    r->body_size = r->body ? (size_t)n + 1 : 0;
    if (r->body) {
        memcpy(r->body, msg, (size_t)n);
        ((char *)r->body)[n] = '\n';
    }
}

/* Take a free network (blocking while all are busy) and give it back. */
static int acquire(service *s)
{
    pthread_mutex_lock(&s->lock);
    int k;
    for (;;) {
        for (k = 0; k < s->cfg.workers && s->busy[k]; k++)
            ;
        if (k < s->cfg.workers)
            break;
        pthread_cond_wait(&s->freed, &s->lock);
    }
    s->busy[k] = 1;
    pthread_mutex_unlock(&s->lock);
    return k;
}

static void release(service *s, int k)
{
    pthread_mutex_lock(&s->lock);
    s->busy[k] = 0;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* HTTP status for a library failure on client data. */
static int http_status(apf_status st)
{
    switch (st) {
    case APF_E_NOMEM: case APF_E_BACKEND: return 500;
    case APF_E_LIMIT: return 413;
    default: return 400;
    }
}

void service_handle(service *s, const char *method, const char *path, const void *body,
                    size_t body_size, service_response *r)
{
    memset(r, 0, sizeof *r);
    if (!method || !path) {
        reply(r, 400, "bad request");
        return;
    }
    if (!strcmp(path, "/health")) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            reply(r, 405, "use GET");
        else
            reply(r, 200, "ok libapf %s transfer=%s enhancer=%s workers=%d", apf_version_string(),
                  s->cfg.transfer_path ? "yes" : "identity", s->enhancer ? "yes" : "none",
                  s->cfg.workers);
        return;
    }
    if (strcmp(path, "/v1/filter")) {
        reply(r, 404, "unknown path (POST /v1/filter, GET /health)");
        return;
    }
    if (strcmp(method, "POST")) {
        reply(r, 405, "use POST with a gradient blob");
        return;
    }
    if (body_size > s->cfg.max_body) {
        reply(r, 413, "body of %zu bytes is over the %zu byte limit", body_size, s->cfg.max_body);
        return;
    }
    if (!body || body_size == 0) {
        reply(r, 400, "empty body: POST a gradient blob");
        return;
    }
    int k = acquire(s);
    void *out = NULL;
    size_t out_size = 0;
    apf_status st = apf_cloud_filter(s->pool[k], s->enhancer, body, body_size, &out, &out_size);
    release(s, k);
    if (st) {
        /* The library's message describes the blob's structure, never its values. */
        reply(r, http_status(st), "rejected: %s (%s)", apf_status_string(st), apf_last_error());
        return;
    }
    r->status = 200;
    r->content_type = "application/octet-stream";
    r->body = out;
    r->body_size = out_size;
}
