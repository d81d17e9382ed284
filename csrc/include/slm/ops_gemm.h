/* ops_gemm.h: public C API of the gemm op family (see slm.h for conventions). */
#ifndef SLM_OPS_GEMM_H
#define SLM_OPS_GEMM_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
