/* ssl.c: the wav2vec2 / HuBERT / WavLM encoder as one C call per forward.
 *
 * waveform -> convolutional front end (GroupNorm after the first conv for base models,
 * LayerNorm over channels after every conv for large ones; GELU) -> feature projection
 * (LayerNorm, Linear) -> padded frames zeroed -> + GELU(grouped positional conv, last
 * frame dropped for an even kernel, as transformers' SamePad) -> Transformer layers
 * through csrc/nn, post-norm (encoder norm first) or pre-norm (encoder norm last). WavLM
 * adds a relative position bias (log-spaced buckets, one embedding table shared by every
 * layer) that each layer gates per head and frame from its attention input. Python
 * (slm/models/ssl.py) maps checkpoint names onto the names in ssl.h and folds weight norm.
 *
 * Shape legend: B batch, S samples, Cf front-end channels, T frames, C width, H heads,
 * D = C / H, L layers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "slm/ssl.h"

#include "../nn/nn.h"

typedef struct {
    const float *w, *b;   /* conv (Cout, Cin, K), bias (Cout) or NULL */
    const float *nw, *nb; /* norm (Cout) or NULL */
} fe_layer;

typedef struct {
    const float *w, *b, *c; /* WavLM gate: (8, D), (8), (H) */
} wavlm_gate;

struct slm_ssl_encoder {
    slm_ssl_config cfg;
    slm_pack pack; /* every weight, one allocation */
    fe_layer fe[SLM_SSL_MAX_CONV];
    const float *fp_nw, *fp_nb;   /* (Cf) or NULL */
    const float *fp_w, *fp_b;     /* (C, Cf), (C) */
    const float *pos_w, *pos_b;   /* (C, C / G, K), (C) */
    const float *enc_nw, *enc_nb; /* (C) */
    const float *rel;             /* WavLM (num_buckets, H) */
    slm_nn_encoder_layer *layers; /* (L) */
    wavlm_gate *gates;            /* (L), WavLM only */
};

slm_ssl_config slm_ssl_default_config(void) {
    slm_ssl_config c;
    memset(&c, 0, sizeof c);
    c.n_conv = 7;
    static const int64_t k[7] = {10, 3, 3, 3, 3, 2, 2}, s[7] = {5, 2, 2, 2, 2, 2, 2};
    for (int i = 0; i < 7; i++) {
        c.conv_dim[i] = 512;
        c.conv_kernel[i] = k[i];
        c.conv_stride[i] = s[i];
    }
    c.fe_norm = SLM_SSL_FE_GROUP;
    c.fp_norm = 1;
    c.C = 768;
    c.H = 12;
    c.F = 3072;
    c.L = 12;
    c.eps = 1e-5f;
    c.pos_kernel = 128;
    c.pos_groups = 16;
    c.num_buckets = 320;
    c.max_distance = 800;
    return c;
}

slm_ssl_config slm_ssl_encoder_config(const slm_ssl_encoder *m) { return m->cfg; }

/* ---- weights ---------------------------------------------------------------------- */

