/* Wire helpers shared inside libapf (not public). */
#ifndef APF_WIRE_INTERNAL_H
#define APF_WIRE_INTERNAL_H

#include "apf/apf_wire.h"
#include "internal.h"

#define wire_read_header apf__wire_read_header
#define wire_read_values apf__wire_read_values

/* Validate a blob's header, sizes and checksum without decoding the
 * payload, so a caller can refuse a shape it cannot use before paying for
 * the decode. apf_wire_decode() starts with exactly this. */
APF_PRIVATE apf_status wire_read_header(const void *blob, size_t size, apf_wire_info *info);

/* The rest of apf_wire_decode(): decode the payload of a blob whose header
 * wire_read_header() accepted (info as it filled it in), without checking
 * the header and checksum a second time. */
APF_PRIVATE apf_status wire_read_values(const void *blob, size_t size, const apf_wire_info *info,
                                        int8_t **values);

#endif
