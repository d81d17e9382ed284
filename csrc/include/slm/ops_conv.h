/* ops_conv.h: public C API of the conv op family (see slm.h for conventions). */
#ifndef SLM_OPS_CONV_H
#define SLM_OPS_CONV_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
