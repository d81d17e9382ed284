/* dsp.h: public C API of FFT, STFT/iSTFT, windows, Griffin-Lim (see slm.h for conventions). */
#ifndef SLM_DSP_H
#define SLM_DSP_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
