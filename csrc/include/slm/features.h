/* features.h: public C API of feature front ends: mel scales and filterbanks, the log-mel
 * variants real checkpoints expect (Whisper, HiFi-GAN/BigVGAN, Vocos, torchaudio and
 * librosa mel spectrograms, MFCC), Kaldi fbank and per-utterance waveform normalisation
 * (see slm.h for conventions).
 *
 * Shape legend: B batch (independent signals), L samples per signal, T frames,
 * F = n_fft/2 + 1 frequency bins, M mel bins, Q cepstral coefficients.
 * Every front end is one call: framing, window, real FFT, power or magnitude, mel
 * projection, log and post-processing, parallel over blocks of frames.
 */
#ifndef SLM_FEATURES_H
#define SLM_FEATURES_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- mel scales and filterbanks ---------------------------------------------------- */

/* Hz -> mel: htk != 0 gives 2595 log10(1 + f/700); htk == 0 the Slaney scale (linear
 * below 1 kHz, logarithmic above), as librosa.hz_to_mel / torchaudio. */
double slm_hz_to_mel(double hz, int htk);
double slm_mel_to_hz(double mel, int htk);

/* out (M, F = n_fft/2+1) = librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm):
 * triangles between M+2 points evenly spaced on the mel scale over [fmin, fmax], bin k at
 * k*sr/n_fft Hz; slaney_norm != 0 scales each triangle by 2/(f[m+2]-f[m]). fmax < 0
 * means sr/2. Computed in double, stored float32. *n_empty (may be NULL) receives the
 * number of all-zero filters (librosa warns about them). */
slm_status slm_mel_filterbank(float *out, double sr, int64_t n_fft, int64_t n_mels, double fmin,
                              double fmax, int htk, int slaney_norm, int64_t *n_empty);

/* out (n_freqs, M) = torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels,
 * sample_rate, norm, mel_scale): bin k at k * floor(sample_rate/2) / (n_freqs-1) Hz
 * (torchaudio's linspace over sample_rate // 2). Note the transposed layout. */
slm_status slm_melscale_fbanks(float *out, int64_t n_freqs, double f_min, double f_max,
                               int64_t n_mels, double sample_rate, int slaney_norm, int htk,
                               int64_t *n_empty);

/* out (Q, M) = the DCT-II matrix cos(pi/M (m + 1/2) q) that takes M log-mel values to
 * Q cepstral coefficients; ortho != 0 scales row 0 by sqrt(1/M) and the others by
 * sqrt(2/M) (torchaudio create_dct(norm="ortho") transposed, scipy dct type 2 ortho),
 * ortho == 0 by 2 (norm=None). Q <= M. */
slm_status slm_dct_matrix(float *out, int64_t Q, int64_t M, int ortho);

/* ---- the mel spectrogram engine ---------------------------------------------------- */

typedef enum {
    SLM_FE_PAD_CONSTANT = 0,  /* zeros */
    SLM_FE_PAD_REFLECT = 1,   /* x[1], x[0] | x[0] ... : torch/numpy "reflect" (pad < L) */
    SLM_FE_PAD_REPLICATE = 2, /* edge value repeated */
    SLM_FE_PAD_CIRCULAR = 3,  /* wrap around (pad <= L) */
    SLM_FE_PAD_SYMMETRIC = 4  /* x[1], x[0] | x[0], x[1] ...: edge repeated (pad <= L) */
} slm_fe_pad_mode;

typedef enum {
    SLM_FE_WINDOW_HANN = 0,    /* periodic (torch.hann_window default), 0.5 - 0.5 cos */
    SLM_FE_WINDOW_HAMMING = 1, /* periodic, 0.54 - 0.46 cos */
    SLM_FE_WINDOW_BLACKMAN = 2,/* periodic, 0.42 - 0.5 cos + 0.08 cos 2 */
    SLM_FE_WINDOW_RECT = 3     /* ones */
} slm_fe_window;

typedef enum {
    SLM_MELLOG_NONE = 0,   /* the mel spectrogram itself */
    SLM_MELLOG_LN = 1,     /* ln(max(x, log_floor)) (HiFi-GAN 1e-5, Vocos 1e-7) */
    SLM_MELLOG_LOG10 = 2,  /* log10(max(x, log_floor)) (Whisper 1e-10) */
    SLM_MELLOG_LN_OFFSET = 3, /* ln(x + log_offset) (torchaudio MFCC log_mels 1e-6) */
    SLM_MELLOG_DB = 4      /* db_mult log10(max(x, log_floor)) - db_mult log10(max(log_floor,
                               db_ref)) (torchaudio AmplitudeToDB, librosa power_to_db) */
} slm_mellog_kind;

/* Every option of the engine. Start from slm_melspec_default_params() (torchaudio's
 * MelSpectrogram defaults without the filterbank) and set what differs. The signal is
 * padded in three stages, in this order:
 *   1. pad0_left/pad0_right zeros (torchaudio's `pad`, Whisper's `padding`),
 *   2. pad1_left/pad1_right in pad1_mode (the HiFi-GAN/BigVGAN (n_fft-hop)/2 reflect
 *      padding, Vocos "same"),
 *   3. center != 0: n_fft/2 on both sides in center_mode (torch.stft / librosa center),
 * then frame t covers padded samples [t*hop, t*hop + n_fft), the window (win_length,
 * zero-padded to n_fft centred as torch.stft does) multiplies it, and its real FFT gives
 * F bins. T = 1 + (padded length - n_fft) / hop, minus one with drop_last (Whisper). */
