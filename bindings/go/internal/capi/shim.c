/* cgo compiles every .c file in a package directory; this pulls in the
 * shared binding shim so the Go package builds it from the one source. */
#include "../../../shim/apf_shim.c"
