/* .apfm parser. Every field is bounds-checked before use: model files are
 * untrusted input (a truncated download, a hostile file). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <zlib.h>

#include "model_file.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static float rdf(const uint8_t *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* A cursor over the inflated payload that refuses to read past its end. */
typedef struct cursor {
    const uint8_t *p;
    size_t left;
} cursor;

static int take(cursor *c, size_t n, const uint8_t **out)
{
    if (n > c->left)
        return -1;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return 0;
}

static apf_status inflate_payload(const uint8_t *comp, size_t csize, size_t rsize, uint8_t **out)
{
    uint8_t *raw = malloc(rsize ? rsize : 1);
    if (!raw)
        return apf_fail(APF_E_NOMEM, "model: cannot allocate %zu bytes", rsize);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        free(raw);
        return apf_fail(APF_E_NOMEM, "model: zlib init failed");
    }
    z.next_in = (Bytef *)comp;
    z.avail_in = (uInt)csize;
    z.next_out = raw;
    z.avail_out = (uInt)rsize;
    int r = inflate(&z, Z_FINISH);
    size_t produced = rsize - z.avail_out;
    int trailing = z.avail_in != 0;
    inflateEnd(&z);
    /* The declared raw size is a hard cap: more output is a bomb, less is truncation. */
    if (r != Z_STREAM_END || produced != rsize || trailing) {
        free(raw);
        return apf_fail(APF_E_FORMAT, "model: compressed weights are corrupt or truncated");
    }
    *out = raw;
    return APF_OK;
}

static apf_status parse_nodes(cursor *c, apfm_meta *meta, graph *g, uint32_t n_nodes)
{
    const uint8_t *p;
    if (take(c, 4, &p))
        return apf_fail(APF_E_FORMAT, "model: payload truncated (name)");
    uint32_t nlen = rd32(p);
    if (nlen >= sizeof meta->name || take(c, nlen, &p))
        return apf_fail(APF_E_FORMAT, "model: bad name length %u", nlen);
    memcpy(meta->name, p, nlen);
    meta->name[nlen] = 0;
    g->nodes = calloc(n_nodes, sizeof *g->nodes);
    if (!g->nodes)
        return apf_fail(APF_E_NOMEM, "model: out of memory");
    g->n = (int)n_nodes;
    const size_t rec = 4 + 8 + 16 * 4 + 4 * 4 + 12 + 4;
    for (uint32_t j = 0; j < n_nodes; j++) {
        gnode *n = &g->nodes[j];
        if (take(c, rec, &p))
            return apf_fail(APF_E_FORMAT, "model: payload truncated at node %u", j);
        n->op = (int)rd32(p);
        n->in[0] = (int32_t)rd32(p + 4);
        n->in[1] = (int32_t)rd32(p + 8);
        for (int k = 0; k < A_COUNT; k++)
            n->a[k] = (int32_t)rd32(p + 12 + 4 * k);
        for (int k = 0; k < 4; k++)
            n->f[k] = rdf(p + 76 + 4 * k);
        n->h = (int32_t)rd32(p + 92);
        n->w = (int32_t)rd32(p + 96);
        n->c = (int32_t)rd32(p + 100);
        uint32_t nt = rd32(p + 104);
        if (nt > 2)
            return apf_fail(APF_E_FORMAT, "model: node %u has %u tensors", j, nt);
        for (uint32_t k = 0; k < nt; k++) {
            if (take(c, 4, &p))
                return apf_fail(APF_E_FORMAT, "model: payload truncated at node %u", j);
            uint32_t cnt = rd32(p);
            if ((size_t)cnt * 4 > c->left || take(c, (size_t)cnt * 4, &p))
                return apf_fail(APF_E_FORMAT, "model: tensor of node %u overruns the payload", j);
            n->tn[k] = cnt;
            if (cnt) {
                if (!(n->t[k] = malloc((size_t)cnt * 4)))
                    return apf_fail(APF_E_NOMEM, "model: out of memory");
                for (uint32_t q = 0; q < cnt; q++)
                    n->t[k][q] = rdf(p + 4 * q);
            }
        }
    }
    if (take(c, 4, &p))
        return apf_fail(APF_E_FORMAT, "model: payload truncated (output list)");
    uint32_t n_out = rd32(p);
    if (n_out < 1 || n_out > GRAPH_MAX_OUTPUTS || take(c, 4 * (size_t)n_out, &p))
        return apf_fail(APF_E_FORMAT, "model: bad output count %u", n_out);
    g->n_out = (int)n_out;
    for (uint32_t k = 0; k < n_out; k++) {
        int32_t o = (int32_t)rd32(p + 4 * k);
        if (o < 1 || o >= (int32_t)n_nodes)
            return apf_fail(APF_E_FORMAT, "model: output %u names node %d", k, o);
        for (uint32_t q = 0; q < k; q++)
            if (g->out[q] == o)
                return apf_fail(APF_E_FORMAT, "model: output node %d listed twice", o);
        g->out[k] = o;
    }
    if (c->left)
        return apf_fail(APF_E_FORMAT, "model: %zu trailing bytes in payload", c->left);
    return APF_OK;
}

