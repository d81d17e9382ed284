/* f0.h: public C API of F0 (pitch) estimation (see slm.h for conventions). */
#ifndef SLM_F0_H
#define SLM_F0_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
