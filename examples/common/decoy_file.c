#include "decoy_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apf/apf_photo.h"
#include "probe_list.h"

void decoy_file_beside(const char *models_dir, char *out, size_t size)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", models_dir && *models_dir ? models_dir : "models");
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = 0;
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    snprintf(out, size, "%s%s", dir, DECOY_FILE_DEFAULT);
    if (access(out, R_OK))
        snprintf(out, size, "%s", DECOY_FILE_DEFAULT);
}

void decoy_file_for_list(const char *list, const char *models_dir, char *out, size_t size)
{
    char first[4096];
    probe_list_first_path(list, models_dir, first, sizeof first);
    char *slash = strrchr(first, '/');
    if (slash)
        *slash = 0;
    decoy_file_beside(slash ? first : ".", out, size);
}

apf_status decoy_file_read(const char *path, uint8_t **faces, int *n, char *msg, size_t msg_size)
{
    msg[0] = 0;
    *faces = NULL;
    *n = 0;
    apf_image *img = NULL;
    apf_status st = apf_image_load(path, &img);
    if (st) {
        snprintf(msg, msg_size, "decoys %s: %s", path, apf_last_error());
        return st;
    }
    int w = apf_image_width(img), h = apf_image_height(img);
    int cols = w / DECOY_SIDE, rows = h / DECOY_SIDE;
    if (w % DECOY_SIDE || h % DECOY_SIDE || cols * rows < 1 || cols * rows > APF_PROBE_MAX_DECOYS) {
        snprintf(msg, msg_size, "decoys %s: %dx%d is not a mosaic of 1..%d faces of %d pixels", path, w, h,
                 APF_PROBE_MAX_DECOYS, DECOY_SIDE);
        apf_image_free(img);
        return APF_E_FORMAT;
    }
    size_t per = (size_t)DECOY_SIDE * DECOY_SIDE * 3, row = (size_t)DECOY_SIDE * 3;
    if (!(*faces = malloc(per * cols * rows))) {
        snprintf(msg, msg_size, "decoys %s: out of memory", path);
        apf_image_free(img);
        return APF_E_NOMEM;
    }
    const uint8_t *px = apf_image_pixels_const(img);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            for (int y = 0; y < DECOY_SIDE; y++)
                memcpy(*faces + (size_t)(r * cols + c) * per + y * row,
                       px + ((size_t)(r * DECOY_SIDE + y) * w + (size_t)c * DECOY_SIDE) * 3, row);
    apf_image_free(img);
    *n = cols * rows;
    return APF_OK;
}

apf_status decoy_file_load(apf_probe *probe, const char *path, char *msg, size_t msg_size)
{
    uint8_t *faces;
    int n;
    apf_status st = decoy_file_read(path, &faces, &n, msg, msg_size);
    if (!st && (st = apf_probe_set_decoys(probe, faces, n, DECOY_SIDE)))
        snprintf(msg, msg_size, "decoys %s: %s", path, apf_last_error());
    free(faces);
    return st;
}
