/* rnn_vq.c: public entries of lstm and nearest_codeword: validation and path choice.
 *
 * lstm runs inside codec encoders/decoders (EnCodec's SEANet has a 2-layer LSTM over
 * its latent frames); nearest_codeword is the search of every residual VQ stage that
 * turns those latents into tokens. The checks here are the only ones: the kernels
 * (ref/lstm_ref.c, ref/vq_ref.c, simd/lstm.c, simd/vq.c) trust their input. */
#include <float.h>
#include <math.h>

#include "rnn_vq.h"

slm_status slm_lstm_f32(float *out, float *h_n, float *c_n, const float *x, const float *h0,
                        const float *c0, const float *const *params, int64_t T, int64_t N,
                        int64_t In, int64_t H, int num_layers, int bidirectional, int has_bias,
                        int batch_first) {
    static const char fn[] = "lstm";
    SLM_CHECK(num_layers >= 1, fn, "num_layers must be >= 1, got %d", num_layers);
    SLM_CHECK(T >= 1, fn, "sequence length must be >= 1, got %lld", (long long)T);
    SLM_CHECK(In >= 1 && H >= 1, fn, "input_size and hidden_size must be >= 1, got %lld and %lld",
              (long long)In, (long long)H);
    SLM_CHECK(N >= 0, fn, "negative batch size %lld", (long long)N);
    SLM_CHECK((h0 == NULL) == (c0 == NULL), fn, "h0 and c0 must be given together");
    const int64_t D = bidirectional ? 2 : 1, widest = In > D * H ? In : D * H;
    int64_t n;
    /* the kernels' largest buffers and products: inputs/outputs, projections, weights */
    SLM_TRY(slm_numel(fn, &n, 4, T, N, D * 4, H));
    SLM_TRY(slm_numel(fn, &n, 3, T, N, widest));
    SLM_TRY(slm_numel(fn, &n, 3, 4 * H, widest, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n, 4, (int64_t)num_layers, D, N, H));
    SLM_CHECK(params != NULL, fn, "params is NULL");
    const int per = has_bias ? 4 : 2;
    for (int i = 0; i < num_layers * (int)D * per; i++)
        SLM_CHECK(params[i] != NULL, fn, "params[%d] is NULL", i);
    if (N == 0) return SLM_OK;
    SLM_CHECK(out && x, fn, "NULL buffer");
    switch (slm_family_path(SLM_FAMILY_RNN)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512:
        return slm_lstm_f32_avx512(out, h_n, c_n, x, h0, c0, params, T, N, In, H, num_layers,
                                   bidirectional, has_bias, batch_first);
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2:
        return slm_lstm_f32_avx2(out, h_n, c_n, x, h0, c0, params, T, N, In, H, num_layers,
                                 bidirectional, has_bias, batch_first);
#endif
    default:
        return slm_lstm_f32_ref(out, h_n, c_n, x, h0, c0, params, T, N, In, H, num_layers,
                                bidirectional, has_bias, batch_first);
    }
}

/* squared norm of a row in double, four partial sums (the adds overlap; no reassociation
 * flag needed). NaN/Inf in the row makes it non-finite; float squares cannot overflow it. */
static double row_sumsq(const float *p, int64_t D) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t d = 0;
    for (; d + 4 <= D; d += 4) {
        s0 += (double)p[d] * p[d];
        s1 += (double)p[d + 1] * p[d + 1];
        s2 += (double)p[d + 2] * p[d + 2];
        s3 += (double)p[d + 3] * p[d + 3];
    }
    for (; d < D; d++) s0 += (double)p[d] * p[d];
    return (s0 + s1) + (s2 + s3);
}

/* SLM_ERR_VALUE naming the first row of a (rows, D) with a NaN/Inf, or whose squared
 * norm is so large that x.x - 2 x.c + c.c could overflow float32: a silently wrong
 * index is worse than an error. Rows are checked in parallel; the lowest bad row is
 * reported, so the message does not depend on the thread count. */
static slm_status check_rows(const float *a, int64_t rows, int64_t D, const char *what) {
    int64_t bad = rows;
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) reduction(min : bad) if (rows * D > 65536)
    for (int64_t r = 0; r < rows; r++) {
        if (stop || ((r & 4095) == 4095 && slm_interrupted())) {
            stop = 1;
            continue;
        }
        const double ss = row_sumsq(a + r * D, D);
        if (!(ss <= (double)FLT_MAX / 4) && r < bad) bad = r; /* NaN fails the comparison too */
    }
    if (stop) return SLM_INTERRUPTED_ERROR("nearest_codeword");
    if (bad == rows) return SLM_OK;
    const float *p = a + bad * D;
    for (int64_t d = 0; d < D; d++)
        if (!isfinite(p[d]))
            return slm_error(SLM_ERR_VALUE, "nearest_codeword", "%s row %lld contains %s at column %lld", what,
                             (long long)bad, isnan(p[d]) ? "NaN" : "Inf", (long long)d);
    return slm_error(SLM_ERR_VALUE, "nearest_codeword",
                     "%s row %lld has squared norm %.3g: distances would overflow float32", what, (long long)bad,
                     row_sumsq(p, D));
}

slm_status slm_nearest_codeword_f32(int64_t *idx, float *dist, const float *x, const float *codebook,
                                    int64_t N, int64_t K, int64_t D, slm_vq_metric metric) {
    static const char fn[] = "nearest_codeword";
    SLM_CHECK(metric == SLM_VQ_L2 || metric == SLM_VQ_COSINE, fn, "unknown metric %d", (int)metric);
    SLM_CHECK(N >= 0 && D >= 0, fn, "negative size (N=%lld, D=%lld)", (long long)N, (long long)D);
    SLM_CHECK(K >= 1, fn, "the codebook is empty (K=%lld)", (long long)K);
    int64_t n;
    SLM_TRY(slm_numel(fn, &n, 3, N, D, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n, 3, K, D, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n, 3, N, K, D + 1));
    if (N == 0) return SLM_OK;
    SLM_CHECK(idx && x && codebook, fn, "NULL buffer");
    SLM_TRY(check_rows(codebook, K, D, "codebook"));
    SLM_TRY(check_rows(x, N, D, "x"));
    return slm_vq_nearest_f32(idx, dist, x, codebook, N, K, D, metric);
}

/* internal: the path switch alone, for callers whose rows are already checked (the Lloyd
 * loop re-assigns the same x to centres that are means of its rows) */
slm_status slm_vq_nearest_f32(int64_t *idx, float *dist, const float *x, const float *codebook, int64_t N,
                              int64_t K, int64_t D, slm_vq_metric metric) {
    if (N == 0) return SLM_OK;
    switch (slm_family_path(SLM_FAMILY_VQ)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return slm_nearest_codeword_f32_avx512(idx, dist, x, codebook, N, K, D, metric);
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return slm_nearest_codeword_f32_avx2(idx, dist, x, codebook, N, K, D, metric);
#endif
    default: return slm_nearest_codeword_f32_ref(idx, dist, x, codebook, N, K, D, metric);
    }
}

/* internal (k-means++ seeding): sizes and values are checked by the caller */
slm_status slm_vq_sqdist_f32(float *out, const float *x, const float *c, int64_t N, int64_t L, int64_t D) {
    switch (slm_family_path(SLM_FAMILY_VQ)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return slm_vq_sqdist_f32_avx512(out, x, c, N, L, D);
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return slm_vq_sqdist_f32_avx2(out, x, c, N, L, D);
#endif
    default: return slm_vq_sqdist_f32_ref(out, x, c, N, L, D);
    }
}
