/* gemm.h: the internal GEMM building block that other kernels (conv, attention, LSTM,
 * codeword search) call. Row-major, BLAS-like. It dispatches on the GEMM family's path
 * (slm_family_path(SLM_FAMILY_GEMM)) and parallelises internally unless it is called
 * from inside an OpenMP parallel region, where it runs on the calling thread only. */
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

#endif
