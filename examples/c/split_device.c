/* split-device: the device half of APF, built against libapf-end only.
 *
 *   split-device gradient PROBE.apfm FACE.jpg G.blob [ATTACK]
 *                                                      compute g (default di2-fgsm), write the blob to send
 *   split-device apply FACE.jpg S.blob OUT.png         add the cloud's noise s to the face
 *
 * The photo never leaves this program: only G.blob (the ternary gradient)
 * goes to the cloud (see split-cloud). OUT.png is never written over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apf/apf_end.h"
#include "apf/apf_photo.h"

static int fail(const char *what)
{
    fprintf(stderr, "split-device: %s: %s\n", what, apf_last_error());
    return 1;
}

static int write_all(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wbx"); /* x: never replace an existing file */
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static void *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            unsigned char *bigger = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
            if (!bigger) {
                free(buf);
                buf = NULL;
            } else {
                buf = bigger;
            }
        }
    }
    fclose(f);
    *size = n;
    return buf;
}

static apf_image *load_face(const char *path)
{
    apf_image *img = NULL;
    if (apf_image_load(path, &img) != APF_OK) {
        fail(path);
        return NULL;
    }
    if (apf_image_width(img) != 112 || apf_image_height(img) != 112) {
        fprintf(stderr, "split-device: %s: need an aligned 112x112 face\n", path);
        apf_image_free(img);
        return NULL;
    }
    return img;
}

static int gradient(const char *model, const char *face, const char *out, const char *attack)
{
    apf_probe_options opt;
    apf_probe_options_init(&opt);
    if (attack && apf_attack_from_name(attack, &opt.attack) != APF_OK)
        return fail(attack);
    apf_image *img = load_face(face);
    if (!img)
        return 1;
    apf_probe *probe = NULL;
    void *blob = NULL;
    size_t size = 0;
    int rc = 1;
    if (apf_probe_create(model, &opt, &probe) != APF_OK)
        rc = fail(model);
    else if (apf_probe_gradient_blob(probe, apf_image_pixels(img), NULL, 1, 112, &blob, &size))
        rc = fail("gradient");
    else if ((rc = write_all(out, blob, size)) == 0)
        printf("wrote %s: %zu bytes (all that leaves the device)\n", out, size);
    free(blob);
    apf_probe_free(probe);
    apf_image_free(img);
    return rc;
}

static int apply(const char *face, const char *s_path, const char *out)
{
    apf_image *img = load_face(face);
    if (!img)
        return 1;
    size_t size = 0;
    void *blob = read_all(s_path, &size);
    apf_wire_info info;
    int8_t *s = NULL;
    int rc = 1;
    if (!blob)
        rc = 1;
    else if (apf_wire_decode(blob, size, &info, &s) != APF_OK)
        rc = fail(s_path);
    else if (info.kind != APF_WIRE_NOISE || info.n != 1 || info.height != 112 || info.width != 112)
        fprintf(stderr, "split-device: %s is not the noise for one 112x112 face\n", s_path);
    else if (apf_apply_perturbation(apf_image_pixels(img), s, 112 * 112 * 3, 1.0f,
                                    apf_image_pixels(img)) != APF_OK)
        rc = fail("apply");
    else if (apf_image_save(img, out, 95) != APF_OK)
        rc = fail(out);
    else {
        printf("wrote %s\n", out);
        rc = 0;
    }
    free(s);
    free(blob);
    apf_image_free(img);
    return rc;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "gradient"))
        return gradient(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    if (argc == 5 && !strcmp(argv[1], "apply"))
        return apply(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: %s gradient PROBE.apfm FACE.jpg G.blob [ATTACK]\n"
                    "       %s apply FACE.jpg S.blob OUT.png\n", argv[0], argv[0]);
    return 2;
}