typedef struct {
    int64_t n_fft, hop_length, win_length;
    slm_fe_window window;   /* used when window_data is NULL */
    const float *window_data; /* (win_length) or NULL */
    int64_t pad0_left, pad0_right;
    int64_t pad1_left, pad1_right;
    slm_fe_pad_mode pad1_mode;
    int center;
    slm_fe_pad_mode center_mode;
    int drop_last;
    double spec_scale;  /* the complex spectrum is multiplied by this (torch normalized) */
    double power;       /* 2: |X|^2, 1: |X|, other p > 0: |X|^p */
    double mag_eps;     /* power 1 only: sqrt(re^2 + im^2 + mag_eps) (HiFi-GAN 1e-9) */
    const float *mel;   /* (M, F) filterbank, required */
    int64_t n_mels;
    slm_mellog_kind log_kind;
    double log_floor, log_offset, db_mult, db_ref;
    double top_db;        /* < 0: none; else y = max(y, max(y over a group) - top_db) */
    int64_t top_db_group; /* signals per top_db group (B divisible by it); 0: all B */
    int whisper_norm;     /* y = (max(y, max(y over all B) - 8) + 4) / 4 after LOG10 */
    const float *dct;     /* (Q, M) applied to each frame's mel vector last, or NULL */
    int64_t n_dct;        /* Q */
} slm_melspec_params;

slm_melspec_params slm_melspec_default_params(void);

/* *T = frames per signal of length L under p, validating p (SLM_ERR_VALUE naming fn and
 * the bad value: too short a signal for the padding/frame, bad sizes). */
slm_status slm_melspec_frames(int64_t *T, int64_t L, const slm_melspec_params *p,
                              const char *fn);

/* out (B, Q or M, T) = the mel spectrogram of each row of x (B, L) under p (see above).
 * Non-finite samples are SLM_ERR_VALUE. fn names the public op in errors (NULL:
 * "slm_melspec_f32"). */
slm_status slm_melspec_f32(float *out, const float *x, int64_t B, int64_t L,
                           const slm_melspec_params *p, const char *fn);

/* out (B, M, T) = openai-whisper's log_mel_spectrogram of each row of audio (B, L) at
 * 16 kHz (n_fft 400, hop 160, periodic Hann, centre reflect, last frame dropped, power,
 * Slaney filters, log10 clamp 1e-10, max - 8 over the whole batch as the reference does,
 * (x + 4) / 4), with `padding` zeros appended. M is 80 or 128. T = (L + padding) / 160. */
slm_status slm_whisper_log_mel_f32(float *out, const float *audio, int64_t B, int64_t L,
                                   int64_t n_mels, int64_t padding);

/* ---- Kaldi fbank ------------------------------------------------------------------- */

typedef enum {
    SLM_KALDI_POVEY = 0, /* hann (symmetric) ^ 0.85: Kaldi's default */
    SLM_KALDI_HAMMING = 1,
    SLM_KALDI_HANNING = 2,
    SLM_KALDI_RECTANGULAR = 3,
    SLM_KALDI_BLACKMAN = 4
} slm_kaldi_window;

/* torchaudio.compliance.kaldi.fbank's options (defaults from
 * slm_kaldi_fbank_default_params(); dither must be 0, vtln_warp 1). */
typedef struct {
    double blackman_coeff, energy_floor, frame_length_ms, frame_shift_ms, high_freq, low_freq,
        preemphasis_coefficient, sample_frequency;
    int64_t num_mel_bins;
    int htk_compat, raw_energy, remove_dc_offset, round_to_power_of_two, snip_edges,
        subtract_mean, use_energy, use_log_fbank, use_power;
    slm_kaldi_window window_type;
} slm_kaldi_fbank_params;

slm_kaldi_fbank_params slm_kaldi_fbank_default_params(void);

/* *T frames and *D = num_mel_bins (+1 with use_energy) columns for L samples;
 * validates p. */
slm_status slm_kaldi_fbank_shape(int64_t *T, int64_t *D, int64_t L,
                                 const slm_kaldi_fbank_params *p);

/* out (T, D) = torchaudio.compliance.kaldi.fbank(wave (L), **p) */
slm_status slm_kaldi_fbank_f32(float *out, const float *wave, int64_t L,
                               const slm_kaldi_fbank_params *p);

/* ---- waveform normalisation -------------------------------------------------------- */

/* out (B, L) = (x - mean) / sqrt(var + 1e-7) per row over its first lengths[b] samples
 * (all L when lengths is NULL), padding_value beyond them: the Hugging Face
 * Wav2Vec2FeatureExtractor's zero_mean_unit_var_norm. Statistics in double. */
slm_status slm_zero_mean_unit_var_norm_f32(float *out, const float *x, const int64_t *lengths,
                                           int64_t B, int64_t L, float padding_value);

#ifdef __cplusplus
}
#endif

#endif