apf_status apfm_parse(const uint8_t *d, size_t size, apfm_meta *meta, graph *g)
{
    memset(meta, 0, sizeof *meta);
    memset(g, 0, sizeof *g);
    if (!d || size < APFM_HEADER_SIZE)
        return apf_fail(APF_E_FORMAT, "model: file too short for a header (%zu bytes)", size);
    if (memcmp(d, APFM_MAGIC, 4))
        return apf_fail(APF_E_FORMAT, "model: not an .apfm file (bad magic)");
    unsigned major = d[4] | d[5] << 8;
    if (major != APFM_VERSION_MAJOR)
        return apf_fail(APF_E_UNSUPPORTED, "model: format version %u, this library reads %d",
                        major, APFM_VERSION_MAJOR);
    if (rd32(d + 8) != APFM_HEADER_SIZE)
        return apf_fail(APF_E_FORMAT, "model: unexpected header size %u", rd32(d + 8));
    if (APF_CHECKSUM_BAD((uint32_t)crc32(0, d, 84) == rd32(d + 84)))
        return apf_fail(APF_E_CHECKSUM, "model: header checksum mismatch");
    for (int k = 88; k < APFM_HEADER_SIZE; k++)
        if (d[k])
            return apf_fail(APF_E_FORMAT, "model: reserved header bytes are not zero");
    uint32_t n_nodes = rd32(d + 12);
    meta->in_h = (int)rd32(d + 16);
    meta->in_w = (int)rd32(d + 20);
    meta->in_c = (int)rd32(d + 24);
    meta->bgr = (int)rd32(d + 28);
    for (int k = 0; k < 3; k++) {
        meta->mean[k] = rdf(d + 32 + 4 * k);
        meta->scale[k] = rdf(d + 44 + 4 * k);
        if (!isfinite(meta->mean[k]) || !isfinite(meta->scale[k]) || meta->scale[k] == 0)
            return apf_fail(APF_E_FORMAT, "model: bad preprocessing constants");
    }
    meta->embed_dim = (int)rd32(d + 56);
    meta->flags = rd32(d + 60);
    uint64_t raw_size = rd64(d + 64), comp_size = rd64(d + 72);
    uint32_t crc = rd32(d + 80);
    if (n_nodes < 2 || n_nodes > APFM_MAX_NODES)
        return apf_fail(APF_E_LIMIT, "model: %u nodes (limit %d)", n_nodes, APFM_MAX_NODES);
    if (meta->in_c != 3 || meta->in_h < 16 || meta->in_h > 1024 || meta->in_w != meta->in_h ||
        meta->bgr < 0 || meta->bgr > 1)
        return apf_fail(APF_E_UNSUPPORTED, "model: input %dx%dx%d not a square RGB face",
                        meta->in_h, meta->in_w, meta->in_c);
    if (raw_size > APFM_MAX_PAYLOAD)
        return apf_fail(APF_E_LIMIT, "model: %llu bytes of weights (limit %llu)",
                        (unsigned long long)raw_size, (unsigned long long)APFM_MAX_PAYLOAD);
    if (comp_size != size - APFM_HEADER_SIZE)
        return apf_fail(APF_E_FORMAT, "model: file is %zu bytes, header says %llu (truncated?)",
                        size, (unsigned long long)(comp_size + APFM_HEADER_SIZE));
    uint8_t *raw = NULL;
    apf_status st = inflate_payload(d + APFM_HEADER_SIZE, (size_t)comp_size, (size_t)raw_size, &raw);
    if (st)
        return st;
    if (APF_CHECKSUM_BAD((uint32_t)crc32(0, raw, (uInt)raw_size) == crc)) {
        free(raw);
        return apf_fail(APF_E_CHECKSUM, "model: weights checksum mismatch");
    }
    cursor c = {raw, (size_t)raw_size};
    st = parse_nodes(&c, meta, g, n_nodes);
    free(raw);
    if (!st) {
        const gnode *in = &g->nodes[0];
        if (in->h != meta->in_h || in->w != meta->in_w || in->c != meta->in_c)
            st = apf_fail(APF_E_FORMAT, "model: input node disagrees with header");
    }
    if (!st)
        st = graph_finalize(g);
    if (!st && (meta->flags & APFM_FLAG_MAP_OUTPUT) && meta->embed_dim != 0)
        /* a detector has no embedding: a nonzero length here would be trusted
         * by callers sizing apf_model_forward_raw() buffers */
        st = apf_fail(APF_E_FORMAT, "model: a detector declares a %d-d embedding", meta->embed_dim);
    if (!st && !(meta->flags & APFM_FLAG_MAP_OUTPUT)) {
        const gnode *o = &g->nodes[g->n - 1];
        if (g->n_out != 1 || g->out[0] != g->n - 1)
            st = apf_fail(APF_E_FORMAT, "model: a recognizer has one output, the last node");
        else if (o->h != 1 || o->w != 1 || o->c != meta->embed_dim || meta->embed_dim < 1)
            st = apf_fail(APF_E_FORMAT, "model: output %dx%dx%d is not a %d-d embedding", o->h,
                          o->w, o->c, meta->embed_dim);
    }
    if (st)
        graph_free(g);
    return st;
}

