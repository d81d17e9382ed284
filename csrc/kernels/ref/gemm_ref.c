/* gemm_ref.c: scalar reference GEMM, the oracle for the SIMD and oneDNN paths.
 * Accumulates in double so that it is a sharper reference than any float path. */
#include "../gemm.h"

slm_status slm_sgemm_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        if (slm_interrupted()) return SLM_INTERRUPTED_ERROR("sgemm");
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += (double)a * (double)b;
            }
            float r = alpha * (float)acc;
            C[i * ldc + j] = beta == 0.0f ? r : r + beta * C[i * ldc + j];
        }
    }
    return SLM_OK;
}

/* Until the GEMM family lands its fast paths, every path uses the reference. */
slm_status slm_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc) {
    return slm_sgemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
