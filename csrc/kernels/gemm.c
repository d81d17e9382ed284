/* gemm.c: the GEMM family's entry points: slm_linear_f32, slm_linear_bf16w_f32,
 * slm_matmul_f32 (public, validated) and slm_sgemm (internal, for the conv, attention,
 * LSTM and codeword-search kernels). Each one checks its sizes before any parallel
 * region, handles the empty and K == 0 cases (C = beta*C + bias, as torch gives zeros
 * plus bias for an empty inner dimension), then hands a slm_gemm_args to the path
 * slm_family_path(SLM_FAMILY_GEMM) names: ref, avx2/avx512 (csrc/kernels/simd/gemm.c)
 * or dnnl (csrc/kernels/dnnl/gemm_dnnl.c). oneDNN has no float-activation x bf16-weight
 * matmul on most CPUs and must not start its own threads inside a caller's parallel
 * region, so those calls take the best SIMD path instead.
 */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm.h"
#include "slm/ops_gemm.h"

static int in_parallel(void) {
#ifdef _OPENMP
    return omp_in_parallel();
#else
    return 0;
#endif
}

/* the fastest SIMD path this machine runs (dnnl's fallback for what it cannot do) */
static slm_path simd_path(void) {
#ifdef SLM_BUILD_AVX512
    if (slm_path_available(SLM_PATH_AVX512)) return SLM_PATH_AVX512;
#endif
#ifdef SLM_BUILD_AVX2
    if (slm_path_available(SLM_PATH_AVX2)) return SLM_PATH_AVX2;
#endif
    return SLM_PATH_REF;
}

static size_t simd_scratch(slm_path p, const slm_gemm_args *g, int nt) {
#ifdef SLM_BUILD_AVX512
    if (p == SLM_PATH_AVX512) return slm_gemm_scratch_avx512(g, nt);
#endif
#ifdef SLM_BUILD_AVX2
    if (p == SLM_PATH_AVX2) return slm_gemm_scratch_avx2(g, nt);
#endif
    (void)p;
    (void)g;
    (void)nt;
    return 0;
}

static slm_status simd_run(slm_path p, const slm_gemm_args *g, int nt, void *scratch) {
#ifdef SLM_BUILD_AVX512
    if (p == SLM_PATH_AVX512) return slm_gemm_avx512(g, nt, scratch);
#endif
#ifdef SLM_BUILD_AVX2
    if (p == SLM_PATH_AVX2) return slm_gemm_avx2(g, nt, scratch);
#endif
    (void)p;
    (void)nt;
    (void)scratch;
    return slm_gemm_ref(g);
}

/* C = beta*C + bias for K == 0 (no products to sum) */
static void gemm_k0(const slm_gemm_args *g) {
    for (int64_t i = 0; i < g->M; i++) {
        float *c = g->C + i * g->ldc;
        for (int64_t j = 0; j < g->N; j++) {
            float r = g->beta != 0.0f ? g->beta * c[j] : 0.0f;
            c[j] = g->bias ? r + g->bias[j] : r;
        }
    }
}

/* the path this call runs on: dnnl only where it applies */
static slm_path pick_path(const slm_gemm_args *g, int inpar) {
    slm_path p = slm_family_path(SLM_FAMILY_GEMM);
#ifdef SLM_HAVE_DNNL
    if (p == SLM_PATH_DNNL && (inpar || g->B.bf16)) p = simd_path();
#else
    if (p == SLM_PATH_DNNL) p = simd_path();
#endif
    if ((p == SLM_PATH_AVX2 || p == SLM_PATH_AVX512) && !slm_path_available(p)) p = SLM_PATH_REF;
    return p;
}

/* one GEMM on a SIMD path (or ref if p is ref), its scratch taken here */
static slm_status gemm_run_simd(slm_path p, const slm_gemm_args *g, int nt, const char *fn) {
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, simd_scratch(p, g, nt), fn));
    slm_status st = simd_run(p, g, nt, ar.base);
    slm_arena_release(&ar);
    if (st == SLM_ERR_INTERRUPTED) return SLM_INTERRUPTED_ERROR(fn);
    return st;
}

