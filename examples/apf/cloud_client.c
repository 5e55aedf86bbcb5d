/* The apf command's cloud transports (cloud_client.h). */
#include "cloud_client.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "apf/apf_wire.h"
#include "service.h"

/* A noise blob for 64 faces is ~1 MB; anything far bigger is not one. */
#define MAX_RESPONSE (16u << 20)

struct cloud_client {
    service *local;    /* in-process, or */
    CURL *curl;        /* remote */
    char *url;         /* <base>/v1/filter */
    long timeout;      /* seconds: the deadline of one filter call, retries included */
    size_t sent;
    unsigned retries;  /* attempts repeated so far */
    unsigned long long jitter;
    int identity;      /* the server announced s = eps * g (no T, no E) */
    int pad;           /* send g under a one-time sign pad (cloud_client_set_pad) */
};

cloud_client *cloud_client_local(const char *transfer_path, const char *enhancer_path, int threads,
                                 char *err, size_t err_size)
{
    cloud_client *c = calloc(1, sizeof *c);
    service_config cfg;
    service_config_init(&cfg);
    cfg.transfer_path = transfer_path;
    cfg.enhancer_path = enhancer_path;
    cfg.threads = threads;
    apf_status st = c ? service_create(&cfg, &c->local) : APF_E_NOMEM;
    if (st) {
        snprintf(err, err_size, "cloud: %s", apf_last_error()[0] ? apf_last_error() : apf_status_string(st));
        free(c);
        return NULL;
    }
    return c;
}

/* The /health answer, kept to learn what the server computes. */
typedef struct text {
    char buf[512];
    size_t n;
} text;

static size_t keep_text(char *p, size_t size, size_t n, void *user)
{
    text *t = user;
    size_t len = size * n, room = sizeof t->buf - 1 - t->n;
    memcpy(t->buf + t->n, p, len < room ? len : room);
    t->n += len < room ? len : room;
    t->buf[t->n] = 0;
    return len;
}

cloud_client *cloud_client_remote(const char *url, long timeout, char *err, size_t err_size)
{
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        snprintf(err, err_size, "server URL must start with http:// or https://: %s", url);
        return NULL;
    }
    static int curl_ready;
    if (!curl_ready) { /* once per process, before any thread uses curl */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    cloud_client *c = calloc(1, sizeof *c);
    size_t n = strlen(url);
    if (c)
        c->url = malloc(n + 16);
    if (!c || !c->url || !(c->curl = curl_easy_init())) {
        snprintf(err, err_size, "out of memory");
        cloud_client_free(c);
        return NULL;
    }
    while (n > 0 && url[n - 1] == '/')
        n--;
    c->timeout = timeout;
    c->jitter = (unsigned long long)time(NULL) * 2654435761u ^ (unsigned long long)(size_t)c;
    /* Fail fast: ask GET /health before any photo is worked on, so an
     * unreachable server is found in seconds, not after the first probe. */
    snprintf(c->url, n + 16, "%.*s/health", (int)n, url);
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, timeout < 10 ? timeout : 10L);
    text health = {{0}, 0};
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, keep_text);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &health);
    CURLcode rc = curl_easy_perform(c->curl);
    long code = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code != 200) {
        snprintf(err, err_size, "server %s: %s", c->url,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "health check did not answer 200");
        cloud_client_free(c);
        return NULL;
    }
    /* apf-server's health line names its networks: "transfer=identity enhancer=none" is s = eps * g */
    c->identity = strstr(health.buf, "transfer=identity") && strstr(health.buf, "enhancer=none");
    snprintf(c->url, n + 16, "%.*s/v1/filter", (int)n, url);
    return c;
}

