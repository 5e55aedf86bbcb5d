/* apf-load: apf-server under concurrent load with hostile clients mixed in.
 *
 *   apf-load [--server-bin PATH | --url HOST:PORT] [--transfer T.apfm]
 *            [--enhancer E.apfm] [--clients N] [--requests N] [--hostile N]
 *            [--workers N] [--retries N] [--time-limit S]
 *
 * Without --url it starts its own apf-server on a loopback ephemeral port;
 * with --url it sends to a server or a load balancer already running there
 * (docs/deploy.md). N honest clients send gradient blobs (each request on
 * its own connection; eight different faces' blobs in turn) until
 * --requests are done or --time-limit passes, while --hostile clients cycle
 * through oversize bodies, decompression bombs, truncated and slow
 * requests, NaN and garbage payloads. Every honest answer is checked
 * against the noise libapf-cloud computes locally for that blob with the
 * same --transfer/--enhancer: a 200 with another request's noise, or any
 * other wrong noise, counts as wrong. A request that fails (no answer,
 * 429, 502, 503, 504) is retried up to --retries times (default 0 for its
 * own server, 4 with --url) with backoff.
 * Prints honest p50/p99 latency and throughput, retries, hostile outcomes,
 * and (own server) the server's memory over the run; then stops the
 * server. Exit status 0 only if every honest request got its right noise
 * blob, no hostile request got a 200, the server is still healthy and (own
 * server) its memory is flat: at the end of the run within 10% (+2 MB) of
 * what it was halfway through (growth that continues with load is a leak).
 * APF_LOAD_SKIP_MEMORY=1 reports memory without gating on it: under
 * AddressSanitizer freed memory sits in a quarantine and RSS grows by design. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "apf/apf_cloud.h"
#include "apf/apf_wire.h"

enum { DISTINCT = 8 }; /* different faces' blobs, so a mixed-up answer shows */
static char host[64] = "127.0.0.1";
static int port, retries;
static double deadline;
static atomic_int honest_next, honest_ok, honest_bad, honest_wrong, honest_retried, stop_hostile;
static int honest_total;
static double *lat;
static void *g_blobs[DISTINCT], *g_blob; /* g_blob: the first, for the hostile variants */
static size_t g_sizes[DISTINCT], g_size;
static int8_t *expected[DISTINCT]; /* the noise libapf-cloud computes for each */
#define FACE_VALUES (112 * 112 * 3) /* one face per request */
enum { H_OVERSIZE, H_BOMB, H_TRUNCATED, H_SLOW, H_NAN, H_GARBAGE, H_KINDS };
static const char *H_NAMES[H_KINDS] = {"oversize body", "decompression bomb", "truncated body",
                                       "slow request", "NaN eps", "garbage body"};
static atomic_int h_count[H_KINDS], h_rejected[H_KINDS], h_accepted[H_KINDS];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        c += k, n -= (size_t)k;
    }
    return 0;
}

/* Read the whole response (Connection: close); returns the status code, 0
 * if the connection closed without one; body into *body if asked. */
static int read_response(int fd, unsigned char **body, size_t *body_size)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + n, cap - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    int status = 0;
    if (n > 12 && !memcmp(buf, "HTTP/1.", 7))
        status = atoi((char *)buf + 9);
    if (body) {
        unsigned char *end = n >= 4 ? memmem(buf, n, "\r\n\r\n", 4) : NULL;
        *body_size = end ? n - (size_t)(end + 4 - buf) : 0;
        *body = malloc(*body_size + 1);
        if (end)
            memcpy(*body, end + 4, *body_size);
    }
    free(buf);
    return status;
}

static int post(const void *body, size_t n, size_t claimed, unsigned char **resp, size_t *resp_n)
{
    int fd = connect_server();
    if (fd < 0)
        return -1;
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/filter HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", claimed);
    int st = -1;
    if (!send_all(fd, head, (size_t)hn) && !send_all(fd, body, n))
        st = read_response(fd, resp, resp_n);
    else if (resp)
        *resp = NULL, *resp_n = 0;
    close(fd);
    return st;
}

static int retryable(int status)
{
    return status <= 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

static void *honest(void *arg)
{
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&honest_next, 1);
        if (i >= honest_total || now() > deadline)
            break;
        int j = i % DISTINCT;
        double t = now();
        int st = -1;
        unsigned char *r = NULL;
        size_t rn = 0;
        for (int attempt = 0;; attempt++) {
            free(r);
            r = NULL;
            st = post(g_blobs[j], g_sizes[j], g_sizes[j], &r, &rn);
            if (st == 200 || !retryable(st) || attempt >= retries || now() > deadline)
                break;
            atomic_fetch_add(&honest_retried, 1);
            usleep((useconds_t)(50000u << (attempt < 5 ? attempt : 5))); /* 50 ms, doubling */
        }
        lat[i] = now() - t;
        apf_wire_info info;
        int8_t *v = NULL;
        if (st == 200 && apf_wire_decode(r, rn, &info, &v) == APF_OK && info.kind == APF_WIRE_NOISE) {
            size_t n = (size_t)info.n * info.height * info.width * info.channels;
            if (n == FACE_VALUES && !memcmp(v, expected[j], n))
                atomic_fetch_add(&honest_ok, 1);
            else
                atomic_fetch_add(&honest_wrong, 1);
        } else {
            atomic_fetch_add(&honest_bad, 1);
        }
        free(v);
        free(r);
    }
    return NULL;
}

