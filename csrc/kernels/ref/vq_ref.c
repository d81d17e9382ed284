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
