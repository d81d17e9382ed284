/* ops_norm_act.h: public C API of the norm_act op family (see slm.h for conventions). */
#ifndef SLM_OPS_NORM_ACT_H
#define SLM_OPS_NORM_ACT_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
