/* evaluate: does a protected face still match its person?
 *
 *   evaluate ORIGINAL.png PROTECTED.png OTHER.jpg MODEL.apfm...
 *
 * For each recognizer prints the cosine similarity of (original, other),
 * i.e. the genuine pair before protection, and (protected, other) after,
 * plus the SSIM of the protected face to the original. */
#include <stdio.h>
#include <stdlib.h>

#include "apf/apf_eval.h"
#include "apf/apf_photo.h"

static int fail(const char *what)
{
    fprintf(stderr, "evaluate: %s: %s\n", what, apf_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s ORIGINAL.png PROTECTED.png OTHER.jpg MODEL.apfm...\n", argv[0]);
        return 2;
    }
    apf_image *img[3] = {NULL, NULL, NULL};
    apf_evaluator *ev = NULL;
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        if (apf_image_load(argv[1 + i], &img[i]))
            rc = fail(argv[1 + i]);
        else if (apf_image_width(img[i]) != 112 || apf_image_height(img[i]) != 112)
            rc = (fprintf(stderr, "evaluate: %s is not a 112x112 aligned face\n", argv[1 + i]), 1);
    double ssim = 0;
    if (!rc && apf_ssim(apf_image_pixels(img[0]), apf_image_pixels(img[1]), 112, 112, &ssim, NULL))
        rc = fail("ssim");
    if (!rc && apf_evaluator_create((const char *const *)argv + 4, argc - 4, 0, &ev))
        rc = fail("models");
    if (!rc)
        printf("SSIM %.4f\n%-24s %8s %8s\n", ssim, "recognizer", "before", "after");
    for (int k = 0; !rc && k < argc - 4; k++) {
        float before, after;
        if (apf_evaluator_similarity(ev, k, apf_image_pixels(img[0]), apf_image_pixels(img[2]), 1, 112,
                                     &before) ||
            apf_evaluator_similarity(ev, k, apf_image_pixels(img[1]), apf_image_pixels(img[2]), 1, 112,
                                     &after))
            rc = fail("similarity");
        else
            printf("%-24s %8.3f %8.3f\n", apf_model_name(apf_evaluator_model(ev, k)), before, after);
    }
    apf_evaluator_free(ev);
    for (int i = 0; i < 3; i++)
        apf_image_free(img[i]);
    return rc;
}
