/* f0_impl.h: per-path kernels of F0 estimation (internal to csrc/dsp/f0*.c and
 * csrc/kernels/simd/f0.c).
 *
 * Two hot loops have per-path versions: the YIN difference function of one frame
 * (O(N K) per frame) and the banded part of one Viterbi step of pYIN (O(S W) per frame).
 * _ref is scalar C (double accumulation: the oracle), _avx2/_avx512 come from one source
 * in simd/f0.c. Everything else (normalisation, trough picking, pYIN probabilities,
 * back-tracking) is scalar code shared by every path in f0.c / f0_pyin.c.
 *
 * Shape legend: N frame length, K largest lag, n pitch bins, E band offsets, J a chunk
 * of target states.
 */
#ifndef SLM_DSP_F0_IMPL_H
#define SLM_DSP_F0_IMPL_H

#include <math.h>

#include "../runtime/runtime.h"
#include "slm/f0.h"

/* lags that one call of the difference kernel may write past K (the SIMD kernels work
 * on whole blocks of lags): d needs K + 1 + SLM_F0_LAG_SLACK doubles and x needs
 * N + K + SLM_F0_LAG_SLACK floats, zero from x[N] on */
#define SLM_F0_LAG_SLACK 256
/* most target states per call of the band kernel */
#define SLM_F0_BAND_CHUNK 256

/* Viterbi band: see f0_pyin.c. The table LT (2, E, n) holds the log transition into
 * target j from source j - e (e = elo + row) for "stay" (row block 0) and "switch"
 * (row block 1) of the voicing; -inf where the source does not exist. V is one group's
 * previous values, padded by P on both sides (V[-P .. n + P)), pads finite. */
typedef struct {
    const double *LT; /* (2, E, n) */
    int64_t n, E, elo, P;
} slm_f0_band;

#define SLM_F0_DECLARE(sfx)                                                                \
    /* d (K + 1) with d[k] = sum_{j<N} (x[j] - x[j + k])^2, x (N + K) zero from N on;     \
     * d[0] = 0 */                                                                         \
    void slm_f0_diff_##sfx(double *d, const float *x, int64_t N, int64_t K);               \
    /* best (J), src (J) for targets j0 .. j0 + J - 1 of target group tg: the max over     \
     * both source groups (group 0 first) and ascending source index of                    \
     * V_g[j - e] + LT[g != tg][e][j], first index on ties; src = g * n + j - e as double */ \
    void slm_f0_band_##sfx(double *best, double *src, const double *V0, const double *V1, \
                           const slm_f0_band *b, int tg, int64_t j0, int64_t J);

typedef void (*slm_f0_diff_fn)(double *, const float *, int64_t, int64_t);
typedef void (*slm_f0_band_fn)(double *, double *, const double *, const double *,
                               const slm_f0_band *, int, int64_t, int64_t);

/* what f0.c derives from the parameters and the input size, shared with f0_pyin.c */
typedef struct {
    int64_t N, hop;   /* frame length and hop, samples */
    int64_t pad;      /* samples of padding before y (frame_length / 2 if center) */
    int64_t minP, maxP, K; /* lag range [minP, maxP] of the output, K = maxP - minP + 1 */
    int64_t T;        /* frames per channel */
    int64_t xlen;     /* floats of one frame buffer (N + maxP + slack) */
    slm_f0_diff_fn diff;
    slm_f0_band_fn band;
} slm_f0_geom;

/* check p (and L >= 0 samples unless L < 0) for function fn and fill g */
slm_status slm_f0_setup(slm_f0_geom *g, const char *fn, const slm_f0_params *p, int64_t L);
/* SLM_ERR_VALUE naming the first NaN/Inf of y (B, L) */
slm_status slm_f0_check_finite(const char *fn, const float *y, int64_t B, int64_t L);
/* x (xlen) = frame t of channel y (L), padded as p says, zero from x[N] on */
void slm_f0_frame(float *x, const float *y, int64_t L, int64_t t, const slm_f0_geom *g,
                  slm_f0_pad mode);
/* cmnd (K) = normalised difference of the frame in x; d is scratch (maxP + 1 + slack) */
void slm_f0_cmnd(double *cmnd, double *d, const float *x, const slm_f0_geom *g);
/* librosa's parabolic-interpolation offset at lag index i of cmnd (K): 0 at both ends
 * and where the vertex lies more than one bin away */
static inline double slm_f0_shift(const double *c, int64_t K, int64_t i) {
    if (i <= 0 || i >= K - 1) return 0.0;
    const double a = c[i + 1] + c[i - 1] - 2.0 * c[i], b = (c[i + 1] - c[i - 1]) / 2.0;
    return fabs(b) >= fabs(a) ? 0.0 : -b / a;
}
/* 1 if lag index i of cmnd (K) is a trough (librosa.util.localmin, with the first lag
 * a trough when below the second) */
static inline int slm_f0_is_trough(const double *c, int64_t K, int64_t i) {
    if (i == 0) return c[0] < c[1];
    if (i == K - 1) return c[K - 1] < c[K - 2];
    return c[i] < c[i - 1] && c[i] <= c[i + 1];
}
/* numpy's pairwise summation of a (n) (what np.sum gives along a contiguous axis) */
double slm_f0_pairwise_sum(const double *a, int64_t n);

SLM_F0_DECLARE(ref)
#ifdef SLM_BUILD_AVX2
SLM_F0_DECLARE(avx2)
#endif
#ifdef SLM_BUILD_AVX512
SLM_F0_DECLARE(avx512)
#endif

#endif
