/* fft_kernel.h: the FFT lane kernels, written once against the vector vocabulary of
 * csrc/kernels/simd/simd.h (vf, VW, vadd, vfmadd, ...). Included by fft.c with a scalar
 * stand-in (VW = 1: the ref path, one frame at a time) and by
 * csrc/kernels/simd/fft_simd.c for AVX2 (8 frames) and AVX-512 (16 frames). Each vector
 * holds the same element of VW frames, so every butterfly is plain vector arithmetic
 * with broadcast twiddles and no shuffles; frames go in and out through the pack /
 * unpack loops at the ends. The includer defines FFTK(name) to add the path suffix.
 */
#include <math.h>
#include <string.h>

#include "fft_plan.h"

/* complex element e of a lane buffer */
#define RE(buf, e) ((buf) + (int64_t)(e) * 2 * VW)
#define IM(buf, e) ((buf) + (int64_t)(e) * 2 * VW + VW)

/* (ar, ai) *= (wr, wi), w broadcast */
#define CMUL_S(ar, ai, wr, wi)                                                            \
    do {                                                                                  \
        vf wr_ = vset1(wr), wi_ = vset1(wi);                                              \
        vf t_ = vfnmadd(ai, wi_, vmul(ar, wr_));                                          \
        ai = vfmadd(ar, wi_, vmul(ai, wr_));                                              \
        ar = t_;                                                                          \
    } while (0)

/* ch (ido, l1, 2) <- cc (ido, 2, l1) */
static void FFTK(pass2)(const slm_fft_pass *ps, const float *cc, float *ch) {
    const int64_t l1 = ps->l1, ido = ps->ido;
    for (int64_t k = 0; k < l1; k++)
        for (int64_t i = 0; i < ido; i++) {
            int64_t c0 = i + ido * (2 * k), c1 = c0 + ido;
            vf ar = vload(RE(cc, c0)), ai = vload(IM(cc, c0));
            vf br = vload(RE(cc, c1)), bi = vload(IM(cc, c1));
            int64_t h0 = i + ido * k, h1 = h0 + ido * l1;
            vstore(RE(ch, h0), vadd(ar, br));
            vstore(IM(ch, h0), vadd(ai, bi));
            vf dr = vsub(ar, br), di = vsub(ai, bi);
            CMUL_S(dr, di, ps->tw[2 * i], ps->tw[2 * i + 1]);
            vstore(RE(ch, h1), dr);
            vstore(IM(ch, h1), di);
        }
}

/* ch (ido, l1, 4) <- cc (ido, 4, l1) */
static void FFTK(pass4)(const slm_fft_pass *ps, const float *cc, float *ch) {
    const int64_t l1 = ps->l1, ido = ps->ido;
    const float *tw = ps->tw;
    for (int64_t k = 0; k < l1; k++)
        for (int64_t i = 0; i < ido; i++) {
            int64_t c0 = i + ido * (4 * k);
            vf a0r = vload(RE(cc, c0)), a0i = vload(IM(cc, c0));
            vf a1r = vload(RE(cc, c0 + ido)), a1i = vload(IM(cc, c0 + ido));
            vf a2r = vload(RE(cc, c0 + 2 * ido)), a2i = vload(IM(cc, c0 + 2 * ido));
            vf a3r = vload(RE(cc, c0 + 3 * ido)), a3i = vload(IM(cc, c0 + 3 * ido));
            vf t1r = vadd(a0r, a2r), t1i = vadd(a0i, a2i);
            vf t2r = vsub(a0r, a2r), t2i = vsub(a0i, a2i);
            vf t3r = vadd(a1r, a3r), t3i = vadd(a1i, a3i);
            vf t4r = vsub(a1r, a3r), t4i = vsub(a1i, a3i);
            /* y1 = t2 - i t4, y3 = t2 + i t4 (forward sign) */
            vf y0r = vadd(t1r, t3r), y0i = vadd(t1i, t3i);
            vf y2r = vsub(t1r, t3r), y2i = vsub(t1i, t3i);
            vf y1r = vadd(t2r, t4i), y1i = vsub(t2i, t4r);
            vf y3r = vsub(t2r, t4i), y3i = vadd(t2i, t4r);
            CMUL_S(y1r, y1i, tw[2 * i], tw[2 * i + 1]);
            CMUL_S(y2r, y2i, tw[2 * (ido + i)], tw[2 * (ido + i) + 1]);
            CMUL_S(y3r, y3i, tw[2 * (2 * ido + i)], tw[2 * (2 * ido + i) + 1]);
            int64_t h0 = i + ido * k, hs = ido * l1;
            vstore(RE(ch, h0), y0r);
            vstore(IM(ch, h0), y0i);
            vstore(RE(ch, h0 + hs), y1r);
            vstore(IM(ch, h0 + hs), y1i);
            vstore(RE(ch, h0 + 2 * hs), y2r);
            vstore(IM(ch, h0 + 2 * hs), y2i);
            vstore(RE(ch, h0 + 3 * hs), y3r);
            vstore(IM(ch, h0 + 3 * hs), y3i);
        }
}

