/* attn_vmath.h: vector sigmoid and tanh for the LSTM gates (private to the attn/rnn/vq
 * kernels), built on simd.h's vexp (~1 ulp).
 *
 * Accuracy matters: an LSTM feeds its state back T times, so each gate must be close
 * to correctly rounded (the tests ask NMSE <= 1e-7 over 750 steps). Both functions are
 * within a few ulp over the whole float range; NaN stays NaN. */
#ifndef SLM_ATTN_VMATH_H
#define SLM_ATTN_VMATH_H

#include "simd.h"

/* 1 / (1 + e^-x): e^-x overflows to +inf below x = -88.7, giving 0 (the true value is
 * below 1e-38 there); near 1 the rounding of 1 + e^-x is the only error */
static inline vf vsigmoid(vf x) {
    const vf one = vset1(1.0f);
    return vdiv(one, vadd(one, vexp(vsub(vzero(), x))));
}

/* tanh: for |x| < 0.625 the odd minimax polynomial x + x^3 P(x^2) of Cephes' tanhf
 * (S. Moshier; 1 - 2/(e^2x + 1) would lose the relative accuracy of small results to
 * cancellation), else sign(x) (1 - 2/(e^2|x| + 1)), which saturates to 1 as e^2|x|
 * overflows. */
static inline vf vtanh(vf x) {
    const vf sign = vand(x, vset1(-0.0f));
    const vf ax = vabs(x);
    const vf z = vmul(x, x);
    vf p = vset1(-5.70498872745e-3f);
    p = vfmadd(p, z, vset1(2.06390887954e-2f));
    p = vfmadd(p, z, vset1(-5.37397155531e-2f));
    p = vfmadd(p, z, vset1(1.33314422036e-1f));
    p = vfmadd(p, z, vset1(-3.33332819422e-1f));
    const vf small = vfmadd(vmul(p, z), x, x);
    const vf e = vexp(vadd(ax, ax));
    const vf big = vxor(vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(e, vset1(1.0f)))), sign);
    return vblend(vcmp_lt(ax, vset1(0.625f)), big, small);
}

#endif