int cloud_client_set_pad(cloud_client *c, int mode, char *err, size_t err_size)
{
    if (!c->curl) /* in-process: nothing leaves the device */
        return 0;
    if (mode == CLOUD_PAD_ON && !c->identity) {
        snprintf(err, err_size, "--g-pad on: the server does not announce s = eps * g (transfer=identity, "
                                "enhancer=none), so padded gradients could not be undone");
        return -1;
    }
    c->pad = mode == CLOUD_PAD_ON || (mode == CLOUD_PAD_AUTO && c->identity);
    return 0;
}

int cloud_client_padded(const cloud_client *c) { return c && c->pad; }

void cloud_client_free(cloud_client *c)
{
    if (!c)
        return;
    service_free(c->local);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->url);
    free(c);
}

size_t cloud_client_bytes_sent(const cloud_client *c) { return c ? c->sent : 0; }

typedef struct sink {
    unsigned char *data;
    size_t size, cap;
    int overflow;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    sink *s = user;
    size_t len = size * n;
    if (s->size + len > MAX_RESPONSE) {
        s->overflow = 1;
        return 0; /* abort the transfer */
    }
    if (s->size + len > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        while (cap < s->size + len)
            cap *= 2;
        unsigned char *d = realloc(s->data, cap);
        if (!d)
            return 0;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->size, p, len);
    s->size += len;
    return len;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One attempt. 0: done; 1: failed in a way another attempt may not (a
 * connection refused or reset, nothing answered, a timeout, a proxy's or
 * an overloaded server's 502/503/504/429); -1: failed for good (the server
 * refused the request itself, or the reply is too large). */
static int filter_once(cloud_client *c, const void *g, size_t g_size, long timeout, void **s, size_t *s_size,
                       char *err, size_t err_size)
{
    sink out = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip for small bodies */
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, g);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)g_size);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libapf-apf/0.1");
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        snprintf(err, err_size, "server %s: %s", c->url,
                 out.overflow ? "response over the size limit" : curl_easy_strerror(rc));
        free(out.data);
        return out.overflow ? -1 : 1;
    }
    c->sent += g_size;
    if (code != 200) {
        int n = (int)(out.size < 200 ? out.size : 200);
        while (n > 0 && (out.data[n - 1] == '\n' || out.data[n - 1] == '\r'))
            n--;
        snprintf(err, err_size, "server %s answered %ld: %.*s", c->url, code, n,
                 out.data ? (char *)out.data : "");
        free(out.data);
        return code == 502 || code == 503 || code == 504 || code == 429 ? 1 : -1;
    }
    *s = out.data;
    *s_size = out.size;
    return 0;
}

/* The filter request is idempotent (s is a function of g and the server's
 * networks), so a failure a retry may cure is retried: after 0.1 s, then
 * doubling up to 2 s, each wait with up to 50% random jitter so clients
 * that failed together do not return together, until the call's deadline
 * (the --timeout) has passed. */
static int filter_remote(cloud_client *c, const void *g, size_t g_size, void **s, size_t *s_size,
                         char *err, size_t err_size)
{
    double deadline = now_s() + (double)c->timeout, wait = 0.1;
    for (;;) {
        long left = (long)(deadline - now_s() + 0.999);
        int r = filter_once(c, g, g_size, left < 1 ? 1 : left, s, s_size, err, err_size);
        if (r <= 0)
            return r;
        c->jitter = c->jitter * 6364136223846793005ull + 1442695040888963407ull;
        double pause = wait * (1.0 + 0.5 * (double)(c->jitter >> 11) / 9007199254740992.0);
        if (now_s() + pause + 0.05 >= deadline) {
            size_t used = strlen(err);
            snprintf(err + used, err_size > used ? err_size - used : 0, " (gave up after %u retries, %ld s)",
                     c->retries, c->timeout);
            return -1;
        }
        struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
        nanosleep(&ts, NULL);
        c->retries++;
        wait = wait * 2 < 2.0 ? wait * 2 : 2.0;
    }
}

unsigned cloud_client_retries(const cloud_client *c) { return c ? c->retries : 0; }

