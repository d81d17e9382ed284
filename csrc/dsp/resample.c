/* resample.c: band-limited resampling between any two integer rates (slm.audio.resample).
 *
 * The kernel is torchaudio.functional.resample's: a sinc with cutoff
 * rolloff * min(orig, new) / 2 (in the reduced rates), cut at lowpass_filter_width zero
 * crossings each side by a Hann (cos^2) or Kaiser window, scaled by base / orig so the
 * passband gain is one. torchaudio convolves the zero-padded input with all
 * 2 * width + orig taps of every output phase at stride orig; most of those taps lie
 * outside the window and are (clamped) zeros when orig is large after the gcd
 * reduction (441 for 44.1k -> 16k). Here each phase keeps only its support
 * (|t| < lowpass_filter_width, about 2 * width taps), so the work per output sample is
 * the filter length, whatever the ratio. Taps are computed in double and rounded once
 * (torchaudio computes them in the input dtype, float32); the difference is below
 * 1e-13 in NMSE.
 *
 * Shapes: C channels, L input samples, Lout = ceil(L * new / orig) output samples.
 * Work items are (channel, block of SLM_RS_BLOCK outputs), spread over threads. Paths:
 * ref (scalar) and avx2/avx512 (csrc/kernels/simd/resample.c, the FIR dot products).
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "resample.h"

#define SLM_RS_BLOCK 4096
/* below this many multiply-adds a call runs on the calling thread */
#define SLM_RS_PAR_MIN (1 << 16)
/* Kaiser beta torchaudio uses when none is given */
#define SLM_RS_KAISER_BETA 14.769656459379492

