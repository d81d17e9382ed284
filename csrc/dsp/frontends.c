/* frontends.c: the feature front ends real checkpoints expect, each one fused call:
 * padding + framing + window, real FFT (csrc/dsp/spectral.h), power or magnitude, mel
 * projection (slm_sgemm), log and the post-processing of the reference (Whisper's
 * max - 8 range, top_db, DCT for MFCC); plus Kaldi fbank and wav2vec2-style waveform
 * normalisation. It sits between the FFT core and the Python API (slm.features).
 *
 * Work is split into jobs of up to FE_BLOCK frames of one signal; jobs run in one
 * OpenMP loop, each thread with its own frame/spectrum scratch carved from a single
 * allocation made before the parallel region. Inside the loop the FFT and GEMM run on
 * the calling thread (both detect the enclosing parallel region).
 *
 * Paths: the FFT and the GEMM dispatch on their own families; the log of every mel value
 * has AVX2/AVX-512 versions (csrc/kernels/simd/fe_simd.c) chosen by the DSP family's
 * path; the framing, window, |X|^2 and Kaldi's per-frame loops are scalar C on every
 * path (the compiler vectorises the simple ones).
 *
 * Shape legend: B signals, L samples, T frames, N = n_fft, F = N/2+1 bins, M mel bins,
 * Q cepstral coefficients, D fbank columns.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../kernels/gemm.h"
#include "../runtime/runtime.h"
#include "slm/features.h"
#include "fe_simd.h"
#include "spectral.h"

#define FE_BLOCK 32 /* frames per job: big enough for an efficient GEMM, small for balance */

/* ---- padding ------------------------------------------------------------------------ */

/* One padding stage over a signal of `inner` samples. */
typedef struct {
    int64_t left, right, inner;
    slm_fe_pad_mode mode;
} fe_pad;

static const char *pad_mode_name(slm_fe_pad_mode m) {
    switch (m) {
    case SLM_FE_PAD_CONSTANT: return "constant";
    case SLM_FE_PAD_REFLECT: return "reflect";
    case SLM_FE_PAD_REPLICATE: return "replicate";
    case SLM_FE_PAD_CIRCULAR: return "circular";
    case SLM_FE_PAD_SYMMETRIC: return "symmetric";
    }
    return "?";
}

/* The index into the unpadded signal of sample i of the padded one, or -1 for a zero.
 * Stages are applied innermost first; st[ns-1] is the outermost. Each stage was
 * validated so that one reflection suffices. */
static int64_t pad_map(int64_t i, const fe_pad *st, int ns) {
    for (int s = ns - 1; s >= 0; s--) {
        int64_t n = st[s].inner;
        i -= st[s].left;
        if (i >= 0 && i < n) continue;
        switch (st[s].mode) {
        case SLM_FE_PAD_CONSTANT: return -1;
        case SLM_FE_PAD_REFLECT: i = i < 0 ? -i : 2 * (n - 1) - i; break;
        case SLM_FE_PAD_REPLICATE: i = i < 0 ? 0 : n - 1; break;
        case SLM_FE_PAD_CIRCULAR: i = ((i % n) + n) % n; break;
        case SLM_FE_PAD_SYMMETRIC: i = i < 0 ? -i - 1 : 2 * n - 1 - i; break;
        }
    }
    return i;
}

/* check one stage: the references refuse reflect padding >= the signal length (torch:
 * "Padding size should be less than the corresponding input dimension") */
static slm_status pad_check(const char *fn, const char *what, const fe_pad *p) {
    int64_t mx = p->left > p->right ? p->left : p->right;
    SLM_CHECK(p->left >= 0 && p->right >= 0, fn, "%s padding must be >= 0, got (%lld, %lld)", what,
              (long long)p->left, (long long)p->right);
    if (mx == 0 || p->mode == SLM_FE_PAD_CONSTANT) return SLM_OK;
    SLM_CHECK(p->inner >= 1, fn, "%s %s padding of an empty signal", what, pad_mode_name(p->mode));
    if (p->mode == SLM_FE_PAD_REFLECT)
        SLM_CHECK(mx < p->inner, fn,
                  "%s reflect padding (%lld) must be less than the signal length (%lld): the signal is too short",
                  what, (long long)mx, (long long)p->inner);
    if (p->mode == SLM_FE_PAD_SYMMETRIC || p->mode == SLM_FE_PAD_CIRCULAR)
        SLM_CHECK(mx <= p->inner, fn, "%s %s padding (%lld) exceeds the signal length (%lld)", what,
                  pad_mode_name(p->mode), (long long)mx, (long long)p->inner);
    return SLM_OK;
}

/* dst (n) = padded samples [start, start + n) of x (L), through the stages */
static void gather(float *dst, const float *x, int64_t start, int64_t n, const fe_pad *st, int ns,
                   int64_t off) {
    /* off = total left padding: the interior is a plain copy */
    int64_t L = st[0].inner;
    if (start - off >= 0 && start - off + n <= L) {
        memcpy(dst, x + (start - off), sizeof(float) * (size_t)n);
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        int64_t i = pad_map(start + j, st, ns);
        dst[j] = i < 0 ? 0.0f : x[i];
    }
}

