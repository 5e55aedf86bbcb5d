/**
 * @file apf_wire.h
 * @brief The blob that carries a gradient g (device to cloud) or a noise s
 *        (cloud to device). Part of libapf-core: both halves use it.
 *
 * Layout (docs/wire-format.md): a 52-byte header (magic "APFW", version,
 * kind, encoding, algorithm, shape, eps, probe-model hash, sizes, CRC-32)
 * followed by the values: gradients context-coded (version 2; version 1's
 * 2-bit zlib payload still decodes), noise as int8 + zlib. The decoder is
 * strict: it rejects a wrong magic or version, a bad checksum, shapes over
 * the limits, values outside their range, output beyond the declared size,
 * a coded stream that ends early or declares more values than it can hold,
 * and trailing bytes.
 */
#ifndef APF_WIRE_H
#define APF_WIRE_H

#include "apf/apf_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Wire format version written by this library (the newest it accepts). */
#define APF_WIRE_VERSION 2
/** @brief Oldest wire format version this library still decodes. */
#define APF_WIRE_MIN_VERSION 1
/** @brief Size of the fixed header in bytes. */
#define APF_WIRE_HEADER_SIZE 52
/** @brief Most faces one blob may carry. */
#define APF_WIRE_MAX_FACES 64
/** @brief Largest face side a blob may carry. */
#define APF_WIRE_MAX_SIDE 512

/** @brief What a blob carries. */
typedef enum apf_wire_kind {
    APF_WIRE_GRADIENT = 0, /**< g from the end side: values in {-1, 0, 1}, meaning -eps, 0, +eps */
    APF_WIRE_NOISE = 1     /**< s from the cloud: integer pixel offsets in [-eps, eps] */
} apf_wire_kind;

/** @brief Everything in a blob's header. */
typedef struct apf_wire_info {
    apf_wire_kind kind; /**< Gradient or noise. */
    int algorithm;      /**< The ::apf_attack that produced the gradient (informational). */
    int n;              /**< Faces, 1..#APF_WIRE_MAX_FACES. */
    int height;         /**< Face height, 1..#APF_WIRE_MAX_SIDE. */
    int width;          /**< Face width, 1..#APF_WIRE_MAX_SIDE. */
    int channels;       /**< Always 3. */
    float eps;          /**< L-inf budget in 0..255 units, (0, 64]. */
    uint64_t model_hash;/**< apf_model_hash() of the probe that computed g (0 if unknown). */
} apf_wire_info;

/**
 * @brief Encode values into a new blob.
 * @param info   Header fields; values are n*height*width*channels.
 * @param values For ::APF_WIRE_GRADIENT each in {-1, 0, 1}; for
 *               ::APF_WIRE_NOISE each within [-eps, eps] (rounded eps).
 * @param blob   Receives a malloc'd buffer; release with free().
 * @param size   Receives its length.
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_LIMIT or ::APF_E_NOMEM.
 */
APF_API apf_status apf_wire_encode(const apf_wire_info *info, const int8_t *values, void **blob,
                                   size_t *size);

/**
 * @brief Decode and fully validate a blob (e.g. one received from the network).
 * @param blob   Bytes received.
 * @param size   Their number.
 * @param info   Receives the header.
 * @param values Receives a malloc'd array of n*height*width*channels values;
 *               release with free().
 * @return ::APF_OK, ::APF_E_INVALID, ::APF_E_FORMAT, ::APF_E_UNSUPPORTED,
 *         ::APF_E_CHECKSUM, ::APF_E_LIMIT or ::APF_E_NOMEM.
 */
APF_API apf_status apf_wire_decode(const void *blob, size_t size, apf_wire_info *info,
                                   int8_t **values);

#ifdef __cplusplus
}
#endif

#endif /* APF_WIRE_H */
