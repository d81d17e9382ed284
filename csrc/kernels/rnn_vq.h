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
/* scalar, distances in double: the oracle */
slm_status slm_nearest_codeword_f32_ref(SLM_VQ_ARGS);
/* blocked x @ codebook^T by slm_sgemm, SIMD norms and argmin (simd/vq.c) */
slm_status slm_nearest_codeword_f32_avx2(SLM_VQ_ARGS);
slm_status slm_nearest_codeword_f32_avx512(SLM_VQ_ARGS);

/* the floor of F.normalize (eps = 1e-12) */
#define SLM_VQ_NORM_EPS 1e-12f

#endif
