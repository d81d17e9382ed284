/* models.h: what every model's public C API shares (see slm.h for conventions).
 *
 * A model is created from a list of named float32 tensors (the checkpoint after the
 * Python loader has mapped the source's key names onto the C model's names and folded
 * weight norm). The create function copies what it keeps into one allocation that the
 * model owns (packed as its kernels prefer), so the caller's buffers may be freed
 * right after. A model handle is immutable after creation: many threads may run one.
 * Each model family declares its create/forward/free in its own header, included below.
 */
#ifndef SLM_MODELS_H
#define SLM_MODELS_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLM_WEIGHT_MAX_NDIM 4

/* one named, dense, C-contiguous float32 tensor (borrowed by the create call) */
typedef struct {
    const char *name;
    const float *data;
    int ndim;                           /* 0 .. SLM_WEIGHT_MAX_NDIM */
    int64_t shape[SLM_WEIGHT_MAX_NDIM]; /* the first ndim entries are used */
} slm_weight;

#ifdef __cplusplus
}
#endif

#include "ssl.h"
#include "whisper.h"

#endif
