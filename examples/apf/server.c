/* apf-server: the privacy server over HTTP (libmicrohttpd), linking only
 * libapf-cloud. It receives gradient blobs, never photos.
 *
 *   apf-server [--listen ADDR:PORT] [--transfer T.apfm] [--enhancer E.apfm]
 *              [--workers N] [--threads N] [--max-body BYTES]
 *              [--max-connections N] [--timeout SECONDS] [--port-file PATH]
 *
 * POST /v1/filter (body: gradient blob) -> noise blob; GET /health.
 * Limits: body size (Content-Length checked before reading, streamed bodies
 * cut off), decompressed size (the wire decoder's), connections, idle and
 * total time per request. A pool of MHD threads serves connections; at most
 * `workers` filter calls run at once. The log has one line per request
 * (method, path, status, sizes, milliseconds) and never payload bytes.
 * SIGINT/SIGTERM stop it cleanly. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data_dir.h"
#include "service.h"
#include "wait_policy.h"

typedef struct request {
    unsigned char *body;
    size_t size, cap;
    int too_large;
    double start;
} request;

typedef struct server {
    service *svc;
    double max_seconds; /* whole-request limit */
    int quiet;
} server;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static enum MHD_Result send_response(struct MHD_Connection *c, service_response *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(r->body_size, r->body, free);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void log_request(server *sv, const char *method, const char *url, int status, size_t in,
                        size_t out, double ms)
{
    if (!sv->quiet) /* metadata only: the payload is never logged */
        fprintf(stderr, "apf-server: %s %s %d in=%zu out=%zu %.1f ms\n", method, url, status, in, out, ms);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    server *sv = cls;
    request *rq = *con_cls;
    size_t limit = service_max_body(sv->svc);
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->start = now();
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > limit)
                rq->too_large = 1; /* answer 413 without reading the body */
        }
        return MHD_YES;
    }
    if (now() - rq->start > sv->max_seconds)
        return MHD_NO; /* a request that drags on (slow upload) is cut off */
    if (*upload_size) {
        if (!rq->too_large) {
            if (rq->size + *upload_size > limit) {
                rq->too_large = 1;
                free(rq->body);
                rq->body = NULL;
                rq->size = rq->cap = 0;
            } else {
                if (rq->size + *upload_size > rq->cap) {
                    size_t cap = rq->cap ? rq->cap : 16384;
                    while (cap < rq->size + *upload_size)
                        cap *= 2;
                    if (cap > limit)
                        cap = limit;
                    unsigned char *b = realloc(rq->body, cap);
                    if (!b)
                        return MHD_NO;
                    rq->body = b;
                    rq->cap = cap;
                }
                memcpy(rq->body + rq->size, upload, *upload_size);
                rq->size += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    service_response r;
    if (rq->too_large) {
        memset(&r, 0, sizeof r);
        r.status = 413;
        r.content_type = "text/plain; charset=utf-8";
        const char *msg = "body over the size limit\n";
        r.body = strdup(msg);
        r.body_size = r.body ? strlen(msg) : 0;
    } else {
        service_handle(sv->svc, method, url, rq->body, rq->size, &r);
    }
    log_request(sv, method, url, r.status, rq->size, r.body_size, (now() - rq->start) * 1e3);
    return send_response(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *sv = cls;
    if (!sv->quiet) {
        fputs("apf-server: ", stderr);
        vfprintf(stderr, fmt, ap);
    }
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--listen ADDR:PORT] [--transfer T.apfm|shipped|none] [--enhancer E.apfm]\n"
            "          [--workers N]"
            "  (default: no T, s = eps * g)\n"
            "          [--threads N] [--max-body BYTES] [--max-connections N] [--timeout SECONDS]\n"
            "          [--port-file PATH] [--quiet]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    program_wait_policy(argv);
    service_config cfg;
    service_config_init(&cfg);
    static char weights[4096], default_transfer[4200], default_enhancer[4200];
    data_dir_find("weights", "transfer.apfm", weights, sizeof weights);
    snprintf(default_transfer, sizeof default_transfer, "%s/transfer.apfm", weights);
    snprintf(default_enhancer, sizeof default_enhancer, "%s/enhancer.apfm", weights);
    /* Default: T is the identity (s = eps * g), the setting that protects
     * best with the device's four-model attack (docs/protection.md);
     * --transfer shipped loads the shipped T and, if present, its E(u). */
    cfg.transfer_path = NULL;
    cfg.enhancer_path = NULL;
    int transfer_given = 0, enhancer_given = 0;
    const char *listen = "127.0.0.1:8750", *port_file = NULL;
    unsigned max_conn = 64, timeout = 30;
    server sv = {NULL, 60.0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            sv.quiet = 1;
            continue;
        }
        if (!strcmp(a, "--version")) {
            printf("apf-server (libapf %s)\n", apf_version_string());
            return 0;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(argv[0]);
            return 0;
        }
        if (!v)
            return usage(argv[0]);
        i++;
        if (!strcmp(a, "--listen"))
            listen = v;
        else if (!strcmp(a, "--transfer"))
        {
            transfer_given = 1;
            cfg.transfer_path = !strcmp(v, "none") ? NULL : !strcmp(v, "shipped") ? default_transfer : v;
            if (!strcmp(v, "shipped") && !enhancer_given && !access(default_enhancer, R_OK))
                cfg.enhancer_path = default_enhancer;
        }
        else if (!strcmp(a, "--enhancer"))
            cfg.enhancer_path = strcmp(v, "none") ? v : NULL, enhancer_given = 1;
        else if (!strcmp(a, "--workers"))
            cfg.workers = atoi(v);
        else if (!strcmp(a, "--threads"))
            cfg.threads = atoi(v);
        else if (!strcmp(a, "--max-body"))
            cfg.max_body = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--max-connections"))
            max_conn = (unsigned)atoi(v);
        else if (!strcmp(a, "--timeout"))
            timeout = (unsigned)atoi(v), sv.max_seconds = 2.0 * atoi(v);
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else
            return usage(argv[0]);
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    char host[64];
    int port = -1;
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host || sscanf(colon + 1, "%d", &port) != 1 ||
        port < 0 || port > 65535) {
        fprintf(stderr, "apf-server: --listen wants ADDR:PORT, got %s\n", listen);
        return 2;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "apf-server: %s is not an IPv4 address\n", host);
        return 2;
    }
    addr.sin_port = htons((uint16_t)port);
    if (cfg.workers < 1 || cfg.workers > 256 || max_conn < 1 || timeout < 1) {
        fprintf(stderr, "apf-server: workers 1..256, connections and timeout >= 1\n");
        return 2;
    }
    if (transfer_given && !enhancer_given && cfg.transfer_path != default_transfer)
        cfg.enhancer_path = NULL; /* the weights folder's E belongs to its own T */
    apf_status st = service_create(&cfg, &sv.svc);
    if (st) {
        fprintf(stderr, "apf-server: %s\n", apf_last_error()[0] ? apf_last_error() : apf_status_string(st));
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    /* One worker is MHD's own polling thread: a thread pool of 0 or 1 draws
     * a warning, so the pool option is given only for more. */
    struct MHD_OptionItem pool[] = {
        {cfg.workers > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)cfg.workers, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, on_request, &sv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &sv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_LIMIT, max_conn,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "apf-server: cannot listen on %s\n", listen);
        service_free(sv.svc);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = info ? info->port : port;
    fprintf(stderr, "apf-server: listening on http://%s:%d (workers %d, max body %zu, max connections %u)\n",
            host, bound, cfg.workers, cfg.max_body, max_conn);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", bound) < 0 || fclose(f) || rename(tmp, port_file)) {
            fprintf(stderr, "apf-server: cannot write %s\n", port_file);
            MHD_stop_daemon(d);
            service_free(sv.svc);
            return 1;
        }
    }
    while (!stop)
        pause();
    fprintf(stderr, "apf-server: stopping\n");
    MHD_stop_daemon(d);
    service_free(sv.svc);
    return 0;
}