static slm_status bind(slm_ssl_encoder *m, const slm_wset *ws) {
    const slm_ssl_config *c = &m->cfg;
    slm_pack *p = &m->pack;
    int64_t C = c->C, D = c->C / c->H;
    const float *a, *b;
    for (int64_t i = 0; i < c->n_conv; i++) {
        int64_t co = c->conv_dim[i], ci = i ? c->conv_dim[i - 1] : 1;
        int64_t ws3[3] = {co, ci, c->conv_kernel[i]}, w1[1] = {co};
        SLM_TRY(slm_wset_get(ws, &a, 3, ws3, "fe.%lld.conv.weight", (long long)i));
        m->fe[i].w = slm_pack_put(p, a, co * ci * c->conv_kernel[i]);
        m->fe[i].b = NULL;
        if (c->conv_bias) {
            SLM_TRY(slm_wset_get(ws, &b, 1, w1, "fe.%lld.conv.bias", (long long)i));
            m->fe[i].b = slm_pack_put(p, b, co);
        }
        m->fe[i].nw = m->fe[i].nb = NULL;
        if (c->fe_norm == SLM_SSL_FE_LAYER || i == 0) {
            SLM_TRY(slm_wset_get(ws, &a, 1, w1, "fe.%lld.norm.weight", (long long)i));
            SLM_TRY(slm_wset_get(ws, &b, 1, w1, "fe.%lld.norm.bias", (long long)i));
            m->fe[i].nw = slm_pack_put(p, a, co);
            m->fe[i].nb = slm_pack_put(p, b, co);
        }
    }
    int64_t Cf = c->conv_dim[c->n_conv - 1];
    int64_t cf1[1] = {Cf}, c1[1] = {C}, proj[2] = {C, Cf}, pos[3] = {C, C / c->pos_groups, c->pos_kernel};
    m->fp_nw = m->fp_nb = NULL;
    if (c->fp_norm) {
        SLM_TRY(slm_wset_get(ws, &a, 1, cf1, "fp.norm.weight"));
        SLM_TRY(slm_wset_get(ws, &b, 1, cf1, "fp.norm.bias"));
        m->fp_nw = slm_pack_put(p, a, Cf);
        m->fp_nb = slm_pack_put(p, b, Cf);
    }
    SLM_TRY(slm_wset_get(ws, &a, 2, proj, "fp.proj.weight"));
    SLM_TRY(slm_wset_get(ws, &b, 1, c1, "fp.proj.bias"));
    m->fp_w = slm_pack_put(p, a, C * Cf);
    m->fp_b = slm_pack_put(p, b, C);
    SLM_TRY(slm_wset_get(ws, &a, 3, pos, "pos.weight"));
    SLM_TRY(slm_wset_get(ws, &b, 1, c1, "pos.bias"));
    m->pos_w = slm_pack_put(p, a, pos[0] * pos[1] * pos[2]);
    m->pos_b = slm_pack_put(p, b, C);
    SLM_TRY(slm_wset_get(ws, &a, 1, c1, "enc.norm.weight"));
    SLM_TRY(slm_wset_get(ws, &b, 1, c1, "enc.norm.bias"));
    m->enc_nw = slm_pack_put(p, a, C);
    m->enc_nb = slm_pack_put(p, b, C);
    if (c->wavlm) {
        int64_t rel[2] = {c->num_buckets, c->H};
        SLM_TRY(slm_wset_get(ws, &a, 2, rel, "rel_embed"));
        m->rel = slm_pack_put(p, a, c->num_buckets * c->H);
    }
    for (int64_t i = 0; i < c->L; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "layers.%lld.", (long long)i);
        slm_nn_encoder_layer *l = &m->layers[i];
        *l = (slm_nn_encoder_layer){.C = C, .H = c->H, .F = c->F, .pre_norm = c->stable, .eps = c->eps,
                                    .act = SLM_ACT_GELU};
        SLM_TRY(slm_nn_encoder_layer_bind(l, ws, p, prefix, 1, c->bf16));
        if (c->wavlm) {
            int64_t gw[2] = {8, D}, g8[1] = {8}, gh[1] = {c->H};
            const float *g;
            SLM_TRY(slm_wset_get(ws, &a, 2, gw, "%sgate.weight", prefix));
            SLM_TRY(slm_wset_get(ws, &b, 1, g8, "%sgate.bias", prefix));
            SLM_TRY(slm_wset_get(ws, &g, 1, gh, "%sgate_const", prefix));
            m->gates[i].w = slm_pack_put(p, a, 8 * D);
            m->gates[i].b = slm_pack_put(p, b, 8);
            m->gates[i].c = slm_pack_put(p, g, c->H);
        }
    }
    return SLM_OK;
}