static slm_status check_finite(const char *fn, const char *arg, const float *x, int64_t n) {
    /* an exponent of all ones is Inf or NaN; the OR over a chunk vectorises, the exact
     * position is looked for only when a chunk has one */
    int64_t bad = -1;
    for (int64_t c = 0; c < n && bad < 0; c += 4096) {
        int64_t e = n - c < 4096 ? n - c : 4096;
        uint32_t any = 0;
        for (int64_t i = 0; i < e; i++) {
            uint32_t u;
            memcpy(&u, x + c + i, 4);
            any |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        }
        for (int64_t i = 0; any && i < e; i++)
            if (!isfinite(x[c + i])) {
                bad = c + i;
                break;
            }
    }
    if (bad >= 0) return slm_error(SLM_ERR_VALUE, fn, "%s contains %s at flat index %lld", arg,
                                   isnan(x[bad]) ? "NaN" : "Inf", (long long)bad);
    return SLM_OK;
}

/* ---- windows ------------------------------------------------------------------------ */

/* w (n) of a torch-style periodic window, computed in double */
static void make_window(float *w, slm_fe_window kind, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double a = 2.0 * M_PI * (double)i / (double)n, v = 1.0;
        switch (kind) {
        case SLM_FE_WINDOW_HANN: v = 0.5 - 0.5 * cos(a); break;
        case SLM_FE_WINDOW_HAMMING: v = 0.54 - 0.46 * cos(a); break;
        case SLM_FE_WINDOW_BLACKMAN: v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2.0 * a); break;
        case SLM_FE_WINDOW_RECT: v = 1.0; break;
        }
        w[i] = (float)v;
    }
}

/* ---- the mel spectrogram engine ----------------------------------------------------- */

slm_melspec_params slm_melspec_default_params(void) {
    slm_melspec_params p;
    memset(&p, 0, sizeof p);
    p.n_fft = 400;
    p.hop_length = 200;
    p.win_length = 400;
    p.window = SLM_FE_WINDOW_HANN;
    p.pad1_mode = SLM_FE_PAD_REFLECT;
    p.center = 1;
    p.center_mode = SLM_FE_PAD_REFLECT;
    p.spec_scale = 1.0;
    p.power = 2.0;
    p.log_kind = SLM_MELLOG_NONE;
    p.log_floor = 1e-10;
    p.db_mult = 10.0;
    p.db_ref = 1.0;
    p.top_db = -1.0;
    return p;
}

/* the three padding stages of p for a signal of L samples */
static void melspec_stages(fe_pad st[3], int64_t L, const slm_melspec_params *p) {
    st[0] = (fe_pad){p->pad0_left, p->pad0_right, L, SLM_FE_PAD_CONSTANT};
    st[1] = (fe_pad){p->pad1_left, p->pad1_right, L + p->pad0_left + p->pad0_right, p->pad1_mode};
    int64_t c = p->center ? p->n_fft / 2 : 0;
    st[2] = (fe_pad){c, c, st[1].inner + p->pad1_left + p->pad1_right, p->center_mode};
}

