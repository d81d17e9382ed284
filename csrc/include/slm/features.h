/* features.h: public C API of feature front ends: mel filterbanks, log-mel variants, MFCC, Kaldi fbank, waveform normalisation (see slm.h for conventions). */
#ifndef SLM_FEATURES_H
#define SLM_FEATURES_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
