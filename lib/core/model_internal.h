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

/* Free the model's cached plans (net_drop_plans): for a model used in
 * short bursts, whose activation memory should not stay while other models
 * run (the detector's face check during the attack). */
#define model_drop_plans apf__model_drop_plans
APF_PRIVATE void model_drop_plans(apf_model *m);

#endif
