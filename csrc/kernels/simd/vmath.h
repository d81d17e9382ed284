/* vmath.h: vector sin/cos, tanh, erf, expm1 and sigmoid for the norm_act SIMD kernels.
 *
 * Built on simd.h's macros and its vexp, so one source serves AVX2 (8 lanes) and
 * AVX-512 (16 lanes). Accuracy targets a few ulp against the correctly rounded value
 * (the tests check NMSE <= 1e-7 against torch over wide ranges); special values follow
 * C99 / torch: NaN stays NaN, sin/cos(+-inf) = NaN, tanh/erf(+-inf) = +-1.
 *
 * One helper below is the only ISA-specific code (a lane-pair swap for interleaved
 * RoPE); everything else is written against the macros, so the AVX-512 build runs the
 * AVX2 logic at twice the width.
 */
#ifndef SLM_SIMD_VMATH_H
#define SLM_SIMD_VMATH_H

#include <math.h>

#include "simd.h"

/* [x1, x0, x3, x2, ...]: swap adjacent lanes (interleaved RoPE pairs) */
#if defined(SLM_SIMD_AVX512)
#define vswap_pairs(v) _mm512_permute_ps(v, 0xB1)
#else
#define vswap_pairs(v) _mm256_permute_ps(v, 0xB1)
#endif

static inline vf vsignbit_(vf x) { return vand(x, vset1(-0.0f)); }
/* a*b - c with one rounding (exact when it is the low part of a product) */
static inline vf vfmsub_(vf a, vf b, vf c) { return vfmadd(a, b, vsub(vzero(), c)); }

/* expm1(x) with full relative accuracy near 0: a degree-8 Taylor polynomial for
 * |x| < 0.35 (truncation < 1e-8 relative), exp(x) - 1 elsewhere (no cancellation left
 * there: |result| > 0.29). +inf -> +inf, -inf -> -1, NaN -> NaN. */
static inline vf vexpm1(vf x) {
    vf p = vset1(1.0f / 40320.0f);
    p = vfmadd(p, x, vset1(1.0f / 5040.0f));
    p = vfmadd(p, x, vset1(1.0f / 720.0f));
    p = vfmadd(p, x, vset1(1.0f / 120.0f));
    p = vfmadd(p, x, vset1(1.0f / 24.0f));
    p = vfmadd(p, x, vset1(1.0f / 6.0f));
    p = vfmadd(p, x, vset1(0.5f));
    vf small = vfmadd(vmul(p, x), x, x);
    vf big = vsub(vexp(x), vset1(1.0f));
    return vblend(vcmp_lt(vabs(x), vset1(0.35f)), big, small);
}

/* tanh(x) = e / (e + 2) with e = expm1(2|x|), sign restored: no cancellation at small
 * |x|. |x| is clamped at 10 (tanh(10) rounds to 1 in float), which also keeps e finite;
 * the clamp puts |x| second so NaN passes through. */
static inline vf vtanh(vf x) {
    vf ax = vmin(vset1(10.0f), vabs(x));
    vf e = vexpm1(vadd(ax, ax));
    vf t = vdiv(e, vadd(e, vset1(2.0f)));
    return vxor(t, vsignbit_(x));
}

/* erfc(a) for 1 <= a <= 10.5, from t = 1/a and a^2 = a2h + a2l split exactly (an FMA
 * gives a2l), so that exp(-a^2) = exp(-a2h) (1 - a2l) carries no rounding of the square
 * (at a = 9 that rounding alone would cost 5e-6 relative). erfc(a) exp(a^2) is a
 * degree-10 polynomial in t - 0.55 (fit error 1.7e-8 relative). Max error about 5e-7
 * relative, which is ~1 ulp of erf(a) = 1 - erfc(a). Beyond 10.5, exp underflows to 0. */
