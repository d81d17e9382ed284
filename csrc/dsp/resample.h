/* resample.h: internal plan of the polyphase resampler (csrc/dsp/resample.c) shared
 * with its SIMD kernels (csrc/kernels/simd/resample.c).
 *
 * Output sample o = k * P + j (P output phases, Q input step, both reduced by the gcd of
 * the rates) is the dot product of the phase-j filter h[j] (len[j] taps) with the input
 * from k * Q + first[j] on; input outside [0, L) counts as zero (torchaudio's padding).
 */
#ifndef SLM_DSP_RESAMPLE_H
#define SLM_DSP_RESAMPLE_H

#include "../runtime/runtime.h"

typedef struct {
    int64_t P, Q;        /* new_sr / gcd, orig_sr / gcd */
    int64_t taps;        /* row stride of h: the longest filter */
    const int64_t *first; /* (P,) input offset of tap 0 relative to k * Q (may be < 0) */
    const int64_t *len;   /* (P,) taps of each phase */
    const float *h;       /* (P, taps) filters, zero past len[j] */
} slm_rs_plan;

/* y (o1 - o0,) = outputs o0..o1-1 of resampling x (L,) with plan p */
void slm_rs_block_ref(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1);
#ifdef SLM_BUILD_AVX2
void slm_rs_block_avx2(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1);
#endif
#ifdef SLM_BUILD_AVX512
void slm_rs_block_avx512(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1);
#endif

#endif
