/* attn.h: per-path kernels of scaled_dot_product_attention (internal).
 *
 * The public entry slm_sdpa_f32 (attn.c) validates the parameters and picks a path;
 * the kernels below trust what they are given: sizes >= 0, Hk and Hv dividing Hq,
 * strides that stay inside the caller's buffers, no mask together with is_causal, and
 * a scale that already accounts for E = 0. */
#ifndef SLM_KERNELS_ATTN_H
#define SLM_KERNELS_ATTN_H

#include "../runtime/runtime.h"

/* scalar, double accumulation, one query row at a time: the oracle */
slm_status slm_sdpa_f32_ref(float *out, const float *q, const float *k, const float *v,
                            const void *mask, const slm_sdpa_params *p);
/* blocked online-softmax kernels from csrc/kernels/simd/attn.c */
slm_status slm_sdpa_f32_avx2(float *out, const float *q, const float *k, const float *v,
                             const void *mask, const slm_sdpa_params *p);
slm_status slm_sdpa_f32_avx512(float *out, const float *q, const float *k, const float *v,
                               const void *mask, const slm_sdpa_params *p);

#endif
