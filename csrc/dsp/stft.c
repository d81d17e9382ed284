/* stft.c: STFT, spectrogram and iSTFT with torch.stft / torch.istft semantics.
 *
 * The STFT never copies frames: the (padded) signal is read in place by the FFT's pack
 * step with row stride = hop, the window is applied while packing, and the FFT writes
 * the (freq, frames) layout torch returns (or |X|^2, |X| for the spectrogram, fused in
 * the same pass). The iSTFT runs the inverse FFT over all frames, then overlap-adds with
 * the window and divides by the overlap-added squared window (torch's NOLA check).
 * Threads: frame blocks x batch for the FFTs, batch rows for the overlap-add.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../runtime/runtime.h"
#include "spectral.h"

#define STFT_BLOCK 64 /* frames per task */

slm_status slm_stft_frames(int64_t *T, int64_t L, int64_t n_fft, int64_t hop, int center) {
    static const char fn[] = "slm_stft";
    SLM_CHECK(n_fft >= 1, fn, "n_fft must be >= 1, got %lld", (long long)n_fft);
    SLM_CHECK(hop >= 1, fn, "hop_length must be >= 1, got %lld", (long long)hop);
    SLM_CHECK(L >= 1, fn, "input length must be >= 1, got %lld", (long long)L);
    int64_t Lp = center ? L + 2 * (n_fft / 2) : L;
    SLM_CHECK(n_fft <= Lp, fn, "n_fft = %lld must be <= the %s input length %lld", (long long)n_fft,
              center ? "padded" : "(unpadded, center=False)", (long long)Lp);
    *T = 1 + (Lp - n_fft) / hop;
    return SLM_OK;
}

slm_status slm_stft_window_full(float **wf, const float *window, int64_t win_length, int64_t n_fft,
                                const char *fn) {
    *wf = slm_alloc(sizeof(float) * (size_t)n_fft);
    if (!*wf) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the window");
    memset(*wf, 0, sizeof(float) * (size_t)n_fft);
    int64_t left = (n_fft - win_length) / 2;
    for (int64_t i = 0; i < win_length; i++) (*wf)[left + i] = window ? window[i] : 1.f;
    return SLM_OK;
}

/* index into x (length L) of padded position j - pad under the mode; -1 for zero */
static inline int64_t pad_index(int64_t j, int64_t L, slm_pad_mode m) {
    if (j >= 0 && j < L) return j;
    switch (m) {
    case SLM_PAD_REFLECT: return j < 0 ? -j : 2 * (L - 1) - j;
    case SLM_PAD_REPLICATE: return j < 0 ? 0 : L - 1;
    case SLM_PAD_CIRCULAR: return ((j % L) + L) % L;
    default: return -1;
    }
}

static int task_threads(int64_t tasks, int64_t work) {
    if (omp_in_parallel()) return 1;
    int nt = slm_threads();
    if (tasks < nt) nt = (int)tasks;
    if (tasks * work < (1 << 15)) nt = 1;
    return nt < 1 ? 1 : nt;
}