slm_status slm_melspec_frames(int64_t *T, int64_t L, const slm_melspec_params *p, const char *fn) {
    if (!fn) fn = "slm_melspec_f32";
    SLM_CHECK(p != NULL, fn, "params is NULL");
    SLM_CHECK(p->n_fft >= 1 && p->n_fft <= ((int64_t)1 << 30), fn, "n_fft must lie in [1, 2^30], got %lld",
              (long long)p->n_fft);
    SLM_CHECK(p->hop_length >= 1, fn, "hop_length must be >= 1, got %lld", (long long)p->hop_length);
    SLM_CHECK(p->win_length >= 1 && p->win_length <= p->n_fft, fn, "win_length must lie in [1, n_fft=%lld], got %lld",
              (long long)p->n_fft, (long long)p->win_length);
    SLM_CHECK(p->window >= SLM_FE_WINDOW_HANN && p->window <= SLM_FE_WINDOW_RECT, fn, "unknown window kind %d",
              (int)p->window);
    SLM_CHECK(p->pad1_mode >= SLM_FE_PAD_CONSTANT && p->pad1_mode <= SLM_FE_PAD_SYMMETRIC && p->center_mode >= SLM_FE_PAD_CONSTANT &&
                  p->center_mode <= SLM_FE_PAD_SYMMETRIC,
              fn, "unknown pad mode");
    SLM_CHECK(isfinite(p->power) && p->power > 0, fn, "power must be > 0, got %g", p->power);
    SLM_CHECK(isfinite(p->spec_scale) && isfinite(p->mag_eps) && p->mag_eps >= 0, fn, "bad spec_scale/mag_eps");
    SLM_CHECK(p->mel != NULL && p->n_mels >= 1, fn, "a mel filterbank with n_mels >= 1 is required");
    SLM_CHECK(p->log_kind >= SLM_MELLOG_NONE && p->log_kind <= SLM_MELLOG_DB, fn, "unknown log kind %d",
              (int)p->log_kind);
    if (p->log_kind == SLM_MELLOG_LN || p->log_kind == SLM_MELLOG_LOG10 || p->log_kind == SLM_MELLOG_DB)
        SLM_CHECK(isfinite(p->log_floor) && p->log_floor > 0, fn, "the log floor (amin/clamp) must be > 0, got %g",
                  p->log_floor);
    if (p->log_kind == SLM_MELLOG_LN_OFFSET)
        SLM_CHECK(isfinite(p->log_offset) && p->log_offset > 0, fn, "log offset must be > 0, got %g", p->log_offset);
    SLM_CHECK(!p->whisper_norm || p->log_kind == SLM_MELLOG_LOG10, fn, "whisper_norm needs the log10 log kind");
    SLM_CHECK(!(p->top_db >= 0) || isfinite(p->top_db), fn, "top_db must be finite, got %g", p->top_db);
    SLM_CHECK(p->dct == NULL || p->n_dct >= 1, fn, "n_dct must be >= 1 with a DCT matrix");
    SLM_CHECK(L >= 0, fn, "signal length must be >= 0, got %lld", (long long)L);
    SLM_CHECK(p->pad0_left >= 0 && p->pad0_right >= 0 && p->pad0_left <= ((int64_t)1 << 40) &&
                  p->pad0_right <= ((int64_t)1 << 40),
              fn, "padding must lie in [0, 2^40], got (%lld, %lld)", (long long)p->pad0_left,
              (long long)p->pad0_right);
    fe_pad st[3];
    melspec_stages(st, L, p);
    SLM_CHECK(L >= 1, fn, "the signal is empty");
    SLM_TRY(pad_check(fn, "the", &st[1]));
    SLM_TRY(pad_check(fn, "centre", &st[2]));
    int64_t Lp = st[2].inner + st[2].left + st[2].right;
    SLM_CHECK(Lp >= p->n_fft, fn, "the (padded) signal has %lld samples, fewer than n_fft = %lld", (long long)Lp,
              (long long)p->n_fft);
    int64_t t = 1 + (Lp - p->n_fft) / p->hop_length - (p->drop_last ? 1 : 0);
    SLM_CHECK(t >= 1, fn, "the signal (%lld samples) is too short for one frame", (long long)L);
    *T = t;
    return SLM_OK;
}

/* pw (F) from the FFT's power (or magnitude) output, for the powers it does not give
 * directly: HiFi-GAN's sqrt(|X|^2 + eps) and |X|^p */
static void finish_power(float *pw, int64_t F, double power, double eps) {
    if (power == 1.0) {
        float e = (float)eps;
        for (int64_t k = 0; k < F; k++) pw[k] = sqrtf(pw[k] + e);
    } else {
        for (int64_t k = 0; k < F; k++) pw[k] = (float)pow((double)pw[k], 0.5 * power);
    }
}

/* y = a ln(max(y, lo) + off) - sub with the path's SIMD loop; 0 if there is none */
static int simd_log(float *y, int64_t n, float a, float lo, float off, float sub, slm_path path) {
    if (!(lo + off >= FLT_MIN)) return 0; /* the vector log handles normal numbers only */
#ifdef SLM_BUILD_AVX512
    if (path == SLM_PATH_AVX512) {
        slm_fe_log_avx512(y, n, a, lo, off, sub);
        return 1;
    }
#endif
#ifdef SLM_BUILD_AVX2
    if (path == SLM_PATH_AVX2) {
        slm_fe_log_avx2(y, n, a, lo, off, sub);
        return 1;
    }
#endif
    (void)y, (void)n, (void)a, (void)lo, (void)off, (void)sub, (void)path;
    return 0;
}

/* y = log of x per p->log_kind, n values at stride 1; SIMD on the avx2/avx512 paths */
static void apply_log(float *y, int64_t n, const slm_melspec_params *p, slm_path path) {
    float fl = (float)p->log_floor;
    if (p->log_kind == SLM_MELLOG_NONE) return;
    float a = 1.0f, lo = fl, off = 0.0f, sub = 0.0f;
    switch (p->log_kind) {
    case SLM_MELLOG_LOG10: a = (float)(1.0 / M_LN10); break;
    case SLM_MELLOG_LN_OFFSET: lo = 0.0f, off = (float)p->log_offset; break;
    case SLM_MELLOG_DB:
        a = (float)(p->db_mult / M_LN10);
        sub = (float)(p->db_mult * log10(p->log_floor > p->db_ref ? p->log_floor : p->db_ref));
        break;
    default: break;
    }
    if (simd_log(y, n, a, lo, off, sub, path)) return;
    switch (p->log_kind) {
    case SLM_MELLOG_NONE: break;
    case SLM_MELLOG_LN:
        for (int64_t i = 0; i < n; i++) y[i] = logf(y[i] > fl ? y[i] : fl);
        break;
    case SLM_MELLOG_LOG10:
        for (int64_t i = 0; i < n; i++) y[i] = log10f(y[i] > fl ? y[i] : fl);
        break;
    case SLM_MELLOG_LN_OFFSET:
        for (int64_t i = 0; i < n; i++) y[i] = logf(y[i] + off);
        break;
    case SLM_MELLOG_DB: {
        float mult = (float)p->db_mult;
        for (int64_t i = 0; i < n; i++) y[i] = mult * log10f(y[i] > fl ? y[i] : fl) - sub;
        break;
    }
    }
}