/* odd radix p (3, 5, ... SLM_FFT_MAX_RADIX): pairs q, p-q share sums and differences,
 * halving the multiplies; called with a literal p for 3 and 5 so the loops unroll */
static inline __attribute__((always_inline)) void FFTK(pass_odd_)(const slm_fft_pass *ps,
                                                                 const float *cc, float *ch,
                                                                 const int p) {
    const int64_t l1 = ps->l1, ido = ps->ido;
    const float *tw = ps->tw, *cs = ps->cs, *sn = ps->cs + p;
    const int h = (p - 1) / 2;
    vf tr[SLM_FFT_MAX_RADIX / 2 + 1], ti[SLM_FFT_MAX_RADIX / 2 + 1];
    vf dr[SLM_FFT_MAX_RADIX / 2 + 1], di[SLM_FFT_MAX_RADIX / 2 + 1];
    for (int64_t k = 0; k < l1; k++)
        for (int64_t i = 0; i < ido; i++) {
            int64_t c0 = i + ido * (p * k);
            vf a0r = vload(RE(cc, c0)), a0i = vload(IM(cc, c0));
            vf y0r = a0r, y0i = a0i;
            for (int q = 1; q <= h; q++) {
                vf br = vload(RE(cc, c0 + q * ido)), bi = vload(IM(cc, c0 + q * ido));
                vf er = vload(RE(cc, c0 + (p - q) * ido)), ei = vload(IM(cc, c0 + (p - q) * ido));
                tr[q] = vadd(br, er);
                ti[q] = vadd(bi, ei);
                dr[q] = vsub(br, er);
                di[q] = vsub(bi, ei);
                y0r = vadd(y0r, tr[q]);
                y0i = vadd(y0i, ti[q]);
            }
            int64_t h0 = i + ido * k, hs = ido * l1;
            vstore(RE(ch, h0), y0r);
            vstore(IM(ch, h0), y0i);
            for (int j = 1; j <= h; j++) {
                vf sr = a0r, si = a0i, ur = vzero(), ui = vzero();
                int jq = 0;
                for (int q = 1; q <= h; q++) {
                    jq += j;
                    if (jq >= p) jq -= p;
                    vf c = vset1(cs[jq]), s = vset1(sn[jq]);
                    sr = vfmadd(c, tr[q], sr);
                    si = vfmadd(c, ti[q], si);
                    ur = vfmadd(s, dr[q], ur);
                    ui = vfmadd(s, di[q], ui);
                }
                /* y_j = S - i U, y_{p-j} = S + i U */
                vf yr = vadd(sr, ui), yi = vsub(si, ur);
                vf zr = vsub(sr, ui), zi = vadd(si, ur);
                const float *wj = tw + 2 * ((int64_t)(j - 1) * ido + i);
                const float *wk = tw + 2 * ((int64_t)(p - j - 1) * ido + i);
                CMUL_S(yr, yi, wj[0], wj[1]);
                CMUL_S(zr, zi, wk[0], wk[1]);
                vstore(RE(ch, h0 + j * hs), yr);
                vstore(IM(ch, h0 + j * hs), yi);
                vstore(RE(ch, h0 + (p - j) * hs), zr);
                vstore(IM(ch, h0 + (p - j) * hs), zi);
            }
        }
}

static void FFTK(pass3)(const slm_fft_pass *ps, const float *cc, float *ch) { FFTK(pass_odd_)(ps, cc, ch, 3); }
static void FFTK(pass5)(const slm_fft_pass *ps, const float *cc, float *ch) { FFTK(pass_odd_)(ps, cc, ch, 5); }
static void FFTK(passg)(const slm_fft_pass *ps, const float *cc, float *ch) { FFTK(pass_odd_)(ps, cc, ch, ps->p); }

