/* gemm_ref.c: scalar reference GEMM, the oracle for the SIMD and oneDNN paths.
 * Accumulates in double so that it is a sharper reference than any float path. The
 * general core also takes bf16 weights and a bias, so that the public ops (linear,
 * matmul) have a reference path of their own. */
#include <string.h>

#include "../gemm.h"

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* C (M, N) = alpha * op(A) @ op(B) + beta * C + bias */
slm_status slm_gemm_ref(const slm_gemm_args *g) {
    const slm_gemm_b *B = &g->B;
    for (int64_t i = 0; i < g->M; i++) {
        if (slm_interrupted()) return SLM_INTERRUPTED_ERROR("sgemm");
        for (int64_t j = 0; j < g->N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < g->K; k++) {
                float a = g->trans_a ? g->A[k * g->lda + i] : g->A[i * g->lda + k];
                int64_t bi = B->trans ? j * B->ld + k : k * B->ld + j;
                float b = B->f32 ? B->f32[bi] : bf16_to_f32(B->bf16[bi]);
                acc += (double)a * (double)b;
            }
            float r = g->alpha * (float)acc;
            float *c = &g->C[i * g->ldc + j];
            if (g->beta != 0.0f) r += g->beta * *c;
            if (g->bias) r += g->bias[j];
            *c = r;
        }
    }
    return SLM_OK;
}

slm_status slm_sgemm_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc) {
    slm_gemm_args g = {.M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .A = A, .lda = lda,
                       .trans_a = trans_a, .B = {.f32 = B, .ld = ldb, .trans = trans_b},
                       .C = C, .ldc = ldc};
    return slm_gemm_ref(&g);
}
