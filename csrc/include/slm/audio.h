/* audio.h: public C API of audio file I/O through libsndfile and resampling (see slm.h
 * for conventions).
 *
 * Files: open a file (or a buffer in memory) once, read float32 frames block by block
 * into a planar (C, n) buffer or mixed down to mono, seek by frame, close. Writing takes
 * planar (C, L) float32 and any major format / subtype pair libsndfile accepts. A build
 * without libsndfile keeps these entry points; they return SLM_ERR_BACKEND.
 *
 * Resampling: band-limited windowed-sinc interpolation with the kernel of
 * torchaudio.functional.resample (Hann or Kaiser window, lowpass_filter_width zero
 * crossings, rolloff), evaluated polyphase over the rational ratio new_sr/orig_sr
 * reduced by their gcd.
 *
 * Shapes: C channels, L input samples per channel, n frames.
 */
#ifndef SLM_AUDIO_H
#define SLM_AUDIO_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- resampling -------------------------------------------------------------------- */
typedef enum {
    SLM_RESAMPLE_SINC_HANN = 0,  /* torchaudio "sinc_interp_hann" (the default) */
    SLM_RESAMPLE_SINC_KAISER = 1 /* torchaudio "sinc_interp_kaiser" */
} slm_resample_window;

typedef struct {
    int lowpass_filter_width;   /* zero crossings of the sinc on each side (6) */
    double rolloff;             /* cutoff as a fraction of the lower Nyquist, in (0, 1] (0.99) */
    slm_resample_window window; /* SLM_RESAMPLE_SINC_HANN */
    double beta;                /* Kaiser shape, used by SLM_RESAMPLE_SINC_KAISER (14.769656459379492) */
} slm_resample_params;

/* torchaudio.functional.resample's defaults */
slm_resample_params slm_resample_default_params(void);

/* *out_len = ceil(L * new_sr / orig_sr), the output length per channel */
slm_status slm_resample_length(int64_t *out_len, int64_t L, int64_t orig_sr, int64_t new_sr);

/* out (C, Lout) = resample(inp (C, L)) from orig_sr to new_sr Hz; Lout from
 * slm_resample_length. Rates must be positive; inp must be finite (SLM_ERR_VALUE names
 * the first bad sample). params NULL means the defaults. */
slm_status slm_resample_f32(float *out, const float *inp, int64_t C, int64_t L, int64_t orig_sr,
                            int64_t new_sr, const slm_resample_params *params);

/* ---- audio files ------------------------------------------------------------------- */
typedef struct slm_audio_file slm_audio_file; /* an open file being read */

typedef struct {
    int64_t frames;        /* frames in the file (samples per channel) */
    int sample_rate;       /* Hz */
    int channels;          /* C */
    int format;            /* libsndfile SF_FORMAT_* code: major | subtype */
    int seekable;          /* 1 if slm_audio_seek works */
    char major_name[32];   /* "WAV", "FLAC", "OGG", ... (soundfile's names) */
    char subtype_name[32]; /* "PCM_16", "FLOAT", "VORBIS", ... */
    int truncated;         /* 1 if the header promises more audio data than the file holds */
} slm_audio_info;

/* open path for reading; SLM_ERR_IO with the path and libsndfile's reason */
slm_status slm_audio_open(slm_audio_file **out, const char *path);
/* open `size` bytes in memory (not copied: keep them alive until close); name is used
 * in messages */
slm_status slm_audio_open_memory(slm_audio_file **out, const void *data, int64_t size,
                                 const char *name);
slm_status slm_audio_get_info(slm_audio_info *out, const slm_audio_file *f);
/* move the read position to frame (0 <= frame <= frames) */
slm_status slm_audio_seek(slm_audio_file *f, int64_t frame);
/* Read up to n frames from the current position. mono = 0: out (C, stride) planar, the
 * frames at out[c * stride + i]; mono = 1: out (n,) the mean over channels. *nread
 * frames were read (fewer than n only at the end of the file). A decode error is
 * SLM_ERR_IO naming the file. */
slm_status slm_audio_read_f32(float *out, int64_t *nread, slm_audio_file *f, int64_t n, int64_t stride,
                              int mono);
void slm_audio_close(slm_audio_file *f);

/* libsndfile's name for a format code ("WAV", "PCM_16"); SLM_ERR_VALUE if unknown.
 * major = 1 looks up the major format, 0 the subtype. */
slm_status slm_audio_format_code(int *code, const char *name, int major);
/* 1 if libsndfile can write this major|subtype with C channels at sample_rate */
int slm_audio_format_ok(int format, int channels, int sample_rate);

/* Write inp (C, L) planar float32 at sample_rate Hz to path as format (major | subtype).
 * Samples must be finite; PCM subtypes clip to [-1, 1]. */
slm_status slm_audio_write_f32(const char *path, const float *inp, int64_t C, int64_t L, int sample_rate,
                               int format);
/* The same into a new buffer (*data, *size bytes; free it with slm_audio_free). */
slm_status slm_audio_encode_f32(void **data, int64_t *size, const float *inp, int64_t C, int64_t L,
                                int sample_rate, int format);
void slm_audio_free(void *data);
/* the i-th name of the major-format (major = 1) or subtype table with its code; NULL past
 * the end (for listing what exists; slm_audio_format_ok says what this build writes) */
const char *slm_audio_format_entry(int major, int i, int *code);

#ifdef __cplusplus
}
#endif

#endif
