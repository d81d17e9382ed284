/* ops_rnn_vq.h: public C API of the LSTM and nearest-codeword ops (see slm.h).
 *
 * lstm: the recurrent layers of codec encoders/decoders (EnCodec, SoundStream) and of
 * older speech models, with torch.nn.LSTM's semantics. nearest_codeword: the search
 * step of (residual) vector quantisers (EnCodec/SoundStream: squared Euclidean; DAC:
 * cosine), bit-compatible in its choice with the reference formulas except at ties.
 */
#ifndef SLM_OPS_RNN_VQ_H
#define SLM_OPS_RNN_VQ_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- lstm ----
 * out (T, N, D*H), h_n (layers*D, N, H), c_n (layers*D, N, H)   [In: input size]
 *   = lstm(x (T, N, In), h0, c0 (layers*D, N, H))                 (batch_first = 0)
 * out (N, T, D*H), x (N, T, In) when batch_first = 1; D = 2 if bidirectional else 1.
 * params: layers * D * (has_bias ? 4 : 2) pointers in torch's nn.LSTM._flat_weights
 * order: per layer, per direction (forward, then reverse): w_ih (4H, I_l), w_hh (4H, H),
 * then if has_bias b_ih (4H), b_hh (4H); I_l = In for layer 0 and D*H above. Gates in
 * torch's order i, f, g, o. h0 and c0 may both be NULL (zeros); h_n and c_n may be NULL
 * (not wanted). Needs T >= 1, In >= 1, H >= 1, layers >= 1 (as torch); N may be 0. */
slm_status slm_lstm_f32(float *out, float *h_n, float *c_n, const float *x, const float *h0,
                        const float *c0, const float *const *params, int64_t T, int64_t N,
                        int64_t In, int64_t H, int num_layers, int bidirectional, int has_bias,
                        int batch_first);

/* ---- nearest codeword ---- */
typedef enum {
    SLM_VQ_L2 = 0,    /* argmin of ||x||^2 - 2 x.c + ||c||^2 (EnCodec's formula, negated) */
    SLM_VQ_COSINE = 1 /* argmax of (x/|x|) . (c/|c|) (DAC; norms floored at 1e-12) */
} slm_vq_metric;

/* idx (N) = index of the codeword of codebook (K, D) nearest to each row of x (N, D);
 * ties give the lowest index. dist (N), if not NULL, gets the chosen codeword's squared
 * Euclidean distance (L2) or cosine distance 1 - cos (COSINE). NaN/Inf in x or the
 * codebook, or a row whose squared norm would overflow float32, is SLM_ERR_VALUE naming
 * the row. Needs K >= 1; N and D may be 0 (D = 0: every distance is 0, index 0). */
slm_status slm_nearest_codeword_f32(int64_t *idx, float *dist, const float *x, const float *codebook,
                                    int64_t N, int64_t K, int64_t D, slm_vq_metric metric);

#ifdef __cplusplus
}
#endif

#endif
