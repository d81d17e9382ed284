/* dsp.h: public C API of FFT, STFT/iSTFT, windows, Griffin-Lim (see slm.h for conventions).
 *
 * Complex values are interleaved (re, im) float pairs. FFT norms are numpy/torch
 * "backward": forward unscaled, inverse times 1/n. Every function validates its
 * arguments (SLM_ERR_VALUE naming the argument, SLM_ERR_NOMEM for sizes that overflow)
 * and runs over slm_get_num_threads() threads on the path slm_family_path(SLM_FAMILY_DSP).
 */
#ifndef SLM_DSP_H
#define SLM_DSP_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- FFT (any length n >= 1) ---- */
/* out (B, n/2+1, 2) = rfft(in (B, n)) */
slm_status slm_rfft_f32(float *out, const float *in, int64_t B, int64_t n);
/* out (B, n) = irfft(in (B, n/2+1, 2), n); imaginary parts of bin 0 (and n/2) ignored */
slm_status slm_irfft_f32(float *out, const float *in, int64_t B, int64_t n);
/* out (B, n, 2) = fft(in (B, n, 2)), or ifft (times 1/n) when inverse != 0; out == in ok */
slm_status slm_fft_c64(float *out, const float *in, int64_t B, int64_t n, int inverse);

#ifdef __cplusplus
}
#endif

#endif
