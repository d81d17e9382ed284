/* conv.h: the per-path kernels of the conv family (internal).
 *
 * The public entries in conv.c validate everything, turn non-zero padding modes into
 * an explicitly padded input, handle empty sizes, and then call one of these with a
 * checked geometry: every size >= 1 (except Cin, Cout, which are >= 1 here too), the
 * output length consistent with the rest, zero padding only. Kernels trust it.
 */
#ifndef SLM_KERNELS_CONV_H
#define SLM_KERNELS_CONV_H

#include "../runtime/runtime.h"

/* conv1d with zero padding: inp (N, Cin, L), w (Cout, Cin/G, K), out (N, Cout, Lout).
 * Positions outside [0, L) of the input read as zero. */
typedef struct {
    int64_t N, Cin, L, Cout, K, Lout;
    int64_t stride, pad_left, pad_right, dilation, groups;
} slm_conv1d_geom;

/* conv_transpose1d: inp (N, Cin, L), w (Cin, Cout/G, K), out (N, Cout, Lout) with
 * Lout = (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1. */
typedef struct {
    int64_t N, Cin, L, Cout, K, Lout;
    int64_t stride, padding, output_padding, dilation, groups;
} slm_convt1d_geom;

slm_status slm_conv1d_ref(float *out, const float *inp, const float *w, const float *b,
                          const slm_conv1d_geom *g);
slm_status slm_conv_transpose1d_ref(float *out, const float *inp, const float *w, const float *b,
                                    const slm_convt1d_geom *g);

slm_status slm_conv1d_avx2(float *out, const float *inp, const float *w, const float *b,
                           const slm_conv1d_geom *g);
slm_status slm_conv_transpose1d_avx2(float *out, const float *inp, const float *w, const float *b,
                                     const slm_convt1d_geom *g);
slm_status slm_conv1d_avx512(float *out, const float *inp, const float *w, const float *b,
                             const slm_conv1d_geom *g);
slm_status slm_conv_transpose1d_avx512(float *out, const float *inp, const float *w, const float *b,
                                       const slm_convt1d_geom *g);

/* conv_transpose1d as GEMM + col2im (conv_gemm.c), for short inputs on the SIMD paths */
slm_status slm_conv_transpose1d_gemm(float *out, const float *inp, const float *w, const float *b,
                                     const slm_convt1d_geom *g);
/* true where the GEMM form beats the polyphase kernel: short inputs whose column
 * buffer stays small (measured on EnCodec/HiFi-GAN upsamplers, docs/benchmarks.md) */
static inline int slm_convt1d_use_gemm(const slm_convt1d_geom *g) {
    return g->L <= 256 && (g->Cout / g->groups) * g->K * g->L <= (4 << 20) && g->Cin / g->groups >= 16;
}

slm_status slm_conv1d_dnnl(float *out, const float *inp, const float *w, const float *b,
                           const slm_conv1d_geom *g);
slm_status slm_conv_transpose1d_dnnl(float *out, const float *inp, const float *w, const float *b,
                                     const slm_convt1d_geom *g);

#endif
