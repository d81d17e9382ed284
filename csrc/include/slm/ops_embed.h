/* ops_embed.h: public C API of embedding lookup (see slm.h for conventions). */
#ifndef SLM_OPS_EMBED_H
#define SLM_OPS_EMBED_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (N, D) = table (V, D)[idx (N)]. Every index must lie in [0, V): an index out of
 * range is SLM_ERR_VALUE naming its position, and nothing is written. */
slm_status slm_embedding_f32(float *out, const float *table, const int64_t *idx, int64_t N,
                             int64_t V, int64_t D);

#ifdef __cplusplus
}
#endif

#endif
