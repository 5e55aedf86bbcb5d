/* .apfm model files: parsing and validation (docs/model-format.md). */
#ifndef APF_MODEL_FILE_H
#define APF_MODEL_FILE_H

#include "graph.h"

#define APFM_MAGIC "APFM"
#define APFM_VERSION_MAJOR 1
#define APFM_HEADER_SIZE 96
#define APFM_MAX_NODES 4096
#define APFM_MAX_PAYLOAD ((uint64_t)512 << 20) /* 512 MiB of weights */
#define APFM_FLAG_NORMALISE 1u /* embeddings are compared after L2 normalisation */
#define APFM_FLAG_MAP_OUTPUT 2u /* outputs are feature maps (the BlazeFace detector, the transfer U-Net, the enhancer), not an embedding */

typedef struct apfm_meta {
    char name[64];
    int in_h, in_w, in_c;
    int bgr;               /* channel order of the graph input: 0 RGB, 1 BGR */
    float mean[3], scale[3];
    int embed_dim;
    uint32_t flags;
} apfm_meta;

/* Write a graph as an .apfm file (via a temporary file and rename). */
#define apfm_write apf__apfm_write
#define apfm_parse apf__apfm_parse
APF_PRIVATE apf_status apfm_write(const char *path, const apfm_meta *meta, const graph *g);

/* Parse a whole .apfm image. On success g is finalized. */
APF_PRIVATE apf_status apfm_parse(const uint8_t *data, size_t size, apfm_meta *meta, graph *g);

#endif
