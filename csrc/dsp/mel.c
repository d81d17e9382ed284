/* mel.c: mel scales and triangular mel filterbanks, the projection every log-mel front
 * end (csrc/dsp/frontends.c) applies to a power or magnitude spectrum.
 *
 * Two constructions users meet in checkpoints: librosa.filters.mel (bins at k*sr/n_fft,
 * Slaney scale by default, layout (M, F)) and torchaudio.functional.melscale_fbanks
 * (bins over [0, sample_rate // 2], HTK scale by default, layout (F, M)). Both are
 * computed in double with librosa's operation order and stored float32; torchaudio
 * computes its bank in float32, which differs from this by rounding only.
 *
 * Shape legend: M mel bins, F frequency bins (n_fft/2 + 1).
 */
#include <math.h>
#include <stdlib.h>

#include "../runtime/runtime.h"
#include "slm/features.h"

/* The Slaney (Auditory Toolbox) scale: linear at 200/3 Hz a mel below 1 kHz, then
 * logarithmic with a step of ln(6.4)/27 a mel. Constants as librosa writes them, so that
 * the double results round the same way. */
#define SLANEY_F_SP (200.0 / 3)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL ((SLANEY_MIN_LOG_HZ - 0.0) / SLANEY_F_SP)
#define SLANEY_LOGSTEP (log(6.4) / 27.0)

static inline double pos_part(double x) { return x > 0.0 ? x : 0.0; }

double slm_hz_to_mel(double hz, int htk) {
    if (htk) return 2595.0 * log10(1.0 + hz / 700.0);
    if (hz >= SLANEY_MIN_LOG_HZ) return SLANEY_MIN_LOG_MEL + log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
    return (hz - 0.0) / SLANEY_F_SP;
}

double slm_mel_to_hz(double mel, int htk) {
    if (htk) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    if (mel >= SLANEY_MIN_LOG_MEL) return SLANEY_MIN_LOG_HZ * exp(SLANEY_LOGSTEP * (mel - SLANEY_MIN_LOG_MEL));
    return 0.0 + SLANEY_F_SP * mel;
}

/* pts (M + 2) = mel_to_hz(linspace(hz_to_mel(fmin), hz_to_mel(fmax), M + 2)), with
 * numpy's linspace arithmetic (i * step + start, the last point exactly stop) */
static void mel_points(double *pts, int64_t n, double fmin, double fmax, int htk) {
    double m0 = slm_hz_to_mel(fmin, htk), m1 = slm_hz_to_mel(fmax, htk);
    double step = (m1 - m0) / (double)(n - 1);
    for (int64_t i = 0; i < n; i++) {
        double m = (i == n - 1) ? m1 : (double)i * step + m0;
        pts[i] = slm_mel_to_hz(m, htk);
    }
}

/* Shared checks of both constructions; rate is the sample rate, top the highest
 * frequency the bins reach. */
static slm_status check_bank(const char *fn, double rate, int64_t n_bins, int64_t n_mels,
                             double fmin, double fmax) {
    SLM_CHECK(isfinite(rate) && rate > 0, fn, "sample rate must be > 0, got %g", rate);
    SLM_CHECK(n_bins >= 1, fn, "the number of frequency bins must be >= 1, got %lld", (long long)n_bins);
    SLM_CHECK(n_mels >= 1, fn, "n_mels must be >= 1, got %lld", (long long)n_mels);
    SLM_CHECK(isfinite(fmin) && fmin >= 0, fn, "fmin must be >= 0, got %g", fmin);
    SLM_CHECK(isfinite(fmax) && fmax > fmin, fn, "fmax (%g) must be > fmin (%g)", fmax, fmin);
    /* The references accept fmax above Nyquist and silently build triangles no bin
     * reaches; that is always a mistake in a configuration, so it is refused here. */
    SLM_CHECK(fmax <= 0.5 * rate * (1.0 + 1e-12), fn, "fmax (%g) exceeds the Nyquist frequency sr/2 = %g", fmax,
              0.5 * rate);
    return SLM_OK;
}

