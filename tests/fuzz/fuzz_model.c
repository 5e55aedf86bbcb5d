/* libFuzzer: the .apfm model parser and, for tiny models, graph execution.
 *
 * Byte 0 picks the form of the rest: even = a whole .apfm file; odd = a
 * 96-byte header followed by the *uncompressed* payload, which the harness
 * compresses and sizes itself, so mutations reach the graph parser instead
 * of dying in zlib. (Checksums are not enforced in the fuzz build.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apf/apf_core.h"

enum { HEADER = 96 };

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int wrap = data[0] & 1;
    data++, size--;
    uint8_t *file = NULL;
    if (wrap) {
        if (size < HEADER)
            return 0;
        size_t raw = size - HEADER;
        uLongf comp = compressBound((uLong)raw);
        file = malloc(HEADER + comp);
        if (!file || compress2(file + HEADER, &comp, data + HEADER, (uLong)raw, 1) != Z_OK) {
            free(file);
            return 0;
        }
        memcpy(file, data, HEADER);
        put64(file + 64, raw);
        put64(file + 72, comp);
        data = file;
        size = HEADER + comp;
    }
    apf_model *m = NULL;
    if (apf_model_load_memory(data, size, &m) != APF_OK) {
        free(file);
        if (m)
            abort();
        return 0;
    }
    int s = apf_model_input_size(m), outs = apf_model_output_count(m);
    (void)apf_model_name(m);
    if (s > 0 && s <= 32 && outs == 1 && apf_model_embedding_dim(m) > 0) {
        /* small enough to run: forward on a constant input */
        size_t in_n = (size_t)s * s * 3;
        float *in = calloc(in_n, sizeof *in), *out = calloc((size_t)apf_model_embedding_dim(m), sizeof *out);
        if (in && out)
            (void)apf_model_forward_raw(m, in, 1, 0, out);
        free(in);
        free(out);
    }
    apf_model_free(m);
    free(file);
    return 0;
}