/* forward DFT of the n lane-complex values in a; b (n) and ex (2 m, Bluestein only) are
 * work space; returns a or b, whichever holds the result */
static float *FFTK(cfft_run)(const slm_cfft_plan *pl, float *a, float *b, float *ex) {
    if (pl->blu) {
        /* Bluestein: X_k = w_k sum_j (x_j w_j) conj(w_{k-j}), w_k = exp(-pi i k^2/n), the
         * sum a circular convolution of length m done by two FFTs of the sub-plan */
        const slm_cfft_plan *sp = pl->blu;
        const int64_t n = pl->n, m = sp->n;
        float *u = ex, *v = ex + 2 * m * VW;
        for (int64_t k = 0; k < n; k++) {
            vf xr = vload(RE(a, k)), xi = vload(IM(a, k));
            CMUL_S(xr, xi, pl->chirp[2 * k], pl->chirp[2 * k + 1]);
            vstore(RE(u, k), xr);
            vstore(IM(u, k), xi);
        }
        memset(RE(u, n), 0, sizeof(float) * 2 * VW * (m - n));
        float *r = FFTK(cfft_run)(sp, u, v, NULL);
        /* times DFT(conj chirp)/m, then conjugate: the inverse is conj(DFT(conj(.))) */
        for (int64_t k = 0; k < m; k++) {
            vf xr = vload(RE(r, k)), xi = vload(IM(r, k));
            CMUL_S(xr, xi, pl->bfft[2 * k], pl->bfft[2 * k + 1]);
            vstore(RE(r, k), xr);
            vstore(IM(r, k), vsub(vzero(), xi));
        }
        float *r2 = FFTK(cfft_run)(sp, r, r == u ? v : u, NULL);
        for (int64_t k = 0; k < n; k++) {
            vf xr = vload(RE(r2, k)), xi = vsub(vzero(), vload(IM(r2, k)));
            CMUL_S(xr, xi, pl->chirp[2 * k], pl->chirp[2 * k + 1]);
            vstore(RE(a, k), xr);
            vstore(IM(a, k), xi);
        }
        return a;
    }
    float *src = a, *dst = b;
    for (int s = 0; s < pl->npass; s++) {
        const slm_fft_pass *ps = &pl->pass[s];
        switch (ps->p) {
        case 2: FFTK(pass2)(ps, src, dst); break;
        case 3: FFTK(pass3)(ps, src, dst); break;
        case 4: FFTK(pass4)(ps, src, dst); break;
        case 5: FFTK(pass5)(ps, src, dst); break;
        default: FFTK(passg)(ps, src, dst); break;
        }
        float *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* store VW lanes (re, im) of bin k to rows 0..nrows-1 in the requested mode */
static inline void FFTK(store_bin)(float *out, int64_t ors, int64_t oks, int64_t k, vf xr, vf xi,
                                   int64_t nrows, int mode) {
    float *o = out + k * oks;
    if (mode == SLM_RFFT_COMPLEX) {
        float tr[VW], ti[VW];
        vstore(tr, xr);
        vstore(ti, xi);
        if (ors == 2) {
            for (int64_t l = 0; l < nrows; l++) {
                o[2 * l] = tr[l];
                o[2 * l + 1] = ti[l];
            }
        } else {
            for (int64_t l = 0; l < nrows; l++) {
                o[l * ors] = tr[l];
                o[l * ors + 1] = ti[l];
            }
        }
        return;
    }
    vf pw = vfmadd(xr, xr, vmul(xi, xi));
    if (mode == SLM_RFFT_MAG) pw = vsqrt(pw);
    if (ors == 1 && nrows == VW) {
        vstore(o, pw);
        return;
    }
    float t[VW];
    vstore(t, pw);
    for (int64_t l = 0; l < nrows; l++) o[l * ors] = t[l];
}

void FFTK(slm_fft_r2c_rows)(const slm_rfft_plan *p, float *out, int64_t ors, int64_t oks,
                            const float *in, int64_t is, const float *win, int64_t nrows,
                            int mode, float scale, float *scratch) {
    const slm_cfft_plan *c = p->c;
    const int64_t n = p->n, cm = c->n;
    float *a = scratch, *b = scratch + 2 * cm * VW, *ex = scratch + 4 * cm * VW;
    /* pack: frames become lanes; even n packs x[2e] + i x[2e+1] */
    if (nrows < VW) memset(a, 0, sizeof(float) * 2 * cm * VW);
    int64_t done = 0; /* elements already packed by the tile transpose */
#if defined(SLM_SIMD_AVX2)
    /* full groups: 8 rows x 8 floats per tile, transposed in registers (the generic loop
     * below compiles to one vextractps per float) */
    if (nrows == 8) {
        const int64_t nf = p->half ? 2 * cm : cm; /* floats per row that are packed */
        for (int64_t f0 = 0; f0 + 8 <= nf; f0 += 8) {
            __m256 r[8];
            __m256 wv = win ? _mm256_loadu_ps(win + f0) : _mm256_set1_ps(1.f);
            for (int l = 0; l < 8; l++) r[l] = _mm256_mul_ps(_mm256_loadu_ps(in + l * is + f0), wv);
            __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
            __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
            __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
            __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 c[8];
            c[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
            c[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
            c[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
            c[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
            c[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
            c[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
            c[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
            c[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
            /* c[j] holds float f0 + j of the 8 rows */
            if (p->half) {
                for (int j = 0; j < 4; j++) {
                    vstore(RE(a, f0 / 2 + j), c[2 * j]);
                    vstore(IM(a, f0 / 2 + j), c[2 * j + 1]);
                }
            } else {
                for (int j = 0; j < 8; j++) {
                    vstore(RE(a, f0 + j), c[j]);
                    vstore(IM(a, f0 + j), vzero());
                }
            }
            done = p->half ? (f0 + 8) / 2 : f0 + 8;
        }
    }
#endif
    for (int64_t l = 0; l < nrows; l++) {
        const float *x = in + l * is;
        if (p->half) {
            if (win)
                for (int64_t e = done; e < cm; e++) {
                    RE(a, e)[l] = x[2 * e] * win[2 * e];
                    IM(a, e)[l] = x[2 * e + 1] * win[2 * e + 1];
                }
            else
                for (int64_t e = done; e < cm; e++) {
                    RE(a, e)[l] = x[2 * e];
                    IM(a, e)[l] = x[2 * e + 1];
                }
        } else {
            for (int64_t e = done; e < cm; e++) {
                RE(a, e)[l] = win ? x[e] * win[e] : x[e];
                IM(a, e)[l] = 0.f;
            }
        }
    }
    float *z = FFTK(cfft_run)(c, a, b, ex);
    const vf sc = vset1(scale);
    if (!p->half) {
        for (int64_t k = 0; k <= n / 2; k++)
            FFTK(store_bin)(out, ors, oks, k, vmul(vload(RE(z, k)), sc), vmul(vload(IM(z, k)), sc),
                            nrows, mode);
        return;
    }
    /* split the half-length transform: X_k = A_k - i W^k D_k, A = (Z_k + conj Z_{m-k})/2,
     * D = (Z_k - conj Z_{m-k})/2 */
    const vf half = vset1(0.5f);
    for (int64_t k = 0; k <= cm; k++) {
        int64_t k1 = k == cm ? 0 : k, k2 = k == 0 ? 0 : cm - k;
        vf zr = vload(RE(z, k1)), zi = vload(IM(z, k1));
        vf cr = vload(RE(z, k2)), ci = vload(IM(z, k2));
        vf ar = vmul(vadd(zr, cr), half), ai = vmul(vsub(zi, ci), half);
        vf dr = vmul(vsub(zr, cr), half), di = vmul(vadd(zi, ci), half);
        CMUL_S(dr, di, p->w[2 * k], p->w[2 * k + 1]);
        vf xr = vadd(ar, di), xi = vsub(ai, dr);
        FFTK(store_bin)(out, ors, oks, k, vmul(xr, sc), vmul(xi, sc), nrows, mode);
    }
}

void FFTK(slm_fft_c2r_rows)(const slm_rfft_plan *p, float *out, int64_t os, const float *in,
                            int64_t irs, int64_t iks, int64_t nrows, float scale, float *scratch) {
    const slm_cfft_plan *c = p->c;
    const int64_t n = p->n, cm = c->n, nb = n / 2 + 1;
    float *a = scratch, *b = scratch + 2 * cm * VW, *ex = scratch + 4 * cm * VW;
    if (nrows < VW) memset(a, 0, sizeof(float) * 2 * cm * VW);
    if (!p->half) {
        /* odd n: the Hermitian extension, conjugated (inverse = conj(DFT(conj(.)))) */
        for (int64_t l = 0; l < nrows; l++) {
            const float *x = in + l * irs;
            RE(a, 0)[l] = x[0];
            IM(a, 0)[l] = 0.f;
            for (int64_t k = 1; k < nb; k++) {
                float xr = x[k * iks], xi = x[k * iks + 1];
                RE(a, k)[l] = xr;
                IM(a, k)[l] = -xi;
                RE(a, n - k)[l] = xr;
                IM(a, n - k)[l] = xi;
            }
        }
        float *z = FFTK(cfft_run)(c, a, b, ex);
        float t[VW];
        const vf sc = vset1(scale / (float)n);
        for (int64_t e = 0; e < n; e++) {
            vstore(t, vmul(vload(RE(z, e)), sc));
            for (int64_t l = 0; l < nrows; l++) out[l * os + e] = t[l];
        }
        return;
    }
    /* even n: Z_k = E_k + i O_k with E = X_k + conj X_{m-k}, O = (X_k - conj X_{m-k})
     * conj(W^k); the imaginary parts of bins 0 and m are dropped (numpy's c2r does) */
    /* bins outer, frames inner: the (freq, frames) layout of an STFT reads contiguously */
    for (int64_t k = 0; k < cm; k++) {
        const float wr = p->w[2 * k], wi = -p->w[2 * k + 1];
        const float *xk = in + k * iks, *yk = in + (cm - k) * iks;
        float *ar = RE(a, k), *ai = IM(a, k);
        for (int64_t l = 0; l < nrows; l++) {
            const float *x = xk + l * irs, *y = yk + l * irs;
            float xr = x[0], xi = k == 0 ? 0.f : x[1];
            float yr = y[0], yi = k == 0 ? 0.f : -y[1];
            /* y = conj X_{m-k} */
            float er = xr + yr, ei = xi + yi;
            float dr = xr - yr, di = xi - yi;
            float orr = dr * wr - di * wi, oi = dr * wi + di * wr;
            /* store conj(Z) = (er - oi, -(ei + orr)) */
            ar[l] = er - oi;
            ai[l] = -(ei + orr);
        }
    }
    float *z = FFTK(cfft_run)(c, a, b, ex);
    float tr[VW], ti[VW];
    const vf sc = vset1(scale / (float)n), nsc = vset1(-scale / (float)n);
    for (int64_t e = 0; e < cm; e++) {
        vstore(tr, vmul(vload(RE(z, e)), sc));
        vstore(ti, vmul(vload(IM(z, e)), nsc));
        for (int64_t l = 0; l < nrows; l++) {
            out[l * os + 2 * e] = tr[l];
            out[l * os + 2 * e + 1] = ti[l];
        }
    }
}

void FFTK(slm_fft_c2c_rows)(const slm_cfft_plan *c, float *out, const float *in, int64_t nrows,
                            int inverse, float scale, float *scratch) {
    const int64_t n = c->n;
    float *a = scratch, *b = scratch + 2 * n * VW, *ex = scratch + 4 * n * VW;
    if (nrows < VW) memset(a, 0, sizeof(float) * 2 * n * VW);
    const float sg = inverse ? -1.f : 1.f;
    for (int64_t l = 0; l < nrows; l++) {
        const float *x = in + l * 2 * n;
        for (int64_t e = 0; e < n; e++) {
            RE(a, e)[l] = x[2 * e];
            IM(a, e)[l] = sg * x[2 * e + 1];
        }
    }
    float *z = FFTK(cfft_run)(c, a, b, ex);
    float tr[VW], ti[VW];
    const vf sr = vset1(scale), si = vset1(sg * scale);
    for (int64_t e = 0; e < n; e++) {
        vstore(tr, vmul(vload(RE(z, e)), sr));
        vstore(ti, vmul(vload(IM(z, e)), si));
        for (int64_t l = 0; l < nrows; l++) {
            out[l * 2 * n + 2 * e] = tr[l];
            out[l * 2 * n + 2 * e + 1] = ti[l];
        }
    }
}

const int FFTK(slm_fft_lanes) = VW;

#undef RE
#undef IM
#undef CMUL_S
