/* fft.c: FFT plans for any length and the batch entries of spectral.h.
 *
 * The bottom of the DSP layer: STFT/iSTFT, Griffin-Lim and every mel / fbank front end
 * transform their frames here. A plan factors n into radices 4, 2, 3, 5 and odd primes
 * up to SLM_FFT_MAX_RADIX (Stockham passes, natural order in and out, no bit reversal);
 * a length with a larger prime factor runs Bluestein's chirp-z on a 2,3,5-smooth length
 * m >= 2n - 1. Twiddles and chirps are computed in double and rounded once to float, so
 * the error is that of the float arithmetic alone (NMSE ~1e-14 vs numpy's float64 FFT).
 * Real input of even length uses the half-length complex transform plus one split pass.
 *
 * The kernels (fft_kernel.h) are instantiated here for the ref path (one frame at a
 * time) and in csrc/kernels/simd/fft_simd.c for AVX2/AVX-512 (8/16 frames per vector);
 * slm_family_path(SLM_FAMILY_DSP) picks one per call.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/runtime.h"
#include "fft_plan.h"

/* ---- the ref instantiation: a scalar stand-in for simd.h's vocabulary ---- */
#define VW 1
typedef float vf;
#define vload(p) (*(p))
#define vstore(p, v) (*(p) = (v))
#define vset1(x) (x)
#define vzero() 0.f
#define vadd(a, b) ((a) + (b))
#define vsub(a, b) ((a) - (b))
#define vmul(a, b) ((a) * (b))
#define vfmadd(a, b, c) ((a) * (b) + (c))
#define vfnmadd(a, b, c) ((c) - (a) * (b))
#define vsqrt(a) sqrtf(a)
#define FFTK(name) name##_ref
#include "fft_kernel.h"
#undef FFTK
#undef VW

#define SLM_FFT_MAX_N ((int64_t)1 << 40)

typedef struct {
    void (*r2c)(const slm_rfft_plan *, float *, int64_t, int64_t, const float *, int64_t,
                const float *, int64_t, int, float, float *);
    void (*c2r)(const slm_rfft_plan *, float *, int64_t, const float *, int64_t, int64_t, int64_t,
                float, float *);
    void (*c2c)(const slm_cfft_plan *, float *, const float *, int64_t, int, float, float *);
    int lanes;
} fft_kernels;

static const fft_kernels k_ref_ = {slm_fft_r2c_rows_ref, slm_fft_c2r_rows_ref, slm_fft_c2c_rows_ref, 1};
#ifdef SLM_BUILD_AVX2
static const fft_kernels k_avx2_ = {slm_fft_r2c_rows_avx2, slm_fft_c2r_rows_avx2, slm_fft_c2c_rows_avx2, 8};
#endif
#ifdef SLM_BUILD_AVX512
static const fft_kernels k_avx512_ = {slm_fft_r2c_rows_avx512, slm_fft_c2r_rows_avx512,
                                      slm_fft_c2c_rows_avx512, 16};
#endif

static const fft_kernels *pick(void) {
    switch (slm_family_path(SLM_FAMILY_DSP)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return &k_avx512_;
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return &k_avx2_;
#endif
    default: return &k_ref_;
    }
}

/* smallest 2^a 3^b 5^c >= n */
static int64_t good_size(int64_t n) {
    int64_t best = INT64_MAX;
    for (int64_t f5 = 1; f5 < best; f5 *= 5)
        for (int64_t f35 = f5; f35 < best; f35 *= 3) {
            int64_t x = f35;
            while (x < n) x *= 2;
            if (x < best) best = x;
            if (f35 > INT64_MAX / 3) break;
        }
    return best;
}

/* ---- complex plans ---- */