/* Rewrite a blob's CRC so a hostile field is judged on its own merits,
 * not turned away by the checksum. */
static void reseal(unsigned char *blob, size_t n)
{
    uint32_t crc = (uint32_t)crc32(0, blob, 48);
    crc = (uint32_t)crc32(crc, blob + APF_WIRE_HEADER_SIZE, (uInt)(n - APF_WIRE_HEADER_SIZE));
    for (int k = 0; k < 4; k++)
        blob[48 + k] = (unsigned char)(crc >> (8 * k));
}

/* A blob whose compressed payload inflates far past its declared size. */
static void *make_bomb(size_t *n)
{
    size_t raw = 64u << 20;
    unsigned char *zeros = calloc(1, raw);
    uLongf cn = compressBound(raw);
    unsigned char *blob = malloc(APF_WIRE_HEADER_SIZE + cn);
    compress2(blob + APF_WIRE_HEADER_SIZE, &cn, zeros, raw, 9);
    free(zeros);
    memcpy(blob, g_blob, APF_WIRE_HEADER_SIZE); /* a real header: 1 face, small declared size */
    for (int k = 0; k < 4; k++) /* compressed size field (offset 44) */
        blob[44 + k] = (unsigned char)(cn >> (8 * k));
    *n = APF_WIRE_HEADER_SIZE + cn;
    reseal(blob, *n);
    return blob;
}

static void *hostile(void *arg)
{
    int id = (int)(intptr_t)arg;
    size_t bomb_n;
    unsigned char *bomb = make_bomb(&bomb_n);
    unsigned char *nan_blob = malloc(g_size);
    memcpy(nan_blob, g_blob, g_size);
    float nanv = NAN;
    memcpy(nan_blob + 28, &nanv, 4); /* the eps field */
    reseal(nan_blob, g_size);        /* so it is the NaN, not the checksum, that is refused */
    unsigned char garbage[4096];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (unsigned char)(i * 131 + id);
    for (int round = 0; !atomic_load(&stop_hostile); round++) {
        int kind = (id + round) % H_KINDS;
        atomic_fetch_add(&h_count[kind], 1);
        int st = -1;
        if (kind == H_OVERSIZE) {
            st = post(garbage, sizeof garbage, (size_t)1 << 30, NULL, NULL);
        } else if (kind == H_BOMB) {
            st = post(bomb, bomb_n, bomb_n, NULL, NULL);
        } else if (kind == H_NAN) {
            st = post(nan_blob, g_size, g_size, NULL, NULL);
        } else if (kind == H_GARBAGE) {
            st = post(garbage, sizeof garbage, sizeof garbage, NULL, NULL);
        } else {
            int fd = connect_server();
            if (fd >= 0) {
                char head[200];
                int hn = snprintf(head, sizeof head,
                                  "POST /v1/filter HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", g_size);
                if (kind == H_TRUNCATED) {
                    send_all(fd, head, (size_t)hn);
                    send_all(fd, g_blob, g_size / 2); /* then hang up */
                    st = 0;
                } else { /* slow: a byte every 200 ms until the server gives up or 8 s pass */
                    double t0 = now();
                    st = 0;
                    for (int k = 0; k < hn && now() - t0 < 8 && !atomic_load(&stop_hostile); k++) {
                        if (send(fd, head + k, 1, MSG_NOSIGNAL) <= 0)
                            break;
                        usleep(200000);
                    }
                }
                close(fd);
            }
        }
        if (st == 200)
            atomic_fetch_add(&h_accepted[kind], 1);
        else
            atomic_fetch_add(&h_rejected[kind], 1);
    }
    free(bomb);
    free(nan_blob);
    return NULL;
}

static long rss_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl))
            v = atol(line + fl + 1);
    if (f)
        fclose(f);
    return v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int health(void)
{
    int fd = connect_server();
    if (fd < 0)
        return 0;
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, req, strlen(req));
    int st = read_response(fd, NULL, NULL);
    close(fd);
    return st == 200;
}