/* The one-time sign pad. The server's answer for s = eps * g is odd in
 * every value (s_i(-g) = -s_i(g)), so the device may send m * g for a
 * fresh random m in {-1, 1} per value and multiply what comes back by m:
 * the result is the noise it would have got for g, and the server saw
 * values independent of the face (uniform random signs; g has no zeros,
 * and a zero would stay a zero). The answer is checked to be exactly
 * round(eps) * m * g first: a server that computes anything else is
 * refused rather than unpadded into garbage. */
static int filter_padded(cloud_client *c, const void *g, size_t g_size, void **s, size_t *s_size, char *err,
                         size_t err_size)
{
    apf_wire_info gi, si;
    int8_t *v = NULL, *w = NULL;
    unsigned char *mask = NULL;
    void *padded = NULL, *reply = NULL;
    size_t padded_size = 0, reply_size = 0, n = 0;
    int rc = -1;
    if (apf_wire_decode(g, g_size, &gi, &v)) {
        snprintf(err, err_size, "pad: %s", apf_last_error());
        goto out;
    }
    n = (size_t)gi.n * gi.height * gi.width * gi.channels;
    mask = malloc((n + 7) / 8);
    for (size_t got = 0; mask && got < (n + 7) / 8;) {
        ssize_t k = getrandom(mask + got, (n + 7) / 8 - got, 0);
        if (k <= 0) {
            free(mask);
            mask = NULL;
        } else {
            got += (size_t)k;
        }
    }
    if (!mask) {
        snprintf(err, err_size, "pad: no random bytes from the system");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (mask[i / 8] >> (i % 8) & 1)
            v[i] = (int8_t)-v[i];
    if (apf_wire_encode(&gi, v, &padded, &padded_size)) {
        snprintf(err, err_size, "pad: %s", apf_last_error());
        goto out;
    }
    if ((rc = filter_remote(c, padded, padded_size, &reply, &reply_size, err, err_size)))
        goto out;
    rc = -1;
    if (apf_wire_decode(reply, reply_size, &si, &w) || si.kind != APF_WIRE_NOISE || si.n != gi.n ||
        si.height != gi.height || si.width != gi.width || si.channels != gi.channels) {
        snprintf(err, err_size, "server %s: its answer is not a noise blob for the faces sent", c->url);
        goto out;
    }
    int step = (int)lroundf(gi.eps); /* as apf_cloud_filter rounds */
    for (size_t i = 0; i < n; i++) {
        if (w[i] != step * v[i]) {
            snprintf(err, err_size, "server %s: its noise is not eps * g, so the padded gradient cannot be "
                                    "undone (use --g-pad off with this server)", c->url);
            goto out;
        }
        if (mask[i / 8] >> (i % 8) & 1)
            w[i] = (int8_t)-w[i];
    }
    if (apf_wire_encode(&si, w, s, s_size)) {
        snprintf(err, err_size, "pad: %s", apf_last_error());
        goto out;
    }
    rc = 0;
out:
    free(v), free(w), free(mask), free(padded), free(reply);
    return rc;
}

int cloud_client_filter(cloud_client *c, const void *g, size_t g_size, void **s, size_t *s_size,
                        char *err, size_t err_size)
{
    *s = NULL;
    *s_size = 0;
    if (c->curl)
        return c->pad ? filter_padded(c, g, g_size, s, s_size, err, err_size)
                      : filter_remote(c, g, g_size, s, s_size, err, err_size);
    service_response r;
    service_handle(c->local, "POST", "/v1/filter", g, g_size, &r);
    c->sent += g_size;
    if (r.status != 200) {
        snprintf(err, err_size, "cloud (in-process) answered %d: %.*s", r.status,
                 (int)(r.body_size ? r.body_size - 1 : 0), r.body ? (char *)r.body : "");
        free(r.body);
        return -1;
    }
    *s = r.body;
    *s_size = r.body_size;
    return 0;
}