slm_status slm_melspec_f32(float *out, const float *x, int64_t B, int64_t L,
                           const slm_melspec_params *p, const char *fn) {
    if (!fn) fn = "slm_melspec_f32";
    int64_t T, nel;
    SLM_CHECK(B >= 1, fn, "batch must be >= 1, got %lld", (long long)B);
    SLM_TRY(slm_melspec_frames(&T, L, p, fn));
    SLM_TRY(slm_numel(fn, &nel, 2, B, L));
    SLM_TRY(check_finite(fn, "the audio", x, nel));
    const int64_t N = p->n_fft, F = N / 2 + 1, M = p->n_mels, Q = p->dct ? p->n_dct : M;
    const int64_t W = p->win_length, woff = (N - W) / 2;
    int64_t group = p->top_db_group > 0 ? p->top_db_group : B;
    SLM_CHECK(B % group == 0, fn, "top_db group (%lld) must divide the batch (%lld)", (long long)group, (long long)B);
    int64_t outn;
    SLM_TRY(slm_numel(fn, &outn, 3, B, Q, T));
    int post_max = p->whisper_norm || p->top_db >= 0;
    /* with a DCT the log-mel goes to a scratch (B, M, T) first: top_db needs its max */
    int64_t meln = 0;
    if (p->dct) SLM_TRY(slm_numel(fn, &meln, 3, B, M, T));

    const int64_t nblk = (T + FE_BLOCK - 1) / FE_BLOCK, njobs = B * nblk;
    const int nth = slm_threads();
    slm_arena ar = {0};
    slm_rfft_plan *plan = NULL;
    slm_status st = slm_rfft_plan_new(&plan, N);
    if (st) return st;
    /* per thread: edge frames (FE_BLOCK, N), power (FE_BLOCK, F), FFT scratch */
    const size_t fr_b = slm_arena_need(sizeof(float) * FE_BLOCK * (size_t)N),
                 pw_b = slm_arena_need(sizeof(float) * FE_BLOCK * (size_t)F),
                 sc_b = slm_arena_need(sizeof(float) * (size_t)slm_rfft_scratch_floats(plan));
    const size_t per = fr_b + pw_b + sc_b;
    size_t bytes = per * (size_t)nth + slm_arena_need(sizeof(float) * (size_t)N) +
                   slm_arena_need(sizeof(float) * (size_t)njobs) + slm_arena_need(sizeof(float) * (size_t)meln);
    st = slm_arena_init(&ar, bytes, fn);
    if (st) goto done;
    float *wfull = slm_arena_take(&ar, sizeof(float) * (size_t)N);
    float *jobmax = slm_arena_take(&ar, sizeof(float) * (size_t)njobs);
    float *melbuf = meln ? slm_arena_take(&ar, sizeof(float) * (size_t)meln) : NULL;
    char *thr = slm_arena_take(&ar, per * (size_t)nth);
    /* the window, zero-padded to n_fft and centred as torch.stft does */
    memset(wfull, 0, sizeof(float) * (size_t)N);
    if (p->window_data) memcpy(wfull + woff, p->window_data, sizeof(float) * (size_t)W);
    else make_window(wfull + woff, p->window, W);

    fe_pad stg[3];
    melspec_stages(stg, L, p);
    const int64_t off = stg[0].left + stg[1].left + stg[2].left, hop = p->hop_length;
    float *dst0 = p->dct ? melbuf : out; /* (B, M, T) */
    /* the FFT gives |X|^2 or |X| directly; other powers and HiFi-GAN's epsilon after */
    const int direct_mag = p->power == 1.0 && p->mag_eps == 0.0;
    const slm_rfft_mode mode = direct_mag ? SLM_RFFT_MAG : SLM_RFFT_POWER;
    const int finish = p->power != 2.0 && !direct_mag;
    const slm_path path = slm_family_path(SLM_FAMILY_DSP);
    volatile int stop = 0, fail = 0;
    slm_status fail_st = SLM_OK;

#pragma omp parallel for schedule(dynamic) num_threads(nth)
    for (int64_t job = 0; job < njobs; job++) {
        if (stop || fail) continue;
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        const int64_t b = job / nblk, t0 = (job % nblk) * FE_BLOCK;
        const int64_t nt = T - t0 < FE_BLOCK ? T - t0 : FE_BLOCK;
        char *mine = thr + per * (size_t)omp_get_thread_num();
        float *fr = (float *)mine, *pw = (float *)(mine + fr_b), *sc = (float *)(mine + fr_b + pw_b);
        const float *xb = x + b * L;
        /* frames inside the signal are read in place (rows hop apart); frames that reach
         * into the padding are gathered first */
        const float *src = xb + (t0 * hop - off);
        int64_t stride = hop;
        if (!(t0 * hop - off >= 0 && (t0 + nt - 1) * hop + N - off <= L)) {
            for (int64_t t = 0; t < nt; t++) gather(fr + t * N, xb, (t0 + t) * hop, N, stg, 3, off);
            src = fr;
            stride = N;
        }
        slm_status s = slm_rfft_frames(plan, pw, F, 1, src, stride, wfull, nt, mode, (float)p->spec_scale, sc);
        if (finish) finish_power(pw, nt * F, p->power, p->mag_eps);
        /* (M, nt) block of the (M, T) output: mel (M, F) @ pw (nt, F)^T */
        float *dst = dst0 + b * M * T + t0;
        if (s == SLM_OK) s = slm_sgemm(0, 1, M, nt, F, 1.0f, p->mel, F, pw, F, 0.0f, dst, T);
        if (s != SLM_OK) {
#pragma omp critical(fe_fail)
            {
                if (!fail) fail_st = s;
                fail = 1;
            }
            continue;
        }
        float mx = -INFINITY;
        for (int64_t m = 0; m < M; m++) {
            float *row = dst + m * T;
            apply_log(row, nt, p, path);
            if (post_max)
                for (int64_t t = 0; t < nt; t++) mx = row[t] > mx ? row[t] : mx;
        }
        jobmax[job] = mx;
    }
    if (fail) {
        st = fail_st;
        goto done;
    }
    if (stop) {
        st = SLM_INTERRUPTED_ERROR(fn);
        goto done;
    }

    /* post-processing: the floor below each group's (or the whole batch's) maximum,
     * Whisper's affine map, then the DCT */
    if (post_max || p->dct) {
        const int64_t ngroups = p->whisper_norm ? 1 : B / group;
        const int64_t per_group = B / ngroups;
        const float range = p->whisper_norm ? 8.0f : (float)p->top_db;
#pragma omp parallel for schedule(dynamic) num_threads(nth)
        for (int64_t job = 0; job < njobs; job++) {
            if (stop || fail) continue;
            const int64_t b = job / nblk, t0 = (job % nblk) * FE_BLOCK;
            const int64_t nt = T - t0 < FE_BLOCK ? T - t0 : FE_BLOCK;
            float *src = dst0 + b * M * T + t0;
            if (post_max) {
                const int64_t g = b / per_group;
                float gmax = -INFINITY;
                for (int64_t j = g * per_group * nblk; j < (g + 1) * per_group * nblk; j++)
                    gmax = jobmax[j] > gmax ? jobmax[j] : gmax;
                const float floor_ = gmax - range;
                for (int64_t m = 0; m < M; m++) {
                    float *row = src + m * T;
                    for (int64_t t = 0; t < nt; t++) {
                        float v = row[t] > floor_ ? row[t] : floor_;
                        /* torch.maximum propagates NaN; inputs are finite, so only
                         * +Inf spectra reach here, and max keeps them */
                        if (p->whisper_norm) v = (v + 4.0f) / 4.0f;
                        row[t] = v;
                    }
                }
            }
            if (p->dct) {
                slm_status s = slm_sgemm(0, 0, Q, nt, M, 1.0f, p->dct, M, src, T, 0.0f, out + b * Q * T + t0, T);
                if (s != SLM_OK) {
#pragma omp critical(fe_fail)
                    {
                        if (!fail) fail_st = s;
                        fail = 1;
                    }
                }
            }
        }
        if (fail) st = fail_st;
    }
done:
    if (plan) slm_rfft_plan_free(plan);
    slm_arena_release(&ar);
    return st;
}

