/* libFuzzer: the JPEG/PNG decoders and the EXIF/ICC metadata parsers. */
#include <stdint.h>
#include <stdlib.h>

#include "apf/apf_photo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apf_image *img = NULL;
    if (apf_image_decode(data, size, &img) == APF_OK) {
        const uint8_t *p;
        size_t n = apf_image_exif(img, &p) + apf_image_icc(img, &p);
        (void)n;
        if (apf_image_width(img) * apf_image_height(img) <= 256 * 256) {
            /* a decoded image with its metadata must re-encode */
            void *jpg = NULL;
            size_t jn = 0;
            if (apf_image_encode_jpeg(img, 90, &jpg, &jn) != APF_OK)
                abort();
            free(jpg);
        }
        apf_image_free(img);
    } else if (img) {
        abort(); /* failure must leave *out NULL */
    }
    return 0;
}
