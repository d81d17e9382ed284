/* whisper.c: the Whisper encoder as one C call per forward (openai-whisper AudioEncoder,
 * transformers WhisperEncoder): two convolutions with GELU (the second halves the frame
 * rate to 50 Hz), the stored sinusoidal positions, pre-norm Transformer layers through
 * csrc/nn, and ln_post on the last layer. The Python side (slm/models/whisper.py) maps
 * checkpoint names onto the names listed in whisper.h and computes the log-mel input.
 *
 * Shape legend: B batch, M mel bins, S = 2 * T input frames, T = n_ctx positions,
 * C width, H heads, L layers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "slm/whisper.h"

#include "../nn/nn.h"

struct slm_whisper_encoder {
    slm_whisper_config cfg;
    slm_pack pack;                /* every weight, one allocation */
    const float *c1w, *c1b;       /* (C, M, 3), (C) */
    const float *c2w, *c2b;       /* (C, C, 3), (C) */
    const float *pos;             /* (T, C) */
    const float *lnp_w, *lnp_b;   /* (C) ln_post */
    slm_nn_encoder_layer *layers; /* (L) */
};

slm_whisper_config slm_whisper_default_config(void) {
    slm_whisper_config c = {80, 1500, 512, 8, 6, 0, 0};
    return c;
}

slm_whisper_config slm_whisper_encoder_config(const slm_whisper_encoder *m) { return m->cfg; }

static int64_t ffn(const slm_whisper_config *c) { return c->n_ffn ? c->n_ffn : 4 * c->n_state; }

static slm_status bind(slm_whisper_encoder *m, const slm_wset *ws) {
    const slm_whisper_config *c = &m->cfg;
    int64_t C = c->n_state, M = c->n_mels, T = c->n_ctx;
    int64_t c1[1] = {C}, w1[3] = {C, M, 3}, w2[3] = {C, C, 3}, pos[2] = {T, C};
    const float *a, *b, *d, *e, *f, *g, *h;
    SLM_TRY(slm_wset_get(ws, &a, 3, w1, "conv1.weight"));
    SLM_TRY(slm_wset_get(ws, &b, 1, c1, "conv1.bias"));
    SLM_TRY(slm_wset_get(ws, &d, 3, w2, "conv2.weight"));
    SLM_TRY(slm_wset_get(ws, &e, 1, c1, "conv2.bias"));
    SLM_TRY(slm_wset_get(ws, &f, 2, pos, "pos"));
    SLM_TRY(slm_wset_get(ws, &g, 1, c1, "ln_post.weight"));
    SLM_TRY(slm_wset_get(ws, &h, 1, c1, "ln_post.bias"));
    slm_pack *p = &m->pack;
    m->c1w = slm_pack_put(p, a, C * M * 3);
    m->c1b = slm_pack_put(p, b, C);
    m->c2w = slm_pack_put(p, d, C * C * 3);
    m->c2b = slm_pack_put(p, e, C);
    m->pos = slm_pack_put(p, f, T * C);
    m->lnp_w = slm_pack_put(p, g, C);
    m->lnp_b = slm_pack_put(p, h, C);
    for (int64_t i = 0; i < c->n_layer; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "layers.%lld.", (long long)i);
        slm_nn_encoder_layer *l = &m->layers[i];
        *l = (slm_nn_encoder_layer){.C = C, .H = c->n_head, .F = ffn(c), .pre_norm = 1, .eps = 1e-5f,
                                    .act = SLM_ACT_GELU};
        SLM_TRY(slm_nn_encoder_layer_bind(l, ws, p, prefix, 0, c->bf16));
    }
    return SLM_OK;
}

void slm_whisper_encoder_free(slm_whisper_encoder *m) {
    if (!m) return;
    slm_free(m->pack.base);
    slm_free(m->layers);
    slm_free(m);
}

slm_status slm_whisper_encoder_create(slm_whisper_encoder **out, const slm_whisper_config *cfg,
                                      const slm_weight *weights, int64_t n_weights) {
    static const char fn[] = "whisper_encoder_create";
    SLM_CHECK(out && cfg, fn, "out and cfg must not be NULL");
    *out = NULL;
    const slm_whisper_config c = *cfg;
    SLM_CHECK(c.n_mels >= 1 && c.n_mels <= 4096, fn, "n_mels must be in [1, 4096], got %lld", (long long)c.n_mels);
    SLM_CHECK(c.n_ctx >= 1 && c.n_ctx <= (1 << 20), fn, "n_ctx must be in [1, 2^20], got %lld", (long long)c.n_ctx);
    SLM_CHECK(c.n_state >= 1 && c.n_state <= 65536, fn, "n_state must be in [1, 65536], got %lld",
              (long long)c.n_state);
    SLM_CHECK(c.n_head >= 1 && c.n_state % c.n_head == 0, fn, "n_head (%lld) must divide n_state (%lld)",
              (long long)c.n_head, (long long)c.n_state);
    SLM_CHECK(c.n_layer >= 0 && c.n_layer <= 1024, fn, "n_layer must be in [0, 1024], got %lld",
              (long long)c.n_layer);
    SLM_CHECK(c.n_ffn >= 0 && c.n_ffn <= (1 << 20), fn, "n_ffn must be in [0, 2^20], got %lld", (long long)c.n_ffn);
    SLM_CHECK(n_weights >= 0 && (weights || n_weights == 0), fn, "bad weight list");
    slm_whisper_encoder *m = (slm_whisper_encoder *)slm_alloc(sizeof *m);
    if (!m) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the model");
    memset(m, 0, sizeof *m);
    m->cfg = c;
    m->layers = (slm_nn_encoder_layer *)slm_alloc((size_t)(c.n_layer ? c.n_layer : 1) * sizeof *m->layers);
    slm_status st = m->layers ? SLM_OK : slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the layers");
    slm_wset ws = {weights, n_weights, fn};
    if (!st) st = bind(m, &ws); /* counting pass: checks every name and shape */
    if (!st) st = slm_pack_alloc(&m->pack, fn);
    if (!st) st = bind(m, &ws); /* copying pass */
    if (st) {
        slm_whisper_encoder_free(m);
        return st;
    }
    *out = m;
    return SLM_OK;
}

