/* rnn_vq.h: per-path kernels of lstm and nearest_codeword (internal).
 *
 * The public entries in rnn_vq.c validate sizes, weights and values and pick a path;
 * these trust their input (sizes as documented in ops_rnn_vq.h, finite values with
 * bounded norms for the codeword search). */
#ifndef SLM_KERNELS_RNN_VQ_H
#define SLM_KERNELS_RNN_VQ_H

#include "../runtime/runtime.h"

#define SLM_LSTM_ARGS                                                                     \
    float *out, float *h_n, float *c_n, const float *x, const float *h0, const float *c0, \
        const float *const *params, int64_t T, int64_t N, int64_t In, int64_t H, int num_layers, \
        int bidirectional, int has_bias, int batch_first
/* scalar, gate sums in double: the oracle */
slm_status slm_lstm_f32_ref(SLM_LSTM_ARGS);
/* input projection by slm_sgemm, recurrence with SIMD gates (simd/lstm.c) */
slm_status slm_lstm_f32_avx2(SLM_LSTM_ARGS);
slm_status slm_lstm_f32_avx512(SLM_LSTM_ARGS);

#define SLM_VQ_ARGS                                                                       \
    int64_t *idx, float *dist, const float *x, const float *codebook, int64_t N, int64_t K, \
        int64_t D, slm_vq_metric metric
/* the path switch of slm_nearest_codeword_f32 without its checks (rows must be finite,
 * with squared norms <= FLT_MAX / 4) */
slm_status slm_vq_nearest_f32(SLM_VQ_ARGS);
/* scalar, distances in double: the oracle */
slm_status slm_nearest_codeword_f32_ref(SLM_VQ_ARGS);
/* blocked x @ codebook^T by slm_sgemm, SIMD norms and argmin (simd/vq.c) */
slm_status slm_nearest_codeword_f32_avx2(SLM_VQ_ARGS);
slm_status slm_nearest_codeword_f32_avx512(SLM_VQ_ARGS);

/* out (N, L) = squared Euclidean distance of each row of x (N, D) to each row of c (L, D),
 * summed as differences (no ||x||^2 - 2 x.c + ||c||^2 cancellation: k-means++ seeding
 * compares potentials built from small distances too). Threads over rows; each value is
 * computed by one thread in a fixed order, so results do not depend on the thread count.
 * slm_vq_sqdist_f32 (rnn_vq.c) picks the path of the vq family. */
#define SLM_SQDIST_ARGS float *out, const float *x, const float *c, int64_t N, int64_t L, int64_t D
slm_status slm_vq_sqdist_f32(SLM_SQDIST_ARGS);
/* scalar, sums in double: the oracle */
slm_status slm_vq_sqdist_f32_ref(SLM_SQDIST_ARGS);
slm_status slm_vq_sqdist_f32_avx2(SLM_SQDIST_ARGS);
slm_status slm_vq_sqdist_f32_avx512(SLM_SQDIST_ARGS);

/* sums (K, D) += the rows of x (N, D) into the row of their label, columns [d0, d1) only,
 * rows in order: k-means's centre sums. Every element is one float64 addition chain in row
 * order, so the SIMD versions (wider adds of independent columns) give the same bits as
 * the scalar one. Labels are trusted (checked by the caller). */
#define SLM_VQ_SUMS_ARGS double *sums, const float *x, const int64_t *labels, int64_t N, int64_t D, int64_t d0, int64_t d1
void slm_vq_cluster_sums_cols_ref(SLM_VQ_SUMS_ARGS);
void slm_vq_cluster_sums_cols_avx2(SLM_VQ_SUMS_ARGS);
void slm_vq_cluster_sums_cols_avx512(SLM_VQ_SUMS_ARGS);

/* the floor of F.normalize (eps = 1e-12) */
#define SLM_VQ_NORM_EPS 1e-12f

#endif
