/* f0.c: YIN pitch estimation (librosa.yin semantics) and the frame machinery that pYIN
 * (f0_pyin.c) shares: parameter checks, framing with numpy.pad's edge modes, the
 * cumulative-mean-normalised difference, parabolic refinement and troughs.
 *
 * Flow per frame (frames are independent: one OpenMP loop over channels x frames):
 *   x = frame t of the padded signal (centred on sample t * hop when center)
 *   d(k) = sum_j (x_j - x_{j+k})^2, k = 1 .. maxP (per-path kernel; librosa's d(1)
 *          has an extra x_0^2, kept, see slm_f0_cmnd)
 *   cmnd(k) = d(k) / (mean(d(1..k)) + FLT_MIN), k = minP .. maxP
 *   lag = first trough with cmnd < threshold, else the global minimum
 *   f0 = sr / (lag + parabolic shift)
 * The normalised difference and every decision on it are float64, as in librosa (its
 * difference function is float32 but the normalisation promotes to float64). Our
 * difference function is summed more accurately (see simd/f0.c): the one deliberate
 * difference.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "f0_impl.h"

slm_f0_params slm_f0_default_params(void) {
    slm_f0_params p;
    memset(&p, 0, sizeof p);
    p.sr = 22050.0;
    p.fmin = 65.40639132514966; /* librosa.note_to_hz('C2') */
    p.fmax = 2093.004522404789; /* librosa.note_to_hz('C7') */
    p.frame_length = 2048;
    p.hop_length = 0;
    p.center = 1;
    p.pad_mode = SLM_F0_PAD_CONSTANT;
    p.trough_threshold = 0.1;
    p.n_thresholds = 100;
    p.beta_a = 2.0;
    p.beta_b = 18.0;
    p.boltzmann_parameter = 2.0;
    p.resolution = 0.1;
    p.max_transition_rate = 35.92;
    p.switch_prob = 0.01;
    p.no_trough_prob = 0.01;
    p.fill_unvoiced = 1;
    p.fill_value = NAN;
    return p;
}

static const slm_f0_diff_fn diff_fns_[] = {
    slm_f0_diff_ref,
#ifdef SLM_BUILD_AVX2
    slm_f0_diff_avx2,
#else
    slm_f0_diff_ref,
#endif
#ifdef SLM_BUILD_AVX512
    slm_f0_diff_avx512,
#else
    slm_f0_diff_ref,
#endif
};
static const slm_f0_band_fn band_fns_[] = {
    slm_f0_band_ref,
#ifdef SLM_BUILD_AVX2
    slm_f0_band_avx2,
#else
    slm_f0_band_ref,
#endif
#ifdef SLM_BUILD_AVX512
    slm_f0_band_avx512,
#else
    slm_f0_band_ref,
#endif
};

slm_status slm_f0_setup(slm_f0_geom *g, const char *fn, const slm_f0_params *p, int64_t L) {
    if (!p) return slm_error(SLM_ERR_VALUE, fn, "params is NULL");
    const double sr = p->sr, fmin = p->fmin, fmax = p->fmax;
    SLM_CHECK(isfinite(sr) && sr > 0, fn, "sr=%g must be finite and > 0", sr);
    SLM_CHECK(isfinite(fmin) && isfinite(fmax), fn, "fmin=%g and fmax=%g must be finite", fmin, fmax);
    /* librosa's checks, in its order */
    SLM_CHECK(fmax <= sr / 2, fn, "fmax=%.3f cannot exceed the Nyquist frequency %g", fmax, sr / 2);
    SLM_CHECK(fmin < fmax, fn, "fmin=%.3f must be less than fmax=%.3f", fmin, fmax);
    SLM_CHECK(fmin > 0, fn, "fmin=%.3f must be strictly positive", fmin);
    const int64_t N = p->frame_length;
    SLM_CHECK(N >= 3 && N <= ((int64_t)1 << 40), fn, "frame_length=%lld must be in [3, 2^40]",
              (long long)N);
    SLM_CHECK(sr / fmin < (double)(N - 1), fn,
              "fmin=%.3f is too small for frame_length=%lld and sr=%g: raise fmin to more than "
              "%.3f or frame_length to at least %lld",
              fmin, (long long)N, sr, sr / (double)(N - 1), (long long)ceil(sr / fmin) + 2);
    int64_t hop = p->hop_length;
    SLM_CHECK(hop >= 0, fn, "hop_length=%lld must be > 0 (or 0 for frame_length / 4)", (long long)hop);
    if (hop == 0) hop = N / 4;
    SLM_CHECK(hop >= 1, fn, "hop_length=%lld must be > 0 (frame_length=%lld is too short for the "
              "default frame_length / 4)", (long long)hop, (long long)N);
    SLM_CHECK(p->center == 0 || p->center == 1, fn, "center=%d must be 0 or 1", p->center);
    SLM_CHECK(p->pad_mode >= SLM_F0_PAD_CONSTANT && p->pad_mode <= SLM_F0_PAD_WRAP, fn,
              "pad_mode=%d is not a slm_f0_pad value", (int)p->pad_mode);
    SLM_CHECK(!isnan(p->trough_threshold), fn, "trough_threshold is NaN");
    g->N = N;
    g->hop = hop;
    g->pad = p->center ? N / 2 : 0;
    g->minP = (int64_t)floor(sr / fmax);
    const int64_t cp = (int64_t)ceil(sr / fmin);
    g->maxP = cp < N - 1 ? cp : N - 1;
    g->K = g->maxP - g->minP + 1;
    /* fmax <= sr/2 gives minP >= 2; fmin < fmax gives maxP >= minP + 1 */
    if (g->minP < 1 || g->K < 2)
        return slm_error(SLM_ERR_INTERNAL, fn, "lag range [%lld, %lld] too small", (long long)g->minP,
                         (long long)g->maxP);
    g->xlen = N + g->maxP + SLM_F0_LAG_SLACK;
    g->T = 0;
    if (L >= 0) {
        SLM_CHECK(L > 0, fn, "y is empty (0 samples)");
        const int64_t Lp = L + 2 * g->pad;
        SLM_CHECK(Lp >= N, fn,
                  "y has %lld samples, fewer than frame_length=%lld (center=False: use center=True "
                  "or a shorter frame)", (long long)L, (long long)N);
        g->T = 1 + (Lp - N) / hop;
    }
    const slm_path path = slm_family_path(SLM_FAMILY_DSP);
    const int pi = path == SLM_PATH_AVX512 ? 2 : path == SLM_PATH_AVX2 ? 1 : 0;
    g->diff = diff_fns_[pi];
    g->band = band_fns_[pi];
    return SLM_OK;
}