static inline vf verfc_big_(vf t, vf a2h, vf a2l) {
    vf u = vsub(t, vset1(0.55f));
    vf q = vset1(-4.669118300e-02f);
    q = vfmadd(q, u, vset1(6.358731538e-02f));
    q = vfmadd(q, u, vset1(-2.031067573e-02f));
    q = vfmadd(q, u, vset1(-2.596842498e-02f));
    q = vfmadd(q, u, vset1(5.712622777e-02f));
    q = vfmadd(q, u, vset1(-6.926234066e-02f));
    q = vfmadd(q, u, vset1(4.495862499e-02f));
    q = vfmadd(q, u, vset1(3.372183815e-02f));
    q = vfmadd(q, u, vset1(-1.812345088e-01f));
    q = vfmadd(q, u, vset1(4.088342190e-01f));
    q = vfmadd(q, u, vset1(2.762943804e-01f));
    vf e = vexp(vsub(vzero(), a2h));
    return vmul(vfnmadd(e, a2l, e), q);
}

/* erf(a) / a for |a| < 1 as a polynomial in a^2 of degree 6 (fit error 1.2e-9) */
static inline vf verf_small_(vf t) {
    vf p = vset1(7.854063006e-05f);
    p = vfmadd(p, t, vset1(-8.010259480e-04f));
    p = vfmadd(p, t, vset1(5.188336130e-03f));
    p = vfmadd(p, t, vset1(-2.685381658e-02f));
    p = vfmadd(p, t, vset1(1.128358543e-01f));
    p = vfmadd(p, t, vset1(-3.761262596e-01f));
    return vfmadd(p, t, vset1(1.128379107e+00f));
}

/* erf(x), within ~2 ulp: x * P(x^2) below |x| = 1, 1 - erfc(|x|) above (sign restored).
 * Coefficients of both fits: least squares in relative error on Chebyshev nodes,
 * reweighted (Lawson) towards minimax, in double against math.erf / math.erfc. */
static inline vf verf(vf x) {
    vf a = vabs(x);
    vf small = vmul(a, verf_small_(vmul(a, a)));
    vf ac = vmin(vset1(10.5f), a); /* NaN stays NaN: min returns its second operand */
    vf h = vmul(ac, ac), l = vfmsub_(ac, ac, h);
    vf big = vsub(vset1(1.0f), verfc_big_(vdiv(vset1(1.0f), ac), h, l));
    vf r = vblend(vcmp_lt(a, vset1(1.0f)), big, small);
    return vxor(r, vsignbit_(x));
}

/* Phi(x) = P(N(0,1) <= x) = (1 + erf(x / sqrt 2)) / 2, accurate in the lower tail too
 * (Phi(x) = erfc(|x| / sqrt 2) / 2 there, no 1 - erf cancellation): Phi(-9) is 1.1e-19,
 * not the 0 or 6e-8 that 1 + erf gives in float. Phi(-inf) = 0, Phi(+inf) = 1. */
static inline vf vnormcdf(vf x) {
    const vf s12 = vset1(0.70710678118654752f);
    vf z = vmul(x, s12), za = vabs(z);
    vf mid = vfmadd(vmul(z, verf_small_(vmul(z, z))), vset1(0.5f), vset1(0.5f));
    /* |z|^2 = x^2 / 2 split exactly from x (halving is exact) */
    vf xc = vmin(vset1(14.849242f), vabs(x)); /* 10.5 sqrt 2 */
    vf h = vmul(xc, xc), l = vfmsub_(xc, xc, h);
    vf q = vmul(verfc_big_(vdiv(vset1(1.41421356237309505f), xc), vmul(h, vset1(0.5f)),
                           vmul(l, vset1(0.5f))),
                vset1(0.5f));
    vf tail = vblend(vcmp_gt(x, vzero()), q, vsub(vset1(1.0f), q));
    return vblend(vcmp_lt(za, vset1(1.0f)), tail, mid);
}

/* Cody-Waite pieces of pi/2: C1 has 24 bits, so k*C1 is exact inside an FMA and
 * x - k*C1 is exact for |k| < 2^20 (both are multiples of 2^-23 and the difference
 * is below 2); C2 and C3 carry the next 48 bits. */
