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
    /* SIMD tiles (NULL off: per-output dot products only). A tile deinterleaves the input
     * of SLM_RS_TILE consecutive k into Q rows of `row` floats, D[r][v] = x[(kb + v) Q +
     * minfirst + r], so tap i of phase j for all k of the tile is one contiguous load at
     * D + off[j * taps + i] + v: a plain FIR over k, no horizontal sums. */
    const int32_t *off;   /* (P, taps) offsets into a tile */
    int64_t minfirst, maxend, row;
} slm_rs_plan;

#define SLM_RS_TILE 16 /* k values per tile (the widest vector) */
/* floats of per-thread scratch a SIMD block needs: the tile and the (P, TILE) results */
static inline int64_t slm_rs_scratch(const slm_rs_plan *p) { return p->Q * p->row + p->P * SLM_RS_TILE; }

/* y (o1 - o0,) = outputs o0..o1-1 of resampling x (L,) with plan p */
void slm_rs_block_ref(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1,
                      float *scratch);
#ifdef SLM_BUILD_AVX2
void slm_rs_block_avx2(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1,
                       float *scratch);
#endif
#ifdef SLM_BUILD_AVX512
void slm_rs_block_avx512(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1,
                         float *scratch);
#endif

#endif