slm_status slm_f0_check_finite(const char *fn, const float *y, int64_t B, int64_t L) {
    int64_t n;
    SLM_TRY(slm_numel(fn, &n, 2, B, L));
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            return slm_error(SLM_ERR_VALUE, fn, "y is not finite (%g at channel %lld, sample %lld)",
                             (double)y[i], (long long)(i / L), (long long)(i % L));
    }
    return SLM_OK;
}

/* index into y (L) of padded position i < 0 or >= L, as numpy.pad's modes extend;
 * -1 for zero */
static int64_t pad_index(int64_t i, int64_t L, slm_f0_pad mode) {
    int64_t per, m;
    switch (mode) {
    case SLM_F0_PAD_EDGE: return i < 0 ? 0 : L - 1;
    case SLM_F0_PAD_WRAP: m = i % L; return m < 0 ? m + L : m;
    case SLM_F0_PAD_REFLECT:
        if (L == 1) return 0;
        per = 2 * (L - 1);
        m = i % per;
        if (m < 0) m += per;
        return m < L ? m : per - m;
    case SLM_F0_PAD_SYMMETRIC:
        per = 2 * L;
        m = i % per;
        if (m < 0) m += per;
        return m < L ? m : per - 1 - m;
    default: return -1;
    }
}

void slm_f0_frame(float *x, const float *y, int64_t L, int64_t t, const slm_f0_geom *g,
                  slm_f0_pad mode) {
    const int64_t N = g->N, s = t * g->hop - g->pad;
    if (s >= 0 && s + N <= L) {
        memcpy(x, y + s, (size_t)N * sizeof(float));
    } else {
        for (int64_t j = 0; j < N; j++) {
            const int64_t i = s + j;
            int64_t k = (i >= 0 && i < L) ? i : pad_index(i, L, mode);
            x[j] = k < 0 ? 0.0f : y[k];
        }
    }
    memset(x + N, 0, (size_t)(g->xlen - N) * sizeof(float));
}

void slm_f0_cmnd(double *cmnd, double *d, const float *x, const slm_f0_geom *g) {
    g->diff(d, x, g->N, g->maxP);
    /* librosa zeroes the running energy's first entry (`yin_frames[..., 0, :] = 0`)
     * before it subtracts sum_{j<k} x_j^2 from lag k, so its d(1) misses that
     * subtraction and carries an extra x_0^2: keep that (it enters every cumulative
     * mean). Then d(k) / (sum_{i<=k} d(i) / k + tiny(float64)): librosa's d is float32
     * but the division promotes to float64 (float32 / int64 array), so its cmnd and
     * every decision on it are float64; ours are too. */
    d[1] += (double)x[0] * (double)x[0];
    double cs = 0.0;
    for (int64_t k = 1; k <= g->maxP; k++) {
        cs += d[k];
        if (k >= g->minP) cmnd[k - g->minP] = d[k] / (cs / (double)k + DBL_MIN);
    }
}

double slm_f0_pairwise_sum(const double *a, int64_t n) {
    if (n < 8) {
        double r = 0.0;
        for (int64_t i = 0; i < n; i++) r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; k++) r[k] = a[k];
        int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return slm_f0_pairwise_sum(a, n2) + slm_f0_pairwise_sum(a + n2, n - n2);
}

slm_status slm_f0_n_frames(int64_t *T, int64_t L, const slm_f0_params *p) {
    static const char fn[] = "f0_n_frames";
    slm_f0_geom g;
    SLM_CHECK(T != NULL, fn, "T is NULL");
    SLM_CHECK(L >= 0, fn, "L=%lld must be >= 0", (long long)L);
    SLM_TRY(slm_f0_setup(&g, fn, p, L));
    *T = g.T;
    return SLM_OK;
}

