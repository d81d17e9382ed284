/* conv_ref.c: scalar reference conv1d and conv_transpose1d, the oracle of the conv
 * family. Direct loops over the definition, each output a double-precision sum, so
 * it is sharper than any float path it checks. Parallel over output rows only.
 *
 * Shapes: N batch, Cin/Cout channels, G groups, L input length, K kernel width,
 * Lout output length; Cg = Cin/G and Og = Cout/G channels per group.
 */
#include "../conv.h"

/* out (N, Cout, Lout) = b (Cout) + sum_{ci in group, k} w (Cout, Cg, K) * inp (N, Cin, L)
 * at t*stride + k*dilation - pad_left (zero outside [0, L)) */
slm_status slm_conv1d_ref(float *out, const float *inp, const float *w, const float *b,
                          const slm_conv1d_geom *g) {
    const int64_t Cg = g->Cin / g->groups, Og = g->Cout / g->groups;
    const int64_t rows = g->N * g->Cout;
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(dynamic, 1)
    for (int64_t row = 0; row < rows; row++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        const int64_t n = row / g->Cout, co = row % g->Cout, grp = co / Og;
        const float *x = inp + (n * g->Cin + grp * Cg) * g->L;
        const float *wr = w + co * Cg * g->K;
        float *y = out + row * g->Lout;
        for (int64_t t = 0; t < g->Lout; t++) {
            double acc = b ? (double)b[co] : 0.0;
            const int64_t j0 = t * g->stride - g->pad_left;
            for (int64_t ci = 0; ci < Cg; ci++)
                for (int64_t k = 0; k < g->K; k++) {
                    const int64_t j = j0 + k * g->dilation;
                    if (j >= 0 && j < g->L) acc += (double)wr[ci * g->K + k] * (double)x[ci * g->L + j];
                }
            y[t] = (float)acc;
        }
    }
    if (stop) return SLM_INTERRUPTED_ERROR("conv1d");
    return SLM_OK;
}

/* out (N, Cout, Lout) = b + sum over (ci in group, k, j) with j*stride + k*dilation -
 * padding = t of w (Cin, Og, K)[ci, co % Og, k] * inp (N, Cin, L)[n, ci, j]: the gather
 * form of the transposed convolution (each output reads the inputs that land on it) */
slm_status slm_conv_transpose1d_ref(float *out, const float *inp, const float *w, const float *b,
                                    const slm_convt1d_geom *g) {
    const int64_t Cg = g->Cin / g->groups, Og = g->Cout / g->groups;
    const int64_t rows = g->N * g->Cout, s = g->stride;
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(dynamic, 1)
    for (int64_t row = 0; row < rows; row++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        const int64_t n = row / g->Cout, co = row % g->Cout, grp = co / Og, col = co % Og;
        const float *x = inp + (n * g->Cin + grp * Cg) * g->L;
        const float *wg = w + (grp * Cg * Og + col) * g->K;
        float *y = out + row * g->Lout;
        for (int64_t t = 0; t < g->Lout; t++) {
            double acc = b ? (double)b[co] : 0.0;
            for (int64_t k = 0; k < g->K; k++) {
                const int64_t u = t + g->padding - k * g->dilation;
                if (u < 0 || u % s) continue;
                const int64_t j = u / s;
                if (j >= g->L) continue;
                for (int64_t ci = 0; ci < Cg; ci++)
                    acc += (double)wg[ci * Og * g->K + k] * (double)x[ci * g->L + j];
            }
            y[t] = (float)acc;
        }
    }
    if (stop) return SLM_INTERRUPTED_ERROR("conv_transpose1d");
    return SLM_OK;
}
