/* units.h: public C API of speech-unit sequences: deduplication with durations, unit BPE (see slm.h for conventions). */
#ifndef SLM_UNITS_H
#define SLM_UNITS_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