/* out (M, F) = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=M, fmin, fmax, htk, norm) */
slm_status slm_mel_filterbank(float *out, double sr, int64_t n_fft, int64_t n_mels, double fmin,
                              double fmax, int htk, int slaney_norm, int64_t *n_empty) {
    static const char fn[] = "mel_filterbank";
    if (fmax < 0) fmax = 0.5 * sr;
    SLM_CHECK(n_fft >= 1, fn, "n_fft must be >= 1, got %lld", (long long)n_fft);
    SLM_TRY(check_bank(fn, sr, n_fft / 2 + 1, n_mels, fmin, fmax));
    int64_t F = n_fft / 2 + 1, np = n_mels + 2, nel;
    SLM_TRY(slm_numel(fn, &nel, 2, n_mels, F));
    double *pts = slm_alloc(sizeof(double) * (size_t)np);
    if (!pts) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate %lld mel points", (long long)np);
    mel_points(pts, np, fmin, fmax, htk);
    /* np.fft.rfftfreq: k * (1 / (n * (1 / sr))) */
    double df = 1.0 / ((double)n_fft * (1.0 / sr));
    int64_t empty = 0;
    for (int64_t m = 0; m < n_mels; m++) {
        double lo = pts[m], c = pts[m + 1], hi = pts[m + 2];
        double d0 = c - lo, d1 = hi - c, enorm = 2.0 / (hi - lo);
        float *row = out + m * F;
        float wmax = 0;
        for (int64_t k = 0; k < F; k++) {
            double f = (double)k * df;
            double lower = -(lo - f) / d0, upper = (hi - f) / d1;
            double w = pos_part(lower < upper ? lower : upper);
            float w32 = (float)w;
            /* librosa scales the float32 weights by the float64 enorm in place */
            if (slaney_norm) w32 = (float)((double)w32 * enorm);
            row[k] = w32;
            if (w32 > wmax) wmax = w32;
        }
        if (wmax <= 0 && lo != 0.0) empty++;
    }
    slm_free(pts);
    if (n_empty) *n_empty = empty;
    return SLM_OK;
}

/* out (F, M) = torchaudio.functional.melscale_fbanks(F, f_min, f_max, M, sample_rate,
 * norm, mel_scale) */
slm_status slm_melscale_fbanks(float *out, int64_t n_freqs, double f_min, double f_max,
                               int64_t n_mels, double sample_rate, int slaney_norm, int htk,
                               int64_t *n_empty) {
    static const char fn[] = "melscale_fbanks";
    SLM_TRY(check_bank(fn, sample_rate, n_freqs, n_mels, f_min, f_max));
    int64_t np = n_mels + 2, nel;
    SLM_TRY(slm_numel(fn, &nel, 2, n_mels, n_freqs));
    double *pts = slm_alloc(sizeof(double) * (size_t)np);
    if (!pts) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate %lld mel points", (long long)np);
    mel_points(pts, np, f_min, f_max, htk);
    /* torch.linspace(0, sample_rate // 2, n_freqs): the first half counts up from 0, the
     * second half down from the end, as torch does */
    double top = floor(sample_rate / 2), step = n_freqs > 1 ? top / (double)(n_freqs - 1) : 0.0;
    int64_t half = n_freqs / 2;
    for (int64_t k = 0; k < n_freqs; k++) {
        double f = k < half ? (double)k * step : top - (double)(n_freqs - 1 - k) * step;
        for (int64_t m = 0; m < n_mels; m++) {
            double lo = pts[m], c = pts[m + 1], hi = pts[m + 2];
            double down = (-1.0 * (lo - f)) / (c - lo), up = (hi - f) / (hi - c);
            double w = pos_part(down < up ? down : up);
            if (slaney_norm) w *= 2.0 / (hi - lo);
            out[k * n_mels + m] = (float)w;
        }
    }
    int64_t empty = 0;
    for (int64_t m = 0; m < n_mels; m++) {
        float wmax = 0;
        for (int64_t k = 0; k < n_freqs; k++)
            if (out[k * n_mels + m] > wmax) wmax = out[k * n_mels + m];
        if (wmax == 0) empty++;
    }
    slm_free(pts);
    if (n_empty) *n_empty = empty;
    return SLM_OK;
}

/* out (Q, M) = DCT-II matrix, see features.h */
slm_status slm_dct_matrix(float *out, int64_t Q, int64_t M, int ortho) {
    static const char fn[] = "dct_matrix";
    SLM_CHECK(M >= 1 && Q >= 1, fn, "n_mfcc (%lld) and n_mels (%lld) must be >= 1", (long long)Q, (long long)M);
    SLM_CHECK(Q <= M, fn, "cannot select more MFCC coefficients (%lld) than mel bins (%lld)", (long long)Q,
              (long long)M);
    int64_t nel;
    SLM_TRY(slm_numel(fn, &nel, 2, Q, M));
    for (int64_t q = 0; q < Q; q++) {
        double s = ortho ? sqrt((q == 0 ? 1.0 : 2.0) / (double)M) : 2.0;
        for (int64_t m = 0; m < M; m++) out[q * M + m] = (float)(s * cos(M_PI / (double)M * ((double)m + 0.5) * (double)q));
    }
    return SLM_OK;
}
