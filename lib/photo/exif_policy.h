/* The metadata policy for protected photos: which EXIF entries a copy
 * keeps (apf_image_copy_metadata_keep()) and the thumbnail that a save
 * writes. Only this file pair includes libexif. */
#ifndef APF_EXIF_POLICY_H
#define APF_EXIF_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "apf/apf_photo.h"
#include "image_meta.h"

/* Filter m's EXIF in place under `keep` (APF_METADATA_KEEP_* bits): GPS
 * and every tag outside the display/date/camera list go unless kept; the
 * thumbnail's pixels are blanked always. EXIF that libexif cannot parse is
 * dropped. */
apf_status exif_policy_filter(image_meta *m, unsigned keep);

/* The EXIF to write with img's pixels: the entries of `tiff` with any
 * thumbnail replaced by one made from img (dropped when it would not fit
 * one APP1 segment); EXIF without a thumbnail goes out as it came (the
 * keep policy is applied by exif_policy_filter at copy time). *out is NULL
 * when nothing is to be written (no EXIF, or more than one APP1 segment
 * holds); else malloc'd TIFF bytes. */
apf_status exif_policy_for_save(const uint8_t *tiff, size_t n, const apf_image *img,
                                uint8_t **out, size_t *out_n);

#endif