slm_resample_params slm_resample_default_params(void) {
    slm_resample_params p;
    p.lowpass_filter_width = 6;
    p.rolloff = 0.99;
    p.window = SLM_RESAMPLE_SINC_HANN;
    p.beta = SLM_RS_KAISER_BETA;
    return p;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static slm_status check_rates(const char *fn, int64_t orig_sr, int64_t new_sr) {
    SLM_CHECK(orig_sr > 0, fn, "orig_sr must be a positive rate in Hz, got %lld", (long long)orig_sr);
    SLM_CHECK(new_sr > 0, fn, "new_sr must be a positive rate in Hz, got %lld", (long long)new_sr);
    return SLM_OK;
}

slm_status slm_resample_length(int64_t *out_len, int64_t L, int64_t orig_sr, int64_t new_sr) {
    static const char fn[] = "resample";
    SLM_CHECK(out_len != NULL, fn, "out_len is NULL");
    SLM_CHECK(L >= 0, fn, "negative length %lld", (long long)L);
    SLM_TRY(check_rates(fn, orig_sr, new_sr));
    int64_t g = gcd64(orig_sr, new_sr), P = new_sr / g, Q = orig_sr / g, n;
    if (!slm_mul_ok(L, P, &n))
        return slm_error(SLM_ERR_NOMEM, fn, "output length overflows (%lld samples x %lld / %lld)",
                         (long long)L, (long long)P, (long long)Q);
    *out_len = n / Q + (n % Q != 0); /* exact ceil(L * P / Q) */
    return SLM_OK;
}

/* modified Bessel function of the first kind, order 0 (power series; x <= ~100 here) */
static double bessel_i0(double x) {
    double term = 1.0, sum = 1.0, q = 0.25 * x * x;
    for (int k = 1; k < 500; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

typedef struct {
    double base, lw, scale, beta, i0beta;
    int64_t P, Q, width;
    slm_resample_window window;
} kernel_def;

/* time of tap m (m in [0, 2 width + Q)) of phase j, in units of the cutoff period, as
 * torchaudio's t before clamping */
static double tap_time(const kernel_def *k, int64_t j, int64_t m) {
    return ((double)(m - k->width) / (double)k->Q - (double)j / (double)k->P) * k->base;
}

static double tap_value(const kernel_def *k, double t) {
    if (!(fabs(t) < k->lw)) return 0.0; /* outside the window: zero (torchaudio clamps to ~1e-15) */
    double w;
    if (k->window == SLM_RESAMPLE_SINC_HANN) {
        double c = cos(t * M_PI / k->lw / 2.0);
        w = c * c;
    } else {
        double r = t / k->lw;
        w = bessel_i0(k->beta * sqrt(1.0 - r * r)) / k->i0beta;
    }
    double s = t == 0.0 ? 1.0 : sin(M_PI * t) / (M_PI * t);
    return s * w * k->scale;
}

/* [lo, hi] = taps m of phase j with |t| < lw, within torchaudio's [0, 2 width + Q) */
static void phase_support(const kernel_def *k, int64_t j, int64_t *lo, int64_t *hi) {
    double c = (double)k->width + (double)k->Q * (double)j / (double)k->P;
    double half = (double)k->Q * k->lw / k->base;
    int64_t mmax = 2 * k->width + k->Q - 1;
    int64_t a = (int64_t)floor(c - half), b = (int64_t)ceil(c + half);
    if (a < 0) a = 0;
    if (b > mmax) b = mmax;
    while (a <= b && !(fabs(tap_time(k, j, a)) < k->lw)) a++;
    while (b >= a && !(fabs(tap_time(k, j, b)) < k->lw)) b--;
    *lo = a;
    *hi = b;
}

typedef void (*block_fn)(float *, const float *, int64_t, const slm_rs_plan *, int64_t, int64_t, float *);

static block_fn pick(void) {
    switch (slm_family_path(SLM_FAMILY_DSP)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return slm_rs_block_avx512;
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return slm_rs_block_avx2;
#endif
    default: return slm_rs_block_ref;
    }
}

/* y (o1 - o0,) = outputs o0..o1-1; scalar reference, zero outside x[0, L) */
void slm_rs_block_ref(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1,
                      float *scratch) {
    (void)scratch;
    int64_t k = o0 / p->P, j = o0 % p->P;
    for (int64_t o = o0; o < o1; o++) {
        const float *h = p->h + j * p->taps;
        int64_t s = k * p->Q + p->first[j], n = p->len[j];
        int64_t a = s < 0 ? -s : 0, b = s + n > L ? L - s : n; /* taps that hit the input */
        float acc = 0.0f;
        for (int64_t i = a; i < b; i++) acc += x[s + i] * h[i];
        y[o - o0] = acc;
        if (++j == p->P) {
            j = 0;
            k++;
        }
    }
}

/* out (C, Lout) = resample(inp (C, L)) from orig_sr to new_sr (torchaudio's kernel) */
slm_status slm_resample_f32(float *out, const float *inp, int64_t C, int64_t L, int64_t orig_sr,
                            int64_t new_sr, const slm_resample_params *params) {
    static const char fn[] = "resample";
    slm_resample_params prm = params ? *params : slm_resample_default_params();
    int64_t Lout, total;
    SLM_CHECK(C >= 0 && L >= 0, fn, "negative size (C=%lld, L=%lld)", (long long)C, (long long)L);
    SLM_TRY(slm_resample_length(&Lout, L, orig_sr, new_sr));
    SLM_TRY(slm_numel(fn, &total, 2, C, Lout));
    SLM_TRY(slm_numel(fn, &total, 2, C, L));
    SLM_CHECK(prm.lowpass_filter_width > 0, fn, "lowpass_filter_width must be positive, got %d",
              prm.lowpass_filter_width);
    SLM_CHECK(prm.rolloff > 0.0 && prm.rolloff <= 1.0, fn, "rolloff must lie in (0, 1], got %g", prm.rolloff);
    SLM_CHECK(prm.window == SLM_RESAMPLE_SINC_HANN || prm.window == SLM_RESAMPLE_SINC_KAISER, fn,
              "unknown window %d", (int)prm.window);
    if (prm.window == SLM_RESAMPLE_SINC_KAISER)
        SLM_CHECK(isfinite(prm.beta) && prm.beta >= 0.0 && prm.beta <= 700.0, fn,
                  "beta must lie in [0, 700], got %g", prm.beta);
    if (C == 0 || Lout == 0) return SLM_OK;
    SLM_CHECK(out != NULL && inp != NULL, fn, "NULL buffer");
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < L; i++)
            if (!isfinite(inp[c * L + i]))
                return slm_error(SLM_ERR_VALUE, fn, "input sample %lld of channel %lld is %g (must be finite)",
                                 (long long)i, (long long)c, (double)inp[c * L + i]);
    if (orig_sr == new_sr) {
        memcpy(out, inp, (size_t)total * sizeof(float));
        return SLM_OK;
    }

    kernel_def k;
    int64_t g = gcd64(orig_sr, new_sr);
    k.P = new_sr / g;
    k.Q = orig_sr / g;
    k.lw = prm.lowpass_filter_width;
    k.base = (double)(k.P < k.Q ? k.P : k.Q) * prm.rolloff;
    k.scale = k.base / (double)k.Q;
    k.window = prm.window;
    k.beta = prm.beta;
    k.i0beta = bessel_i0(prm.beta);
    double wd = ceil(k.lw * (double)k.Q / k.base);
    if (!(wd < 1e12)) return slm_error(SLM_ERR_NOMEM, fn, "filter of %g taps is too long", 2 * wd);
    k.width = (int64_t)wd;
    /* the longest support is ~2 * width + 1 taps; 2 * width + 2 bounds it */
    int64_t taps = 2 * k.width + 2, hsize;
    if (taps > 2 * k.width + k.Q) taps = 2 * k.width + k.Q;
    SLM_TRY(slm_numel(fn, &hsize, 2, k.P, taps));
    slm_arena ar;
    size_t need = slm_arena_need((size_t)k.P * sizeof(int64_t)) * 2 + slm_arena_need((size_t)hsize * sizeof(float));
    if ((uint64_t)hsize > ((uint64_t)1 << 40) || (uint64_t)k.P > ((uint64_t)1 << 40))
        return slm_error(SLM_ERR_NOMEM, fn, "filter table of %lld x %lld taps is too large", (long long)k.P,
                         (long long)taps);
    SLM_TRY(slm_arena_init(&ar, need, fn));
    int64_t *first = (int64_t *)slm_arena_take(&ar, (size_t)k.P * sizeof(int64_t));
    int64_t *len = (int64_t *)slm_arena_take(&ar, (size_t)k.P * sizeof(int64_t));
    float *h = (float *)slm_arena_take(&ar, (size_t)hsize * sizeof(float));
    memset(h, 0, (size_t)hsize * sizeof(float));
    int64_t maxlen = 0;
    for (int64_t j = 0; j < k.P; j++) {
        int64_t lo, hi;
        phase_support(&k, j, &lo, &hi);
        int64_t n = hi >= lo ? hi - lo + 1 : 0;
        if (n > taps) n = taps; /* cannot happen: the support is < 2 width + 1 taps wide */
        first[j] = lo - k.width;
        len[j] = n;
        if (n > maxlen) maxlen = n;
        for (int64_t i = 0; i < n; i++) h[j * taps + i] = (float)tap_value(&k, tap_time(&k, j, lo + i));
    }
    slm_rs_plan plan = {k.P, k.Q, taps, first, len, h, NULL, 0, 0, 0};
    block_fn run = pick();
    int nt = slm_threads();

    /* SIMD tiles: offsets of every tap in a tile, and per-thread scratch, unless the
     * tile would be large (huge coprime rates: then per-output dot products only) */
    int32_t *off = NULL;
    float *scratch = NULL;
    if (run != slm_rs_block_ref && maxlen > 0) {
        int64_t minfirst = first[0], maxend = first[0] + len[0];
        for (int64_t j = 1; j < k.P; j++) {
            if (first[j] < minfirst) minfirst = first[j];
            if (first[j] + len[j] > maxend) maxend = first[j] + len[j];
        }
        int64_t row = SLM_RS_TILE + (maxend - minfirst - 1) / k.Q + 1;
        plan.minfirst = minfirst;
        plan.maxend = maxend;
        plan.row = row;
        int64_t per_thread = slm_rs_scratch(&plan);
        if (per_thread <= (1 << 20) && hsize <= (1 << 24) && k.Q * row < INT32_MAX) {
            off = (int32_t *)slm_alloc((size_t)hsize * sizeof(int32_t));
            scratch = off ? (float *)slm_alloc((size_t)per_thread * (size_t)nt * sizeof(float)) : NULL;
            if (!off || !scratch) {
                slm_free(off);
                slm_free(scratch);
                slm_arena_release(&ar);
                return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate resampling scratch");
            }
            memset(off, 0, (size_t)hsize * sizeof(int32_t));
            for (int64_t j = 0; j < k.P; j++)
                for (int64_t i = 0; i < len[j]; i++) {
                    int64_t d = first[j] + i - minfirst;
                    off[j * taps + i] = (int32_t)((d % k.Q) * row + d / k.Q);
                }
            plan.off = off;
        }
    }

    /* blocks of whole tiles (SLM_RS_TILE consecutive k, all P phases) where they are small */
    int64_t blk = SLM_RS_BLOCK, tile = k.P * SLM_RS_TILE;
    if (tile <= (1 << 16)) blk = tile * ((SLM_RS_BLOCK + tile - 1) / tile);
    int64_t nblk = (Lout + blk - 1) / blk, items = C * nblk;
    int stop = 0;
    double work = (double)C * (double)Lout * (double)(maxlen + 1);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (work > SLM_RS_PAR_MIN && items > 1)
    for (int64_t it = 0; it < items; it++) {
        if (stop || slm_interrupted()) {
            stop = 1;
            continue;
        }
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        int64_t c = it / nblk, o0 = (it % nblk) * blk;
        int64_t o1 = o0 + blk < Lout ? o0 + blk : Lout;
        run(out + c * Lout + o0, inp + c * L, L, &plan, o0, o1,
            scratch ? scratch + (size_t)tid * (size_t)slm_rs_scratch(&plan) : NULL);
    }
    slm_free(off);
    slm_free(scratch);
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