void slm_ssl_encoder_free(slm_ssl_encoder *m) {
    if (!m) return;
    slm_free(m->pack.base);
    slm_free(m->layers);
    slm_free(m->gates);
    slm_free(m);
}

static slm_status check_config(const slm_ssl_config *c, const char *fn) {
    SLM_CHECK(c->n_conv >= 1 && c->n_conv <= SLM_SSL_MAX_CONV, fn, "n_conv must be in [1, %d], got %lld",
              SLM_SSL_MAX_CONV, (long long)c->n_conv);
    for (int64_t i = 0; i < c->n_conv; i++)
        SLM_CHECK(c->conv_dim[i] >= 1 && c->conv_dim[i] <= 65536 && c->conv_kernel[i] >= 1 &&
                      c->conv_kernel[i] <= 4096 && c->conv_stride[i] >= 1 && c->conv_stride[i] <= 4096,
                  fn, "conv layer %lld: dim %lld, kernel %lld, stride %lld out of range", (long long)i,
                  (long long)c->conv_dim[i], (long long)c->conv_kernel[i], (long long)c->conv_stride[i]);
    SLM_CHECK(c->fe_norm == SLM_SSL_FE_GROUP || c->fe_norm == SLM_SSL_FE_LAYER, fn, "bad fe_norm %d",
              (int)c->fe_norm);
    SLM_CHECK(c->C >= 1 && c->C <= 65536 && c->F >= 1 && c->F <= (1 << 20), fn,
              "hidden size %lld / feed-forward size %lld out of range", (long long)c->C, (long long)c->F);
    SLM_CHECK(c->H >= 1 && c->C % c->H == 0, fn, "heads (%lld) must divide the hidden size (%lld)",
              (long long)c->H, (long long)c->C);
    SLM_CHECK(c->L >= 0 && c->L <= 1024, fn, "layers must be in [0, 1024], got %lld", (long long)c->L);
    SLM_CHECK(c->eps >= 0 && isfinite(c->eps), fn, "eps must be finite and >= 0");
    SLM_CHECK(c->pos_kernel >= 1 && c->pos_kernel <= 4096 && c->pos_groups >= 1 && c->C % c->pos_groups == 0,
              fn, "positional conv: kernel %lld, groups %lld (must divide %lld)", (long long)c->pos_kernel,
              (long long)c->pos_groups, (long long)c->C);
    if (c->wavlm)
        SLM_CHECK(c->num_buckets >= 4 && c->num_buckets <= (1 << 20) && c->max_distance > c->num_buckets / 4,
                  fn, "WavLM buckets %lld / max distance %lld out of range", (long long)c->num_buckets,
                  (long long)c->max_distance);
    return SLM_OK;
}

slm_status slm_ssl_encoder_create(slm_ssl_encoder **out, const slm_ssl_config *cfg, const slm_weight *weights,
                                  int64_t n_weights) {
    static const char fn[] = "ssl_encoder_create";
    SLM_CHECK(out && cfg, fn, "out and cfg must not be NULL");
    *out = NULL;
    SLM_TRY(check_config(cfg, fn));
    SLM_CHECK(n_weights >= 0 && (weights || n_weights == 0), fn, "bad weight list");
    slm_ssl_encoder *m = (slm_ssl_encoder *)slm_alloc(sizeof *m);
    if (!m) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the model");
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    size_t nl = (size_t)(cfg->L ? cfg->L : 1);
    m->layers = (slm_nn_encoder_layer *)slm_alloc(nl * sizeof *m->layers);
    m->gates = (wavlm_gate *)slm_alloc(nl * sizeof *m->gates);
    slm_status st = m->layers && m->gates ? SLM_OK : slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the layers");
    slm_wset ws = {weights, n_weights, fn};
    if (!st) st = bind(m, &ws); /* counting pass: every name and shape checked */
    if (!st) st = slm_pack_alloc(&m->pack, fn);
    if (!st) st = bind(m, &ws); /* copying pass */
    if (st) {
        slm_ssl_encoder_free(m);
        return st;
    }
    *out = m;
    return SLM_OK;
}

