/* transformer.c: the Transformer encoder layer of the speech encoders (wav2vec2, HuBERT,
 * WavLM, Whisper): multi-head self-attention with one fused q/k/v projection, then a
 * two-layer feed-forward block, each with a residual connection, in the pre-norm
 * (Whisper, wav2vec2 "stable layer norm") or post-norm (wav2vec2/HuBERT base) order.
 * Sits between the model graphs (csrc/models) and the public ops it calls. See nn.h.
 *
 * Shape legend: B batch, T frames, C width, H heads, D = C / H, F feed-forward width. */
#include <string.h>

#include "nn.h"

static int64_t al16(int64_t n) { return (n + 15) & ~(int64_t)15; }

int64_t slm_nn_encoder_layer_work(int64_t B, int64_t T, int64_t C, int64_t F) {
    int64_t BT = B * T;
    return al16(BT * 3 * C) + 2 * al16(BT * C) + al16(BT * F) + al16((B * T + 3) / 4);
}

void slm_nn_add_inplace(float *x, const float *y, int64_t n) {
#pragma omp parallel for num_threads(slm_threads()) if (n > (1 << 16)) schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

/* out (M, N) = inp (M, K) @ w^T + b with float32 or weight-only bf16 weights */
static slm_status lin(float *out, const float *inp, const float *w, const uint16_t *w16, const float *b,
                      int64_t M, int64_t K, int64_t N) {
    return w16 ? slm_linear_bf16w_f32(out, inp, w16, b, M, K, N) : slm_linear_f32(out, inp, w, b, M, K, N);
}

/* att (B, T, C) = attention over qkv (B, T, 3C), heads read in place through strides */
static slm_status attention(float *att, const float *qkv, const slm_nn_encoder_layer *l, int64_t B,
                            int64_t T, const int64_t *lengths, const float *bias, uint8_t *keep) {
    int64_t C = l->C, H = l->H, D = C / H;
    slm_sdpa_params p = slm_sdpa_default_params(B, H, H, H, T, T, D, D);
    p.q_sb = p.k_sb = p.v_sb = T * 3 * C;
    p.q_sh = p.k_sh = p.v_sh = D;
    p.q_sl = p.k_ss = p.v_ss = 3 * C;
    p.o_sb = T * C;
    p.o_sh = D;
    p.o_sl = C;
    const void *mask = NULL;
    if (bias) {
        p.mask_kind = SLM_ATTN_MASK_ADD;
        p.m_sb = H * T * T;
        p.m_sh = T * T;
        p.m_sl = T;
        p.m_ss = 1;
        mask = bias;
    } else if (lengths) {
        /* a key-padding mask (B, 1, 1, T), broadcast over heads and query rows */
        for (int64_t b = 0; b < B; b++)
            for (int64_t t = 0; t < T; t++) keep[b * T + t] = t < lengths[b];
        p.mask_kind = SLM_ATTN_MASK_BOOL;
        p.m_sb = T;
        p.m_sh = 0;
        p.m_sl = 0;
        p.m_ss = 1;
        mask = keep;
    }
    return slm_sdpa_f32(att, qkv, qkv + C, qkv + 2 * C, mask, &p);
}

slm_status slm_nn_encoder_layer_f32(float *x, const slm_nn_encoder_layer *l, int64_t B, int64_t T,
                                    const int64_t *lengths, const float *bias, float *work) {
    int64_t C = l->C, F = l->F, M = B * T;
    float *qkv = work;
    float *att = qkv + al16(M * 3 * C);
    float *tmp = att + al16(M * C);
    float *ffn = tmp + al16(M * C);
    uint8_t *keep = (uint8_t *)(ffn + al16(M * F));

    /* attention block */
    const float *a_in = x;
    if (l->pre_norm) {
        SLM_TRY(slm_layer_norm_f32(tmp, x, l->ln1_w, l->ln1_b, M, C, l->eps));
        a_in = tmp;
    }
    SLM_TRY(lin(qkv, a_in, l->wqkv, l->wqkv16, l->bqkv, M, C, 3 * C));
    SLM_TRY(attention(att, qkv, l, B, T, lengths, bias, keep));
    SLM_TRY(lin(tmp, att, l->wo, l->wo16, l->bo, M, C, C));
    slm_nn_add_inplace(x, tmp, M * C);
    if (!l->pre_norm) SLM_TRY(slm_layer_norm_f32(x, x, l->ln1_w, l->ln1_b, M, C, l->eps));

    /* feed-forward block */
    const float *f_in = x;
    if (l->pre_norm) {
        SLM_TRY(slm_layer_norm_f32(tmp, x, l->ln2_w, l->ln2_b, M, C, l->eps));
        f_in = tmp;
    }
    SLM_TRY(lin(ffn, f_in, l->w1, l->w1_16, l->b1, M, C, F));
    SLM_TRY(slm_act_f32(ffn, ffn, M * F, l->act, 0.0f));
    SLM_TRY(lin(tmp, ffn, l->w2, l->w2_16, l->b2, M, F, C));
    slm_nn_add_inplace(x, tmp, M * C);
    if (!l->pre_norm) SLM_TRY(slm_layer_norm_f32(x, x, l->ln2_w, l->ln2_b, M, C, l->eps));
    if (slm_interrupted()) return SLM_INTERRUPTED_ERROR("encoder_layer");
    return SLM_OK;
}

/* dst (3C, C) or its bf16 form <- rows of q, k, v */
static void *bind_matrix(slm_pack *p, const float *const *parts, int nparts, int64_t rows, int64_t cols,
                         int bf16) {
    int64_t n = rows * cols;
    if (bf16) {
        uint16_t *d = (uint16_t *)slm_pack_take(p, nparts * n * (int64_t)sizeof(uint16_t));
        for (int i = 0; d && i < nparts; i++) slm_f32_to_bf16(d + i * n, parts[i], n);
        return d;
    }
    float *d = (float *)slm_pack_take(p, nparts * n * (int64_t)sizeof(float));
    for (int i = 0; d && i < nparts; i++) memcpy(d + i * n, parts[i], (size_t)n * sizeof(float));
    return d;
}

slm_status slm_nn_encoder_layer_bind(slm_nn_encoder_layer *l, const slm_wset *ws, slm_pack *p,
                                     const char *prefix, int k_bias, int bf16) {
    int64_t C = l->C, F = l->F;
    int64_t c1[1] = {C}, f1[1] = {F}, cc[2] = {C, C}, fc[2] = {F, C}, cf[2] = {C, F};
    const float *ln1w, *ln1b, *qw, *qb, *kw, *kb = NULL, *vw, *vb, *ow, *ob, *ln2w, *ln2b, *w1, *b1, *w2, *b2;
    SLM_TRY(slm_wset_get(ws, &ln1w, 1, c1, "%sln1.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &ln1b, 1, c1, "%sln1.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &qw, 2, cc, "%sq.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &qb, 1, c1, "%sq.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &kw, 2, cc, "%sk.weight", prefix));
    if (k_bias || slm_wset_find(ws, "%sk.bias", prefix))
        SLM_TRY(slm_wset_get(ws, &kb, 1, c1, "%sk.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &vw, 2, cc, "%sv.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &vb, 1, c1, "%sv.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &ow, 2, cc, "%so.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &ob, 1, c1, "%so.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &ln2w, 1, c1, "%sln2.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &ln2b, 1, c1, "%sln2.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &w1, 2, fc, "%sfc1.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &b1, 1, f1, "%sfc1.bias", prefix));
    SLM_TRY(slm_wset_get(ws, &w2, 2, cf, "%sfc2.weight", prefix));
    SLM_TRY(slm_wset_get(ws, &b2, 1, c1, "%sfc2.bias", prefix));

    l->ln1_w = slm_pack_put(p, ln1w, C);
    l->ln1_b = slm_pack_put(p, ln1b, C);
    l->ln2_w = slm_pack_put(p, ln2w, C);
    l->ln2_b = slm_pack_put(p, ln2b, C);
    float *bqkv = slm_pack_put(p, NULL, 3 * C);
    if (bqkv) {
        memcpy(bqkv, qb, (size_t)C * sizeof(float));
        if (kb) memcpy(bqkv + C, kb, (size_t)C * sizeof(float)); /* else zeros */
        memcpy(bqkv + 2 * C, vb, (size_t)C * sizeof(float));
    }
    l->bqkv = bqkv;
    l->bo = slm_pack_put(p, ob, C);
    l->b1 = slm_pack_put(p, b1, F);
    l->b2 = slm_pack_put(p, b2, C);
    const float *qkv[3] = {qw, kw, vw};
    void *wqkv = bind_matrix(p, qkv, 3, C, C, bf16);
    void *wo = bind_matrix(p, &ow, 1, C, C, bf16);
    void *wf1 = bind_matrix(p, &w1, 1, F, C, bf16);
    void *wf2 = bind_matrix(p, &w2, 1, C, F, bf16);
    l->wqkv = bf16 ? NULL : (const float *)wqkv;
    l->wo = bf16 ? NULL : (const float *)wo;
    l->w1 = bf16 ? NULL : (const float *)wf1;
    l->w2 = bf16 ? NULL : (const float *)wf2;
    l->wqkv16 = bf16 ? (const uint16_t *)wqkv : NULL;
    l->wo16 = bf16 ? (const uint16_t *)wo : NULL;
    l->w1_16 = bf16 ? (const uint16_t *)wf1 : NULL;
    l->w2_16 = bf16 ? (const uint16_t *)wf2 : NULL;
    return SLM_OK;
}