static slm_status cfft_new(slm_cfft_plan **out, int64_t n, const char *fn) {
    *out = NULL;
    slm_cfft_plan *pl = calloc(1, sizeof(*pl));
    if (!pl) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate an FFT plan");
    pl->n = n;
    int fac[SLM_FFT_MAX_PASSES], nf = 0;
    int64_t rem = n;
    while (rem % 4 == 0) fac[nf++] = 4, rem /= 4;
    while (rem % 2 == 0) fac[nf++] = 2, rem /= 2;
    for (int p = 3; p <= SLM_FFT_MAX_RADIX && rem > 1; p += 2)
        while (rem % p == 0) fac[nf++] = p, rem /= p;
    slm_status st = SLM_OK;
    if (rem > 1) {
        /* a prime factor above SLM_FFT_MAX_RADIX: Bluestein on a smooth length m */
        int64_t m = good_size(2 * n - 1);
        st = cfft_new(&pl->blu, m, fn);
        if (st) goto fail;
        int64_t bytes;
        st = slm_numel(fn, &bytes, 3, (int64_t)2 * (n + m), (int64_t)sizeof(float), (int64_t)1);
        if (st) goto fail;
        pl->mem = slm_alloc((size_t)bytes);
        float *scr = slm_alloc(sizeof(float) * (size_t)pl->blu->scratch);
        float *b = calloc((size_t)(2 * m), sizeof(float));
        if (!pl->mem || !scr || !b) {
            slm_free(scr);
            free(b);
            st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT tables for n = %lld", (long long)n);
            goto fail;
        }
        float *chirp = pl->mem, *bfft = pl->mem + 2 * n;
        for (int64_t k = 0; k < n; k++) {
            /* k^2 mod 2n keeps the angle exact for large k */
            unsigned __int128 kk = (unsigned __int128)k * (unsigned __int128)k;
            int64_t r = (int64_t)(kk % (unsigned __int128)(2 * n));
            double ang = -M_PI * (double)r / (double)n;
            chirp[2 * k] = (float)cos(ang);
            chirp[2 * k + 1] = (float)sin(ang);
            b[2 * k] = (float)cos(ang);
            b[2 * k + 1] = (float)-sin(ang);
            if (k) {
                b[2 * (m - k)] = b[2 * k];
                b[2 * (m - k) + 1] = b[2 * k + 1];
            }
        }
        slm_fft_c2c_rows_ref(pl->blu, bfft, b, 1, 0, (float)(1.0 / (double)m), scr);
        slm_free(scr);
        free(b);
        pl->chirp = chirp;
        pl->bfft = bfft;
        st = slm_numel(fn, &pl->scratch, 2, (int64_t)SLM_FFT_MAX_LANES, 4 * n + 4 * m);
        if (st) goto fail;
        *out = pl;
        return SLM_OK;
    }
    int64_t tot = 0, l1 = 1;
    for (int f = 0; f < nf; f++) {
        int p = fac[f];
        int64_t ido = n / (l1 * p);
        tot += 2 * (p - 1) * ido + (p % 2 ? 2 * p : 0);
        l1 *= p;
    }
    pl->mem = slm_alloc(sizeof(float) * (size_t)(tot + 1));
    if (!pl->mem) {
        st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT tables for n = %lld", (long long)n);
        goto fail;
    }
    float *t = pl->mem;
    l1 = 1;
    for (int f = 0; f < nf; f++) {
        int p = fac[f];
        int64_t ido = n / (l1 * p), len = p * ido;
        slm_fft_pass *ps = &pl->pass[f];
        ps->p = p;
        ps->l1 = l1;
        ps->ido = ido;
        ps->tw = t;
        for (int j = 1; j < p; j++)
            for (int64_t i = 0; i < ido; i++) {
                int64_t r = (int64_t)(((unsigned __int128)j * (unsigned __int128)i) % (unsigned __int128)len);
                double ang = -2.0 * M_PI * (double)r / (double)len;
                t[0] = (float)cos(ang);
                t[1] = (float)sin(ang);
                t += 2;
            }
        if (p % 2) {
            ps->cs = t;
            for (int q = 0; q < p; q++) {
                t[q] = (float)cos(2.0 * M_PI * q / p);
                t[p + q] = (float)sin(2.0 * M_PI * q / p);
            }
            t += 2 * p;
        }
        l1 *= p;
    }
    pl->npass = nf;
    st = slm_numel(fn, &pl->scratch, 2, (int64_t)SLM_FFT_MAX_LANES, 4 * n);
    if (st) goto fail;
    *out = pl;
    return SLM_OK;
fail:
    slm_cfft_plan_free(pl);
    return st;
}

slm_status slm_cfft_plan_new(slm_cfft_plan **plan, int64_t n) {
    static const char fn[] = "slm_cfft_plan_new";
    SLM_CHECK(plan != NULL, fn, "plan is NULL");
    *plan = NULL;
    SLM_CHECK(n >= 1, fn, "FFT length n must be >= 1, got %lld", (long long)n);
    if (n > SLM_FFT_MAX_N) return slm_error(SLM_ERR_NOMEM, fn, "FFT length n = %lld is too large", (long long)n);
    return cfft_new(plan, n, fn);
}

void slm_cfft_plan_free(slm_cfft_plan *pl) {
    if (!pl) return;
    slm_cfft_plan_free(pl->blu);
    slm_free(pl->mem);
    free(pl);
}

int64_t slm_cfft_scratch_floats(const slm_cfft_plan *pl) { return pl->scratch + 64; }

/* ---- real plans ---- */

