/* ops_conv.h: public C API of the conv op family (see slm.h for conventions).
 *
 * 1-D convolution and transposed convolution, the workhorses of speech front ends
 * (HuBERT/wav2vec2 feature extractors and positional convs), codec encoders/decoders
 * (SEANet) and vocoders (HiFi-GAN upsamplers and resblocks). Layouts are PyTorch's:
 *   input  (N, Cin, L)                 N batch, Cin input channels, L length
 *   conv weight (Cout, Cin/groups, K)  K kernel width
 *   transposed-conv weight (Cin, Cout/groups, K)
 *   output (N, Cout, Lout)
 * Every size and parameter is checked (with torch's rules) before anything is written;
 * a bad one is SLM_ERR_VALUE naming the op and the value, an output whose size
 * overflows is SLM_ERR_NOMEM. Empty batches or Cout == 0 write nothing; Cin == 0 gives
 * the bias (an empty sum); L == 0 is an error. out must not overlap inp or w.
 */
#ifndef SLM_OPS_CONV_H
#define SLM_OPS_CONV_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a conv1d fills the padding it adds (nn.Conv1d's padding_mode). */
typedef enum {
    SLM_PAD_ZEROS = 0,     /* zeros */
    SLM_PAD_REFLECT = 1,   /* mirror without repeating the edge: needs pad < L */
    SLM_PAD_REPLICATE = 2, /* repeat the edge value */
    SLM_PAD_CIRCULAR = 3   /* wrap around: needs pad <= L */
} slm_padding_mode;

typedef struct {
    int64_t stride;                /* >= 1 */
    int64_t pad_left;              /* >= 0, samples added before the input */
    int64_t pad_right;             /* >= 0, samples added after it */
    int64_t dilation;              /* >= 1, spacing of the kernel taps */
    int64_t groups;                /* >= 1, divides Cin and Cout */
    slm_padding_mode padding_mode; /* what the padding holds */
} slm_conv1d_params;

/* stride 1, no padding, dilation 1, 1 group, zero padding */
slm_conv1d_params slm_conv1d_default_params(void);

/* *Lout = floor((L + pad_left + pad_right - dilation*(K-1) - 1) / stride) + 1, after
 * checking the parameters against L and K (torch's rules: reflect pads < L, circular
 * pads <= L, Lout >= 1). */
slm_status slm_conv1d_out_len(int64_t *Lout, int64_t L, int64_t K, slm_conv1d_params params);

/* out (N, Cout, Lout) = conv1d(inp (N, Cin, L), w (Cout, Cin/groups, K)) + b (Cout)
 * b may be NULL (no bias). Lout from slm_conv1d_out_len. */
slm_status slm_conv1d_f32(float *out, const float *inp, const float *w, const float *b, int64_t N,
                          int64_t Cin, int64_t L, int64_t Cout, int64_t K, slm_conv1d_params params);

/* *Lout = (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1 (torch's
 * ConvTranspose1d), after checking: output_padding < stride or < dilation, Lout >= 1. */
slm_status slm_conv_transpose1d_out_len(int64_t *Lout, int64_t L, int64_t K, int64_t stride,
                                        int64_t padding, int64_t output_padding, int64_t dilation);

/* out (N, Cout, Lout) = conv_transpose1d(inp (N, Cin, L), w (Cin, Cout/groups, K)) + b (Cout)
 * b may be NULL. Lout from slm_conv_transpose1d_out_len. */
slm_status slm_conv_transpose1d_f32(float *out, const float *inp, const float *w, const float *b,
                                    int64_t N, int64_t Cin, int64_t L, int64_t Cout, int64_t K,
                                    int64_t stride, int64_t padding, int64_t output_padding,
                                    int64_t groups, int64_t dilation);

#ifdef __cplusplus
}
#endif

#endif