/* The eight honest payloads and, for each, the noise libapf-cloud gives. */
static int make_payloads(const char *transfer, const char *enhancer)
{
    apf_transfer *t = NULL;
    apf_enhancer *e = NULL;
    if ((transfer && *transfer && strcmp(transfer, "none") && (apf_transfer_load(transfer, &t) || apf_transfer_set_threads(t, 1))) ||
        (enhancer && *enhancer && strcmp(enhancer, "none") && apf_enhancer_load(enhancer, &e))) {
        fprintf(stderr, "apf-load: %s\n", apf_last_error());
        apf_transfer_free(t);
        return -1;
    }
    int8_t *g = malloc(FACE_VALUES);
    unsigned s = 12345;
    int rc = 0;
    for (int j = 0; j < DISTINCT && !rc; j++) {
        for (int i = 0; i < FACE_VALUES; i++)
            s = s * 1664525u + 1013904223u, g[i] = (int8_t)((s >> 24) % 3) - 1;
        apf_wire_info info = {APF_WIRE_GRADIENT, 3, 1, 112, 112, 3, 8.0f, 0};
        void *sb = NULL;
        size_t sn = 0;
        apf_wire_info si;
        rc = apf_wire_encode(&info, g, &g_blobs[j], &g_sizes[j]) ||
             apf_cloud_filter(t, e, g_blobs[j], g_sizes[j], &sb, &sn) ||
             apf_wire_decode(sb, sn, &si, &expected[j]);
        free(sb);
    }
    if (rc)
        fprintf(stderr, "apf-load: %s\n", apf_last_error());
    free(g);
    apf_transfer_free(t);
    apf_enhancer_free(e);
    g_blob = g_blobs[0], g_size = g_sizes[0];
    return rc ? -1 : 0;
}

static pid_t start_server(const char *server_bin, const char *transfer, const char *enhancer, int workers)
{
    char pf[] = "/tmp/apf-load-port-XXXXXX";
    close(mkstemp(pf));
    unlink(pf);
    char wbuf[16];
    snprintf(wbuf, sizeof wbuf, "%d", workers);
    pid_t srv = fork();
    if (srv == 0) {
        const char *args[24];
        int n = 0;
        args[n++] = server_bin;
        args[n++] = "--listen", args[n++] = "127.0.0.1:0", args[n++] = "--port-file", args[n++] = pf;
        args[n++] = "--transfer", args[n++] = transfer;
        if (enhancer && *enhancer)
            args[n++] = "--enhancer", args[n++] = enhancer;
        args[n++] = "--workers", args[n++] = wbuf, args[n++] = "--threads", args[n++] = "1";
        args[n++] = "--timeout", args[n++] = "3", args[n++] = "--max-connections", args[n++] = "128";
        args[n++] = "--quiet", args[n] = NULL;
        execv(server_bin, (char *const *)args);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port; i++) {
        FILE *f = fopen(pf, "r");
        if (!f || fscanf(f, "%d", &port) != 1)
            usleep(50000);
        if (f)
            fclose(f);
    }
    unlink(pf);
    if (!port) {
        fprintf(stderr, "apf-load: %s did not start\n", server_bin);
        kill(srv, SIGTERM);
        waitpid(srv, NULL, 0);
        return -1;
    }
    return srv;
}

