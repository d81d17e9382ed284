/* f0.c (simd): the two hot loops of YIN / pYIN on AVX2 / AVX-512 (one source, see
 * simd.h).
 *
 * Difference function. librosa's YIN difference at lag k is
 *   2 (r(0) - r(k)) - sum_{j<k} x_j^2  =  sum_{j<N} (x_j - x_{j+k})^2  with x = 0 past N,
 * i.e. the squared difference of the frame and its shifted copy, plus the energy of the
 * frame's last k samples. We sum the right-hand side directly: every term is >= 0, so
 * there is no cancellation (librosa forms it from an FFT autocorrelation in the input's
 * precision, whose absolute error ~eps * r(0) swamps the small values at the troughs
 * that matter). Lanes run over lags (VW lags per vector, RB vectors per block, enough
 * independent FMA chains to fill both FMA pipes); each lane sums CH samples in float
 * (relative error <= CH * 2^-24 for non-negative terms, ~sqrt(CH) * 2^-24 in practice)
 * and then flushes into a double accumulator.
 *
 * Viterbi band. Plain C over a chunk of target states, vectorised by the compiler at
 * this file's ISA (#pragma omp simd); comparisons and adds are exact IEEE operations, so
 * the result is bitwise the reference kernel's.
 */
#include <math.h>

#include "simd.h"
#include "../../dsp/f0_impl.h"

#define RB 8   /* vectors of lags per block */
#define CH 128 /* samples summed in float before the double flush */

void SLM_SIMD_FN(slm_f0_diff)(double *d, const float *x, int64_t N, int64_t K) {
    d[0] = 0.0;
    for (int64_t k0 = 1; k0 <= K; k0 += RB * VW) {
        double acc[RB * VW];
        float part[RB * VW];
        for (int l = 0; l < RB * VW; l++) acc[l] = 0.0;
        for (int64_t j0 = 0; j0 < N; j0 += CH) {
            const int64_t j1 = j0 + CH < N ? j0 + CH : N;
            vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
            vf a4 = vzero(), a5 = vzero(), a6 = vzero(), a7 = vzero();
            for (int64_t j = j0; j < j1; j++) {
                const vf xj = vset1(x[j]);
                const float *p = x + j + k0;
                vf t0 = vsub(xj, vload(p)), t1 = vsub(xj, vload(p + VW));
                vf t2 = vsub(xj, vload(p + 2 * VW)), t3 = vsub(xj, vload(p + 3 * VW));
                a0 = vfmadd(t0, t0, a0);
                a1 = vfmadd(t1, t1, a1);
                a2 = vfmadd(t2, t2, a2);
                a3 = vfmadd(t3, t3, a3);
                vf t4 = vsub(xj, vload(p + 4 * VW)), t5 = vsub(xj, vload(p + 5 * VW));
                vf t6 = vsub(xj, vload(p + 6 * VW)), t7 = vsub(xj, vload(p + 7 * VW));
                a4 = vfmadd(t4, t4, a4);
                a5 = vfmadd(t5, t5, a5);
                a6 = vfmadd(t6, t6, a6);
                a7 = vfmadd(t7, t7, a7);
            }
            vstore(part, a0);
            vstore(part + VW, a1);
            vstore(part + 2 * VW, a2);
            vstore(part + 3 * VW, a3);
            vstore(part + 4 * VW, a4);
            vstore(part + 5 * VW, a5);
            vstore(part + 6 * VW, a6);
            vstore(part + 7 * VW, a7);
            for (int l = 0; l < RB * VW; l++) acc[l] += (double)part[l];
        }
        /* the last block may run past K (by < RB * VW <= SLM_F0_LAG_SLACK lags) */
        for (int l = 0; l < RB * VW; l++) d[k0 + l] = acc[l];
    }
}

/* double vectors of the same byte width as vf, through GCC's vector extensions (the
 * simd.h vocabulary is float-only; these compile to ymm / zmm code at this file's ISA) */
#define VD (VW / 2)
typedef double vd __attribute__((vector_size(VW * 4)));
typedef long long vl __attribute__((vector_size(VW * 4)));
typedef double vdu __attribute__((vector_size(VW * 4), aligned(8))); /* unaligned access */
#define U 4 /* target vectors per block */

static inline vd vd_load(const double *p) { return *(const vdu *)p; }
static inline vd vd_splat(double x) { return x - (vd){0}; }
static inline vd vd_sel(vl m, vd a, vd b) { return (vd)(((vl)a & m) | ((vl)b & ~m)); } /* m ? a : b */

/* running best over one source group's band, for U * VD targets at W / LT; sources are
 * recorded as code = cbase + r and decoded by the caller */
#define BAND_STEP(k)                                                                      \
    do {                                                                                  \
        const vd c = vd_load(w + (k) * VD) + vd_load(lt + (k) * VD);                      \
        const vl m = c > b##k;                                                            \
        b##k = vd_sel(m, c, b##k);                                                        \
        s##k = vd_sel(m, code, s##k);                                                     \
    } while (0)

void SLM_SIMD_FN(slm_f0_band)(double *best, double *src, const double *V0, const double *V1,
                              const slm_f0_band *b, int tg, int64_t j0, int64_t J) {
    const int64_t n = b->n, E = b->E, elo = b->elo;
    const double *LTg[2] = {b->LT + (size_t)(0 != tg) * (size_t)(E * n),
                            b->LT + (size_t)(1 != tg) * (size_t)(E * n)};
    const double *Vg[2] = {V0, V1};
    int64_t jb = 0;
    for (; jb + U * VD <= J; jb += U * VD) {
        const int64_t j = j0 + jb;
        vd b0 = vd_splat(-INFINITY), b1 = b0, b2 = b0, b3 = b0;
        vd s0 = vd_splat(0.0), s1 = s0, s2 = s0, s3 = s0;
        for (int g = 0; g < 2; g++) {
            /* r descending = source index ascending: strict > keeps the first on ties */
            for (int64_t r = E - 1; r >= 0; r--) {
                const double *w = Vg[g] + j - elo - r, *lt = LTg[g] + r * n + j;
                const vd code = vd_splat((double)(g * E + r));
                BAND_STEP(0);
                BAND_STEP(1);
                BAND_STEP(2);
                BAND_STEP(3);
            }
        }
        double cb[U * VD];
        *(vdu *)(best + jb) = b0;
        *(vdu *)(best + jb + VD) = b1;
        *(vdu *)(best + jb + 2 * VD) = b2;
        *(vdu *)(best + jb + 3 * VD) = b3;
        *(vdu *)(cb) = s0;
        *(vdu *)(cb + VD) = s1;
        *(vdu *)(cb + 2 * VD) = s2;
        *(vdu *)(cb + 3 * VD) = s3;
        for (int l = 0; l < U * VD; l++) {
            /* -inf everywhere (no source) cannot happen: the diagonal always exists */
            const int64_t code = (int64_t)cb[l], g = code >= E, r = code - g * E;
            src[jb + l] = (double)(g * n + j + l - (elo + r));
        }
    }
    if (jb < J) slm_f0_band_ref(best + jb, src + jb, V0, V1, b, tg, j0 + jb, J - jb);
}
