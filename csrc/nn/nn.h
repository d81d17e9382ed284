/* nn.h: layers that own weights, shared by the model graphs in csrc/models (internal).
 *
 * Two pieces every model uses:
 *  - binding a model's weights: look up named tensors in the caller's slm_weight list
 *    with their expected shapes (the error names the model, the key and both shapes),
 *    and carve them into the model's single allocation (slm_pack). A model's create
 *    function runs its bind step twice: once with a counting pack (base NULL) to size
 *    the allocation, once to copy.
 *  - the Transformer encoder layer of wav2vec2/HuBERT/WavLM and Whisper: self-attention
 *    and a two-layer feed-forward block, pre-norm or post-norm.
 *
 * Layers here call the public ops (slm_linear_f32, slm_sdpa_f32, ...), so they follow
 * the dispatch of each op family; they never touch SIMD themselves.
 *
 * Shape legend: B batch, T frames, C model width, H heads, D = C / H head size,
 * F feed-forward width.
 */
#ifndef SLM_NN_H
#define SLM_NN_H

#include "slm/models.h"
#include "../runtime/runtime.h"

/* ---- weights ------------------------------------------------------------------------ */

typedef struct {
    const slm_weight *w;
    int64_t n;
    const char *fn; /* the model's create function, for messages */
} slm_wset;

/* *out = the tensor named by fmt (printf-style) if its shape is exactly shape[0..ndim).
 * Missing key or different shape: SLM_ERR_VALUE naming the key and both shapes. */
slm_status slm_wset_get(const slm_wset *ws, const float **out, int ndim, const int64_t *shape,
                        const char *fmt, ...) SLM_PRINTF(5, 6);
/* the entry named by fmt, or NULL (no error set): for optional weights */
const slm_weight *slm_wset_find(const slm_wset *ws, const char *fmt, ...) SLM_PRINTF(2, 3);

/* One allocation for a model's weights. Counting mode (base == NULL): put() only adds
 * up sizes and returns NULL. Copy mode: put() copies n floats (or zeros when src is
 * NULL) to the next 64-byte aligned slot and returns it. */
typedef struct {
    float *base;
    int64_t used; /* floats, including alignment padding */
    int64_t cap;
} slm_pack;

float *slm_pack_put(slm_pack *p, const float *src, int64_t n);
/* the next 64-byte aligned slot of `bytes` bytes, uninitialised (NULL when counting) */
void *slm_pack_take(slm_pack *p, int64_t bytes);
/* after a counting pass: allocate base for p->used floats and rewind (SLM_ERR_NOMEM) */
slm_status slm_pack_alloc(slm_pack *p, const char *fn);

/* ---- Transformer encoder layer ------------------------------------------------------ */

typedef struct {
    int64_t C, H, F;  /* width, heads (H divides C), feed-forward width */
    int pre_norm;     /* 1: x + attn(ln1(x)), then x + ffn(ln2(x)) (Whisper, wav2vec2 large);
                       * 0: ln1(x + attn(x)), then ln2(x + ffn(x)) (wav2vec2/HuBERT base) */
    float eps;        /* layer norm epsilon */
    slm_act act;      /* feed-forward activation (SLM_ACT_GELU for all of these) */
    const float *ln1_w, *ln1_b; /* (C) the attention block's norm */
    const float *wqkv, *bqkv;   /* (3C, C), (3C): q, k, v projections stacked by rows; a
                                 * projection without bias has zeros in its part of bqkv */
    const float *wo, *bo;       /* (C, C), (C) output projection */
    const float *ln2_w, *ln2_b; /* (C) the feed-forward block's norm */
    const float *w1, *b1;       /* (F, C), (F) */
    const float *w2, *b2;       /* (C, F), (C) */
    /* optional weight-only bf16 copies (bit patterns) of wqkv, wo, w1, w2: when set, that
     * projection runs slm_linear_bf16w_f32 and the float32 pointer is not read */
    const uint16_t *wqkv16, *wo16, *w1_16, *w2_16;
} slm_nn_encoder_layer;

/* Bind one layer's weights, named <prefix>ln1.weight/.bias, q/k/v/o.weight (C, C) and
 * .bias (C), ln2.weight/.bias, fc1.weight (F, C)/.bias (F), fc2.weight (C, F)/.bias (C),
 * into pack p (q, k, v stacked into wqkv). A missing k.bias is zeros when k_bias is 0
 * (Whisper) and an error otherwise. bf16: the four projections are stored as bf16 only.
 * l->C, H, F, pre_norm, eps, act must be set; F is checked against fc1.weight. In the
 * counting pass the pointers stay NULL; shapes are checked in both passes. */
slm_status slm_nn_encoder_layer_bind(slm_nn_encoder_layer *l, const slm_wset *ws, slm_pack *p,
                                     const char *prefix, int k_bias, int bf16);

/* floats of work memory one slm_nn_encoder_layer_f32 call needs */
int64_t slm_nn_encoder_layer_work(int64_t B, int64_t T, int64_t C, int64_t F);

/* x (B, T, C) <- layer(x), in place.
 * lengths (B): valid frames per item, or NULL (all T); keys at t >= lengths[b] take no
 * part in attention (query rows there are computed but meaningless).
 * bias (B, H, T, T): added to the scaled scores, or NULL; when given it must already
 * exclude padded keys (-inf) and lengths is ignored (WavLM's gated position bias).
 * work: slm_nn_encoder_layer_work(B, T, C, F) floats, 64-byte aligned.
 * The model has validated shapes; this returns only kernel statuses (NOMEM,
 * INTERRUPTED). */
slm_status slm_nn_encoder_layer_f32(float *x, const slm_nn_encoder_layer *l, int64_t B, int64_t T,
                                    const int64_t *lengths, const float *bias, float *work);

/* x (n) += y (n) */
void slm_nn_add_inplace(float *x, const float *y, int64_t n);

#endif
