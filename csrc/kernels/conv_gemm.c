/* conv_gemm.c: conv_transpose1d on short inputs as one GEMM plus col2im.
 *
 * A transposed conv scatters each input frame through the kernel: per group,
 * cols (Cout/G * K, L) = w_g^T (Cout/G * K, Cin/G) @ x_g (Cin/G, L), then every column
 * entry is added to out[co, l*stride - padding + k*dilation]. On short inputs (codec
 * upsamplers at 75 frames a second) the polyphase SIMD kernel spends its time on set-up
 * and weight repacking, while this form is a single well-shaped GEMM (the weight is
 * already stored (Cin, Cout/G * K): no repacking) and a cheap scatter. The SIMD paths
 * choose it for short inputs (see conv.c); slm_sgemm runs on the GEMM family's path.
 */
#include <string.h>

#include "conv.h"
#include "gemm.h"

slm_status slm_conv_transpose1d_gemm(float *out, const float *inp, const float *w, const float *b,
                                     const slm_convt1d_geom *g) {
    static const char fn[] = "conv_transpose1d";
    const int64_t G = g->groups, Cig = g->Cin / G, Cog = g->Cout / G, K = g->K, L = g->L;
    const int64_t Lout = g->Lout, rows = Cog * K;
    slm_arena arena;
    SLM_TRY(slm_arena_init(&arena, slm_arena_need((size_t)rows * (size_t)L * sizeof(float)), fn));
    float *cols = (float *)slm_arena_take(&arena, (size_t)rows * (size_t)L * sizeof(float));
    slm_status st = SLM_OK;
    const int nt = slm_threads();
    for (int64_t n = 0; n < g->N && st == SLM_OK; n++) {
        for (int64_t gi = 0; gi < G && st == SLM_OK; gi++) {
            const float *x = inp + (n * g->Cin + gi * Cig) * L;
            const float *wg = w + gi * Cig * rows; /* (Cig, Cog*K) row-major */
            st = slm_sgemm(1, 0, rows, L, Cig, 1.0f, wg, rows, x, L, 0.0f, cols, L);
            if (st != SLM_OK) break;
            float *o = out + (n * g->Cout + gi * Cog) * Lout;
#pragma omp parallel for num_threads(nt) schedule(static) if (Cog * Lout > (1 << 15))
            for (int64_t co = 0; co < Cog; co++) {
                float *orow = o + co * Lout;
                const float bias = b ? b[gi * Cog + co] : 0.0f;
                for (int64_t t = 0; t < Lout; t++) orow[t] = bias;
                for (int64_t k = 0; k < K; k++) {
                    const float *c = cols + (co * K + k) * L;
                    const int64_t off = k * g->dilation - g->padding;
                    /* t = l*stride + off in [0, Lout): l from ceil(-off/stride) */
                    int64_t l0 = off >= 0 ? 0 : (-off + g->stride - 1) / g->stride;
                    for (int64_t l = l0; l < L; l++) {
                        int64_t t = l * g->stride + off;
                        if (t >= Lout) break;
                        orow[t] += c[l];
                    }
                }
            }
        }
    }
    slm_arena_release(&arena);
    return st;
}
