/* ops_attn.h: public C API of the attention op family (see slm.h for conventions).
 *
 * scaled_dot_product_attention as in torch.nn.functional, in fp32, as a blocked
 * ("flash") kernel: memory does not grow as L*S. Operands are strided views so that a
 * KV cache with spare capacity, a broadcast mask or grouped-query heads need no copy.
 *
 * Shapes: B batch, Hq query heads, Hk / Hv key / value heads (each divides Hq: query
 * head h reads key head h / (Hq/Hk) and value head h / (Hq/Hv), as torch's enable_gqa
 * with repeat_interleave; Hk = 1 is plain broadcasting), L queries, S keys, E head size
 * of q and k, Ev head size of v and of the output.
 */
#ifndef SLM_OPS_ATTN_H
#define SLM_OPS_ATTN_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SLM_ATTN_MASK_NONE = 0,
    SLM_ATTN_MASK_BOOL = 1, /* uint8_t, nonzero = the key takes part (torch's bool mask) */
    SLM_ATTN_MASK_ADD = 2   /* float, added to the scaled scores (-inf = excluded) */
} slm_attn_mask_kind;

/* Sizes and element strides of the operands. The last dimension of q, k, v and out is
 * contiguous (stride 1); every other stride may be anything, 0 included (broadcast).
 * Fill it with slm_sdpa_default_params() and change what differs. */
typedef struct {
    int64_t B, Hq, Hk, Hv, L, S, E, Ev;
    int64_t q_sb, q_sh, q_sl; /* q (B, Hq, L, E): batch, head, row strides */
    int64_t k_sb, k_sh, k_ss; /* k (B, Hk, S, E) */
    int64_t v_sb, v_sh, v_ss; /* v (B, Hv, S, Ev) */
    int64_t o_sb, o_sh, o_sl; /* out (B, Hq, L, Ev) */
    slm_attn_mask_kind mask_kind;
    int64_t m_sb, m_sh, m_sl, m_ss; /* mask (B, Hq, L, S), 0 where it broadcasts */
    int is_causal; /* key j takes part in query row l iff j <= l (torch: tril(ones(L, S))) */
    float scale;   /* multiplies q.k; default 1/sqrt(E) */
} slm_sdpa_params;

/* Dense C-contiguous q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hv, S, Ev), out (B, Hq, L,
 * Ev); no mask, not causal, scale 1/sqrt(E) (1 for E = 0). */
slm_sdpa_params slm_sdpa_default_params(int64_t B, int64_t Hq, int64_t Hk, int64_t Hv, int64_t L,
                                        int64_t S, int64_t E, int64_t Ev);

/* out (B, Hq, L, Ev) = softmax(q @ k^T * scale + mask) @ v
 * mask: NULL for SLM_ATTN_MASK_NONE, else uint8_t* or float* per p->mask_kind; a mask
 * together with is_causal is SLM_ERR_VALUE (torch's documented contract). A row whose
 * keys are all excluded gives zeros, as torch's CPU kernel does (S = 0 too); a NaN
 * score makes its row NaN; Inf propagates. */
slm_status slm_sdpa_f32(float *out, const float *q, const float *k, const float *v,
                        const void *mask, const slm_sdpa_params *p);

#ifdef __cplusplus
}
#endif

#endif
