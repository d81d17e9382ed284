/* f0.h: public C API of F0 (pitch) estimation (see slm.h for conventions).
 *
 * YIN (de Cheveigne & Kawahara 2002) and probabilistic YIN (Mauch & Dixon 2014) with
 * the semantics of librosa.yin / librosa.pyin (librosa 0.11): the same framing
 * (centred frames padded by frame_length // 2, frame t centred on sample t * hop), the
 * same difference function (librosa's, which keeps the energy of the frame's last k
 * samples at lag k), the same threshold rule, parabolic refinement, pitch grid, HMM and
 * Viterbi decoding. The F0 tracks are the conditioning input of pitch-conditioned
 * vocoders and of prosody metrics.
 *
 * Shapes: B channels (batch), L samples per channel, T frames per channel
 * (slm_f0_n_frames). Input y (B, L) float32, outputs (B, T).
 */
#ifndef SLM_F0_H
#define SLM_F0_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* how frames are padded at the edges when center != 0 (numpy.pad modes) */
typedef enum {
    SLM_F0_PAD_CONSTANT = 0, /* zeros (librosa's default) */
    SLM_F0_PAD_EDGE = 1,     /* repeat the first / last sample */
    SLM_F0_PAD_REFLECT = 2,  /* mirror without repeating the edge sample */
    SLM_F0_PAD_SYMMETRIC = 3,/* mirror repeating the edge sample */
    SLM_F0_PAD_WRAP = 4      /* periodic */
} slm_f0_pad;

/* Parameters of yin and pyin; names and defaults are librosa's (slm_f0_default_params).
 * New fields go at the end. */
typedef struct {
    double sr;                  /* sample rate, Hz (22050) */
    double fmin, fmax;          /* search range, Hz: 0 < fmin < fmax <= sr / 2
                                   (C2 = 65.406 .. C7 = 2093.005, librosa's suggestion) */
    int64_t frame_length;       /* samples per frame (2048); sr / fmin < frame_length - 1 */
    int64_t hop_length;         /* samples between frames; 0 means frame_length / 4 */
    int center;                 /* 1: pad by frame_length / 2 so frame t is centred on
                                   sample t * hop_length; 0: frame t starts there */
    slm_f0_pad pad_mode;        /* edge padding when center (SLM_F0_PAD_CONSTANT) */
    /* yin */
    double trough_threshold;    /* absolute threshold on the normalised difference (0.1) */
    /* pyin */
    int64_t n_thresholds;       /* thresholds in (0, 1] (100) */
    double beta_a, beta_b;      /* beta prior over the thresholds (2, 18) */
    double boltzmann_parameter; /* prior over troughs, favouring short periods (2) */
    double resolution;          /* pitch bin width in semitones, in (0, 1] (0.1) */
    double max_transition_rate; /* octaves per second (35.92) */
    double switch_prob;         /* voiced <-> unvoiced switch probability (0.01) */
    double no_trough_prob;      /* mass given to the global minimum if no trough is
                                   under a threshold (0.01) */
    int fill_unvoiced;          /* 1: unvoiced frames of f0 get fill_value; 0: they keep
                                   the decoded best-guess pitch (librosa fill_na=None) */
    float fill_value;           /* (NaN) */
} slm_f0_params;

/* librosa's defaults (sr 22050, fmin C2, fmax C7, frame 2048, hop frame/4, centred,
 * zero padding, threshold 0.1, pyin priors as listed above, unvoiced f0 = NaN) */
slm_f0_params slm_f0_default_params(void);

/* T for L samples: 1 + (L + 2 * (frame_length / 2) * center - frame_length) / hop.
 * Checks the parameters as yin/pyin do (SLM_ERR_VALUE naming the bad one). */
slm_status slm_f0_n_frames(int64_t *T, int64_t L, const slm_f0_params *p);

/* number of pitch bins of pyin's grid: floor(12 / resolution' * log2(fmax / fmin)) + 1,
 * resolution' = 1 / ceil(1 / resolution); bin k is fmin * 2^(k * resolution' / 12) Hz */
slm_status slm_f0_n_pitch_bins(int64_t *n_bins, const slm_f0_params *p);

/* f0 (B, T) Hz = YIN of y (B, L), as librosa.yin. Every frame gets a value: a frame
 * with no trough under trough_threshold takes the global minimum of its normalised
 * difference, and voiced (B, T) (may be NULL) is 0 there, 1 elsewhere (YIN's own
 * periodicity test; librosa.yin does not return it). y must be finite (SLM_ERR_VALUE
 * names the first NaN/Inf). */
slm_status slm_yin_f32(float *f0, uint8_t *voiced, const float *y, int64_t B, int64_t L,
                       const slm_f0_params *p);

/* Normalised difference function of every frame, for inspection and tests:
 * cmnd (B, T, K), K = max_period - min_period + 1 lags from min_period = floor(sr / fmax)
 * to max_period = min(ceil(sr / fmin), frame_length - 1); librosa's
 * _cumulative_mean_normalized_difference, frames last there, lags last here. */
slm_status slm_yin_cmnd_f32(float *cmnd, const float *y, int64_t B, int64_t L,
                            const slm_f0_params *p);
/* K of slm_yin_cmnd_f32 */
slm_status slm_yin_n_lags(int64_t *K, const slm_f0_params *p);

/* f0 (B, T) Hz, voiced (B, T) 0/1, voiced_prob (B, T) = probabilistic YIN of y (B, L)
 * with Viterbi decoding over pitch bins x {voiced, unvoiced}, as librosa.pyin. f0 is
 * the decoded bin's frequency; unvoiced frames get fill_value if fill_unvoiced. Any of
 * the outputs but f0 may be NULL. */
slm_status slm_pyin_f32(float *f0, uint8_t *voiced, float *voiced_prob, const float *y, int64_t B,
                        int64_t L, const slm_f0_params *p);

#ifdef __cplusplus
}
#endif

#endif