slm_status slm_rfft_plan_new(slm_rfft_plan **plan, int64_t n) {
    static const char fn[] = "slm_rfft_plan_new";
    SLM_CHECK(plan != NULL, fn, "plan is NULL");
    *plan = NULL;
    SLM_CHECK(n >= 1, fn, "FFT length n must be >= 1, got %lld", (long long)n);
    if (n > SLM_FFT_MAX_N) return slm_error(SLM_ERR_NOMEM, fn, "FFT length n = %lld is too large", (long long)n);
    slm_rfft_plan *p = calloc(1, sizeof(*p));
    if (!p) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate an FFT plan");
    p->n = n;
    p->half = n % 2 == 0 ? n / 2 : 0;
    slm_status st = cfft_new(&p->c, p->half ? n / 2 : n, fn);
    if (st) goto fail;
    if (p->half) {
        p->w = slm_alloc(sizeof(float) * (size_t)(2 * (n / 2 + 1)));
        if (!p->w) {
            st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT tables for n = %lld", (long long)n);
            goto fail;
        }
        for (int64_t k = 0; k <= n / 2; k++) {
            double ang = -2.0 * M_PI * (double)k / (double)n;
            p->w[2 * k] = (float)cos(ang);
            p->w[2 * k + 1] = (float)sin(ang);
        }
    }
    p->scratch = p->c->scratch + 64;
    *plan = p;
    return SLM_OK;
fail:
    slm_rfft_plan_free(p);
    return st;
}

void slm_rfft_plan_free(slm_rfft_plan *p) {
    if (!p) return;
    slm_cfft_plan_free(p->c);
    slm_free(p->w);
    free(p);
}

int64_t slm_rfft_plan_n(const slm_rfft_plan *p) { return p->n; }
int64_t slm_rfft_scratch_floats(const slm_rfft_plan *p) { return p->scratch; }

/* ---- entries ---- */

slm_status slm_rfft_frames(const slm_rfft_plan *p, float *out, int64_t ors, int64_t oks,
                           const float *in, int64_t is, const float *win, int64_t B,
                           slm_rfft_mode mode, float scale, float *scratch) {
    const fft_kernels *k = pick();
    float *own = NULL;
    if (!scratch) {
        own = scratch = slm_alloc(sizeof(float) * (size_t)p->scratch);
        if (!own) return slm_error(SLM_ERR_NOMEM, "slm_rfft_frames", "cannot allocate FFT scratch");
    }
    for (int64_t r = 0; r < B; r += k->lanes) {
        int64_t nr = B - r < k->lanes ? B - r : k->lanes;
        k->r2c(p, out + r * ors, ors, oks, in + r * is, is, win, nr, (int)mode, scale, scratch);
    }
    slm_free(own);
    return SLM_OK;
}

slm_status slm_irfft_frames(const slm_rfft_plan *p, float *out, int64_t os, const float *in,
                            int64_t irs, int64_t iks, int64_t B, float scale, float *scratch) {
    const fft_kernels *k = pick();
    float *own = NULL;
    if (!scratch) {
        own = scratch = slm_alloc(sizeof(float) * (size_t)p->scratch);
        if (!own) return slm_error(SLM_ERR_NOMEM, "slm_irfft_frames", "cannot allocate FFT scratch");
    }
    for (int64_t r = 0; r < B; r += k->lanes) {
        int64_t nr = B - r < k->lanes ? B - r : k->lanes;
        k->c2r(p, out + r * os, os, in + r * irs, irs, iks, nr, scale, scratch);
    }
    slm_free(own);
    return SLM_OK;
}

/* threads for `groups` independent lane groups of `work` floats each: 1 inside an
 * OpenMP region or for small jobs */
static int fft_threads(int64_t groups, int64_t work) {
    if (omp_in_parallel()) return 1;
    int nt = slm_threads();
    if (groups < nt) nt = (int)groups;
    if (groups * work < (1 << 14)) nt = 1;
    return nt < 1 ? 1 : nt;
}

