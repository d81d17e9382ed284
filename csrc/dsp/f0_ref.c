/* f0_ref.c: scalar reference kernels of F0 estimation (the oracle for simd/f0.c).
 *
 * The difference function sums librosa's d(k) = sum_{j<N} (x_j - x_{j+k})^2 (x zero
 * past N; see simd/f0.c for why this equals librosa's FFT formula) in double. The
 * Viterbi band kernel is the same loop as the SIMD one without the vector pragma.
 */
#include <math.h>

#include "f0_impl.h"

void slm_f0_diff_ref(double *d, const float *x, int64_t N, int64_t K) {
    for (int64_t k = 0; k <= K; k++) d[k] = 0.0;
    /* lags innermost: independent accumulators, no reduction chain */
    for (int64_t j = 0; j < N; j++) {
        const double xj = x[j];
        const float *p = x + j;
        for (int64_t k = 1; k <= K; k++) {
            const double t = xj - (double)p[k];
            d[k] += t * t;
        }
    }
}

void slm_f0_band_ref(double *best, double *src, const double *V0, const double *V1,
                     const slm_f0_band *b, int tg, int64_t j0, int64_t J) {
    const int64_t n = b->n, E = b->E;
    for (int64_t j = 0; j < J; j++) {
        best[j] = -INFINITY;
        src[j] = 0.0;
    }
    for (int g = 0; g < 2; g++) {
        const double *V = g ? V1 : V0;
        const double *LTs = b->LT + (size_t)(g != tg) * (size_t)(E * n);
        for (int64_t r = E - 1; r >= 0; r--) { /* source index ascending */
            const int64_t e = b->elo + r;
            for (int64_t j = 0; j < J; j++) {
                const int64_t jj = j0 + j;
                const double c = V[jj - e] + LTs[r * n + jj];
                if (c > best[j]) {
                    best[j] = c;
                    src[j] = (double)(g * n + jj - e);
                }
            }
        }
    }
}