static int64_t frames_of(const slm_ssl_config *c, int64_t S) {
    int64_t L = S;
    for (int64_t i = 0; i < c->n_conv; i++) L = L >= c->conv_kernel[i] ? (L - c->conv_kernel[i]) / c->conv_stride[i] + 1 : 0;
    return L;
}

/* the shortest input that gives one frame (capped far above any real input) */
static int64_t min_samples(const slm_ssl_config *c) {
    int64_t need = 1;
    for (int64_t i = c->n_conv - 1; i >= 0; i--) {
        need = c->conv_kernel[i] + (need - 1) * c->conv_stride[i];
        if (need > ((int64_t)1 << 50)) return (int64_t)1 << 50;
    }
    return need;
}

slm_status slm_ssl_encoder_frames(const slm_ssl_encoder *m, int64_t S, int64_t *T) {
    SLM_CHECK(m && T, "ssl_encoder_frames", "NULL argument");
    SLM_CHECK(S >= 0, "ssl_encoder_frames", "samples must be >= 0, got %lld", (long long)S);
    *T = frames_of(&m->cfg, S);
    return SLM_OK;
}

/* ---- pieces of the forward pass --------------------------------------------------- */

/* out (B, Cc, R) = in (B, R, Cc) transposed, in 32 x 32 tiles */
static void transpose(float *out, const float *in, int64_t B, int64_t R, int64_t Cc) {
#pragma omp parallel for collapse(3) num_threads(slm_threads()) schedule(static) if (B * R * Cc > 65536)
    for (int64_t b = 0; b < B; b++)
        for (int64_t r0 = 0; r0 < R; r0 += 32)
            for (int64_t c0 = 0; c0 < Cc; c0 += 32) {
                const float *src = in + b * R * Cc;
                float *dst = out + b * R * Cc;
                int64_t r1 = r0 + 32 < R ? r0 + 32 : R, c1 = c0 + 32 < Cc ? c0 + 32 : Cc;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t cc = c0; cc < c1; cc++) dst[cc * R + r] = src[r * Cc + cc];
            }
}

/* x (B, T, C) += y (B, C, ld)[..., :T] transposed */
static void add_transposed(float *x, const float *y, int64_t B, int64_t T, int64_t C, int64_t ld) {
#pragma omp parallel for collapse(2) num_threads(slm_threads()) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t t0 = 0; t0 < T; t0 += 32) {
            int64_t t1 = t0 + 32 < T ? t0 + 32 : T;
            for (int64_t c = 0; c < C; c++) {
                const float *src = y + (b * C + c) * ld;
                for (int64_t t = t0; t < t1; t++) x[(b * T + t) * C + c] += src[t];
            }
        }
}

/* WavLM's bucket of relative position d = key - query, as transformers computes it in
 * float32 (torch.log of the float ratio, divided by a double log cast to float) */
static int64_t wavlm_bucket(int64_t d, int64_t num_buckets, int64_t max_distance) {
    int64_t nb = num_buckets / 2, bucket = d > 0 ? nb : 0, r = d < 0 ? -d : d, max_exact = nb / 2;
    if (r < max_exact) return bucket + r;
    float big = logf((float)r / (float)max_exact);
    big = big / (float)log((double)max_distance / (double)max_exact);
    big = big * (float)(nb - max_exact);
    int64_t v = (int64_t)((float)max_exact + big);
    return bucket + (v < nb - 1 ? v : nb - 1);
}

/* bias (B, H, T, T) = gate (B, H, T) * pb (H, T, T), -inf at padded keys; the gate of
 * query t in head h comes from that head's slice of the attention input a (B, T, C) */