/* x (B, T, C) = transpose of y (B, C, T) + pos (T, C) */
static void to_rows_add_pos(float *x, const float *y, const float *pos, int64_t B, int64_t T, int64_t C) {
#pragma omp parallel for collapse(2) num_threads(slm_threads()) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            const float *src = y + b * C * T + t;
            float *dst = x + (b * T + t) * C;
            const float *pp = pos + t * C;
            for (int64_t c = 0; c < C; c++) dst[c] = src[c * T] + pp[c];
        }
}

slm_status slm_whisper_encoder_forward(const slm_whisper_encoder *m, float *const *outs,
                                       const int64_t *layers, int64_t n_out, const float *mel,
                                       int64_t B, int64_t frames) {
    static const char fn[] = "whisper_encoder_forward";
    SLM_CHECK(m, fn, "model is NULL");
    const slm_whisper_config *c = &m->cfg;
    int64_t C = c->n_state, M = c->n_mels, T = c->n_ctx, L = c->n_layer;
    SLM_CHECK(B >= 1, fn, "batch must be >= 1, got %lld", (long long)B);
    SLM_CHECK(frames == 2 * T, fn,
              "the mel input must have %lld frames (30 s, as whisper.pad_or_trim gives), got %lld",
              (long long)(2 * T), (long long)frames);
    SLM_CHECK(n_out >= 0 && (n_out == 0 || (outs && layers)), fn, "bad output list");
    int64_t deepest = -1;
    for (int64_t i = 0; i < n_out; i++) {
        SLM_CHECK(layers[i] >= 0 && layers[i] <= L, fn, "layer %lld out of range [0, %lld]",
                  (long long)layers[i], (long long)L);
        SLM_CHECK(outs[i], fn, "output %lld is NULL", (long long)i);
        if (layers[i] > deepest) deepest = layers[i];
    }
    if (n_out == 0) return SLM_OK;
    int64_t n_mel, n_a1, n_x, n_work;
    SLM_TRY(slm_numel(fn, &n_mel, 3, B, M, frames));
    SLM_TRY(slm_numel(fn, &n_a1, 3, B, C, frames));
    SLM_TRY(slm_numel(fn, &n_x, 3, B, T, C));
    n_work = slm_nn_encoder_layer_work(B, T, C, ffn(c));
    for (int64_t i = 0; i < n_mel; i++)
        if (!isfinite(mel[i]))
            return slm_error(SLM_ERR_VALUE, fn, "the mel input holds NaN or Inf (at flat index %lld)", (long long)i);

    slm_arena ar;
    size_t f = sizeof(float);
    SLM_TRY(slm_arena_init(&ar,
                           slm_arena_need((size_t)n_a1 * f) + slm_arena_need((size_t)n_x * f) * 2 +
                               slm_arena_need((size_t)n_work * f),
                           fn));
    float *a1 = (float *)slm_arena_take(&ar, (size_t)n_a1 * f);
    float *a2 = (float *)slm_arena_take(&ar, (size_t)n_x * f);
    float *x = (float *)slm_arena_take(&ar, (size_t)n_x * f);
    float *work = (float *)slm_arena_take(&ar, (size_t)n_work * f);
    slm_status st;
    slm_conv1d_params p1 = slm_conv1d_default_params(), p2 = slm_conv1d_default_params();
    p1.pad_left = p1.pad_right = 1;
    p2.pad_left = p2.pad_right = 1;
    p2.stride = 2;
    if ((st = slm_conv1d_f32(a1, mel, m->c1w, m->c1b, B, M, frames, C, 3, p1))) goto done;
    if ((st = slm_act_f32(a1, a1, n_a1, SLM_ACT_GELU, 0.0f))) goto done;
    if ((st = slm_conv1d_f32(a2, a1, m->c2w, m->c2b, B, C, frames, C, 3, p2))) goto done;
    if ((st = slm_act_f32(a2, a2, n_x, SLM_ACT_GELU, 0.0f))) goto done;
    to_rows_add_pos(x, a2, m->pos, B, T, C);
    for (int64_t l = 0; l <= deepest; l++) {
        if (l > 0 && (st = slm_nn_encoder_layer_f32(x, &m->layers[l - 1], B, T, NULL, NULL, work))) goto done;
        for (int64_t i = 0; i < n_out; i++) {
            if (layers[i] != l) continue;
            if (l == L) { /* both references return ln_post of the last layer */
                if ((st = slm_layer_norm_f32(outs[i], x, m->lnp_w, m->lnp_b, B * T, C, 1e-5f))) goto done;
            } else {
                memcpy(outs[i], x, (size_t)n_x * f);
            }
        }
    }
    st = SLM_OK;
done:
    slm_arena_release(&ar);
    return st;
}