#define SLM_PIO2_1 1.57079637050628662109375f
#define SLM_PIO2_2 -4.371138828673792887e-8f
#define SLM_PIO2_3 -1.715124510005881873e-15f
/* above this |x|, lanes are redone with the C library (Payne-Hanek reduction) */
#define SLM_TRIG_BIG 1048576.0f

/* sin(r), cos(r) for |r| <= ~0.8: Taylor through r^11 / r^12 (truncation < 1e-11) */
static inline vf vsin_poly_(vf r, vf r2) {
    vf p = vset1(-1.0f / 39916800.0f);
    p = vfmadd(p, r2, vset1(1.0f / 362880.0f));
    p = vfmadd(p, r2, vset1(-1.0f / 5040.0f));
    p = vfmadd(p, r2, vset1(1.0f / 120.0f));
    p = vfmadd(p, r2, vset1(-1.0f / 6.0f));
    return vfmadd(vmul(p, r2), r, r);
}
static inline vf vcos_poly_(vf r2) {
    vf p = vset1(1.0f / 479001600.0f);
    p = vfmadd(p, r2, vset1(-1.0f / 3628800.0f));
    p = vfmadd(p, r2, vset1(1.0f / 40320.0f));
    p = vfmadd(p, r2, vset1(-1.0f / 720.0f));
    p = vfmadd(p, r2, vset1(1.0f / 24.0f));
    return vfmadd(vmul(p, r2), r2, vfnmadd(r2, vset1(0.5f), vset1(1.0f)));
}

/* sin and cos of x (either pointer may be NULL). x = k pi/2 + r with k = round(x 2/pi);
 * quadrant k mod 4 picks the polynomial and the sign. Lanes with |x| > 2^20 (and
 * +-inf) take the C library's sinf/cosf, whose reduction is exact at any size; NaN
 * lanes are NaN through the polynomial. */
static inline void vsincos(vf x, vf *s_out, vf *c_out) {
    vf k = vround_nearest(vmul(x, vset1(0.636619772367581343f)));
    vf r = vfnmadd(k, vset1(SLM_PIO2_1), x);
    r = vfnmadd(k, vset1(SLM_PIO2_2), r);
    r = vfnmadd(k, vset1(SLM_PIO2_3), r);
    vf r2 = vmul(r, r);
    vf ps = vsin_poly_(r, r2), pc = vcos_poly_(r2);
    vi q = vcvt_i(k);
    /* q odd: sin and cos trade polynomials. +-1.0 with q's low bit as its sign makes a
     * mask that compares the same way on both ISAs */
    vmask odd = vcmp_lt(vxor(vset1(1.0f), vcast_f(vi_sll(q, 31))), vzero());
    vf s = vblend(odd, ps, pc), c = vblend(odd, pc, ps);
    /* sign of sin: bit 1 of q; sign of cos: bit 1 of q + 1 */
    s = vxor(s, vand(vcast_f(vi_sll(q, 30)), vset1(-0.0f)));
    c = vxor(c, vand(vcast_f(vi_sll(vi_add(q, vi_set1(1)), 30)), vset1(-0.0f)));
    /* NaN lanes become 0 in the max, so a NaN cannot hide a big lane */
    if (SLM_UNLIKELY(vreduce_max(vmax(vabs(x), vzero())) > SLM_TRIG_BIG)) {
        float xs[VW], ss[VW], cs[VW];
        vstore(xs, x);
        vstore(ss, s);
        vstore(cs, c);
        for (int i = 0; i < VW; i++)
            if (fabsf(xs[i]) > SLM_TRIG_BIG) {
                ss[i] = sinf(xs[i]);
                cs[i] = cosf(xs[i]);
            }
        s = vload(ss);
        c = vload(cs);
    }
    if (s_out) *s_out = s;
    if (c_out) *c_out = c;
}

static inline vf vsin(vf x) {
    vf s;
    vsincos(x, &s, NULL);
    return s;
}

#endif /* SLM_SIMD_VMATH_H */
