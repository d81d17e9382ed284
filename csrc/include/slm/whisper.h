/* whisper.h: public C API of the Whisper encoder (openai-whisper's AudioEncoder,
 * transformers' WhisperEncoder), any size.
 *
 * Input: log-mel frames (B, n_mels, 2 * n_ctx), as whisper.log_mel_spectrogram after
 * pad_or_trim (3000 frames for the released models). Output: the hidden states asked
 * for, each (B, n_ctx, C), numbered as transformers' output_hidden_states: 0 is the
 * input of the first layer (convolutions + positional embedding), i the output of layer
 * i, and layer n_layer has ln_post applied (what both references return).
 */
#ifndef SLM_WHISPER_H
#define SLM_WHISPER_H

#include <stdint.h>
#include "models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t n_mels;  /* mel bins (80 or 128) */
    int64_t n_ctx;   /* encoder positions (1500): the input has 2 * n_ctx frames */
    int64_t n_state; /* width C */
    int64_t n_head;  /* heads H, dividing C */
    int64_t n_layer; /* layers L */
    int bf16;        /* 1: weight-only bf16 projections in the layers (half the memory) */
    int64_t n_ffn;   /* feed-forward width F; 0 means 4 * n_state (every released model) */
    /* new fields go at the end */
} slm_whisper_config;

/* whisper-base's shape (80 mels, 1500 positions, 512 wide, 8 heads, 6 layers), fp32 */
slm_whisper_config slm_whisper_default_config(void);

typedef struct slm_whisper_encoder slm_whisper_encoder;

/* Build an encoder from weights named (shapes for C = n_state, M = n_mels):
 *   conv1.weight (C, M, 3), conv1.bias (C), conv2.weight (C, C, 3), conv2.bias (C),
 *   pos (n_ctx, C),
 *   layers.{i}.ln1.weight/.bias (C), layers.{i}.q.weight (C, C), .q.bias (C),
 *   layers.{i}.k.weight (C, C) (no bias), layers.{i}.v.weight/.v.bias, .o.weight/.o.bias,
 *   layers.{i}.ln2.weight/.bias, layers.{i}.fc1.weight (F, C), .fc1.bias (F),
 *   layers.{i}.fc2.weight (C, F), .fc2.bias (C), ln_post.weight/.bias (C).
 * The weights are copied; *out is freed with slm_whisper_encoder_free. */
slm_status slm_whisper_encoder_create(slm_whisper_encoder **out, const slm_whisper_config *cfg,
                                      const slm_weight *weights, int64_t n_weights);
void slm_whisper_encoder_free(slm_whisper_encoder *m);
/* the configuration it was built with */
slm_whisper_config slm_whisper_encoder_config(const slm_whisper_encoder *m);

/* outs[i] (B, n_ctx, C) = hidden state layers[i] for i < n_out (each in [0, n_layer],
 * any order, repeats allowed) of mel (B, n_mels, frames); frames must be 2 * n_ctx.
 * The forward stops after the deepest layer asked for. */
slm_status slm_whisper_encoder_forward(const slm_whisper_encoder *m, float *const *outs,
                                       const int64_t *layers, int64_t n_out, const float *mel,
                                       int64_t B, int64_t frames);

#ifdef __cplusplus
}
#endif

#endif
