/* ssl.h: public C API of the self-supervised speech encoders: wav2vec2, HuBERT and WavLM
 * (one graph; the families differ in data: front-end norm, layer order, WavLM's gated
 * relative position bias).
 *
 * Input: 16 kHz waveforms (B, S), zero-padded, with the valid samples per row. Output:
 * the hidden states asked for, each (B, T, C), numbered as transformers'
 * output_hidden_states: 0 is the input of the first Transformer layer, i the raw output
 * of layer i; SLM_SSL_FINAL is the model's output (last_hidden_state: layer L, after the
 * encoder's final layer norm in the pre-norm "stable" models).
 */
#ifndef SLM_SSL_H
#define SLM_SSL_H

#include <stdint.h>
#include "models.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLM_SSL_MAX_CONV 16
#define SLM_SSL_FINAL (-1)

typedef enum {
    SLM_SSL_FE_GROUP = 0, /* GroupNorm(C, C) after the first conv only (base models) */
    SLM_SSL_FE_LAYER = 1  /* LayerNorm over channels after every conv (large models) */
} slm_ssl_fe_norm;

typedef struct {
    int64_t n_conv;                        /* front-end convolutions (7) */
    int64_t conv_dim[SLM_SSL_MAX_CONV];    /* output channels of each */
    int64_t conv_kernel[SLM_SSL_MAX_CONV]; /* kernel widths (10, 3, 3, 3, 3, 2, 2) */
    int64_t conv_stride[SLM_SSL_MAX_CONV]; /* strides (5, 2, 2, 2, 2, 2, 2) */
    int conv_bias;                         /* the convs have biases */
    slm_ssl_fe_norm fe_norm;
    int fp_norm;     /* layer norm before the feature projection (all but HuBERT with
                        feat_proj_layer_norm=False) */
    int64_t C;       /* hidden size */
    int64_t H;       /* attention heads */
    int64_t F;       /* feed-forward width */
    int64_t L;       /* Transformer layers */
    int stable;      /* 1: pre-norm layers and the encoder norm at the end (large);
                        0: post-norm layers, the encoder norm before them (base) */
    float eps;       /* layer_norm_eps of the encoder and projection norms */
    int64_t pos_kernel, pos_groups; /* positional conv embedding (128, 16) */
    int wavlm;       /* WavLM's gated relative position bias */
    int64_t num_buckets, max_distance; /* WavLM: 320, 800 */
    int bf16;        /* 1: weight-only bf16 projections in the layers */
    /* new fields go at the end */
} slm_ssl_config;

/* wav2vec2/HuBERT base: 7 convs of 512 (group norm), 768 wide, 12 heads, 3072, 12
 * post-norm layers, eps 1e-5, positional conv 128/16, fp32 */
slm_ssl_config slm_ssl_default_config(void);

typedef struct slm_ssl_encoder slm_ssl_encoder;

/* Build an encoder from weights named (Cf = conv_dim[n_conv-1]):
 *   fe.{i}.conv.weight (conv_dim[i], conv_dim[i-1] or 1, conv_kernel[i]), fe.{i}.conv.bias
 *   (with conv_bias); fe.0.norm.weight/.bias (group) or fe.{i}.norm.weight/.bias (layer);
 *   fp.norm.weight/.bias (Cf) (with fp_norm), fp.proj.weight (C, Cf), fp.proj.bias (C);
 *   pos.weight (C, C / pos_groups, pos_kernel) (weight norm folded), pos.bias (C);
 *   enc.norm.weight/.bias (C); layers.{i}.* as csrc/nn's encoder layer (ln1, q, k, v, o,
 *   ln2, fc1, fc2); WavLM: rel_embed (num_buckets, H), layers.{i}.gate.weight (8, C/H),
 *   layers.{i}.gate.bias (8), layers.{i}.gate_const (H).
 * The weights are copied; free *out with slm_ssl_encoder_free. */
slm_status slm_ssl_encoder_create(slm_ssl_encoder **out, const slm_ssl_config *cfg, const slm_weight *weights,
                                  int64_t n_weights);
void slm_ssl_encoder_free(slm_ssl_encoder *m);
slm_ssl_config slm_ssl_encoder_config(const slm_ssl_encoder *m);

/* *T = frames the front end makes of S samples (0 when S is too short) */
slm_status slm_ssl_encoder_frames(const slm_ssl_encoder *m, int64_t S, int64_t *T);

/* outs[i] (B, T, C) = hidden state layers[i] (in [0, L] or SLM_SSL_FINAL) for i < n_out,
 * of wav (B, S); out_lengths (B) <- valid frames per row (may be NULL). lengths (B): valid
 * samples per row, each giving at least one frame, or NULL for all S. As transformers
 * with an attention_mask: padded frames are zeroed before the positional convolution and
 * take no part in attention (the front end itself runs over the padded rows). Output
 * frames beyond a row's length are padding. The forward stops after the deepest layer
 * asked for. */
slm_status slm_ssl_encoder_forward(const slm_ssl_encoder *m, float *const *outs, const int64_t *layers,
                                   int64_t n_out, int64_t *out_lengths, const float *wav,
                                   const int64_t *lengths, int64_t B, int64_t S);

#ifdef __cplusplus
}
#endif

#endif
