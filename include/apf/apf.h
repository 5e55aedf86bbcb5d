/**
 * @file apf.h
 * @brief Everything in libapf: include this and link `apf` (the umbrella), or
 *        include the part headers and link the part libraries.
 */
#ifndef APF_H
#define APF_H

#include "apf/apf_core.h"
#include "apf/apf_wire.h"
#include "apf/apf_photo.h"
#include "apf/apf_face.h"
#include "apf/apf_photo_job.h"
#include "apf/apf_end.h"
#include "apf/apf_cloud.h"
#include "apf/apf_eval.h"

#endif /* APF_H */