/* ---- writer (the cloud side saves trained networks) ---- */

typedef struct wbuf {
    uint8_t *d;
    size_t n, cap;
    int oom;
} wbuf;

static void wput(wbuf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
        uint8_t *d = realloc(b->d, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->d = d, b->cap = cap;
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void w32(wbuf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wput(b, q, 4);
}

static void wf(wbuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    w32(b, u);
}

apf_status apfm_write(const char *path, const apfm_meta *meta, const graph *g)
{
    wbuf b = {0};
    size_t nl = strlen(meta->name);
    w32(&b, (uint32_t)nl);
    wput(&b, meta->name, nl);
    for (int j = 0; j < g->n; j++) {
        const gnode *n = &g->nodes[j];
        w32(&b, (uint32_t)n->op);
        w32(&b, (uint32_t)n->in[0]);
        w32(&b, (uint32_t)n->in[1]);
        for (int k = 0; k < A_COUNT; k++)
            w32(&b, (uint32_t)n->a[k]);
        for (int k = 0; k < 4; k++)
            wf(&b, n->f[k]);
        w32(&b, (uint32_t)n->h), w32(&b, (uint32_t)n->w), w32(&b, (uint32_t)n->c);
        int nt = n->tn[1] ? 2 : (n->tn[0] ? 1 : 0);
        w32(&b, (uint32_t)nt);
        for (int k = 0; k < nt; k++) {
            w32(&b, (uint32_t)n->tn[k]);
            for (size_t q = 0; q < n->tn[k]; q++)
                wf(&b, n->t[k][q]);
        }
    }
    w32(&b, (uint32_t)g->n_out);
    for (int k = 0; k < g->n_out; k++)
        w32(&b, (uint32_t)g->out[k]);
    if (b.oom) {
        free(b.d);
        return apf_fail(APF_E_NOMEM, "model: out of memory writing %s", path);
    }
    uLongf cn = compressBound((uLong)b.n);
    uint8_t *out = malloc(APFM_HEADER_SIZE + cn);
    if (!out || compress2(out + APFM_HEADER_SIZE, &cn, b.d, (uLong)b.n, 9) != Z_OK) {
        free(out), free(b.d);
        return apf_fail(APF_E_NOMEM, "model: compression failed");
    }
    uint8_t *h = out;
    memset(h, 0, APFM_HEADER_SIZE);
    memcpy(h, APFM_MAGIC, 4);
    h[4] = APFM_VERSION_MAJOR;
    wbuf hb = {h + 8, 0, APFM_HEADER_SIZE - 8, 0};
#define HPUT32(v) w32(&hb, (uint32_t)(v))
    HPUT32(APFM_HEADER_SIZE), HPUT32(g->n), HPUT32(meta->in_h), HPUT32(meta->in_w), HPUT32(meta->in_c);
    HPUT32(meta->bgr);
    for (int k = 0; k < 3; k++)
        wf(&hb, meta->mean[k]);
    for (int k = 0; k < 3; k++)
        wf(&hb, meta->scale[k]);
    HPUT32(meta->embed_dim), HPUT32(meta->flags);
    HPUT32(b.n), HPUT32(0), HPUT32(cn), HPUT32(0);
    HPUT32(crc32(0, b.d, (uInt)b.n));
#undef HPUT32
    uint32_t hc = (uint32_t)crc32(0, h, 84);
    h[84] = (uint8_t)hc, h[85] = (uint8_t)(hc >> 8), h[86] = (uint8_t)(hc >> 16), h[87] = (uint8_t)(hc >> 24);
    free(b.d);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    size_t total = APFM_HEADER_SIZE + cn;
    int ok = f && fwrite(out, 1, total, f) == total;
    ok = (f && fclose(f) == 0) && ok;
    free(out);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return apf_fail(APF_E_IO, "model: cannot write %s", path);
    }
    return APF_OK;
}
