/* rvq.h: public C API of residual vector quantization (see slm.h for conventions).
 *
 * The quantizer of neural codecs: stage i finds the codeword nearest to the residual left
 * by stages 0..i-1, and subtracts its contribution. One stage description covers the
 * variants in use:
 *  - EnCodec / SoundStream / Mimi: squared-L2 search in the latent space, the codeword
 *    itself is the contribution (no projections);
 *  - DAC (factorised codes): the residual is projected to a small space (in_w, in_b),
 *    searched by cosine similarity (inputs and codebook L2-normalised), and the raw
 *    codeword is projected back (out_w, out_b) as the contribution.
 * Mimi's split quantizer (a semantic RVQ and an acoustic RVQ over the same latent, each
 * between 1x1 input/output projections) is two calls composed by the caller.
 * Latents are channels-last: x (T, D), one row per frame; codes are (n_q, T).
 */
#ifndef SLM_RVQ_H
#define SLM_RVQ_H

#include <stdint.h>
#include "../slm.h"
#include "ops_rnn_vq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const float *codebook;      /* (K, d) */
    int64_t K, d;               /* codebook size and codeword dimension */
    slm_vq_metric metric;       /* SLM_VQ_L2 or SLM_VQ_COSINE */
    const float *in_w, *in_b;   /* (d, D), (d) or NULL: into the codebook space; both NULL: d == D */
    const float *out_w, *out_b; /* (D, d), (D) or NULL: back to the latent */
} slm_rvq_stage;

/* codes (n_q, T) and, if not NULL, quantized (T, D) = the sum of the stages' contributions
 * <- x (T, D) with stages[0..n_q). Ties pick the lowest index. NaN/Inf in x is
 * SLM_ERR_VALUE. */
slm_status slm_rvq_encode_f32(int64_t *codes, float *quantized, const float *x, const slm_rvq_stage *stages,
                              int64_t n_q, int64_t T, int64_t D);

/* out (T, D) = sum over i < n_q of stage i's contribution for codes[i] (n_q, T), added in
 * stage order. A code outside [0, K) is SLM_ERR_VALUE naming stage and frame. */
slm_status slm_rvq_decode_f32(float *out, const int64_t *codes, const slm_rvq_stage *stages, int64_t n_q,
                              int64_t T, int64_t D);

#ifdef __cplusplus
}
#endif

#endif
