/* ops_norm_act.h: public C API of normalisations and activations (see slm.h for
 * conventions).
 *
 * Norms (family SLM_FAMILY_NORM): layer norm, group norm, RMS norm, with the
 * semantics of torch.nn.functional (biased variance, eps inside the square root).
 * Activations (family SLM_FAMILY_ACT): the elementwise ones, Snake (BigVGAN / DAC
 * vocoders), softmax along any dimension with an optional mask, and rotary position
 * embedding (RoPE, half-split and interleaved layouts, partial rotary).
 *
 * Every function may be called with out == inp (in place). Sizes are validated here,
 * before any work; NaN and Inf in the data are not errors and propagate as in torch.
 */
#ifndef SLM_OPS_NORM_ACT_H
#define SLM_OPS_NORM_ACT_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- norms ------------------------------------------------------------------------- */

/* out (rows, cols) = (inp - mean) / sqrt(var + eps) * w (cols) + b (cols), mean and
 * biased var over each row. w and b may be NULL (1 and 0). eps >= 0. */
slm_status slm_layer_norm_f32(float *out, const float *inp, const float *w, const float *b,
                              int64_t rows, int64_t cols, float eps);

/* out (N, C, L) = group-normalised inp (N, C, L): G groups of C/G channels, mean and
 * biased var over each group's (C/G) * L values, then per channel * w (C) + b (C)
 * (either may be NULL). C must be a multiple of G; eps >= 0. */
slm_status slm_group_norm_f32(float *out, const float *inp, const float *w, const float *b,
                              int64_t N, int64_t C, int64_t L, int64_t G, float eps);

/* out (rows, cols) = inp / sqrt(mean(inp^2) + eps) * w (cols); w may be NULL. */
slm_status slm_rms_norm_f32(float *out, const float *inp, const float *w, int64_t rows,
                            int64_t cols, float eps);

/* ---- elementwise activations -------------------------------------------------------- */
typedef enum {
    SLM_ACT_RELU = 0,
    SLM_ACT_LEAKY_RELU, /* param: negative_slope */
    SLM_ACT_ELU,        /* param: alpha */
    SLM_ACT_GELU,       /* exact: x/2 (1 + erf(x / sqrt 2)) */
    SLM_ACT_GELU_TANH,  /* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    SLM_ACT_SILU,
    SLM_ACT_TANH,
    SLM_ACT_SIGMOID,
    SLM_ACT_COUNT_
} slm_act;

/* out (n) = act(inp (n)); param as listed in slm_act (ignored by the others) */
slm_status slm_act_f32(float *out, const float *inp, int64_t n, slm_act kind, float param);

/* Snake / SnakeBeta (BigVGAN, DAC): per channel c,
 *   out (N, C, L) = x + 1 / (beta[c] + eps) * sin(alpha[c] * x)^2,   x = inp (N, C, L).
 * beta NULL: beta = alpha (Snake). logscale: alpha and beta are exp()'d first. alpha *
 * x is rounded to float before the sine, as in the float32 references. */
slm_status slm_snake_f32(float *out, const float *inp, const float *alpha, const float *beta,
                         int64_t N, int64_t C, int64_t L, int logscale, float eps);

/* ---- softmax ----------------------------------------------------------------------- */
typedef enum {
    SLM_MASK_NONE = 0,
    SLM_MASK_BOOL = 1, /* uint8_t, nonzero = keep */
    SLM_MASK_ADD = 2   /* float, added to the input before the softmax */
} slm_mask_kind;

/* out (outer, dim, inner) = softmax of inp (outer, dim, inner) over its middle axis.
 * inner > 1 is the softmax over a non-last dimension: handled in place with strided
 * vectors, no transposes. */
slm_status slm_softmax_f32(float *out, const float *inp, int64_t outer, int64_t dim,
                           int64_t inner);

/* Softmax of inp (shape[0..ndim)) along axis, with a mask broadcast to that shape:
 * mask_strides[k] is the mask's element stride along dimension k (0 where it
 * broadcasts). SLM_MASK_BOOL keeps where the mask is nonzero: a masked position's
 * output is exactly 0 whatever its input (even NaN or Inf), and a row with no kept
 * position is all zeros (the policy of attention kernels that skip empty rows; torch's
 * softmax of an all -inf row is NaN). SLM_MASK_ADD follows torch.softmax(inp + mask)
 * exactly, NaN for rows that are -inf everywhere included. 1 <= ndim <= 32. */
slm_status slm_softmax_masked_f32(float *out, const float *inp, const void *mask,
                                  slm_mask_kind kind, const int64_t *mask_strides, int ndim,
                                  const int64_t *shape, int axis);

/* ---- rotary position embedding ------------------------------------------------------ */
/* out (B, T, D) = RoPE(inp (B, T, D)) at positions pos (T) (NULL: 0..T-1), on the first
 * R dims (R even, 0 <= R <= D; the others are copied). Frequencies inv_freq[i] =
 * theta^(-2i/R), i < R/2. interleaved = 0: pairs (i, i + R/2) (HF LLaMA / Qwen2
 * rotate_half); 1: pairs (2i, 2i + 1) (original LLaMA, GPT-J). Angles follow HF's
 * float32 recipe: inv_freq rounded to float, pos rounded to float, their product
 * rounded to float; then cos and sin of that float angle to within an ulp. */
slm_status slm_rope_f32(float *out, const float *inp, const int64_t *pos, int64_t B, int64_t T,
                        int64_t D, int64_t R, float theta, int interleaved);

#ifdef __cplusplus
}
#endif

#endif