static void wavlm_bias(float *bias, const float *a, const float *pb, const wavlm_gate *g, const int64_t *lengths,
                       int64_t B, int64_t T, int64_t C, int64_t H) {
    int64_t D = C / H;
#pragma omp parallel for collapse(3) num_threads(slm_threads()) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                const float *xh = a + (b * T + t) * C + h * D;
                float s[2] = {0.0f, 0.0f};
                for (int j = 0; j < 8; j++) {
                    float acc = g->b[j];
                    for (int64_t d = 0; d < D; d++) acc += g->w[j * D + d] * xh[d];
                    s[j / 4] += acc;
                }
                float ga = 1.0f / (1.0f + expf(-s[0])), gb = 1.0f / (1.0f + expf(-s[1]));
                float gate = ga * (gb * g->c[h] - 1.0f) + 2.0f;
                const float *src = pb + (h * T + t) * T;
                float *dst = bias + ((b * H + h) * T + t) * T;
                int64_t n = lengths ? lengths[b] : T;
                for (int64_t s2 = 0; s2 < n; s2++) dst[s2] = gate * src[s2];
                for (int64_t s2 = n; s2 < T; s2++) dst[s2] = -INFINITY;
            }
}

static void emit(float *const *outs, const int64_t *layers, int64_t n_out, int64_t layer, const float *x,
                 int64_t n) {
    for (int64_t i = 0; i < n_out; i++)
        if (layers[i] == layer) memcpy(outs[i], x, (size_t)n * sizeof(float));
}