/* ---- Whisper -------------------------------------------------------------------------- */

/* Whisper's two filterbanks, built once (they are constants of the model family) */
static float whisper_mel80_[80 * 201], whisper_mel128_[128 * 201];
static int whisper_mel_ready_[2];

slm_status slm_whisper_log_mel_f32(float *out, const float *audio, int64_t B, int64_t L,
                                   int64_t n_mels, int64_t padding) {
    static const char fn[] = "whisper_log_mel";
    SLM_CHECK(n_mels == 80 || n_mels == 128, fn, "n_mels must be 80 or 128 (as openai-whisper), got %lld",
              (long long)n_mels);
    SLM_CHECK(padding >= 0, fn, "padding must be >= 0, got %lld", (long long)padding);
    const int which = n_mels == 128;
    float *mel = which ? whisper_mel128_ : whisper_mel80_;
    slm_status st = SLM_OK;
    if (!__atomic_load_n(&whisper_mel_ready_[which], __ATOMIC_ACQUIRE)) {
#pragma omp critical(fe_whisper_mel)
        {
            if (!whisper_mel_ready_[which]) {
                st = slm_mel_filterbank(mel, 16000.0, 400, n_mels, 0.0, -1.0, 0, 1, NULL);
                if (st == SLM_OK) __atomic_store_n(&whisper_mel_ready_[which], 1, __ATOMIC_RELEASE);
            }
        }
        if (st) return st;
    }
    slm_melspec_params p = slm_melspec_default_params();
    p.n_fft = 400;
    p.hop_length = 160;
    p.win_length = 400;
    p.pad0_right = padding;
    p.drop_last = 1;
    p.mel = mel;
    p.n_mels = n_mels;
    p.log_kind = SLM_MELLOG_LOG10;
    p.log_floor = 1e-10;
    p.whisper_norm = 1;
    return slm_melspec_f32(out, audio, B, L, &p, fn);
}

/* ---- Kaldi fbank ---------------------------------------------------------------------- */

