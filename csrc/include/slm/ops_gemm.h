/* ops_gemm.h: public C API of the gemm op family (see slm.h for conventions).
 *
 * The dense products of every model: linear layers (torch.nn.functional.linear) and
 * batched matrix products (torch.matmul). Path: slm_family_path(SLM_FAMILY_GEMM).
 * Legend: M rows (tokens, frames), K input features, N output features, B batch.
 */
#ifndef SLM_OPS_GEMM_H
#define SLM_OPS_GEMM_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (M, N) = inp (M, K) @ w (N, K)^T + b (N); b may be NULL. K == 0 gives b (or 0). */
slm_status slm_linear_f32(float *out, const float *inp, const float *w, const float *b, int64_t M,
                          int64_t K, int64_t N);

/* Same with w as bf16 bit patterns (weight-only bf16: each weight is widened to float32
 * as it is loaded; products and sums are float32, as w.to(bfloat16).float() would give). */
slm_status slm_linear_bf16w_f32(float *out, const float *inp, const uint16_t *w, const float *b,
                                int64_t M, int64_t K, int64_t N);

/* out[i] (M, N) = a[i] (M, K) @ b[i] (K, N) for i < B, out contiguous (B, M, N).
 * a[i] starts at a + i*stride_a, b[i] at b + i*stride_b (elements); each matrix is
 * contiguous row-major. A stride of 0 shares that operand across the batch. */
slm_status slm_matmul_f32(float *out, const float *a, const float *b, int64_t B, int64_t M, int64_t K,
                          int64_t N, int64_t stride_a, int64_t stride_b);

#ifdef __cplusplus
}
#endif

#endif
