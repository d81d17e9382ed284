/* resample.c (simd): the FIR dot products of the polyphase resampler
 * (csrc/dsp/resample.c), one output sample at a time: full vectors over the taps, then
 * one masked tail, so no load leaves the input or the filter row. Outputs whose taps
 * reach past either end of the input take the same loop over the taps that hit it. */
#include "simd.h"
#include "../../dsp/resample.h"

static inline float dot(const float *x, const float *h, int64_t n) {
    vf acc0 = vzero(), acc1 = vzero();
    int64_t i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        acc0 = vfmadd(vload(x + i), vload(h + i), acc0);
        acc1 = vfmadd(vload(x + i + VW), vload(h + i + VW), acc1);
    }
    if (i + VW <= n) {
        acc0 = vfmadd(vload(x + i), vload(h + i), acc0);
        i += VW;
    }
    if (i < n) acc1 = vfmadd(vload_n(x + i, (int)(n - i)), vload_n(h + i, (int)(n - i)), acc1);
    return vreduce_add(vadd(acc0, acc1));
}

/* y (o1 - o0,) = outputs o0..o1-1 of resampling x (L,) with plan p */
void SLM_SIMD_FN(slm_rs_block)(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0,
                               int64_t o1) {
    int64_t k = o0 / p->P, j = o0 % p->P;
    for (int64_t o = o0; o < o1; o++) {
        const float *h = p->h + j * p->taps;
        int64_t s = k * p->Q + p->first[j], n = p->len[j];
        if (s >= 0 && s + n <= L) {
            y[o - o0] = dot(x + s, h, n);
        } else {
            int64_t a = s < 0 ? -s : 0, b = s + n > L ? L - s : n;
            y[o - o0] = b > a ? dot(x + s + a, h + a, b - a) : 0.0f;
        }
        if (++j == p->P) {
            j = 0;
            k++;
        }
    }
}