slm_kaldi_fbank_params slm_kaldi_fbank_default_params(void) {
    slm_kaldi_fbank_params p;
    memset(&p, 0, sizeof p);
    p.blackman_coeff = 0.42;
    p.energy_floor = 1.0;
    p.frame_length_ms = 25.0;
    p.frame_shift_ms = 10.0;
    p.high_freq = 0.0;
    p.low_freq = 20.0;
    p.preemphasis_coefficient = 0.97;
    p.sample_frequency = 16000.0;
    p.num_mel_bins = 23;
    p.raw_energy = 1;
    p.remove_dc_offset = 1;
    p.round_to_power_of_two = 1;
    p.snip_edges = 1;
    p.use_log_fbank = 1;
    p.use_power = 1;
    p.window_type = SLM_KALDI_POVEY;
    return p;
}

/* the frame geometry torchaudio derives from the options (int() truncation of ms) */
typedef struct {
    int64_t shift, size, padded, T, D, left; /* left: symmetric padding (snip_edges 0) */
    double low, high;
} kaldi_geom;

static slm_status kaldi_geometry(kaldi_geom *g, int64_t L, const slm_kaldi_fbank_params *p) {
    static const char fn[] = "kaldi_fbank";
    SLM_CHECK(p != NULL, fn, "params is NULL");
    double sf = p->sample_frequency;
    SLM_CHECK(isfinite(sf) && sf > 0, fn, "sample_frequency must be > 0, got %g", sf);
    SLM_CHECK(isfinite(p->frame_shift_ms) && isfinite(p->frame_length_ms) && p->frame_shift_ms > 0 &&
                  p->frame_length_ms > 0 && sf * p->frame_length_ms * 0.001 < 1e12 && sf * p->frame_shift_ms * 0.001 < 1e12,
              fn, "frame_length (%g ms) and frame_shift (%g ms) must be > 0 and finite", p->frame_length_ms,
              p->frame_shift_ms);
    g->shift = (int64_t)(sf * p->frame_shift_ms * 0.001);
    g->size = (int64_t)(sf * p->frame_length_ms * 0.001);
    SLM_CHECK(g->shift > 0, fn, "the frame shift (%g ms at %g Hz) is less than one sample", p->frame_shift_ms, sf);
    SLM_CHECK(g->size >= 2, fn, "the frame length must be >= 2 samples, got %lld", (long long)g->size);
    SLM_CHECK(g->size <= L, fn, "the waveform (%lld samples) is shorter than one frame (%lld samples)", (long long)L,
              (long long)g->size);
    if (p->round_to_power_of_two) {
        int64_t n = 1;
        while (n < g->size) n <<= 1;
        g->padded = n;
    } else {
        g->padded = g->size;
    }
    SLM_CHECK(g->padded % 2 == 0, fn, "the padded window size (%lld) must be even: use round_to_power_of_two or "
              "change frame_length", (long long)g->padded);
    SLM_CHECK(p->preemphasis_coefficient >= 0 && p->preemphasis_coefficient <= 1, fn,
              "preemphasis_coefficient must lie in [0, 1], got %g", p->preemphasis_coefficient);
    SLM_CHECK(p->num_mel_bins > 3 && p->num_mel_bins <= (1 << 20), fn, "num_mel_bins must be > 3, got %lld",
              (long long)p->num_mel_bins);
    SLM_CHECK(p->window_type >= SLM_KALDI_POVEY && p->window_type <= SLM_KALDI_BLACKMAN, fn, "unknown window type %d",
              (int)p->window_type);
    SLM_CHECK(isfinite(p->energy_floor) && p->energy_floor >= 0, fn, "energy_floor must be >= 0, got %g",
              p->energy_floor);
    double nyq = 0.5 * sf, hi = p->high_freq;
    if (hi <= 0.0) hi += nyq;
    SLM_CHECK(isfinite(p->low_freq) && isfinite(hi) && 0.0 <= p->low_freq && p->low_freq < nyq && 0.0 < hi && hi <= nyq &&
                  p->low_freq < hi,
              fn, "bad low_freq %g and high_freq %g vs. the Nyquist frequency %g", p->low_freq, p->high_freq, nyq);
    g->low = p->low_freq;
    g->high = hi;
    if (p->snip_edges) {
        g->T = 1 + (L - g->size) / g->shift;
        g->left = 0;
    } else {
        g->T = (L + g->shift / 2) / g->shift;
        g->left = g->size / 2 - g->shift / 2;
        SLM_CHECK(g->T >= 1, fn, "the waveform (%lld samples) gives no frame", (long long)L);
    }
    g->D = p->num_mel_bins + (p->use_energy ? 1 : 0);
    return SLM_OK;
}

slm_status slm_kaldi_fbank_shape(int64_t *T, int64_t *D, int64_t L, const slm_kaldi_fbank_params *p) {
    kaldi_geom g;
    SLM_TRY(kaldi_geometry(&g, L, p));
    *T = g.T;
    *D = g.D;
    return SLM_OK;
}

/* banks (M, N/2) of Kaldi's mel scale 1127 ln(1 + f/700), triangles evenly spaced
 * between low and high (vtln_warp 1), in double */
