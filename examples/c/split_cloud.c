/* split-cloud: the privacy server's half, built against libapf-cloud only.
 *
 *   split-cloud TRANSFER.apfm G.blob S.blob [ENHANCER.apfm]
 *
 * Reads the gradient blob a device sent (validated strictly: a hostile
 * payload is rejected), computes s = clip_eps(T(g) + E(u)) and writes the
 * noise blob to send back. It never sees a photo. */
#include <stdio.h>
#include <stdlib.h>

#include "apf/apf_cloud.h"

static int fail(const char *what)
{
    fprintf(stderr, "split-cloud: %s: %s\n", what, apf_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s TRANSFER.apfm G.blob S.blob [ENHANCER.apfm]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    /* A gradient blob for 64 faces is well under 1 MB; refuse anything bigger. */
    enum { MAX_BLOB = 4 << 20 };
    unsigned char *g = malloc(MAX_BLOB);
    size_t n = g ? fread(g, 1, MAX_BLOB, f) : 0;
    int too_big = g && n == MAX_BLOB;
    fclose(f);
    if (!g || too_big) {
        fprintf(stderr, "split-cloud: %s: %s\n", argv[2], g ? "larger than 4 MB" : "out of memory");
        free(g);
        return 1;
    }
    apf_transfer *t = NULL;
    apf_enhancer *e = NULL;
    void *s = NULL;
    size_t s_size = 0;
    int rc = 1;
    if (apf_transfer_load(argv[1], &t) != APF_OK)
        rc = fail(argv[1]);
    else if (argc == 5 && apf_enhancer_load(argv[4], &e) != APF_OK)
        rc = fail(argv[4]);
    else if (apf_cloud_filter(t, e, g, n, &s, &s_size) != APF_OK)
        rc = fail(argv[2]);
    else {
        FILE *o = fopen(argv[3], "wbx");
        if (!o || fwrite(s, 1, s_size, o) != s_size || fclose(o) != 0)
            perror(argv[3]);
        else {
            printf("received %zu bytes, returned %zu bytes\n", n, s_size);
            rc = 0;
        }
    }
    free(s);
    free(g);
    apf_enhancer_free(e);
    apf_transfer_free(t);
    return rc;
}