int main(int argc, char **argv)
{
    const char *server_bin = "build/examples/apf/apf-server", *transfer = "weights/transfer.apfm";
    const char *enhancer = NULL, *url = NULL;
    int clients = 16, n_hostile = 8, workers = 2;
    double limit = 120;
    honest_total = 800;
    retries = -1;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "apf-load: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--server-bin")) server_bin = argv[i + 1];
        else if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--transfer")) transfer = argv[i + 1];
        else if (!strcmp(argv[i], "--enhancer")) enhancer = argv[i + 1];
        else if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--requests")) honest_total = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hostile")) n_hostile = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--retries")) retries = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--time-limit")) limit = atof(argv[i + 1]);
        else {
            fprintf(stderr, "apf-load: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (retries < 0)
        retries = url ? 4 : 0;
    if (clients < 1 || clients > 256 || n_hostile < 0 || n_hostile > 64 || honest_total < 1 || retries > 20) {
        fprintf(stderr, "apf-load: clients 1..256, hostile 0..64, requests >= 1, retries 0..20\n");
        return 2;
    }
    if (url) {
        struct in_addr probe_addr;
        if (!strncmp(url, "http://", 7))
            url += 7;
        const char *colon = strrchr(url, ':');
        if (!colon || (size_t)(colon - url) >= sizeof host || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535) {
            fprintf(stderr, "apf-load: --url wants HOST:PORT with a numeric IPv4 host\n");
            return 2;
        }
        memcpy(host, url, (size_t)(colon - url));
        host[colon - url] = 0;
        port = atoi(colon + 1);
        if (inet_pton(AF_INET, host, &probe_addr) != 1) {
            fprintf(stderr, "apf-load: --url wants HOST:PORT with a numeric IPv4 host\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (make_payloads(transfer, enhancer))
        return 1;
    pid_t srv = -1;
    if (!url) {
        srv = start_server(server_bin, transfer, enhancer, workers);
        if (srv < 0)
            return 1;
    } else if (!health()) {
        fprintf(stderr, "apf-load: %s:%d does not answer GET /health with 200\n", host, port);
        return 1;
    }
    /* warm-up, then the memory baseline */
    for (int i = 0; i < 2 * workers; i++) {
        unsigned char *r = NULL;
        size_t rn;
        post(g_blob, g_size, g_size, &r, &rn);
        free(r);
    }
    long rss_warm = srv > 0 ? rss_kb(srv, "VmRSS:") : -1, rss_max = rss_warm, rss_mid = -1;
    lat = calloc((size_t)honest_total, sizeof *lat);
    deadline = now() + limit;
    pthread_t th[256 + 64];
    double t0 = now();
    for (int i = 0; i < n_hostile; i++)
        pthread_create(&th[clients + i], NULL, hostile, (void *)(intptr_t)i);
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, honest, NULL);
    /* sample the server's memory while honest clients run */
    while (atomic_load(&honest_ok) + atomic_load(&honest_bad) + atomic_load(&honest_wrong) < honest_total &&
           now() < deadline) {
        if (srv > 0) {
            long r = rss_kb(srv, "VmRSS:");
            if (r > rss_max)
                rss_max = r;
            if (rss_mid < 0 && 2 * (atomic_load(&honest_ok) + atomic_load(&honest_bad)) >= honest_total)
                rss_mid = r;
        }
        usleep(100000);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double el = now() - t0;
    atomic_store(&stop_hostile, 1);
    for (int i = 0; i < n_hostile; i++)
        pthread_join(th[clients + i], NULL);
    sleep(1);
    long rss_end = srv > 0 ? rss_kb(srv, "VmRSS:") : -1, hwm = srv > 0 ? rss_kb(srv, "VmHWM:") : -1;
    int healthy = health();
    int wst = 0;
    if (srv > 0) {
        kill(srv, SIGTERM);
        waitpid(srv, &wst, 0);
    }
    int done = atomic_load(&honest_ok) + atomic_load(&honest_bad) + atomic_load(&honest_wrong);
    if (done > 0)
        qsort(lat, (size_t)done, sizeof *lat, cmp_d);
    if (url)
        printf("apf-load through %s:%d: %d honest clients, %d hostile clients\n", host, port, clients, n_hostile);
    else
        printf("apf-server under load: %d honest clients, %d hostile clients, %d workers\n", clients, n_hostile,
               workers);
    printf("honest: %d/%d requests answered with their right noise blob (%d wrong, %d failed), %d retries, "
           "%.1f requests/s, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           atomic_load(&honest_ok), honest_total, atomic_load(&honest_wrong), atomic_load(&honest_bad),
           atomic_load(&honest_retried), done / el, done ? 1e3 * lat[done / 2] : 0,
           done ? 1e3 * lat[(int)(0.99 * (done - 1))] : 0, done ? 1e3 * lat[done - 1] : 0);
    int hostile_ok = 1;
    for (int k = 0; k < H_KINDS; k++) {
        if (!n_hostile)
            break;
        printf("hostile %-19s %4d sent, %4d rejected or dropped, %d accepted\n", H_NAMES[k],
               atomic_load(&h_count[k]), atomic_load(&h_rejected[k]), atomic_load(&h_accepted[k]));
        hostile_ok &= atomic_load(&h_accepted[k]) == 0;
    }
    int flat = 1, clean_exit = 1;
    if (srv > 0) {
        if (rss_mid < 0)
            rss_mid = rss_max;
        clean_exit = WIFEXITED(wst) && WEXITSTATUS(wst) == 0;
        printf("server memory: %ld kB after warm-up, %ld kB halfway, %ld kB peak sampled, %ld kB at the end "
               "(VmHWM %ld kB); healthy after the run: %s; exit %s\n",
               rss_warm, rss_mid, rss_max, rss_end, hwm, healthy ? "yes" : "NO", clean_exit ? "clean" : "NOT clean");
        const char *skip = getenv("APF_LOAD_SKIP_MEMORY");
        flat = (skip && !strcmp(skip, "1")) || rss_end <= rss_mid * 1.10 + 2048;
    } else {
        printf("healthy after the run: %s\n", healthy ? "yes" : "NO");
    }
    int pass = atomic_load(&honest_ok) == honest_total && hostile_ok && healthy && flat && clean_exit;
    printf("%s\n", pass ? "PASS" : "FAIL");
    free(lat);
    for (int j = 0; j < DISTINCT; j++)
        free(g_blobs[j]), free(expected[j]);
    return pass ? 0 : 1;
}
