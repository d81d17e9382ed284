/* simd.h: one vector vocabulary for the AVX2 and AVX-512 paths.
 *
 * Every file in csrc/kernels/simd/ is compiled twice by the build: once with
 * -DSLM_SIMD_AVX2 (-mavx2 -mfma, 8 floats a vector) and once with -DSLM_SIMD_AVX512
 * (-mavx512f/bw/dq/vl, 16 floats). Kernels are written once against the macros below;
 * SLM_SIMD_FN(name) gives name_avx2 or name_avx512. So the AVX-512 path is the AVX2
 * path at twice the width, and testing one exercises the logic of both.
 *
 * Shape of a loop: for (i = 0; i + VW <= n; i += VW) {...full vectors...}, then one
 * masked tail with vload_n / vstore_n (n = remaining count, 0 < n < VW).
 */
#ifndef SLM_SIMD_H
#define SLM_SIMD_H

#include <immintrin.h>
#include <stdint.h>

#include "../../runtime/runtime.h"

#if defined(SLM_SIMD_AVX512)
#define SLM_SIMD_FN(name) name##_avx512
#define VW 16
typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 vmask;
#define vload(p) _mm512_loadu_ps(p)
#define vstore(p, v) _mm512_storeu_ps((p), (v))
#define vtail_mask(n) ((__mmask16)((1u << (n)) - 1u))
#define vload_n(p, n) _mm512_maskz_loadu_ps(vtail_mask(n), (p))
#define vstore_n(p, v, n) _mm512_mask_storeu_ps((p), vtail_mask(n), (v))
#define vset1(x) _mm512_set1_ps(x)
#define vzero() _mm512_setzero_ps()
#define vadd(a, b) _mm512_add_ps(a, b)
#define vsub(a, b) _mm512_sub_ps(a, b)
#define vmul(a, b) _mm512_mul_ps(a, b)
#define vdiv(a, b) _mm512_div_ps(a, b)
#define vfmadd(a, b, c) _mm512_fmadd_ps(a, b, c)   /* a*b + c */
#define vfnmadd(a, b, c) _mm512_fnmadd_ps(a, b, c) /* c - a*b */
#define vmax(a, b) _mm512_max_ps(a, b) /* NaN in a or b: returns b */
#define vmin(a, b) _mm512_min_ps(a, b) /* NaN in a or b: returns b */
#define vsqrt(a) _mm512_sqrt_ps(a)
#define vabs(a) _mm512_abs_ps(a)
#define vreduce_add(v) _mm512_reduce_add_ps(v)
#define vreduce_max(v) _mm512_reduce_max_ps(v)
#define vround_nearest(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vfloor(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
#define vcvt_i(a) _mm512_cvtps_epi32(a)
#define vi_add(a, b) _mm512_add_epi32(a, b)
#define vi_set1(x) _mm512_set1_epi32(x)
#define vi_sll(a, n) _mm512_slli_epi32(a, n)
#define vi_sra(a, n) _mm512_srai_epi32(a, n)
#define vi_sub(a, b) _mm512_sub_epi32(a, b)
#define vcast_f(i) _mm512_castsi512_ps(i)
#define vcast_i(f) _mm512_castps_si512(f)
/* comparisons give a mask; vblend(m, a, b) = m ? b : a */
#define vcmp_lt(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define vcmp_gt(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)
#define vcmp_le(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ)
#define vblend(m, a, b) _mm512_mask_blend_ps(m, a, b)
#define vand(a, b) _mm512_and_ps(a, b)
#define vxor(a, b) _mm512_xor_ps(a, b)
/* 16 bf16 values (uint16 bit patterns) -> 16 floats */
static inline vf vload_bf16(const uint16_t *p) {
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
static inline vf vload_bf16_n(const uint16_t *p, int n) {
    __m256i h = _mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1u), p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#elif defined(SLM_SIMD_AVX2)
#define SLM_SIMD_FN(name) name##_avx2
#define VW 8
typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vmask;
static const int32_t slm_tail_tab_[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define vtail_mask(n) _mm256_loadu_si256((const __m256i *)(slm_tail_tab_ + 8 - (n)))
#define vload(p) _mm256_loadu_ps(p)
#define vstore(p, v) _mm256_storeu_ps((p), (v))
#define vload_n(p, n) _mm256_maskload_ps((p), vtail_mask(n))
#define vstore_n(p, v, n) _mm256_maskstore_ps((p), vtail_mask(n), (v))
#define vset1(x) _mm256_set1_ps(x)
#define vzero() _mm256_setzero_ps()
#define vadd(a, b) _mm256_add_ps(a, b)
#define vsub(a, b) _mm256_sub_ps(a, b)
#define vmul(a, b) _mm256_mul_ps(a, b)
#define vdiv(a, b) _mm256_div_ps(a, b)
#define vfmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vfnmadd(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define vmax(a, b) _mm256_max_ps(a, b)
#define vmin(a, b) _mm256_min_ps(a, b)
#define vsqrt(a) _mm256_sqrt_ps(a)
#define vabs(a) _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)))
static inline float vreduce_add_avx2_(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vreduce_max_avx2_(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define vreduce_add(v) vreduce_add_avx2_(v)
#define vreduce_max(v) vreduce_max_avx2_(v)
#define vround_nearest(a) _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vfloor(a) _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
#define vcvt_i(a) _mm256_cvtps_epi32(a)
#define vi_add(a, b) _mm256_add_epi32(a, b)
#define vi_set1(x) _mm256_set1_epi32(x)
#define vi_sll(a, n) _mm256_slli_epi32(a, n)
#define vi_sra(a, n) _mm256_srai_epi32(a, n)
#define vi_sub(a, b) _mm256_sub_epi32(a, b)
#define vcast_f(i) _mm256_castsi256_ps(i)
#define vcast_i(f) _mm256_castps_si256(f)
#define vcmp_lt(a, b) _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define vcmp_gt(a, b) _mm256_cmp_ps(a, b, _CMP_GT_OQ)
#define vcmp_le(a, b) _mm256_cmp_ps(a, b, _CMP_LE_OQ)
#define vblend(m, a, b) _mm256_blendv_ps(a, b, m)
#define vand(a, b) _mm256_and_ps(a, b)
#define vxor(a, b) _mm256_xor_ps(a, b)
static inline vf vload_bf16(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
static inline vf vload_bf16_n(const uint16_t *p, int n) {
    uint16_t tmp[8] = {0};
    for (int i = 0; i < n; i++) tmp[i] = p[i];
    return vload_bf16(tmp);
}
#else
#error "compile simd/ files with -DSLM_SIMD_AVX2 or -DSLM_SIMD_AVX512"
#endif

/* exp(x) to ~1 ulp over the float range: x = n ln2 + r, |r| <= ln2/2, degree-6
 * polynomial for exp(r), times 2^n applied as 2^(n>>1) * 2^(n - (n>>1)) so that
 * results near FLT_MAX and denormal results are both exact in exponent. Gives +inf
 * above ln(FLT_MAX) and 0 below the smallest denormal; NaN stays NaN (each clamp puts
 * x second, and min/max return their second operand on NaN). */
static inline vf vexp(vf x) {
    const vf hi = vset1(88.72283935546875f), lo = vset1(-103.97208f);
    vf xc = vmax(lo, vmin(hi, x));
    vf n = vround_nearest(vmul(xc, vset1(1.44269504088896341f)));
    /* r = x - n*ln2 in two steps (Cody-Waite) for accuracy */
    vf r = vfnmadd(n, vset1(0.693359375f), xc);
    r = vfnmadd(n, vset1(-2.12194440e-4f), r);
    vf p = vset1(1.9875691500e-4f);
    p = vfmadd(p, r, vset1(1.3981999507e-3f));
    p = vfmadd(p, r, vset1(8.3334519073e-3f));
    p = vfmadd(p, r, vset1(4.1665795894e-2f));
    p = vfmadd(p, r, vset1(1.6666665459e-1f));
    p = vfmadd(p, r, vset1(5.0000001201e-1f));
    vf r2 = vmul(r, r);
    p = vfmadd(p, r2, vadd(r, vset1(1.0f)));
    vi ni = vcvt_i(n);
    vi n1 = vi_sra(ni, 1);
    vi n2 = vi_sub(ni, n1);
    vf s1 = vcast_f(vi_sll(vi_add(n1, vi_set1(127)), 23));
    vf s2 = vcast_f(vi_sll(vi_add(n2, vi_set1(127)), 23));
    vf y = vmul(vmul(p, s1), s2);
    y = vblend(vcmp_lt(x, lo), y, vzero());
    y = vblend(vcmp_gt(x, hi), y, vset1(__builtin_inff()));
    return y;
}

#endif /* SLM_SIMD_H */
