/* convseq.h: public C API of convolutional stacks run as a program of layers (see slm.h).
 *
 * The SEANet encoders and decoders of neural codecs (EnCodec, and Mimi's and
 * SpeechTokenizer's variants) are long chains of padded convolutions, activations,
 * residual blocks and an LSTM. Rather than one C function per architecture, the model
 * is described as data: a list of slm_cs_layer, built once at load (slm/codecs/seanet.py),
 * run here over a (N, C, L) signal with the padding rules of the codecs:
 *  - CONV: padding_total = (K-1)*dilation - (stride-1), plus the "extra" right padding
 *    that makes the last window full (EnCodec's get_extra_padding_for_conv1d); causal puts
 *    padding_total on the left, otherwise it is split (the right half rounded down);
 *    reflect or zero fill, reflect on signals shorter than the pad zero-extends first
 *    (EnCodec's pad1d).
 *  - CONVTR: transposed conv, then padding_total = K - stride trimmed: causal trims
 *    ceil(padding_total * trim_right_ratio) on the right and the rest on the left,
 *    otherwise the right half rounded down.
 *  - ELU, PUSH (save the signal for a residual), ADD (signal = saved + signal, popping),
 *    SKIPCONV (apply a CONV layer to the saved signal: a non-identity shortcut), LSTM
 *    (unidirectional stacked LSTM over time with y = lstm(x) + x when skip is set).
 *  - CONVP / CONVTRP: nn.Conv1d / nn.ConvTranspose1d with explicit zero padding
 *    (pad_left, pad_right; for the transposed conv, samples trimmed from each end) as DAC
 *    uses them; SNAKE (per-channel alpha in w: x + 1/(alpha + 1e-9) sin^2(alpha x)); TANH;
 *    ADD crops the saved signal symmetrically when it is longer (DAC's ResidualUnit).
 *  - GROUPNORM / SKIPGROUPNORM: group norm (k groups, eps in param, per-channel w and b)
 *    of the signal / of the saved signal: EnCodec's time_group_norm after a conv. After a
 *    transposed conv EnCodec normalises the untrimmed output, so a CONVTR carries its own:
 *    lstm[0], lstm[1] (weight, bias; lstm_layers = groups, eps 1e-5), applied before the trim.
 * Layouts as PyTorch: signal (N, C, L); conv weight (Cout, Cin, K); transposed-conv
 * weight (Cin, Cout, K); LSTM params in nn.LSTM._flat_weights order.
 */
#ifndef SLM_CONVSEQ_H
#define SLM_CONVSEQ_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SLM_CS_CONV = 0,
    SLM_CS_CONVTR = 1,
    SLM_CS_ELU = 2,
    SLM_CS_PUSH = 3,
    SLM_CS_ADD = 4,
    SLM_CS_SKIPCONV = 5,
    SLM_CS_LSTM = 6,
    SLM_CS_CONVP = 7,
    SLM_CS_CONVTRP = 8,
    SLM_CS_SNAKE = 9,
    SLM_CS_TANH = 10,
    SLM_CS_GROUPNORM = 11,
    SLM_CS_SKIPGROUPNORM = 12
} slm_cs_op;

typedef struct {
    slm_cs_op op;
    const float *w, *b;       /* CONV/CONVTR/SKIPCONV weight and bias (b may be NULL) */
    int64_t cin, cout, k;     /* channels in/out, kernel width */
    int64_t stride, dilation; /* >= 1 */
    int causal, reflect;      /* padding placement and fill (CONV) */
    float param;              /* ELU: alpha; CONVTR: trim_right_ratio in [0, 1] */
    const float *const *lstm; /* LSTM: layers * 4 pointers (w_ih, w_hh, b_ih, b_hh) */
    int64_t lstm_layers;      /* LSTM: stacked layers; hidden size = cin = cout */
    int lstm_skip;            /* LSTM: add the input to the output */
    int64_t pad_left, pad_right; /* CONVP: zeros added; CONVTRP: samples trimmed */
} slm_cs_layer;

/* *C_out, *L_out of running layers (n) over a signal of C channels and length L; also
 * validates the program (channel chaining, PUSH/ADD balance, sizes). */
slm_status slm_convseq_shape(int64_t *C_out, int64_t *L_out, const slm_cs_layer *layers, int64_t n, int64_t C,
                             int64_t L);

/* *bytes of scratch memory slm_convseq_run_f32 needs for a signal (N, C, L) */
slm_status slm_convseq_workspace(size_t *bytes, const slm_cs_layer *layers, int64_t n, int64_t N, int64_t C,
                                 int64_t L);

/* out (N, C_out, L_out) <- x (N, C, L) through layers (n); sizes from slm_convseq_shape.
 * ws: caller-owned scratch of ws_bytes >= slm_convseq_workspace (64-byte aligned), kept
 * across calls so that large signals do not fault in fresh pages every call; NULL: the
 * scratch is allocated and freed inside the call. */
slm_status slm_convseq_run_f32(float *out, const float *x, int64_t N, int64_t C, int64_t L,
                               const slm_cs_layer *layers, int64_t n, void *ws, size_t ws_bytes);

#ifdef __cplusplus
}
#endif

#endif
