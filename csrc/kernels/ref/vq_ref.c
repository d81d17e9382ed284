/* vq_ref.c: scalar reference of nearest_codeword, the oracle of simd/vq.c. Every
 * distance in double with the reference formulas: L2 as EnCodec's quantiser computes it
 * (||x||^2 - 2 x.c + ||c||^2, its argmax of the negation = our argmin), cosine as DAC
 * (dot product of the L2-normalised vectors, norms floored at 1e-12 as F.normalize).
 * Strict comparisons keep the first of equal candidates, as torch's argmax/argmin. */
#include <math.h>

#include "../rnn_vq.h"

slm_status slm_nearest_codeword_f32_ref(SLM_VQ_ARGS) {
    static const char fn[] = "nearest_codeword";
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(dynamic, 16)
    for (int64_t i = 0; i < N; i++) {
        if (stop || slm_interrupted()) {
            stop = 1;
            continue;
        }
        const float *xr = x + i * D;
        double xn = 0.0;
        for (int64_t d = 0; d < D; d++) xn += (double)xr[d] * (double)xr[d];
        const double xs = 1.0 / fmax(sqrt(xn), (double)SLM_VQ_NORM_EPS);
        int64_t best = 0;
        double bestv = 0.0;
        for (int64_t k = 0; k < K; k++) {
            const float *cr = codebook + k * D;
            double dot = 0.0, cn = 0.0;
            for (int64_t d = 0; d < D; d++) {
                dot += (double)xr[d] * (double)cr[d];
                cn += (double)cr[d] * (double)cr[d];
            }
            /* v: the value minimised (squared distance, or minus the cosine) */
            double v;
            if (metric == SLM_VQ_L2)
                v = (xn - 2.0 * dot) + cn;
            else
                v = -(dot * xs / fmax(sqrt(cn), (double)SLM_VQ_NORM_EPS));
            if (k == 0 || v < bestv) bestv = v, best = k;
        }
        idx[i] = best;
        if (dist) dist[i] = (float)(metric == SLM_VQ_L2 ? bestv : 1.0 + bestv);
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

/* out (N, L) <- x (N, D), c (L, D): sum of squared differences in double */
slm_status slm_vq_sqdist_f32_ref(float *out, const float *x, const float *c, int64_t N, int64_t L, int64_t D) {
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (N * L * D > 65536)
    for (int64_t i = 0; i < N; i++) {
        if (stop || ((i & 255) == 0 && slm_interrupted())) {
            stop = 1;
            continue;
        }
        const float *xr = x + i * D;
        for (int64_t j = 0; j < L; j++) {
            const float *cr = c + j * D;
            double s = 0.0;
            for (int64_t d = 0; d < D; d++) {
                const double e = (double)xr[d] - (double)cr[d];
                s += e * e;
            }
            out[i * L + j] = (float)s;
        }
    }
    if (stop) return SLM_INTERRUPTED_ERROR("kmeans_sqdist");
    return SLM_OK;
}

/* sums (K, D) += x rows by label, columns [d0, d1), in row order */
void slm_vq_cluster_sums_cols_ref(double *sums, const float *x, const int64_t *labels, int64_t N, int64_t D, int64_t d0, int64_t d1) {
    for (int64_t i = 0; i < N; i++) {
        double *restrict s = sums + labels[i] * D;
        const float *restrict xi = x + i * D;
        if (i + 8 < N) /* a block of columns at a row stride: the hardware prefetchers lose it */
            for (int64_t d = d0; d < d1; d += 16) __builtin_prefetch(xi + 8 * D + d);
        for (int64_t d = d0; d < d1; d++) s[d] += (double)xi[d];
    }
}
