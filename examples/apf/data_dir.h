/* Where the programs find the face models and the cloud weights when no
 * --models / --weights is given: $APF_DATA_DIR/<kind>, then the installed
 * data directory (<prefix>/share/apf/<kind>), then the source tree the
 * programs were built from, then ./<kind>. The first folder that holds the
 * file asked for wins. */
#ifndef APF_DATA_DIR_H
#define APF_DATA_DIR_H

#include <stddef.h>

/* Fill `out` with the folder for `kind` ("models" or "weights") that holds
 * `file`; returns 0, or -1 (out then names ./<kind>, for the error message). */
int data_dir_find(const char *kind, const char *file, char *out, size_t size);

#endif