slm_status slm_stft_run(const slm_rfft_plan *p, float *out, const float *x, int64_t B, int64_t L,
                        int64_t hop, const float *win, int center, slm_pad_mode pad, int onesided,
                        slm_spec_mode mode, float scale, int64_t T, const char *fn) {
    const int64_t n = slm_rfft_plan_n(p), nb = n / 2 + 1, F = onesided ? nb : n;
    const int64_t c = mode == SLM_SPEC_COMPLEX ? 2 : 1, ors = c, oks = c * T;
    const int64_t half = center ? n / 2 : 0, Lp = L + 2 * half;
    float *xp = NULL;
    if (center) {
        int64_t tot;
        SLM_TRY(slm_numel(fn, &tot, 2, B, Lp));
        xp = slm_alloc(sizeof(float) * (size_t)tot);
        if (!xp) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the padded signal (%lld floats)", (long long)tot);
        for (int64_t b = 0; b < B; b++) {
            const float *xb = x + b * L;
            float *d = xp + b * Lp;
            for (int64_t j = 0; j < half; j++) {
                int64_t s = pad_index(j - half, L, pad);
                d[j] = s < 0 ? 0.f : xb[s];
                int64_t s2 = pad_index(L + j, L, pad);
                d[half + L + j] = s2 < 0 ? 0.f : xb[s2];
            }
            memcpy(d + half, xb, sizeof(float) * (size_t)L);
        }
    }
    const float *src = center ? xp : x;
    const int64_t blocks = (T + STFT_BLOCK - 1) / STFT_BLOCK, tasks = B * blocks;
    const int64_t scr_n = slm_rfft_scratch_floats(p);
    int nt = task_threads(tasks, STFT_BLOCK * n);
    float *scr = slm_alloc(sizeof(float) * (size_t)scr_n * (size_t)nt);
    if (!scr) {
        slm_free(xp);
        return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT scratch");
    }
    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        float *s = scr + (int64_t)omp_get_thread_num() * scr_n;
#pragma omp for schedule(static)
        for (int64_t tk = 0; tk < tasks; tk++) {
            if (stop || slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t b = tk / blocks, t0 = (tk % blocks) * STFT_BLOCK;
            int64_t nf = T - t0 < STFT_BLOCK ? T - t0 : STFT_BLOCK;
            float *ob = out + b * F * T * c;
            slm_rfft_frames(p, ob + t0 * ors, ors, oks, src + b * Lp + t0 * hop, hop, win, nf,
                            (slm_rfft_mode)mode, scale, s);
            /* two-sided: the upper bins of a real signal's DFT are conjugates */
            for (int64_t k = nb; k < F; k++)
                for (int64_t t = t0; t < t0 + nf; t++) {
                    const float *sv = ob + (n - k) * oks + t * ors;
                    float *dv = ob + k * oks + t * ors;
                    dv[0] = sv[0];
                    if (c == 2) dv[1] = -sv[1];
                }
        }
    }
    slm_free(scr);
    slm_free(xp);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

static slm_status check_window(const char *fn, int64_t n_fft, int64_t win_length) {
    SLM_CHECK(win_length >= 1 && win_length <= n_fft, fn, "win_length must be in [1, n_fft = %lld], got %lld",
              (long long)n_fft, (long long)win_length);
    return SLM_OK;
}

slm_status slm_stft_f32(float *out, const float *x, int64_t B, int64_t L, int64_t n_fft, int64_t hop,
                        const float *window, int64_t win_length, int center, slm_pad_mode pad_mode,
                        int normalized, int onesided, slm_spec_mode mode) {
    static const char fn[] = "slm_stft";
    SLM_CHECK(B >= 0, fn, "batch must be >= 0, got %lld", (long long)B);
    SLM_CHECK(pad_mode >= SLM_PAD_ZEROS && pad_mode <= SLM_PAD_CIRCULAR, fn, "unknown pad_mode %d", (int)pad_mode);
    SLM_CHECK(mode >= SLM_SPEC_COMPLEX && mode <= SLM_SPEC_MAGNITUDE, fn, "unknown mode %d", (int)mode);
    int64_t T = 0;
    SLM_TRY(slm_stft_frames(&T, L, n_fft, hop, center));
    SLM_TRY(check_window(fn, n_fft, win_length));
    if (center && pad_mode == SLM_PAD_REFLECT)
        SLM_CHECK(n_fft / 2 < L, fn, "reflect padding of %lld needs an input longer than that, got length %lld",
                  (long long)(n_fft / 2), (long long)L);
    if (center && pad_mode == SLM_PAD_CIRCULAR)
        SLM_CHECK(n_fft / 2 <= L, fn, "circular padding of %lld needs at least that many samples, got %lld",
                  (long long)(n_fft / 2), (long long)L);
    int64_t tot;
    SLM_TRY(slm_numel(fn, &tot, 4, B, onesided ? n_fft / 2 + 1 : n_fft, T, (int64_t)2));
    SLM_TRY(slm_numel(fn, &tot, 2, B, L + n_fft));
    if (B == 0) return SLM_OK;
    SLM_CHECK(out && x, fn, "out or x is NULL");
    slm_rfft_plan *p = NULL;
    float *wf = NULL;
    slm_status st = slm_rfft_plan_new(&p, n_fft);
    if (!st) st = slm_stft_window_full(&wf, window, win_length, n_fft, fn);
    if (!st)
        st = slm_stft_run(p, out, x, B, L, hop, wf, center, pad_mode, onesided, mode,
                          normalized ? (float)(1.0 / sqrt((double)n_fft)) : 1.f, T, fn);
    slm_free(wf);
    slm_rfft_plan_free(p);
    return st;
}

slm_status slm_istft_length(int64_t *Lout, int64_t T, int64_t n_fft, int64_t hop, int center, int64_t length) {
    static const char fn[] = "slm_istft";
    SLM_CHECK(n_fft >= 1, fn, "n_fft must be >= 1, got %lld", (long long)n_fft);
    SLM_CHECK(hop >= 1, fn, "hop_length must be >= 1, got %lld", (long long)hop);
    SLM_CHECK(T >= 1, fn, "the spectrogram must have at least 1 frame, got %lld", (long long)T);
    int64_t full;
    SLM_TRY(slm_numel(fn, &full, 2, hop, T - 1));
    full += n_fft;
    if (length >= 0) {
        *Lout = length;
    } else {
        *Lout = center ? full - 2 * (n_fft / 2) : full;
        SLM_CHECK(*Lout >= 0, fn, "no output samples for %lld frames", (long long)T);
    }
    return SLM_OK;
}

slm_status slm_istft_run(const slm_rfft_plan *p, float *out, const float *X, int64_t B, int64_t T,
                         int64_t hop, const float *win, int center, float scale, int64_t Lout,
                         const char *fn) {
    const int64_t n = slm_rfft_plan_n(p), nb = n / 2 + 1;
    const int64_t start = center ? n / 2 : 0, full = n + hop * (T - 1);
    const int64_t span = full - start < Lout ? (full - start > 0 ? full - start : 0) : Lout;
    /* window envelope over the output span, and torch's NOLA check */
    float *wss = slm_alloc(sizeof(float) * (size_t)(span + 1));
    if (!wss) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the window envelope");
    memset(wss, 0, sizeof(float) * (size_t)(span + 1));
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < n; j++) {
            int64_t i = t * hop + j - start;
            if (i >= 0 && i < span) wss[i] += win[j] * win[j];
        }
    for (int64_t i = 0; i < span; i++)
        if (fabsf(wss[i]) < 1e-11f) {
            float bad = wss[i];
            slm_free(wss);
            return slm_error(SLM_ERR_VALUE, fn,
                             "window overlap-add envelope is %g < 1e-11 at output sample %lld: the window "
                             "and hop_length violate NOLA (torch.istft rejects this too)",
                             (double)bad, (long long)i);
        }
    int64_t tot;
    slm_status st = slm_numel(fn, &tot, 3, B, T, n);
    float *fr = st ? NULL : slm_alloc(sizeof(float) * (size_t)tot);
    if (!fr) {
        slm_free(wss);
        return st ? st : slm_error(SLM_ERR_NOMEM, fn, "cannot allocate %lld frame samples", (long long)tot);
    }
    const int64_t blocks = (T + STFT_BLOCK - 1) / STFT_BLOCK, tasks = B * blocks;
    const int64_t scr_n = slm_rfft_scratch_floats(p);
    int nt = task_threads(tasks, STFT_BLOCK * n);
    float *scr = slm_alloc(sizeof(float) * (size_t)scr_n * (size_t)nt);
    if (!scr) {
        slm_free(fr);
        slm_free(wss);
        return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT scratch");
    }
    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        float *s = scr + (int64_t)omp_get_thread_num() * scr_n;
#pragma omp for schedule(static)
        for (int64_t tk = 0; tk < tasks; tk++) {
            if (stop || slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t b = tk / blocks, t0 = (tk % blocks) * STFT_BLOCK;
            int64_t nf = T - t0 < STFT_BLOCK ? T - t0 : STFT_BLOCK;
            slm_irfft_frames(p, fr + (b * T + t0) * n, n, X + b * nb * T * 2 + t0 * 2, 2, 2 * T, nf, scale, s);
        }
    }
    slm_free(scr);
    if (!stop) {
        int nb_t = task_threads(B, full);
#pragma omp parallel for num_threads(nb_t) schedule(static)
        for (int64_t b = 0; b < B; b++) {
            float *y = out + b * Lout;
            memset(y, 0, sizeof(float) * (size_t)Lout);
            const float *fb = fr + b * T * n;
            for (int64_t t = 0; t < T; t++) {
                int64_t o = t * hop - start, j0 = o < 0 ? -o : 0, j1 = span - o < n ? span - o : n;
                const float *f = fb + t * n;
                for (int64_t j = j0; j < j1; j++) y[o + j] += f[j] * win[j];
            }
            for (int64_t i = 0; i < span; i++) y[i] /= wss[i];
        }
    }
    slm_free(fr);
    slm_free(wss);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_istft_f32(float *out, const float *X, int64_t B, int64_t T, int64_t n_fft, int64_t hop,
                         const float *window, int64_t win_length, int center, int normalized,
                         int64_t length) {
    static const char fn[] = "slm_istft";
    SLM_CHECK(B >= 0, fn, "batch must be >= 0, got %lld", (long long)B);
    int64_t Lout = 0, tot;
    SLM_TRY(slm_istft_length(&Lout, T, n_fft, hop, center, length));
    SLM_TRY(check_window(fn, n_fft, win_length));
    SLM_TRY(slm_numel(fn, &tot, 3, B, T, n_fft + 2));
    SLM_TRY(slm_numel(fn, &tot, 2, B, Lout + 1));
    if (B == 0) return SLM_OK;
    SLM_CHECK(out && X, fn, "out or X is NULL");
    slm_rfft_plan *p = NULL;
    float *wf = NULL;
    slm_status st = slm_rfft_plan_new(&p, n_fft);
    if (!st) st = slm_stft_window_full(&wf, window, win_length, n_fft, fn);
    if (!st)
        st = slm_istft_run(p, out, X, B, T, hop, wf, center, normalized ? (float)sqrt((double)n_fft) : 1.f, Lout, fn);
    slm_free(wf);
    slm_rfft_plan_free(p);
    return st;
}
