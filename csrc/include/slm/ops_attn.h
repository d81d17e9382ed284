/* ops_attn.h: public C API of the attn op family (see slm.h for conventions). */
#ifndef SLM_OPS_ATTN_H
#define SLM_OPS_ATTN_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
