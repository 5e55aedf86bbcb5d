/* The decoy faces a probe pulls protected faces toward (apf_probe_set_decoys),
 * read from one image: a mosaic of aligned faces, DECOY_SIDE pixels each,
 * row by row (weights/decoys.jpg, made by tools/make-decoys.py). */
#ifndef APF_DECOY_FILE_H
#define APF_DECOY_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "apf/apf_end.h"

/* Side of one face in the mosaic: the aligned crop the probe protects. */
#define DECOY_SIDE 112

/* The shipped mosaic, relative to the source tree or the data directory. */
#define DECOY_FILE_DEFAULT "weights/decoys.jpg"

/* The shipped mosaic for a models folder: weights/decoys.jpg beside it (the
 * source tree and the installed data directory both hold models/ and
 * weights/ side by side), else DECOY_FILE_DEFAULT in the working directory.
 * Writes the path to out. */
void decoy_file_beside(const char *models_dir, char *out, size_t size);

/* The same for a probe list (probe_list.h): beside the folder of its first
 * model's file. */
void decoy_file_for_list(const char *list, const char *models_dir, char *out, size_t size);

/* Give `probe` the faces of the mosaic at `path`. A mosaic whose sides are
 * not multiples of DECOY_SIDE, or holds more than APF_PROBE_MAX_DECOYS
 * faces, is refused. On failure *msg says why; returns the status. */
apf_status decoy_file_load(apf_probe *probe, const char *path, char *msg, size_t msg_size);

/* Only read the mosaic at `path`: *n faces of DECOY_SIDE pixels in *faces
 * (the caller's to free), for a program that gives the same decoys to
 * several probes, or to one probe again (apf_probe_set_decoys); the same
 * refusals and *msg as decoy_file_load. */
apf_status decoy_file_read(const char *path, uint8_t **faces, int *n, char *msg, size_t msg_size);

#endif