slm_status slm_rfft_batch(const slm_rfft_plan *p, float *out, const float *in, int64_t B,
                          int64_t is) {
    static const char fn[] = "slm_rfft_batch";
    SLM_CHECK(p != NULL, fn, "plan is NULL");
    SLM_CHECK(B >= 0, fn, "batch B must be >= 0, got %lld", (long long)B);
    SLM_CHECK(is >= 1, fn, "in_stride must be >= 1, got %lld", (long long)is);
    if (B == 0) return SLM_OK;
    SLM_CHECK(out != NULL && in != NULL, fn, "out or in is NULL");
    const fft_kernels *k = pick();
    const int64_t L = k->lanes, nb = p->n / 2 + 1, groups = (B + L - 1) / L;
    int nt = fft_threads(groups, p->n * L);
    float *scr = slm_alloc(sizeof(float) * (size_t)p->scratch * (size_t)nt);
    if (!scr) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT scratch");
    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        float *s = scr + (int64_t)omp_get_thread_num() * p->scratch;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < groups; g++) {
            if (stop || slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t r = g * L, nr = B - r < L ? B - r : L;
            k->r2c(p, out + r * 2 * nb, 2 * nb, 2, in + r * is, is, NULL, nr, SLM_RFFT_COMPLEX, 1.f, s);
        }
    }
    slm_free(scr);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_cfft_batch(const slm_cfft_plan *p, float *out, const float *in, int64_t B,
                          int inverse, float scale) {
    static const char fn[] = "slm_cfft_batch";
    SLM_CHECK(p != NULL, fn, "plan is NULL");
    SLM_CHECK(B >= 0, fn, "batch B must be >= 0, got %lld", (long long)B);
    if (B == 0) return SLM_OK;
    SLM_CHECK(out != NULL && in != NULL, fn, "out or in is NULL");
    const fft_kernels *k = pick();
    const int64_t L = k->lanes, n = p->n, groups = (B + L - 1) / L;
    const int64_t scr_n = slm_cfft_scratch_floats(p);
    int nt = fft_threads(groups, 2 * n * L);
    float *scr = slm_alloc(sizeof(float) * (size_t)scr_n * (size_t)nt);
    if (!scr) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT scratch");
    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        float *s = scr + (int64_t)omp_get_thread_num() * scr_n;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < groups; g++) {
            if (stop || slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t r = g * L, nr = B - r < L ? B - r : L;
            k->c2c(p, out + r * 2 * n, in + r * 2 * n, nr, inverse, scale, s);
        }
    }
    slm_free(scr);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_irfft_batch(const slm_rfft_plan *p, float *out, const float *in, int64_t B) {
    static const char fn[] = "slm_irfft_batch";
    SLM_CHECK(p != NULL, fn, "plan is NULL");
    SLM_CHECK(B >= 0, fn, "batch B must be >= 0, got %lld", (long long)B);
    if (B == 0) return SLM_OK;
    SLM_CHECK(out != NULL && in != NULL, fn, "out or in is NULL");
    const fft_kernels *k = pick();
    const int64_t L = k->lanes, n = p->n, nb = n / 2 + 1, groups = (B + L - 1) / L;
    int nt = fft_threads(groups, n * L);
    float *scr = slm_alloc(sizeof(float) * (size_t)p->scratch * (size_t)nt);
    if (!scr) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate FFT scratch");
    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        float *s = scr + (int64_t)omp_get_thread_num() * p->scratch;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < groups; g++) {
            if (stop || slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t r = g * L, nr = B - r < L ? B - r : L;
            k->c2r(p, out + r * n, n, in + r * 2 * nb, 2 * nb, 2, nr, 1.f, s);
        }
    }
    slm_free(scr);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

/* ---- public one-shot entries (slm/dsp.h) ---- */

static slm_status check_fft_args(const char *fn, const void *out, const void *in, int64_t B, int64_t n) {
    SLM_CHECK(B >= 0, fn, "batch B must be >= 0, got %lld", (long long)B);
    SLM_CHECK(n >= 1, fn, "FFT length n must be >= 1, got %lld", (long long)n);
    if (n > SLM_FFT_MAX_N) return slm_error(SLM_ERR_NOMEM, fn, "FFT length n = %lld is too large", (long long)n);
    int64_t tot;
    SLM_TRY(slm_numel(fn, &tot, 3, B, n + 2, (int64_t)2));
    SLM_CHECK(B == 0 || (out != NULL && in != NULL), fn, "out or in is NULL");
    return SLM_OK;
}

slm_status slm_rfft_f32(float *out, const float *in, int64_t B, int64_t n) {
    SLM_TRY(check_fft_args("slm_rfft_f32", out, in, B, n));
    if (B == 0) return SLM_OK;
    slm_rfft_plan *p;
    SLM_TRY(slm_rfft_plan_new(&p, n));
    slm_status st = slm_rfft_batch(p, out, in, B, n);
    slm_rfft_plan_free(p);
    return st;
}

slm_status slm_irfft_f32(float *out, const float *in, int64_t B, int64_t n) {
    SLM_TRY(check_fft_args("slm_irfft_f32", out, in, B, n));
    if (B == 0) return SLM_OK;
    slm_rfft_plan *p;
    SLM_TRY(slm_rfft_plan_new(&p, n));
    slm_status st = slm_irfft_batch(p, out, in, B);
    slm_rfft_plan_free(p);
    return st;
}

slm_status slm_fft_c64(float *out, const float *in, int64_t B, int64_t n, int inverse) {
    SLM_TRY(check_fft_args("slm_fft_c64", out, in, B, n));
    if (B == 0) return SLM_OK;
    slm_cfft_plan *p;
    SLM_TRY(slm_cfft_plan_new(&p, n));
    slm_status st = slm_cfft_batch(p, out, in, B, inverse != 0, inverse ? (float)(1.0 / (double)n) : 1.f);
    slm_cfft_plan_free(p);
    return st;
}
