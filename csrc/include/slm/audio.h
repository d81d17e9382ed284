/* audio.h: public C API of audio file I/O through libsndfile and resampling (see slm.h for conventions). */
#ifndef SLM_AUDIO_H
#define SLM_AUDIO_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