slm_status slm_ssl_encoder_forward(const slm_ssl_encoder *m, float *const *outs, const int64_t *layers,
                                   int64_t n_out, int64_t *out_lengths, const float *wav,
                                   const int64_t *lengths, int64_t B, int64_t S) {
    static const char fn[] = "ssl_encoder_forward";
    SLM_CHECK(m && wav, fn, "NULL model or input");
    const slm_ssl_config *c = &m->cfg;
    int64_t C = c->C, H = c->H, L = c->L, Cf = c->conv_dim[c->n_conv - 1];
    SLM_CHECK(B >= 1, fn, "batch must be >= 1, got %lld", (long long)B);
    SLM_CHECK(S >= 1, fn, "samples must be >= 1, got %lld", (long long)S);
    int64_t T = frames_of(c, S), min_s = min_samples(c);
    SLM_CHECK(T >= 1, fn, "%lld samples are too short: the front end needs at least %lld", (long long)S,
              (long long)min_s);
    SLM_CHECK(n_out >= 0 && (n_out == 0 || (outs && layers)), fn, "bad output list");
    int64_t deepest = 0;
    for (int64_t i = 0; i < n_out; i++) {
        SLM_CHECK((layers[i] >= 0 && layers[i] <= L) || layers[i] == SLM_SSL_FINAL, fn,
                  "layer %lld out of range [0, %lld] (or %d for the final output)", (long long)layers[i],
                  (long long)L, SLM_SSL_FINAL);
        SLM_CHECK(outs[i], fn, "output %lld is NULL", (long long)i);
        int64_t d = layers[i] == SLM_SSL_FINAL ? L : layers[i];
        if (d > deepest) deepest = d;
    }
    int masked = 0;
    if (lengths)
        for (int64_t b = 0; b < B; b++) {
            SLM_CHECK(lengths[b] >= min_s && lengths[b] <= S, fn,
                      "lengths[%lld] = %lld must be in [%lld, %lld] (at least one frame)", (long long)b,
                      (long long)lengths[b], (long long)min_s, (long long)S);
            masked |= lengths[b] < S;
        }
    int64_t n_wav;
    SLM_TRY(slm_numel(fn, &n_wav, 2, B, S));
    for (int64_t i = 0; i < n_wav; i++)
        if (!isfinite(wav[i]))
            return slm_error(SLM_ERR_VALUE, fn, "the audio holds NaN or Inf (at flat index %lld)", (long long)i);

    /* sizes: the front end ping-pongs between two buffers big enough for every stage
     * up to the positional conv */
    int64_t fe_max = 0, Lc = S, n;
    for (int64_t i = 0; i < c->n_conv; i++) {
        Lc = (Lc - c->conv_kernel[i]) / c->conv_stride[i] + 1;
        SLM_TRY(slm_numel(fn, &n, 3, B, c->conv_dim[i], Lc));
        if (n > fe_max) fe_max = n;
    }
    SLM_TRY(slm_numel(fn, &n, 3, B, C, T + c->pos_kernel));
    if (n > fe_max) fe_max = n;
    int64_t n_x, n_work = slm_nn_encoder_layer_work(B, T, C, c->F), n_pb = 0, n_bias = 0;
    SLM_TRY(slm_numel(fn, &n_x, 3, B, T, C));
    if (c->wavlm) {
        SLM_TRY(slm_numel(fn, &n_pb, 3, H, T, T));
        SLM_TRY(slm_numel(fn, &n_bias, 4, B, H, T, T));
    }
    size_t f = sizeof(float);
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar,
                           2 * slm_arena_need((size_t)fe_max * f) + 2 * slm_arena_need((size_t)n_x * f) +
                               slm_arena_need((size_t)n_work * f) + slm_arena_need((size_t)n_pb * f) +
                               slm_arena_need((size_t)n_bias * f) + slm_arena_need((size_t)B * 8),
                           fn));
    float *A = (float *)slm_arena_take(&ar, (size_t)fe_max * f);
    float *Bf = (float *)slm_arena_take(&ar, (size_t)fe_max * f);
    float *x = (float *)slm_arena_take(&ar, (size_t)n_x * f);
    float *ain = (float *)slm_arena_take(&ar, (size_t)n_x * f);
    float *work = (float *)slm_arena_take(&ar, (size_t)n_work * f);
    float *pb = c->wavlm ? (float *)slm_arena_take(&ar, (size_t)n_pb * f) : NULL;
    float *bias = c->wavlm ? (float *)slm_arena_take(&ar, (size_t)n_bias * f) : NULL;
    int64_t *flen = (int64_t *)slm_arena_take(&ar, (size_t)B * 8);
    for (int64_t b = 0; b < B; b++) flen[b] = lengths ? frames_of(c, lengths[b]) : T;
    if (out_lengths) memcpy(out_lengths, flen, (size_t)B * sizeof(int64_t));
    const int64_t *klen = masked ? flen : NULL;
    slm_status st = SLM_OK;
    if (n_out == 0) goto done;

    /* front end: wav (B, 1, S) -> (B, Cf, T) */
    {
        const float *in = wav;
        float *cur = A, *other = Bf;
        int64_t Lin = S, Cin = 1;
        for (int64_t i = 0; i < c->n_conv; i++) {
            int64_t co = c->conv_dim[i], Lout = (Lin - c->conv_kernel[i]) / c->conv_stride[i] + 1;
            slm_conv1d_params cp = slm_conv1d_default_params();
            cp.stride = c->conv_stride[i];
            if ((st = slm_conv1d_f32(cur, in, m->fe[i].w, m->fe[i].b, B, Cin, Lin, co, c->conv_kernel[i], cp)))
                goto done;
            if (c->fe_norm == SLM_SSL_FE_GROUP && i == 0) {
                if ((st = slm_group_norm_f32(cur, cur, m->fe[i].nw, m->fe[i].nb, B, co, Lout, co, 1e-5f))) goto done;
            } else if (c->fe_norm == SLM_SSL_FE_LAYER) { /* over channels: via (B, Lout, co) rows */
                transpose(other, cur, B, co, Lout);
                if ((st = slm_layer_norm_f32(other, other, m->fe[i].nw, m->fe[i].nb, B * Lout, co, 1e-5f))) goto done;
                transpose(cur, other, B, Lout, co);
            }
            if ((st = slm_act_f32(cur, cur, B * co * Lout, SLM_ACT_GELU, 0.0f))) goto done;
            in = cur;
            float *t = cur;
            cur = other;
            other = t;
            Lin = Lout;
            Cin = co;
        }
        /* in (B, Cf, T) -> cur (B, T, Cf) -> projection -> x (B, T, C) */
        transpose(cur, in, B, Cf, T);
        if (m->fp_nw && (st = slm_layer_norm_f32(cur, cur, m->fp_nw, m->fp_nb, B * T, Cf, c->eps))) goto done;
        if ((st = slm_linear_f32(x, cur, m->fp_w, m->fp_b, B * T, Cf, C))) goto done;
    }
    if (klen) /* padded frames are zeroed before the positional conv, as transformers */
        for (int64_t b = 0; b < B; b++) memset(x + (b * T + klen[b]) * C, 0, (size_t)((T - klen[b]) * C) * f);

    /* positional conv embedding: x += GELU(conv(x^T))[..., :T] */
    {
        int64_t K = c->pos_kernel, Lp = T + 2 * (K / 2) - K + 1;
        slm_conv1d_params cp = slm_conv1d_default_params();
        cp.pad_left = cp.pad_right = K / 2;
        cp.groups = c->pos_groups;
        transpose(A, x, B, T, C);
        if ((st = slm_conv1d_f32(Bf, A, m->pos_w, m->pos_b, B, C, T, C, K, cp))) goto done;
        if ((st = slm_act_f32(Bf, Bf, B * C * Lp, SLM_ACT_GELU, 0.0f))) goto done;
        add_transposed(x, Bf, B, T, C, Lp);
    }
    if (!c->stable && (st = slm_layer_norm_f32(x, x, m->enc_nw, m->enc_nb, B * T, C, c->eps))) goto done;
    emit(outs, layers, n_out, 0, x, n_x);
    if (L == 0) emit(outs, layers, n_out, SLM_SSL_FINAL, x, n_x);

    if (c->wavlm && deepest > 0) { /* the relative position bias table, shared by every layer */
        int64_t nd = 2 * T - 1;
        int64_t *bk = (int64_t *)slm_alloc((size_t)nd * sizeof(int64_t));
        if (!bk) {
            st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the bucket table");
            goto done;
        }
        for (int64_t d = -(T - 1); d <= T - 1; d++) bk[d + T - 1] = wavlm_bucket(d, c->num_buckets, c->max_distance);
#pragma omp parallel for collapse(2) num_threads(slm_threads()) schedule(static)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++)
                for (int64_t s = 0; s < T; s++) pb[(h * T + t) * T + s] = m->rel[bk[s - t + T - 1] * H + h];
        slm_free(bk);
    }
    for (int64_t l = 1; l <= deepest; l++) {
        const slm_nn_encoder_layer *ly = &m->layers[l - 1];
        const float *bl = NULL;
        if (c->wavlm) {
            const float *a_in = x;
            if (c->stable) { /* the gate reads the attention input: ln1(x) in pre-norm layers */
                if ((st = slm_layer_norm_f32(ain, x, ly->ln1_w, ly->ln1_b, B * T, C, c->eps))) goto done;
                a_in = ain;
            }
            wavlm_bias(bias, a_in, pb, &m->gates[l - 1], klen, B, T, C, H);
            bl = bias;
        }
        if ((st = slm_nn_encoder_layer_f32(x, ly, B, T, klen, bl, work))) goto done;
        emit(outs, layers, n_out, l, x, n_x);
        if (l == L) {
            for (int64_t i = 0; i < n_out; i++) {
                if (layers[i] != SLM_SSL_FINAL) continue;
                if (c->stable) {
                    if ((st = slm_layer_norm_f32(outs[i], x, m->enc_nw, m->enc_nb, B * T, C, c->eps))) goto done;
                } else {
                    memcpy(outs[i], x, (size_t)n_x * f);
                }
            }
        }
    }
done:
    slm_arena_release(&ar);
    return st;
}
