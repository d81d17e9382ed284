/* act.c: elementwise activations and Snake on AVX2 / AVX-512 (one source, see simd.h).
 *
 * Each activation follows torch's formula (x / (1 + exp(-x)) for SiLU, ...), so that
 * values at +-inf and NaN come out as torch's (silu(-inf) and gelu(-inf) are NaN
 * there), except that the two GELUs are rearranged to avoid the cancellation of
 * 1 + erf / 1 + tanh in the negative tail (more accurate than torch's float32 there,
 * same elsewhere). The transcendental pieces come from vmath.h.
 */
#include "simd.h"
#include "vmath.h"
#include "../norm_act.h"

/* out (n) = EXPR(x) over full vectors, then one masked tail */
#define ACT_LOOP(EXPR)                                                                    \
    do {                                                                                  \
        int64_t i = 0;                                                                    \
        for (; i + VW <= n; i += VW) {                                                    \
            vf x = vload(in + i);                                                         \
            vstore(out + i, (EXPR));                                                      \
        }                                                                                 \
        if (i < n) {                                                                      \
            int r_ = (int)(n - i);                                                        \
            vf x = vload_n(in + i, r_);                                                   \
            vstore_n(out + i, (EXPR), r_);                                                \
        }                                                                                 \
    } while (0)

/* x Phi(x): the normal CDF is accurate in the lower tail, where torch's float32
 * x/2 (1 + erf(x/sqrt 2)) cancels (gelu(-5) off by 4% there); same values at +-inf/NaN */
static inline vf gelu_erf(vf x) { return vmul(x, vnormcdf(x)); }

/* x/2 (1 + tanh(u)) written as x / (1 + exp(-2u)): equal in exact arithmetic, without
 * the cancellation of 1 + tanh(u) for negative u; +-inf and NaN map as torch's form */
static inline vf gelu_tanh(vf x) {
    const vf beta = vset1(0.79788456080286536f), kappa = vset1(0.044715f);
    vf x3 = vmul(vmul(x, x), x);
    vf u = vmul(beta, vfmadd(kappa, x3, x));
    return vdiv(x, vadd(vset1(1.0f), vexp(vmul(u, vset1(-2.0f)))));
}

static inline vf silu(vf x) {
    return vdiv(x, vadd(vset1(1.0f), vexp(vsub(vzero(), x))));
}

static inline vf sigmoid(vf x) {
    return vdiv(vset1(1.0f), vadd(vset1(1.0f), vexp(vsub(vzero(), x))));
}

void SLM_SIMD_FN(slm_na_act)(float *out, const float *in, int64_t n, slm_act kind, float param) {
    const vf p = vset1(param), zero = vzero();
    switch (kind) {
    /* max returns its second operand on NaN: relu(NaN) = NaN, relu(-0.0) = -0.0 */
    case SLM_ACT_RELU: ACT_LOOP(vmax(zero, x)); break;
    case SLM_ACT_LEAKY_RELU: ACT_LOOP(vblend(vcmp_gt(x, zero), vmul(x, p), x)); break;
    case SLM_ACT_ELU: ACT_LOOP(vblend(vcmp_le(x, zero), x, vmul(p, vexpm1(x)))); break;
    case SLM_ACT_GELU: ACT_LOOP(gelu_erf(x)); break;
    case SLM_ACT_GELU_TANH: ACT_LOOP(gelu_tanh(x)); break;
    case SLM_ACT_SILU: ACT_LOOP(silu(x)); break;
    case SLM_ACT_TANH: ACT_LOOP(vtanh(x)); break;
    case SLM_ACT_SIGMOID: ACT_LOOP(sigmoid(x)); break;
    default: ACT_LOOP(x); break;
    }
}

/* x + inv_b sin(a x)^2, with a * x rounded to float first as the float32 references do */
static inline vf snake(vf x, vf a, vf inv_b) {
    vf s = vsin(vmul(a, x));
    return vfmadd(vmul(s, s), inv_b, x);
}

void SLM_SIMD_FN(slm_na_snake_row)(float *out, const float *in, int64_t n, float a, float inv_b) {
    const vf va = vset1(a), vb = vset1(inv_b);
    ACT_LOOP(snake(x, va, vb));
}