static void kaldi_banks(float *banks, int64_t M, int64_t padded, double sf, double low, double high) {
    int64_t nb = padded / 2;
    double width = sf / (double)padded;
    double ml = 1127.0 * log(1.0 + low / 700.0), mh = 1127.0 * log(1.0 + high / 700.0);
    double delta = (mh - ml) / (double)(M + 1);
    for (int64_t m = 0; m < M; m++) {
        double left = ml + (double)m * delta, center = ml + (double)(m + 1) * delta, right = ml + (double)(m + 2) * delta;
        for (int64_t k = 0; k < nb; k++) {
            double mel = 1127.0 * log(1.0 + width * (double)k / 700.0);
            double up = (mel - left) / (center - left), down = (right - mel) / (right - center);
            double w = up < down ? up : down;
            banks[m * nb + k] = (float)(w > 0 ? w : 0.0);
        }
    }
}

/* w (n) of Kaldi's symmetric windows, in double */
static void kaldi_window(float *w, slm_kaldi_window kind, int64_t n, double blackman_coeff) {
    double a = 2.0 * M_PI / (double)(n - 1);
    for (int64_t i = 0; i < n; i++) {
        double c = cos(a * (double)i), v = 1.0;
        switch (kind) {
        case SLM_KALDI_POVEY: v = pow(0.5 - 0.5 * c, 0.85); break;
        case SLM_KALDI_HAMMING: v = 0.54 - 0.46 * c; break;
        case SLM_KALDI_HANNING: v = 0.5 - 0.5 * c; break;
        case SLM_KALDI_RECTANGULAR: v = 1.0; break;
        case SLM_KALDI_BLACKMAN: v = blackman_coeff - 0.5 * c + (0.5 - blackman_coeff) * cos(2.0 * a * (double)i); break;
        }
        w[i] = (float)v;
    }
}

/* log(max(sum of squares, eps)), floored at log(energy_floor) when that is not 0 */
static float kaldi_log_energy(const float *f, int64_t n, double energy_floor) {
    double e = 0;
    for (int64_t j = 0; j < n; j++) e += (double)f[j] * f[j];
    float ef = (float)e;
    float le = logf(ef > FLT_EPSILON ? ef : FLT_EPSILON);
    if (energy_floor != 0.0) {
        float fl = (float)log(energy_floor);
        le = le > fl ? le : fl;
    }
    return le;
}

