/* spectral.h: internal FFT API of the DSP layer (csrc/dsp), used by the STFT, iSTFT,
 * Griffin-Lim and the mel / fbank / MFCC front ends.
 *
 * Plans are immutable after creation (twiddles computed in double, stored as float), so
 * one plan may be used from many threads at once; the work buffers live in caller- or
 * call-owned scratch. Any length n >= 1 works: mixed radix 4/2/3/5/odd-generic Stockham
 * passes, Bluestein's chirp-z for lengths with a prime factor above SLM_FFT_MAX_RADIX.
 * The SIMD paths run one vector lane per frame (8 frames on AVX2, 16 on AVX-512), so
 * every radix vectorises the same way; the ref path runs one frame at a time.
 *
 * Layouts: real rows (B, n) in_stride floats apart; complex values are interleaved
 * (re, im) float pairs. Norm is numpy/torch "backward": forward unscaled, inverse 1/n.
 */
#ifndef SLM_DSP_SPECTRAL_H
#define SLM_DSP_SPECTRAL_H

#include <stdint.h>

#include "slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- real-input FFT ---- */
typedef struct slm_rfft_plan slm_rfft_plan; /* real-input FFT of length n >= 1, any n */

/* SLM_ERR_VALUE for n < 1 (or n > 2^40), SLM_ERR_NOMEM if the tables cannot be allocated */
slm_status slm_rfft_plan_new(slm_rfft_plan **plan, int64_t n);
void slm_rfft_plan_free(slm_rfft_plan *plan); /* NULL is fine */
int64_t slm_rfft_plan_n(const slm_rfft_plan *plan);

/* out (B, n/2+1, 2) interleaved re,im = DFT of each row of in (B, n), rows in_stride
 * floats apart (in_stride >= 1: rows may overlap, e.g. frames of a padded signal with
 * in_stride = hop). Parallel over B unless called inside an OpenMP parallel region (then
 * it runs on the calling thread). Allocates its own scratch (see slm_rfft_frames for a
 * call without allocation). */
slm_status slm_rfft_batch(const slm_rfft_plan *plan, float *out, const float *in, int64_t B,
                          int64_t in_stride);

/* what slm_rfft_frames writes per (row, bin) */
typedef enum {
    SLM_RFFT_COMPLEX = 0, /* 2 floats: re, im */
    SLM_RFFT_POWER = 1,   /* |X|^2 */
    SLM_RFFT_MAG = 2      /* |X| */
} slm_rfft_mode;

/* floats of scratch one call of slm_rfft_frames needs (any path, any B) */
int64_t slm_rfft_scratch_floats(const slm_rfft_plan *plan);

/* The general single-thread entry: for rows r < B of in (row r at in + r*in_stride, n
 * floats, times window (n) if window != NULL), X = scale * DFT(row); element (r, k),
 * k <= n/2, is written at out + r*out_rs + k*out_ks (floats) in the given mode. E.g.
 * frames-major complex: out_rs = 2*(n/2+1), out_ks = 2; torch.stft's (freq, frames)
 * complex layout: out_rs = 2, out_ks = 2*B; power (freq, frames): out_rs = 1, out_ks = B.
 * scratch: slm_rfft_scratch_floats(plan) floats, 64-byte aligned (slm_alloc), or NULL
 * to allocate per call. Runs on the calling thread (never opens a parallel region);
 * kernels trust their input (no validation beyond NULL scratch allocation). */
slm_status slm_rfft_frames(const slm_rfft_plan *plan, float *out, int64_t out_rs, int64_t out_ks,
                           const float *in, int64_t in_stride, const float *window, int64_t B,
                           slm_rfft_mode mode, float scale, float *scratch);

/* Inverse real FFT (complex-to-real, numpy.fft.irfft "backward": 1/n). Row r of the
 * input: element k <= n/2 at in + r*in_rs + k*in_ks (re, im pair); the imaginary parts
 * of bin 0 (and of bin n/2 for even n) are ignored, as numpy/torch do. Output row r
 * (n floats) at out + r*out_stride, times `scale` (in addition to 1/n). Single thread;
 * scratch as above (NULL: allocate). */
slm_status slm_irfft_frames(const slm_rfft_plan *plan, float *out, int64_t out_stride,
                            const float *in, int64_t in_rs, int64_t in_ks, int64_t B, float scale,
                            float *scratch);

/* out (B, n) = irfft of each row of in (B, n/2+1, 2) (1/n scaling); parallel over B
 * unless inside an OpenMP region */
slm_status slm_irfft_batch(const slm_rfft_plan *plan, float *out, const float *in, int64_t B);

/* ---- complex FFT ---- */
typedef struct slm_cfft_plan slm_cfft_plan; /* complex FFT of length n >= 1 */

slm_status slm_cfft_plan_new(slm_cfft_plan **plan, int64_t n);
void slm_cfft_plan_free(slm_cfft_plan *plan);
int64_t slm_cfft_scratch_floats(const slm_cfft_plan *plan);

/* out (B, n, 2) = scale * DFT (inverse = 0: exp(-2 pi i jk/n)) or scale * unnormalised
 * inverse DFT (inverse = 1: exp(+...)) of each row of in (B, n, 2). Parallel over B
 * unless inside an OpenMP region. in == out is allowed. */
slm_status slm_cfft_batch(const slm_cfft_plan *plan, float *out, const float *in, int64_t B,
                          int inverse, float scale);

/* ---- STFT internals shared with Griffin-Lim (stft.c; no validation: callers check) ---- */
#include "slm/dsp.h"

/* *win_full (n_fft, slm_alloc'd) = window (win_length, or ones if NULL) zero-padded
 * centred, as torch.stft does */
slm_status slm_stft_window_full(float **win_full, const float *window, int64_t win_length,
                                int64_t n_fft, const char *fn);
/* slm_stft_f32 on a plan of length n_fft with a full window; T frames precomputed */
slm_status slm_stft_run(const slm_rfft_plan *p, float *out, const float *x, int64_t B, int64_t L,
                        int64_t hop, const float *win_full, int center, slm_pad_mode pad,
                        int onesided, slm_spec_mode mode, float scale, int64_t T, const char *fn);
/* slm_istft_f32 on a plan; out (B, Lout); X (B, n_fft/2+1, T, 2); scale multiplies frames */
slm_status slm_istft_run(const slm_rfft_plan *p, float *out, const float *X, int64_t B, int64_t T,
                         int64_t hop, const float *win_full, int center, float scale, int64_t Lout,
                         const char *fn);

#ifdef __cplusplus
}
#endif

#endif /* SLM_DSP_SPECTRAL_H */
