/* fe_simd.c: vector loops of the feature front ends (csrc/dsp/frontends.c): the
 * logarithm applied to every mel value (Whisper's log10, HiFi-GAN/Vocos ln, dB), which
 * with glibc's scalar logf costs about as much as the mel GEMM. One source for AVX2 and
 * AVX-512 through simd.h. */
#include "simd.h"
#include "../../dsp/fe_simd.h"

/* ln(x) for normal positive x (and +Inf): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln(1 + f) by the Cephes logf polynomial (f = m - 1), e ln 2 in two parts. ~1 ulp. */
static inline vf vlog_pos(vf x) {
    vi bits = vcast_i(x);
    vi ei = vi_sra(bits, 23); /* biased exponent; the sign bit is 0 */
    /* int -> float without a conversion macro: ei | 2^23's bits, minus 2^23 */
    vf e = vsub(vcast_f(vi_add(ei, vi_set1(0x4B000000))), vset1(8388608.0f + 126.0f));
    vf m = vxor(vand(x, vcast_f(vi_set1(0x007FFFFF))), vcast_f(vi_set1(0x3F000000))); /* [0.5, 1) */
    vmask small = vcmp_lt(m, vset1(0.707106781186547524f));
    m = vsub(vadd(m, vblend(small, vzero(), m)), vset1(1.0f)); /* 2m - 1 or m - 1 */
    e = vsub(e, vblend(small, vzero(), vset1(1.0f)));
    vf z = vmul(m, m);
    vf p = vset1(7.0376836292E-2f);
    p = vfmadd(p, m, vset1(-1.1514610310E-1f));
    p = vfmadd(p, m, vset1(1.1676998740E-1f));
    p = vfmadd(p, m, vset1(-1.2420140846E-1f));
    p = vfmadd(p, m, vset1(1.4249322787E-1f));
    p = vfmadd(p, m, vset1(-1.6668057665E-1f));
    p = vfmadd(p, m, vset1(2.0000714765E-1f));
    p = vfmadd(p, m, vset1(-2.4999993993E-1f));
    p = vfmadd(p, m, vset1(3.3333331174E-1f));
    vf y = vmul(vmul(p, m), z);
    y = vfmadd(e, vset1(-2.12194440e-4f), y);
    y = vfnmadd(vset1(0.5f), z, y);
    vf r = vadd(m, y);
    r = vfmadd(e, vset1(0.693359375f), r);
    return vblend(vcmp_gt(x, vset1(3.40282347e38f)), r, x); /* +Inf stays */
}

void SLM_SIMD_FN(slm_fe_log)(float *y, int64_t n, float a, float floor, float offset, float sub) {
    const vf va = vset1(a), vfl = vset1(floor), vo = vset1(offset), vs = vset1(sub);
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        vf v = vadd(vmax(vload(y + i), vfl), vo);
        vstore(y + i, vfmadd(vlog_pos(v), va, vsub(vzero(), vs)));
    }
    if (i < n) {
        int r = (int)(n - i);
        /* the masked-off lanes load 0 -> floor + offset: harmless */
        vf v = vadd(vmax(vload_n(y + i, r), vfl), vo);
        vstore_n(y + i, vfmadd(vlog_pos(v), va, vsub(vzero(), vs)), r);
    }
}