slm_status slm_kaldi_fbank_f32(float *out, const float *wave, int64_t L, const slm_kaldi_fbank_params *p) {
    static const char fn[] = "kaldi_fbank";
    kaldi_geom g;
    SLM_TRY(kaldi_geometry(&g, L, p));
    SLM_TRY(check_finite(fn, "the waveform", wave, L));
    const int64_t W = g.size, N = g.padded, F = N / 2 + 1, M = p->num_mel_bins, D = g.D, T = g.T;
    const int64_t col = (p->use_energy && !p->htk_compat) ? 1 : 0; /* first mel column */
    const int64_t ecol = p->use_energy ? (p->htk_compat ? M : 0) : -1;
    int64_t nel;
    SLM_TRY(slm_numel(fn, &nel, 2, T, D));
    const int64_t nblk = (T + FE_BLOCK - 1) / FE_BLOCK;
    const int nth = slm_threads();
    slm_arena ar = {0};
    slm_rfft_plan *plan = NULL;
    slm_status st = slm_rfft_plan_new(&plan, N);
    if (st) return st;
    /* per thread: frames (FE_BLOCK, N), power (FE_BLOCK, F), FFT scratch */
    const size_t fr_b = slm_arena_need(sizeof(float) * FE_BLOCK * (size_t)N),
                 pw_b = slm_arena_need(sizeof(float) * FE_BLOCK * (size_t)F),
                 sc_b = slm_arena_need(sizeof(float) * (size_t)slm_rfft_scratch_floats(plan));
    const size_t per = fr_b + pw_b + sc_b;
    size_t bytes = per * (size_t)nth + slm_arena_need(sizeof(float) * (size_t)W) +
                   slm_arena_need(sizeof(float) * (size_t)M * (size_t)(N / 2));
    st = slm_arena_init(&ar, bytes, fn);
    if (st) goto done;
    float *win = slm_arena_take(&ar, sizeof(float) * (size_t)W);
    float *banks = slm_arena_take(&ar, sizeof(float) * (size_t)M * (size_t)(N / 2));
    char *thr = slm_arena_take(&ar, per * (size_t)nth);
    kaldi_window(win, p->window_type, W, p->blackman_coeff);
    kaldi_banks(banks, M, N, p->sample_frequency, g.low, g.high);
    /* snip_edges 0: Kaldi mirrors the signal at both ends with the edge sample repeated
     * (torchaudio builds it from the reversed waveform); a negative left padding trims */
    fe_pad stg = {g.left > 0 ? g.left : 0, W, L, SLM_FE_PAD_SYMMETRIC};
    const int64_t start0 = g.left > 0 ? 0 : -g.left; /* padded index of frame 0 */
    const float pre = (float)p->preemphasis_coefficient;
    const slm_path path = slm_family_path(SLM_FAMILY_DSP);
    volatile int stop = 0, fail = 0;
    slm_status fail_st = SLM_OK;

#pragma omp parallel for schedule(dynamic) num_threads(nth)
    for (int64_t job = 0; job < nblk; job++) {
        if (stop || fail) continue;
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        const int64_t t0 = job * FE_BLOCK, nt = T - t0 < FE_BLOCK ? T - t0 : FE_BLOCK;
        char *mine = thr + per * (size_t)omp_get_thread_num();
        float *fr = (float *)mine, *pw = (float *)(mine + fr_b), *sc = (float *)(mine + fr_b + pw_b);
        for (int64_t t = 0; t < nt; t++) {
            float *f = fr + t * N;
            float *o = out + (t0 + t) * D;
            if (p->snip_edges) memcpy(f, wave + (t0 + t) * g.shift, sizeof(float) * (size_t)W);
            else gather(f, wave, start0 + (t0 + t) * g.shift, W, &stg, 1, stg.left);
            if (p->remove_dc_offset) {
                double s = 0;
                for (int64_t j = 0; j < W; j++) s += f[j];
                float mean = (float)(s / (double)W);
                for (int64_t j = 0; j < W; j++) f[j] -= mean;
            }
            if (p->use_energy && p->raw_energy) o[ecol] = kaldi_log_energy(f, W, p->energy_floor);
            if (pre != 0.0f) {
                for (int64_t j = W - 1; j > 0; j--) f[j] -= pre * f[j - 1];
                f[0] -= pre * f[0];
            }
            for (int64_t j = 0; j < W; j++) f[j] *= win[j];
            memset(f + W, 0, sizeof(float) * (size_t)(N - W));
            if (p->use_energy && !p->raw_energy) o[ecol] = kaldi_log_energy(f, W, p->energy_floor);
        }
        slm_status s = slm_rfft_frames(plan, pw, F, 1, fr, N, NULL, nt, p->use_power ? SLM_RFFT_POWER : SLM_RFFT_MAG,
                                       1.0f, sc);
        /* (nt, M) = pw (nt, F-1) @ banks (M, F-1)^T: Kaldi's banks stop below Nyquist */
        if (s == SLM_OK) s = slm_sgemm(0, 1, nt, M, F - 1, 1.0f, pw, F, banks, N / 2, 0.0f, out + t0 * D + col, D);
        if (s != SLM_OK) {
#pragma omp critical(fe_fail)
            {
                if (!fail) fail_st = s;
                fail = 1;
            }
            continue;
        }
        if (p->use_log_fbank)
            for (int64_t t = 0; t < nt; t++) {
                float *o = out + (t0 + t) * D + col;
                if (!simd_log(o, M, 1.0f, FLT_EPSILON, 0.0f, 0.0f, path))
                    for (int64_t m = 0; m < M; m++) o[m] = logf(o[m] > FLT_EPSILON ? o[m] : FLT_EPSILON);
            }
    }
    if (fail) {
        st = fail_st;
        goto done;
    }
    if (stop) {
        st = SLM_INTERRUPTED_ERROR(fn);
        goto done;
    }
    if (p->subtract_mean) {
        for (int64_t d = 0; d < D; d++) {
            double s = 0;
            for (int64_t t = 0; t < T; t++) s += out[t * D + d];
            float mean = (float)(s / (double)T);
            for (int64_t t = 0; t < T; t++) out[t * D + d] -= mean;
        }
    }
done:
    if (plan) slm_rfft_plan_free(plan);
    slm_arena_release(&ar);
    return st;
}

/* ---- waveform normalisation ----------------------------------------------------------- */

slm_status slm_zero_mean_unit_var_norm_f32(float *out, const float *x, const int64_t *lengths,
                                           int64_t B, int64_t L, float padding_value) {
    static const char fn[] = "zero_mean_unit_var_norm";
    int64_t nel;
    SLM_CHECK(B >= 0 && L >= 0, fn, "bad shape (%lld, %lld)", (long long)B, (long long)L);
    SLM_TRY(slm_numel(fn, &nel, 2, B, L));
    for (int64_t b = 0; lengths && b < B; b++)
        SLM_CHECK(lengths[b] >= 1 && lengths[b] <= L, fn, "lengths[%lld] = %lld must lie in [1, %lld]", (long long)b,
                  (long long)lengths[b], (long long)L);
    SLM_CHECK(L >= 1, fn, "the waveform is empty");
    SLM_TRY(check_finite(fn, "the waveform", x, nel));
#pragma omp parallel for schedule(static) num_threads(slm_threads())
    for (int64_t b = 0; b < B; b++) {
        const float *r = x + b * L;
        float *o = out + b * L;
        int64_t n = lengths ? lengths[b] : L;
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++) s += r[i];
        double mean = s / (double)n;
        for (int64_t i = 0; i < n; i++) s2 += (r[i] - mean) * (r[i] - mean);
        double inv = 1.0 / sqrt(s2 / (double)n + 1e-7);
        for (int64_t i = 0; i < n; i++) o[i] = (float)((r[i] - mean) * inv);
        for (int64_t i = n; i < L; i++) o[i] = padding_value;
    }
    return SLM_OK;
}
