/* gemm.h: the internal GEMM building block that other kernels (conv, attention, LSTM,
 * codeword search) call, and the per-path cores behind it and behind the public ops
 * (slm_linear_f32, slm_linear_bf16w_f32, slm_matmul_f32 in slm/ops_gemm.h).
 * Row-major, BLAS-like. slm_sgemm dispatches on the GEMM family's path
 * (slm_family_path(SLM_FAMILY_GEMM)) and parallelises internally unless it is called
 * from inside an OpenMP parallel region, where it runs on the calling thread only.
 *
 * Shape legend: M rows of op(A) and C, N columns of op(B) and C, K the inner size.
 */
#ifndef SLM_KERNELS_GEMM_H
#define SLM_KERNELS_GEMM_H

#include "../runtime/runtime.h"

/* C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C (M, N)
 * trans_a = 0: A is stored (M, K) with row stride lda; 1: A is stored (K, M).
 * trans_b = 0: B is stored (K, N) with row stride ldb; 1: B is stored (N, K).
 * beta == 0: C is not read (NaN/garbage in C does not leak into the result).
 * The caller has validated sizes; this never fails on valid sizes except for
 * SLM_ERR_NOMEM (scratch) or SLM_ERR_INTERRUPTED. */
slm_status slm_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc);

/* the scalar reference (the oracle), same contract, always single-threaded */
slm_status slm_sgemm_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc);

/* ---- the cores behind every path ---------------------------------------------------- */

/* The B operand: float32 or bf16 bit patterns (weight-only bf16: converted to float32
 * as it is loaded, products and sums stay float32). Exactly one of f32 / bf16 is set. */
typedef struct {
    const float *f32;
    const uint16_t *bf16;
    int64_t ld; /* row stride of the stored matrix, in elements */
    int trans;  /* 0: stored (K, N); 1: stored (N, K), as a linear layer's weight */
} slm_gemm_b;

/* C (M, N) = alpha * op(A) @ op(B) + beta * C + bias (N) broadcast over rows.
 * beta == 0: C is not read. bias may be NULL. */
typedef struct {
    int64_t M, N, K;
    float alpha, beta;
    const float *A; /* stored (M, K) or, with trans_a, (K, M) */
    int64_t lda;
    int trans_a;
    slm_gemm_b B;
    const float *bias; /* (N) or NULL */
    float *C;          /* (M, N), row stride ldc */
    int64_t ldc;
} slm_gemm_args;

/* ref: double accumulation, single-threaded; handles every case including K == 0 */
slm_status slm_gemm_ref(const slm_gemm_args *g);

/* SIMD cores (csrc/kernels/simd/gemm.c, one source for both ISAs). They need M, N,
 * K >= 1 (gemm.c handles empty and K == 0 cases). Scratch: the caller allocates
 * slm_gemm_scratch_<isa>(g, nthreads) bytes (64-byte aligned; the blocking depends on
 * the thread count, so pass the same nthreads to both) and passes it in, so that a batch
 * of GEMMs run in parallel can take all their scratch in one allocation on the calling
 * thread. nthreads == 1 runs on the calling thread (no team of threads is started).
 * Returns SLM_OK or SLM_ERR_INTERRUPTED. */
size_t slm_gemm_scratch_avx2(const slm_gemm_args *g, int nthreads);
slm_status slm_gemm_avx2(const slm_gemm_args *g, int nthreads, void *scratch);
size_t slm_gemm_scratch_avx512(const slm_gemm_args *g, int nthreads);
slm_status slm_gemm_avx512(const slm_gemm_args *g, int nthreads, void *scratch);

/* oneDNN matmul (float32 B only), batched: for b < batch,
 *   C + b*stride_c  =  gemm(A + b*stride_a, B.f32 + b*stride_b)
 * with stride 0 meaning that operand is shared by every batch. Primitives are cached
 * by shape, layout, alpha/beta and bias presence. fn names the public op in errors. */
slm_status slm_gemm_dnnl(const slm_gemm_args *g, int64_t batch, int64_t stride_a,
                         int64_t stride_b, int64_t stride_c, const char *fn);

#endif