/* one GEMM on the family's path; fn names the public op in error messages */
static slm_status gemm_run(const slm_gemm_args *g, const char *fn) {
    if (g->M == 0 || g->N == 0) return SLM_OK;
    if (g->K == 0) {
        gemm_k0(g);
        return SLM_OK;
    }
    int inpar = in_parallel();
    int nt = inpar ? 1 : slm_threads();
    slm_path p = pick_path(g, inpar);
    slm_status st;
    if (p == SLM_PATH_REF) {
        st = slm_gemm_ref(g);
#ifdef SLM_HAVE_DNNL
    } else if (p == SLM_PATH_DNNL) {
        st = slm_gemm_dnnl(g, 1, 0, 0, 0, fn);
        if (st != SLM_ERR_BACKEND) return st;
        /* oneDNN has no implementation for this layout: the SIMD path has */
        slm_clear_error();
        return gemm_run_simd(simd_path(), g, nt, fn);
#endif
    } else {
        return gemm_run_simd(p, g, nt, fn);
    }
    if (st == SLM_ERR_INTERRUPTED) return SLM_INTERRUPTED_ERROR(fn);
    return st;
}

slm_status slm_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc) {
    slm_gemm_args g = {.M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .A = A, .lda = lda,
                       .trans_a = trans_a, .B = {.f32 = B, .ld = ldb, .trans = trans_b},
                       .C = C, .ldc = ldc};
    return gemm_run(&g, "sgemm");
}

/* ---- public ops ------------------------------------------------------------------- */

static slm_status check_linear(const char *fn, const void *out, const float *inp, const void *w,
                               int64_t M, int64_t K, int64_t N) {
    SLM_CHECK(M >= 0 && K >= 0 && N >= 0, fn, "negative size (M=%lld, K=%lld, N=%lld)", (long long)M,
              (long long)K, (long long)N);
    int64_t n;
    SLM_TRY(slm_numel(fn, &n, 2, M, K));
    SLM_CHECK(inp != NULL || n == 0, fn, "inp is NULL");
    SLM_TRY(slm_numel(fn, &n, 2, N, K));
    SLM_CHECK(w != NULL || n == 0, fn, "w is NULL");
    SLM_TRY(slm_numel(fn, &n, 2, M, N));
    SLM_CHECK(out != NULL || n == 0, fn, "out is NULL");
    /* bytes too, so that no index computation can overflow downstream */
    SLM_TRY(slm_numel(fn, &n, 3, M, N, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n, 3, M, K, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n, 3, N, K, (int64_t)sizeof(float)));
    return SLM_OK;
}

slm_status slm_linear_f32(float *out, const float *inp, const float *w, const float *b, int64_t M,
                          int64_t K, int64_t N) {
    static const char fn[] = "linear";
    SLM_TRY(check_linear(fn, out, inp, w, M, K, N));
    slm_gemm_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = inp, .lda = K,
                       .B = {.f32 = w, .ld = K, .trans = 1}, .bias = b, .C = out, .ldc = N};
    return gemm_run(&g, fn);
}

slm_status slm_linear_bf16w_f32(float *out, const float *inp, const uint16_t *w, const float *b,
                                int64_t M, int64_t K, int64_t N) {
    static const char fn[] = "linear_bf16w";
    SLM_TRY(check_linear(fn, out, inp, w, M, K, N));
    slm_gemm_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = inp, .lda = K,
                       .B = {.bf16 = w, .ld = K, .trans = 1}, .bias = b, .C = out, .ldc = N};
    return gemm_run(&g, fn);
}

/* a batch of small GEMMs runs one GEMM per thread; big ones parallelise inside */
#define MATMUL_SMALL (1 << 21) /* M*N*K below which a single GEMM is too small to split */

