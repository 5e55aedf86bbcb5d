/* Wire helpers shared inside libapf (not public). */
#ifndef APF_WIRE_INTERNAL_H
#define APF_WIRE_INTERNAL_H

#include "apf/apf_wire.h"
#include "internal.h"

#define wire_read_header apf__wire_read_header

/* Validate a blob's header, sizes and checksum without decoding the
 * payload, so a caller can refuse a shape it cannot use before paying for
 * the decode. apf_wire_decode() starts with exactly this. */
APF_PRIVATE apf_status wire_read_header(const void *blob, size_t size, apf_wire_info *info);

#endif