slm_status slm_yin_n_lags(int64_t *K, const slm_f0_params *p) {
    static const char fn[] = "yin_n_lags";
    slm_f0_geom g;
    SLM_CHECK(K != NULL, fn, "K is NULL");
    SLM_TRY(slm_f0_setup(&g, fn, p, -1));
    *K = g.K;
    return SLM_OK;
}

/* per-thread scratch of one frame: x (xlen floats), d (maxP + 1 + slack doubles),
 * cmnd (K doubles) */
static size_t frame_scratch_bytes(const slm_f0_geom *g) {
    return slm_arena_need((size_t)g->xlen * sizeof(float)) +
           slm_arena_need((size_t)(g->maxP + 1 + SLM_F0_LAG_SLACK) * sizeof(double)) +
           slm_arena_need((size_t)g->K * sizeof(double));
}

/* common front of yin and yin_cmnd: checks, sizes, scratch for nt threads */
static slm_status yin_begin(slm_f0_geom *g, slm_arena *ar, int *nt, const char *fn, const float *y,
                            int64_t B, int64_t L, const slm_f0_params *p) {
    SLM_CHECK(y != NULL, fn, "y is NULL");
    SLM_CHECK(B >= 0 && L >= 0, fn, "negative size (B=%lld, L=%lld)", (long long)B, (long long)L);
    SLM_TRY(slm_f0_setup(g, fn, p, L));
    int64_t BT;
    SLM_TRY(slm_numel(fn, &BT, 2, B, g->T));
    SLM_TRY(slm_f0_check_finite(fn, y, B, L));
    *nt = slm_threads();
    if ((int64_t)*nt > BT) *nt = BT > 0 ? (int)BT : 1;
    const size_t per = frame_scratch_bytes(g);
    if (per > ((size_t)1 << 46) / (size_t)*nt)
        return slm_error(SLM_ERR_NOMEM, fn, "frame_length=%lld needs too much scratch memory",
                         (long long)g->N);
    return slm_arena_init(ar, per * (size_t)*nt, fn);
}

/* f0 (B, T), voiced (B, T) or NULL; cmnd_out (B, T, K) instead when non-NULL */
static slm_status yin_run(float *f0, uint8_t *voiced, float *cmnd_out, const char *fn, const float *y,
                          int64_t B, int64_t L, const slm_f0_params *p) {
    slm_f0_geom g;
    slm_arena ar;
    int nt = 1;
    SLM_TRY(yin_begin(&g, &ar, &nt, fn, y, B, L, p));
    const int64_t T = g.T, K = g.K, BT = B * T;
    const double thr = p->trough_threshold;
    const size_t per = frame_scratch_bytes(&g);
    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        char *base = ar.base + per * (size_t)tid;
        float *x = (float *)base;
        double *d = (double *)(base + slm_arena_need((size_t)g.xlen * sizeof(float)));
        double *c = (double *)((char *)d + slm_arena_need((size_t)(g.maxP + 1 + SLM_F0_LAG_SLACK) * sizeof(double)));
#pragma omp for schedule(dynamic, 4)
        for (int64_t bt = 0; bt < BT; bt++) {
            if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) continue;
            if (slm_interrupted()) {
                __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                continue;
            }
            const int64_t b = bt / T, t = bt % T;
            slm_f0_frame(x, y + b * L, L, t, &g, p->pad_mode);
            slm_f0_cmnd(c, d, x, &g);
            if (cmnd_out) {
                for (int64_t i = 0; i < K; i++) cmnd_out[bt * K + i] = (float)c[i];
                continue;
            }
            /* first trough under the threshold, else the global minimum (first index) */
            int64_t sel = -1;
            for (int64_t i = 0; i < K; i++) {
                if (c[i] < thr && slm_f0_is_trough(c, K, i)) {
                    sel = i;
                    break;
                }
            }
            if (voiced) voiced[bt] = sel >= 0;
            if (sel < 0) {
                sel = 0;
                for (int64_t i = 1; i < K; i++)
                    if (c[i] < c[sel]) sel = i;
            }
            /* librosa: min_period + index (int64) + shift (float64) */
            f0[bt] = (float)(p->sr / ((double)(g.minP + sel) + slm_f0_shift(c, K, sel)));
        }
    }
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_yin_f32(float *f0, uint8_t *voiced, const float *y, int64_t B, int64_t L,
                       const slm_f0_params *p) {
    SLM_CHECK(f0 != NULL, "yin", "f0 is NULL");
    return yin_run(f0, voiced, NULL, "yin", y, B, L, p);
}

slm_status slm_yin_cmnd_f32(float *cmnd, const float *y, int64_t B, int64_t L, const slm_f0_params *p) {
    SLM_CHECK(cmnd != NULL, "yin_cmnd", "cmnd is NULL");
    return yin_run(NULL, NULL, cmnd, "yin_cmnd", y, B, L, p);
}
