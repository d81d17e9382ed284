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

/* ---- windows (torch.*_window / scipy.signal.get_window) ---- */
typedef enum {
    SLM_WINDOW_RECTANGULAR = 0, /* ones */
    SLM_WINDOW_HANN = 1,        /* 0.5 - 0.5 cos(2 pi k / N) */
    SLM_WINDOW_HAMMING = 2,     /* 0.54 - 0.46 cos(2 pi k / N) (torch's coefficients) */
    SLM_WINDOW_BLACKMAN = 3,    /* 0.42 - 0.5 cos(2 pi k/N) + 0.08 cos(4 pi k/N) */
    SLM_WINDOW_KAISER = 4,      /* I0(beta sqrt(1 - (2k/N - 1)^2)) / I0(beta) */
    SLM_WINDOW_POVEY = 5        /* Kaldi: hann^0.85 (Kaldi uses periodic = 0) */
} slm_window_kind;

/* out (L) = window; N = L if periodic else L - 1; L == 1 gives [1]. beta: Kaiser only */
slm_status slm_window_f32(float *out, int64_t L, slm_window_kind kind, int periodic, double beta);

/* ---- STFT / iSTFT (torch.stft / torch.istft semantics) ---- */
/* padding of a centred STFT: slm_padding_mode of slm/ops_conv.h (SLM_PAD_ZEROS is
 * torch's "constant"); reflect needs n_fft/2 < L, circular n_fft/2 <= L */
typedef slm_padding_mode slm_pad_mode;

typedef enum {
    SLM_SPEC_COMPLEX = 0,  /* (re, im) pairs */
    SLM_SPEC_POWER = 1,    /* |X|^2 */
    SLM_SPEC_MAGNITUDE = 2 /* |X| */
} slm_spec_mode;

/* frames of an STFT of L samples: 1 + (L + 2 (n_fft/2) - n_fft) / hop when centred, else
 * 1 + (L - n_fft) / hop; SLM_ERR_VALUE with a message if the parameters are impossible */
slm_status slm_stft_frames(int64_t *T, int64_t L, int64_t n_fft, int64_t hop, int center);

/* out (B, F, T, 2) complex, or (B, F, T) power / magnitude = STFT of x (B, L).
 * F = n_fft/2+1 (onesided) or n_fft. window (win_length) or NULL for ones, zero-padded
 * centred to n_fft; center pads n_fft/2 each side with pad_mode; normalized scales by
 * n_fft^-1/2. */
slm_status slm_stft_f32(float *out, const float *x, int64_t B, int64_t L, int64_t n_fft, int64_t hop,
                        const float *window, int64_t win_length, int center, slm_pad_mode pad_mode,
                        int normalized, int onesided, slm_spec_mode mode);

/* out (B, Lout) = iSTFT of X (B, n_fft/2+1, T, 2) (onesided): irfft per frame, window,
 * overlap-add, divide by the overlap-added squared window (SLM_ERR_VALUE if it falls
 * below 1e-11 inside the output span: the NOLA condition fails). length < 0: Lout =
 * hop (T-1) + n_fft, minus 2 (n_fft/2) when centred; else Lout = length (zero-padded
 * beyond the frames, as torch does). slm_istft_length gives Lout. */
slm_status slm_istft_length(int64_t *Lout, int64_t T, int64_t n_fft, int64_t hop, int center, int64_t length);
slm_status slm_istft_f32(float *out, const float *X, int64_t B, int64_t T, int64_t n_fft, int64_t hop,
                         const float *window, int64_t win_length, int center, int normalized,
                         int64_t length);

/* ---- Griffin-Lim (torchaudio.functional.griffinlim) ---- */
/* out (B, Lout) from specgram S (B, n_fft/2+1, T) (magnitude^power): angles start at
 * init_phase (B, F, T, 2) unit complex if given, else 1 (rand_init = 0) or uniform
 * random complex in [0,1)+i[0,1) from `seed` (rand_init = 1; not torch's RNG stream).
 * Each iteration: y = istft(S^(1/power) * angles); R = stft(y); A = R - m/(1+m) R_prev;
 * angles = A / (|A| + 1e-16). Always centred, reflect padding, not normalized. */
slm_status slm_griffin_lim_f32(float *out, const float *S, const float *init_phase, int64_t B,
                               int64_t T, int64_t n_fft, int64_t hop, const float *window,
                               int64_t win_length, double power, int64_t n_iter, double momentum,
                               int64_t length, int rand_init, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif
