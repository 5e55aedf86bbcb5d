/* What other parts of libapf (the core, and libapf-photo's detector) need to
 * know about a loaded model. */
#ifndef APF_MODEL_INTERNAL_H
#define APF_MODEL_INTERNAL_H

#include "internal.h"

/* The model's stored input preprocessing: input = (x[order] - mean) * scale,
 * bgr nonzero when the network takes BGR; detector nonzero for detectors. */
#define model_preprocessing apf__model_preprocessing
APF_PRIVATE void model_preprocessing(const apf_model *m, float mean[3], float scale[3], int *bgr,
                                    int *detector);

#endif
