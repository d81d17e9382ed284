/* griffinlim.c: Griffin-Lim phase reconstruction (torchaudio.functional.griffinlim).
 *
 * Griffin & Lim (1984) with the "fast" momentum of Perraudin et al. (2013), in
 * torchaudio's exact order of operations: y = istft(|S| * angles), R = stft(y) (centred,
 * reflect, not normalized), A = R - m/(1+m) R_prev, angles = A / (|A| + 1e-16). The
 * STFT pair is stft.c's; the elementwise updates are plain C loops over threads (no
 * SIMD version: they are a small share of each iteration next to the two FFT passes).
 */
#include <math.h>
#include <string.h>

#include "../runtime/runtime.h"
#include "spectral.h"

/* splitmix64: a small, seedable stream (torch's Philox/MT stream is not reproduced) */
static inline uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

slm_status slm_griffin_lim_f32(float *out, const float *S, const float *init_phase, int64_t B,
                               int64_t T, int64_t n_fft, int64_t hop, const float *window,
                               int64_t win_length, double power, int64_t n_iter, double momentum,
                               int64_t length, int rand_init, uint64_t seed) {
    static const char fn[] = "slm_griffin_lim";
    SLM_CHECK(B >= 0, fn, "batch must be >= 0, got %lld", (long long)B);
    SLM_CHECK(isfinite(power) && power > 0, fn, "power must be finite and > 0, got %g", power);
    SLM_CHECK(momentum >= 0 && momentum < 1, fn, "momentum must be in [0, 1), got %g", momentum);
    SLM_CHECK(n_iter >= 0, fn, "n_iter must be >= 0, got %lld", (long long)n_iter);
    SLM_CHECK(win_length >= 1 && win_length <= n_fft, fn, "win_length must be in [1, n_fft = %lld], got %lld",
              (long long)n_fft, (long long)win_length);
    int64_t Lout = 0, T2 = 0, nel;
    SLM_TRY(slm_istft_length(&Lout, T, n_fft, hop, 1, length));
    SLM_CHECK(Lout > n_fft / 2, fn, "the signal (%lld samples) must be longer than n_fft/2 = %lld for reflect padding",
              (long long)Lout, (long long)(n_fft / 2));
    SLM_TRY(slm_stft_frames(&T2, Lout, n_fft, hop, 1));
    SLM_CHECK(T2 == T, fn, "length = %lld gives %lld STFT frames but the spectrogram has %lld", (long long)Lout,
              (long long)T2, (long long)T);
    const int64_t F = n_fft / 2 + 1;
    SLM_TRY(slm_numel(fn, &nel, 3, B, F, T));
    int64_t ybytes;
    SLM_TRY(slm_numel(fn, &ybytes, 3, B, Lout + 1, (int64_t)sizeof(float)));
    if (B == 0) return SLM_OK;
    SLM_CHECK(out && S, fn, "out or specgram is NULL");
    if (nel > ((int64_t)1 << 40)) return slm_error(SLM_ERR_NOMEM, fn, "spectrogram of %lld values is too large", (long long)nel);

    slm_rfft_plan *p = NULL;
    float *wf = NULL, *mag = NULL, *ang = NULL, *z = NULL, *prev = NULL;
    slm_status st = slm_rfft_plan_new(&p, n_fft);
    if (!st) st = slm_stft_window_full(&wf, window, win_length, n_fft, fn);
    if (st) goto done;
    mag = slm_alloc(sizeof(float) * (size_t)nel);
    ang = slm_alloc(sizeof(float) * 2 * (size_t)nel);
    z = slm_alloc(sizeof(float) * 2 * (size_t)nel);
    prev = slm_alloc(sizeof(float) * 2 * (size_t)nel);
    if (!mag || !ang || !z || !prev) {
        st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate Griffin-Lim buffers (%lld bins)", (long long)nel);
        goto done;
    }
    const int nt = slm_threads();
    const float ip = (float)(1.0 / power), m = (float)(momentum / (1.0 + momentum));
#pragma omp parallel for num_threads(nt) schedule(static) if (nel > 65536)
    for (int64_t i = 0; i < nel; i++) mag[i] = ip == 1.f ? S[i] : powf(S[i], ip);
    if (init_phase) {
        memcpy(ang, init_phase, sizeof(float) * 2 * (size_t)nel);
    } else if (rand_init) {
        uint64_t s = seed;
        for (int64_t i = 0; i < 2 * nel; i++) ang[i] = (float)(splitmix64(&s) >> 40) * (1.0f / 16777216.0f);
    } else {
        for (int64_t i = 0; i < nel; i++) ang[2 * i] = 1.f, ang[2 * i + 1] = 0.f;
    }
    for (int64_t it = 0; it <= n_iter; it++) {
        if (slm_interrupted()) {
            st = SLM_INTERRUPTED_ERROR(fn);
            goto done;
        }
#pragma omp parallel for num_threads(nt) schedule(static) if (nel > 65536)
        for (int64_t i = 0; i < nel; i++) {
            z[2 * i] = mag[i] * ang[2 * i];
            z[2 * i + 1] = mag[i] * ang[2 * i + 1];
        }
        st = slm_istft_run(p, out, z, B, T, hop, wf, 1, 1.f, Lout, fn);
        if (st || it == n_iter) goto done;
        st = slm_stft_run(p, z, out, B, Lout, hop, wf, 1, SLM_PAD_REFLECT, 1, SLM_SPEC_COMPLEX, 1.f, T, fn);
        if (st) goto done;
        const int first = it == 0;
#pragma omp parallel for num_threads(nt) schedule(static) if (nel > 65536)
        for (int64_t i = 0; i < nel; i++) {
            float ar = z[2 * i], ai = z[2 * i + 1];
            if (m != 0.f && !first) {
                ar -= m * prev[2 * i];
                ai -= m * prev[2 * i + 1];
            }
            float d = sqrtf(ar * ar + ai * ai) + 1e-16f;
            ang[2 * i] = ar / d;
            ang[2 * i + 1] = ai / d;
        }
        float *t = prev;
        prev = z;
        z = t;
    }
done:
    slm_free(prev);
    slm_free(z);
    slm_free(ang);
    slm_free(mag);
    slm_free(wf);
    slm_rfft_plan_free(p);
    return st;
}