slm_status slm_matmul_f32(float *out, const float *a, const float *b, int64_t B, int64_t M, int64_t K,
                          int64_t N, int64_t stride_a, int64_t stride_b) {
    static const char fn[] = "matmul";
    SLM_CHECK(B >= 0 && M >= 0 && K >= 0 && N >= 0, fn,
              "negative size (B=%lld, M=%lld, K=%lld, N=%lld)", (long long)B, (long long)M, (long long)K,
              (long long)N);
    SLM_CHECK(stride_a >= 0 && stride_b >= 0, fn, "negative batch stride (stride_a=%lld, stride_b=%lld)",
              (long long)stride_a, (long long)stride_b);
    int64_t n_out, n_a, n_b, mnk;
    SLM_TRY(slm_numel(fn, &n_out, 4, B, M, N, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n_a, 3, M, K, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n_b, 3, K, N, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &mnk, 3, M, N, K));
    /* the last batch's operand must be addressable: (B-1)*stride + size */
    if (B > 1) {
        int64_t t;
        SLM_TRY(slm_numel(fn, &t, 3, B - 1, stride_a, (int64_t)sizeof(float)));
        SLM_TRY(slm_numel(fn, &t, 3, B - 1, stride_b, (int64_t)sizeof(float)));
    }
    SLM_CHECK(out != NULL || n_out == 0, fn, "out is NULL");
    SLM_CHECK(a != NULL || B == 0 || n_a == 0, fn, "a is NULL");
    SLM_CHECK(b != NULL || B == 0 || n_b == 0, fn, "b is NULL");
    if (B == 0 || M == 0 || N == 0) return SLM_OK;

    slm_gemm_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = a, .lda = K,
                       .B = {.f32 = b, .ld = N, .trans = 0}, .C = out, .ldc = N};
    if (K == 0) {
        memset(out, 0, (size_t)n_out);
        return SLM_OK;
    }
    /* one shared right operand over contiguous left operands: a single (B*M, K) GEMM */
    if (B == 1 || (stride_b == 0 && stride_a == M * K)) {
        g.M = B * M;
        return gemm_run(&g, fn);
    }
    int inpar = in_parallel();
    int nt = inpar ? 1 : slm_threads();
    slm_path p = pick_path(&g, inpar);
#ifdef SLM_HAVE_DNNL
    if (p == SLM_PATH_DNNL) {
        slm_status st = slm_gemm_dnnl(&g, B, stride_a, stride_b, M * N, fn);
        if (st != SLM_ERR_BACKEND) return st;
        slm_clear_error(); /* no oneDNN implementation for these strides */
        p = simd_path();
    }
#endif
    if (p == SLM_PATH_REF) {
        for (int64_t i = 0; i < B; i++) {
            g.A = a + i * stride_a;
            g.B.f32 = b + i * stride_b;
            g.C = out + i * M * N;
            slm_status st = slm_gemm_ref(&g);
            if (st == SLM_ERR_INTERRUPTED) return SLM_INTERRUPTED_ERROR(fn);
            if (st) return st;
        }
        return SLM_OK;
    }
    int batch_par = nt > 1 && (mnk <= MATMUL_SMALL || B >= 4 * (int64_t)nt);
    size_t per = slm_arena_need(simd_scratch(p, &g, batch_par ? 1 : nt));
    int nslots = batch_par ? (int)(B < nt ? B : nt) : 1;
    if (per != 0 && (size_t)nslots > SIZE_MAX / per)
        return slm_error(SLM_ERR_NOMEM, fn, "scratch size overflows");
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, per * (size_t)nslots, fn));
    int stop = 0;
    if (batch_par) {
#pragma omp parallel for num_threads(nslots) schedule(dynamic, 1)
        for (int64_t i = 0; i < B; i++) {
            if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) continue;
            slm_gemm_args gi = g;
            gi.A = a + i * stride_a;
            gi.B.f32 = b + i * stride_b;
            gi.C = out + i * M * N;
#ifdef _OPENMP
            char *slot = ar.base + per * (size_t)omp_get_thread_num();
#else
            char *slot = ar.base;
#endif
            if (simd_run(p, &gi, 1, slot) != SLM_OK) __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        }
    } else {
        for (int64_t i = 0; i < B && !stop; i++) {
            g.A = a + i * stride_a;
            g.B.f32 = b + i * stride_b;
            g.C = out + i * M * N;
            if (simd_run(p, &g, nt, ar.base) != SLM_OK) stop = 1;
        }
    }
    slm_arena_release(&ar);
    /* the SIMD cores fail only when interrupted */
    return stop ? SLM_INTERRUPTED_ERROR(fn) : SLM_OK;
}
