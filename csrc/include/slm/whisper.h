/* whisper.h: public C API of the whisper encoder (filled in by its issue-4 part). */
#ifndef SLM_WHISPER_H
#define SLM_WHISPER_H

#include <stdint.h>
#include "models.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
